"""Figure 3's child process: run the scale scenario at a given size and
write what it took, so that its peak memory is its own.

``python -m benchmarks.scale_child --workloads N --nodes M --result FILE
--progress FILE --spawned-at EPOCH``. Each percent of simulated time
appends a line of JSON to the progress file, with the seconds since the
parent spawned the child (``EPOCH``, from ``time.time()``), so a run
stopped by its timeout still says how far it got and how fast.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.scenarios import load, scale_overrides
from meshsim.files import write_json
from meshsim.runner import run_scenario

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the scale scenario; exit status 0 when it finished."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale_child")
    parser.add_argument("--workloads", type=int, required=True)
    parser.add_argument("--nodes", type=int, required=True)
    parser.add_argument("--result", type=Path, required=True)
    parser.add_argument("--progress", type=Path, required=True)
    parser.add_argument("--spawned-at", type=float, required=True)
    args = parser.parse_args(argv)

    began = time.perf_counter()
    started_s = time.time() - args.spawned_at
    scenario = load(scale_overrides(args.workloads, args.nodes))
    with args.progress.open("a", encoding="utf-8") as stream:

        def progress(fraction: float) -> None:
            line = {
                "fraction": fraction,
                "since_spawn_s": started_s + time.perf_counter() - began,
                "peak_rss_kib": _peak_rss_kib(),
            }
            stream.write(json.dumps(line) + "\n")
            stream.flush()

        # One run, then exit, as the meshsim command does.
        run = run_scenario(scenario, progress, exit_after=True)

    write_json(
        args.result,
        {
            "workloads": args.workloads,
            "nodes": args.nodes,
            "started_s": started_s,
            "run_wall_s": time.perf_counter() - began,
            "simulate_wall_s": run.summary["wall_seconds"],
            "renewals": run.summary["rotation"]["count"],
            "handshakes": run.summary["handshakes"]["total"],
            "peak_rss_kib": _peak_rss_kib(),
        },
    )
    return 0


def _peak_rss_kib() -> int:
    # ru_maxrss is in KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if __name__ == "__main__":
    raise SystemExit(main())
