"""What real crypto costs on this machine, measured once per key type.

Modeled runs draw each operation's CPU time and each object's DER size
from these samples, so their costs are this machine's real ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, partial
from typing import TypeVar

from cryptography.hazmat.primitives.serialization import Encoding

from meshsim.identity import workload_spiffe_id
from meshsim.pki.authority import CertificateAuthority, self_signed_root
from meshsim.pki.csr import build_csr
from meshsim.pki.keys import generate_key
from meshsim.pki.svid import verify_svid

__all__ = ["OPERATIONS", "Calibration", "calibrate"]

OPERATIONS = ("keygen", "csr-sign", "ca-sign", "verify")
"""Operations measured; every crypto step of a run is one of these."""

T = TypeVar("T")

# RSA key generation takes tens of milliseconds: fewer samples of it.
_SAMPLES = {"rsa-2048": 8, "rsa-3072": 4}
_DEFAULT_SAMPLES = 32


@dataclass(frozen=True)
class Calibration:
    """CPU seconds per operation and DER bytes per object, as samples."""

    algorithm: str
    cpu_s: Mapping[str, tuple[float, ...]]
    sizes: Mapping[str, tuple[int, ...]]


@cache
def calibrate(algorithm: str) -> Calibration:
    """Measure each operation on real keys and certificates of
    ``algorithm`` (once per process and key type)."""
    count = _SAMPLES.get(algorithm, _DEFAULT_SAMPLES)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    spiffe_id = workload_spiffe_id("calibration.test", "ns", "sa")
    ca_key = generate_key(algorithm)
    root = self_signed_root(
        ca_key, "calibration.test", start, start + timedelta(days=3650), 1
    )
    authority = CertificateAuthority(ca_key, (root,), timedelta(days=90))
    cpu: dict[str, list[float]] = {op: [] for op in OPERATIONS}
    sizes: dict[str, list[int]] = {"csr": [], "leaf": [], "ca": []}
    sizes["ca"].append(len(root.public_bytes(Encoding.DER)))
    bundle = {"calibration.test": [root]}
    later = start + timedelta(hours=1)
    for serial in range(2, count + 2):
        key = _timed(cpu["keygen"], partial(generate_key, algorithm))
        csr = _timed(cpu["csr-sign"], partial(build_csr, key, spiffe_id))
        chain = _timed(
            cpu["ca-sign"],
            partial(
                authority.sign_workload,
                csr,
                spiffe_id,
                start,
                timedelta(hours=24),
                timedelta(minutes=2),
                serial,
            ),
        )
        _timed(cpu["verify"], partial(verify_svid, chain, bundle, later))
        sizes["csr"].append(len(csr.public_bytes(Encoding.DER)))
        sizes["leaf"].append(len(chain[0].public_bytes(Encoding.DER)))
    return Calibration(
        algorithm=algorithm,
        cpu_s={op: tuple(samples) for op, samples in cpu.items()},
        sizes={kind: tuple(samples) for kind, samples in sizes.items()},
    )


def _timed(samples: list[float], work: Callable[[], T]) -> T:
    begin = time.process_time()
    result = work()
    samples.append(time.process_time() - begin)
    return result
