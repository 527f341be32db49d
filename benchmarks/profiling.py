"""Where a benchmark scenario's time goes: ``python -m benchmarks.profiling
{crypto,kernel,scale} [--workloads N]`` runs figure 1's, 2's or 3's
scenario at a reduced size under :mod:`cProfile` and prints the
functions that take the most time, by own time and by time including
callees. cProfile sees no function of a compiled module (their time
counts as their Python callers'), so the profile says how many ran
compiled; ``make pure`` removes them for a profile of every function.

``--gc-share`` instead runs the scenario twice without the profiler,
with Python's cyclic garbage collector on and then off, and prints the
CPU seconds of each: the collector's share of the run.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import sys
import time
from collections.abc import Sequence

from benchmarks.scenarios import load, quiet_default, scale_overrides, warm
from meshsim import native
from meshsim.runner import run_scenario
from meshsim.scenario import Scenario

__all__ = ["main"]

# Workloads per node of each figure's mesh, kept at reduced size.
_PER_NODE = {"crypto": 10, "kernel": 10, "scale": 50}
_DEFAULT_WORKLOADS = {"crypto": 500, "kernel": 2_000, "scale": 2_000}


def main(argv: Sequence[str] | None = None) -> int:
    """Profile one scenario and print the top functions."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profiling")
    parser.add_argument("figure", choices=sorted(_PER_NODE))
    parser.add_argument("--workloads", type=int)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--gc-share", action="store_true")
    args = parser.parse_args(argv)

    workloads = args.workloads or _DEFAULT_WORKLOADS[args.figure]
    nodes = max(1, workloads // _PER_NODE[args.figure])
    overrides = {
        "crypto": quiet_default(workloads, nodes),
        "kernel": [*quiet_default(workloads, nodes), "pki.crypto=modeled"],
        "scale": scale_overrides(workloads, nodes),
    }[args.figure]
    scenario = load(overrides)
    warm(scenario)
    if args.gc_share:
        _gc_share(args.figure, scenario)
        return 0

    profiler = cProfile.Profile()
    profiler.enable()
    run = run_scenario(scenario)
    profiler.disable()

    print(
        f"{args.figure}: {workloads:,} workloads on {nodes:,} nodes, "
        f"{run.summary['rotation']['count']:,} renewals, "
        f"{run.summary['wall_seconds']:.1f} s simulated under the profiler"
    )
    compiled = native.compiled()
    if compiled:
        print(
            f"{len(compiled)} modules ran compiled and are not profiled "
            f"(`make pure` to profile them): {', '.join(compiled)}"
        )
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.strip_dirs()
    for order in ("tottime", "cumulative"):
        stats.sort_stats(order).print_stats(args.top)
    return 0


def _gc_share(figure: str, scenario: Scenario) -> None:
    """Print the run's CPU seconds with the collector on, then off."""
    seconds = {}
    for collector in ("on", "off"):
        if collector == "off":
            gc.disable()
        began = time.process_time()
        run = run_scenario(scenario)
        seconds[collector] = time.process_time() - began
        gc.enable()
        del run
        gc.collect()
    share = 1 - seconds["off"] / seconds["on"]
    print(
        f"{figure}: {scenario.mesh.workloads:,} workloads, CPU "
        f"{seconds['on']:.2f} s with the cyclic collector, "
        f"{seconds['off']:.2f} s without: the collector takes {share:.0%}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
