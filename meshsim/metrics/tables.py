"""pandas tables of a run's records, one row per record."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from meshsim.clock import ACCEPTED_PAST_NOT_AFTER_S
from meshsim.metrics.records import (
    Columns,
    Recorder,
    TheftRecord,
)

__all__ = [
    "RunTables",
    "answered_csrs",
    "attack_windows",
    "build_tables",
    "received_csrs",
    "valid_when_taken",
]

# CSR outcomes that are no answer of the CA: an attempt during an outage,
# which reached none, and a CSR that reached it but was dropped with its
# pod or was still queued or being signed when the run ended.
UNREACHED = "unreachable"
NOT_ANSWERED = (UNREACHED, "cancelled", "unanswered")

WINDOW_COLUMNS = [
    "kind",
    "attack",
    "identity",
    "start_s",
    "end_s",
    "duration_s",
    "intercepted",
]


class RunTables:
    """The tables of one run: handshakes, CSRs, rotations, thefts and
    attack windows."""

    def __init__(self, recorder: Recorder) -> None:
        self.handshakes = _columns_frame(recorder.handshakes)
        self.csrs = _columns_frame(recorder.csrs)
        self.csrs["wait_s"] = self.csrs["started_s"] - self.csrs["submitted_s"]
        self.rotations = _columns_frame(recorder.rotations)
        self.thefts = _frame(TheftRecord, recorder.thefts)
        self.attack_windows = attack_windows(self.thefts, self.handshakes)

    def items(self) -> list[tuple[str, pd.DataFrame]]:
        """(name, table) for every table, in a fixed order."""
        return [
            ("handshakes", self.handshakes),
            ("csrs", self.csrs),
            ("rotations", self.rotations),
            ("thefts", self.thefts),
            ("attack_windows", self.attack_windows),
        ]


def build_tables(recorder: Recorder) -> RunTables:
    """Turn a run's records into tables."""
    return RunTables(recorder)


def received_csrs(csrs: pd.DataFrame) -> pd.DataFrame:
    """The rows of CSRs that reached the CA, answered or not."""
    return csrs[csrs["outcome"] != UNREACHED]


def answered_csrs(csrs: pd.DataFrame) -> pd.DataFrame:
    """The rows of CSRs the CA answered: signed or refused."""
    return csrs[~csrs["outcome"].isin(NOT_ANSWERED)]


def valid_when_taken(thefts: pd.DataFrame) -> pd.DataFrame:
    """The rows of certificates an attacker took while they were still
    accepted (by true time, through NotAfter + 0.999 s): a key whose
    certificate had expired exposes none."""
    accepted_until = thefts["not_after_s"] + ACCEPTED_PAST_NOT_AFTER_S
    return thefts[accepted_until > thefts["stolen_s"]]


def attack_windows(
    thefts: pd.DataFrame, handshakes: pd.DataFrame
) -> pd.DataFrame:
    """How long each compromise paid off, per identity.

    A theft's window (key theft, token theft, impersonation) runs from
    the first credential taken for an identity while still valid to the
    end of the latest NotAfter's second among them, when the last is
    refused (of no length when every one taken had expired); it counts
    the connections an on-path attacker intercepted presenting a chain
    of that identity taken by that attack. An on-path position's window
    runs from the first to the last span in which it read traffic of an
    identity.
    """
    rows: list[dict[str, Any]] = []
    read = handshakes[handshakes["intercepted"]]
    for (attack, kind, identity), group in thefts.groupby(
        ["attack", "kind", "spiffe_id"], sort=True
    ):
        usable = valid_when_taken(group)
        if len(usable):
            start = float(usable["stolen_s"].min())
            last = float(usable["not_after_s"].max())
            end = last + ACCEPTED_PAST_NOT_AFTER_S
        else:
            # every copy had expired when taken: it paid off for no time
            start = end = float(group["stolen_s"].min())
        used = read[
            (read["stolen_from"] == attack) & (read["server_id"] == identity)
        ]
        rows.append(_window(str(kind), attack, identity, start, end, used))
    for (attack, identity), group in read.groupby(
        ["attack", "server_id"], sort=True
    ):
        start = float(group["start_s"].min())
        end = float(group["end_s"].max())
        rows.append(_window("mitm", attack, identity, start, end, group))
    return pd.DataFrame(rows, columns=WINDOW_COLUMNS)


def _window(
    kind: str,
    attack: Any,
    identity: Any,
    start: float,
    end: float,
    used: pd.DataFrame,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "attack": int(attack),
        "identity": str(identity),
        "start_s": start,
        "end_s": end,
        "duration_s": end - start,
        "intercepted": int(used["count"].sum()),
    }


# Resolved once: pandas looks a dtype given by name up in its registry
# of extension types on every use (about a fifth of a small run's table
# building).
_DTYPES = {
    kind: pd.api.types.pandas_dtype(name)
    for kind, name in (
        ("float", "float64"),
        ("int", "int64"),
        ("bool", "bool"),
        ("str", "str"),
    )
}


def _type_name(annotation: object) -> str:
    """A field's type as its name: the annotation's text in a module run
    from source, the class itself in a compiled one."""
    if isinstance(annotation, str):
        return annotation
    return getattr(annotation, "__name__", str(annotation))


def _frame(record_type: type, records: list[Any]) -> pd.DataFrame:
    """A table with one typed column per field of ``record_type``."""
    columns = {f.name: _DTYPES[_type_name(f.type)] for f in fields(record_type)}
    values = [[getattr(r, n) for n in columns] for r in records]
    return pd.DataFrame(values, columns=list(columns)).astype(columns)


def _columns_frame(columns: Columns) -> pd.DataFrame:
    """A table with one typed column per column of ``columns``.

    Each column is made in its final type (numbers come as numpy views
    of the right type), so the table needs no ``astype``, whose
    per-column work was most of a small run's table building.
    """
    kinds = dict(columns.spec)
    data = {
        name: _typed(kinds[name], values)
        for name, values in columns.frame_data().items()
    }
    return pd.DataFrame(data, columns=list(kinds), copy=False)


def _typed(kind: str, values: Any) -> Any:
    """One column of ``kind``: text and flags converted, numbers as
    they come."""
    if kind == "str":
        return _text(values)
    if kind == "bool":
        return np.array(values, dtype=np.bool_)
    return values


def _text(values: list[str]) -> Any:
    """A ``str`` column of ``values``, converted by Arrow in one pass
    (for millions of values, about twice as fast as pandas' own
    conversion, which reaches the same type)."""
    return pd.array(pa.array(values, type=pa.string()), dtype=_DTYPES["str"])
