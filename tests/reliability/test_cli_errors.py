"""Every way ``meshsim run`` and ``meshsim validate`` can fail: one line on
stderr, a documented exit status, never a traceback, nothing half-written.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from meshsim.cli import main

from .conftest import (
    DEFAULT,
    REPO,
    SMALL,
    assert_complete,
    meshsim,
    staging_left,
)

INTERNAL = (
    "error: internal error: RuntimeError: boom on two lines (please report)"
)

# the package exports the commands under the names of their modules
RUN = importlib.import_module("meshsim.cli.run")


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), prog_name="meshsim")


def one_line(result: Result) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize("command", ["run", "validate"])
def test_missing_file_is_one_line_and_status_2(
    command: str, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.yaml"

    result = invoke(command, str(missing))

    assert result.exit_code == 2
    assert one_line(result) == (
        f"{missing}: (document): cannot be read: No such file or directory"
    )


@pytest.mark.parametrize("command", ["run", "validate"])
def test_directory_is_one_line_and_status_2(
    command: str, tmp_path: Path
) -> None:
    result = invoke(command, str(tmp_path))

    assert result.exit_code == 2
    assert one_line(result) == (
        f"{tmp_path}: (document): cannot be read: Is a directory"
    )


def test_unreadable_file_is_one_line_and_status_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("name: x\nduration: 1h\n")

    def refuse(path: Any, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)

    monkeypatch.setattr("meshsim.scenario.load.open", refuse, raising=False)
    result = invoke("validate", str(secret))

    assert result.exit_code == 2
    assert one_line(result) == (
        f"{secret}: (document): cannot be read: Permission denied"
    )


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="root reads files whatever their mode",
)
def test_file_without_read_permission_is_status_2(tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("name: x\nduration: 1h\n")
    secret.chmod(0)

    result = invoke("validate", str(secret))

    assert result.exit_code == 2
    assert "cannot be read: Permission denied" in one_line(result)


def test_bad_override_is_one_line_and_status_2(tmp_path: Path) -> None:
    result = invoke(
        "run", str(DEFAULT), "--out", str(tmp_path / "o"), "--set", "nodes"
    )

    assert result.exit_code == 2
    assert one_line(result) == (
        "override nodes: (document): must have the form dotted.key=value "
        "(got 'nodes')"
    )
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "args",
    [
        ("run", "--bogus"),
        ("run",),
        ("validate", "a.yaml", "b.yaml"),
        ("validate", "--set"),
        ("validate-model", "--seed", str(2**63)),
        ("validate-model", "--seed", "\u0661"),
        ("sweep", "s.yaml", "--replications", "\u0663"),
        # an empty --out would be the current folder
        ("run", str(DEFAULT), "--out", ""),
        ("sweep", "s.yaml", "--out", ""),
        ("report", ""),
        ("validate", ""),
        ("run", ""),
        ("sweep", ""),
        # a folder named by spaces is a slip
        ("run", str(DEFAULT), "--out", " "),
        ("sweep", "s.yaml", "--out", "\t"),
        ("report", "  "),
    ],
)
def test_usage_errors_are_one_line_and_status_2(args: tuple[str, ...]) -> None:
    result = invoke(*args)

    assert result.exit_code == 2
    line = one_line(result)
    assert line.startswith("error: ")
    assert line.endswith(f"(see meshsim {args[0]} --help)")


def test_existing_output_needs_force(tmp_path: Path) -> None:
    out = tmp_path / "o"
    out.mkdir()
    (out / "manifest.json").write_text("{}")

    result = invoke("run", str(DEFAULT), "--out", str(out), *SMALL)

    assert result.exit_code == 2
    assert one_line(result) == (
        f"error: --out: {str(out)!r} already exists; pass --force to replace it"
    )
    assert [p.name for p in out.iterdir()] == ["manifest.json"]


@pytest.mark.parametrize(
    ("name", "text", "why"),
    [
        ("thesis.tex", "years of work", "no manifest.json written by meshsim"),
        (
            "manifest.json",
            '{"sweep": "mine"}',
            "its manifest.json is not one a meshsim run wrote",
        ),
    ],
    ids=["no-manifest", "a-sweeps-manifest"],
)
def test_force_replaces_only_a_result_folder(
    name: str, text: str, why: str, tmp_path: Path
) -> None:
    out = tmp_path / "home"
    out.mkdir()
    (out / name).write_text(text)

    result = invoke("run", str(DEFAULT), "--out", str(out), "--force", *SMALL)

    assert result.exit_code == 2
    assert one_line(result) == (
        f"error: --out: {str(out)!r} is not a meshsim result folder "
        f"({why}); refusing to replace it"
    )
    assert [p.name for p in out.iterdir()] == [name]
    assert (out / name).read_text() == text


def _earlier_result(out: Path) -> Path:
    """``out``, holding the result of a small run."""
    first = invoke("run", str(DEFAULT), "--out", str(out), *SMALL)
    assert first.exit_code == 0, first.output
    return out


def test_force_keeps_the_scenario_and_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = _earlier_result(tmp_path / "o")
    mine = out / "mine.yaml"
    mine.write_text(DEFAULT.read_text())

    inside = invoke("run", str(mine), "--out", str(out), "--force", *SMALL)
    monkeypatch.chdir(out)
    here = invoke("run", str(DEFAULT), "--out", ".", "--force", *SMALL)
    here_unforced = invoke("run", str(DEFAULT), "--out", "./", *SMALL)
    monkeypatch.chdir(tmp_path)
    beside = invoke(
        "run", str(out / "scenario.yaml"), "--out", str(out), "--force"
    )
    mine.unlink()
    again = invoke(
        "run", str(out / "scenario.yaml"), "--out", str(out), "--force"
    )

    assert inside.exit_code == 2
    assert one_line(inside) == (
        f"error: --out: {str(out)!r} holds the scenario file; it is not "
        "replaced even with --force"
    )
    assert here.exit_code == 2
    assert one_line(here) == (
        "error: --out: '.' holds the current folder; it is not replaced "
        "even with --force"
    )
    # without --force too: it is not suggested, to be refused after
    assert here_unforced.exit_code == 2
    assert one_line(here_unforced) == one_line(here)
    # a file meshsim did not write keeps the result from being replaced
    assert beside.exit_code == 2
    assert one_line(beside) == (
        f"error: --out: {str(out)!r} holds 'mine.yaml' besides what meshsim "
        "wrote there; it is not replaced even with --force (move them away "
        "first)"
    )
    # a result's own scenario.yaml is written again by the new run
    assert again.exit_code == 0, again.output


def test_output_that_is_a_file_is_status_2(tmp_path: Path) -> None:
    out = tmp_path / "o"
    out.write_text("x")

    result = invoke("run", str(DEFAULT), "--out", str(out), "--force", *SMALL)

    assert result.exit_code == 2
    assert one_line(result) == (
        f"error: --out: {str(out)!r} exists and is not a folder"
    )


def test_output_inside_a_file_is_status_2(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    out = blocker / "sub" / "o"

    result = invoke("run", str(DEFAULT), "--out", str(out), *SMALL)

    assert result.exit_code == 2
    assert one_line(result) == (
        f"error: --out: {str(out)!r} is inside {str(blocker)!r}, which is "
        "not a folder"
    )


def test_a_name_the_system_refuses_is_status_2_before_running(
    tmp_path: Path,
) -> None:
    out = tmp_path / ("a" * 300)  # longer than any name may be

    result = invoke("run", str(DEFAULT), "--out", str(out), *SMALL)

    assert result.exit_code == 2
    assert one_line(result) == (
        f"error: --out: {str(out)!r}: File name too long"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_name_too_long_for_its_staging_folder_is_status_2(
    tmp_path: Path,
) -> None:
    # a legal name, but the hidden folder the run is staged in would
    # have a longer one: refused before the run, not after it
    out = tmp_path / ("b" * 245)

    result = invoke("run", str(DEFAULT), "--out", str(out), *SMALL)

    assert result.exit_code == 2
    line = one_line(result)
    assert line.startswith(f"error: --out: {out.name!r} is too long a name")
    assert line.endswith("and a name may have at most 255")
    assert list(tmp_path.iterdir()) == []


def test_a_path_too_long_for_the_files_inside_is_status_2_before_running(
    tmp_path: Path, path_of_length: Callable[[Path, int], Path]
) -> None:
    # every name is legal, but the files a run writes under the staging
    # folder would have paths longer than the system takes (4,096 on
    # Linux, counted with the final NUL)
    limit = os.pathconf(tmp_path, "PC_PATH_MAX")
    out = path_of_length(tmp_path, limit - 20)  # itself short enough

    result = invoke("run", str(DEFAULT), "--out", str(out), *SMALL)

    assert result.exit_code == 2
    line = one_line(result)
    assert line.startswith(f"error: --out: {str(out)!r} is too long a path")
    assert line.endswith(f"and a path may have at most {limit - 1}")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_name_too_long_midway_is_status_2_before_running(
    tmp_path: Path,
) -> None:
    out = tmp_path / "a" / ("m" * 300) / "o"

    result = invoke("run", str(DEFAULT), "--out", str(out), *SMALL)

    assert result.exit_code == 2
    assert one_line(result) == (
        f"error: --out: {'m' * 300!r} is too long a name: a name may have "
        "at most 255"
    )
    assert list(tmp_path.iterdir()) == []


def test_folders_made_before_one_that_fails_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "a" / "b" / "o"
    mkdir = Path.mkdir

    def full_at_b(path: Path, *args: Any, **kwargs: Any) -> None:
        if path.name == "b":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        mkdir(path, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", full_at_b)
    result = invoke("run", str(DEFAULT), "--out", str(out), *SMALL)

    assert result.exit_code == 1
    assert list(tmp_path.iterdir()) == []


def test_force_over_a_mount_point_is_status_2_before_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a volume mounted as the results folder cannot be renamed aside
    out = tmp_path / "a volume"
    assert invoke("run", str(DEFAULT), "--out", str(out), *SMALL).exit_code == 0
    mountinfo = tmp_path / "mountinfo"
    escaped = str(out).replace(" ", "\\040")
    mountinfo.write_text(
        "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
        f"36 22 8:1 /data {escaped} rw,relatime - ext4 /dev/sda1 rw\n"
    )
    monkeypatch.setattr("meshsim.results._MOUNTINFO", mountinfo)

    result = invoke("run", str(DEFAULT), "--out", str(out), "--force", *SMALL)

    assert result.exit_code == 2
    assert one_line(result) == (
        f"error: --out: {str(out)!r} is a mount point, which cannot be "
        "replaced; give a folder inside it"
    )
    assert "results:" not in result.stdout


def test_a_failed_write_removes_the_folders_made_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "new" / "deeper" / "o"

    def disk_full(path: Path, table: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr("meshsim.runner.write_table", disk_full)
    result = invoke("run", str(DEFAULT), "--out", str(out), *SMALL)

    assert result.exit_code == 1
    assert list(tmp_path.iterdir()) == []


def test_an_earlier_result_that_cannot_be_deleted_is_status_2_before_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "o"
    assert invoke("run", str(DEFAULT), "--out", str(out), *SMALL).exit_code == 0
    before = sorted(str(p) for p in out.rglob("*"))
    locked = out / "tables"
    access = os.access

    def read_only(path: Any, mode: int, **kwargs: Any) -> bool:
        if Path(path) == locked and mode & os.W_OK:
            return False
        return access(path, mode, **kwargs)

    monkeypatch.setattr("meshsim.results.os.access", read_only)
    result = invoke("run", str(DEFAULT), "--out", str(out), "--force", *SMALL)

    assert result.exit_code == 2
    assert one_line(result) == (
        f"error: --out: {str(out)!r} cannot be replaced: {str(locked)!r} is "
        "not writable, so the earlier result could not be deleted"
    )
    assert "results:" not in result.stdout  # refused before the run
    assert sorted(str(p) for p in out.rglob("*")) == before


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="root deletes files whatever their folder's mode",
)
def test_a_read_only_earlier_result_is_status_2_before_running(
    tmp_path: Path,
) -> None:
    out = tmp_path / "o"
    assert invoke("run", str(DEFAULT), "--out", str(out), *SMALL).exit_code == 0
    out.chmod(0o555)

    try:
        result = invoke(
            "run", str(DEFAULT), "--out", str(out), "--force", *SMALL
        )
    finally:
        out.chmod(0o755)

    assert result.exit_code == 2
    assert "is not writable, so the earlier result" in one_line(result)


def test_what_is_left_of_an_earlier_result_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "o"
    assert invoke("run", str(DEFAULT), "--out", str(out), *SMALL).exit_code == 0

    def undeletable(path: Any, ignore_errors: bool = False) -> None:
        assert ignore_errors  # what it refuses to delete stays, silently

    monkeypatch.setattr("meshsim.results.shutil.rmtree", undeletable)
    result = invoke("run", str(DEFAULT), "--out", str(out), "--force", *SMALL)

    assert result.exit_code == 0, result.output
    (left,) = tmp_path.glob(".o.old-*")
    assert one_line(result) == (
        "--out: the earlier result could not be wholly deleted; what is "
        f"left of it is in {str(left)!r}"
    )
    assert (left / "o" / "manifest.json").is_file()
    assert_complete(out)


@pytest.mark.skipif(
    not Path("/proc/self").is_dir(), reason="needs Linux's /proc"
)
def test_a_folder_that_refuses_new_folders_is_status_2_before_running() -> None:
    # os.access calls /proc writable for root; making a folder there
    # fails all the same
    result = invoke("run", str(DEFAULT), "--out", "/proc/meshsim-o", *SMALL)

    assert result.exit_code == 2
    assert one_line(result).startswith(
        "error: --out: cannot write in '/proc': "
    )


def test_failed_write_is_status_1_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "o"

    def disk_full(path: Path, table: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr("meshsim.runner.write_table", disk_full)
    result = invoke("run", str(DEFAULT), "--out", str(out), *SMALL)

    assert result.exit_code == 1
    line = one_line(result)
    assert line.startswith(
        f"error: --out: cannot write {str(out)!r}: No space left on device ("
    )
    assert line.endswith("); nothing written")
    assert not out.exists()
    assert not staging_left(out)


def test_internal_error_is_one_line_and_status_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom on\ntwo lines")

    monkeypatch.delenv("MESHSIM_DEBUG", raising=False)
    monkeypatch.setattr(RUN, "run_scenario", broken)
    result = invoke("run", str(DEFAULT), "--out", str(tmp_path / "o"))

    assert result.exit_code == 1
    assert one_line(result) == INTERNAL
    assert not (tmp_path / "o").exists()


def test_a_folder_made_at_out_while_running_fails_the_run_status_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # checked before the run, it was free: the run happened, and its
    # results could not be written (status 1, as a full disk)
    out = tmp_path / "o"
    simulate = RUN.run_scenario

    def taken_meanwhile(*args: Any, **kwargs: Any) -> Any:
        out.mkdir()
        (out / "theirs.txt").write_text("someone else's")
        return simulate(*args, **kwargs)

    monkeypatch.setattr(RUN, "run_scenario", taken_meanwhile)
    result = invoke("run", str(DEFAULT), "--out", str(out), *SMALL)

    assert result.exit_code == 1
    assert one_line(result) == (
        f"error: --out: {str(out)!r} already exists; pass --force to "
        "replace it (found after the run); nothing written"
    )
    assert [p.name for p in out.iterdir()] == ["theirs.txt"]


def test_internal_error_of_validate_is_status_1(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom on\ntwo lines")

    monkeypatch.delenv("MESHSIM_DEBUG", raising=False)
    monkeypatch.setattr(RUN, "load_scenario", broken)
    result = invoke("validate", str(DEFAULT))

    assert result.exit_code == 1
    assert one_line(result) == INTERNAL


def test_debug_variable_shows_the_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom on\ntwo lines")

    monkeypatch.setenv("MESHSIM_DEBUG", "1")
    monkeypatch.setattr(RUN, "run_scenario", broken)
    result = invoke("run", str(DEFAULT), "--out", str(tmp_path / "o"))

    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert "RuntimeError: boom on" in result.stderr
    assert lines[-1] == INTERNAL


@pytest.mark.parametrize(
    ("stop", "status", "word"),
    [
        (KeyboardInterrupt, 130, "interrupted"),
        ("Terminated", 143, "terminated"),
    ],
)
def test_interrupt_while_simulating_writes_nothing(
    stop: Any,
    status: int,
    word: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from meshsim.cli.interrupts import Terminated

    exception = Terminated if stop == "Terminated" else stop
    out = tmp_path / "o"

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise exception

    monkeypatch.setattr(RUN, "run_scenario", interrupted)
    result = invoke("run", str(DEFAULT), "--out", str(out))

    assert result.exit_code == status
    assert one_line(result) == f"{word}; nothing written"
    assert not out.exists()
    assert not staging_left(out)


def test_interrupt_while_writing_keeps_the_old_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = _earlier_result(tmp_path / "o")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("meshsim.runner.write_figure", interrupted)
    result = invoke("run", str(DEFAULT), "--out", str(out), "--force", *SMALL)

    assert result.exit_code == 130
    assert one_line(result) == "interrupted; nothing written"
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert not staging_left(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


def test_interrupt_after_writing_says_the_results_are_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "o"

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(RUN, "_show", interrupted)
    result = invoke("run", str(DEFAULT), "--out", str(out), *SMALL)

    assert result.exit_code == 130
    assert one_line(result) == f"interrupted; results written to {out}"
    assert_complete(out)


def test_errors_in_a_real_process_print_no_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    code = (
        "import importlib, sys\n"
        "run = importlib.import_module('meshsim.cli.run')\n"
        "def broken(*a, **k): raise ValueError('deep inside')\n"
        "run.run_scenario = broken\n"
        "sys.argv[0] = 'meshsim'\n"
        "from meshsim.cli import main\n"
        "main()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MESHSIM_DEBUG"}

    done = subprocess.run(
        meshsim("run", str(missing)), capture_output=True, text=True, env=env
    )
    broken = subprocess.run(
        [sys.executable, "-c", code, "run", str(DEFAULT), *SMALL],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )

    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"{missing}: (document): cannot be read: No such file or directory"
    ]
    assert broken.returncode == 1
    assert broken.stderr.splitlines() == [
        "error: internal error: ValueError: deep inside (please report)"
    ]
    assert not (tmp_path / "results").exists()


def _with_stderr_closed(*args: str) -> tuple[int, str]:
    """Status and stdout of ``meshsim ARGS`` whose stderr reader went
    away at once (a closed pipe)."""
    process = subprocess.Popen(
        meshsim(*args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    process.stderr.close()
    stdout, _ = process.communicate(timeout=300)
    return process.returncode, stdout


def test_a_closed_stderr_changes_no_status(tmp_path: Path) -> None:
    # a progress bar or an error line that cannot be written must not
    # turn success into failure, nor one failure into another
    sweep = tmp_path / "ttl.yaml"
    sweep.write_text(
        f"scenario: {DEFAULT}\nreplications: 1\n"
        "grid:\n  pki.workload_ttl: [4h, 2h]\n"
    )
    out = tmp_path / "out"

    swept, stdout = _with_stderr_closed(
        "sweep", str(sweep), "--out", str(out), "--jobs", "1", *SMALL
    )
    missing, _ = _with_stderr_closed("validate", str(tmp_path / "no.yaml"))

    assert swept == 0
    assert f"results: {out}" in stdout
    assert (out / "runs.parquet").is_file()
    assert missing == 2


def test_stderr_closed_before_the_start_changes_nothing(
    tmp_path: Path,
) -> None:
    # like `meshsim run F 2>&-`: Python starts with no sys.stderr at all
    sweep = tmp_path / "ttl.yaml"
    sweep.write_text(f"scenario: {DEFAULT}\nreplications: 1\n")
    commands = {
        "validate": ("validate", str(DEFAULT)),
        "run": ("run", str(DEFAULT), "--out", str(tmp_path / "r"), *SMALL),
        "sweep": (
            "sweep", str(sweep), "--out", str(tmp_path / "s"),
            "--executor", "serial", *SMALL,
        ),
    }  # fmt: skip

    for name, arguments in commands.items():
        done = subprocess.run(
            meshsim(*arguments),
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: os.close(2),
            timeout=300,
        )
        assert done.returncode == 0, name
        assert done.stdout, name
    assert (tmp_path / "r" / "summary.json").is_file()
    assert (tmp_path / "s" / "runs.parquet").is_file()


def test_closed_stdout_ends_quietly() -> None:
    read, write = os.pipe()
    os.close(read)  # like `meshsim validate FILE | true`

    try:
        done = subprocess.run(
            meshsim("validate", str(DEFAULT)),
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
        )
    finally:
        os.close(write)

    assert done.returncode == 1
    assert done.stderr == ""


@pytest.mark.parametrize(
    "arguments",
    [("validate", str(DEFAULT)), ("profiles",), ("--help",), ("--version",)],
)
def test_output_with_no_room_is_one_line_and_status_1(
    arguments: tuple[str, ...],
) -> None:
    with open("/dev/full", "w") as full:  # every write: ENOSPC
        done = subprocess.run(
            meshsim(*arguments),
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
        )

    assert done.returncode == 1
    assert done.stderr == (
        "error: cannot write output: No space left on device\n"
    )


def test_output_opened_only_for_reading_is_one_line_and_status_1(
    tmp_path: Path,
) -> None:
    readable = tmp_path / "in.txt"
    readable.write_text("")

    with open(readable) as read_only:  # like `meshsim validate F 1<F`
        done = subprocess.run(
            meshsim("validate", str(DEFAULT)),
            stdout=read_only,
            stderr=subprocess.PIPE,
            text=True,
        )

    assert done.returncode == 1
    assert done.stderr == "error: cannot write output: Bad file descriptor\n"


@pytest.mark.parametrize(
    "arguments", [("validate", str(DEFAULT)), ("profiles",)]
)
def test_a_closed_stdout_is_one_line_and_status_1(
    arguments: tuple[str, ...],
) -> None:
    done = subprocess.run(
        meshsim(*arguments),
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: os.close(1),  # like `meshsim validate F >&-`
    )

    assert done.returncode == 1
    assert done.stderr == (
        "error: cannot write output: standard output is closed\n"
    )


def test_interrupt_swallowed_by_a_library_still_stops_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # cryptography turns any exception raised in a certificate validator
    # callback, KeyboardInterrupt included, into a failed verification
    out = tmp_path / "o"
    real = RUN.run_scenario

    def swallowing(scenario: Any, progress: Any, **options: Any) -> Any:
        progress(0.1)
        with contextlib.suppress(KeyboardInterrupt):  # the callback ate it
            signal.raise_signal(signal.SIGINT)
        return real(scenario, progress, **options)

    monkeypatch.setattr(RUN, "run_scenario", swallowing)
    result = invoke("run", str(DEFAULT), "--out", str(out), *SMALL)

    assert result.exit_code == 130
    assert one_line(result) == "interrupted; nothing written"
    assert not out.exists()
    assert not staging_left(out)


@pytest.mark.parametrize(
    ("command", "advice"),
    [
        ("validate", "check it with meshsim sweep FILE --dry-run"),
        ("run", "run it with meshsim sweep FILE"),
    ],
)
def test_a_sweep_file_given_for_a_scenario_is_named_as_one(
    command: str, advice: str
) -> None:
    sweep = REPO / "scenarios" / "sweeps" / "ttl-vs-fanout.yaml"

    result = invoke(command, str(sweep))

    assert result.exit_code == 2
    assert result.output.splitlines()[0] == (
        f"{sweep}: a sweep file, it seems (it has the keys scenario, grid, "
        f"replications); {advice}"
    )


def test_a_scenario_file_given_for_a_sweep_is_named_as_one(
    tmp_path: Path,
) -> None:
    out = tmp_path / "o"

    result = invoke("sweep", str(DEFAULT), "--out", str(out))

    assert result.exit_code == 2
    assert result.output.splitlines()[0] == (
        f"{DEFAULT}: a scenario file, it seems (it has the keys profile, "
        "duration, mesh, pki, ca, traffic, attacks); run it with meshsim "
        "run FILE, or "
        "name it as a sweep file's scenario (docs/experiments.md)"
    )
    assert not out.exists()


@pytest.mark.parametrize("command", ["run", "sweep"])
@pytest.mark.parametrize(
    ("mark", "holds"),
    [
        ("manifest.json", {"meshsim_version": "0.1.0"}),
        ("sweep.json", {"sweep": "s", "plan_sha256": "0" * 64}),
    ],
    ids=["run-or-finished-sweep", "sweep"],
)
def test_a_result_is_refused_inside_another_before_running(
    tmp_path: Path, command: str, mark: str, holds: dict[str, str]
) -> None:
    result_folder = tmp_path / "r"
    result_folder.mkdir()
    (result_folder / mark).write_text(json.dumps(holds))
    out = result_folder / "figures" / "mine"
    given = (
        DEFAULT
        if command == "run"
        else REPO / "scenarios/sweeps/ca-workers.yaml"
    )

    result = invoke(command, str(given), "--out", str(out))

    assert result.exit_code == 2
    assert one_line(result) == (
        f"error: --out: {str(out)!r} is inside {str(result_folder)!r}, a "
        "meshsim result, which --force could then no longer replace; give "
        "a folder outside it"
    )
    assert [p.name for p in result_folder.iterdir()] == [mark]


@pytest.mark.parametrize(
    ("out", "says"),
    [
        ("link", "'{out}' is a symbolic link; give the folder itself"),
        (
            "dangling/o",
            "'{out}' is inside '{tmp}/dangling', a symbolic link to nothing",
        ),
    ],
    ids=["link", "under-a-dangling-link"],
)
def test_run_refuses_odd_out_paths_before_simulating(
    tmp_path: Path, out: str, says: str
) -> None:
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "kept.txt").write_text("mine")
    (tmp_path / "link").symlink_to(earlier)
    (tmp_path / "dangling").symlink_to(tmp_path / "missing")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    target = str(tmp_path / out)

    result = invoke("run", str(DEFAULT), "--out", target, "--force", *SMALL)

    assert result.exit_code == 2
    assert one_line(result) == "error: --out: " + says.format(
        out=target, tmp=tmp_path
    )
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert (tmp_path / "link").is_symlink()
