"""On-path attackers are stopped or not by real verification."""

from __future__ import annotations

import math

import pytest

ATTACK = (
    "attacks=[{kind: mitm, start: 1h, duration: 6h, node: node-1,"
    " presents: %s}]"
)


@pytest.mark.parametrize("presents", ["self-signed", "rogue-ca"])
def test_forged_chain_is_refused_as_unknown_authority(
    small, simulate, presents
):
    run = simulate(small(ATTACK % presents))

    handshakes = run.tables.handshakes
    attacked = handshakes[handshakes["attack"] == 0]
    assert attacked["count"].sum() > 0
    assert set(attacked["outcome"]) == {"unknown-authority"}
    assert set(attacked["refused_by"]) == {"client"}
    assert run.summary["attack"]["intercepted"] == 0
    # Outside the attack, the same pairs go through.
    clear = handshakes[handshakes["attack"] == -1]
    assert set(clear["outcome"]) == {"ok"}
    assert clear["count"].sum() > 0
    # through_attacker is the part of each outcome decided with the
    # attacker on the path: all of its refusals, none of the clear "ok"s
    through = run.summary["handshakes"]["through_attacker"]
    assert through["unknown-authority"] == attacked["count"].sum()
    assert through.get("ok", 0) == 0
    assert sum(through.values()) == attacked["count"].sum()


def test_attacker_presenting_nothing_reads_no_mtls(small, simulate):
    run = simulate(small(ATTACK % "none"))

    assert run.summary["attack"]["intercepted"] == 0
    assert set(run.tables.handshakes["outcome"]) == {"ok"}
    # the attacker was on the path, presenting nothing, and every
    # connection through it went through untouched
    handshakes = run.tables.handshakes
    attacked = handshakes[handshakes["attack"] == 0]
    passed = attacked["count"].sum()
    assert passed > 0
    assert set(attacked["presented"]) == {"none"}
    assert not attacked["intercepted"].any()
    assert run.summary["handshakes"]["through_attacker"]["ok"] == passed


def test_permissive_mesh_leaks_outside_plaintext_to_the_path(shipped, simulate):
    run = simulate(shipped("permissive-outside.yaml", "mesh.workloads=40"))

    read = run.tables.handshakes
    read = read[read["intercepted"]]
    assert read["count"].sum() > 0
    assert set(read["outcome"]) == {"plaintext-accepted"}
    assert set(read["caller"].str.startswith("outside-")) == {True}


def test_strict_mesh_leaves_the_path_nothing_to_read(shipped, simulate):
    run = simulate(
        shipped(
            "permissive-outside.yaml", "mesh.workloads=40", "mesh.mtls=strict"
        )
    )

    outcomes = run.summary["handshakes"]["by_outcome"]
    assert run.summary["attack"]["intercepted"] == 0
    assert outcomes["plaintext-refused"] > 0
    assert outcomes["plaintext-accepted"] == 0


def test_connections_through_the_attacker_match_those_touching_its_node(
    small, simulate
):
    run = simulate(small(ATTACK % "none"))
    topology = run.result.topology
    rate = run.result.scenario.traffic.rate

    # Each caller opens connections at `rate`, split evenly over the
    # services it calls and their pods; the attacker on node-1 sees a
    # caller's every connection when the caller runs there, else the
    # share whose backend does. Over its 6h the count is Poisson.
    touching = 0.0
    for caller in topology.callers:
        if caller.node == 1:
            touching += rate
            continue
        for service in caller.calls:
            backends = topology.pods_of_account(service)
            there = sum(1 for pod in backends if pod.node == 1)
            touching += rate / len(caller.calls) * there / len(backends)
    mean = touching * 6 * 3600

    through = run.summary["handshakes"]["through_attacker"]["ok"]
    assert abs(through - mean) < 5 * math.sqrt(mean)
