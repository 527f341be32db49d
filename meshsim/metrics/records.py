"""Records of what happened during a run.

Each record is an immutable row; :class:`Recorder` collects them and
:mod:`meshsim.metrics.tables` turns them into pandas tables.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

__all__ = [
    "CryptoMeter",
    "CsrRecord",
    "HandshakeSegment",
    "Recorder",
    "RotationRecord",
    "TheftRecord",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CsrRecord:
    """One CSR as the CA saw it (or failed to see it, when unreachable)."""

    submitted_s: float
    started_s: float
    finished_s: float
    agent: str
    spiffe_id: str
    outcome: str
    service_s: float
    csr_bytes: int
    chain_bytes: int

    @property
    def wait_s(self) -> float:
        """Time spent queued before a CA worker took the CSR."""
        return self.started_s - self.submitted_s


@dataclass(frozen=True, slots=True)
class RotationRecord:
    """A certificate an agent obtained and installed."""

    installed_s: float
    agent: str
    node: str
    spiffe_id: str
    serial_number: str
    not_before_s: float
    not_after_s: float
    renew_at_s: float
    attempts: int
    crypto_cpu_s: float
    bytes: int


@dataclass(frozen=True, slots=True)
class HandshakeSegment:
    """``count`` connections from one caller to one pod with one outcome.

    Within ``[start_s, end_s)`` nothing that decides the outcome changed,
    so every connection in it ended the same way; ``count`` is the number
    of connections the caller's Poisson process opened in that span.
    """

    start_s: float
    end_s: float
    caller: str
    caller_node: str
    server: str
    server_node: str
    service: str
    server_id: str
    outcome: str
    refused_by: str
    attack: int
    presented: str
    intercepted: bool
    stolen_from: int
    count: int


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

    def measure(self, operation: str, work: Callable[[], T]) -> tuple[T, float]:
        """Run ``work``; add its CPU time to ``operation``; return both."""
        begin = time.process_time()
        result = work()
        spent = time.process_time() - begin
        self.cpu_s[operation] += spent
        self.count[operation] += 1
        return result, spent

    @property
    def total_cpu_s(self) -> float:
        """CPU seconds over every operation."""
        return sum(self.cpu_s.values())


@dataclass
class Recorder:
    """Everything a run records, in the order it happened."""

    csrs: list[CsrRecord] = field(default_factory=list)
    rotations: list[RotationRecord] = field(default_factory=list)
    handshakes: list[HandshakeSegment] = field(default_factory=list)
    thefts: list[TheftRecord] = field(default_factory=list)
    crypto: CryptoMeter = field(default_factory=CryptoMeter)
