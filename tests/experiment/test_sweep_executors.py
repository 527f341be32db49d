"""A point's results depend neither on the executor nor on how many
workers ran it, nor on the order in which replications finished."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from meshsim.experiment import (
    DaskExecutor,
    LocalExecutor,
    SweepOutcome,
    load_sweep,
    machine_dependent,
    run_sweep,
)
from meshsim.mesh import ca as ca_module


def comparable(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs table without what this machine's speed decides."""
    return runs[[c for c in runs.columns if not machine_dependent(c)]]


@pytest.fixture(scope="module")
def dask_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Dask cluster on loopback: two single-thread worker processes,
    with their scratch space in a folder of the test's own."""
    distributed = pytest.importorskip("distributed")
    dask = pytest.importorskip("dask")
    scratch = str(tmp_path_factory.mktemp("dask-scratch"))
    with (
        dask.config.set({"temporary-directory": scratch}),
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        ) as cluster,
    ):
        yield cluster.scheduler_address


def test_machine_dependent_columns_are_wall_cpu_and_bytes() -> None:
    assert machine_dependent("wall_seconds")
    assert machine_dependent("rotation.crypto_cpu_s")
    assert machine_dependent("rotation.operations.keygen.cpu_s")
    assert machine_dependent("rotation.bytes")
    assert not machine_dependent("rotation.operations.keygen.count")
    assert not machine_dependent("ca.wait_p99_s")


def test_local_one_and_two_jobs_and_dask_give_identical_runs(
    finished: SweepOutcome,
    write_sweep: Callable[..., Path],
    tmp_path: Path,
    dask_address: str,
) -> None:
    sweep = load_sweep(write_sweep())
    one = run_sweep(sweep, tmp_path / "one", LocalExecutor(1))
    dask = run_sweep(sweep, tmp_path / "dask", DaskExecutor(dask_address))

    expected = comparable(finished.runs)
    pd.testing.assert_frame_equal(comparable(one.runs), expected)
    pd.testing.assert_frame_equal(comparable(dask.runs), expected)
    assert (dask.runs["status"] == "ok").all()


def test_a_dask_sweep_runs_from_inside_a_running_event_loop(
    write_sweep: Callable[..., Path], tmp_path: Path, dask_address: str
) -> None:
    # a notebook runs each cell inside its event loop
    sweep = load_sweep(write_sweep("scenario: tiny.yaml\nreplications: 2\n"))

    async def cell() -> SweepOutcome:
        return run_sweep(sweep, tmp_path / "out", DaskExecutor(dask_address))

    outcome = asyncio.run(cell())

    assert outcome.ran == 2
    assert (outcome.runs["status"] == "ok").all()


def test_a_local_dask_cluster_leaves_nothing_in_the_temporary_folder(
    write_sweep: Callable[..., Path], tmp_path: Path
) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    path = write_sweep("scenario: tiny.yaml\nreplications: 1\n")
    command = [sys.executable, "-m", "meshsim", "sweep", str(path)]
    options = ["--out", str(tmp_path / "out"), "--executor", "dask"]

    done = subprocess.run(
        [*command, *options, "--jobs", "1"],
        env={**os.environ, "TMPDIR": str(temporary)},
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stderr
    assert list(temporary.iterdir()) == []


@pytest.mark.parametrize("kind", ["local", "dask"])
def test_no_more_workers_start_than_there_are_runs(
    write_sweep: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    distributed = pytest.importorskip("distributed")
    started: list[int] = []
    cluster = distributed.LocalCluster

    def counted(*args: object, n_workers: int, **kwargs: object) -> object:
        started.append(n_workers)
        return cluster(*args, n_workers=n_workers, **kwargs)

    monkeypatch.setattr(distributed, "LocalCluster", counted)
    sweep = load_sweep(write_sweep("scenario: tiny.yaml\nreplications: 1\n"))
    executor = LocalExecutor(4) if kind == "local" else DaskExecutor(jobs=4)

    run_sweep(sweep, tmp_path / "out", executor)

    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["executor"]["workers"] == 1
    compiled = not str(ca_module.__file__).endswith(".py")
    assert manifest["build"] == ("compiled" if compiled else "pure")
    assert started == ([1] if kind == "dask" else [])


def test_force_over_the_same_finished_sweep_starts_no_worker(
    write_sweep: Callable[..., Path], tmp_path: Path
) -> None:
    # --force starts over only a folder of another sweep; this one is
    # resumed, with nothing left to run
    sweep = load_sweep(write_sweep("scenario: tiny.yaml\nreplications: 2\n"))
    run_sweep(sweep, tmp_path / "out", LocalExecutor(1))
    executor = LocalExecutor(4)

    again = run_sweep(sweep, tmp_path / "out", executor, force=True)

    assert (again.ran, again.resumed) == (0, 2)
    assert executor.description["workers"] == 1
