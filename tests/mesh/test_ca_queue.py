"""The CA's FIFO queue of workers, against SimPy's own resource.

A CA whose service time is known when a CSR arrives computes each start
as ``max(arrival, earliest free worker)`` instead of queueing in a
``simpy.Resource``. Replaying the run's CSRs (arrival, service time) in
a plain ``simpy.Resource`` of the same capacity must give the same start
of service for every one of them.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import pandas as pd
import pytest
import simpy

HOUR = 3600.0


def resource_starts(csrs: pd.DataFrame, workers: int) -> np.ndarray:
    """When each CSR gets a worker of a FIFO ``simpy.Resource`` (NaN if
    never). A ``cancelled`` CSR leaves the queue when its pod is deleted
    (its ``finished_s``); once begun, it holds its worker to the end."""
    env = simpy.Environment()
    resource = simpy.Resource(env, capacity=workers)
    starts = np.full(len(csrs), np.nan)

    def serve(
        row: int, arrival: float, service: float, leaves: float
    ) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(arrival)
        with resource.request() as granted:
            gone = env.timeout(max(leaves - env.now, 0.0))
            yield granted | gone
            if not granted.triggered:
                return
            starts[row] = env.now
            yield env.timeout(service)

    # Processes start in arrival order, so ties keep the CA's order.
    cancelled = csrs["outcome"] == "cancelled"
    leaving = csrs["finished_s"].where(cancelled, np.inf)
    for row, (arrival, service, leaves) in enumerate(
        zip(csrs["submitted_s"], csrs["service_s"], leaving, strict=True)
    ):
        env.process(serve(row, arrival, service, leaves))
    env.run()
    return starts


@pytest.mark.parametrize("service", ["fixed", "exponential"])
def test_heap_of_free_workers_serves_as_a_simpy_resource(
    small, simulate, service
):
    # A synchronised start and busy waves: every CSR of 300 pods with 1h
    # certificates over 3h, 4 workers, 2 s of service on average.
    workers = 4
    scenario = small(
        "mesh.workloads=300",
        "mesh.nodes=10",
        f"ca.workers={workers}",
        "ca.sign_time=2s",
        f"ca.service={service}",
        "pki.workload_ttl=1h",
        "traffic.rate=0",
        "duration=3h",
    )

    csrs = simulate(scenario).tables.csrs
    served = csrs[csrs["outcome"] != "unreachable"].sort_values(
        ["submitted_s", "started_s"], kind="stable"
    )

    assert served["wait_s"].max() > 60  # the queue really builds up
    np.testing.assert_allclose(
        served["started_s"], resource_starts(served, workers), atol=1e-9
    )


@pytest.fixture
def queue_at_the_end(small, simulate):
    """16 first CSRs at 0 s, one worker signing each in 40 s, a run of
    9 min 50 s: answered at 40, 80, ..., 560 s, so 14; the 15th is being
    signed since 560 s, the 16th still queued."""
    return simulate(
        small(
            "duration=590s",
            "ca.sign_time=40s",
            "ca.workers=1",
            "attacks=[]",
            "pki.crypto=modeled",
        )
    )


def test_csrs_the_ca_has_not_answered_when_the_run_ends_get_rows(
    queue_at_the_end,
):
    ca = queue_at_the_end.summary["ca"]
    csrs = queue_at_the_end.tables.csrs
    open_ = csrs[csrs["outcome"] == "unanswered"].sort_values("started_s")

    assert ca["csr_total"] == 14
    assert ca["csr_unanswered"] == 2
    assert ca["csr_peak_per_min"] == 16
    assert len(csrs) == 16
    np.testing.assert_array_equal(open_["submitted_s"], [0.0, 0.0])
    np.testing.assert_array_equal(open_["started_s"], [560.0, np.nan])
    np.testing.assert_array_equal(open_["wait_s"], [560.0, np.nan])
    assert open_["finished_s"].isna().all()
    assert open_["service_s"].isna().all()
    assert (open_["chain_bytes"] == 0).all()
    assert (open_["csr_bytes"] > 0).all()


def test_answered_waits_leave_out_csrs_still_queued_at_the_end(
    queue_at_the_end,
):
    # the 14 answered CSRs waited 0, 40, ..., 520 s
    ca = queue_at_the_end.summary["ca"]

    assert ca["wait_max_s"] == 520.0
    assert ca["wait_p50_s"] == pytest.approx(np.median(np.arange(14) * 40))


def test_wait_p99_interpolates_linearly_between_the_answered_waits(
    queue_at_the_end,
):
    # 14 waits 0, 40, ..., 520 s: p99 lies at rank 0.99 * 13 = 12.87,
    # between 480 s and 520 s: 480 + 0.87 * 40 = 514.8 s
    ca = queue_at_the_end.summary["ca"]

    assert ca["wait_p99_s"] == pytest.approx(514.8)


def test_a_signature_going_on_at_the_end_counts_as_busy_time(
    queue_at_the_end,
):
    # the one worker signs from 0 to the end at 590 s: 14 answered CSRs
    # of 40 s, and the 15th's 30 s since 560 s
    ca = queue_at_the_end.summary["ca"]

    assert ca["utilisation"] == pytest.approx((14 * 40 + 30) / 590)


def test_a_cancelled_signature_counts_as_busy_only_until_the_end(
    small, simulate
):
    # a churned pod's CSR, cancelled while signed, keeps its worker busy
    # for its whole drawn service (here past the end of the run): counted
    # to the end, the busy time of 3 workers is at most 3 x 2h
    run = simulate(
        small(
            "mesh={nodes: 2, workloads: 6, service_accounts: 3, "
            "namespaces: 1, calls_per_service: 1, "
            "churn: {rate: 0.05, lifetime: 20s}}",
            "seed=2",
            "duration=2h",
            "pki={crypto: modeled, workload_ttl: 1h}",
            "ca={workers: 3, sign_time: 40m, service: exponential}",
            "traffic.rate=0",
            "attacks=[]",
        )
    )
    csrs = run.tables.csrs
    begun = csrs[csrs["started_s"].notna()]
    cancelled = begun[begun["outcome"] == "cancelled"]
    end = 2 * HOUR
    busy = (
        (begun["started_s"] + begun["service_s"].fillna(end))
        .clip(upper=end)
        .sub(begun["started_s"])
        .sum()
    )

    assert (cancelled["started_s"] + cancelled["service_s"] > end).any()
    assert run.summary["ca"]["utilisation"] == pytest.approx(busy / (3 * end))
    assert run.summary["ca"]["utilisation"] <= 1.0


def test_utilisation_is_busy_time_over_workers_times_duration(small, simulate):
    # 16 first CSRs at 0 s, 40 s each on 2 workers: taken up in pairs at
    # 0, 40, ..., 280 s, none renewed in a 10 min run; busy 16 * 40 s of
    # 2 * 600 worker-seconds, so 8/15
    run = simulate(
        small(
            "duration=10m",
            "ca.sign_time=40s",
            "ca.service=fixed",
            "ca.workers=2",
            "attacks=[]",
            "traffic.rate=0",
            "pki.crypto=modeled",
        )
    )
    ca = run.summary["ca"]

    assert ca["csr_total"] == 16
    assert ca["csr_unanswered"] == 0
    assert ca["wait_max_s"] == 7 * 40.0
    assert ca["utilisation"] == pytest.approx(16 * 40 / (2 * 600))


def test_a_run_with_no_answer_has_no_wait_and_no_lifetime(small, simulate):
    # the first CSRs take 40 s to sign, the run lasts 30 s
    run = simulate(
        small(
            "duration=30s",
            "ca.sign_time=40s",
            "attacks=[]",
            "pki.crypto=modeled",
        )
    )
    ca, rotation = run.summary["ca"], run.summary["rotation"]

    assert ca["csr_total"] == 0
    assert ca["wait_p50_s"] is ca["wait_p99_s"] is ca["wait_max_s"] is None
    assert rotation["count"] == 0
    assert rotation["issued_lifetime_mean_s"] is None
    assert rotation["issued_lifetime_min_s"] is None


def test_a_csr_queued_when_its_pod_is_deleted_is_cancelled(small, simulate):
    # One worker taking 1h per CSR is busy with the 16 first CSRs for
    # 16h, so no churned pod's CSR is taken up within the 2.5h run: each
    # is cancelled when its pod is deleted, or still queued at the end.
    run = simulate(
        small(
            "duration=2.5h",
            "ca.sign_time=1h",
            "ca.workers=1",
            "attacks=[]",
            "traffic.rate=0",
            "pki.crypto=modeled",
            "mesh.churn={rate: 0.01, lifetime: 10m}",
        )
    )
    csrs = run.tables.csrs
    churned = csrs[csrs["agent"].str.startswith("agent-churn-")]
    cancelled = churned[churned["outcome"] == "cancelled"]
    ca = run.summary["ca"]

    # one CSR per churned pod, as none lived to renew or retry
    assert churned["agent"].is_unique
    assert set(churned["outcome"]) == {"cancelled", "unanswered"}
    assert cancelled["started_s"].isna().all()
    assert (cancelled["finished_s"] > cancelled["submitted_s"]).all()
    assert (cancelled["finished_s"] < 2.5 * 3600).all()
    # the first CSRs: answered at 1h and 2h, one being signed since 2h
    assert ca["csr_total"] == 2
    assert ca["csr_unanswered"] == len(csrs) - 2


@pytest.mark.parametrize(
    "service",
    [
        ("ca.sign_time=5s", "ca.service=fixed"),
        ("ca.sign_time=5s", "ca.service=exponential"),
    ],
    ids=["fixed", "exponential"],
)
def test_a_cancelled_csr_frees_its_place_in_the_queue_not_its_worker(
    small, simulate, service
):
    # Churned pods of 30 s against one worker taking 5 s a CSR: many are
    # deleted while their CSR waits, which then leaves the queue; one
    # deleted while its CSR is signed leaves the worker busy to the end.
    scenario = small(
        "duration=20m",
        "ca.workers=1",
        *service,
        "traffic.rate=0",
        "attacks=[]",
        "pki.crypto=modeled",
        "mesh.churn={rate: 0.1, lifetime: 30s}",
    )

    csrs = simulate(scenario).tables.csrs
    received = csrs[csrs["outcome"] != "unreachable"].sort_values(
        ["submitted_s", "started_s"], kind="stable"
    )
    cancelled = received[received["outcome"] == "cancelled"]
    begun = cancelled[cancelled["started_s"].notna()]

    assert cancelled["started_s"].isna().sum() > 10
    assert len(begun) > 0
    assert begun["service_s"].notna().all()
    np.testing.assert_allclose(
        received["started_s"],
        resource_starts(received, 1),
        atol=1e-9,
        equal_nan=True,
    )
