"""What the report needs of a sweep's ``runs.parquet`` and
``points.parquet``.

``meshsim sweep`` writes both; a table edited by hand is refused with
the first column that is missing or holds what no sweep writes, rather
than drawn from in part or shown on a page that would misstate the
sweep. Each column the report reads is listed here with what it holds:
names (text), or numbers between bounds, filled in every row or not.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

__all__ = [
    "AGENT",
    "DURATION",
    "FANOUT",
    "OUTAGE",
    "POINT_COLUMNS",
    "TTL",
    "WORKERS",
    "check_points",
    "check_runs",
    "check_varied",
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


_NAME: Final = "names (text)"
_COUNT: Final = Numbers(low=0, whole=True)
_POSITIVE: Final = Numbers(low=0, above=True)

# every column of points.parquet the report reads: a name, or numbers
_POINTS: Final[dict[str, Numbers | str]] = {
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

# every column of runs.parquet the report reads, and the figures it
# reads of the runs that ran (empty in a failed run's row, absent when
# every run failed)
_RUNS: Final[dict[str, Numbers | str]] = {
    "point": _NAME,
    "replication": _COUNT,
    "seed": _COUNT,
    "status": _NAME,
    TTL: _POSITIVE,
    OUTAGE: Numbers(low=0),
}
_RUN_FIGURES: Final = {LAPSES: Numbers(low=0, filled=False)}


def check_points(points: pd.DataFrame) -> None:
    """Raise ``ValueError`` naming the first column of ``points`` the
    report cannot read, or a point with two rows of one metric."""
    _check("points.parquet", points, _POINTS)
    if points.duplicated(["point", "metric"]).any():
        raise ValueError("points.parquet: a point has two rows of one metric")


def check_runs(runs: pd.DataFrame, listed: list[str]) -> None:
    """Raise ``ValueError`` naming the first column of ``runs`` the
    report cannot read, or a run of a point not in ``listed``."""
    _check("runs.parquet", runs, _RUNS)
    if (runs["status"] == "ok").any():
        _check("runs.parquet", runs, _RUN_FIGURES)
    unlisted = sorted(set(runs["point"]) - set(listed))
    if unlisted:
        raise ValueError(
            f"runs.parquet: a run of point {unlisted[0]!r}, which "
            "manifest.json does not list"
        )


def check_varied(points: pd.DataFrame, columns: list[str]) -> None:
    """Raise ``ValueError`` when a column of ``columns`` (the keys the
    sweep varied and the other ``scenario.*`` columns) has empty values
    or numbers that are not finite."""
    for column in columns:
        values = points[column]
        named = column
        if not column.startswith("scenario."):
            named += " (a key the sweep varied)"
        if values.isna().any():
            raise ValueError(f"points.parquet: column {named} has empty values")
        numbers = pd.to_numeric(values, errors="coerce")
        if np.isinf(numbers).any():
            raise ValueError(
                f"points.parquet: column {named} must hold finite values"
            )


def _check(
    name: str, table: pd.DataFrame, columns: Mapping[str, Numbers | str]
) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{name}: no column {', '.join(missing)}")
    if table.empty:
        raise ValueError(f"{name}: no rows")
    for column, kind in columns.items():
        values = table[column]
        filled = isinstance(kind, str) or kind.filled
        if filled and values.isna().any():
            raise ValueError(f"{name}: column {column} has empty values")
        if isinstance(kind, str):
            named = values.map(lambda v: isinstance(v, str) and v != "")
            if not named.all():
                raise ValueError(f"{name}: column {column} must hold {kind}")
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
