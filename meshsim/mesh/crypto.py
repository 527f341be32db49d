"""Real or modeled crypto, behind one face for the mesh's processes.

:class:`Crypto` is what agents, the CA and attackers call to make keys,
CSRs and certificates and to verify chains. With ``real`` every object is
a real one from :mod:`meshsim.pki` and every cost is measured; with
``modeled`` objects are :mod:`meshsim.pki.modeled` field records and each
cost and size is drawn from a calibration of real operations on this
machine. Both make the same decisions for the same fields.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, TypeAlias, TypeVar

import numpy as np
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from meshsim.clock import SimClock
from meshsim.identity import SCHEME_PREFIX, SpiffeId
from meshsim.metrics.records import CryptoMeter
from meshsim.pki.authority import (
    CertificateAuthority,
    leaf_builder,
    self_signed_root,
)
from meshsim.pki.calibration import Calibration, calibrate
from meshsim.pki.csr import build_csr
from meshsim.pki.der import (
    MICROSECOND,
    dated_growth_us,
    posix_us,
    resized_tlv,
)
from meshsim.pki.keys import generate_key, signature_hash
from meshsim.pki.modeled import (
    ModeledAuthority,
    ModeledCertificate,
    ModeledCsr,
    ModeledKey,
    modeled_root,
    verify_modeled,
)
from meshsim.pki.svid import verify_svid

__all__ = ["MODES", "AnyCertificate", "Authority", "Crypto"]

MODES = ("real", "modeled")

AnyCertificate: TypeAlias = x509.Certificate | ModeledCertificate
Authority: TypeAlias = CertificateAuthority | ModeledAuthority
T = TypeVar("T")

# Samples drawn per numpy call.
_PICK_BLOCK: Final = 4096

# Which calibrated operation stands for each operation a run records.
_CALIBRATED = {
    "keygen": "keygen",
    "ca-keygen": "keygen",
    "csr-sign": "csr-sign",
    "ca-sign": "ca-sign",
    # NOTE: a CSR asking for another identity is refused after its
    # signature is checked, which costs more than the refusals measured
    # (an expired signer); only attacks send such CSRs.
    "ca-refuse": "ca-refuse",
    "verify-issued": "verify",
    "verify-chain": "verify",
    "attacker-forge": "ca-sign",
}


class Crypto:
    """Keys, CSRs, certificates and verification, real or modeled."""

    def __init__(
        self,
        mode: str,
        meter: CryptoMeter,
        rng: np.random.Generator,
        algorithm: str,
        trust_domain: str,
        clock: SimClock,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"pki.crypto: {mode!r} is not one of {MODES}")
        self.modeled = mode == "modeled"
        self.meter = meter
        self.clock = clock
        self.rng = rng
        self.calibration: Calibration | None = (
            calibrate(algorithm, trust_domain) if self.modeled else None
        )
        self._drawn: dict[str, list[Any]] = {}
        # What a SPIFFE ID's two parts add to the calibrated ID's length,
        # and what an intermediate's name adds to a leaf.
        self._id_change = self._below_intermediate = 0
        if self.calibration is not None:
            self._id_change = (
                len(SCHEME_PREFIX) - self.calibration.spiffe_id_bytes
            )
            self._below_intermediate = self.calibration.below_intermediate
        self._booked: set[str] = set()
        self._resized: dict[tuple[int, int], int] = {}
        self._microseconds: dict[timedelta, int] = {}

    def verify(
        self,
        chain: Sequence[Any],
        roots: Mapping[str, Sequence[Any]],
        at_s: float,
    ) -> SpiffeId:
        """The chain's SPIFFE ID at simulated second ``at_s``, or
        ``SvidError`` with the reason."""
        if self.modeled:
            return verify_modeled(chain, roots, self.clock.to_posix_us(at_s))
        return verify_svid(chain, roots, self.clock.to_datetime(at_s))

    def measure(
        self, operation: str, work: Callable[..., T], *args: Any
    ) -> tuple[T, float]:
        """Run ``work(*args)`` and charge ``operation``'s CPU time:
        measured when real, drawn from the calibration when modeled."""
        began = self.began()
        result = work(*args)
        return result, self.charged(operation, began)

    def began(self) -> float:
        """Where this process's CPU clock stands as work begins, for
        :meth:`charged` once it is done (0 when modeled: nothing is
        timed).

        :meth:`measure` is the pair around a call; calling the two
        spares a hot path its generic call of ``work``.
        """
        return 0.0 if self.modeled else time.process_time()

    def charged(self, operation: str, began: float) -> float:
        """Charge ``operation`` for the work done since :meth:`began`
        gave ``began``: its CPU time measured when real, drawn from the
        calibration when modeled."""
        if self.calibration is None:
            return self.meter.add(operation, time.process_time() - began)
        return self._charge(operation)

    def repeated(self, operation: str) -> float:
        """Charge a modeled ``operation`` whose result is already known,
        made before on the same inputs; its CPU time, drawn."""
        assert self.calibration is not None
        return self._charge(operation)

    def key_and_csr(
        self, algorithm: str, spiffe_id: SpiffeId
    ) -> tuple[Any, Any, int, float]:
        """A fresh key and a CSR for ``spiffe_id`` made with it: the key,
        the CSR, its DER size and the CPU time of both, charged as a
        ``keygen`` and a ``csr-sign``."""
        if self.calibration is None:
            key, spent_key = self.measure("keygen", self.new_key, algorithm)
            (csr, size), spent_csr = self.measure(
                "csr-sign", self.csr, key, spiffe_id
            )
            return key, csr, size, spent_key + spent_csr
        spent_key = self._charge("keygen")
        modeled = ModeledKey.generate(algorithm)
        size = self._carrying(spiffe_id, "csr")
        spent = spent_key + self._charge("csr-sign")
        return modeled, ModeledCsr(modeled, spiffe_id, size), size, spent

    def new_key(self, algorithm: str) -> Any:
        """A fresh key pair (uncharged; wrap in :meth:`measure`)."""
        if self.modeled:
            return ModeledKey.generate(algorithm)
        return generate_key(algorithm)

    def csr(self, key: Any, spiffe_id: SpiffeId) -> tuple[Any, int]:
        """A CSR for ``spiffe_id`` and its DER size."""
        if isinstance(key, ModeledKey):
            size = self._carrying(spiffe_id, "csr")
            return ModeledCsr(key, spiffe_id, size), size
        der = build_csr(key, spiffe_id).public_bytes(Encoding.DER)
        return der, len(der)

    def root(
        self,
        key: Any,
        trust_domain: str,
        not_before: datetime,
        not_after: datetime,
        serial_number: int,
    ) -> AnyCertificate:
        """A self-signed root for ``key``."""
        if isinstance(key, ModeledKey):
            return modeled_root(
                key, not_before, not_after, serial_number, self._size("ca")
            )
        return self_signed_root(
            key, trust_domain, not_before, not_after, serial_number
        )

    def authority(
        self, key: Any, root: AnyCertificate, max_ttl: timedelta
    ) -> Authority:
        """A root CA from its key and certificate."""
        if isinstance(root, ModeledCertificate):
            return ModeledAuthority(key, (root,), max_ttl)
        return CertificateAuthority(key, (root,), max_ttl)

    def intermediate(
        self,
        parent: Authority,
        key: Any,
        not_before: datetime,
        not_after: datetime,
        serial_number: int,
        name: str,
    ) -> Authority:
        """A CA below ``parent`` for ``key``."""
        if isinstance(parent, ModeledAuthority):
            return parent.issue_intermediate(
                key,
                not_before,
                not_after,
                serial_number,
                self._size("intermediate"),
            )
        return parent.issue_intermediate(
            key, not_before, not_after, serial_number, name
        )

    def sign_workload(
        self,
        signer: Authority,
        csr: Any,
        spiffe_id: SpiffeId,
        now_s: float,
        ttl: timedelta,
        backdate: timedelta,
        serial_number: int,
        allowance: timedelta,
    ) -> tuple[AnyCertificate, ...]:
        """Parse, check and sign a CSR at simulated second ``now_s``
        (raises ``CsrRefusedError``)."""
        if isinstance(signer, ModeledAuthority):
            extra = self._below_intermediate if signer.intermediates else 0
            size = self._carrying(spiffe_id, "leaf", extra)
            return signer.sign_workload(
                csr,
                spiffe_id,
                self.clock.to_posix_us(now_s),
                self._in_microseconds(ttl),
                self._in_microseconds(backdate),
                serial_number,
                self._in_microseconds(allowance),
                size,
            )
        parsed = x509.load_der_x509_csr(csr)
        now = self.clock.to_datetime(now_s)
        return signer.sign_workload(
            parsed, spiffe_id, now, ttl, backdate, serial_number, allowance
        )

    def _in_microseconds(self, span: timedelta) -> int:
        """``span`` in whole microseconds (a run has few distinct spans:
        each is worked out once)."""
        known = self._microseconds.get(span)
        if known is None:
            known = self._microseconds[span] = span // MICROSECOND
        return known

    def forge(
        self,
        key: Any,
        spiffe_id: SpiffeId,
        issuer: Authority | None,
        not_before: datetime,
        not_after: datetime,
        serial_number: int,
    ) -> tuple[AnyCertificate, ...]:
        """An attacker's leaf for ``spiffe_id``: self-signed, or signed by
        ``issuer`` (its own CA)."""
        if isinstance(key, ModeledKey):
            issuer_key = (
                issuer.key.key_id
                if isinstance(issuer, ModeledAuthority)
                else key.key_id
            )
            begins, ends = posix_us(not_before), posix_us(not_after)
            forged = ModeledCertificate(
                serial_number=serial_number,
                key_id=key.key_id,
                issuer_key_id=issuer_key,
                not_before_us=begins,
                not_after_us=ends,
                is_ca=False,
                spiffe_id=spiffe_id,
                # NOTE: sized as a leaf the CA signs; a forged leaf's
                # issuer name may differ by a few bytes.
                size=self._carrying(
                    spiffe_id, "leaf", dated_growth_us(begins, ends)
                ),
            )
            return (forged,)
        if isinstance(issuer, CertificateAuthority):
            signer = issuer.key
            builder = leaf_builder(
                key.public_key(),
                spiffe_id,
                issuer.certificate.subject,
                issuer.certificate.extensions.get_extension_for_class(
                    x509.SubjectKeyIdentifier
                ).value,
            )
        else:
            signer = key
            builder = leaf_builder(
                key.public_key(), spiffe_id, x509.Name([]), None
            )
        leaf = (
            builder.serial_number(serial_number)
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .sign(signer, signature_hash(signer))
        )
        return (leaf,)

    def size(self, chain: Sequence[AnyCertificate]) -> int:
        """DER bytes of a chain."""
        # A loop, not sum() of a generator: a compiled module makes the
        # generator an object (one chain is sized per CSR).
        total = 0
        for c in chain:
            if isinstance(c, ModeledCertificate):
                total += c.size
            else:
                total += len(c.public_bytes(Encoding.DER))
        return total

    def _carrying(self, spiffe_id: SpiffeId, kind: str, extra: int = 0) -> int:
        """A drawn DER size of a ``csr`` or ``leaf`` that carries
        ``spiffe_id`` (once, as its URI SAN) instead of the calibrated one
        and ``extra`` bytes more (an intermediate's longer name as issuer,
        dates from 2050 on).

        NOTE: only the outer element's length field is worked out again;
        an inner one whose contents the change takes across 128 or 256
        bytes would add or remove a byte more. The calibration is made in
        the run's trust domain, so the change is a few characters of path.
        """
        change = (
            self._id_change
            + len(spiffe_id.trust_domain)
            + len(spiffe_id.path)
            + extra
        )
        size = self._size(kind)

        # A run draws few distinct sizes and changes: each pair is
        # worked out once.
        key = (size, change)
        resized = self._resized.get(key)
        if resized is None:
            resized = self._resized[key] = resized_tlv(size, change)
        return resized

    def _size(self, kind: str) -> int:
        """A modeled object's DER size, drawn."""
        drawn = self._drawn.get(kind)
        if not drawn:
            assert self.calibration is not None
            drawn = self._refill(kind, self.calibration.sizes[kind])
        size: int = drawn.pop()
        return size

    def settle(self) -> None:
        """Take back from the meter the modeled costs drawn but not spent
        (call once the clock has stopped; nothing to do when real).

        NOTE: each block of modeled costs is added to the meter as it is
        drawn, which costs two dictionary updates a block instead of two
        per operation; this removes what the run did not use.
        """
        for operation in self._booked:
            unspent = self._drawn.pop(operation, [])
            self.meter.cpu_s[operation] -= sum(unspent)
            self.meter.count[operation] -= len(unspent)

    def _charge(self, operation: str) -> float:
        """A modeled operation's CPU time, drawn from its block (see
        :meth:`settle`)."""
        drawn = self._drawn.get(operation)
        if not drawn:
            drawn = self._book(operation)
        spent: float = drawn.pop()
        return spent

    def _book(self, operation: str) -> list[float]:
        """Draw the next block of ``operation``'s CPU times and add them
        all to the meter."""
        assert self.calibration is not None
        samples = self.calibration.cpu_s[_CALIBRATED[operation]]
        drawn = self._refill(operation, samples)
        self.meter.cpu_s[operation] += sum(drawn)
        self.meter.count[operation] += len(drawn)
        self._booked.add(operation)
        return drawn

    def _refill(self, what: str, samples: Sequence[Any]) -> list[Any]:
        """The next block of draws of ``what`` from ``samples``, in the
        order they are popped (one numpy call per block is far cheaper
        than one per draw)."""
        block = self.rng.integers(len(samples), size=_PICK_BLOCK)
        drawn: list[Any] = np.asarray(samples)[block].tolist()[::-1]
        self._drawn[what] = drawn
        return drawn
