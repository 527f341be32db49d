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
    (package / native.DIGESTS).write_text(json.dumps(recorded))
    return package


def test_every_listed_module_has_a_source() -> None:
    missing = [
        m for m in native.COMPILED if not native.source(m, PACKAGE).is_file()
    ]
    assert missing == []


def test_a_build_that_matches_its_sources_is_current(tmp_path: Path) -> None:
    package = _built_package(tmp_path)
    assert native.compiled(package) == list(native.COMPILED)
    assert native.stale(package) == []


def test_a_source_edited_after_the_build_is_stale(tmp_path: Path) -> None:
    package = _built_package(tmp_path)
    edited = native.source("meshsim.mesh.agent", package)
    edited.write_text(edited.read_text() + "\n# edited\n")
    assert native.stale(package) == ["meshsim.mesh.agent"]


def test_compiled_modules_without_the_record_are_all_stale(
    tmp_path: Path,
) -> None:
    package = _built_package(tmp_path)
    (package / native.DIGESTS).write_text("not json")
    assert native.stale(package) == list(native.COMPILED)
    (package / native.DIGESTS).unlink()
    assert native.stale(package) == list(native.COMPILED)


def test_sources_without_compiled_modules_are_never_stale(
    tmp_path: Path,
) -> None:
    package = _built_package(tmp_path)
    for module in native.COMPILED:
        native.source(module, package).with_suffix(SUFFIX).unlink()
    (package / native.DIGESTS).unlink()
    assert native.compiled(package) == []
    assert native.stale(package) == []


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
