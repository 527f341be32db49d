"""A CA outage is survived exactly when it is shorter than T(1 - r)."""

from __future__ import annotations

import numpy as np
import pytest

MINUTE = 60.0


def outage_run(small, simulate, minutes: float):
    # T = 1h renewed at r = 0.5: every pod renews at 30 min, so an outage
    # starting just before then leaves certificates T(1 - r) = 30 min.
    scenario = small(
        "pki.workload_ttl=1h",
        "duration=2h",
        "agent.backoff_max=10s",
        f"ca.outages=[{{start: 29m, duration: {minutes}m}}]",
    )
    return simulate(scenario)


@pytest.mark.parametrize("minutes", [5, 25])
def test_outage_shorter_than_grace_causes_no_expiry(small, simulate, minutes):
    run = outage_run(small, simulate, minutes)

    outcomes = run.summary["handshakes"]["by_outcome"]
    assert outcomes["expired"] == 0
    assert run.summary["ca"]["csr_unreachable"] > 0


def test_outage_longer_than_grace_causes_expiry_until_ca_returns(
    small, simulate
):
    run = outage_run(small, simulate, 40)

    handshakes = run.tables.handshakes
    expired = handshakes[handshakes["outcome"] == "expired"]
    assert expired["count"].sum() > 0
    # The first certificates expire one second after NotAfter (1h after
    # issue, floored), and all have been renewed within one backoff of the
    # CA's return at 29 + 40 = 69 min.
    assert expired["start_s"].min() == pytest.approx(3601.0, abs=1.0)
    assert expired["end_s"].max() <= 69 * MINUTE + 10 + 1


def test_shipped_outage_scenario_fails_by_expiry_until_the_ca_returns(
    shipped, simulate
):
    # 24h certificates renewed at 12h; the CA is down from 12h to 28h, so
    # the first certificates expire at 24h (+1 s) and handshakes fail
    # until agents renew within one backoff (60 s) of 28h.
    run = simulate(shipped("ca-outage.yaml", "mesh.workloads=30"))

    handshakes = run.tables.handshakes
    expired = handshakes[handshakes["outcome"] == "expired"]
    hour = 3600.0
    assert expired["start_s"].min() == pytest.approx(24 * hour + 1, abs=1.0)
    assert expired["end_s"].max() <= 28 * hour + 60 + 1
    assert set(handshakes["outcome"]) == {"ok", "expired"}


def test_an_unreachable_csr_names_the_identity_its_agent_asked_for(
    small, simulate
):
    run = outage_run(small, simulate, 5)

    csrs = run.tables.csrs
    unreachable = csrs[csrs["outcome"] == "unreachable"]
    issued = csrs[csrs["outcome"] == "issued"]
    asked = issued.groupby("agent")["spiffe_id"].agg(set).to_dict()
    assert len(unreachable) > 0
    # one agent per pod: each asks for its pod's one identity
    for agent, spiffe_id in unreachable[["agent", "spiffe_id"]].itertuples(
        index=False
    ):
        assert asked[agent] == {spiffe_id}


def test_retries_through_an_outage_wait_longer_each_time_up_to_the_cap(
    small, simulate
):
    # a pod renews at 30 min into an outage of 29-49 min: each refused
    # attempt k is followed, at once, by a wait of min(60, 2^(k-1)) s
    # (backoff_initial 1 s, multiplier 2, backoff_max 60 s, no jitter);
    # the mesh's second pod, for its second service account, is left out
    scenario = small(
        "mesh={nodes: 1, workloads: 2, service_accounts: 2, namespaces: 1}",
        "mesh.calls_per_service=1",
        "pki.workload_ttl=1h",
        "duration=2h",
        "traffic.rate=0",
        "ca.outages=[{start: 29m, duration: 20m}]",
    )
    csrs = simulate(scenario).tables.csrs

    mine = csrs[csrs["agent"] == "agent-pod-0"]
    refused = mine[mine["outcome"] == "unreachable"]["submitted_s"]
    waits = np.diff(refused.to_numpy())

    expected = [min(60.0, 2.0 ** (k - 1)) for k in range(1, len(waits) + 1)]
    assert len(waits) > 10
    assert waits == pytest.approx(expected, abs=1e-6)
    # the last refusal comes within one wait of the CA's return
    assert 49 * MINUTE - 60 <= refused.max() < 49 * MINUTE


def test_every_attempt_through_an_outage_counts_for_its_rotation(
    small, simulate
):
    # a rotation's attempts are its CSRs: the unreachable ones sent in
    # the outage and the one issued (README, rotations table), so the
    # attempts of all rotations add up to every CSR of the run
    run = outage_run(small, simulate, 40)
    rotations, csrs = run.tables.rotations, run.tables.csrs

    assert set(csrs["outcome"]) == {"issued", "unreachable"}
    assert rotations["attempts"].sum() == len(csrs)
    assert rotations["attempts"].max() > 1


def test_an_unreachable_attempt_carries_no_bytes(small, simulate):
    # it reaches no CA (docs/models.md, ca.csr_unreachable)
    csrs = outage_run(small, simulate, 40).tables.csrs
    unreachable = csrs[csrs["outcome"] == "unreachable"]

    assert len(unreachable) > 0
    assert (unreachable[["csr_bytes", "chain_bytes"]] == 0).all().all()
