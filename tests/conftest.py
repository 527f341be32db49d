"""Shared fixtures: paths and small scenarios built from YAML text."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from meshsim.native import StaleBuildError, require_current
from meshsim.runner import Run, run_scenario
from meshsim.scenario import Scenario, load_scenario, parse_scenario

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"


def pytest_configure(config: pytest.Config) -> None:
    """Refuse to test compiled modules that do not match their sources."""
    try:
        require_current()
    except StaleBuildError as error:
        pytest.exit(str(error), returncode=2)


SMALL_MESH = """
name: small
seed: 5
duration: 12h
mesh: {nodes: 4, workloads: 16, service_accounts: 8}
pki: {workload_ttl: 4h, jitter: 0.0}
ca: {sign_time: 1ms}
traffic: {rate: 0.05}
"""


@pytest.fixture
def small() -> Callable[..., Scenario]:
    """A small mesh with overrides, e.g. ``small("mesh.agent=per-node")``."""

    def build(*overrides: str, text: str = SMALL_MESH) -> Scenario:
        return parse_scenario(text, "small.yaml", overrides)

    return build


@pytest.fixture
def shipped() -> Callable[..., Scenario]:
    """A shipped scenario by file name, with overrides."""

    def load(name: str, *overrides: str) -> Scenario:
        return load_scenario(SCENARIOS / name, overrides)

    return load


@pytest.fixture
def simulate() -> Callable[[Scenario], Run]:
    """Run a scenario in memory."""
    return run_scenario


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """An empty temporary folder with a short path, removed afterwards:
    a child's TMPDIR. multiprocessing puts a Unix socket there, whose
    path may not exceed about 100 characters, which a pytest folder
    under xdist can."""
    folder = Path(tempfile.mkdtemp(prefix="ms-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def path_of_length() -> Callable[[Path, int], Path]:
    """Build a path under a folder of exactly a given length, of names of
    at most 200 characters (each legal on its own), for tests of the
    system's limit on a whole path."""

    def build(folder: Path, length: int) -> Path:
        path = folder
        while len(str(path)) < length:
            room = length - len(str(path)) - 1
            # leave no remainder too short for a name of its own
            path = path / ("d" * (room if room <= 200 else min(200, room - 2)))
        assert len(str(path)) == length
        return path

    return build
