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


def resource_starts(csrs: pd.DataFrame, workers: int) -> np.ndarray:
    """When each CSR gets a worker of a FIFO ``simpy.Resource``."""
    env = simpy.Environment()
    resource = simpy.Resource(env, capacity=workers)
    starts = np.full(len(csrs), np.nan)

    def serve(
        row: int, arrival: float, service: float
    ) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(arrival)
        with resource.request() as granted:
            yield granted
            starts[row] = env.now
            yield env.timeout(service)

    # Processes start in arrival order, so ties keep the CA's order.
    for row, (arrival, service) in enumerate(
        zip(csrs["submitted_s"], csrs["service_s"], strict=True)
    ):
        env.process(serve(row, arrival, service))
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


def test_csrs_the_ca_has_not_answered_when_the_run_ends_are_counted(
    small, simulate
):
    # 16 first CSRs at 0 s, one worker signing each in 40 s, a run of
    # 10 min 10 s: answered at 40, 80, ..., 600 s, so 15; one is unanswered
    run = simulate(
        small(
            "duration=610s",
            "ca.sign_time=40s",
            "ca.workers=1",
            "attacks=[]",
            "pki.crypto=modeled",
        )
    )
    ca = run.summary["ca"]

    assert ca["csr_total"] == 15
    assert ca["csr_unanswered"] == 1
    assert len(run.tables.csrs) == 15
