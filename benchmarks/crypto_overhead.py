"""Figure 1: what a real-crypto run costs beyond its crypto.

The run is the default profile at 2,000 workloads over 72 h with real
keys and certificates. Its floor is the time this process needs for the
same number of the same crypto operations, done back to back with
:mod:`meshsim.pki` and nothing else: what a simulator that did no work
of its own would still spend. The figure is run wall ÷ floor.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from cryptography import x509

from benchmarks.figures import Figure, Sizes
from benchmarks.scenarios import load, quiet_default, repeat, timed_run
from meshsim.identity import workload_spiffe_id
from meshsim.pki.authority import CertificateAuthority, self_signed_root
from meshsim.pki.csr import build_csr
from meshsim.pki.keys import generate_key
from meshsim.pki.svid import verify_svid

__all__ = ["FLOOR_OPERATIONS", "crypto_floor", "floor_counts", "run"]

T = TypeVar("T")

FLOOR_OPERATIONS = ("keygen", "csr-sign", "ca-sign", "verify")

# Which floor operation each operation a run records stands for.
_FLOOR_OF = {
    "keygen": "keygen",
    "ca-keygen": "keygen",
    "csr-sign": "csr-sign",
    "ca-sign": "ca-sign",
    "verify-issued": "verify",
    "verify-chain": "verify",
}

_TRUST_DOMAIN = "cluster.local"
_START = datetime(2026, 1, 1, tzinfo=UTC)


def floor_counts(operations: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    """Counts per floor operation from a summary's
    ``rotation.operations``; an operation the floor cannot stand for is
    an error rather than a floor that is silently too low."""
    counts = dict.fromkeys(FLOOR_OPERATIONS, 0)
    for operation, figures in operations.items():
        if operation not in _FLOOR_OF:
            raise ValueError(
                f"rotation.operations: {operation!r} has no floor "
                f"operation (known: {', '.join(sorted(_FLOOR_OF))})"
            )
        counts[_FLOOR_OF[operation]] += int(figures["count"])
    return counts


def crypto_floor(
    counts: Mapping[str, int], algorithm: str
) -> tuple[dict[str, float], float]:
    """Wall seconds per floor operation for ``counts[op]`` real
    operations done back to back, and this process's CPU seconds for all
    of them."""
    # A root CA and one of each object, untimed, so that every timed
    # operation has its input whatever the counts.
    spiffe_id = workload_spiffe_id(_TRUST_DOMAIN, "ns-0", "sa-0")
    ca_key = generate_key(algorithm)
    root = self_signed_root(
        ca_key, _TRUST_DOMAIN, _START, _START + timedelta(days=3650), 1
    )
    authority = CertificateAuthority(ca_key, (root,), timedelta(days=90))
    bundle = {_TRUST_DOMAIN: [root]}
    ttl, backdate = timedelta(hours=24), timedelta(minutes=2)
    at = _START + timedelta(hours=1)
    key = generate_key(algorithm)
    csr = build_csr(key, spiffe_id)
    chain: tuple[x509.Certificate, ...] = authority.sign_workload(
        csr, spiffe_id, _START, ttl, backdate, 2
    )

    # The operations, in the order an agent and the CA do them.
    spent = dict.fromkeys(FLOOR_OPERATIONS, 0.0)
    began_cpu = time.process_time()
    for index in range(max(counts.values(), default=0)):
        if index < counts["keygen"]:
            key = _timed(spent, "keygen", partial(generate_key, algorithm))
        if index < counts["csr-sign"]:
            csr = _timed(spent, "csr-sign", partial(build_csr, key, spiffe_id))
        if index < counts["ca-sign"]:
            sign = partial(
                authority.sign_workload,
                csr,
                spiffe_id,
                _START,
                ttl,
                backdate,
                index + 3,
            )
            chain = _timed(spent, "ca-sign", sign)
        if index < counts["verify"]:
            _timed(spent, "verify", partial(verify_svid, chain, bundle, at))
    return spent, time.process_time() - began_cpu


def run(sizes: Sizes) -> list[Figure]:
    """Figure 1, the fastest of ``sizes.repeats`` runs and floors."""
    scenario = load(quiet_default(sizes.workloads, sizes.nodes))
    if scenario.pki.crypto != "real":
        raise ValueError(
            f"pki.crypto: figure 1 needs real crypto (got "
            f"{scenario.pki.crypto!r})"
        )

    def measure() -> dict[str, Any]:
        wall, cpu, result = timed_run(scenario)
        counts = floor_counts(result.summary["rotation"]["operations"])
        floor, floor_cpu = crypto_floor(counts, scenario.pki.key)
        return {
            "run_wall_s": wall,
            "run_cpu_s": cpu,
            "run_simulate_wall_s": result.summary["wall_seconds"],
            "run_crypto_cpu_s": result.summary["rotation"]["crypto_cpu_s"],
            "renewals": result.summary["rotation"]["count"],
            "counts": counts,
            "floor_wall_s": floor,
            "floor_total_s": sum(floor.values()),
            "floor_cpu_s": floor_cpu,
        }

    trials = repeat(sizes.repeats, measure)
    run_wall = min(t["run_wall_s"] for t in trials)
    floor_wall = min(t["floor_total_s"] for t in trials)
    floor_cpu = min(t["floor_cpu_s"] for t in trials)
    cpu_ratio = min(t["run_cpu_s"] for t in trials) / floor_cpu
    # The same operations as metered inside the run, against the floor:
    # above 1 when they cost more there than back to back.
    in_run = min(t["run_crypto_cpu_s"] for t in trials) / floor_cpu
    return [
        Figure(
            name="1. real-crypto overhead",
            measure=(
                f"run wall ÷ crypto floor, default profile, "
                f"{sizes.workloads:,} workloads, 72h"
            ),
            value=run_wall / floor_wall,
            unit="ratio",
            target=1.5,
            better="lower",
            note=(
                f"run {run_wall:.2f} s, floor {floor_wall:.2f} s; "
                f"CPU-time ratio {cpu_ratio:.2f}; the operations as "
                f"metered in the run take {in_run:.2f} times the floor's CPU"
            ),
            raw={
                "trials": trials,
                "cpu_ratio": cpu_ratio,
                "in_run_crypto_cpu_ratio": in_run,
            },
        )
    ]


def _timed(spent: dict[str, float], operation: str, work: Callable[[], T]) -> T:
    began = time.perf_counter()
    result = work()
    spent[operation] += time.perf_counter() - began
    return result
