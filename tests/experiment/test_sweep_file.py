"""Sweep files: every problem at once, one line each, placed in the
sweep file and naming the grid point it breaks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from meshsim.cli import main
from meshsim.experiment import SweepError, load_sweep
from meshsim.experiment.sweep_file import key_steps


def problems(path: Path, *overrides: str) -> list[str]:
    with pytest.raises(SweepError) as caught:
        load_sweep(path, overrides)
    return [str(p) for p in caught.value.problems]


def test_points_are_the_grid_product_in_file_order(
    write_sweep: Callable[..., Path],
) -> None:
    sweep = load_sweep(write_sweep())

    assert len(sweep.points) == 8
    assert [p.id for p in sweep.points][:2] == ["p000", "p001"]
    assert sweep.points[0].label == (
        "pki.workload_ttl=2h, mesh.agent=per-workload, mesh.nodes=2"
    )
    assert sweep.points[1].label.endswith("mesh.nodes=4")
    assert sweep.points[7].scenario.pki.workload_ttl == 4 * 3600
    assert sweep.points[7].scenario.mesh.agent == "per-node"


def test_zip_lists_vary_together_as_one_axis(
    write_sweep: Callable[..., Path],
) -> None:
    path = write_sweep(
        """
scenario: tiny.yaml
replications: 2
grid:
  mesh.agent: [per-workload, per-node]
zip:
  mesh.nodes: [2, 4]
  mesh.workloads: [16, 32]
set:
  duration: 6h
"""
    )
    sweep = load_sweep(path)

    pairs = [
        (p.scenario.mesh.nodes, p.scenario.mesh.workloads) for p in sweep.points
    ]
    assert pairs == [(2, 16), (4, 32), (2, 16), (4, 32)]
    assert all(p.scenario.duration == 6 * 3600 for p in sweep.points)
    assert sweep.name == "small"


def test_every_file_problem_is_reported_at_once_with_its_line(
    write_sweep: Callable[..., Path],
) -> None:
    path = write_sweep(
        """name: Bad
scenario: tiny.yaml
replicatons: 3
seed: -1
warmup: 5
grid:
  pki.workload_ttl: [2h, 2h]
  seed: [1, 2]
zip:
  mesh.nodes: [2, 4]
  mesh.workloads: [16]
set:
  mesh.nodes: 3
"""
    )
    source = str(path)

    assert problems(path) == [
        f"{source}:1: name: must match [a-z0-9][a-z0-9._-]{{0,63}} (got 'Bad')",
        f"{source}:1: replications: required key is missing",
        f"{source}:3: replicatons: unknown key; did you mean 'replications'?",
        f"{source}:4: seed: must be from 0 to 9223372036854775807 (got -1)",
        f"{source}:5: warmup: needs a unit (ms, s, m, h, d) (got 5)",
        f"{source}:7: grid.pki.workload_ttl[1]: repeats item 0 (got '2h')",
        f"{source}:8: grid.seed: cannot be varied or set: each "
        "replication's seed is spawned from the sweep's seed",
        f"{source}:11: zip.mesh.workloads: must have as many values as "
        "zip.mesh.nodes (2) (got [16])",
        f"{source}:13: set.mesh.nodes: is already given in zip",
    ]


def test_a_bad_grid_value_is_placed_at_its_line_naming_the_point(
    write_sweep: Callable[..., Path],
) -> None:
    path = write_sweep(
        """scenario: tiny.yaml
replications: 2
grid:
  pki.workload_ttl: [2h, 100d]
  mesh.nodes: [0, 4]
"""
    )

    assert problems(path) == [
        f"{path}:4: grid.pki.workload_ttl[1]: must not exceed "
        "pki.max_workload_ttl (90d) (at 2 of 4 points, first p002: "
        "pki.workload_ttl=100d, mesh.nodes=0) (got '100d')",
        f"{path}:5: grid.mesh.nodes[0]: must be at least 1 (at 2 of 4 "
        "points, first p000: pki.workload_ttl=2h, mesh.nodes=0) (got 0)",
    ]


def test_an_unknown_grid_key_is_reported_once_at_its_key(
    write_sweep: Callable[..., Path],
) -> None:
    # the key is wrong whatever value a point takes
    path = write_sweep(
        """scenario: tiny.yaml
replications: 1
grid:
  ca.worker: [1, 2]
  pki.workload_ttl: [2h, 4h]
"""
    )

    assert problems(path) == [
        f"{path}:4: grid.ca.worker: unknown key; did you mean 'workers'?"
    ]


def test_a_key_that_is_no_key_path_is_reported_once_at_its_line(
    write_sweep: Callable[..., Path],
) -> None:
    path = write_sweep(
        """scenario: tiny.yaml
replications: 1
grid:
  mesh.nodes: [2, 4]
zip:
  'mesh .nodes': [1, 2]
"""
    )

    assert problems(path) == [
        f"{path}:6: zip.mesh .nodes: not a dotted key path"
    ]


def test_a_combination_that_breaks_a_rule_names_its_point(
    write_sweep: Callable[..., Path],
) -> None:
    # node-1 exists with 4 nodes but not with 1
    path = write_sweep(
        """scenario: tiny.yaml
replications: 2
grid:
  mesh.nodes: [1, 4]
"""
    )

    found = problems(path)

    # placed on the grid value that broke the base scenario's rule
    assert found == [
        f"{path}:4: grid.mesh.nodes[0]: attacks[0].node: not in the mesh "
        "(node-0 … node-0) (at point p000: mesh.nodes=1) (got 'node-1')",
        f"{path}:4: grid.mesh.nodes[0]: attacks[1].node: not in the mesh "
        "(node-0 … node-0) (at point p000: mesh.nodes=1) (got 'node-1')",
    ]


def test_a_warmup_as_long_as_a_run_is_refused(
    write_sweep: Callable[..., Path],
) -> None:
    path = write_sweep(
        """scenario: tiny.yaml
replications: 2
warmup: 12h
grid:
  duration: [12h, 24h]
"""
    )

    assert problems(path) == [
        f"{path}:3: warmup: must be shorter than the run's duration (12h) "
        "(at point p000: duration=12h) (got '12h')"
    ]


def test_an_override_may_not_set_a_varied_key(
    write_sweep: Callable[..., Path],
) -> None:
    found = problems(write_sweep(), "mesh.nodes=3", "mesh.bogus=1")

    assert found[0] == (
        "override mesh.nodes=3: mesh.nodes: is varied by the sweep; an "
        "override cannot set it"
    )
    assert found[1].startswith("override mesh.bogus=1: mesh.bogus: unknown")


def test_an_override_may_not_hold_a_varied_key_nor_sit_inside_one(
    write_sweep: Callable[..., Path],
) -> None:
    # refused once, as a sweep file's set: is, and not applied to the
    # points to be blamed again at each of them
    assert problems(write_sweep(), "mesh=5", "pki.workload_ttl.x=1") == [
        "override mesh=5: mesh: holds mesh.agent, which the sweep varies; "
        "set the other keys of mesh one by one",
        "override pki.workload_ttl.x=1: pki.workload_ttl.x: is inside "
        "pki.workload_ttl, which the sweep varies",
    ]


def test_an_override_giving_an_index_any_way_is_the_same_key(
    write_sweep: Callable[..., Path],
) -> None:
    text = """
name: small
scenario: tiny.yaml
seed: 7
replications: 1
grid:
  attacks[0].start: [1h, 2h]
"""
    found = problems(
        write_sweep(text),
        "attacks.0.start=3h",
        "attacks[00].start=4h",
        "attacks=[]",
        "attacks[ 0].start=5h",
    )

    assert found == [
        "override attacks.0.start=3h: attacks.0.start: is varied by the "
        "sweep; an override cannot set it",
        "override attacks[00].start=4h: attacks[00].start: is varied by the "
        "sweep; an override cannot set it",
        "override attacks=[]: attacks: holds attacks[0].start, which the "
        "sweep varies; set the other keys of its items one by one",
        # no key path: not said to be the varied key it resembles
        "override attacks[ 0].start=5h: (document): not a dotted key path "
        "(got 'attacks[ 0].start')",
    ]


def test_an_override_may_not_set_the_seed(
    write_sweep: Callable[..., Path],
) -> None:
    # each replication's seed is spawned; a set seed would be ignored
    assert problems(write_sweep(), "seed=5") == [
        "override seed=5: seed: cannot be set: each replication's seed is "
        "spawned from the sweep's seed"
    ]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (
            "scenario: null\nreplications: 2\n",
            "small.yaml:1: scenario: must be non-empty text (got null)",
        ),
        (
            "scenario: tiny.yaml\nreplications: null\n",
            "small.yaml:2: replications: must be an integer (got null)",
        ),
        (
            "name: ''\nscenario: tiny.yaml\nreplications: 1\n",
            "small.yaml:1: name: must be non-empty text (got '')",
        ),
    ],
)
def test_a_key_written_empty_is_not_taken_as_left_out(
    write_sweep: Callable[..., Path], text: str, found: str
) -> None:
    path = write_sweep(text)

    assert problems(path) == [f"{path.parent}/{found}"]


@pytest.mark.parametrize(
    ("given", "found"),
    [
        # a mapping set whole holds the keys beneath it
        (
            "set:\n"
            "  pki: {workload_ttl: 3h}\n"
            "  mesh.nodes: 2\n"
            "grid:\n"
            "  pki.workload_ttl: [1h, 2h]\n"
            "  mesh.agent: [per-node, per-workload]\n",
            "4: set.pki: is already given in grid (as pki.workload_ttl)",
        ),
        # an index is a number, however many zeros lead it
        (
            "set:\n"
            "  attacks.00.start: 5h\n"
            "grid:\n"
            "  attacks[0].start: [1h, 2h]\n",
            "4: set.attacks.00.start: is already given in grid (as "
            "attacks[0].start)",
        ),
        # the key given again is left out meanwhile: an empty attacks
        # list would leave grid's attacks[0] nothing to set
        (
            "set:\n  attacks: []\ngrid:\n  attacks[0].start: [1h, 2h]\n",
            "4: set.attacks: is already given in grid (as attacks[0].start)",
        ),
    ],
    ids=["mapping", "padded-index", "emptied-list"],
)
def test_a_key_given_twice_is_found_however_written(
    write_sweep: Callable[..., Path], given: str, found: str
) -> None:
    path = write_sweep("scenario: tiny.yaml\nreplications: 1\n" + given)

    assert problems(path) == [f"{path}:{found}"]


def test_a_sweep_is_named_after_its_file_when_it_names_none(
    write_sweep: Callable[..., Path],
) -> None:
    path = write_sweep("scenario: tiny.yaml\nreplications: 1\n", "ttl.v2.yaml")

    assert load_sweep(path).spec.name == "ttl.v2"


def test_a_file_name_that_cannot_name_the_sweep_needs_a_name_key(
    write_sweep: Callable[..., Path],
) -> None:
    path = write_sweep(
        "scenario: tiny.yaml\nreplications: 1\n", "My Sweep.yaml"
    )

    assert problems(path) == [
        f"{path}:1: name: is needed: the file's name does not match "
        "[a-z0-9][a-z0-9._-]{0,63} (got 'My Sweep')"
    ]


def test_a_base_scenario_path_with_a_nul_character_is_refused(
    write_sweep: Callable[..., Path],
) -> None:
    path = write_sweep('scenario: "tiny.yaml\\0"\nreplications: 1\n')

    assert problems(path) == [
        f"{path}:1: scenario: a file path holds no NUL character "
        "(got 'tiny.yaml\\x00')"
    ]


def test_a_sweep_file_named_as_the_base_is_called_one(
    write_sweep: Callable[..., Path],
) -> None:
    write_sweep(name="inner.yaml")
    path = write_sweep("scenario: inner.yaml\nreplications: 1\n")

    assert problems(path) == [
        f"{path}:1: scenario: is a sweep file (it has the keys scenario, "
        "grid, replications), not a scenario (got 'inner.yaml')"
    ]


def test_a_missing_base_scenario_is_placed_at_the_scenario_key(
    write_sweep: Callable[..., Path],
) -> None:
    path = write_sweep("scenario: nowhere.yaml\nreplications: 1\n")

    assert problems(path) == [
        f"{path}:1: scenario: cannot be read: No such file or directory "
        "(got 'nowhere.yaml')"
    ]


def test_sweep_cli_prints_problems_and_exits_2(
    write_sweep: Callable[..., Path],
) -> None:
    path = write_sweep("scenario: tiny.yaml\nreplications: 0\n")

    result = CliRunner().invoke(main, ["sweep", str(path)])

    assert result.exit_code == 2
    assert result.output == (
        f"{path}:2: replications: must be from 1 to 10000 (got 0)\n"
    )


def test_dry_run_counts_one_point_and_one_replication_in_the_singular(
    write_sweep: Callable[..., Path],
) -> None:
    path = write_sweep("scenario: tiny.yaml\nseed: 7\nreplications: 1\n")

    result = CliRunner().invoke(main, ["sweep", str(path), "--dry-run"])

    assert result.exit_code == 0, result.output
    assert "1 point x 1 replication, root seed 7" in result.output


def test_dry_run_lists_points_and_runs_nothing(
    write_sweep: Callable[..., Path], tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        main, ["sweep", str(write_sweep()), "--dry-run"]
    )

    assert result.exit_code == 0, result.output
    assert "8 points x 3 replications, root seed 7" in result.output
    assert "p007  pki.workload_ttl=4h, mesh.agent=per-node" in result.output
    assert not (tmp_path / "results").exists()


def test_dry_run_prints_a_path_with_brackets_as_it_is(
    write_sweep: Callable[..., Path], tmp_path: Path
) -> None:
    # Rich would read "[/]" as markup; paths are printed as they are.
    folder = tmp_path / "x[/]y"  # a folder "x[" holding "]y"
    folder.mkdir(parents=True)
    path = write_sweep()
    moved = folder / path.name
    path.rename(moved)
    (tmp_path / "tiny.yaml").rename(folder / "tiny.yaml")

    result = CliRunner().invoke(main, ["sweep", str(moved), "--dry-run"])

    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{moved}: ok (small): 8 points x 3")


def test_two_values_of_one_scenario_are_one_point_listed_twice(
    write_sweep: Callable[..., Path],
) -> None:
    # 4h and 240m are written apart but resolve to the same scenario,
    # which would run the same point twice under two labels
    path = write_sweep(
        """scenario: tiny.yaml
replications: 2
grid:
  pki.workload_ttl: [4h, 2h, 240m]
"""
    )

    assert problems(path) == [
        f"{path}:3: grid: point p002 (pki.workload_ttl=240m) is the "
        "scenario of point p000 (pki.workload_ttl=4h); list each value once"
    ]


def test_minus_zero_is_the_point_of_zero(
    write_sweep: Callable[..., Path],
) -> None:
    # -0.0 == 0: a jitter of either is one scenario with one hash
    path = write_sweep(
        "scenario: tiny.yaml\nreplications: 1\ngrid:\n  pki.jitter: [0, -0.0]\n"
    )

    assert problems(path) == [
        f"{path}:3: grid: point p001 (pki.jitter=-0.0) is the scenario of "
        "point p000 (pki.jitter=0); list each value once"
    ]


def test_the_shipped_theft_comes_at_every_age_of_every_swept_ttl() -> None:
    # A theft drawn uniformly over a whole number of renewal periods
    # takes certificates of every age alike, so the mean window tends to
    # T(1 - r/2) at each TTL; over part of a period it would depend on
    # where that part falls.
    shipped = Path(__file__).resolve().parents[2] / "scenarios" / "sweeps"
    sweep = load_sweep(shipped / "ttl-vs-fanout.yaml")

    for point in sweep.points:
        scenario = point.scenario
        theft = scenario.attacks[0]
        period = scenario.pki.grace_ratio * scenario.pki.workload_ttl
        assert theft.kind == "key-theft"
        assert theft.spread / period == pytest.approx(
            round(theft.spread / period)
        )
        assert theft.spread >= period
        assert theft.start + theft.spread <= scenario.duration


def test_a_grid_of_too_many_points_is_refused_before_they_are_made(
    write_sweep: Callable[..., Path],
) -> None:
    # 100 values on each of four keys: 10^8 points, counted from the
    # lists' lengths (made one by one they would fill memory first)
    rates = [f"{i / 100:g}" for i in range(1, 101)]
    workers = [str(i) for i in range(1, 101)]
    retries = [str(i) for i in range(100)]
    seeds = [f"{i}ms" for i in range(1, 101)]
    path = write_sweep(
        f"""scenario: tiny.yaml
replications: 2
grid:
  traffic.rate: [{", ".join(rates)}]
  ca.workers: [{", ".join(workers)}]
  agent.fast_retries: [{", ".join(retries)}]
  agent.fast_retry_initial: [{", ".join(seeds)}]
"""
    )

    assert problems(path) == [
        f"{path}:3: grid: makes 100000000 points; at most 10000"
    ]


@pytest.mark.parametrize(
    "written", ["attacks.0", "attacks[0]", "attacks.00", "attacks[00]"]
)
def test_an_index_is_one_step_however_written(written: str) -> None:
    # also at the end of a key, where no dot follows it
    assert key_steps(written) == ("attacks", "[0]")
    assert key_steps(f"{written}.start") == ("attacks", "[0]", "start")
