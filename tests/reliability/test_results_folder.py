"""Result folders: written whole, never over another folder without
``--force``, with a manifest that names what produced them, and the same
summary for the same scenario and seed."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from meshsim import __version__
from meshsim.cli import main
from meshsim.experiment.store import GUARD
from meshsim.files import read_json, write_bytes, write_together
from meshsim.layout import RESULT_MARKS, _in_layout, foreign_entries
from meshsim.mesh import ca as ca_module
from meshsim.results import (
    MANIFEST,
    RUN_LAYOUT,
    check_output,
    remove_stale_staging,
    staged_folder,
)
from meshsim.runner import Run, run_scenario, save_run
from meshsim.scenario import load_scenario
from meshsim.writable import OutputExistsError, refusing_os_errors

from .conftest import (
    DEFAULT,
    REPO,
    SMALL,
    assert_complete,
    meshsim,
    staging_left,
)

FIXED = (*SMALL, "--set", "ca.sign_time=1ms")

MACHINE_DEPENDENT = (
    ("wall_seconds",),
    ("rotation", "crypto_cpu_s"),
    ("rotation", "bytes"),
    ("rotation", "operations"),
)
"""Summary figures README lists as this machine's, left out of a
comparison of runs."""


@pytest.fixture(scope="module")
def small_run() -> Run:
    overrides = [a for a in SMALL if a != "--set"]
    return run_scenario(load_scenario(DEFAULT, overrides))


@pytest.fixture
def default_int_handler() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt, whatever the test runner set."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def without(summary: dict[str, Any], paths: tuple[tuple[str, ...], ...]) -> Any:
    for path in paths:
        node = summary
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return summary


def test_same_scenario_and_seed_give_the_same_summary(tmp_path: Path) -> None:
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        result = CliRunner().invoke(
            main, ["run", str(DEFAULT), "--out", str(out), *FIXED]
        )
        assert result.exit_code == 0, result.output

    first, second = (
        json.loads((out / "summary.json").read_text()) for out in outs
    )
    assert first["rotation"]["bytes"] > 0
    assert without(first, MACHINE_DEPENDENT) == without(
        second, MACHINE_DEPENDENT
    )
    for table in ("handshakes", "thefts", "attack_windows"):
        a, b = (pd.read_parquet(o / f"tables/{table}.parquet") for o in outs)
        pd.testing.assert_frame_equal(a, b)
    assert (outs[0] / "certs" / "root.pem").read_bytes() != (
        outs[1] / "certs" / "root.pem"
    ).read_bytes(), "keys come from the OS, so roots differ"


def test_manifest_names_what_produced_the_folder(
    small_run: Run, tmp_path: Path
) -> None:
    out = tmp_path / "o"
    started = datetime.now(UTC)

    save_run(small_run, out, command="meshsim run x.yaml", started_at=started)

    manifest = json.loads((out / "manifest.json").read_text())
    resolved = (out / "scenario.yaml").read_bytes()
    assert manifest["scenario"] == "istio-sidecar"
    assert manifest["scenario_sha256"] == hashlib.sha256(resolved).hexdigest()
    assert manifest["seed"] == 1
    assert manifest["command"] == "meshsim run x.yaml"
    began = datetime.fromisoformat(manifest["started_at"])
    ended = datetime.fromisoformat(manifest["finished_at"])
    assert began == started
    assert began <= ended <= datetime.now(UTC)
    assert manifest["meshsim_version"] == __version__
    assert manifest["meshsim_version"] == version("meshsim")
    assert manifest["python"] == platform.python_version()
    # the CA's module, loaded compiled or from its source
    compiled = not str(ca_module.__file__).endswith(".py")
    assert manifest["build"] == ("compiled" if compiled else "pure")

    # every runtime dependency of pyproject.toml, at its installed version
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = {
        re.match(r"[A-Za-z0-9._-]+", line)[0]  # type: ignore[index]
        for line in project["dependencies"]
    }
    assert set(manifest["dependencies"]) == names
    for name in names:
        assert manifest["dependencies"][name] == version(name)


def test_cli_manifest_records_the_command(tmp_path: Path) -> None:
    out = tmp_path / "o"
    # quoted as a shell reads it back: a value with spaces in quotes
    outages = "ca.outages=[{start: 2h, duration: 1h}]"
    done = subprocess.run(
        [*meshsim("run", str(DEFAULT), "--out", "o"), *SMALL, "--set", outages],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["command"] == (
        f"meshsim run {DEFAULT} --out o {' '.join(SMALL)} --set '{outages}'"
    )
    assert_complete(out)


def test_existing_folder_is_kept_without_force(
    small_run: Run, tmp_path: Path
) -> None:
    out = tmp_path / "o"
    save_run(small_run, out)
    before = (out / "manifest.json").read_bytes()

    with pytest.raises(OutputExistsError):
        save_run(small_run, out)

    assert (out / "manifest.json").read_bytes() == before
    assert not staging_left(out)


class _RefusedError(OutputExistsError):
    """A refusal of one command's own kind."""


def test_an_os_error_looking_at_out_is_a_refusal_naming_it_and_why() -> None:
    out = Path("results") / "x"

    with (
        pytest.raises(_RefusedError) as refused,
        refusing_os_errors(out, _RefusedError),
    ):
        raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG))

    assert str(refused.value) == (
        f"--out: 'results/x': {os.strerror(errno.ENAMETOOLONG)}"
    )


def test_a_refusal_in_the_block_passes_as_it_is() -> None:
    with (
        pytest.raises(_RefusedError, match=r"^why$"),
        refusing_os_errors(Path("x"), _RefusedError),
    ):
        raise _RefusedError("why")


def test_force_replaces_a_result_whole(small_run: Run, tmp_path: Path) -> None:
    out = tmp_path / "o"
    save_run(small_run, out, command="first")
    # a file meshsim was writing when the first run was killed
    stray = out / "plots" / ".ca_load.png.meshsim-k3j4h5g6.png"
    stray.write_bytes(b"from the first run")

    save_run(small_run, out, force=True, command="second")

    assert json.loads((out / "manifest.json").read_text())["command"] == (
        "second"
    )
    assert not stray.exists()
    assert_complete(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


@pytest.mark.parametrize("inside", ["inner", "plots/x", "certs/a/b"])
def test_a_result_inside_another_is_refused(
    small_run: Run, tmp_path: Path, inside: str
) -> None:
    # it would be foreign to the first, which --force could then no
    # longer replace
    out = tmp_path / "o"
    save_run(small_run, out)
    before = sorted(str(p) for p in out.rglob("*"))

    with pytest.raises(OutputExistsError) as refused:
        save_run(small_run, out / inside)

    assert str(refused.value) == (
        f"--out: {str(out / inside)!r} is inside {str(out)!r}, a meshsim "
        "result, which --force could then no longer replace; give a "
        "folder outside it"
    )
    assert sorted(str(p) for p in out.rglob("*")) == before


@pytest.mark.parametrize(
    "manifest", ['{"name": "mine"}', "[]", "not JSON", '{"meshsim_version"']
)
def test_a_folder_whose_manifest_meshsim_did_not_write_may_hold_a_result(
    small_run: Run, tmp_path: Path, manifest: str
) -> None:
    # a mark is a JSON object holding the key meshsim writes (layout.py)
    (tmp_path / "manifest.json").write_text(manifest)

    save_run(small_run, tmp_path / "o")

    assert (tmp_path / "o" / "manifest.json").exists()


def test_a_result_inside_another_is_refused_from_a_relative_path(
    small_run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_run(small_run, tmp_path / "o")
    monkeypatch.chdir(tmp_path / "o" / "plots")

    with pytest.raises(OutputExistsError) as refused:
        check_output(Path("mine"), force=False)  # as meshsim run checks

    assert f"'mine' is inside {str(tmp_path / 'o')!r}" in str(refused.value)


def test_the_marks_of_a_result_are_the_files_meshsim_writes() -> None:
    assert set(RESULT_MARKS) == {MANIFEST, GUARD}


def test_a_run_writes_only_what_force_may_replace(
    small_run: Run, tmp_path: Path
) -> None:
    out = tmp_path / "o"

    save_run(small_run, out)

    assert foreign_entries(out, RUN_LAYOUT) == []
    assert {p.name for p in out.iterdir()} == {
        p.removesuffix("/") for p in RUN_LAYOUT if "/" not in p[:-1]
    }


@pytest.mark.parametrize(
    ("stray", "named"),
    [
        ("notes.txt", "notes.txt"),
        # a folder of meshsim's own is looked into; another one is named
        ("nested-result/manifest.json", "nested-result"),
        ("tables/my-analysis.ipynb", "tables/my-analysis.ipynb"),
        # named as meshsim's are, but no name meshsim gives
        ("tables/my-analysis.parquet", "tables/my-analysis.parquet"),
        ("plots/figure-for-paper.png", "plots/figure-for-paper.png"),
        ("certs/my-ca-key.pem", "certs/my-ca-key.pem"),
        # numbered as meshsim numbers no leaf
        ("certs/leaf-01.pem", "certs/leaf-01.pem"),
        ("certs/leaf-999.pem", "certs/leaf-999.pem"),
        ("plots/older/keep.png", "plots/older"),
        # hidden, but no file meshsim was writing
        (".scenario.yaml.swp", ".scenario.yaml.swp"),
        (".tables.orig/x.parquet", ".tables.orig"),
    ],
)
def test_force_refuses_a_result_holding_what_meshsim_did_not_write(
    small_run: Run, tmp_path: Path, stray: str, named: str
) -> None:
    out = tmp_path / "o"
    save_run(small_run, out, command="first")
    (out / stray).parent.mkdir(parents=True, exist_ok=True)
    (out / stray).write_text("precious")
    before = sorted(str(p) for p in out.rglob("*"))

    with pytest.raises(OutputExistsError) as refused:
        save_run(small_run, out, force=True, command="second")

    assert str(refused.value) == (
        f"--out: {str(out)!r} holds {named!r} besides what meshsim wrote "
        "there; it is not replaced even with --force (move them away first)"
    )
    assert sorted(str(p) for p in out.rglob("*")) == before
    assert (out / stray).read_text() == "precious"


@pytest.mark.parametrize(
    "folder", [".summary.json.meshsim-ab12_xyz", "plots/ca_load.png"]
)
def test_force_refuses_a_folder_named_as_meshsim_names_a_file(
    small_run: Run, tmp_path: Path, folder: str
) -> None:
    out = tmp_path / "o"
    save_run(small_run, out, command="first")
    (out / folder).unlink(missing_ok=True)
    (out / folder).mkdir()

    with pytest.raises(OutputExistsError, match=re.escape(repr(folder))):
        save_run(small_run, out, force=True, command="second")

    assert (out / folder).is_dir()


def test_a_result_lists_every_file_it_wrote(
    small_run: Run, tmp_path: Path
) -> None:
    out = tmp_path / "o"

    save_run(small_run, out)

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["files"] == sorted(
        p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()
    )


def test_force_refuses_a_file_of_meshsims_names_the_result_did_not_write(
    tmp_path: Path,
) -> None:
    # a modeled run writes no certificate: a root.pem there is the user's
    overrides = [a for a in SMALL if a != "--set"]
    modeled = run_scenario(
        load_scenario(DEFAULT, [*overrides, "pki.crypto=modeled"])
    )
    out = tmp_path / "o"
    save_run(modeled, out, command="first")
    (out / "certs").mkdir()
    (out / "certs" / "root.pem").write_text("my own root")

    with pytest.raises(OutputExistsError, match=re.escape("'certs/root.pem'")):
        save_run(modeled, out, force=True, command="second")

    assert (out / "certs" / "root.pem").read_text() == "my own root"


@pytest.mark.parametrize("files", [[None], "all", None])
def test_force_refuses_a_result_whose_list_of_files_is_no_list_of_paths(
    small_run: Run, tmp_path: Path, files: object
) -> None:
    # else a list edited by hand would leave the names alone to decide
    out = tmp_path / "o"
    save_run(small_run, out, command="first")
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**manifest, "files": files}))

    with pytest.raises(OutputExistsError, match="is not one a meshsim run"):
        save_run(small_run, out, force=True, command="second")


def test_force_refuses_a_pipe_where_a_result_file_would_be(
    small_run: Run, tmp_path: Path
) -> None:
    out = tmp_path / "o"
    save_run(small_run, out, command="first")
    os.mkfifo(out / "certs" / "leaf-99.pem")

    with pytest.raises(
        OutputExistsError, match=re.escape("'certs/leaf-99.pem'")
    ):
        save_run(small_run, out, force=True, command="second")

    assert (out / "certs" / "leaf-99.pem").exists()


def test_force_refuses_a_manifest_nested_too_deeply_to_read(
    small_run: Run, tmp_path: Path
) -> None:
    out = tmp_path / "o"
    save_run(small_run, out, command="first")
    (out / "manifest.json").write_text("[" * 10**5 + "]" * 10**5)

    with pytest.raises(OutputExistsError, match="is not one a meshsim run"):
        save_run(small_run, out, force=True, command="second")


def test_a_file_being_written_is_meshsims_own() -> None:
    patterns = ("summary.json", "plots/", "plots/*.png")

    assert _in_layout(".summary.json.meshsim-ab12_xyz", patterns)
    assert _in_layout("plots/.ca_load.png.meshsim-k3j4h5g6.png", patterns)
    # a backup's suffix is eight characters too, but no meshsim's
    assert not _in_layout(".summary.json.original", patterns)
    assert not _in_layout("plots/.ca_load.png.20260101", patterns)
    assert not _in_layout(".summary.json.bak", patterns)
    assert not _in_layout("plots/older", patterns)


def test_failure_inside_the_folder_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "o"

    with pytest.raises(RuntimeError), staged_folder(out, force=False) as stage:
        write_bytes(stage / "summary.json", b"{}")
        raise RuntimeError("disk on fire")

    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "summary.json"
    write_bytes(target, b'{"old": true}')

    def fail(descriptor: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError):
        write_bytes(target, b'{"new": true}')

    assert target.read_bytes() == b'{"old": true}'
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_files_written_together_all_stay_old_when_one_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "runs.parquet", tmp_path / "manifest.json"
    write_together({first: b"old runs", second: b"old manifest"})
    real_fsync, synced = os.fsync, []

    def fail_second(descriptor: int) -> None:
        synced.append(descriptor)
        if len(synced) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", fail_second)
    with pytest.raises(OSError, match="No space"):
        write_together({first: b"new runs", second: b"new manifest"})

    assert first.read_bytes() == b"old runs"
    assert second.read_bytes() == b"old manifest"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "manifest.json",
        "runs.parquet",
    ]


def test_folders_made_for_files_written_together_go_when_one_fails(
    tmp_path: Path,
) -> None:
    # the second file's folder would be inside a file: the first's new
    # folders are removed with its temporary file, an existing one stays
    (tmp_path / "kept").mkdir()
    (tmp_path / "a-file").write_text("mine")
    files = {
        tmp_path / "kept" / "figures" / "deep" / "x.png": b"figure",
        tmp_path / "a-file" / "y.png": b"figure",
    }

    with pytest.raises(NotADirectoryError) as refused:
        write_together(files)

    assert refused.value.filename == str(tmp_path / "a-file")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a-file", "kept"]


def test_files_written_together_get_the_folders_they_need(
    tmp_path: Path,
) -> None:
    deep = tmp_path / "a" / "b" / "c.json"

    write_together({deep: b"{}"})

    assert deep.read_bytes() == b"{}"


def test_ctrl_c_while_writing_files_together_leaves_nothing_new(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the temporary files and the folders made for them go; a file
    # written before keeps its bytes
    kept = tmp_path / "kept.json"
    kept.write_bytes(b"old")

    def interrupted(descriptor: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_together({kept: b"new", tmp_path / "new" / "x.json": b"x"})

    assert [p.name for p in tmp_path.iterdir()] == ["kept.json"]
    assert kept.read_bytes() == b"old"


def test_ctrl_c_during_the_final_rename_waits_for_it(
    small_run: Run,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    default_int_handler: None,
) -> None:
    out = tmp_path / "o"
    save_run(small_run, out, command="first")
    replace = os.replace

    def replace_then_interrupt(source: Any, target: Any) -> None:
        if Path(source) == out:
            signal.raise_signal(signal.SIGINT)  # between the two renames
        replace(source, target)

    monkeypatch.setattr(os, "replace", replace_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        save_run(small_run, out, force=True, command="second")
    monkeypatch.undo()

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["command"] == "second"
    assert_complete(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_staging_of_dead_processes_is_removed(tmp_path: Path) -> None:
    out = tmp_path / "o"
    host = re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname())
    dead = tmp_path / f".o.partial-{dead_pid()}@{host}-k2j4h5g1"
    live = tmp_path / f".o.partial-{os.getpid()}@{host}-a1b2c3d4"
    parent = tmp_path / f".o.partial-{os.getppid()}@{host}-a1b2c3d4"
    elsewhere = tmp_path / f".o.partial-{dead_pid()}@other.host-abcdefgh"
    unknown = tmp_path / ".o.partial-x7yz12ab"
    other = tmp_path / f".p.partial-{dead_pid()}@{host}-abcdefgh"
    for folder in (dead, live, parent, elsewhere, unknown, other):
        folder.mkdir()
        (folder / "summary.json").write_text("{")

    removed = remove_stale_staging(out)

    assert removed == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (live, parent, elsewhere, unknown, other)
    )


def test_a_run_removes_stale_staging_beside_its_folder(
    small_run: Run, tmp_path: Path
) -> None:
    out = tmp_path / "o"
    host = re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname())
    stale = tmp_path / f".o.partial-{dead_pid()}@{host}-k2j4h5g1"
    stale.mkdir()

    save_run(small_run, out)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_results_get_the_modes_of_plain_files(
    small_run: Run, tmp_path: Path
) -> None:
    out = tmp_path / "o"
    mask = os.umask(0o027)
    try:
        save_run(small_run, out)
    finally:
        os.umask(mask)

    assert out.stat().st_mode & 0o777 == 0o750
    for path in out.rglob("*"):
        expected = 0o750 if path.is_dir() else 0o640
        assert path.stat().st_mode & 0o777 == expected, path


def test_json_read_keeps_a_whole_surrogate_pair_and_refuses_half(
    tmp_path: Path,
) -> None:
    path = tmp_path / "x.json"
    # an escaped pair is one character (U+1F600); half of one is none
    path.write_text('{"a": "\\ud83d\\ude00"}')
    assert read_json(path) == {"a": "\U0001f600"}

    path.write_text('{"a": "\\ud83d"}')
    with pytest.raises(ValueError, match=r"x.json: holds text with \\ud83d"):
        read_json(path)


def test_files_written_together_are_all_renamed_before_a_ctrl_c(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    default_int_handler: None,
) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    write_together({first: b"old", second: b"old"})
    renamed: list[str] = []

    def rename_then_ctrl_c(source: str, target: Path) -> None:
        os.rename(source, target)
        renamed.append(target.name)
        if len(renamed) == 1:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr("meshsim.files.os.replace", rename_then_ctrl_c)

    with pytest.raises(KeyboardInterrupt):
        write_together({first: b"new", second: b"new"})

    assert renamed == ["a.json", "b.json"]
    assert first.read_bytes() == second.read_bytes() == b"new"
