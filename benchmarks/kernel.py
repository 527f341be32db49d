"""Figure 2: what one renewal costs the simulation kernel.

A modeled run makes no key and no certificate, so its wall time is the
simulator's own work. Per renewal, it is compared with the cheapest
thing SimPy can do: one ``env.timeout`` a process yields and is resumed
from, timed in the same process.

Beside it the note gives two floors, as parts of the figure. The design:
each slot is a SimPy process that waits twice per renewal (for the CA's
service time, then until the next renewal); the same number of plain
processes doing only those waits, as many renewals in all as the run
made, take this much. What every run pays whatever its length: the same
mesh stopped at 1 ms, before any certificate is installed (building,
the first keys and CSRs, tables, summary, the closing collection).
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any

import simpy

from benchmarks.figures import Figure, Sizes
from benchmarks.scenarios import load, quiet_default, repeat, timed_run, warm

__all__ = ["bare_timeout_cycle", "run", "skeleton_renewal"]

# The skeleton's stand-in for the CA's service time, in seconds.
_SERVICE_S = 0.001


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


def skeleton_renewal(
    processes: int, renewals: int, duration_s: float
) -> tuple[float, float]:
    """Wall and CPU seconds per renewal of ``processes`` plain SimPy
    processes that each wait a 1 ms timeout and then a sleep until their
    next renewal, about ``renewals`` in all over ``duration_s``; their
    starts are spread over one renewal period, as jitter spreads agents."""
    env = simpy.Environment()
    each = max(1, round(renewals / processes))
    period = duration_s / each

    def slot(start: float) -> Generator[Any, Any, None]:
        yield env.timeout(start)
        for _ in range(each):
            yield env.timeout(_SERVICE_S)
            yield env.timeout(period - _SERVICE_S)

    for index in range(processes):
        env.process(slot(period * index / processes))
    began_wall, began_cpu = time.perf_counter(), time.process_time()
    env.run()
    wall = time.perf_counter() - began_wall
    made = processes * each
    return wall / made, (time.process_time() - began_cpu) / made


def run(sizes: Sizes) -> list[Figure]:
    """Figure 2, from the fastest of ``sizes.repeats`` runs and loops."""
    scenario = load(
        [*quiet_default(sizes.workloads, sizes.nodes), "pki.crypto=modeled"]
    )
    stopped = load(
        [
            *quiet_default(sizes.workloads, sizes.nodes),
            "pki.crypto=modeled",
            "duration=1ms",
        ]
    )
    warm(scenario)

    def measure() -> dict[str, Any]:
        wall, cpu, result = timed_run(scenario)
        fixed, _, _ = timed_run(stopped)
        renewals = int(result.summary["rotation"]["count"])
        cycle, cycle_cpu = bare_timeout_cycle(sizes.timeout_cycles)
        skeleton, skeleton_cpu = skeleton_renewal(
            sizes.workloads, renewals, scenario.duration
        )
        return {
            "run_wall_s": wall,
            "run_cpu_s": cpu,
            "renewals": renewals,
            "per_renewal_s": wall / renewals,
            "per_renewal_cpu_s": cpu / renewals,
            "timeout_cycle_s": cycle,
            "timeout_cycle_cpu_s": cycle_cpu,
            "skeleton_per_renewal_s": skeleton,
            "skeleton_per_renewal_cpu_s": skeleton_cpu,
            "stopped_run_wall_s": fixed,
        }

    trials = repeat(sizes.repeats, measure)
    per_renewal = min(t["per_renewal_s"] for t in trials)
    cycle = min(t["timeout_cycle_s"] for t in trials)
    skeleton = min(t["skeleton_per_renewal_s"] for t in trials)
    fixed = min(t["stopped_run_wall_s"] for t in trials)
    renewals = trials[0]["renewals"]
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
                f"CPU-time ratio {cpu_ratio:.0f}; of the figure, "
                f"{skeleton / cycle:.1f} is the design's floor (a process "
                f"per slot waiting twice per renewal, "
                f"{skeleton * 1e6:.1f} µs) and "
                f"{fixed / renewals / cycle:.1f} what a run pays whatever "
                f"its length ({fixed * 1e3:.0f} ms: the mesh stopped at "
                f"1 ms)"
            ),
            raw={
                "trials": trials,
                "timeout_cycles": sizes.timeout_cycles,
                "cpu_ratio": cpu_ratio,
            },
        )
    ]
