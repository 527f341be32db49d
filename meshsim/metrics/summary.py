"""The summary of one run: the figures a mesh owner compares."""

from __future__ import annotations

from typing import Any

import numpy as np

from meshsim import __version__
from meshsim.mesh.handshake import OUTCOMES
from meshsim.metrics.tables import (
    RunTables,
    answered_csrs,
    received_csrs,
    valid_when_taken,
)

__all__ = ["ROTATION_OPERATIONS", "peak_count", "summarise"]

# Crypto operations that make up the cost of rotating certificates: the
# agents' and the CA's, refusals included.
ROTATION_OPERATIONS = (
    "keygen",
    "csr-sign",
    "ca-sign",
    "ca-refuse",
    "verify-issued",
)


def summarise(
    tables: RunTables,
    *,
    seed: int,
    scenario_sha256: str,
    duration_s: float,
    workers: int,
    wall_seconds: float,
    crypto_cpu_s: dict[str, float],
    crypto_count: dict[str, int],
    key_thefts: int = 0,
) -> dict[str, Any]:
    """The summary dictionary written to ``summary.json``; ``key_thefts``
    is the number of key-theft attacks the scenario holds."""
    return {
        "seed": seed,
        "scenario_sha256": scenario_sha256,
        "meshsim_version": __version__,
        "wall_seconds": round(wall_seconds, 3),
        "duration_s": duration_s,
        "ca": _ca(tables, duration_s, workers),
        "rotation": _rotation(tables, crypto_cpu_s, crypto_count),
        "handshakes": _handshakes(tables),
        "attack": _attack(tables, key_thefts),
    }


def _ca(tables: RunTables, duration_s: float, workers: int) -> dict[str, Any]:
    csrs = tables.csrs
    received = received_csrs(csrs)
    served = answered_csrs(csrs)
    waits = served["wait_s"].to_numpy(dtype=float)
    arrivals = received["submitted_s"].to_numpy(dtype=float)
    # each CSR a worker took up, from then to the end of its service or
    # of the run: answered ones, cancelled ones whose signature had begun
    # (the worker signs on), and one still being signed at the end
    begun = received[received["started_s"].notna()]
    ends = begun["started_s"] + begun["service_s"].fillna(np.inf)
    busy = float((ends.clip(upper=duration_s) - begun["started_s"]).sum())
    return {
        "csr_total": len(served),
        "csr_issued": int((served["outcome"] == "issued").sum()),
        "csr_refused": int((served["outcome"] != "issued").sum()),
        "csr_unreachable": len(csrs) - len(received),
        "csr_unanswered": len(received) - len(served),
        "csr_rate_per_s": len(served) / duration_s,
        "csr_peak_per_min": peak_count(arrivals, 60.0),
        "wait_p50_s": _quantile(waits, 0.50),
        "wait_p99_s": _quantile(waits, 0.99),
        "wait_max_s": float(waits.max()) if len(waits) else None,
        # a worker serves one CSR at a time: at most 1 but for rounding
        "utilisation": min(1.0, busy / (workers * duration_s)),
    }


def _rotation(
    tables: RunTables,
    crypto_cpu_s: dict[str, float],
    crypto_count: dict[str, int],
) -> dict[str, Any]:
    rotations = tables.rotations
    lifetime = rotations["not_after_s"] - rotations["not_before_s"]
    return {
        "count": len(rotations),
        "issued_lifetime_mean_s": float(lifetime.mean())
        if len(lifetime)
        else None,
        "issued_lifetime_min_s": float(lifetime.min())
        if len(lifetime)
        else None,
        "crypto_cpu_s": sum(
            crypto_cpu_s.get(o, 0.0) for o in ROTATION_OPERATIONS
        ),
        "bytes": int(rotations["bytes"].sum()),
        "operations": {
            o: {
                "count": crypto_count.get(o, 0),
                "cpu_s": crypto_cpu_s.get(o, 0.0),
            }
            for o in sorted(crypto_count)
        },
    }


def _handshakes(tables: RunTables) -> dict[str, Any]:
    handshakes = tables.handshakes
    by_outcome = handshakes.groupby("outcome")["count"].sum()
    attacked = handshakes[handshakes["attack"] >= 0]
    through = attacked.groupby("outcome")["count"].sum()
    return {
        "total": int(handshakes["count"].sum()),
        "by_outcome": {o: int(by_outcome.get(o, 0)) for o in OUTCOMES},
        "through_attacker": {o: int(through.get(o, 0)) for o in OUTCOMES},
    }


def _attack(tables: RunTables, key_thefts: int) -> dict[str, Any]:
    windows = tables.attack_windows
    stolen = windows[windows["kind"] == "key-theft"]
    usable = valid_when_taken(tables.thefts)
    # identities each key theft exposed, counting a theft that copied
    # nothing valid as none
    per_theft = None
    if key_thefts:
        taken = usable[usable["kind"] == "key-theft"]
        exposed = taken.groupby("attack")["spiffe_id"].nunique()
        per_theft = float(exposed.sum()) / key_thefts
    read = tables.handshakes[tables.handshakes["intercepted"]]
    return {
        "windows": [
            {
                "kind": str(w["kind"]),
                "attack": int(w["attack"]),
                "identity": str(w["identity"]),
                "start_s": float(w["start_s"]),
                "end_s": float(w["end_s"]),
                "duration_s": float(w["duration_s"]),
                "intercepted": int(w["intercepted"]),
            }
            for w in windows.to_dict("records")
        ],
        "window_mean_s": (
            float(windows["duration_s"].mean()) if len(windows) else None
        ),
        "key_theft_window_mean_s": (
            float(stolen["duration_s"].mean()) if len(stolen) else None
        ),
        "identities_exposed": int(usable["spiffe_id"].nunique()),
        "identities_per_key_theft": per_theft,
        "intercepted": int(read["count"].sum()),
    }


def peak_count(times: np.ndarray, window_s: float) -> int:
    """The most of ``times`` that fall within any ``window_s`` seconds
    (a window ``[t, t + window_s)`` placed anywhere, not a clock minute:
    a burst across a minute's turn counts whole)."""
    if not len(times):
        return 0
    ordered = np.sort(times)
    ends = np.searchsorted(ordered, ordered + window_s, side="left")
    return int((ends - np.arange(len(ordered))).max())


def _quantile(values: np.ndarray, q: float) -> float | None:
    """A quantile of ``values``, or None (null) when there are none: a
    run with no answered CSR has no wait, not a wait of 0."""
    return float(np.quantile(values, q)) if len(values) else None
