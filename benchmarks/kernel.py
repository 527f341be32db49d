"""Figure 2: what one renewal costs the simulation kernel.

A modeled run makes no key and no certificate, so its wall time is the
simulator's own work. Per renewal, it is compared with the cheapest
thing SimPy can do: one ``env.timeout`` a process yields and is resumed
from, timed in the same process.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any

import simpy

from benchmarks.figures import Figure, Sizes
from benchmarks.scenarios import load, quiet_default, repeat, timed_run, warm

__all__ = ["bare_timeout_cycle", "run"]


def bare_timeout_cycle(cycles: int) -> tuple[float, float]:
    """Wall and CPU seconds of one cycle of a plain SimPy process that
    yields ``env.timeout(1)`` ``cycles`` times."""
    env = simpy.Environment()

    def tick() -> Generator[Any, Any, None]:
        for _ in range(cycles):
            yield env.timeout(1)

    env.process(tick())
    began_wall, began_cpu = time.perf_counter(), time.process_time()
    env.run()
    wall = time.perf_counter() - began_wall
    return wall / cycles, (time.process_time() - began_cpu) / cycles


def run(sizes: Sizes) -> list[Figure]:
    """Figure 2, from the fastest of ``sizes.repeats`` runs and loops."""
    scenario = load(
        [*quiet_default(sizes.workloads, sizes.nodes), "pki.crypto=modeled"]
    )
    warm(scenario)

    def measure() -> dict[str, Any]:
        wall, cpu, result = timed_run(scenario)
        renewals = int(result.summary["rotation"]["count"])
        cycle, cycle_cpu = bare_timeout_cycle(sizes.timeout_cycles)
        return {
            "run_wall_s": wall,
            "run_cpu_s": cpu,
            "renewals": renewals,
            "per_renewal_s": wall / renewals,
            "per_renewal_cpu_s": cpu / renewals,
            "timeout_cycle_s": cycle,
            "timeout_cycle_cpu_s": cycle_cpu,
        }

    trials = repeat(sizes.repeats, measure)
    per_renewal = min(t["per_renewal_s"] for t in trials)
    cycle = min(t["timeout_cycle_s"] for t in trials)
    cpu_ratio = min(t["per_renewal_cpu_s"] for t in trials) / min(
        t["timeout_cycle_cpu_s"] for t in trials
    )
    return [
        Figure(
            name="2. kernel cost per renewal",
            measure=(
                f"wall per renewal ÷ bare env.timeout cycle, modeled, "
                f"{sizes.workloads:,} workloads, 72h"
            ),
            value=per_renewal / cycle,
            unit="ratio",
            target=10.0,
            better="lower",
            note=(
                f"{per_renewal * 1e6:.1f} µs per renewal, "
                f"{cycle * 1e6:.2f} µs per timeout cycle; "
                f"CPU-time ratio {cpu_ratio:.0f}"
            ),
            raw={
                "trials": trials,
                "timeout_cycles": sizes.timeout_cycles,
                "cpu_ratio": cpu_ratio,
            },
        )
    ]
