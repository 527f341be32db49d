"""What the report needs of a sweep's ``runs.parquet`` and
``points.parquet``.

``meshsim sweep`` writes both; a table edited by hand is refused with
the first column that is missing or holds what no sweep writes, rather
than drawn from in part or shown on a page that would misstate the
sweep. Each column the report reads is listed here with what it holds:
names (text), one of a few words, or numbers between bounds, filled in
every row or not.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, TypeAlias

import numpy as np
import pandas as pd

from meshsim.experiment.worker import run_id

__all__ = [
    "AGENT",
    "DURATION",
    "FANOUT",
    "OUTAGE",
    "POINT_COLUMNS",
    "TTL",
    "WORKERS",
    "check_per_point",
    "check_points",
    "check_runs",
    "check_varied",
    "run_of",
]

TTL: Final = "scenario.workload_ttl_s"
AGENT: Final = "scenario.agent"
FANOUT: Final = "scenario.workloads_per_node"
OUTAGE: Final = "scenario.longest_outage_s"
WORKERS: Final = "scenario.ca_workers"
DURATION: Final = "scenario.duration_s"
LAPSES: Final = "credentials.lapses"


@dataclass(frozen=True)
class Numbers:
    """A column of numbers from ``low`` to ``high``; ``filled`` when no
    row may leave it empty, ``whole`` for counts."""

    low: float = -math.inf
    high: float = math.inf
    above: bool = False  # low itself is out
    filled: bool = True
    whole: bool = False
    finite: bool = True

    def holds(self, values: pd.Series) -> bool:
        """Whether every value of ``values`` is one of these numbers."""
        if self.filled and values.isna().any():
            return False
        values = values.dropna()
        if self.finite and not np.isfinite(values).all():
            return False
        low = values <= self.low if self.above else values < self.low
        if low.any():
            return False
        # high itself is out; an infinite bound (of a column that may be
        # infinite) leaves every value in
        if self.high < math.inf and (values >= self.high).any():
            return False
        return not (self.whole and (values % 1 != 0).any())

    def words(self) -> str:
        """``finite numbers above 0 and below 1``, ``whole numbers, 0 or
        more``: what the column must hold."""
        kind = "whole numbers" if self.whole else "numbers"
        if self.finite and not self.whole:
            kind = f"finite {kind}"
        if self.low == -math.inf:
            return kind
        if self.whole:
            return f"{kind}, {self.low:g} or more"
        bound = f"above {self.low:g}" if self.above else f"{self.low:g} or more"
        if self.high < math.inf:
            bound += f" and below {self.high:g}"
        return f"{kind} {bound}"


# what a column holds: names (the text says what to call them), one of
# a few words, or numbers
Kind: TypeAlias = Numbers | str | tuple[str, ...]

_NAME: Final = "names (text)"
_COUNT: Final = Numbers(low=0, whole=True)
_POSITIVE: Final = Numbers(low=0, above=True)

# every column of points.parquet the report reads: a name, or numbers
_POINTS: Final[dict[str, Kind]] = {
    "point": _NAME,
    "metric": _NAME,
    AGENT: _NAME,
    "n": _COUNT,
    "failed": _COUNT,
    # a run of infinite figures (the tables keep it) makes them infinite
    "mean": Numbers(filled=False, finite=False),
    "std": Numbers(low=0, filled=False, finite=False),
    "ci95": Numbers(low=0, filled=False, finite=False),
    TTL: _POSITIVE,
    FANOUT: _POSITIVE,
    OUTAGE: Numbers(low=0),
    WORKERS: Numbers(low=1, whole=True),
    DURATION: _POSITIVE,
    "scenario.grace_ratio": Numbers(low=0, above=True, high=1),
    "scenario.jitter": Numbers(low=0, high=1),
    "scenario.key_thefts": _COUNT,
}
POINT_COLUMNS: Final = tuple(_POINTS)
# columns the report shows but draws nothing from, checked when present
# (a sweep of an earlier meshsim may lack them)
_SHOWN_POINTS: Final[dict[str, Kind]] = {
    "scenario.nodes": Numbers(low=1, whole=True),
    "scenario.workloads": Numbers(low=1, whole=True),
    "scenario.backoff_max_s": _POSITIVE,
}

# every column of runs.parquet the report reads, and the figures it
# reads of the runs that ran (empty in a failed run's row, absent when
# every run failed)
_RUNS: Final[dict[str, Kind]] = {
    "point": _NAME,
    "replication": _COUNT,
    "seed": _COUNT,
    "status": ("ok", "failed"),
    TTL: _POSITIVE,
    OUTAGE: Numbers(low=0),
}
_RUN_FIGURES: Final = {LAPSES: Numbers(low=0, filled=False, whole=True)}


def check_points(points: pd.DataFrame) -> None:
    """Raise ``ValueError`` naming the first column of ``points`` the
    report cannot read, or a point with two rows of one metric."""
    _check("points.parquet", points, _POINTS)
    shown = {k: v for k, v in _SHOWN_POINTS.items() if k in points.columns}
    _check("points.parquet", points, shown)
    if points.duplicated(["point", "metric"]).any():
        raise ValueError("points.parquet: a point has two rows of one metric")


def check_runs(
    runs: pd.DataFrame, listed: list[str], replications: int
) -> None:
    """Raise ``ValueError`` naming the first column of ``runs`` the
    report cannot read, a failed run without its error, or a run other
    than the ``replications`` of each point in ``listed``, once each."""
    _check("runs.parquet", runs, _RUNS)
    if (runs["status"] == "ok").any():
        _check("runs.parquet", runs, _RUN_FIGURES)
    if "error" not in runs.columns:
        raise ValueError("runs.parquet: no column error")

    # a failed run says why
    failed = runs[runs["status"] == "failed"]
    said = failed["error"].map(lambda v: isinstance(v, str) and v != "")
    if not said.all():
        first = failed[~said].iloc[0]
        raise ValueError(
            f"runs.parquet: run {run_of(first)} failed without its error's text"
        )

    # each replication of each listed point, once
    if (runs["replication"] >= replications).any():
        raise ValueError(
            "runs.parquet: column replication must hold numbers below "
            f"the manifest's replications ({replications})"
        )
    unlisted = sorted(set(runs["point"]) - set(listed))
    if unlisted:
        raise ValueError(
            f"runs.parquet: a run of point {unlisted[0]!r}, which "
            "manifest.json does not list"
        )
    twice = runs[runs.duplicated(["point", "replication"])]
    if not twice.empty:
        raise ValueError(
            f"runs.parquet: two rows of run {run_of(twice.iloc[0])}"
        )
    held = set(zip(runs["point"], runs["replication"], strict=True))
    for point in listed:
        for replication in range(replications):
            if (point, replication) not in held:
                raise ValueError(
                    f"runs.parquet: no row of run "
                    f"{run_id(point, replication)}, which the manifest's "
                    "points and replications make"
                )


def run_of(row: pd.Series) -> str:
    """``p000-r01``: the run a row of runs.parquet is of."""
    return run_id(str(row["point"]), int(row["replication"]))


def check_varied(points: pd.DataFrame, columns: list[str]) -> None:
    """Raise ``ValueError`` when a column of ``columns`` (the keys the
    sweep varied and the other ``scenario.*`` columns) has empty values,
    values other than numbers or text, or numbers that are not finite."""
    for column in columns:
        values = points[column]
        named = column
        if not column.startswith("scenario."):
            named += " (a key the sweep varied)"
        if not values.map(_scalar).all():
            raise ValueError(
                f"points.parquet: column {named} must hold numbers or text"
            )
        if values.isna().any() or (values == "").any():
            raise ValueError(f"points.parquet: column {named} has empty values")
        numbers = pd.to_numeric(values, errors="coerce")
        if np.isinf(numbers).any():
            raise ValueError(
                f"points.parquet: column {named} must hold finite values"
            )


def check_per_point(points: pd.DataFrame, columns: list[str]) -> None:
    """Raise ``ValueError`` when a column of ``columns``, which describe
    a point, holds two values in the rows of one point."""
    for column in columns:
        spread = points[column].groupby(points["point"]).nunique()
        if (spread > 1).any():
            point = spread[spread > 1].index[0]
            raise ValueError(
                f"points.parquet: column {column} differs between the rows "
                f"of point {point!r}"
            )


def _scalar(value: object) -> bool:
    """Whether ``value`` is one number or text, or nothing (not a list,
    a mapping or an array)."""
    if value is None or value is pd.NA:
        return True
    kinds = (str, int, float, bool, np.generic)
    return isinstance(value, kinds) and not isinstance(value, np.ndarray)


def _check(
    name: str,
    table: pd.DataFrame,
    columns: Mapping[str, Kind],
) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{name}: no column {', '.join(missing)}")
    if table.empty:
        raise ValueError(f"{name}: no rows")
    for column, kind in columns.items():
        values = table[column]
        filled = not isinstance(kind, Numbers) or kind.filled
        if filled and values.isna().any():
            raise ValueError(f"{name}: column {column} has empty values")
        if isinstance(kind, str):
            named = values.map(lambda v: isinstance(v, str) and v != "")
            if not named.all():
                raise ValueError(f"{name}: column {column} must hold {kind}")
            continue
        if isinstance(kind, tuple):
            if not values.isin(kind).all():
                raise ValueError(
                    f"{name}: column {column} must hold {' or '.join(kind)}"
                )
            continue
        dtype = values.dtype
        types = pd.api.types
        if types.is_bool_dtype(dtype) or not types.is_numeric_dtype(dtype):
            raise ValueError(
                f"{name}: column {column} must hold numbers (it holds {dtype})"
            )
        if not kind.holds(values):
            raise ValueError(
                f"{name}: column {column} must hold {kind.words()}"
            )
