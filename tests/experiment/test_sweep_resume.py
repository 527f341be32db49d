"""Resumption: each replication is stored as it finishes, a killed sweep
loses only what was in flight, and a rerun completes the same tables."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import forkserver
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

import meshsim.experiment.runner as runner_module
import meshsim.experiment.store as store_module
from meshsim import layout
from meshsim.cli import main
from meshsim.cli.interrupts import catching_interrupts
from meshsim.experiment import (
    LocalExecutor,
    SerialExecutor,
    SweepOutcome,
    WrongSweepError,
    load_sweep,
    machine_dependent,
    run_sweep,
)
from meshsim.experiment.hold import writing_alone
from meshsim.experiment.store import SWEEP_LAYOUT, SweepFolder
from meshsim.layout import foreign_entries
from meshsim.report.sweep_figures import FIGURES
from meshsim.report.sweep_page import write_report
from meshsim.signals import ctrl_c_deferred


def comparable(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[[c for c in runs.columns if not machine_dependent(c)]]


def test_a_sweep_killed_midway_resumes_to_the_same_tables(
    finished: SweepOutcome,
    write_sweep: Callable[..., Path],
    tmp_path: Path,
    short_tmp: Path,
) -> None:
    path = write_sweep()
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "meshsim",
        "sweep",
        str(path),
        "--out",
        str(out),
        "--jobs",
        "2",
    ]

    # kill the whole sweep, workers too, once a few runs are stored
    # (what they leave in their temporary folder goes with short_tmp)
    process = subprocess.Popen(
        command,
        env={**os.environ, "TMPDIR": str(short_tmp)},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    try:
        while len(list(out.glob("runs/p*.json"))) < 5:
            assert process.poll() is None, "the sweep ended before the kill"
            assert time.monotonic() < deadline, "no runs stored in 60 s"
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    stored = list(out.glob("runs/p*.json"))
    assert 5 <= len(stored) < 24
    for record in stored:
        json.loads(record.read_text())  # whole, never half-written
    assert not (out / "runs.parquet").exists()

    # the rerun runs only what is missing
    result = subprocess.run(
        command, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert f"{len(stored)} resumed" in result.stdout

    resumed = pd.read_parquet(out / "runs.parquet")
    pd.testing.assert_frame_equal(
        comparable(resumed), comparable(finished.runs)
    )


# Two quick runs, then two that take minutes (real crypto, years of
# simulated time): a signal finds the long ones running.
_LONG = """
name: long
scenario: tiny.yaml
seed: 3
replications: 2
grid:
  duration: [12h, 40000h]
"""


def _start_long_sweep(
    path: Path, out: Path, temporary: Path
) -> subprocess.Popen[str]:
    """``meshsim sweep`` of ``_LONG`` on two local workers, with
    ``temporary`` as their temporary folder (what a killed sweep leaves
    there goes with it)."""
    command = [
        sys.executable, "-m", "meshsim", "sweep", str(path),
        "--out", str(out), "--jobs", "2",
    ]  # fmt: skip
    return subprocess.Popen(
        command,
        env={**os.environ, "TMPDIR": str(temporary)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # as from a terminal, whatever the shell running the tests ignores
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _wait_for_quick_runs(out: Path, process: subprocess.Popen[str]) -> None:
    """Wait until the two quick runs are stored: the long ones run."""
    deadline = time.monotonic() + 60
    while len(list(out.glob("runs/p*.json"))) < 2:
        assert process.poll() is None, "the sweep ended early"
        assert time.monotonic() < deadline, "no runs stored in 60 s"
        time.sleep(0.05)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_a_sweep_and_its_running_workers_at_once(
    signum: signal.Signals,
    write_sweep: Callable[..., Path],
    tmp_path: Path,
    short_tmp: Path,
) -> None:
    out = tmp_path / "out"
    process = _start_long_sweep(
        write_sweep(_LONG, name="long.yaml"), out, short_tmp
    )
    workers: list[int] = []
    try:
        _wait_for_quick_runs(out, process)
        workers = _descendants(process.pid)

        sent = time.monotonic()
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=30)

        assert time.monotonic() - sent < 15, "the sweep waited for its runs"
        assert workers, "the sweep had no worker processes"
        deadline = time.monotonic() + 10
        while _alive(workers):
            assert time.monotonic() < deadline, "workers outlived the sweep"
            time.sleep(0.05)
    finally:
        # a failing check must not leave runs of minutes behind
        if process.poll() is None:
            process.kill()
        for pid in _alive(workers):
            os.kill(pid, signal.SIGKILL)
        process.wait()

    assert process.returncode == 128 + signum
    word = "terminated" if signum == signal.SIGTERM else "interrupted"
    # one line: no progress bar in a log before it
    assert stderr.splitlines() == [
        f"{word}: finished runs are kept in {out}; run the same "
        "command again to resume"
    ]
    stored = list(out.glob("runs/p*.json"))
    assert len(stored) == 2
    for record in stored:
        json.loads(record.read_text())  # whole, never half-written


def test_workers_end_when_their_sweep_is_killed_outright(
    write_sweep: Callable[..., Path], tmp_path: Path, short_tmp: Path
) -> None:
    # SIGKILL gives the sweep no chance to stop its workers: each must
    # notice on its own, and with it the fork server and resource tracker
    out = tmp_path / "out"
    process = _start_long_sweep(
        write_sweep(_LONG, name="long.yaml"), out, short_tmp
    )
    helpers: list[int] = []
    try:
        _wait_for_quick_runs(out, process)
        helpers = _descendants(process.pid)

        process.kill()
        process.wait()

        assert len(helpers) >= 3, "no fork server and two workers"
        deadline = time.monotonic() + 10
        while _alive(helpers):
            assert time.monotonic() < deadline, (
                f"outlived the sweep: {_alive(helpers)}"
            )
            time.sleep(0.05)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in _alive(helpers):
            os.kill(pid, signal.SIGKILL)


def test_a_signal_while_a_worker_starts_waits_until_it_has_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a worker the pool had not yet registered when the signal came
    # could not be stopped: it waited for tasks forever, and kept the
    # fork server and resource tracker alive
    started: list[bool] = []
    submit = ProcessPoolExecutor.submit

    def interrupted_while_starting(
        pool: ProcessPoolExecutor, *args: Any
    ) -> Any:
        signal.raise_signal(signal.SIGINT)
        future = submit(pool, *args)
        started.append(True)
        return future

    monkeypatch.setattr(
        ProcessPoolExecutor, "submit", interrupted_while_starting
    )
    results = LocalExecutor(1).map_unordered(abs, [-1, -2])

    with pytest.raises(KeyboardInterrupt):
        next(results)

    assert started == [True]


def _blocks_ctrl_c(pid: int) -> bool:
    """Whether process ``pid`` has SIGINT blocked (Linux's /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigBlk:"):
            return bool(int(line.split()[1], 16) >> (signal.SIGINT - 1) & 1)
    raise AssertionError(f"no SigBlk line for process {pid}")


def test_ctrl_c_while_the_fork_server_starts_stops_the_sweep_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the fork server must start with Ctrl-C kept from it; ignoring
    # Ctrl-C here meanwhile lost one typed then, and the sweep ran on
    starting = forkserver.ensure_running
    started: list[bool] = []

    def interrupted_while_starting() -> None:
        signal.raise_signal(signal.SIGINT)
        starting()
        started.append(True)

    monkeypatch.setattr(
        forkserver, "ensure_running", interrupted_while_starting
    )
    results = LocalExecutor(1).map_unordered(abs, [-1, -2])

    with pytest.raises(KeyboardInterrupt):
        next(results)

    assert started == [True]
    assert _blocks_ctrl_c(forkserver._forkserver._forkserver_pid)
    assert not _blocks_ctrl_c(os.getpid())


def test_a_program_started_with_ctrl_c_deferred_blocks_it() -> None:
    show = (
        "import signal; "
        "print(signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, []))"
    )

    with ctrl_c_deferred():
        inside = subprocess.run(
            [sys.executable, "-c", show], capture_output=True, text=True
        )
    outside = subprocess.run(
        [sys.executable, "-c", show], capture_output=True, text=True
    )

    assert (inside.stdout, outside.stdout) == ("True\n", "False\n")


def _alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if Path(f"/proc/{pid}").exists()]


def test_an_interrupt_a_library_swallowed_still_stops_the_sweep(
    write_sweep: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = write_sweep()
    out = tmp_path / "out"
    real = runner_module.run_replication
    ran = []

    def swallowing(task: Any) -> Any:
        # Ctrl-C during the first run, caught as some libraries catch
        # every exception (cryptography's verifier callbacks do)
        if not ran:
            with contextlib.suppress(KeyboardInterrupt):
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(1)
        ran.append(task)
        return real(task)

    monkeypatch.setattr(runner_module, "run_replication", swallowing)
    result = CliRunner().invoke(
        main,
        ["sweep", str(path), "--out", str(out), "--executor", "serial"],
    )

    assert result.exit_code == 130, result.output
    assert len(ran) == 1
    assert "interrupted: finished runs are kept in" in result.output
    # the run the interrupt came in is not kept: the swallowed interrupt
    # may have changed what it did
    assert list(out.glob("runs/p*.json")) == []


def _descendants(pid: int) -> list[int]:
    """The processes below ``pid``: its children, theirs, and so on."""
    found: list[int] = []
    frontier = [pid]
    while frontier:
        frontier = [child for p in frontier for child in _children(p)]
        found.extend(frontier)
    return found


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux's /proc)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            lines = status.read_text().splitlines()
        except OSError:
            continue  # ended meanwhile
        fields = dict(line.split(":\t", 1) for line in lines if ":\t" in line)
        if fields.get("PPid", "").strip() == str(pid):
            found.append(int(status.parent.name))
    return found


def test_another_sweep_in_the_same_folder_is_refused_without_force(
    finished: SweepOutcome, write_sweep: Callable[..., Path]
) -> None:
    other = write_sweep(
        "scenario: tiny.yaml\nreplications: 1\n", name="other.yaml"
    )
    runner = CliRunner()

    refused = runner.invoke(
        main, ["sweep", str(other), "--out", str(finished.out)]
    )
    assert refused.exit_code == 2
    assert "holds a different sweep file" in refused.output
    # the hash of the file the folder holds, then of this one
    held = json.loads((finished.out / "sweep.json").read_text())
    now = hashlib.sha256(other.read_bytes()).hexdigest()
    assert (
        f"sha256 {held['sweep_sha256'][:12]}…; this one is {now[:12]}…"
        in refused.output
    )
    assert held["sweep_sha256"] != now
    assert "--force" in refused.output
    with pytest.raises(WrongSweepError):
        run_sweep(load_sweep(other), finished.out, SerialExecutor())


def test_force_starts_a_different_sweep_over(
    write_sweep: Callable[..., Path], tmp_path: Path
) -> None:
    first = write_sweep("scenario: tiny.yaml\nreplications: 2\n")
    out = tmp_path / "out"
    run_sweep(load_sweep(first), out, SerialExecutor())
    second = write_sweep(
        "scenario: tiny.yaml\nreplications: 1\n", name="second.yaml"
    )

    outcome = run_sweep(load_sweep(second), out, SerialExecutor(), force=True)

    assert (outcome.ran, outcome.resumed) == (1, 0)
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["p000-r00.json"]
    assert (out / "sweep.yaml").read_text().endswith("replications: 1\n")


def test_a_sweep_writes_only_what_force_may_replace(
    finished: SweepOutcome,
) -> None:
    assert foreign_entries(finished.out, SWEEP_LAYOUT) == []


def test_force_refuses_a_sweep_folder_holding_what_meshsim_did_not_write(
    write_sweep: Callable[..., Path], tmp_path: Path
) -> None:
    first = write_sweep("scenario: tiny.yaml\nreplications: 2\n")
    out = tmp_path / "out"
    run_sweep(load_sweep(first), out, SerialExecutor())
    (out / "nested").mkdir()
    (out / "nested" / "manifest.json").write_text("{}")
    (out / "runs" / "notes.txt").write_text("mine")
    second = write_sweep(
        "scenario: tiny.yaml\nreplications: 1\n", name="second.yaml"
    )

    with pytest.raises(WrongSweepError) as refused:
        run_sweep(load_sweep(second), out, SerialExecutor(), force=True)

    assert str(refused.value) == (
        f"--out: {str(out)!r} holds 'nested', 'runs/notes.txt' besides what "
        "meshsim wrote there; it is not replaced even with --force (move "
        "them away first)"
    )
    assert (out / "nested" / "manifest.json").is_file()
    assert (out / "runs" / "notes.txt").is_file()
    assert len(list((out / "runs").glob("*.json"))) == 2


@pytest.mark.parametrize(
    "stray",
    [
        "runs/prod-run.json",
        "runs/p0-r0.json",
        "runs/.p000-r00.json.original",
        "scenarios/production.yaml",
        "figures/paper-figure.png",
        # named as meshsim names them, but beyond the sweep's one point
        # and two replications
        "runs/p000-r02.json",
        "runs/p001-r00.json",
        "scenarios/p001.yaml",
        "scenarios/p0000.yaml",
    ],
)
def test_force_refuses_what_is_named_as_meshsims_files_but_is_not(
    write_sweep: Callable[..., Path], tmp_path: Path, stray: str
) -> None:
    first = write_sweep("scenario: tiny.yaml\nreplications: 2\n")
    out = tmp_path / "out"
    run_sweep(load_sweep(first), out, SerialExecutor())
    (out / stray).parent.mkdir(exist_ok=True)
    (out / stray).write_text("mine")
    second = write_sweep(
        "scenario: tiny.yaml\nreplications: 1\n", name="second.yaml"
    )

    with pytest.raises(
        WrongSweepError, match=re.escape(f"holds {stray!r} besides")
    ):
        run_sweep(load_sweep(second), out, SerialExecutor(), force=True)

    assert (out / stray).read_text() == "mine"


def test_force_refuses_a_record_of_the_plan_past_its_replications(
    write_sweep: Callable[..., Path], tmp_path: Path
) -> None:
    # a copy of replication 1's record as replication 2 of a sweep of 2:
    # it carries the plan's hash, but the plan makes no such run
    first = write_sweep("scenario: tiny.yaml\nreplications: 2\n")
    out = tmp_path / "out"
    run_sweep(load_sweep(first), out, SerialExecutor())
    record = json.loads((out / "runs" / "p000-r01.json").read_text())
    stray = out / "runs" / "p000-r02.json"
    stray.write_text(json.dumps({**record, "replication": 2}))
    second = write_sweep(
        "scenario: tiny.yaml\nreplications: 1\n", name="second.yaml"
    )

    with pytest.raises(
        WrongSweepError, match=re.escape("holds 'runs/p000-r02.json' besides")
    ):
        run_sweep(load_sweep(second), out, SerialExecutor(), force=True)

    assert stray.is_file()


@pytest.mark.parametrize(
    ("name", "edit"),
    [
        # replication 2 of a sweep of 2 (0 and 1): the plan has no seed
        # for it
        ("p000-r02", {"replication": 2}),
        # a point the plan does not hold
        ("p999-r00", {"point": "p999", "replication": 0}),
    ],
)
def test_a_record_beyond_the_plan_is_not_kept(
    write_sweep: Callable[..., Path],
    tmp_path: Path,
    name: str,
    edit: dict[str, Any],
) -> None:
    path = write_sweep("scenario: tiny.yaml\nreplications: 2\n")
    out = tmp_path / "out"
    run_sweep(load_sweep(path), out, SerialExecutor())
    record = json.loads((out / "runs" / "p000-r00.json").read_text())
    (out / "runs" / f"{name}.json").write_text(json.dumps({**record, **edit}))

    stored = SweepFolder(out, load_sweep(path)).stored()

    assert name not in stored
    assert sorted(stored) == ["p000-r00", "p000-r01"]


def test_a_second_hold_on_a_folder_is_refused(tmp_path: Path) -> None:
    # two sweeps past the command line's early check, or two callers of
    # run_sweep: the lock itself keeps the second out
    out = tmp_path / "out"

    with (
        writing_alone(out),
        pytest.raises(
            WrongSweepError, match="is being written by another meshsim"
        ),
        writing_alone(out),
    ):
        pass

    with writing_alone(out):  # let go when the first ended
        pass


_MARK = '<meta name="generator" content="meshsim">'


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("report.html", "my own"),
        ("figures/ca_load_heatmap.png", "my own"),
        ("figures/pareto.png", "my own"),
        # meshsim's mark, but in a comment or the body: no head of its own
        ("report.html", f"<html><!-- {_MARK} --><body>mine</body></html>"),
        ("report.html", f"<html><body>{_MARK} mine</body></html>"),
        # a stored run's name, in the sweep's count, but no run's record
        ("runs/p000-r00.json", "my own"),
        ("runs/p000-r00.json", '{"plan_sha256": "mine"}'),
    ],
)
def test_force_refuses_a_file_of_meshsims_name_it_did_not_write(
    write_sweep: Callable[..., Path], tmp_path: Path, name: str, text: str
) -> None:
    first = write_sweep("scenario: tiny.yaml\nreplications: 1\n")
    out = tmp_path / "out"
    run_sweep(load_sweep(first), out, SerialExecutor())
    write_report(out)
    (out / name).parent.mkdir(exist_ok=True)
    (out / name).write_text(text)
    second = write_sweep(
        "scenario: tiny.yaml\nreplications: 2\n", name="second.yaml"
    )

    with pytest.raises(
        WrongSweepError, match=re.escape(f"holds {name!r} besides")
    ):
        run_sweep(load_sweep(second), out, SerialExecutor(), force=True)

    assert (out / name).read_text() == text


def test_force_replaces_a_sweep_and_the_report_meshsim_drew(
    write_sweep: Callable[..., Path], tmp_path: Path
) -> None:
    first = write_sweep("scenario: tiny.yaml\nreplications: 1\n")
    out = tmp_path / "out"
    run_sweep(load_sweep(first), out, SerialExecutor())
    write_report(out)
    second = write_sweep(
        "scenario: tiny.yaml\nreplications: 2\n", name="second.yaml"
    )

    run_sweep(load_sweep(second), out, SerialExecutor(), force=True)

    assert not (out / "report.html").exists()
    assert len(list((out / "runs").glob("*.json"))) == 2


def test_a_resume_keeps_a_users_hidden_file_among_the_runs(
    write_sweep: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_sweep("scenario: tiny.yaml\nreplications: 2\n")
    out = tmp_path / "out"
    run_sweep(load_sweep(path), out, SerialExecutor())
    kept = out / "runs" / ".p000-r00.json.original"
    kept.write_text("precious")
    (out / "runs" / "p000-r01.json").unlink()

    again = run_sweep(load_sweep(path), out, SerialExecutor())

    assert again.ran == 1
    assert kept.read_text() == "precious"


def test_every_report_figure_is_in_a_sweeps_layout() -> None:
    # the layout lists them by name, for --force to know them
    for name, _, _ in FIGURES:
        assert layout._in_layout(f"figures/{name}.png", SWEEP_LAYOUT), name


def test_a_finished_sweep_rerun_runs_nothing(finished: SweepOutcome) -> None:
    again = run_sweep(
        load_sweep(finished.out.parent / "small.yaml"),
        finished.out,
        SerialExecutor(),
    )

    assert (again.ran, again.resumed, again.failed) == (0, 24, 0)
    pd.testing.assert_frame_equal(again.runs, finished.runs)


@pytest.mark.parametrize(
    ("overrides", "replications", "named"),
    [
        ((), 3, "with 2 replications (now 3)"),
        (
            ("traffic.rate=0",),
            None,
            "other overrides (now also traffic.rate=0)",
        ),
        (
            ("traffic.rate=0",),
            3,
            "with other overrides (now also traffic.rate=0) and "
            "2 replications (now 3)",
        ),
    ],
    ids=["replications", "overrides", "both"],
)
def test_a_rerun_changing_the_plan_is_refused_naming_the_change(
    write_sweep: Callable[..., Path],
    tmp_path: Path,
    overrides: tuple[str, ...],
    replications: int | None,
    named: str,
) -> None:
    path = write_sweep("scenario: tiny.yaml\nreplications: 2\n")
    out = tmp_path / "out"
    run_sweep(load_sweep(path), out, SerialExecutor())

    changed = load_sweep(path, overrides, replications)
    with pytest.raises(WrongSweepError) as refused:
        run_sweep(changed, out, SerialExecutor())

    assert named in str(refused.value)


def test_a_refusal_names_only_the_overrides_that_differ(
    write_sweep: Callable[..., Path], tmp_path: Path
) -> None:
    # a long override given both times would push the difference past
    # what a line shows of each list
    path = write_sweep("scenario: tiny.yaml\nreplications: 1\n")
    out = tmp_path / "out"
    common = f"mesh.service_accounts={'0' * 70}4"
    run_sweep(
        load_sweep(path, (common, "traffic.rate=0.005")), out, SerialExecutor()
    )

    changed = load_sweep(path, (common, "traffic.rate=0"))
    with pytest.raises(WrongSweepError) as refused:
        run_sweep(changed, out, SerialExecutor())

    assert (
        "other overrides (then also traffic.rate=0.005; now also "
        "traffic.rate=0)" in str(refused.value)
    )


def test_a_refusal_cuts_what_an_edited_sweep_json_holds(
    write_sweep: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_sweep("scenario: tiny.yaml\nreplications: 2\n")
    out = tmp_path / "out"
    run_sweep(load_sweep(path), out, SerialExecutor())
    guard = json.loads((out / "sweep.json").read_text())
    edited = {**guard, "replications": 10**400, "overrides": "abc"}
    (out / "sweep.json").write_text(json.dumps(edited))

    with pytest.raises(WrongSweepError) as refused:
        run_sweep(load_sweep(path, (), 1), out, SerialExecutor())

    assert str(refused.value) == (
        f"--out: {str(out)!r} holds this sweep file run with other "
        "overrides (abc; now none) and replications "
        f"{'1' + '0' * 58}… (now 1); pass --force to start it over"
    )


@pytest.mark.parametrize(
    ("held", "named"),
    [
        (0, "replications 0 (now 1)"),  # no count of runs: as it reads
        (3, "with 3 replications (now 1)"),
    ],
)
def test_a_refusal_counts_replications_only_when_they_are_a_count(
    write_sweep: Callable[..., Path], tmp_path: Path, held: int, named: str
) -> None:
    path = write_sweep("scenario: tiny.yaml\nreplications: 2\n")
    out = tmp_path / "out"
    run_sweep(load_sweep(path), out, SerialExecutor())
    guard = json.loads((out / "sweep.json").read_text())
    (out / "sweep.json").write_text(json.dumps({**guard, "replications": held}))

    with pytest.raises(WrongSweepError) as refused:
        run_sweep(load_sweep(path, (), 1), out, SerialExecutor())

    assert named in str(refused.value)


def test_a_rerun_of_one_replication_names_it_in_the_singular(
    write_sweep: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_sweep("scenario: tiny.yaml\nreplications: 1\n")
    out = tmp_path / "out"
    run_sweep(load_sweep(path), out, SerialExecutor())

    with pytest.raises(WrongSweepError) as refused:
        run_sweep(load_sweep(path, (), 2), out, SerialExecutor())

    assert "with 1 replication (now 2)" in str(refused.value)


def test_dry_run_refuses_a_folder_the_run_would_refuse(
    finished: SweepOutcome, write_sweep: Callable[..., Path]
) -> None:
    other = write_sweep(
        "scenario: tiny.yaml\nreplications: 1\n", name="other.yaml"
    )
    before = sorted(p.name for p in finished.out.rglob("*"))

    refused = CliRunner().invoke(
        main, ["sweep", str(other), "--out", str(finished.out), "--dry-run"]
    )

    assert refused.exit_code == 2
    assert refused.output.startswith("error: --out: ")
    assert "holds a different sweep file" in refused.output
    assert sorted(p.name for p in finished.out.rglob("*")) == before


@pytest.mark.parametrize(
    ("out", "says"),
    [
        (".", "holds the sweep file; it is not replaced even with --force"),
        ("link", "is a symbolic link"),
        ("a-file/out", "is a file"),
        ("elsewhere", "holds no sweep (no sweep.json); give a new or"),
        ("dangling/out", "is a symbolic link to nothing"),
    ],
    ids=[
        "inputs-inside",
        "symlink",
        "under-a-file",
        "not-a-sweep",
        "under-a-dangling-link",
    ],
)
def test_force_never_deletes_inputs_nor_follows_odd_paths(
    write_sweep: Callable[..., Path], tmp_path: Path, out: str, says: str
) -> None:
    path = write_sweep("scenario: tiny.yaml\nreplications: 1\n")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "kept.txt").write_text("mine")
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "a-file").write_text("not a folder")
    (tmp_path / "dangling").symlink_to(tmp_path / "missing")
    before = sorted(p.name for p in tmp_path.rglob("*"))

    refused = CliRunner().invoke(
        main, ["sweep", str(path), "--out", str(tmp_path / out), "--force"]
    )

    assert refused.exit_code == 2, refused.output
    assert refused.output.startswith("error: --out: ")
    assert says in refused.output
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert not (tmp_path / "missing").exists()


_NO_NAME = "sweep.json without the sweep's name and hashes"


@pytest.mark.parametrize(
    ("guard", "why"),
    [
        ("{}", _NO_NAME),
        ('{"sweep": "x"}', _NO_NAME),
        ('{"sweep": "x", "sweep_sha256": "a", "plan_sha256": "b"}', _NO_NAME),
        ("[]", _NO_NAME),
        (
            "garbage{",
            "sweep.json: not JSON (Expecting value at line 1, column 1)",
        ),
        ("[" * 10**5 + "]" * 10**5, "sweep.json: nested too deeply)"),
    ],
    ids=[
        "empty",
        "no-hashes",
        "short-hashes",
        "list",
        "garbage",
        "nested-too-deeply",
    ],
)
def test_force_never_empties_a_folder_whose_guard_meshsim_did_not_write(
    guard: str, why: str, write_sweep: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_sweep("scenario: tiny.yaml\nreplications: 1\n")
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "sweep.json").write_text(guard)
    (folder / "keep.txt").write_text("important")

    refused = CliRunner().invoke(
        main, ["sweep", str(path), "--out", str(folder), "--force"]
    )

    assert refused.exit_code == 2, refused.output
    assert f"holds no sweep ({why}" in refused.output
    assert (folder / "keep.txt").read_text() == "important"


@pytest.mark.skipif(
    not Path("/proc/self").is_dir(), reason="needs Linux's /proc"
)
@pytest.mark.parametrize(
    ("out", "says"),
    [
        ("/proc/meshsim-o", "--out: cannot write in '/proc': "),
        ("z" * 256, "File name too long"),
    ],
    ids=["cannot-write", "name-too-long"],
)
def test_an_out_the_system_refuses_is_one_line_before_running(
    out: str, says: str, write_sweep: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_sweep("scenario: tiny.yaml\nreplications: 1\n")
    where = out if out.startswith("/") else str(tmp_path / out)

    results = [
        CliRunner().invoke(main, ["sweep", str(path), "--out", where, *more])
        for more in ([], ["--dry-run"])
    ]

    for result in results:
        assert result.exit_code == 2, result.output
        assert result.output.startswith("error: --out: ")
        assert says in result.output
        assert len(result.output.splitlines()) == 1


def test_a_copied_run_record_is_not_counted_again(
    write_sweep: Callable[..., Path], tmp_path: Path
) -> None:
    # A file manager's copy keeps the fields of the replication it copies
    # under another name: the sweep still has one run per replication.
    sweep = load_sweep(write_sweep())
    out = tmp_path / "out"
    first = run_sweep(sweep, out, SerialExecutor())
    record = out / "runs" / "p000-r00.json"
    (out / "runs" / "p000-r00 (copy).json").write_bytes(record.read_bytes())
    (out / "runs" / "p000-r01.json").write_text("[1, 2]")

    again = run_sweep(sweep, out, SerialExecutor())

    assert (again.ran, again.resumed) == (1, len(first.runs) - 1)
    assert len(again.runs) == len(first.runs)
    assert (
        pd.testing.assert_frame_equal(
            comparable(again.runs), comparable(first.runs)
        )
        is None
    )


@pytest.mark.parametrize("where", ["deep", "long-name"])
def test_an_out_too_long_for_a_sweep_is_refused_before_anything_is_made(
    write_sweep: Callable[..., Path],
    tmp_path: Path,
    path_of_length: Callable[[Path, int], Path],
    where: str,
) -> None:
    path = write_sweep("scenario: tiny.yaml\nreplications: 1\n")
    room = tmp_path / "room"
    room.mkdir()
    if where == "deep":
        # every name legal, but a figure's path would pass PATH_MAX
        out = path_of_length(room, os.pathconf(room, "PC_PATH_MAX") - 20)
        says = f"--out: {str(out)!r} is too long a path"
    else:
        # a legal name, but the lock file beside it would not be
        out = room / ("n" * 250)
        says = f"--out: {out.name!r} is too long a name here: a sweep holds"

    for options in (["--dry-run"], []):
        refused = CliRunner().invoke(
            main, ["sweep", str(path), "--out", str(out), *options]
        )

        assert refused.exit_code == 2, refused.output
        assert refused.output.startswith(f"error: {says}")
        assert len(refused.output.splitlines()) == 1
        assert list(room.iterdir()) == []


def test_a_sweep_folder_whose_start_fails_is_taken_back(
    write_sweep: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = write_sweep("scenario: tiny.yaml\nreplications: 1\n")
    out = tmp_path / "out"
    write_bytes = store_module.write_bytes

    def full_at_points(target: Path, data: bytes) -> None:
        if target.parent.name == "scenarios":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        write_bytes(target, data)

    monkeypatch.setattr(store_module, "write_bytes", full_at_points)
    with pytest.raises(OSError):
        run_sweep(load_sweep(path), out, SerialExecutor())
    monkeypatch.undo()

    assert not out.exists()
    assert run_sweep(load_sweep(path), out, SerialExecutor()).ran == 1


def test_a_run_record_python_cannot_read_is_run_again(
    write_sweep: Callable[..., Path], tmp_path: Path
) -> None:
    sweep = load_sweep(write_sweep())
    out = tmp_path / "out"
    first = run_sweep(sweep, out, SerialExecutor())
    record = out / "runs" / "p000-r01.json"
    record.write_text("[" * 10**5 + "]" * 10**5)

    again = run_sweep(sweep, out, SerialExecutor())

    assert (again.ran, again.resumed) == (1, len(first.runs) - 1)


@pytest.mark.parametrize("seed", [4 * 10**25, "x", -5])
def test_a_run_record_of_another_seed_is_run_again(
    write_sweep: Callable[..., Path], tmp_path: Path, seed: object
) -> None:
    # each replication's seed is the plan's; one edited is no run of it
    sweep = load_sweep(write_sweep())
    out = tmp_path / "out"
    first = run_sweep(sweep, out, SerialExecutor())
    path = out / "runs" / "p000-r01.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "seed": seed}))

    again = run_sweep(sweep, out, SerialExecutor())

    assert (again.ran, again.resumed) == (1, len(first.runs) - 1)
    assert json.loads(path.read_text())["seed"] == sweep.seeds[1]


@pytest.mark.parametrize(
    "edit",
    [
        {"derived": "x"},
        {"summary": [1]},
        {"status": "weird"},
        {"status": None},
        {"status": "failed", "error": None},
        {"status": "failed", "error": 5},
    ],
    ids=str,
)
def test_a_run_record_of_no_outcome_meshsim_stores_is_run_again(
    write_sweep: Callable[..., Path], tmp_path: Path, edit: dict[str, Any]
) -> None:
    # a replication stores "ok" with its figures, or "failed" with why;
    # anything else is no record of it (it ended in an internal error)
    sweep = load_sweep(write_sweep())
    out = tmp_path / "out"
    first = run_sweep(sweep, out, SerialExecutor())
    path = out / "runs" / "p000-r01.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **edit}))

    again = run_sweep(sweep, out, SerialExecutor())

    assert (again.ran, again.resumed) == (1, len(first.runs) - 1)
    assert json.loads(path.read_text())["status"] == "ok"


def test_a_figure_no_table_column_holds_is_read_as_missing(
    write_sweep: Callable[..., Path], tmp_path: Path
) -> None:
    sweep = load_sweep(write_sweep())
    out = tmp_path / "out"
    run_sweep(sweep, out, SerialExecutor())
    path = out / "runs" / "p000-r00.json"
    record = json.loads(path.read_text())
    record["summary"]["ca"]["csr_total"] = 10**300
    path.write_text(json.dumps(record))

    again = run_sweep(sweep, out, SerialExecutor())

    first = again.runs[
        (again.runs["point"] == "p000") & (again.runs["replication"] == 0)
    ]
    assert again.ran == 0
    assert first["ca.csr_total"].isna().all()
    assert again.runs["ca.csr_total"].notna().sum() == len(again.runs) - 1


@pytest.mark.parametrize(
    "options", [["--force", "--executor", "serial"], ["--dry-run"]]
)
def test_a_second_sweep_into_a_folder_being_written_is_refused(
    write_sweep: Callable[..., Path], tmp_path: Path, options: list[str]
) -> None:
    # one of them, with --force, would clear the runs the other stores;
    # a dry run says what the sweep would
    sweep = load_sweep(write_sweep())
    out = tmp_path / "out"
    seen: list[str] = []

    def meanwhile(state: Any) -> None:
        if not seen:
            result = CliRunner().invoke(
                main,
                ["sweep", str(sweep.spec.source), "--out", str(out), *options],
            )
            seen.append(f"{result.exit_code} {result.output}")

    outcome = run_sweep(sweep, out, SerialExecutor(), progress=meanwhile)

    assert seen == [
        f"2 error: --out: {str(out)!r} is being written by another meshsim "
        "sweep; run this one when it has ended\n"
    ]
    assert outcome.ran == len(outcome.runs)
    again = run_sweep(sweep, out, SerialExecutor())
    assert (again.ran, again.resumed) == (0, len(outcome.runs))


def test_a_sweep_stopped_while_its_folder_is_made_can_be_resumed(
    write_sweep: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Ctrl-C between the sweep file and the guard left a folder that was
    # no sweep's: neither resumed nor replaced, even with --force
    sweep = load_sweep(write_sweep())
    out = tmp_path / "out"
    write = store_module.write_bytes

    def interrupted_while_writing(path: Path, data: bytes) -> None:
        write(path, data)
        signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(store_module, "write_bytes", interrupted_while_writing)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(sweep, out, SerialExecutor())
    monkeypatch.undo()

    assert (out / "sweep.json").is_file()
    outcome = run_sweep(sweep, out, SerialExecutor())
    assert outcome.failed == 0
    assert outcome.ran == len(sweep.points) * sweep.replications


def test_a_serial_run_a_library_swallowed_ctrl_c_in_is_not_kept() -> None:
    # the run went on after a library caught the interrupt, maybe with a
    # chain check it failed: its result must not be stored
    def swallowing(task: int) -> str:
        with contextlib.suppress(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
        return f"run {task} finished after Ctrl-C"

    with catching_interrupts():
        results = SerialExecutor().map_unordered(swallowing, [1, 2])
        with pytest.raises(KeyboardInterrupt):
            next(results)
