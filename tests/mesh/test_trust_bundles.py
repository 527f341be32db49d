"""How trust bundles reach nodes: after a random lag, newest wins."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
import simpy

from meshsim.clock import SimClock
from meshsim.mesh.credential import TrustBundle
from meshsim.mesh.state import MeshState
from meshsim.mesh.topology import build_topology

HOUR = 3600.0


def test_each_node_receives_a_bundle_update_after_uniform_lag_to_the_delay(
    small, simulate
):
    # At 30m the root is swapped without overlap and each of 50 nodes
    # gets the new bundle U(0, 1h) later. From then on it trusts only the
    # new root and refuses its peers' old leaves (renewed at 2h, after
    # the run): its first refusal is when its bundle arrived.
    run = simulate(
        small(
            "mesh.nodes=50",
            "mesh.workloads=100",
            "ca.root_rotations=[{at: 30m, key: new, overlap: false}]",
            "ca.bundle_delay=1h",
            "duration=100m",
        )
    )

    refused = run.tables.handshakes
    refused = refused[refused["outcome"] == "unknown-authority"]
    refusing = refused["caller_node"].where(
        refused["refused_by"] == "client", refused["server_node"]
    )
    lags = refused["start_s"].groupby(refusing).min() - 0.5 * HOUR
    assert len(lags) == 50
    assert lags.between(0, HOUR).all()
    # P(all 50 lags above 15m) = P(all below 45m) = 0.75⁵⁰ = 6e-7
    assert lags.min() < HOUR / 4
    assert lags.max() > 3 * HOUR / 4
    # mean 1800 s ± 4 SE, SE = 3600 / sqrt(12 * 50) = 147 s
    assert lags.mean() == pytest.approx(HOUR / 2, abs=4 * 147)


def test_bundle_update_overtaken_by_a_newer_one_is_dropped():
    # One node holding version 1; version 2 takes 1 s, version 3 none.
    env = simpy.Environment()
    topology = build_topology(
        trust_domain="example.org",
        nodes=1,
        workloads=1,
        service_accounts=1,
        namespaces=1,
        calls_per_service=0,
        outside=0,
        rng=np.random.default_rng(0),
    )
    state = MeshState(
        env,
        SimClock(datetime(2026, 1, 1, tzinfo=UTC)),
        topology,
        TrustBundle({}, version=1),
        slot_of_pod=[],
    )
    v2, v3 = TrustBundle({}, version=2), TrustBundle({}, version=3)
    received = []
    state.on_bundle(received.append)

    state.publish(v2, [1.0])
    state.publish(v3, [0.0])
    env.run(until=2.0)

    # v3 arrives at 0; v2, older, reaches the node at 1 s and is dropped
    assert state.bundle_of_node[0] is v3
    assert received == [0]
