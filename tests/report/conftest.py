"""The shipped sweep, shrunk, run once for the report's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshsim.experiment import LocalExecutor, load_sweep, run_sweep

SWEEPS = Path(__file__).resolve().parents[2] / "scenarios" / "sweeps"

# a smaller mesh, a shorter run and less traffic: the same grid and
# the same 5h CA outage, faster runs
SMALL = (
    "mesh.workloads=16",
    "mesh.service_accounts=8",
    "duration=24h",
    "ca.outages=[{start: 8h, duration: 5h}]",
    "attacks[0].start=6h",
    "attacks[1].start=6h",
    "attacks[1].duration=12h",
    "traffic.rate=0.005",
    "ca.sign_time=10ms",
)


@pytest.fixture(scope="session")
def shipped_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of ttl-vs-fanout.yaml run small, with 2 replications."""
    out = tmp_path_factory.mktemp("report") / "ttl-vs-fanout"
    sweep = load_sweep(SWEEPS / "ttl-vs-fanout.yaml", SMALL, replications=2)
    run_sweep(sweep, out, LocalExecutor(2))
    return out
