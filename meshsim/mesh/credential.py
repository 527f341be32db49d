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
from meshsim.pki.modeled import ModeledCertificate

__all__ = ["Credential", "TrustBundle"]

_ids = itertools.count()


class Credential:
    """An X509-SVID chain (leaf first) with its private key.

    ``valid_from_s`` and ``valid_until_s`` bound, in simulated seconds, the
    times at which every certificate of the chain is within its validity
    period: from the latest NotBefore to the earliest NotAfter, inclusive.
    ``verdicts`` keeps what verifiers made of the chain, by trust bundle
    version and side of that window (see ``VerificationCache``), and
    ``checked`` when and with which roots the agent that obtained it
    checked it (``None`` for a chain no agent checked, such as loot).

    Two credentials are equal only when they are the same object.

    NOTE: a plain class, not a frozen dataclass, though nothing changes a
    field once it is made: a frozen dataclass sets each field through
    ``object.__setattr__`` (four times slower to build here), and a
    dataclass's generated ``__init__`` stays Python in a compiled module,
    where this one runs natively; runs build one per renewal. Make it a
    frozen dataclass again when either stops being true.
    """

    __slots__ = (
        "chain",
        "checked",
        "key",
        "not_before_s",
        "spiffe_id",
        "valid_from_s",
        "valid_until_s",
        "verdicts",
    )

    def __init__(
        self,
        spiffe_id: SpiffeId,
        chain: tuple[Any, ...],
        key: Any,
        valid_from_s: float,
        valid_until_s: float,
        not_before_s: float,
        checked: tuple[float, tuple[Any, ...]] | None = None,
    ) -> None:
        self.spiffe_id = spiffe_id
        self.chain = chain
        self.key = key
        self.valid_from_s = valid_from_s
        self.valid_until_s = valid_until_s
        self.not_before_s = not_before_s
        self.verdicts: dict[tuple[int, int], SpiffeId | str] = {}
        self.checked = checked

    def __repr__(self) -> str:
        # The key stays out of it, as it stays out of everything written.
        return (
            f"Credential({self.spiffe_id}, serial {self.serial_hex}, "
            f"valid {self.valid_from_s:g}s to {self.valid_until_s:g}s)"
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
        leaf = chain[0]
        if isinstance(leaf, ModeledCertificate):
            return cls._from_modeled(spiffe_id, chain, key, clock, checked)
        not_before = clock.to_seconds(leaf.not_valid_before_utc)
        if len(chain) == 1:
            valid_from = not_before
            valid_until = clock.to_seconds(leaf.not_valid_after_utc)
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

    @classmethod
    def _from_modeled(
        cls,
        spiffe_id: SpiffeId,
        chain: tuple[ModeledCertificate, ...],
        key: Any,
        clock: SimClock,
        checked: tuple[float, tuple[Any, ...]] | None,
    ) -> Credential:
        """:meth:`from_chain` for modeled certificates, whose dates are
        microseconds rather than datetimes."""
        leaf = chain[0]
        begins, ends = leaf.not_before_us, leaf.not_after_us
        for certificate in chain[1:]:
            begins = max(begins, certificate.not_before_us)
            ends = min(ends, certificate.not_after_us)
        return cls(
            spiffe_id,
            chain,
            key,
            clock.posix_us_to_seconds(begins),
            clock.posix_us_to_seconds(ends),
            clock.posix_us_to_seconds(leaf.not_before_us),
            checked,
        )

    @property
    def leaf(self) -> Any:
        """The end-entity certificate."""
        return self.chain[0]

    @property
    def serial_hex(self) -> str:
        """The leaf's serial number in hex, as openssl prints it."""
        # Serial numbers are positive; hex() is the cheapest way to write
        # one (a renewal writes one).
        serial: int = self.leaf.serial_number
        return hex(serial)[2:].upper()

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
