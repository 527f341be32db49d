"""Small sweeps written into a temporary folder, and one finished run of
the standard one that several tests read."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from meshsim.experiment import (
    LocalExecutor,
    SweepOutcome,
    load_sweep,
    run_sweep,
)

# A small mesh with a fixed signing time, so that runs repeat exactly.
TINY = """
name: tiny
duration: 12h
mesh: {nodes: 4, workloads: 16, service_accounts: 8}
pki: {workload_ttl: 4h, jitter: 0.05}
ca:
  sign_time: 10ms
  outages: [{start: 5h, duration: 1h}]
traffic: {rate: 0.02}
attacks:
  - {kind: key-theft, start: 3h, node: node-1}
  - {kind: mitm, start: 3h, duration: 6h, node: node-1, presents: stolen}
"""

SWEEP = """
name: small
scenario: tiny.yaml
seed: 7
replications: 3
warmup: 30m
grid:
  pki.workload_ttl: [2h, 4h]
  mesh.agent: [per-workload, per-node]
  mesh.nodes: [2, 4]
"""


@pytest.fixture
def write_sweep(tmp_path: Path) -> Callable[..., Path]:
    """Write a sweep file (and the tiny base scenario) into a folder."""

    def write(text: str = SWEEP, name: str = "small.yaml") -> Path:
        (tmp_path / "tiny.yaml").write_text(TINY)
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


@pytest.fixture(scope="session")
def finished(tmp_path_factory: pytest.TempPathFactory) -> SweepOutcome:
    """The standard small sweep, run to the end on two local processes."""
    folder = tmp_path_factory.mktemp("finished")
    (folder / "tiny.yaml").write_text(TINY)
    (folder / "small.yaml").write_text(SWEEP)
    sweep = load_sweep(folder / "small.yaml")
    return run_sweep(sweep, folder / "out", LocalExecutor(2))
