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
