"""Each profile reproduces its real mesh's rule, checked numerically."""

from __future__ import annotations

import functools
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from meshsim.cli import main
from meshsim.scenario import PROFILES
from meshsim.scenario.profiles import PROFILE_SETTINGS

HOUR = 3600.0


@pytest.mark.parametrize("profile", PROFILES)
def test_profile_scenario_runs_from_the_cli(profile, tmp_path, shipped):
    path = f"scenarios/profiles/{profile}.yaml"
    result = CliRunner().invoke(
        main,
        [
            "run",
            path,
            "--out",
            str(tmp_path / profile),
            "--set",
            "duration=30h",
            "--set",
            "ca.sign_time=1ms",
        ],
    )

    assert result.exit_code == 0, result.output
    assert shipped(f"profiles/{profile}.yaml").profile == profile


# Each profile's values as the project's domain notes give them, with
# where the real system keeps them (durations in seconds).
_FROM_THE_REAL_MESHES = [
    # pilot-agent: SECRET_TTL, SECRET_GRACE_PERIOD_RATIO(_JITTER), its
    # 5 fast retries of 100 ms doubling with 10% jitter, then 500 ms to
    # 60 s; istiod: MAX_WORKLOAD_CERT_TTL, a 2 min backdate, 12h tokens
    ("istio-sidecar", "pki.workload_ttl", 24 * HOUR),
    ("istio-sidecar", "pki.max_workload_ttl", 90 * 24 * HOUR),
    ("istio-sidecar", "pki.grace_ratio", 0.5),
    ("istio-sidecar", "pki.jitter", 0.01),
    ("istio-sidecar", "pki.backdate", 120.0),
    ("istio-sidecar", "pki.token_ttl", 12 * HOUR),
    ("istio-sidecar", "agent.fast_retries", 5),
    ("istio-sidecar", "agent.fast_retry_initial", 0.1),
    ("istio-sidecar", "agent.backoff_jitter", 0.1),
    ("istio-sidecar", "agent.backoff_initial", 0.5),
    ("istio-sidecar", "agent.backoff_max", 60.0),
    # ztunnel: one per node, NotBefore + life/2, 1 s doubling, +-20%,
    # capped at 150 s, 8 CSRs in flight; istiod's node authorizer
    ("istio-ambient", "mesh.agent", "per-node"),
    ("istio-ambient", "pki.jitter", 0.0),
    ("istio-ambient", "agent.lifetime_from", "certificate"),
    ("istio-ambient", "agent.backoff_initial", 1.0),
    ("istio-ambient", "agent.backoff_jitter", 0.2),
    ("istio-ambient", "agent.backoff_max", 150.0),
    ("istio-ambient", "agent.max_in_flight", 8),
    ("istio-ambient", "ca.node_authorization", True),
    # SPIRE: 1h SVIDs at U(0.45, 0.55), 10 s backdate, a 24h server CA
    # prepared at 1/2 and active at 5/6, backoff capped at 8 min
    ("spire", "mesh.agent", "per-node"),
    ("spire", "pki.workload_ttl", HOUR),
    ("spire", "pki.jitter", 0.05),
    ("spire", "pki.backdate", 10.0),
    ("spire", "pki.root_ttl", 24 * HOUR),
    ("spire", "ca.rotation.prepare_at", 0.5),
    ("spire", "ca.rotation.activate_at", pytest.approx(5 / 6, abs=1e-4)),
    ("spire", "agent.backoff_max", 8 * 60.0),
    # Linkerd: renew after 70% of what remains (g = 0.3), retry at 70%
    # of what remains within [10 s, 24h], 20 s on both ends
    ("linkerd", "pki.grace_ratio", 0.3),
    ("linkerd", "pki.backdate", 20.0),
    ("linkerd", "pki.not_after_allowance", 20.0),
    ("linkerd", "agent.backoff", "remaining"),
    ("linkerd", "agent.remaining_fraction", 0.7),
    ("linkerd", "agent.backoff_initial", 10.0),
    ("linkerd", "agent.backoff_max", 24 * HOUR),
]


@pytest.mark.parametrize(("profile", "key", "expected"), _FROM_THE_REAL_MESHES)
def test_a_profile_sets_the_real_meshs_value(
    small, profile: str, key: str, expected: object
):
    scenario = small(f"profile={profile}", text="name: p\nduration: 1h\n")

    value = functools.reduce(getattr, key.split("."), scenario)

    assert value == expected


def test_profiles_command_lists_every_value_with_a_source():
    result = CliRunner().invoke(main, ["profiles"])

    assert result.exit_code == 0
    for name, settings in PROFILE_SETTINGS.items():
        assert f"profile: {name}" in result.output
        for setting in settings:
            assert setting.key in result.output
            assert setting.source.split()[0] in result.output


def test_profiles_command_names_an_unknown_profile_and_the_known_ones():
    result = CliRunner().invoke(main, ["profiles", "nope"])

    assert result.exit_code == 2
    known = ", ".join(PROFILE_SETTINGS)
    assert result.output == (f"error: profile: 'nope' is not one of {known}\n")


def test_profiles_command_prints_only_the_profile_named():
    result = CliRunner().invoke(main, ["profiles", "spire"])

    assert result.exit_code == 0
    assert "profile: spire" in result.output
    assert "profile: linkerd" not in result.output


def test_scenario_keys_override_the_profile(small):
    scenario = small("profile=istio-sidecar", "pki.key=ecdsa-p256")

    assert scenario.pki.key == "ecdsa-p256"
    assert scenario.pki.token_ttl == 12 * HOUR
    assert scenario.agent.fast_retries == 5


def test_a_key_set_inside_a_profile_mapping_keeps_its_other_keys(small):
    # spire's ca.rotation is {prepare_at: 1/2, activate_at: 5/6}
    scenario = small("profile=spire", "ca.rotation.prepare_at=0.4")

    assert scenario.ca.rotation is not None
    assert scenario.ca.rotation.prepare_at == 0.4
    assert scenario.ca.rotation.activate_at == 5 / 6


def test_istio_sidecar_renews_within_half_life_plus_minus_one_percent(
    small, simulate
):
    # Istio: remaining <= g * lifetime, g = 0.5 ± U(0, 0.01), lifetime
    # from the agent's clock at install: the wait is (1 - g) * lifetime.
    run = simulate(
        small("profile=istio-sidecar", "pki.key=ecdsa-p256", "duration=24h")
    )
    rotations = run.tables.rotations

    lifetime = rotations["not_after_s"] - rotations["installed_s"]
    share = (rotations["renew_at_s"] - rotations["installed_s"]) / lifetime
    assert share.between(0.49, 0.51).all()
    assert (share < 0.5).any() and (share > 0.5).any()


@pytest.mark.parametrize(
    ("profile", "low", "high"),
    [("istio-ambient", 0.5, 0.5), ("spire", 0.45, 0.55)],
)
def test_a_certificate_lifetime_renewal_counts_from_not_before(
    small, simulate, profile: str, low: float, high: float
):
    # ztunnel renews at NotBefore + life/2; SPIRE at U(0.45, 0.55) of
    # NotAfter - NotBefore (the backdate included in both); the small
    # mesh's own jitter of 0 is left out, for the profile's to stand
    run = simulate(
        small(
            f"profile={profile}",
            "traffic.rate=0",
            "pki={workload_ttl: 4h}",
        )
    )
    rotations = run.tables.rotations

    life = rotations["not_after_s"] - rotations["not_before_s"]
    share = (rotations["renew_at_s"] - rotations["not_before_s"]) / life
    assert share.between(low - 1e-9, high + 1e-9).all()
    # SPIRE's draws reach near both ends of their range
    assert share.min() < low + 0.01 and share.max() > high - 0.01


def test_ambient_sends_one_csr_per_identity_per_node_eight_at_a_time(
    small, simulate
):
    scenario = small(
        "profile=istio-ambient",
        "mesh.nodes=2",
        "mesh.workloads=40",
        "mesh.service_accounts=20",
        "ca.sign_time=10ms",
        "traffic.rate=0",
        "duration=1h",
    )
    run = simulate(scenario)
    csrs = run.tables.csrs

    # Deduplicated: one CSR per (node, service account present there).
    pairs = {(p.node, p.account) for p in run.result.topology.pods}
    per_node = csrs.groupby("agent").size().sort_index()
    expected = pd.Series(
        [sum(1 for n, _ in pairs if n == node) for node in (0, 1)],
        index=["agent-node-0", "agent-node-1"],
    )
    assert per_node.to_dict() == expected.to_dict()

    # At most 8 outstanding per node agent at any time.
    for _, rows in csrs.groupby("agent"):
        events = [(t, 1) for t in rows["submitted_s"]]
        events += [(t, -1) for t in rows["finished_s"]]
        outstanding = np.cumsum([d for _, d in sorted(events)])
        assert outstanding.max() == 8


def test_ambient_node_authorization_refuses_impersonation(small, simulate):
    attack = "attacks=[{kind: impersonation, start: 1h, node: node-1}]"
    run = simulate(small("profile=istio-ambient", attack, "duration=2h"))
    topology = run.result.topology

    on_node = {
        str(topology.accounts[p.account].spiffe_id)
        for p in topology.pods_on_node(1)
    }
    asked = run.tables.csrs[run.tables.csrs["agent"] == "attacker@node-1"]
    refused = asked[asked["outcome"] == "node-unauthorized"]
    issued = asked[asked["outcome"] == "issued"]
    assert set(issued["spiffe_id"]) == on_node
    assert len(refused) == len(topology.accounts) - len(on_node) > 0
    assert run.summary["attack"]["identities_exposed"] == len(on_node)


def test_without_node_authorization_impersonation_gets_every_identity(
    small, simulate
):
    attack = "attacks=[{kind: impersonation, start: 1h, node: node-1}]"
    run = simulate(
        small(
            "profile=istio-ambient",
            "ca.node_authorization=false",
            attack,
            "duration=2h",
        )
    )

    accounts = len(run.result.topology.accounts)
    assert run.summary["attack"]["identities_exposed"] == accounts


def test_spire_caps_svids_at_the_ca_not_after_near_activation(small, simulate):
    # Server CA: made at 0 for 24h, so NotAfter 24h; the next CA is
    # activated at 5/6 * 24h = 20h. 5h30m SVIDs (more than ca_ttl / 6 =
    # 4h) renewed at half-life come at about 19.2h, signed by the first CA
    # and capped at 24h; after 20h the next CA (NotAfter 36h) signs
    # uncapped ones, 5h30m and the 10 s backdate long.
    run = simulate(
        small(
            "profile=spire",
            "pki.workload_ttl=5h30m",
            "pki.max_workload_ttl=5h30m",
            "duration=24h",
        )
    )
    rotations = run.tables.rotations
    capped = rotations[rotations["installed_s"].between(18.5 * HOUR, 20 * HOUR)]
    later = rotations[rotations["installed_s"] > 20 * HOUR + 60]

    assert len(capped) > 0
    assert len(later) > 0
    assert (capped["not_after_s"] == 24 * HOUR).all()
    lives = later["not_after_s"] - later["not_before_s"]
    assert (lives == 5.5 * HOUR + 10).all()
    assert run.summary["rotation"]["issued_lifetime_min_s"] < 5.5 * HOUR
    # The next root was in every bundle before it signed: nothing failed.
    assert set(run.tables.handshakes["outcome"]) == {"ok"}


def test_the_root_written_is_the_one_the_written_chains_lead_to(
    small, simulate
):
    # SPIRE's server CA of 24h is replaced and leaves the bundle within
    # 48h; the chains written are the first issued, under the first one
    run = simulate(small("profile=spire", "duration=48h", "traffic.rate=0"))
    root = run.result.root
    start = run.result.scenario.start_time

    assert root.not_valid_after_utc < start + timedelta(hours=48)
    assert root not in run.result.roots
    for chain in run.result.issued:
        chain[-1].verify_directly_issued_by(root)


def test_linkerd_refresh_series_is_70_percent_of_what_remains(small, simulate):
    # One proxy, CA down from 1h on: it refreshes after 70% of the life
    # left, then after 70% of what is left, ... : 16.8h, +5.04h, +1.512h.
    lone = (
        "mesh.workloads=1",
        "mesh.nodes=1",
        "mesh.service_accounts=1",
        "mesh.namespaces=1",
        "mesh.calls_per_service=0",
    )
    run = simulate(
        small(
            "profile=linkerd",
            "pki.workload_ttl=24h",
            *lone,
            "ca.outages=[{start: 1h, duration: 47h}]",
            "duration=24h",
        )
    )
    attempts = run.tables.csrs["submitted_s"].to_numpy()
    first = run.tables.rotations.iloc[0]

    life = first["not_after_s"] - first["installed_s"]  # 24h + 20 s
    expected = [first["installed_s"] + life * (1 - 0.3**k) for k in (1, 2, 3)]
    np.testing.assert_allclose(attempts[1:4], expected, rtol=0, atol=1e-6)
    assert expected[0] - first["installed_s"] == pytest.approx(
        16.8 * HOUR, abs=15
    )
    assert expected[1] - expected[0] == pytest.approx(5.04 * HOUR, abs=5)
