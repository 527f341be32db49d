"""Where a benchmark scenario's time goes: ``python -m benchmarks.profiling
{crypto,scale} [--workloads N]`` runs figure 1's or figure 3's scenario
at a reduced size under :mod:`cProfile` and prints the functions that
take the most time, by own time and by time including callees.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
from collections.abc import Sequence

from benchmarks.scenarios import load, quiet_default, scale_overrides, warm
from meshsim.runner import run_scenario

__all__ = ["main"]

# Workloads per node of each figure's mesh, kept at reduced size.
_PER_NODE = {"crypto": 10, "scale": 50}
_DEFAULT_WORKLOADS = {"crypto": 500, "scale": 2_000}


def main(argv: Sequence[str] | None = None) -> int:
    """Profile one scenario and print the top functions."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profiling")
    parser.add_argument("figure", choices=sorted(_PER_NODE))
    parser.add_argument("--workloads", type=int)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)

    workloads = args.workloads or _DEFAULT_WORKLOADS[args.figure]
    nodes = max(1, workloads // _PER_NODE[args.figure])
    overrides = (
        quiet_default(workloads, nodes)
        if args.figure == "crypto"
        else scale_overrides(workloads, nodes)
    )
    scenario = load(overrides)
    warm(scenario)

    profiler = cProfile.Profile()
    profiler.enable()
    run = run_scenario(scenario)
    profiler.disable()

    print(
        f"{args.figure}: {workloads:,} workloads on {nodes:,} nodes, "
        f"{run.summary['rotation']['count']:,} renewals, "
        f"{run.summary['wall_seconds']:.1f} s simulated under the profiler"
    )
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.strip_dirs()
    for order in ("tottime", "cumulative"):
        stats.sort_stats(order).print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
