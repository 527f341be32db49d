"""Certificates as their fields alone, for runs too large for real crypto.

With ``pki.crypto: modeled`` meshsim builds no certificate: a
:class:`ModeledCertificate` carries what verification reads (validity,
CA flag, SPIFFE ID, which key signed it and which key it holds), and
:func:`verify_modeled` decides as :func:`~meshsim.pki.svid.verify_svid`
does, in the same order and with the same reasons: bundle presence, then
validity periods, then whether the chain's signing keys lead to a root of
the bundle. Signatures cannot be wrong here, and every SVID meshsim or an
attacker makes follows the X509-SVID rules, so structural checks pass by
construction.

Dates are integer microseconds since the Unix epoch (whole seconds, as
X.509 writes them), compared as integers; ``not_valid_before_utc`` and
``not_valid_after_utc`` give them as datetimes, as a real certificate
does.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from meshsim.identity import SpiffeId
from meshsim.pki.authority import CsrRefusedError
from meshsim.pki.der import (
    GENERALIZED_FROM_US,
    MICROSECOND,
    dated_growth_us,
    from_posix_us,
    posix_us,
    resized_tlv,
    whole_second_us,
)
from meshsim.pki.svid import SvidError

__all__ = [
    "ModeledAuthority",
    "ModeledCertificate",
    "ModeledCsr",
    "ModeledKey",
    "modeled_root",
    "verify_modeled",
]

_key_ids = itertools.count(1)


# Keys, CSRs and certificates are plain classes whose fields are set
# once (``Final``: neither mypy nor the compiled module lets them be set
# again) and compared by value. A large run makes millions of each: in a
# compiled module such a class is built and read natively, several
# times faster than a named tuple or a frozen dataclass.


class ModeledKey:
    """A key pair, known by a number; it signs nothing real."""

    __slots__ = ("algorithm", "key_id")

    def __init__(self, algorithm: str, key_id: int) -> None:
        self.algorithm: Final = algorithm
        self.key_id: Final = key_id

    @classmethod
    def generate(cls, algorithm: str) -> ModeledKey:
        """A new key, numbered after every key made before it."""
        return cls(algorithm, next(_key_ids))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ModeledKey):
            return NotImplemented
        return (self.algorithm, self.key_id) == (other.algorithm, other.key_id)

    def __hash__(self) -> int:
        return hash((self.algorithm, self.key_id))

    def __repr__(self) -> str:
        return f"ModeledKey({self.algorithm!r}, key_id={self.key_id})"


class ModeledCsr:
    """A CSR: the key it proves and the SPIFFE ID it asks for."""

    __slots__ = ("key", "size", "spiffe_id")

    def __init__(self, key: ModeledKey, spiffe_id: SpiffeId, size: int) -> None:
        self.key: Final = key
        self.spiffe_id: Final = spiffe_id
        self.size: Final = size

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ModeledCsr):
            return NotImplemented
        return (self.key, self.spiffe_id, self.size) == (
            other.key,
            other.spiffe_id,
            other.size,
        )

    def __hash__(self) -> int:
        return hash((self.key, self.spiffe_id, self.size))

    def __repr__(self) -> str:
        return f"ModeledCsr({self.key!r}, {self.spiffe_id}, size={self.size})"


class ModeledCertificate:
    """The fields of a certificate that verification reads; its dates in
    microseconds since the Unix epoch."""

    __slots__ = (
        "is_ca",
        "issuer_key_id",
        "key_id",
        "not_after_us",
        "not_before_us",
        "serial_number",
        "size",
        "spiffe_id",
    )

    def __init__(
        self,
        serial_number: int,
        key_id: int,
        issuer_key_id: int,
        not_before_us: int,
        not_after_us: int,
        is_ca: bool,
        spiffe_id: SpiffeId | None,
        size: int,
    ) -> None:
        self.serial_number: Final = serial_number
        self.key_id: Final = key_id
        self.issuer_key_id: Final = issuer_key_id
        self.not_before_us: Final = not_before_us
        self.not_after_us: Final = not_after_us
        self.is_ca: Final = is_ca
        self.spiffe_id: Final = spiffe_id
        self.size: Final = size

    def _fields(self) -> tuple[Any, ...]:
        return (
            self.serial_number,
            self.key_id,
            self.issuer_key_id,
            self.not_before_us,
            self.not_after_us,
            self.is_ca,
            self.spiffe_id,
            self.size,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ModeledCertificate):
            return NotImplemented
        return self is other or self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return (
            f"ModeledCertificate(serial_number={self.serial_number}, "
            f"key_id={self.key_id}, issuer_key_id={self.issuer_key_id}, "
            f"not_before_us={self.not_before_us}, "
            f"not_after_us={self.not_after_us}, is_ca={self.is_ca}, "
            f"spiffe_id={self.spiffe_id}, size={self.size})"
        )

    @property
    def self_signed(self) -> bool:
        """Signed by its own key."""
        return self.key_id == self.issuer_key_id

    @property
    def not_valid_before_utc(self) -> datetime:
        """NotBefore, as a real certificate gives it."""
        return from_posix_us(self.not_before_us)

    @property
    def not_valid_after_utc(self) -> datetime:
        """NotAfter, as a real certificate gives it."""
        return from_posix_us(self.not_after_us)


def modeled_root(
    key: ModeledKey,
    not_before: datetime,
    not_after: datetime,
    serial_number: int,
    size: int,
) -> ModeledCertificate:
    """A self-signed CA certificate for ``key``; ``size`` is its DER size
    with dates before 2050."""
    begins, ends = posix_us(not_before), posix_us(not_after)
    return ModeledCertificate(
        serial_number=serial_number,
        key_id=key.key_id,
        issuer_key_id=key.key_id,
        not_before_us=begins,
        not_after_us=ends,
        is_ca=True,
        spiffe_id=None,
        size=_dated(size, begins, ends),
    )


@dataclass(frozen=True, slots=True)
class ModeledAuthority:
    """A signing key with its certificate and the chain above it, as
    :class:`~meshsim.pki.authority.CertificateAuthority` has them."""

    key: ModeledKey
    chain: tuple[ModeledCertificate, ...]
    max_workload_ttl: timedelta
    # Read on every signature, so worked out once: when the chain's
    # first certificate expires, the longest TTL in microseconds, and the
    # CAs a leaf's chain carries.
    not_after_us: int = field(init=False, repr=False, compare=False)
    max_workload_ttl_us: int = field(init=False, repr=False, compare=False)
    intermediates: tuple[ModeledCertificate, ...] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        ceiling = min(c.not_after_us for c in self.chain)
        below_root = tuple(c for c in self.chain if not c.self_signed)
        longest = self.max_workload_ttl // MICROSECOND
        object.__setattr__(self, "not_after_us", ceiling)
        object.__setattr__(self, "max_workload_ttl_us", longest)
        object.__setattr__(self, "intermediates", below_root)

    @property
    def certificate(self) -> ModeledCertificate:
        """The signing certificate."""
        return self.chain[0]

    @property
    def root(self) -> ModeledCertificate:
        """The trust anchor this CA chains to."""
        return self.chain[-1]

    def issue_intermediate(
        self,
        key: ModeledKey,
        not_before: datetime,
        not_after: datetime,
        serial_number: int,
        size: int,
    ) -> ModeledAuthority:
        """A CA one level below, clamped to this CA's chain; ``size`` is
        its DER size with dates before 2050."""
        begins = posix_us(not_before)
        ends = min(posix_us(not_after), self.not_after_us)
        certificate = ModeledCertificate(
            serial_number=serial_number,
            key_id=key.key_id,
            issuer_key_id=self.key.key_id,
            not_before_us=begins,
            not_after_us=ends,
            is_ca=True,
            spiffe_id=None,
            size=_dated(size, begins, ends),
        )
        return ModeledAuthority(
            key, (certificate, *self.chain), self.max_workload_ttl
        )

    def sign_workload(
        self,
        csr: ModeledCsr,
        spiffe_id: SpiffeId,
        now_us: int,
        ttl_us: int,
        backdate_us: int,
        serial_number: int,
        allowance_us: int,
        size: int,
    ) -> tuple[ModeledCertificate, ...]:
        """The leaf the real CA would sign at ``now_us``, refused for the
        same reasons (except a bad CSR signature, which cannot happen
        here); times and spans in microseconds, ``size`` its DER size
        with dates before 2050."""
        if ttl_us > self.max_workload_ttl_us:
            raise CsrRefusedError(
                "ttl-too-long",
                f"ttl: {ttl_us / 1e6:g}s exceeds max_workload_ttl",
            )
        signer_not_after = self.not_after_us
        if now_us > signer_not_after:
            expired = from_posix_us(signer_not_after)
            raise CsrRefusedError(
                "signer-expired", f"signer expired at {expired.isoformat()}"
            )
        if csr.spiffe_id != spiffe_id:
            raise CsrRefusedError(
                "identity-mismatch",
                f"CSR asks for {str(csr.spiffe_id)!r}; caller is "
                f"{str(spiffe_id)!r}",
            )
        not_before = whole_second_us(now_us - backdate_us)
        not_after = min(
            whole_second_us(now_us + ttl_us + allowance_us), signer_not_after
        )
        leaf = ModeledCertificate(
            serial_number,
            csr.key.key_id,
            self.key.key_id,
            not_before,
            not_after,
            False,
            spiffe_id,
            _dated(size, not_before, not_after),
        )
        return (leaf, *self.intermediates)


def _dated(size: int, not_before_us: int, not_after_us: int) -> int:
    """``size``, the DER size of a certificate with dates before 2050,
    with its dates as they are (two bytes more for each from 2050 on,
    written as a GeneralizedTime)."""
    # Called for every modeled leaf: most are dated before 2050.
    if not_after_us < GENERALIZED_FROM_US:
        return size
    return resized_tlv(size, dated_growth_us(not_before_us, not_after_us))


def verify_modeled(
    presented: Sequence[ModeledCertificate],
    bundles: Mapping[str, Sequence[ModeledCertificate]],
    at_us: int,
) -> SpiffeId:
    """Decide as :func:`~meshsim.pki.svid.verify_svid` would on the
    ``presented`` chain at ``at_us`` (microseconds since the Unix
    epoch)."""
    when = whole_second_us(at_us)
    # A tuple, which the compiled module indexes natively (chains are
    # tuples already: this copies nothing).
    chain: tuple[ModeledCertificate, ...] = tuple(presented)
    if not chain or chain[0].spiffe_id is None:
        raise SvidError("chain: no leaf", reason="empty-chain", kind="empty")
    leaf = chain[0]
    spiffe_id = leaf.spiffe_id
    assert spiffe_id is not None
    roots = bundles.get(spiffe_id.trust_domain, ())
    if not roots:
        raise SvidError(
            f"no bundle for trust domain {spiffe_id.trust_domain!r}",
            reason="unknown-authority",
            kind="no_bundle_for_trust_domain",
        )

    # Validity periods of the presented certificates.
    for cert in chain:
        if when < cert.not_before_us:
            raise SvidError(
                "certificate is not yet valid",
                reason="not-yet-valid",
                kind="not_yet_valid",
            )
        if when > cert.not_after_us:
            raise SvidError(
                "certificate expired", reason="expired", kind="expired"
            )

    # Each certificate must be signed by the next, the last by a root.
    for index in range(1, len(chain)):
        if chain[index - 1].issuer_key_id != chain[index].key_id:
            raise SvidError(
                "chain is broken",
                reason="unknown-authority",
                kind="unknown_authority",
            )
    issuer = chain[-1].issuer_key_id
    anchored = False
    for root in roots:
        if root.key_id == issuer:
            if root.not_before_us <= when <= root.not_after_us:
                return spiffe_id
            anchored = True
    if not anchored:
        raise SvidError(
            "no root of the bundle signed this chain",
            reason="unknown-authority",
            kind="unknown_authority",
        )
    raise SvidError("root expired", reason="expired", kind="expired")
