"""A sweep's result folder, filled one replication at a time.

::

    DIR/sweep.json            which sweep the folder holds (hashes)
    DIR/sweep.yaml            the sweep file as given
    DIR/scenarios/p000.yaml   each point's resolved scenario
    DIR/runs/p000-r00.json    each finished replication, as it finishes
    DIR/runs.parquet          rebuilt from runs/ when the sweep ends
    DIR/points.parquet        statistics per point and metric
    DIR/manifest.json         hashes, seeds, command, versions, times

Every file is written to a temporary name and renamed, so a kill at any
moment leaves whole files only; the replications in flight are lost and
run again next time. A folder holding another sweep is refused unless
``force`` is given, and then started over; a non-empty folder that holds
no sweep is refused even with ``force``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from meshsim.experiment.guard import (
    GUARD,
    new_guard,
    positive,
    read_guard,
    refusal,
    same_sweep,
)
from meshsim.experiment.hold import (
    WrongSweepError,
    lock_file,
    refuse_if_held,
)
from meshsim.experiment.plan import MAX_POINTS, Sweep
from meshsim.experiment.sweep_file import MAX_REPLICATIONS
from meshsim.experiment.worker import POINT_SCENARIOS, point_id, run_id
from meshsim.files import (
    TEMPORARY,
    made_by_meshsim,
    read_json,
    write_bytes,
    write_json,
)
from meshsim.layout import refuse_foreign, refuse_inside_result
from meshsim.results import MANIFEST
from meshsim.scenario import dump_resolved
from meshsim.signals import signals_held
from meshsim.writable import (
    OutputExistsError,
    check_lengths,
    check_writable,
    refusing_os_errors,
)

__all__ = [
    "GUARD",
    "POINTS_TABLE",
    "RUNS_TABLE",
    "SWEEP_FILE",
    "SWEEP_LAYOUT",
    "SweepFolder",
    "WrongSweepError",
]

SWEEP_FILE: Final = "sweep.yaml"
"""The sweep file as run, kept in its folder."""

_RUNS: Final = "runs"

RUNS_TABLE: Final = "runs.parquet"
"""A sweep's table of replications, rebuilt at its end."""

POINTS_TABLE: Final = "points.parquet"
"""A sweep's table of points, rebuilt at its end."""

# what meshsim report writes into a sweep's folder
_REPORT_PAGE: Final = "report.html"
_FIGURES: Final = "figures"

SWEEP_LAYOUT: Final = (
    GUARD,
    SWEEP_FILE,
    f"{_RUNS}/",
    f"{_RUNS}/p###+-r##+.json",
    f"{POINT_SCENARIOS}/",
    f"{POINT_SCENARIOS}/p###+.yaml",
    RUNS_TABLE,
    POINTS_TABLE,
    MANIFEST,
    # what meshsim report adds
    _REPORT_PAGE,
    f"{_FIGURES}/",
    *(
        f"{_FIGURES}/{name}.png"
        for name in (
            "attack_window_vs_ttl",
            "ca_load_heatmap",
            "ca_wait_vs_ttl",
            "ca_wait_vs_workers",
            "blast_radius_vs_fanout",
            "outage_vs_ttl",
            "pareto",
        )
    ),
)
"""What a sweep and its report write in its folder, as patterns of
paths (``#`` stands for a digit, ``#+`` for one or more, a folder's ends
in ``/``; see ``meshsim.layout``)."""

# The longest path a sweep writes inside its folder, rounded up:
# "/figures/.blast_radius_vs_fanout.png." and eight characters and
# ".png" is 49.
_DEEPEST_INSIDE: Final = 56


@dataclass(frozen=True)
class SweepFolder:
    """The result folder of one sweep."""

    path: Path
    sweep: Sweep

    @property
    def runs(self) -> Path:
        return self.path / _RUNS

    def check(self, force: bool) -> None:
        """Raise ``WrongSweepError`` if :meth:`open` would refuse the
        folder, or if another sweep holds it now; write nothing."""
        refuse_if_held(self.path)
        self._checked(force)

    def _checked(
        self, force: bool
    ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """The stored guard (when this sweep's) and the new one, or
        ``WrongSweepError``."""
        with refusing_os_errors(self.path, WrongSweepError):
            found = self._examined(force)
            self._check_writable()
        return found

    def _check_writable(self) -> None:
        """Refuse a place meshsim could not write in: names or paths too
        long for the system, or a place where a trial folder, made where
        the sweep would write first and removed at once, cannot be made.
        """
        lock = lock_file(self.path)
        deepest = len(os.fsencode(self.path.absolute())) + _DEEPEST_INSIDE
        why = "a sweep holds it with a lock file beside it, named after it"
        try:
            check_lengths(self.path, {lock.name: why}, deepest)
            check_writable(self.path.absolute(), ".meshsim-check-")
        except OutputExistsError as error:
            raise WrongSweepError(str(error)) from None

    def _examined(
        self, force: bool
    ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        where = f"--out: {str(self.path)!r}"
        if self.path.is_symlink():
            raise WrongSweepError(
                f"{where} is a symbolic link; give the folder itself"
            )
        refuse_inside_result(self.path, WrongSweepError)
        for parent in self.path.absolute().parents:
            if parent.is_symlink() and not parent.exists():
                raise WrongSweepError(
                    f"{where}: {str(parent)!r} is a symbolic link to nothing"
                )
            if parent.exists() and not parent.is_dir():
                raise WrongSweepError(f"{where}: {str(parent)!r} is a file")
        existing = read_guard(self.path)
        guard = new_guard(self.sweep)
        if existing is not None and same_sweep(existing, guard):
            return existing, guard
        if self.path.exists() and not self.path.is_dir():
            raise WrongSweepError(f"{where} exists and is not a folder")
        if self.path.exists() and any(self.path.iterdir()):
            if not force:
                raise WrongSweepError(refusal(self.path, existing, guard))
            kept = self._not_to_replace()
            if kept is not None:
                raise WrongSweepError(
                    f"{where} holds {kept}; it is not replaced even with "
                    "--force"
                )
            if existing is None:
                # --force starts a sweep's folder over, and empties no
                # folder of anything else
                raise WrongSweepError(refusal(self.path, existing, guard))
            written = _planned(existing, self.path)
            refuse_foreign(self.path, SWEEP_LAYOUT, WrongSweepError, written)
        return None, guard

    def _not_to_replace(self) -> str | None:
        """What inside the folder --force must not delete, if anything:
        the current folder, the sweep file or its base scenario."""
        inside = self.path.resolve()
        spec = self.sweep.spec
        for what, path in (
            ("the current folder", Path.cwd()),
            ("the sweep file", Path(spec.source)),
            ("the base scenario", spec.base_path),
        ):
            if path.resolve().is_relative_to(inside):
                return what
        return None

    def resumable(self) -> bool:
        """Whether the folder holds this very sweep, which :meth:`open`
        resumes, ``force`` or not."""
        existing = read_guard(self.path)
        return existing is not None and same_sweep(
            existing, new_guard(self.sweep)
        )

    def open(self, sweep_text: bytes, force: bool) -> dict[str, Any]:
        """Make the folder ready and return its guard.

        A missing or empty folder is started; one holding this very
        sweep is resumed; anything else is refused without ``force``
        and, with it, emptied and started over.
        """
        existing, guard = self._checked(force)
        if existing is not None:
            self._drop_temporaries()
            return existing

        # A signal meanwhile waits until the guard is written: stopped
        # before it, the folder would be neither a sweep's (to resume or
        # replace) nor empty.
        with signals_held():
            if self.path.exists() and any(self.path.iterdir()):
                shutil.rmtree(self.path)  # _checked allows it with force
            existed = self.path.exists()

            # start: the guard goes last, so a folder without one is not
            # ours; one that fails before it is taken back, or it would
            # be refused as no sweep's from then on
            try:
                write_bytes(self.path / SWEEP_FILE, sweep_text)
                for point in self.sweep.points:
                    text = dump_resolved(point.scenario).encode()
                    path = self.path / POINT_SCENARIOS / f"{point.id}.yaml"
                    write_bytes(path, text)
                self.runs.mkdir(parents=True, exist_ok=True)
                write_json(self.path / GUARD, guard)
            except BaseException:
                self._take_back(existed)
                raise
        return guard

    def _take_back(self, existed: bool) -> None:
        """Remove what a start that failed wrote: the folder, or what it
        holds if it was there (empty) before."""
        if not existed:
            shutil.rmtree(self.path, ignore_errors=True)
            return
        for entry in list(self.path.iterdir()):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    entry.unlink()

    def stored(self) -> dict[str, dict[str, Any]]:
        """Every replication already stored, by its id (``p000-r01``)."""
        plan = self.sweep.plan_sha256()
        points = {point.id for point in self.sweep.points}
        seeds = self.sweep.seeds
        records = {}
        for path in sorted(self.runs.glob("p*-r*.json")):
            try:
                record = read_json(path)
            except (OSError, ValueError):
                continue  # unreadable: run it again
            # A copy under another name (``p000-r00 (copy).json``) is not
            # a replication of its own; one whose point, replication or
            # seed the plan does not hold, or that holds no outcome a run
            # stores (edited by hand), is run again.
            if (
                isinstance(record, dict)
                and record.get("plan_sha256") == plan
                and path.stem == _task_id(record)
                and record["point"] in points
                and 0 <= record["replication"] < len(seeds)
                and record.get("seed") == seeds[record["replication"]]
                and _outcome_whole(record)
            ):
                records[path.stem] = record
        return records

    def store(self, task_id: str, record: dict[str, Any]) -> None:
        """Keep one finished replication (``p000-r01``), whole or not at
        all."""
        record = {**record, "plan_sha256": self.sweep.plan_sha256()}
        write_json(self.runs / f"{task_id}.json", record)

    def _drop_temporaries(self) -> None:
        """Remove temporary files a killed run left behind."""
        if self.runs.is_dir():
            for path in self.runs.glob(".*"):
                if path.is_file() and TEMPORARY.fullmatch(path.name):
                    path.unlink(missing_ok=True)


def _planned(guard: dict[str, Any], out: Path) -> Callable[[str], bool] | None:
    """Which files of ``out`` the sweep that wrote ``guard`` and its
    report may have made: runs by their names, within its count of
    points and replications, and their plan's hash; point scenarios by
    their names; the report's page and figures by their mark (see
    ``made_by_meshsim``). None for a guard of a meshsim that
    did not count its points: its layout alone then decides."""
    points = positive(guard.get("points"), MAX_POINTS)
    replications = positive(guard.get("replications"), MAX_REPLICATIONS)
    plan = guard["plan_sha256"]
    if points is None or replications is None:
        return None

    def planned(path: str) -> bool:
        folder, _, name = path.rpartition("/")
        if folder == POINT_SCENARIOS:
            return _point_of(name.removesuffix(".yaml"), points)
        if folder == _RUNS:
            stem = name.removesuffix(".json")
            point, _, replication = stem.rpartition("-r")
            return (
                _point_of(point, points)
                and replication.isdigit()
                and int(replication) < replications
                and run_id(point, int(replication)) == stem
                and _stored_for(out / path, plan)
            )
        if path == _REPORT_PAGE or folder == _FIGURES:
            return made_by_meshsim(out / path)
        return True

    return planned


def _stored_for(path: Path, plan: str) -> bool:
    """Whether ``path`` holds a run record stored for the plan ``plan``
    (a file of the same name but not by meshsim does not)."""
    try:
        record = read_json(path)
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and record.get("plan_sha256") == plan


def _point_of(name: str, points: int) -> bool:
    """Whether ``name`` is the id of one of ``points`` points."""
    number = name.removeprefix("p")
    return (
        number.isdigit()
        and int(number) < points
        and point_id(int(number), points) == name
    )


def _outcome_whole(record: dict[str, Any]) -> bool:
    """Whether ``record`` holds an outcome as a replication stores it:
    ``ok`` with its summary and derived figures (mappings), or ``failed``
    with the error's text."""
    status = record.get("status")
    if status == "ok":
        return isinstance(record.get("summary"), dict) and isinstance(
            record.get("derived"), dict
        )
    return status == "failed" and isinstance(record.get("error"), str)


def _task_id(record: dict[str, Any]) -> str | None:
    """The id a stored replication's own fields give it (``p000-r01``)."""
    point, replication = record.get("point"), record.get("replication")
    if not isinstance(point, str) or not isinstance(replication, int):
        return None
    return run_id(point, replication)
