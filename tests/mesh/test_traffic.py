"""Connection counts against their Poisson means, for both engines."""

from __future__ import annotations

import math

import pytest

from meshsim.scenario import ScenarioError

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
