"""Seeds and statistics: common random numbers, and confidence
intervals that match a hand computation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from meshsim.experiment import (
    SweepOutcome,
    ci_half_width,
    points_table,
    replication_seeds,
)
from meshsim.experiment.tables import scenario_columns


def test_ci_half_width_matches_a_hand_value() -> None:
    # mean 2, s = 1, t(0.975, 2) = 4.302653 (from the t table)
    assert ci_half_width([1.0, 2.0, 3.0]) == pytest.approx(
        4.302653 / math.sqrt(3), rel=1e-6
    )


def test_ci_half_width_is_nan_below_two_values() -> None:
    assert math.isnan(ci_half_width([5.0]))
    assert math.isnan(ci_half_width([5.0, math.nan]))


def test_points_table_gives_mean_std_n_and_ci_per_point_and_metric() -> None:
    runs = pd.DataFrame(
        {
            "point": ["p000"] * 4,
            "replication": [0, 1, 2, 3],
            "seed": [1, 2, 3, 4],
            "status": ["ok", "ok", "ok", "failed"],
            "error": [None, None, None, "ValueError: no"],
            "scenario_sha256": ["a", "b", "c", None],
            "scenario.agent": ["per-node"] * 4,
            "ca.csr_total": pd.array([1, 2, 3, None], dtype="Int64"),
        }
    )

    row = points_table(runs).iloc[0]

    assert row["metric"] == "ca.csr_total"
    assert (row["n"], row["failed"]) == (3, 1)
    assert row["mean"] == pytest.approx(2.0)
    assert row["std"] == pytest.approx(1.0)
    assert row["ci95"] == pytest.approx(4.302653 / math.sqrt(3), rel=1e-6)


def test_points_table_leaves_out_failed_runs_and_missing_values() -> None:
    # two successful runs measured 1 and 2, a third measured nothing (a
    # wait where no CSR was answered); the failed run's 100 is no figure
    runs = pd.DataFrame(
        {
            "point": ["p000"] * 4,
            "replication": [0, 1, 2, 3],
            "status": ["ok", "ok", "ok", "failed"],
            "scenario.agent": ["per-node"] * 4,
            "ca.wait_p99_s": [1.0, 2.0, np.nan, 100.0],
        }
    )

    row = points_table(runs).iloc[0]

    assert (row["n"], row["failed"]) == (2, 1)
    assert row["mean"] == pytest.approx(1.5)
    assert row["std"] == pytest.approx(math.sqrt(0.5))
    # t(0.975, 1 degree of freedom) = 12.7062 times std / sqrt(2)
    assert row["ci95"] == pytest.approx(
        12.706205 * math.sqrt(0.5) / math.sqrt(2), rel=1e-6
    )


def test_scenario_columns_give_fan_out_and_the_longest_outage(small) -> None:
    scenario = small(
        "mesh.workloads=16",
        "mesh.nodes=4",
        "ca.outages=[{start: 1h, duration: 1h}, {start: 4h, duration: 2h}]",
    )

    columns = scenario_columns(scenario)

    # 16 workloads on 4 nodes; outages of 1h and 2h: the longest, 2h
    assert columns["scenario.workloads_per_node"] == 4.0
    assert columns["scenario.longest_outage_s"] == 7200.0
    assert columns["scenario.nodes"] == 4
    assert columns["scenario.workloads"] == 16


def test_replication_seeds_come_from_the_root_seed_alone() -> None:
    seeds = replication_seeds(7, 5)

    assert seeds == replication_seeds(7, 5)
    assert replication_seeds(7, 3) == seeds[:3]
    assert replication_seeds(8, 5) != seeds
    assert len(set(seeds)) == 5
    assert all(0 <= s <= 2**63 - 1 for s in seeds)
    expected = np.random.SeedSequence(7).spawn(5)[2].generate_state(
        1, dtype=np.uint64
    )[0] >> np.uint64(1)
    assert seeds[2] == int(expected)


def test_every_point_uses_the_same_seed_for_a_replication(
    finished: SweepOutcome,
) -> None:
    runs = finished.runs
    seeds = runs.pivot(index="replication", columns="point", values="seed")

    assert (seeds.nunique(axis=1) == 1).all()
    assert list(seeds.iloc[:, 0]) == list(replication_seeds(7, 3))


def test_runs_table_holds_parameters_seeds_and_flattened_metrics(
    finished: SweepOutcome,
) -> None:
    runs = finished.runs

    assert len(runs) == 8 * 3
    assert (runs["status"] == "ok").all()
    assert list(runs.columns[:6]) == [
        "point",
        "replication",
        "seed",
        "status",
        "error",
        "scenario_sha256",
    ]
    assert set(runs["pki.workload_ttl"]) == {7200.0, 14400.0}
    assert set(runs["mesh.agent"]) == {"per-workload", "per-node"}
    for metric in (
        "ca.csr_total",
        "ca.wait_p99_s",
        "attack.key_theft_window_mean_s",
        "attack.identities_exposed",
        "handshakes.by_outcome.expired",
        "steady.ca.csr_peak_per_min",
        "credentials.lapses",
    ):
        assert runs[metric].notna().all(), metric
    assert (finished.out / "runs" / "p007-r02.json").is_file()


def test_stored_results_hold_no_private_key(finished: SweepOutcome) -> None:
    for path in finished.out.rglob("*"):
        if path.is_file():
            assert b"PRIVATE KEY" not in path.read_bytes(), path
