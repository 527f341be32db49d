"""A finished sweep's tables, seen the way the report's figures see them.

The figures speak of five factors of a point, read from the
``scenario.*`` columns whatever keys the sweep varied to set them:
the workload TTL, the agent placement, the fan-out (workloads per node),
the longest CA outage and the CA's workers. Any other key the sweep
varied splits a figure into panels, so that no two points are ever
averaged together.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from meshsim.files import read_json
from meshsim.report.sweep_manifest import check_manifest
from meshsim.report.sweep_tables import (
    AGENT,
    DURATION,
    FANOUT,
    OUTAGE,
    POINT_COLUMNS,
    TTL,
    WORKERS,
    check_per_point,
    check_points,
    check_runs,
    check_varied,
    run_of,
)
from meshsim.shown import cut, cut_value

__all__ = [
    "AGENT",
    "FANOUT",
    "OUTAGE",
    "TTL",
    "WORKERS",
    "NothingRanError",
    "SweepData",
    "UnsupportedFigureError",
    "facet_label",
    "hours_text",
    "read_sweep",
]

# columns that may split a figure into panels, friendliest first
_FACET_ORDER: Final = (FANOUT, AGENT, TTL, OUTAGE)

_SHORT: Final = {
    TTL: "TTL",
    AGENT: "agent",
    FANOUT: "workloads/node",
    OUTAGE: "outage",
    WORKERS: "CA workers",
}


class UnsupportedFigureError(Exception):
    """The sweep's parameters cannot support a figure; says why."""


class NothingRanError(ValueError):
    """Every run of the sweep failed: no figure has a number to draw."""


@dataclass(frozen=True)
class SweepData:
    """The tables and manifest of a finished sweep."""

    runs: pd.DataFrame
    points: pd.DataFrame
    manifest: dict[str, Any]

    @property
    def parameters(self) -> list[str]:
        return list(self.manifest.get("parameters", []))

    @property
    def warmup_s(self) -> float:
        return float(self.manifest.get("warmup_s", 0.0))

    def metric(self, name: str, steady: bool = False) -> str:
        """``name``, or its warmup-free ``steady.`` version when asked
        and the sweep had a warmup."""
        steady_name = f"steady.{name}"
        if steady and steady_name in set(self.points["metric"]):
            return steady_name
        return name

    def by_point(self, metric: str) -> pd.DataFrame:
        """One row per point: its describing columns, ``mean``, ``ci95``
        and ``n`` of ``metric`` (NaN where it was never measured)."""
        rows = self.points[self.points["metric"] == metric]
        if rows.empty:
            raise UnsupportedFigureError(f"the sweep measured no {metric}")
        return rows.reset_index(drop=True)

    def design(self) -> pd.DataFrame:
        """One row per point with its describing columns only."""
        columns = [
            c
            for c in self.points.columns
            if c == "point" or c in self.parameters or c.startswith("scenario.")
        ]
        return self.points[columns].drop_duplicates("point")

    def values(self, column: str) -> list[Any]:
        """The distinct values of a describing column, sorted."""
        return sorted(self.design()[column].dropna().unique().tolist())

    def varies(self, column: str) -> bool:
        return len(self.values(column)) > 1

    def unvaried(self, what: str, column: str) -> UnsupportedFigureError:
        """Why a figure along ``column`` (``what``) cannot be drawn: it
        did not vary (``needs CA workers to vary; every point has CA
        workers 1``)."""
        values = self.values(column)
        kept = facet_label(column, values[0]) if values else "none"
        return UnsupportedFigureError(
            f"needs {what} to vary; every point has {kept}"
        )

    def facets(self, *used: str) -> list[str]:
        """Columns that split a figure whose axes and lines use ``used``:
        every varied column not already fixed by the others."""
        design = self.design()
        candidates = [
            *_FACET_ORDER,
            *self.parameters,
            *sorted(c for c in design.columns if c.startswith("scenario.")),
        ]
        chosen: list[str] = []
        for column in dict.fromkeys(candidates):
            if column in used or column not in design.columns:
                continue
            if design[column].nunique(dropna=False) < 2:
                continue
            if not _determined(design, column, [*used, *chosen]):
                chosen.append(column)
        return chosen


def read_sweep(folder: str | Path) -> SweepData:
    """The tables and manifest a finished ``meshsim sweep`` wrote
    (``OSError`` or ``ValueError`` when one cannot be read)."""
    path = Path(folder)
    manifest = read_json(path / "manifest.json")
    data = SweepData(
        runs=_read_table(path / "runs.parquet"),
        points=_read_table(path / "points.parquet"),
        manifest=manifest,
    )
    # the manifest, then the runs of the points it lists
    check_manifest(manifest)
    listed = [point["id"] for point in manifest["points"]]
    check_runs(data.runs, listed, manifest["replications"])

    # a sweep whose every run failed measured nothing
    runs = data.runs
    if not (runs["status"] == "ok").any():
        first = runs.iloc[0]
        raise NothingRanError(
            f"every run of the sweep failed (the first, "
            f"{run_of(first)}: "
            f"{cut_value(first.get('error'), 100)}); nothing to draw: "
            "runs.parquet's error column says why each failed"
        )

    # the points: their columns, the keys the sweep varied, the warmup
    # against their runs, and their ids against the manifest's
    check_points(data.points)
    _check_varied_keys(data)
    shortest = float(data.points[DURATION].min())
    if data.warmup_s >= shortest:
        raise ValueError(
            "manifest.json: warmup_s must be less than the shortest "
            f"point's duration, {shortest:g} s (got {data.warmup_s:g})"
        )
    _same_points(data.points, listed)
    return data


def _read_table(path: Path) -> pd.DataFrame:
    """The Parquet table at ``path``; ``ValueError`` naming it, with the
    first line of what Arrow said, when it cannot be read as one (Arrow
    may say it in a page: a column twice prints the whole schema)."""
    try:
        return pd.read_parquet(path)
    except (ValueError, TypeError, KeyError) as error:
        said = str(error).strip().splitlines() or [type(error).__name__]
        raise ValueError(
            f"{path.name}: cannot be read as a table ({cut(said[0], 100)})"
        ) from None


def _check_varied_keys(data: SweepData) -> None:
    """The keys the manifest says the sweep varied are columns of the
    points table, not its own; they and the other ``scenario.*``
    columns are filled and finite, and every column describing a point
    has one value in its rows."""
    for parameter in data.parameters:
        if parameter in POINT_COLUMNS or parameter.startswith("scenario."):
            raise ValueError(
                f"manifest.json: parameters names {parameter!r}, a column "
                "of the points table's own, not a key the sweep varied"
            )
        if parameter not in data.points.columns:
            raise ValueError(
                f"manifest.json: parameters names {parameter!r}, which "
                "points.parquet has no column for"
            )
    described = [c for c in data.design().columns if c != "point"]
    check_varied(data.points, [c for c in described if c not in POINT_COLUMNS])
    check_per_point(data.points, described)


def _same_points(points: pd.DataFrame, ids: list[str]) -> None:
    """The points table holds each point the manifest lists, and no other
    (every point of a finished sweep has its rows, a failed one too)."""
    drawn = set(points["point"])
    for point_id in ids:
        if point_id not in drawn:
            raise ValueError(
                f"points.parquet: no rows of point {point_id!r}, which "
                "manifest.json lists"
            )
    unlisted = sorted(drawn - set(ids))
    if unlisted:
        raise ValueError(
            f"points.parquet: rows of point {unlisted[0]!r}, which "
            "manifest.json does not list"
        )


def facet_label(column: str, value: Any) -> str:
    """``TTL 8h``, ``workloads/node 20``, ``pki.jitter=0.1``."""
    if column in (TTL, OUTAGE):
        return f"{_SHORT[column]} {hours_text(float(value))}"
    if column in _SHORT:
        return f"{_SHORT[column]} {_number_text(value)}"
    return f"{column.removeprefix('scenario.')}={_number_text(value)}"


def hours_text(seconds: float) -> str:
    """``2h``, ``1.5h``, ``30m``: a duration for a label."""
    if seconds < 3600:
        return f"{seconds / 60:g}m"
    return f"{seconds / 3600:g}h"


def _number_text(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return f"{float(value):g}"
    return str(value)


def _determined(design: pd.DataFrame, column: str, by: list[str]) -> bool:
    """Whether ``column`` has one value for each combination of ``by``."""
    if not by:
        return design[column].nunique(dropna=False) < 2
    groups = design.groupby(by, dropna=False)[column]
    return bool((groups.nunique(dropna=False) <= 1).all())
