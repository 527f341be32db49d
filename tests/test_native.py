"""The record of compiled modules: a source edited after the build is
refused, not run as its old compiled self."""

from __future__ import annotations

import json
import shutil
import sysconfig
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from meshsim import native
from meshsim.cli import main
from meshsim.runner import run_scenario
from meshsim.scenario import Scenario

PACKAGE = Path(native.__file__).resolve().parent
SUFFIX = sysconfig.get_config_var("EXT_SUFFIX")


def _built_package(tmp_path: Path) -> Path:
    """A package with every listed source, a stand-in compiled module
    beside each, and the build's record of their digests."""
    package = tmp_path / "meshsim"
    recorded = {}
    for module in native.COMPILED:
        target = native.source(module, package)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(native.source(module, PACKAGE), target)
        target.with_suffix(SUFFIX).write_bytes(b"")
        recorded[module] = native.digest(target)
    (package / f"_native__mypyc{SUFFIX}").write_bytes(b"")
    (package / native.RECORD).write_text(native.record(recorded))
    return package


def test_every_listed_module_has_a_source() -> None:
    missing = [
        m for m in native.COMPILED if not native.source(m, PACKAGE).is_file()
    ]
    assert missing == []


def test_a_build_that_matches_its_sources_is_current(tmp_path: Path) -> None:
    package = _built_package(tmp_path)
    assert native.compiled(package) == sorted(native.COMPILED)
    assert native.stale(package) == []
    assert native.build_problem(package) is None


def test_a_source_edited_after_the_build_is_stale(tmp_path: Path) -> None:
    package = _built_package(tmp_path)
    edited = native.source("meshsim.mesh.agent", package)
    edited.write_text(edited.read_text() + "\n# edited\n")
    expected = ["meshsim/mesh/agent.py: changed after it was compiled"]
    assert native.stale(package) == expected
    assert native.build_problem(package) == expected[0]


def test_a_compiled_module_the_record_does_not_name_is_stale(
    tmp_path: Path,
) -> None:
    package = _built_package(tmp_path)
    leftover = package / "mesh" / f"gone{SUFFIX}"
    leftover.write_bytes(b"")
    expected = ["meshsim/mesh/gone.py: compiled by another build"]
    assert native.stale(package) == expected


def test_compiled_modules_without_a_readable_record_are_stale(
    tmp_path: Path,
) -> None:
    package = _built_package(tmp_path)
    for text in ("not json", "[1, 2]", '{"compiled": {}}'):
        (package / native.RECORD).write_text(text)
        assert native.stale(package) == [
            "meshsim/native.json: missing or unreadable beside them"
        ]
        assert (
            native.build_problem(package) == "meshsim/native.json: unreadable"
        )
    (package / native.RECORD).unlink()
    assert len(native.stale(package)) == 1
    assert native.build_problem(package) == "not built yet"


def test_a_changed_list_needs_a_new_build(tmp_path: Path) -> None:
    package = _built_package(tmp_path)
    recorded = json.loads((package / native.RECORD).read_text())
    recorded["listed"] = recorded["listed"][1:]
    (package / native.RECORD).write_text(json.dumps(recorded))
    assert native.stale(package) == []
    assert native.build_problem(package) == (
        "the list of compiled modules changed"
    )


def test_a_build_from_source_is_current_and_never_stale(
    tmp_path: Path,
) -> None:
    package = _built_package(tmp_path)
    for path in package.rglob(f"*{SUFFIX}"):
        path.unlink()
    (package / native.RECORD).write_text(native.record({}))
    assert native.compiled(package) == []
    assert native.stale(package) == []
    assert native.build_problem(package) is None


def test_the_cli_refuses_a_stale_build_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def changed() -> None:
        raise native.StaleBuildError("meshsim/mesh/agent.py: changed")

    monkeypatch.setattr("meshsim.cli.require_current", changed)
    result = CliRunner().invoke(main, ["profiles"])
    assert result.exit_code == 1
    assert result.output == "error: meshsim/mesh/agent.py: changed\n"


def test_a_run_refuses_a_stale_build(
    monkeypatch: pytest.MonkeyPatch, small: Callable[..., Scenario]
) -> None:
    def changed() -> None:
        raise native.StaleBuildError("meshsim/mesh/agent.py: changed")

    monkeypatch.setattr("meshsim.runner.require_current", changed)
    with pytest.raises(native.StaleBuildError, match=r"agent\.py: changed"):
        run_scenario(small())
