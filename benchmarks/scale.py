"""Figure 3: 100,000 workloads on 2,000 nodes, 1h certificates, a
simulated day, in a child process with a hard timeout.

The child's wall time runs from its start to its exit (imports, build,
simulation and summary); its peak memory is the peak resident set size
the kernel reports for it alone (``wait4``), also when it was killed.
If it does not finish in time, two smaller runs of the same mesh give
the evidence and an extrapolation, labelled as such.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.figures import Bound, Figure, Sizes
from benchmarks.scenarios import REPO

__all__ = ["ChildRun", "run", "run_child"]

_POLL_S = 0.25
_KIB_PER_GIB = 2**20
_EVIDENCE_TIMEOUT_S = 900.0
_QUICK_EVIDENCE_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ChildRun:
    """What one child run of the scale scenario took."""

    workloads: int
    nodes: int
    timeout_s: float
    finished: bool
    wall_s: float
    """From spawning the child to its exit, or to its kill."""
    peak_rss_gib: float
    run_wall_s: float | None
    """The child's own work: load, simulate, summarise (no start-up)."""
    simulate_wall_s: float | None
    renewals: int | None
    progress: tuple[tuple[float, float, float], ...]
    """(fraction of the simulated day, seconds since spawn, peak GiB so
    far), each percent."""

    @property
    def reached(self) -> float:
        """Fraction of the simulated day done when it stopped."""
        return self.progress[-1][0] if self.progress else 0.0

    def paced_wall_s(self) -> float | None:
        """EXTRAPOLATED seconds from spawn to the end of the simulated
        day, at the pace between its first and last progress reports
        (leaving out the tables built after the simulation)."""
        if len(self.progress) < 2:
            return None
        first, first_s, _ = self.progress[0]
        last, last_s, _ = self.progress[-1]
        return last_s + (1.0 - last) * (last_s - first_s) / (last - first)


def run_child(workloads: int, nodes: int, timeout_s: float) -> ChildRun:
    """Run the scale scenario in a child process, killed after
    ``timeout_s``; raise ``RuntimeError`` if it fails on its own."""
    with tempfile.TemporaryDirectory(prefix="meshsim-bench-") as tmp:
        folder = Path(tmp)
        result_path = folder / "result.json"
        progress_path = folder / "progress.jsonl"
        stderr_path = folder / "stderr.txt"
        argv = [
            sys.executable,
            "-m",
            "benchmarks.scale_child",
            f"--workloads={workloads}",
            f"--nodes={nodes}",
            f"--result={result_path}",
            f"--progress={progress_path}",
            f"--spawned-at={time.time()!r}",
        ]
        paths = [str(REPO), os.environ.get("PYTHONPATH", "")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, paths))}
        actions = [
            (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
            (
                os.POSIX_SPAWN_OPEN,
                2,
                str(stderr_path),
                os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                0o600,
            ),
        ]

        began = time.perf_counter()
        pid = os.posix_spawn(sys.executable, argv, env, file_actions=actions)
        status, peak_kib, timed_out = _wait(pid, began + timeout_s)
        wall = time.perf_counter() - began

        code = os.waitstatus_to_exitcode(status)
        if not timed_out and code != 0:
            tail = stderr_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(
                f"scale run of {workloads:,} workloads exited with status "
                f"{code}:\n{tail}"
            )
        result = json.loads(result_path.read_text()) if not timed_out else None
        progress = _progress(progress_path)

    return ChildRun(
        workloads=workloads,
        nodes=nodes,
        timeout_s=timeout_s,
        finished=not timed_out,
        wall_s=wall,
        peak_rss_gib=peak_kib / _KIB_PER_GIB,
        run_wall_s=result["run_wall_s"] if result else None,
        simulate_wall_s=result["simulate_wall_s"] if result else None,
        renewals=result["renewals"] if result else None,
        progress=progress,
    )


def run(sizes: Sizes) -> list[Figure]:
    """Figure 3: wall seconds and peak GiB of the scale run."""
    workloads, nodes = sizes.scale_workloads, sizes.scale_nodes
    main = run_child(workloads, nodes, sizes.scale_timeout_s)
    raw: dict[str, Any] = {"run": asdict(main)}
    size = f"{workloads:,} workloads, {nodes:,} nodes, 1h TTL, 24h"
    if main.finished:
        wall_note = f"{main.renewals:,} renewals"
        memory_note = ""
    else:
        wall_note, memory_note = _evidence(sizes, main, raw)

    bound: Bound = "exact" if main.finished else "at-least"
    return [
        Figure(
            name="3. scale: wall time",
            measure=f"child process wall, {size}",
            value=main.wall_s,
            unit="s",
            target=180.0,
            better="lower",
            bound=bound,
            note=wall_note,
            raw=raw,
        ),
        Figure(
            name="3. scale: peak memory",
            measure=f"child peak RSS, {size}",
            value=main.peak_rss_gib,
            unit="GiB",
            target=4.0,
            better="lower",
            bound=bound,
            note=memory_note,
        ),
    ]


def _evidence(
    sizes: Sizes, main: ChildRun, raw: dict[str, Any]
) -> tuple[str, str]:
    """Run the two smaller meshes and extrapolate; return the notes of
    the wall and memory rows."""
    timeout = _QUICK_EVIDENCE_TIMEOUT_S if sizes.quick else _EVIDENCE_TIMEOUT_S
    per_node = sizes.scale_workloads / sizes.scale_nodes
    smaller = [
        run_child(w, max(1, round(w / per_node)), timeout)
        for w in sizes.evidence_workloads
    ]
    raw["evidence"] = [asdict(r) for r in smaller]

    stopped = (
        f"killed at {main.timeout_s:g} s having simulated "
        f"{main.reached:.0%} of the day"
    )
    paced = main.paced_wall_s()
    if paced is not None:
        raw["extrapolated_from_progress_s"] = paced
        stopped += f" (EXTRAPOLATED at its pace: ~{paced:,.0f} s)"
    if not all(r.finished for r in smaller):
        return f"{stopped}; the smaller runs timed out too", ""

    # Extrapolate: the child's own work as a power of workloads through
    # the two runs (plus the larger one's start-up), memory as a line.
    (small, large), target = smaller, sizes.scale_workloads
    assert small.run_wall_s is not None and large.run_wall_s is not None
    exponent = math.log(large.run_wall_s / small.run_wall_s) / math.log(
        large.workloads / small.workloads
    )
    startup = large.wall_s - large.run_wall_s
    wall = startup + large.run_wall_s * (target / large.workloads) ** exponent
    slope = (large.peak_rss_gib - small.peak_rss_gib) / (
        large.workloads - small.workloads
    )
    memory = large.peak_rss_gib + slope * (target - large.workloads)
    raw["extrapolated"] = {
        "method": (
            "start-up + run ∝ workloads^k through the two runs; "
            "memory linear through them"
        ),
        "exponent": exponent,
        "wall_s": wall,
        "peak_rss_gib": memory,
    }
    measured = (
        f"{large.workloads:,} workloads: {large.wall_s:.0f} s, "
        f"{large.peak_rss_gib:.2f} GiB; {small.workloads:,}: "
        f"{small.wall_s:.0f} s, {small.peak_rss_gib:.2f} GiB"
    )
    return (
        f"{stopped}; {measured}; EXTRAPOLATED from those two: "
        f"~{wall:,.0f} s (time ∝ W^{exponent:.2f})",
        f"peak when killed; EXTRAPOLATED (linear from the two smaller "
        f"runs, which has come out low: docs/performance.md): "
        f"~{memory:.1f} GiB",
    )


def _wait(pid: int, deadline: float) -> tuple[int, int, bool]:
    """Wait for ``pid`` until ``deadline`` (``perf_counter``), killing
    it then; return its wait status, peak RSS in KiB, and whether it was
    killed."""
    try:
        while True:
            done, status, usage = os.wait4(pid, os.WNOHANG)
            if done == pid:
                return status, usage.ru_maxrss, False
            if time.perf_counter() >= deadline:
                os.kill(pid, signal.SIGKILL)
                _, status, usage = os.wait4(pid, 0)
                return status, usage.ru_maxrss, True
            time.sleep(_POLL_S)
    except BaseException:
        # Interrupted: leave no child running behind us.
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.wait4(pid, 0)
        raise


def _progress(path: Path) -> tuple[tuple[float, float, float], ...]:
    """The (fraction, seconds since spawn, peak GiB) a child reported,
    in order."""
    if not path.exists():
        return ()
    lines = path.read_text(encoding="utf-8").splitlines()
    # a line cut short by the kill is left out
    reports = []
    for line in lines:
        try:
            report = json.loads(line)
        except json.JSONDecodeError:
            continue
        reports.append(
            (
                float(report["fraction"]),
                float(report["since_spawn_s"]),
                report["peak_rss_kib"] / _KIB_PER_GIB,
            )
        )
    return tuple(reports)
