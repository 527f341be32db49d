"""The sweep's tables: one row per replication, and per-point statistics.

``runs`` has a row per (point, replication): the point's id, the seed,
the status and error, each varied key under its own name with the value
the run used (durations in seconds), ``scenario.*`` columns describing
the point in the terms the report plots (TTL, agent, workloads per
node...), and every number of the run's summary under its dotted path
(``ca.csr_total``, ``attack.key_theft_window_mean_s``), plus the figures
:func:`~meshsim.experiment.worker.derived_metrics` recomputes
(``credentials.lapses``, ``steady.ca.*``).

``points`` has a row per (point, metric) with ``n``, ``mean``, ``std``
and the half-width of the 95% confidence interval of the mean by
Student's t, over the point's successful replications.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from meshsim.experiment.plan import Point, Sweep
from meshsim.scenario import Scenario

__all__ = [
    "CONFIDENCE",
    "ID_COLUMNS",
    "ci_half_width",
    "machine_dependent",
    "metric_columns",
    "points_table",
    "runs_table",
    "scenario_columns",
]

CONFIDENCE: Final = 0.95

ID_COLUMNS: Final = (
    "point",
    "replication",
    "seed",
    "status",
    "error",
    "scenario_sha256",
)

# summary entries that are not measurements of the run
_NOT_METRICS: Final = {
    "name",
    "seed",
    "scenario_sha256",
    "meshsim_version",
    "duration_s",
    "certs",
}

_MACHINE: Final = re.compile(r"(^|\.)(wall_seconds|[a-z_]*cpu_s|bytes)$")
_TOKEN: Final = re.compile(r"[^.\[\]]+|\[([0-9]+)\]")
# the whole numbers a table column holds
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1


def machine_dependent(column: str) -> bool:
    """Whether a metric reflects this machine rather than the scenario
    and seed: wall and CPU seconds, and DER sizes (see README
    "Reproducibility")."""
    return bool(_MACHINE.search(column))


def scenario_columns(scenario: Scenario) -> dict[str, Any]:
    """What the report needs to know of a point's scenario.

    Fan-out is counted as workloads per node: under a node agent it sets
    how many identities one agent holds (``credentials.
    identities_per_agent`` measures that), under per-workload agents how
    many agents share a node.
    """
    outages = [o.duration for o in scenario.ca.outages]
    return {
        "scenario.duration_s": float(scenario.duration),
        "scenario.workload_ttl_s": float(scenario.pki.workload_ttl),
        "scenario.grace_ratio": float(scenario.pki.grace_ratio),
        "scenario.jitter": float(scenario.pki.jitter),
        "scenario.agent": str(scenario.mesh.agent),
        "scenario.nodes": int(scenario.mesh.nodes),
        "scenario.workloads": int(scenario.mesh.workloads),
        "scenario.workloads_per_node": (
            scenario.mesh.workloads / scenario.mesh.nodes
        ),
        "scenario.ca_workers": int(scenario.ca.workers),
        "scenario.longest_outage_s": float(max(outages, default=0.0)),
        "scenario.backoff_max_s": float(scenario.agent.backoff_max),
        "scenario.key_thefts": sum(
            1 for a in scenario.attacks if a.kind == "key-theft"
        ),
    }


def runs_table(
    sweep: Sweep, records: Iterable[Mapping[str, Any]]
) -> pd.DataFrame:
    """One row per stored replication, ordered by point and replication."""
    points = {p.id: p for p in sweep.points}
    rows: list[dict[str, Any]] = []
    metric_names: dict[str, None] = {}
    for record in records:
        point = points[record["point"]]
        metrics = _metrics(record)
        metric_names.update(dict.fromkeys(metrics))
        summary = record.get("summary") or {}
        rows.append(
            {
                "point": point.id,
                "replication": int(record["replication"]),
                "seed": int(record["seed"]),
                "status": str(record["status"]),
                "error": record.get("error"),
                "scenario_sha256": summary.get("scenario_sha256"),
                **_parameters(point, sweep.varied_keys),
                **scenario_columns(point.scenario),
                **metrics,
                "_order": point.index,
            }
        )

    columns = [
        *ID_COLUMNS,
        *sweep.varied_keys,
        *scenario_columns(sweep.points[0].scenario),
        *metric_names,
    ]
    table = pd.DataFrame(rows, columns=[*columns, "_order"])
    table = table.sort_values(["_order", "replication"], kind="stable")
    table = table.drop(columns="_order").reset_index(drop=True)
    for name in metric_names:
        table[name] = _numeric(table[name])
    for name in ("replication", "seed"):
        table[name] = table[name].astype("int64")
    return _text_columns(table)


def metric_columns(
    runs: pd.DataFrame, parameters: Sequence[str] = ()
) -> list[str]:
    """The columns of ``runs`` that hold measurements."""
    return [
        c
        for c in runs.columns
        if c not in ID_COLUMNS
        and c not in parameters
        and not c.startswith("scenario.")
    ]


def ci_half_width(values: Sequence[float] | np.ndarray) -> float:
    """Half-width of the 95% confidence interval of the mean of
    ``values`` by Student's t: ``t(0.975, n-1)*s/sqrt(n)``; NaN below two
    values. NaN values are left out."""
    data = np.asarray(values, dtype=float)
    data = data[~np.isnan(data)]
    n = len(data)
    if n < 2:
        return math.nan
    # Imported here: SciPy takes a third of a second to load, and only
    # the tables at a sweep's end need it, not the workers.
    from scipy import stats

    t = float(stats.t.ppf((1 + CONFIDENCE) / 2, n - 1))
    return t * float(data.std(ddof=1)) / math.sqrt(n)


def points_table(
    runs: pd.DataFrame, parameters: Sequence[str] = ()
) -> pd.DataFrame:
    """Per point and metric: ``n``, ``mean``, ``std``, ``ci95`` (the
    half-width), over the point's successful replications. ``failed``
    counts the point's failed replications."""
    describe = [
        c
        for c in runs.columns
        if c == "point" or c in parameters or c.startswith("scenario.")
    ]
    metrics = metric_columns(runs, parameters)
    rows = []
    for point, group in runs.groupby("point", sort=False):
        ok = group[group["status"] == "ok"]
        first = group.iloc[0]
        failed = int((group["status"] != "ok").sum())
        for metric in metrics:
            values = ok[metric].to_numpy(dtype=float, na_value=np.nan)
            present = values[~np.isnan(values)]
            n = len(present)
            rows.append(
                {
                    **{c: first[c] for c in describe},
                    "point": point,
                    "metric": metric,
                    "n": n,
                    "failed": failed,
                    "mean": float(present.mean()) if n else math.nan,
                    "std": float(present.std(ddof=1)) if n > 1 else math.nan,
                    "ci95": ci_half_width(present),
                }
            )
    columns = [*describe, "metric", "n", "failed", "mean", "std", "ci95"]
    return _text_columns(pd.DataFrame(rows, columns=columns))


def _metrics(record: Mapping[str, Any]) -> dict[str, Any]:
    """Every number of a record's summary and derived figures."""
    flat: dict[str, Any] = {}
    summary = record.get("summary") or {}
    _flatten(
        {k: v for k, v in summary.items() if k not in _NOT_METRICS}, "", flat
    )
    derived: dict[str, Any] = {}
    _flatten(record.get("derived") or {}, "", derived)
    clash = set(flat) & set(derived)
    if clash:
        raise ValueError(f"derived metrics repeat summary keys: {clash}")
    return flat | derived


def _flatten(
    data: Mapping[str, Any], prefix: str, into: dict[str, Any]
) -> None:
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            _flatten(value, f"{name}.", into)
        elif value is None or isinstance(value, float):
            into[name] = value
        elif isinstance(value, int) and not isinstance(value, bool):
            # a record edited by hand may hold more than a table column
            # holds: read as missing, as text is
            into[name] = value if _INT64_MIN <= value <= _INT64_MAX else None


def _numeric(column: pd.Series) -> pd.Series:
    """Whole numbers as nullable integers, anything else as floats."""
    present = [v for v in column if v is not None and not _is_nan(v)]
    if present and all(isinstance(v, int) for v in present):
        return column.astype("Int64")
    return column.astype("float64")


def _text_columns(table: pd.DataFrame) -> pd.DataFrame:
    """Columns of text (or missing values) as pandas' text dtype, the
    same as a Parquet file reads back."""
    for name in table.columns:
        column = table[name]
        if column.dtype == object and all(
            isinstance(v, str) or v is None or _is_nan(v) for v in column
        ):
            table[name] = column.astype("str")
    return table


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _parameters(point: Point, keys: Sequence[str]) -> dict[str, Any]:
    """Each varied key's value as the point's scenario resolved it."""
    data = point.scenario.model_dump(mode="python")
    values = {}
    for key in keys:
        value = _walk(data, key)
        if isinstance(value, list | tuple | dict):
            value = json.dumps(value, default=str, sort_keys=True)
        elif value is not None and not isinstance(value, int | float | str):
            value = str(value)
        values[key] = value
    return values


def _walk(data: Any, key: str) -> Any:
    node = data
    for match in _TOKEN.finditer(key):
        part: str | int = (
            int(match[1]) if match[1] is not None else match[0].strip()
        )
        if isinstance(part, str) and part.isdigit():
            part = int(part)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node
