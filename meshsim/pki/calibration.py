"""What real crypto costs on this machine, measured once per key type
and trust domain.

Modeled runs draw each operation's CPU time and each object's DER size
from these samples, so their costs are this machine's real ones. The
objects measured are made as a run makes them: in the run's trust
domain, with serial numbers of 127 random bits, and an intermediate CA
named as the CA server names one. A run's identities differ from the
one measured only in the length of their SPIFFE ID, which a modeled run
adds (:attr:`Calibration.spiffe_id_bytes`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, partial
from typing import Any, TypeVar

from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import CertificateSigningRequest

from meshsim.identity import workload_spiffe_id
from meshsim.pki.authority import (
    UB_COMMON_NAME,
    CertificateAuthority,
    CsrRefusedError,
    intermediate_name,
    self_signed_root,
)
from meshsim.pki.csr import build_csr
from meshsim.pki.keys import generate_key
from meshsim.pki.svid import verify_svid

__all__ = ["OPERATIONS", "Calibration", "calibrate"]

OPERATIONS = ("keygen", "csr-sign", "ca-sign", "ca-refuse", "verify")
"""Operations measured; every crypto step of a run is one of these.
``ca-refuse`` is the CA refusing a CSR because its signer has expired."""

T = TypeVar("T")

# RSA key generation takes tens of milliseconds: fewer samples of it.
_SAMPLES = {"rsa-2048": 8, "rsa-3072": 4}
_DEFAULT_SAMPLES = 32


@dataclass(frozen=True)
class Calibration:
    """CPU seconds per operation and DER bytes per object, as samples.

    ``sizes`` holds samples of ``csr``, ``leaf`` (signed by the root),
    ``ca`` (a root) and ``intermediate``. ``spiffe_id_bytes`` is the
    length of the SPIFFE ID the CSRs and leaves carry; ``below_intermediate``
    is what a leaf signed by an intermediate adds (its issuer name is
    the intermediate's, longer than the root's).
    """

    algorithm: str
    cpu_s: Mapping[str, tuple[float, ...]]
    sizes: Mapping[str, tuple[int, ...]]
    spiffe_id_bytes: int
    below_intermediate: int


@cache
def calibrate(algorithm: str, trust_domain: str) -> Calibration:
    """Measure each operation on real keys and certificates of
    ``algorithm`` in ``trust_domain`` (once per process and pair)."""
    count = _SAMPLES.get(algorithm, _DEFAULT_SAMPLES)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    spiffe_id = workload_spiffe_id(trust_domain, "ns", "sa")
    # As the CA draws them: a serial of one byte would make every
    # certificate 15 bytes shorter than a run's.
    serials = random.Random(0)

    def serial() -> int:
        return serials.getrandbits(127) | 1

    # The CA: a root, and an intermediate under it (with the root's key,
    # which gives it the same size as a key of its own) unless its name
    # is too long for one, when no run in this trust domain has one.
    ca_key = generate_key(algorithm)
    root = self_signed_root(
        ca_key, trust_domain, start, start + timedelta(days=3650), serial()
    )
    authority = CertificateAuthority(ca_key, (root,), timedelta(days=90))
    sizes: dict[str, list[int]] = {
        "csr": [],
        "leaf": [],
        "ca": [len(root.public_bytes(Encoding.DER))],
    }
    below_intermediate = 0
    if len(intermediate_name(trust_domain)) <= UB_COMMON_NAME:
        intermediate = authority.issue_intermediate(
            ca_key,
            start,
            start + timedelta(days=365),
            serial(),
            intermediate_name(trust_domain),
        ).certificate
        sizes["intermediate"] = [len(intermediate.public_bytes(Encoding.DER))]
        below_intermediate = len(intermediate.subject.public_bytes()) - len(
            root.subject.public_bytes()
        )

    # Keys, CSRs, leaves and their verification, timed one by one.
    cpu: dict[str, list[float]] = {op: [] for op in OPERATIONS}
    bundle = {trust_domain: [root]}
    later = start + timedelta(hours=1)
    expired = start + timedelta(days=3651)  # the root is over by then

    def asking(csr: CertificateSigningRequest, at: datetime) -> tuple[Any, ...]:
        """A CSR for 24h, backdated 2 min, as the CA gets it at ``at``."""
        day, backdate = timedelta(hours=24), timedelta(minutes=2)
        return (csr, spiffe_id, at, day, backdate, serial())

    for _ in range(count):
        key = _timed(cpu["keygen"], partial(generate_key, algorithm))
        csr = _timed(cpu["csr-sign"], partial(build_csr, key, spiffe_id))
        chain = _timed(
            cpu["ca-sign"],
            partial(authority.sign_workload, *asking(csr, start)),
        )
        _timed(cpu["verify"], partial(verify_svid, chain, bundle, later))
        sizes["csr"].append(len(csr.public_bytes(Encoding.DER)))
        sizes["leaf"].append(len(chain[0].public_bytes(Encoding.DER)))

    # Refusals one after another, as a run makes them (every retry is
    # refused while the signer stays expired); the first one, cold,
    # untimed.
    # NOTE: these take about 0.6 of what a run measures for a refusal
    # (5 against 8 us here), whose measure also holds the meter's own
    # clock readings around a few microseconds of work; timed between
    # the other operations instead, cold, they took 1.8 times as much.
    refusal = partial(_refused, authority, *asking(csr, expired))
    refusal()
    for _ in range(count):
        _timed(cpu["ca-refuse"], refusal)
    return Calibration(
        algorithm=algorithm,
        cpu_s={op: tuple(samples) for op, samples in cpu.items()},
        sizes={kind: tuple(samples) for kind, samples in sizes.items()},
        spiffe_id_bytes=len(str(spiffe_id)),
        below_intermediate=below_intermediate,
    )


def _refused(authority: CertificateAuthority, *request: Any) -> str:
    """Why ``authority`` refuses ``request``; ``AssertionError`` if it
    signs instead."""
    try:
        authority.sign_workload(*request)
    except CsrRefusedError as refusal:
        return refusal.reason
    raise AssertionError("the calibration's refused CSR was signed")


def _timed(samples: list[float], work: Callable[[], T]) -> T:
    begin = time.process_time()
    result = work()
    samples.append(time.process_time() - begin)
    return result
