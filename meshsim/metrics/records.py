"""Records of what happened during a run.

CSRs and rotations, one or more per renewal, and spans of connections
are kept column by column as they happen (:class:`Columns`): numbers in
typed arrays of 8 bytes a value, text and flags as references to
objects the run already holds, so a large run keeps no object per row
for the collector to walk. Thefts, a few per attack, are immutable
rows.
:class:`Recorder` collects them all and :mod:`meshsim.metrics.tables`
turns them into pandas tables.
"""

from __future__ import annotations

import functools
import struct
from array import array
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

__all__ = [
    "CSR_COLUMNS",
    "HANDSHAKE_COLUMNS",
    "ROTATION_COLUMNS",
    "Columns",
    "CryptoMeter",
    "Recorder",
    "TheftRecord",
]


# One CSR as the CA saw it (or failed to see it, when unreachable).
CSR_COLUMNS = (
    ("submitted_s", "float"),
    ("started_s", "float"),
    ("finished_s", "float"),
    ("agent", "str"),
    ("spiffe_id", "str"),
    ("outcome", "str"),
    ("service_s", "float"),
    ("csr_bytes", "int"),
    ("chain_bytes", "int"),
)

# A certificate an agent obtained and installed.
ROTATION_COLUMNS = (
    ("installed_s", "float"),
    ("agent", "str"),
    ("node", "str"),
    ("spiffe_id", "str"),
    ("serial_number", "str"),
    ("not_before_s", "float"),
    ("not_after_s", "float"),
    ("renew_at_s", "float"),
    ("attempts", "int"),
    ("crypto_cpu_s", "float"),
    ("bytes", "int"),
)

# ``count`` connections from one caller to one pod (or ``*`` for many),
# all with one outcome: within ``[start_s, end_s)`` nothing that decides
# the outcome changed, and ``count`` is the number of connections the
# callers' Poisson processes opened in that span. The last six fields
# before ``count`` are those of a ``mesh.handshake.Decision``.
HANDSHAKE_COLUMNS = (
    ("start_s", "float"),
    ("end_s", "float"),
    ("caller", "str"),
    ("caller_node", "str"),
    ("server", "str"),
    ("server_node", "str"),
    ("service", "str"),
    ("server_id", "str"),
    ("outcome", "str"),
    ("refused_by", "str"),
    ("attack", "int"),
    ("presented", "str"),
    ("intercepted", "bool"),
    ("stolen_from", "int"),
    ("count", "int"),
)

# Array type codes of the numeric kinds (others are kept in lists).
_TYPECODES = {"float": "d", "int": "q"}

# Rows kept as tuples before they move into the columns.
_BATCH: Final = 4096


class Columns:
    """Rows of one kind, stored as one column per field.

    ``add`` takes a row's values in the order of ``spec``; ``frame_data``
    gives each column as a numpy view of its numbers, or a list of its
    other values (text, flags).
    Rows are added while the run goes and read once it has ended. New
    rows wait as tuples and move into the columns ``_BATCH`` at a time:
    one C-level extend per column costs far less than an append per
    value. Numbers are packed into the arrays' bytes with :mod:`struct`,
    which takes the same values an array does (``float`` and ``int``
    for floats, ``int`` for integers, and what converts to them) at a
    sixth of the cost of ``array.extend``.
    """

    def __init__(self, spec: tuple[tuple[str, str], ...]) -> None:
        self.spec = spec
        self._columns: list[Any] = [
            array(_TYPECODES[kind]) if kind in _TYPECODES else []
            for _, kind in spec
        ]
        self._width = len(spec)
        self._pending: list[tuple[Any, ...]] = []

    def add(self, *row: Any) -> None:
        """Append one row (as many values as columns, in their order)."""
        if len(row) != self._width:
            raise ValueError(
                f"row of {len(row)} values for {self._width} "
                f"columns ({', '.join(name for name, _ in self.spec)})"
            )
        pending = self._pending
        pending.append(row)
        if len(pending) >= _BATCH:
            self._flush()

    def __len__(self) -> int:
        return len(self._columns[0]) + len(self._pending)

    def frame_data(self) -> dict[str, Any]:
        """Every column by name, ready for ``pandas.DataFrame``."""
        self._flush()
        return {
            name: _exported(column)
            for (name, _), column in zip(self.spec, self._columns, strict=True)
        }

    def _flush(self) -> None:
        """Move the pending rows into the columns, all or none of them."""
        if not self._pending:
            return
        kept = len(self._columns[0])
        values = zip(*self._pending, strict=True)
        for index, column_values in enumerate(values):
            column = self._columns[index]
            try:
                if isinstance(column, array):
                    packer = _packer(column.typecode, len(column_values))
                    column.frombytes(packer.pack(*column_values))
                else:
                    column.extend(column_values)
            except (TypeError, struct.error):
                for moved in self._columns:
                    del moved[kept:]
                raise self._misfit(index) from None
        self._pending = []

    def _misfit(self, index: int) -> TypeError:
        """The error for a pending value column ``index`` cannot hold."""
        name, kind = self.spec[index]
        probe = array(_TYPECODES[kind])
        for row in self._pending:
            try:
                probe.append(row[index])
            except TypeError:
                return TypeError(f"{name}: expected {kind}, got {row[index]!r}")
        return TypeError(f"{name}: expected {kind} values")


@functools.cache
def _packer(typecode: str, count: int) -> struct.Struct:
    """Packs ``count`` numbers as an array of ``typecode`` holds them
    (this machine's byte order and sizes)."""
    return struct.Struct(f"@{count}{typecode}")


def _exported(column: Any) -> Any:
    # A view, not a copy: a large run's tables would otherwise hold every
    # number twice. (An array cannot grow while a view of it exists.)
    if isinstance(column, array):
        dtype = np.float64 if column.typecode == "d" else np.int64
        return np.frombuffer(column, dtype=dtype)
    return column


@dataclass(frozen=True, slots=True)
class TheftRecord:
    """A credential copied by an attacker."""

    attack: int
    kind: str
    stolen_s: float
    spiffe_id: str
    serial_number: str
    not_after_s: float
    holder: str


@dataclass
class CryptoMeter:
    """CPU seconds and counts of real crypto operations, by operation."""

    cpu_s: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    count: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, operation: str, spent: float) -> float:
        """Count one ``operation`` that took ``spent`` CPU seconds; return
        ``spent``."""
        self.cpu_s[operation] += spent
        self.count[operation] += 1
        return spent

    @property
    def total_cpu_s(self) -> float:
        """CPU seconds over every operation."""
        return sum(self.cpu_s.values())


@dataclass
class Recorder:
    """Everything a run records, in the order it happened."""

    csrs: Columns = field(default_factory=lambda: Columns(CSR_COLUMNS))
    rotations: Columns = field(
        default_factory=lambda: Columns(ROTATION_COLUMNS)
    )
    handshakes: Columns = field(
        default_factory=lambda: Columns(HANDSHAKE_COLUMNS)
    )
    thefts: list[TheftRecord] = field(default_factory=list)
    crypto: CryptoMeter = field(default_factory=CryptoMeter)
    deleted_s: dict[str, float] = field(default_factory=dict)
    """When each churned pod was deleted, by its agent's name."""
