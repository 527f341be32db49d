"""Run a sweep into its folder: the entry point behind ``meshsim sweep``,
callable from a notebook the same way."""

from __future__ import annotations

import platform
import sys
from collections.abc import Callable, Generator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Final

import pandas as pd

from meshsim import __version__
from meshsim.arguments import (
    require_callable,
    require_instance,
    require_path,
)
from meshsim.experiment.executors import (
    DaskExecutor,
    Executor,
    LocalExecutor,
)
from meshsim.experiment.hold import writing_alone
from meshsim.experiment.plan import Sweep
from meshsim.experiment.store import (
    POINTS_TABLE,
    RUNS_TABLE,
    SweepFolder,
)
from meshsim.experiment.tables import points_table, runs_table
from meshsim.experiment.worker import Replication, run_id, run_replication
from meshsim.files import (
    json_bytes,
    read_json,
    table_bytes,
    write_together,
)
from meshsim.native import build_kind
from meshsim.results import MANIFEST
from meshsim.scenario import dump_resolved

__all__ = [
    "SweepOutcome",
    "SweepProgress",
    "check_sweep_folder",
    "read_results",
    "run_sweep",
]

_DEPENDENCIES: Final = (
    "simpy",
    "cryptography",
    "numpy",
    "pandas",
    "pyarrow",
    "scipy",
    "matplotlib",
    "dask",
    "distributed",
)


@dataclass(frozen=True)
class SweepProgress:
    """How far a sweep has come; passed to the progress callback."""

    done: int
    """Replications finished, including those found already stored."""
    total: int
    points_done: int
    points: int
    failed: int
    resumed: int
    """Replications found stored when the sweep started."""


@dataclass(frozen=True)
class SweepOutcome:
    """A finished sweep: its folder and tables."""

    out: Path
    runs: pd.DataFrame
    points: pd.DataFrame
    ran: int
    """Replications run by this call."""
    resumed: int
    """Replications found already stored."""
    failed: int
    """Replications recorded as failed (this call's and stored ones)."""


def check_sweep_folder(
    sweep: Sweep, out: str | Path, *, force: bool = False
) -> None:
    """Raise ``WrongSweepError`` if ``run_sweep`` would refuse ``out``
    for ``sweep``, or if another sweep is writing to it now; write
    nothing."""
    SweepFolder(Path(out), sweep).check(force)


def run_sweep(
    sweep: Sweep,
    out: str | Path,
    executor: Executor | None = None,
    *,
    force: bool = False,
    retry_failed: bool = False,
    command: str = "",
    progress: Callable[[SweepProgress], None] | None = None,
) -> SweepOutcome:
    """Run every replication of ``sweep`` not yet stored in ``out``.

    Each replication is stored as it finishes; the tables and manifest
    are rebuilt from all stored replications at the end. ``executor``
    defaults to local processes on every core; one that is a context
    manager (:class:`DaskExecutor`) is entered first, so that a
    scheduler that cannot be reached fails before anything is written.
    With ``retry_failed``, stored failures are run again. Raise
    ``WrongSweepError`` if ``out`` holds another sweep and ``force`` is
    not given, or if another sweep is writing to it now;
    ``SchedulerError`` if the executor's scheduler cannot be reached.
    """
    require_instance("sweep", sweep, Sweep)
    require_path("out", out)
    if executor is not None and not callable(
        getattr(executor, "map_unordered", None)
    ):
        raise TypeError(
            f"executor: must be an Executor, such as LocalExecutor() "
            f"(got {type(executor).__name__})"
        )
    if progress is not None:
        require_callable("progress", progress)
    chosen = executor if executor is not None else LocalExecutor()
    # An executor that connects somewhere does so before anything is
    # written, and only if something is left to run: a finished sweep
    # rebuilds its tables without its scheduler. What is left is read
    # once, here, unless --force starts the folder over (it resumes this
    # very sweep); a sweep that ends between this read and the hold
    # below at worst has us run again what it stored, to the same result.
    folder = SweepFolder(Path(out), sweep)
    over = force and not folder.resumable()
    left = None if over else _left_to_run(sweep, folder, retry_failed)
    if left is None:
        to_run = len(sweep.points) * sweep.replications
    else:
        to_run = len(left[1])
    if isinstance(chosen, LocalExecutor | DaskExecutor):
        chosen.at_most(to_run)  # a worker per run at most
    connected: AbstractContextManager[object] = nullcontext()
    if isinstance(chosen, AbstractContextManager) and to_run:
        connected = chosen
    with connected, writing_alone(Path(out)):
        return _run_sweep(
            sweep, folder, chosen, left, retry_failed, command, progress
        )


def _run_sweep(
    sweep: Sweep,
    folder: SweepFolder,
    executor: Executor,
    left: tuple[dict[str, dict[str, Any]], list[Replication]] | None,
    retry_failed: bool,
    command: str,
    progress: Callable[[SweepProgress], None] | None,
) -> SweepOutcome:
    """Run what is ``left`` (stored replications, those to run), or, when
    None, start the folder over (--force) and run every replication."""
    started_at = datetime.now(UTC)
    guard = folder.open(sweep.spec.text.encode(), force=left is None)

    if left is None:
        left = _left_to_run(sweep, folder, retry_failed)
    stored, tasks = left
    tracker = _Tracker(sweep, stored, progress)

    # Close the executor's iterator even when stopped between two
    # results, so that its workers end with the sweep.
    results = executor.map_unordered(run_replication, tasks) if tasks else ()
    try:
        for record in results:
            task_id = run_id(record["point"], record["replication"])
            folder.store(task_id, record)
            tracker.finished(task_id, record)
    finally:
        if isinstance(results, Generator):
            results.close()

    # the tables, from everything stored
    records = folder.stored()
    runs = runs_table(sweep, records.values())
    points = points_table(runs, sweep.varied_keys)
    failed = int((runs["status"] != "ok").sum())
    manifest = _manifest(sweep, guard, executor, command, started_at, failed)
    write_together(
        {
            folder.path / RUNS_TABLE: table_bytes(runs),
            folder.path / POINTS_TABLE: table_bytes(points),
            folder.path / MANIFEST: json_bytes(manifest),
        }
    )
    return SweepOutcome(
        folder.path, runs, points, len(tasks), len(stored), failed
    )


def read_results(
    folder: str | Path,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """A finished sweep's ``runs`` and ``points`` tables and manifest."""
    path = Path(folder)
    manifest = read_json(path / MANIFEST)
    runs = pd.read_parquet(path / RUNS_TABLE)
    points = pd.read_parquet(path / POINTS_TABLE)
    return runs, points, manifest


def _left_to_run(
    sweep: Sweep, folder: SweepFolder, retry_failed: bool
) -> tuple[dict[str, dict[str, Any]], list[Replication]]:
    """The replications stored that count as done, and those to run."""
    stored = folder.stored()
    if retry_failed:
        stored = {k: r for k, r in stored.items() if r["status"] == "ok"}
    return stored, [t for t in _tasks(sweep) if t.id not in stored]


def _tasks(sweep: Sweep) -> list[Replication]:
    """Every replication, replication-major: each point gets its first
    replications early, so an interrupted sweep covers every point."""
    texts = {p.id: dump_resolved(p.scenario) for p in sweep.points}
    return [
        Replication(p.id, r, seed, texts[p.id], sweep.spec.warmup_s)
        for r, seed in enumerate(sweep.seeds)
        for p in sweep.points
    ]


class _Tracker:
    """Counts finished replications and points for the progress callback."""

    def __init__(
        self,
        sweep: Sweep,
        stored: dict[str, dict[str, Any]],
        progress: Callable[[SweepProgress], None] | None,
    ) -> None:
        self.replications = sweep.replications
        self.points = len(sweep.points)
        self.per_point: dict[str, int] = {}
        self.failed = 0
        self.progress = progress
        for task_id, record in stored.items():
            self._count(task_id, record)
        self.resumed = len(stored)
        self._report()

    def finished(self, task_id: str, record: dict[str, Any]) -> None:
        self._count(task_id, record)
        self._report()

    def _count(self, task_id: str, record: dict[str, Any]) -> None:
        point = task_id.rpartition("-r")[0]
        self.per_point[point] = self.per_point.get(point, 0) + 1
        self.failed += record["status"] != "ok"

    def _report(self) -> None:
        if self.progress is None:
            return
        done = sum(self.per_point.values())
        self.progress(
            SweepProgress(
                done=done,
                total=self.points * self.replications,
                points_done=sum(
                    n >= self.replications for n in self.per_point.values()
                ),
                points=self.points,
                failed=self.failed,
                resumed=self.resumed,
            )
        )


def _manifest(
    sweep: Sweep,
    guard: dict[str, Any],
    executor: Executor,
    command: str,
    started_at: datetime,
    failed: int,
) -> dict[str, Any]:
    spec = sweep.spec
    return {
        "sweep": spec.name,
        "description": spec.description,
        "sweep_file": spec.source,
        "sweep_sha256": spec.text_sha256,
        "plan_sha256": guard["plan_sha256"],
        "base_scenario": str(spec.base_path),
        "set": list(sweep.fixed),
        "overrides": list(sweep.overrides),
        "root_seed": spec.seed,
        "replications": sweep.replications,
        "seeds": list(sweep.seeds),
        "warmup_s": spec.warmup_s,
        "parameters": list(sweep.varied_keys),
        "points": [
            {
                "id": p.id,
                "label": p.label,
                "settings": {k: v for k, v in p.settings},
            }
            for p in sweep.points
        ],
        "failed": failed,
        "command": command,
        "executor": executor.description,
        "created_at": guard["created_at"],
        "started_at": started_at.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "meshsim_version": __version__,
        "build": build_kind(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "dependencies": {name: _version(name) for name in _DEPENDENCIES},
    }


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None
