"""A failing replication is recorded with its error and does not stop
the others; the command then exits with status 1."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

import meshsim.experiment.worker
from meshsim.cli import main
from meshsim.experiment import (
    DaskExecutor,
    Replication,
    SchedulerError,
    SerialExecutor,
    load_sweep,
    replication_seeds,
    run_replication,
    run_sweep,
)
from meshsim.experiment.store import RUNS_TABLE
from meshsim.runner import Run, run_scenario
from meshsim.scenario import Scenario

SWEEP = """
scenario: tiny.yaml
seed: 3
replications: 3
grid:
  mesh.agent: [per-workload, per-node]
"""


@pytest.fixture
def second_replication_fails(monkeypatch: pytest.MonkeyPatch) -> int:
    """Make every run with the seed of replication 1 raise."""
    doomed = replication_seeds(3, 3)[1]

    def run(scenario: Scenario, *args: Any) -> Run:
        if scenario.seed == doomed:
            raise RuntimeError(f"simulated crash at seed {scenario.seed}")
        return run_scenario(scenario, *args)

    monkeypatch.setattr(meshsim.experiment.worker, "run_scenario", run)
    return doomed


def test_a_failed_replication_is_recorded_and_the_others_run(
    write_sweep: Callable[..., Path],
    tmp_path: Path,
    second_replication_fails: int,
) -> None:
    outcome = run_sweep(
        load_sweep(write_sweep(SWEEP)), tmp_path / "out", SerialExecutor()
    )

    runs = outcome.runs
    failed = runs[runs["status"] == "failed"]
    ok = runs[runs["status"] == "ok"]
    assert outcome.failed == 2
    assert list(failed["replication"]) == [1, 1]
    assert (
        list(failed["error"])
        == [f"RuntimeError: simulated crash at seed {second_replication_fails}"]
        * 2
    )
    assert failed["ca.csr_total"].isna().all()
    assert len(ok) == 4
    assert ok["ca.csr_total"].notna().all()
    assert ok["error"].isna().all()

    points = outcome.points
    row = points[
        (points["point"] == "p000") & (points["metric"] == "ca.csr_total")
    ].iloc[0]
    assert (row["n"], row["failed"]) == (2, 1)


def test_sweep_exits_1_when_a_replication_failed(
    write_sweep: Callable[..., Path],
    tmp_path: Path,
    second_replication_fails: int,
) -> None:
    out = tmp_path / "out"
    path = str(write_sweep(SWEEP))
    result = CliRunner().invoke(
        main, ["sweep", path, "--out", str(out), "--executor", "serial"]
    )

    assert result.exit_code == 1, result.output
    assert (
        "6 runs (2 points x 3 replications): 6 run now, 0 resumed, 2 failed"
        in result.stdout
    )
    # four runs measured something: the report can draw them
    assert result.stdout.splitlines()[-2:] == [
        f"its figures and report: meshsim report {out}",
        f"results: {out}",
    ]
    # what went wrong goes to stderr
    assert "failed p000-r01: RuntimeError: simulated crash" in result.stderr
    assert "simulated crash" not in result.stdout
    assert len(pd.read_parquet(out / "runs.parquet")) == 6


def test_a_failed_replication_names_its_point_scenario_file() -> None:
    # the sweep folder keeps this text as scenarios/p007.yaml
    task = Replication("p007", 1, 5, "name: x\nduration: 1h\nbogus: 1\n", 0.0)

    record = run_replication(task)

    assert record["status"] == "failed"
    assert record["error"].startswith(
        "ScenarioError: scenarios/p007.yaml:3: bogus: unknown key"
    )


def test_failed_replications_are_kept_on_resume_unless_retried(
    write_sweep: Callable[..., Path],
    tmp_path: Path,
    second_replication_fails: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sweep = load_sweep(write_sweep(SWEEP))
    out = tmp_path / "out"
    run_sweep(sweep, out, SerialExecutor())
    monkeypatch.setattr(meshsim.experiment.worker, "run_scenario", run_scenario)

    kept = run_sweep(sweep, out, SerialExecutor())
    retried = run_sweep(sweep, out, SerialExecutor(), retry_failed=True)

    assert (kept.ran, kept.failed) == (0, 2)
    assert (retried.ran, retried.resumed, retried.failed) == (2, 4, 0)


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (
            ["--jobs", "99999999999999999999"],
            "error: Invalid value for '--jobs': 99999999999999999999 is not "
            "in the range 1<=x<=1024.",
        ),
        (
            ["--replications", "20000", "--dry-run"],
            "error: Invalid value for '--replications': 20000 is not in "
            "the range 1<=x<=10000.",
        ),
        (
            ["--executor", "dask", "--scheduler", "http://127.0.0.1:1"],
            "error: --scheduler: must be reached by one of tcp://, tls://, "
            "ws://, wss://, not http:// (got 'http://127.0.0.1:1')",
        ),
        (
            ["--executor", "dask", "--scheduler", "ucx://h:1"],
            "error: --scheduler: must be reached by one of tcp://, tls://, "
            "ws://, wss://, not ucx:// (got 'ucx://h:1')",
        ),
        (
            ["--executor", "dask", "--scheduler", " "],
            "error: --scheduler: is empty (got ' ')",
        ),
        (
            ["--executor", "dask", "--scheduler", "inproc://h/1/2"],
            "error: --scheduler: must be reached by one of tcp://, tls://, "
            "ws://, wss://, not inproc:// (got 'inproc://h/1/2')",
        ),
        (
            ["--executor", "dask", "--scheduler", "tcp://h:99999"],
            "error: --scheduler: port must be a whole number from 1 to "
            "65535 (got 'tcp://h:99999')",
        ),
        (
            ["--executor", "dask", "--scheduler", "tcp://h:x"],
            "error: --scheduler: port must be a whole number from 1 to "
            "65535 (got 'tcp://h:x')",
        ),
        (
            ["--executor", "dask", "--scheduler", "tcp://::1:8786"],
            "error: --scheduler: an IPv6 host goes in brackets, as "
            "tcp://[::1]:8786 (got 'tcp://::1:8786')",
        ),
        (
            ["--executor", "dask", "--scheduler", "tcp:/h:8786"],
            "error: --scheduler: a scheme is followed by '://', as "
            "tcp://host:8786 (got 'tcp:/h:8786')",
        ),
        (
            ["--executor", "dask", "--scheduler", "tls:h:8786"],
            "error: --scheduler: a scheme is followed by '://', as "
            "tcp://host:8786 (got 'tls:h:8786')",
        ),
        (
            ["--executor", "dask", "--scheduler", "tcp://h:8786:9"],
            "error: --scheduler: only one port may follow the host (got "
            "'tcp://h:8786:9')",
        ),
        (
            ["--executor", "dask", "--scheduler", "tcp://a..b:8786"],
            "error: --scheduler: host must be a name or an IP address (got "
            "'tcp://a..b:8786')",
        ),
        (
            ["--executor", "dask", "--scheduler", "tcp://[::1"],
            "error: --scheduler: an IPv6 host's bracket is not closed "
            "(got 'tcp://[::1')",
        ),
        (
            ["--executor", "dask", "--scheduler", "tcp://[::1]8786"],
            "error: --scheduler: only a port may follow an IPv6 host's "
            "bracket, after ':' (got 'tcp://[::1]8786')",
        ),
        (
            ["--executor", "dask", "--scheduler", "tcp://h:8786/path"],
            "error: --scheduler: must end at the host or its port, with no "
            "path after them (got 'tcp://h:8786/path')",
        ),
        (
            ["--executor", "dask", "--scheduler", "tcp://user@h:1"],
            "error: --scheduler: host must be a name or an IP address, with "
            "no user (got 'tcp://user@h:1')",
        ),
        (
            ["--executor", "dask", "--scheduler", "tcp://u:pw@h:1"],
            "error: --scheduler: host must be a name or an IP address, with "
            "no user (got 'tcp://u:pw@h:1')",
        ),
        (
            ["--executor", "dask", "--scheduler", "tcp://[zz]:8786"],
            "error: --scheduler: brackets hold an IPv6 address, as "
            "tcp://[::1]:8786 (got 'tcp://[zz]:8786')",
        ),
        (
            ["--executor", "dask", "--scheduler", "tcp://h:+8786"],
            "error: --scheduler: port must be a whole number from 1 to "
            "65535 (got 'tcp://h:+8786')",
        ),
        (
            ["--executor", "dask", "--scheduler", "tcp://:1"],
            "error: --scheduler: names no host (got 'tcp://:1')",
        ),
        (
            ["--executor", "dask", "--scheduler", "tls://h:1"],
            "error: --scheduler: tls:// needs Dask's TLS settings "
            "(distributed.comm.tls in its configuration), and none are set "
            "(got 'tls://h:1')",
        ),
        (
            ["--executor", "serial", "--jobs", "4"],
            "error: --jobs: --executor serial runs one at a time (got 4)",
        ),
        (
            ["--executor", "dask", "--scheduler", "tcp://x:1", "--jobs", "2"],
            "error: --jobs: a --scheduler has its own workers (got 2)",
        ),
    ],
)
def test_executor_options_are_refused_before_anything_is_written(
    write_sweep: Callable[..., Path],
    tmp_path: Path,
    options: list[str],
    said: str,
) -> None:
    out = tmp_path / "out"
    path = str(write_sweep(SWEEP))

    result = CliRunner().invoke(
        main, ["sweep", path, "--out", str(out), *options]
    )

    assert result.exit_code == 2, result.output
    assert result.output.startswith(said), result.output
    assert len(result.output.splitlines()) == 1
    assert not out.exists()


def test_a_folder_that_cannot_be_written_is_one_line_and_status_1(
    write_sweep: Callable[..., Path], tmp_path: Path
) -> None:
    # runs/ made a file: storing the first run fails with the system's
    # reason, and the command says what is kept and how to go on
    out = tmp_path / "out"
    path = str(write_sweep(SWEEP))
    first = CliRunner().invoke(
        main, ["sweep", path, "--out", str(out), "--executor", "serial"]
    )
    assert first.exit_code == 0, first.output
    for record in (out / "runs").iterdir():
        record.unlink()
    (out / "runs").rmdir()
    (out / "runs").write_text("")

    result = CliRunner().invoke(
        main, ["sweep", path, "--out", str(out), "--executor", "serial"]
    )

    assert result.exit_code == 1, result.output
    assert result.output.splitlines()[-1] == (
        f"error: Not a directory ({out / 'runs'}); finished runs are kept in "
        f"{out}; once that is mended, run the same command again to resume"
    )


@contextlib.contextmanager
def loopback_server(
    answer: Callable[[socket.socket], None],
) -> Iterator[str]:
    """The address of a server on the loopback interface that hands each
    connection to ``answer``, and closes them all at the end."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    stop = threading.Event()
    taken: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                peer, _ = server.accept()
            except TimeoutError:
                continue
            taken.append(peer)
            answer(peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    host, port = server.getsockname()
    try:
        yield f"tcp://{host}:{port}"
    finally:
        stop.set()
        thread.join()
        for peer in taken:
            peer.close()
        server.close()


@pytest.fixture
def not_a_scheduler() -> Iterator[str]:
    """A server that answers every connection with an HTTP response, as a
    web server would."""

    def respond(peer: socket.socket) -> None:
        peer.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        peer.close()

    with loopback_server(respond) as address:
        yield address


def test_a_scheduler_that_is_no_dask_scheduler_is_refused_before_writing(
    write_sweep: Callable[..., Path], tmp_path: Path, not_a_scheduler: str
) -> None:
    out = tmp_path / "out"
    path = str(write_sweep(SWEEP))

    result = CliRunner().invoke(
        main,
        [
            "sweep", path, "--out", str(out),
            "--executor", "dask", "--scheduler", not_a_scheduler,
        ],
    )  # fmt: skip

    assert result.exit_code == 1, result.output
    assert result.output == (
        f"error: --scheduler: {not_a_scheduler} does not answer as a Dask "
        "scheduler; nothing written\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "small.yaml",
        "tiny.yaml",
    ]


def test_a_scheduler_that_cannot_be_reached_fails_before_writing(
    write_sweep: Callable[..., Path], tmp_path: Path
) -> None:
    # a port just freed: nobody listens there
    with socket.create_server(("127.0.0.1", 0)) as closed:
        host, port = closed.getsockname()
    sweep = load_sweep(write_sweep(SWEEP))
    out = tmp_path / "out"
    executor = DaskExecutor(f"tcp://{host}:{port}", connect_timeout_s=0.5)

    with pytest.raises(SchedulerError, match="Timed out trying to connect"):
        run_sweep(sweep, out, executor)

    assert not out.exists()
    assert not (tmp_path / ".out.lock").exists()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server that takes every connection and never says a word."""
    with loopback_server(lambda peer: None) as address:
        yield address


def test_a_server_that_never_answers_fails_within_its_bound(
    write_sweep: Callable[..., Path], tmp_path: Path, silent_server: str
) -> None:
    sweep = load_sweep(write_sweep(SWEEP))
    out = tmp_path / "out"
    executor = DaskExecutor(silent_server, connect_timeout_s=0.5)

    with pytest.raises(SchedulerError, match="did not answer as a Dask"):
        run_sweep(sweep, out, executor)

    assert not out.exists()


def test_a_finished_sweep_rebuilds_its_tables_without_its_scheduler(
    write_sweep: Callable[..., Path], tmp_path: Path
) -> None:
    sweep = load_sweep(write_sweep(SWEEP))
    out = tmp_path / "out"
    finished = run_sweep(sweep, out, SerialExecutor())
    (out / RUNS_TABLE).unlink()
    with socket.create_server(("127.0.0.1", 0)) as closed:
        host, port = closed.getsockname()
    unreachable = DaskExecutor(f"tcp://{host}:{port}", connect_timeout_s=5)

    again = run_sweep(sweep, out, unreachable)

    assert (again.ran, again.resumed) == (0, len(finished.runs))
    assert (out / RUNS_TABLE).is_file()


def test_ctrl_c_while_reaching_a_scheduler_says_nothing_was_written(
    write_sweep: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def stopped(self: DaskExecutor) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(DaskExecutor, "_connect", stopped)
    out = tmp_path / "out"

    result = CliRunner().invoke(
        main,
        [
            "sweep", str(write_sweep(SWEEP)), "--out", str(out),
            "--executor", "dask", "--scheduler", "tcp://127.0.0.1:1",
        ],
    )  # fmt: skip

    assert result.exit_code == 130, result.output
    assert result.output == "interrupted; nothing written\n"
    assert not out.exists()


@pytest.mark.parametrize(
    ("given", "reached"),
    [
        ("tcp://127.0.0.1", "tcp://127.0.0.1:8786"),
        ("127.0.0.1", "tcp://127.0.0.1:8786"),
        ("tcp://[::1]", "tcp://[::1]:8786"),
        ("tcp://h:9000", "tcp://h:9000"),
    ],
)
def test_a_scheduler_address_without_a_port_reaches_dasks_default(
    given: str, reached: str
) -> None:
    assert DaskExecutor(given).address == reached


def test_a_server_that_closes_at_once_is_named_in_plain_words(
    write_sweep: Callable[..., Path], tmp_path: Path
) -> None:
    sweep = load_sweep(write_sweep(SWEEP))

    with loopback_server(lambda peer: peer.close()) as address:
        executor = DaskExecutor(address, connect_timeout_s=2)
        with pytest.raises(SchedulerError) as caught:
            run_sweep(sweep, tmp_path / "out", executor)

    assert str(caught.value) == f"{address} closed the connection"
