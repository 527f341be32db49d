"""Known failure modes of real meshes, with outcomes worked out by hand."""

from __future__ import annotations

import signal

import numpy as np
import pytest

HOUR = 3600.0


def outcomes(run) -> dict[str, int]:
    return {
        k: v for k, v in run.summary["handshakes"]["by_outcome"].items() if v
    }


def test_intermediate_expiring_before_leaves_clamps_them_without_outage(
    small, simulate
):
    # Intermediate made at 0 for 30h (NotAfter 30h), replaced at 0.8 *
    # 30h = 24h. 24h leaves signed after 6h and before then are clamped
    # to 30h, renew at half their shorter life, and nothing fails.
    run = simulate(
        small(
            "pki.workload_ttl=24h",
            "ca.intermediate_ttl=30h",
            "ca.rotation={prepare_at: 0.5, activate_at: 0.8}",
            "duration=48h",
        )
    )
    rotations = run.tables.rotations

    clamped = rotations[rotations["not_after_s"] == 30 * HOUR]
    assert len(clamped) > 0
    assert (clamped["installed_s"] > 6 * HOUR).all()
    assert outcomes(run) == {"ok": run.summary["handshakes"]["total"]}


def test_intermediate_never_rotated_stops_signing_when_it_expires(
    small, simulate
):
    # Without rotation the CA cannot sign after 30h: renewals are refused
    # and certificates, clamped to 30h, expire with it.
    run = simulate(
        small("pki.workload_ttl=24h", "ca.intermediate_ttl=30h", "duration=36h")
    )

    csrs = run.tables.csrs
    refused = csrs[csrs["outcome"] == "signer-expired"]
    assert refused["started_s"].min() >= 30 * HOUR
    expired = run.tables.handshakes
    expired = expired[expired["outcome"] == "expired"]
    assert expired["start_s"].min() == pytest.approx(30 * HOUR + 1)


def root_swap(small, simulate, overlap: str):
    # 4h leaves renew every 2h; the root is replaced by one with a new key
    # at 3h and every node gets the new bundle at once.
    change = f"ca.root_rotations=[{{at: 3h, key: new, overlap: {overlap}}}]"
    return simulate(small(change, "duration=8h"))


def test_root_swap_without_overlap_fails_until_both_ends_renew(small, simulate):
    run = root_swap(small, simulate, "false")

    failed = run.tables.handshakes
    failed = failed[failed["outcome"] != "ok"]
    assert set(failed["outcome"]) == {"unknown-authority"}
    # Old leaves fail from the swap until their next renewal, due 2h after
    # the one before 3h: every pod has renewed by 4h (+ queueing).
    assert failed["start_s"].min() == pytest.approx(3 * HOUR)
    assert failed["end_s"].max() <= 4 * HOUR + 1


def test_root_swap_with_overlap_fails_nothing(small, simulate):
    run = root_swap(small, simulate, "true")

    assert outcomes(run) == {"ok": run.summary["handshakes"]["total"]}


def test_same_key_root_reissue_keeps_old_leaves_valid(small, simulate):
    change = "ca.root_rotations=[{at: 3h, key: same, overlap: false}]"
    run = simulate(small(change, "duration=8h"))

    assert outcomes(run) == {"ok": run.summary["handshakes"]["total"]}


def test_clock_offsets_are_uniform_plus_normal_as_configured(small, simulate):
    # 400 nodes, each offset drawn as U(-60 s, 60 s) + N(0, 20 s).
    run = simulate(
        small(
            "mesh.nodes=400",
            "mesh.workloads=400",
            "mesh.clock_skew={uniform: 60s, normal: 20s}",
            "duration=1m",
        )
    )
    offsets = np.array(run.result.clock_offsets_s)

    assert len(offsets) == 400
    # |U| <= 60 s, and P(|N| > 6 * 20 s) is 2e-9 a node
    assert np.abs(offsets).max() < 60 + 6 * 20
    # mean 0 ± 4 SE, SE = sqrt(60²/3 + 20²) / sqrt(400) = 40 / 20 = 2 s
    assert offsets.mean() == pytest.approx(0.0, abs=4 * 2)
    # m4 = 60⁴/5 + 6 (60²/3) 20² + 3 20⁴ = 5.952e6 s⁴ (U and N independent)
    # var 60²/3 + 20² = 1600 ± 4 SE, SE = sqrt((m4 - 1600²) / 400) = 92 s²
    assert offsets.var(ddof=1) == pytest.approx(1600.0, abs=4 * 92)


def skewed(small, simulate, backdate: str):
    # node-1 runs 30 s behind the CA and the other nodes.
    return simulate(
        small(
            f"pki.backdate={backdate}",
            "mesh.clock_skew={offsets: [{node: node-1, offset: -30s}]}",
        )
    )


def test_lagging_clock_rejects_fresh_certificates_without_backdate(
    small, simulate
):
    run = skewed(small, simulate, "0s")
    topology = run.result.topology
    lagging = {p.name for p in topology.pods_on_node(1)}

    failed = run.tables.handshakes
    failed = failed[failed["outcome"] != "ok"]
    assert set(failed["outcome"]) == {"not-yet-valid"}
    # Only node-1's side refuses, and for at most 30 s after an issue.
    refusing = failed.apply(
        lambda r: r["server"] if r["refused_by"] == "server" else r["caller"],
        axis=1,
    )
    assert set(refusing) <= lagging
    assert (failed["end_s"] - failed["start_s"]).max() <= 30 + 1


def test_two_minute_backdate_absorbs_thirty_seconds_of_skew(small, simulate):
    run = skewed(small, simulate, "2m")

    assert outcomes(run) == {"ok": run.summary["handshakes"]["total"]}


def test_token_never_refreshed_makes_renewal_fail_and_expiry_follow(
    small, simulate
):
    # 12h token never refreshed; 4h certificates renew every 2h. Renewals
    # at 2h ... 10h succeed; the one due at 12h is refused, so the last
    # certificate (issued about 10h, NotAfter about 14h) expires.
    run = simulate(
        small(
            "pki.token_ttl=12h",
            "agent.token_refresh=false",
            "duration=16h",
        )
    )
    csrs = run.tables.csrs

    refused = csrs[csrs["outcome"] == "token-expired"]
    assert refused["submitted_s"].min() >= 12 * HOUR
    issued = csrs[csrs["outcome"] == "issued"]
    assert issued["submitted_s"].max() < 12 * HOUR
    # every pod's last certificate, issued just after 10h, ends at 14h
    # (whole seconds): its handshakes fail from NotAfter + 1 s on
    last = run.tables.rotations.groupby("agent")["not_after_s"].max()
    assert (last == 14 * HOUR).all()
    failed = run.tables.handshakes
    failed = failed[failed["outcome"] == "expired"]
    assert failed["start_s"].min() == 14 * HOUR + 1


def test_a_churned_pod_s_unrefreshed_token_starts_with_the_pod(small, simulate):
    # Pods arrive over 3h with 1h tokens that are never refreshed: each
    # churned pod's token is issued as it starts, so its first CSR is
    # signed however late it arrives, and it is refused only from an
    # hour after the pod started.
    run = simulate(
        small(
            "mesh.churn={rate: 0.01, lifetime: 10h}",
            "pki.token_ttl=1h",
            "agent.token_refresh=false",
            "duration=3h",
        )
    )
    csrs = run.tables.csrs
    churned = csrs[csrs["agent"].str.startswith("agent-churn-")]
    started = churned.groupby("agent")["submitted_s"].transform("min")

    assert (started > HOUR).sum() > 50
    first = churned[churned["submitted_s"] == started]
    assert set(first["outcome"]) == {"issued"}
    refused = churned[churned["outcome"] == "token-expired"]
    assert not refused.empty
    assert (refused["submitted_s"] >= started[refused.index] + HOUR).all()


def test_refreshed_token_keeps_renewals_going(small, simulate):
    run = simulate(small("pki.token_ttl=12h", "duration=16h"))

    assert set(run.tables.csrs["outcome"]) == {"issued"}


def test_node_without_the_new_root_refuses_until_its_bundle_arrives(
    small, simulate
):
    # Overlapping swap at 3h, but bundles take up to 4h to reach nodes.
    # Leaves renewed from 4h on are signed by the new root; a node that
    # still trusts only the old one refuses them, and says so, until its
    # bundle arrives (by 7h).
    run = simulate(
        small(
            "ca.root_rotations=[{at: 3h, key: new, overlap: true}]",
            "ca.bundle_delay=4h",
            "duration=8h",
        )
    )

    failed = run.tables.handshakes
    failed = failed[failed["outcome"] != "ok"]
    assert set(failed["outcome"]) == {"unknown-authority"}
    assert failed["start_s"].min() >= 4 * HOUR
    assert failed["end_s"].max() <= 7 * HOUR


def test_stolen_token_buys_certificates_until_it_expires(small, simulate):
    # A 12h token refreshed at 80% of its life: the one held at 5h was
    # issued at 0 and expires at 12h. The attacker asks every hour from
    # 5h, on the hour however long the CA took to answer.
    run = simulate(
        small(
            "pki.token_ttl=12h",
            "attacks=[{kind: token-theft, start: 5h, node: node-1}]",
            "duration=16h",
        )
    )
    asked = run.tables.csrs
    asked = asked[asked["agent"].str.startswith("attacker@")]

    issued = asked[asked["outcome"] == "issued"]
    assert list(issued["submitted_s"]) == [h * HOUR for h in range(5, 12)]
    assert list(asked[asked["outcome"] != "issued"]["outcome"]) == [
        "token-expired"
    ]
    window = run.tables.attack_windows.iloc[0]
    assert window["kind"] == "token-theft"
    # the last certificate's NotAfter, 11h + 4h, and its second
    assert window["end_s"] == 11 * HOUR + 4 * HOUR + 1


def test_intermediates_cut_short_by_an_expiring_root_stop_rotating(
    small, simulate
):
    # The root ends at 24h, with the run, and caps each new
    # intermediate's life, so rotations at 0.8 of it come ever closer to
    # 24h; once an intermediate would be replaced as it is made, it is
    # kept rather than replaced at one instant for ever.
    scenario = small(
        "pki.workload_ttl=1h",
        "pki.root_ttl=24h",
        "ca.intermediate_ttl=10h",
        "ca.rotation={prepare_at: 0.5, activate_at: 0.8}",
        "duration=24h",
    )

    def stuck(signum, frame):
        raise TimeoutError("the run did not end within 60 s")

    previous = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(60)
    try:
        run = simulate(scenario)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)

    # workloads renewed hourly to the end
    assert run.tables.rotations["installed_s"].max() > 23 * HOUR
