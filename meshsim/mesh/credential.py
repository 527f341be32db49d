"""What an agent holds for one identity, and the trust bundle it checks with.

A :class:`Credential` keeps its private key in memory only; nothing in
meshsim writes, logs or pickles it.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from meshsim.clock import SimClock
from meshsim.identity import SpiffeId

__all__ = ["Credential", "TrustBundle"]

_ids = itertools.count()


@dataclass(slots=True, eq=False)
class Credential:
    """An X509-SVID chain (leaf first) with its private key.

    ``valid_from_s`` and ``valid_until_s`` bound, in simulated seconds, the
    times at which every certificate of the chain is within its validity
    period: from the latest NotBefore to the earliest NotAfter, inclusive.
    ``verdicts`` keeps what verifiers made of the chain, by trust bundle
    version and side of that window (see ``VerificationCache``), and
    ``checked`` when and with which roots the agent that obtained it
    checked it (``None`` for a chain no agent checked, such as loot).

    NOTE: not a frozen dataclass, though nothing changes a field once it
    is made: a frozen one sets each field through ``object.__setattr__``,
    which made building it four times slower, and runs build one per
    renewal. Freeze it again when a frozen dataclass is built as fast as
    a plain one.
    """

    spiffe_id: SpiffeId
    chain: tuple[Any, ...]
    key: Any = field(repr=False)
    valid_from_s: float
    valid_until_s: float
    not_before_s: float
    verdicts: dict[tuple[int, int], SpiffeId | str] = field(
        default_factory=dict, repr=False, compare=False
    )
    checked: tuple[float, tuple[Any, ...]] | None = field(
        default=None, repr=False, compare=False
    )

    @classmethod
    def from_chain(
        cls,
        spiffe_id: SpiffeId,
        chain: tuple[Any, ...],
        key: Any,
        clock: SimClock,
        checked: tuple[float, tuple[Any, ...]] | None = None,
    ) -> Credential:
        """Wrap a chain, reading its validity window from the certificates;
        ``checked`` is when and with which roots an agent checked it."""
        not_before = clock.to_seconds(chain[0].not_valid_before_utc)
        if len(chain) == 1:
            valid_from = not_before
            valid_until = clock.to_seconds(chain[0].not_valid_after_utc)
        else:
            valid_from = clock.to_seconds(
                max(c.not_valid_before_utc for c in chain)
            )
            valid_until = clock.to_seconds(
                min(c.not_valid_after_utc for c in chain)
            )
        return cls(
            spiffe_id,
            chain,
            key,
            valid_from,
            valid_until,
            not_before,
            checked=checked,
        )

    @property
    def leaf(self) -> Any:
        """The end-entity certificate."""
        return self.chain[0]

    @property
    def serial_hex(self) -> str:
        """The leaf's serial number in hex, as openssl prints it."""
        return format(self.leaf.serial_number, "X")

    @property
    def not_after_s(self) -> float:
        """The leaf's NotAfter in simulated seconds."""
        return self.valid_until_s


@dataclass(frozen=True, slots=True, eq=False)
class TrustBundle:
    """Root certificates per trust domain, with a version that changes
    whenever the roots do (so verification results can be cached)."""

    roots: Mapping[str, tuple[Any, ...]]
    version: int = field(default_factory=lambda: next(_ids))
