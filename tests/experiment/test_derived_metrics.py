"""The figures a sweep adds to each run's summary, against runs whose
lapses are known."""

from __future__ import annotations

import pytest

from meshsim.experiment.worker import derived_metrics


def test_a_churned_pod_deleted_after_its_certificate_has_no_lapse(
    small, simulate
):
    # Pods living 1h on average under 10 min certificates, and the CA
    # always up: every certificate is replaced in time, and a deleted
    # pod's last one expiring afterwards is no lapse.
    run = simulate(
        small(
            "duration=12h",
            "pki.workload_ttl=10m",
            "attacks=[]",
            "traffic.rate=0",
            "pki.crypto=modeled",
            "mesh.churn={rate: 0.01, lifetime: 1h}",
        )
    )

    credentials = derived_metrics(run, 0.0)["credentials"]

    assert len(run.result.recorder.deleted_s) > 300
    assert credentials["lapses"] == 0
    assert credentials["lapsed_s"] == 0


def test_an_outage_past_the_grace_lapses_every_standing_identity(
    small, simulate
):
    # 4h certificates from 0 s, renewed from 2h; the CA is down from 1h to
    # 9h, so each first certificate is refused from 4h + 1 s until its
    # agent's first CSR after 9h is answered.
    run = simulate(
        small(
            "duration=12h",
            "ca.outages=[{start: 1h, duration: 8h}]",
            "attacks=[]",
            "traffic.rate=0",
            "pki.crypto=modeled",
        )
    )
    rotations = run.tables.rotations
    after = rotations[rotations["installed_s"] > 9 * 3600]
    second = after.groupby(["agent", "spiffe_id"])["installed_s"].min()

    credentials = derived_metrics(run, 0.0)["credentials"]

    assert credentials["lapses"] == len(second) == 16
    gaps = second - (4 * 3600 + 1)
    assert credentials["lapsed_s"] == pytest.approx(gaps.sum())


def test_steady_ca_figures_count_from_the_warmup_over_the_rest_of_the_run(
    small, simulate
):
    # One worker signs each CSR in 40 s. The 16 first CSRs, sent at 0 s,
    # are signed from 0 to 640 s, each certificate's NotAfter 4h after
    # its signature began; each renews when half of NotAfter less its
    # install time is left, so renewal k is sent at 7220 + 40k s and
    # served at once. The run ends at 7860 s, the 16th renewal half
    # signed. After a 100 s warmup: the 16 renewals, 15 answered, over
    # 7760 s; the worker busy 15 x 40 s and the last 40 s.
    run = simulate(
        small(
            "duration=7860s",
            "ca.sign_time=40s",
            "ca.workers=1",
            "attacks=[]",
            "traffic.rate=0",
            "pki.crypto=modeled",
        )
    )

    steady = derived_metrics(run, 100.0)["steady"]["ca"]

    assert steady["csr_total"] == 15
    assert steady["csr_unanswered"] == 1
    assert steady["csr_rate_per_s"] == pytest.approx(15 / 7760)
    assert steady["utilisation"] == pytest.approx((15 * 40 + 40) / 7760)
    assert steady["wait_max_s"] == 0.0


def test_identities_per_agent_is_the_mean_over_node_agents(small, simulate):
    run = simulate(
        small(
            "mesh.agent=per-node",
            "duration=1h",
            "attacks=[]",
            "traffic.rate=0",
            "pki.crypto=modeled",
        )
    )
    held: dict[int, set[int]] = {}
    for pod in run.result.topology.pods:
        held.setdefault(pod.node, set()).add(pod.account)
    counts = [len(accounts) for accounts in held.values()]

    credentials = derived_metrics(run, 0.0)["credentials"]

    # each node agent holds one certificate per account with a pod on
    # its node; the nodes hold unequal numbers, so a mean is no maximum
    assert len(set(counts)) > 1
    assert credentials["identities_per_agent"] == sum(counts) / len(counts)
