"""Connection counts against their Poisson means, for both engines."""

from __future__ import annotations

import gc
import math

import pytest
import simpy

from meshsim.mesh.credential import Credential
from meshsim.scenario import ScenarioError
from meshsim.simulation import simulate as simulate_only

HOUR = 3600.0


@pytest.mark.parametrize("detail", ["pairs", "classes"])
def test_total_connections_match_rate_times_callers_times_duration(
    small, simulate, detail
):
    # Every pod calls at least one service, so the mean count is
    # N * rate * D; a Poisson count lies within 5 sigma of it.
    run = simulate(small(f"traffic.detail={detail}", "traffic.rate=0.2"))
    mean = 16 * 0.2 * 12 * HOUR

    total = run.summary["handshakes"]["total"]
    assert abs(total - mean) < 5 * math.sqrt(mean)


def test_engines_agree_on_how_many_connections_fail_in_an_outage(
    shipped, simulate
):
    # The expired share is set by the outage, not by the engine: both
    # counts estimate the same Poisson mean.
    counts = {}
    for detail in ("pairs", "classes"):
        run = simulate(
            shipped(
                "ca-outage.yaml",
                "mesh.workloads=30",
                f"traffic.detail={detail}",
            )
        )
        counts[detail] = run.summary["handshakes"]["by_outcome"]["expired"]
    pairs, classes = counts["pairs"], counts["classes"]

    assert pairs > 0 and classes > 0
    assert abs(pairs - classes) < 5 * math.sqrt(pairs + classes)


def test_class_engine_refuses_worlds_where_nodes_disagree(small):
    with pytest.raises(ScenarioError) as caught:
        small(
            "traffic.detail=classes",
            "mesh.clock_skew={uniform: 5s}",
        )

    assert "traffic.detail" in str(caught.value)
    assert "mesh.clock_skew" in str(caught.value)


@pytest.mark.parametrize("detail", ["pairs", "classes"])
def test_a_replaced_credential_is_let_go_at_once(small, detail):
    # The engine waits for both validity edges of every credential; the
    # edges of a replaced one must not keep it (and its key) in memory
    # until it expires: one credential per slot at any time.
    scenario = small("pki.crypto=modeled", f"traffic.detail={detail}")
    live: list[int] = []

    def count(fraction: float) -> None:
        if round(fraction * 100) % 5 == 0:
            objects = gc.get_objects()
            live.append(sum(isinstance(o, Credential) for o in objects))

    gc.collect()
    simulate_only(scenario, count)

    # renewals at about half of the 4h life: three rounds in 12h
    assert live[0] > 0
    assert max(live) == live[0]


@pytest.mark.parametrize("detail", ["pairs", "classes"])
def test_edges_of_credentials_replaced_before_a_wake_wake_nothing(
    small, simulate, monkeypatch, detail
):
    # The engine waits for the NotAfter (plus one second) of every
    # credential, but a credential replaced before the engine last woke
    # can change nothing: its edge must cost no wake. Each wake is
    # therefore the edge of a credential still installed at the wake
    # before it.
    wakes: list[float] = []
    step = simpy.Environment.step

    def counted(env: simpy.Environment) -> None:
        when, _, _, event = env._queue[0]
        names = {getattr(c, "__name__", "") for c in event.callbacks or ()}
        if "_on_wake" in names:
            wakes.append(when)
        step(env)

    monkeypatch.setattr(simpy.Environment, "step", counted)
    run = simulate(
        small(
            "pki.crypto=modeled", "pki.jitter=0.2", f"traffic.detail={detail}"
        )
    )

    rotations = run.tables.rotations.sort_values("installed_s")
    slots = rotations.groupby(["agent", "spiffe_id"])["installed_s"]
    gone = slots.shift(-1).fillna(math.inf)
    edges = list(zip(rotations["not_after_s"] + 1, gone, strict=True))
    assert len(edges) > 16 * 2
    assert 0 < len(wakes) < len(edges) / 4
    previous = 0.0
    for wake in wakes:
        assert any(
            abs(edge - wake) < 1e-6 and until > previous
            for edge, until in edges
        )
        previous = wake
