"""The run summary's figures, from tables whose answer is known."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from meshsim.metrics.summary import peak_count, summarise
from meshsim.metrics.tables import RunTables


@pytest.mark.parametrize(
    ("times", "peak"),
    [
        # 50 CSRs in 57.7 s across a minute's turn: one burst of 50, not
        # 31 and 19 in two clock minutes
        (np.linspace(40.0, 97.7, 50), 50),
        # one a second from 0 s to 120 s: any 60 s window holds 60
        (np.arange(0.0, 121.0), 60),
        # a window is half open: 0 s and 60 s are never in one together
        (np.array([0.0, 60.0]), 1),
        (np.array([60.0, 0.0, 59.999]), 2),
        (np.array([]), 0),
    ],
)
def test_csr_peak_is_the_most_in_any_60_s_not_in_a_clock_minute(
    times: np.ndarray, peak: int
) -> None:
    assert peak_count(times, 60.0) == peak


def _summary_of(**tables: pd.DataFrame) -> dict[str, Any]:
    """The summary of a 100 s run on one worker whose tables are
    ``tables`` (any left out: empty)."""
    run = RunTables.__new__(RunTables)
    run.csrs = tables.get("csrs", _CSRS.iloc[:0])
    run.rotations = tables.get("rotations", _ROTATIONS.iloc[:0])
    run.handshakes = tables.get("handshakes", _HANDSHAKES.iloc[:0])
    run.thefts = tables.get("thefts", _THEFTS.iloc[:0])
    run.attack_windows = tables.get("attack_windows", _WINDOWS.iloc[:0])
    return summarise(
        run,
        seed=1,
        scenario_sha256="",
        duration_s=100.0,
        workers=1,
        wall_seconds=0.0,
        crypto_cpu_s={},
        crypto_count={},
        key_thefts=1,
    )


# one CSR of each outcome: signed; refused (the outcome names why);
# sent during an outage; still being signed at the end; cancelled with
# its pod while queued
_CSRS = pd.DataFrame(
    {
        "submitted_s": [0.0, 5.0, 20.0, 30.0, 40.0],
        "started_s": [0.0, 10.0, np.nan, 30.0, np.nan],
        "service_s": [10.0, 1.0, np.nan, 100.0, np.nan],
        "outcome": [
            "issued",
            "token-expired",
            "unreachable",
            "unanswered",
            "cancelled",
        ],
    }
).assign(wait_s=lambda t: t["started_s"] - t["submitted_s"])
_ROTATIONS = pd.DataFrame(
    {
        "not_before_s": [0.0, 0.0, 100.0],
        "not_after_s": [3600.0, 14400.0, 14500.0],
        "bytes": [100, 200, 300],
    }
)
_HANDSHAKES = pd.DataFrame(
    {
        "outcome": ["ok", "ok", "ok"],
        "count": [3, 5, 7],
        "attack": [0, 0, -1],
        "intercepted": [True, True, False],
    }
)
_THEFTS = pd.DataFrame(
    {
        "attack": [0],
        "kind": ["key-theft"],
        "stolen_s": [10.0],
        "spiffe_id": ["spiffe://a/x"],
        "not_after_s": [3600.0],
    }
)
_WINDOWS = pd.DataFrame(
    {
        "kind": ["key-theft", "key-theft", "mitm"],
        "attack": [0, 0, 1],
        "identity": ["spiffe://a/x", "spiffe://a/y", "spiffe://a/x"],
        "start_s": [0.0, 0.0, 0.0],
        "end_s": [3600.0, 7200.0, 21600.0],
        "duration_s": [3600.0, 7200.0, 21600.0],
        "intercepted": [0, 0, 0],
    }
)


def test_ca_figures_count_answered_refused_unreachable_and_unanswered():
    ca = _summary_of(csrs=_CSRS)["ca"]

    # answered: signed or refused (2 of 5); the rate is theirs over 100 s
    assert ca["csr_total"] == 2
    assert ca["csr_issued"] == 1
    assert ca["csr_refused"] == 1
    assert ca["csr_rate_per_s"] == pytest.approx(2 / 100)
    # the one sent during an outage reached no CA: neither answered nor
    # unanswered
    assert ca["csr_unreachable"] == 1
    assert ca["csr_unanswered"] == 2


def test_rotation_figures_are_the_mean_and_least_lifetime_and_all_bytes():
    rotation = _summary_of(rotations=_ROTATIONS)["rotation"]

    # lifetimes 1h, 4h, 4h: mean 3h (the median would be 4h)
    assert rotation["issued_lifetime_mean_s"] == 3 * 3600
    assert rotation["issued_lifetime_min_s"] == 3600
    assert rotation["bytes"] == 100 + 200 + 300


def test_window_means_are_over_all_windows_and_over_key_thefts_alone():
    attack = _summary_of(attack_windows=_WINDOWS, thefts=_THEFTS)["attack"]

    # 1h, 2h and 6h: a mean of 3h (the median would be 2h); the key
    # thefts' own, 1h and 2h, 1.5h
    assert attack["window_mean_s"] == 3 * 3600
    assert attack["key_theft_window_mean_s"] == 1.5 * 3600
    assert attack["identities_exposed"] == 1
    assert attack["identities_per_key_theft"] == 1.0


def test_intercepted_counts_connections_not_rows():
    summary = _summary_of(handshakes=_HANDSHAKES)

    # two rows read by attack 0, of 3 and 5 connections
    assert summary["attack"]["intercepted"] == 3 + 5
    assert summary["handshakes"]["through_attacker"]["ok"] == 3 + 5
    assert summary["handshakes"]["total"] == 3 + 5 + 7
