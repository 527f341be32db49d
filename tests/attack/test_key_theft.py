"""Stolen keys pay off until the real NotAfter of what was stolen."""

from __future__ import annotations

import pytest

THEFT = "{kind: key-theft, start: 2h, node: node-1, persistent: %s}"
MITM = "{kind: mitm, start: 2h, duration: 10h, node: node-1, presents: stolen}"


def run_theft(small, simulate, *overrides: str, persistent: str = "false"):
    attacks = f"attacks=[{THEFT % persistent}, {MITM}]"
    return simulate(small(attacks, *overrides))


def test_stolen_certificate_is_presented_until_not_after_then_relayed(
    small, simulate
):
    run = run_theft(small, simulate)

    thefts = run.tables.thefts
    assert len(thefts) == 1
    not_after = thefts["not_after_s"].iloc[0]
    handshakes = run.tables.handshakes
    stolen = handshakes[handshakes["presented"] == "stolen"]
    read = stolen[stolen["intercepted"]]
    relayed = handshakes[
        (handshakes["presented"] == "relay")
        & (handshakes["server_id"] == thefts["spiffe_id"].iloc[0])
    ]

    # Presented and read through NotAfter (whole seconds, inclusive) ...
    assert set(stolen["outcome"]) == {"ok"}
    assert stolen["intercepted"].all()
    assert read["end_s"].max() == pytest.approx(not_after + 1)
    # ... and no longer presented from one second later, when clients
    # would refuse it as expired: those connections pass untouched.
    assert relayed["start_s"].min() == pytest.approx(not_after + 1)
    assert set(relayed["outcome"]) == {"ok"}
    assert not relayed["intercepted"].any()

    window = run.tables.attack_windows
    theft_window = window[window["kind"] == "key-theft"].iloc[0]
    assert theft_window["start_s"] == 2 * 3600
    # the window ends as the reading does, when the chain is refused
    assert theft_window["end_s"] == not_after + 1
    assert theft_window["intercepted"] == read["count"].sum() > 0
    # the on-path attacker (attack 1) read from its start at 2h to the
    # end of the last span it read in, NotAfter + 1 s: the theft's window
    mitm_windows = window[window["kind"] == "mitm"]
    assert len(mitm_windows) == 1
    mitm_window = mitm_windows.iloc[0]
    assert mitm_window["attack"] == 1
    assert mitm_window["start_s"] == 2 * 3600
    assert mitm_window["end_s"] == not_after + 1
    assert mitm_window["intercepted"] == read["count"].sum()


def test_node_agent_compromise_exposes_every_identity_on_the_node(
    small, simulate
):
    sidecar = run_theft(small, simulate)
    node_agent = run_theft(small, simulate, "mesh.agent=per-node")

    on_node = {
        p.account for p in node_agent.result.topology.pods if p.node == 1
    }
    assert sidecar.summary["attack"]["identities_exposed"] == 1
    assert node_agent.summary["attack"]["identities_exposed"] == len(on_node)
    assert len(on_node) > 1


def test_persistent_theft_copies_renewals_until_detected(small, simulate):
    # 4h certificates renew every 2h; stolen at 2h and detected 5h later,
    # the attacker copies the renewals issued until 7h.
    run = run_theft(small, simulate, persistent="true, detected_after: 5h")

    start, detected = 2 * 3600, 7 * 3600
    thefts = run.tables.thefts.sort_values("stolen_s")
    rotations = run.tables.rotations
    # the agent that held the certificate copied at the start
    first = rotations["serial_number"] == thefts["serial_number"].iloc[0]
    agent = rotations.loc[first, "agent"].iloc[0]
    installed = rotations.loc[rotations["agent"] == agent, "installed_s"]
    renewed = installed[(installed > start) & (installed < detected)]
    renewed = renewed.sort_values()

    # one copy at 2h, then one per renewal the pod installs before 7h:
    # renewals at half-life of 4h, at 2h, 4h and 6h (each a signature
    # later), so 1 + 3 copies
    assert len(renewed) == 3
    assert thefts["stolen_s"].tolist() == [start, *renewed]
    assert thefts["serial_number"].iloc[1:].tolist() == (
        rotations.loc[renewed.index, "serial_number"].tolist()
    )


def test_interceptions_count_for_the_attack_whose_chain_was_used(
    small, simulate
):
    # Two thefts of the same pod's key, the second 2h later (it copies a
    # newer certificate); the attacker presents the newest, so each theft
    # is credited only with the interceptions made with its own copy.
    attacks = (
        "attacks=[{kind: key-theft, start: 2h, node: node-1},"
        " {kind: key-theft, start: 4h, node: node-1},"
        f" {MITM}]"
    )
    run = simulate(small(attacks))

    windows = run.tables.attack_windows
    thefts = windows[windows["kind"] == "key-theft"].set_index("attack")
    read = run.tables.handshakes
    read = read[read["intercepted"]]
    assert thefts["intercepted"].sum() == read["count"].sum()
    assert (thefts["intercepted"] > 0).all()


def test_a_key_stolen_after_its_certificate_expired_pays_off_for_no_time(
    small, simulate
):
    # 4h certificates from 0 s expire at 4h; the CA is down from 1h to
    # 9h, so at 6h the pod still holds its expired certificate
    run = simulate(
        small(
            "ca.outages=[{start: 1h, duration: 8h}]",
            "attacks=[{kind: key-theft, start: 6h, node: node-1}]",
        )
    )

    thefts = run.tables.thefts
    window = run.tables.attack_windows.iloc[0]
    attack = run.summary["attack"]
    assert thefts["not_after_s"].iloc[0] < thefts["stolen_s"].iloc[0]
    assert window["duration_s"] == 0
    assert window["start_s"] == window["end_s"] == 6 * 3600
    assert attack["key_theft_window_mean_s"] == 0
    assert attack["identities_exposed"] == 0


@pytest.mark.parametrize(
    ("stolen", "window_s", "exposed"), [("14400.5s", 0.5, 1), ("14401s", 0, 0)]
)
def test_a_key_stolen_within_its_not_after_second_still_pays_off(
    small, simulate, stolen, window_s, exposed
):
    # 4h certificates from 0 s have NotAfter 4h, accepted through 4h +
    # 0.999 s (whole seconds, inclusive); the CA is down from 1h to 9h
    run = simulate(
        small(
            "ca.outages=[{start: 1h, duration: 8h}]",
            f"attacks=[{{kind: key-theft, start: {stolen}, node: node-1}}]",
        )
    )

    window = run.tables.attack_windows.iloc[0]
    attack = run.summary["attack"]
    assert run.tables.thefts["not_after_s"].iloc[0] == 4 * 3600
    assert window["duration_s"] == pytest.approx(window_s)
    assert attack["identities_exposed"] == exposed
    assert attack["identities_per_key_theft"] == exposed


def test_thefts_at_random_moments_pay_off_on_average_for_t_one_minus_r_half(
    small, simulate
):
    # 24h certificates renewed at half-life: a key stolen at a moment
    # uniform over a renewal period stays valid T(1 - r/2) = 18h on
    # average, from 12h to 24h (and NotAfter's own second). 200 thefts
    # drawn over [12h, 36h): the mean of 200 uniform windows has a
    # standard error of 12h/sqrt(12 * 200) = 0.245h.
    theft = "{kind: key-theft, start: 12h, spread: 24h, node: node-1}"
    run = simulate(
        small(
            f"attacks=[{', '.join([theft] * 200)}]",
            "pki.workload_ttl=24h",
            "duration=40h",
            "traffic.rate=0",
            "pki.crypto=modeled",
        )
    )

    thefts = run.tables.thefts
    windows = run.tables.attack_windows["duration_s"] / 3600
    assert len(thefts) == 200
    assert thefts["stolen_s"].between(12 * 3600, 36 * 3600).all()
    assert thefts["stolen_s"].nunique() == 200
    assert windows.between(12, 24 + 1 / 3600).all()
    assert abs(windows.mean() - 18) < 4 * 0.245
    assert run.summary["attack"]["key_theft_window_mean_s"] / 3600 == (
        pytest.approx(windows.mean())
    )


def test_a_spread_start_is_drawn_from_the_seed(small, simulate):
    theft = "attacks=[{kind: key-theft, start: 1h, spread: 8h, node: node-1}]"

    def stolen(seed: int) -> float:
        run = simulate(small(theft, f"seed={seed}", "pki.crypto=modeled"))
        taken = float(run.tables.thefts["stolen_s"].iloc[0])
        # the summary records the start it drew
        assert run.summary["attack"]["starts_s"] == [taken]
        assert 3600 <= taken < 9 * 3600
        return taken

    assert stolen(5) == stolen(5)
    assert stolen(5) != stolen(6)


def test_identities_per_key_theft_average_each_thefts_own(small, simulate):
    # node agents on node-1 and node-2 hold their pods' identities, which
    # may overlap; a third theft at 0 s, before any certificate, copies
    # nothing and counts as none
    thefts = [
        "{kind: key-theft, start: 2h, node: node-1}",
        "{kind: key-theft, start: 2h, node: node-2}",
        "{kind: key-theft, start: 0s, node: node-3}",
    ]
    run = simulate(
        small(
            f"attacks=[{', '.join(thefts)}]",
            "mesh.agent=per-node",
            "pki.crypto=modeled",
        )
    )

    pods = run.result.topology.pods
    held = [{p.account for p in pods if p.node == n} for n in (1, 2)]
    attack = run.summary["attack"]
    assert attack["identities_per_key_theft"] == pytest.approx(
        (len(held[0]) + len(held[1])) / 3
    )
    assert attack["identities_exposed"] == len(held[0] | held[1])


def test_an_attacker_whose_clock_lags_presents_an_older_copy_still_valid(
    small, simulate
):
    # 4h certificates renewed every 2h, copied from 1h on; node-1's clock
    # lags 1h, so each new copy is not yet valid there for an hour after
    # its renewal, while the copy before it still is: the attacker keeps
    # presenting a stolen chain, never relaying
    run = simulate(
        small(
            "attacks=[{kind: key-theft, start: 1h, node: node-1,"
            " persistent: true}, {kind: mitm, start: 1h, duration: 6h,"
            " node: node-1, presents: stolen}]",
            "mesh.clock_skew={offsets: [{node: node-1, offset: -1h}]}",
            "pki.backdate=0s",
            "pki.crypto=modeled",
        )
    )

    handshakes = run.tables.handshakes
    stolen_id = run.tables.thefts["spiffe_id"].iloc[0]
    to_it = handshakes[
        (handshakes["server_id"] == stolen_id) & (handshakes["attack"] == 1)
    ]
    assert len(to_it) > 0
    assert set(to_it["presented"]) == {"stolen"}
