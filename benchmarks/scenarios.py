"""The scenarios the benchmarks run: the shipped default profile with
overrides, and timing helpers around :func:`meshsim.runner.run_scenario`."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from meshsim.pki.calibration import calibrate
from meshsim.runner import Run, run_scenario
from meshsim.scenario import Scenario, load_scenario

__all__ = [
    "DEFAULT_SCENARIO",
    "REPO",
    "load",
    "quiet_default",
    "repeat",
    "scale_overrides",
    "timed_run",
    "warm",
]

T = TypeVar("T")

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SCENARIO = REPO / "scenarios" / "istio-sidecar.yaml"


def quiet_default(workloads: int, nodes: int) -> list[str]:
    """The default profile at ``workloads`` on ``nodes``, with no attack,
    no CA outage and a fixed 1 ms signing time (so runs repeat exactly)."""
    return [
        f"mesh.workloads={workloads}",
        f"mesh.nodes={nodes}",
        "attacks=[]",
        "ca.outages=[]",
        "ca.sign_time=1ms",
    ]


def scale_overrides(workloads: int, nodes: int) -> list[str]:
    """Figure 3's mesh: 1h certificates over a simulated day, modeled
    crypto, traffic on, per-workload agents, a CA that keeps up."""
    return [
        *quiet_default(workloads, nodes),
        "pki.workload_ttl=1h",
        "duration=24h",
        "pki.crypto=modeled",
        "traffic.rate=0.1",
        "mesh.agent=per-workload",
        "ca.workers=16",
    ]


def load(overrides: Sequence[str]) -> Scenario:
    """The default scenario file with ``overrides`` applied."""
    return load_scenario(DEFAULT_SCENARIO, list(overrides))


def warm(scenario: Scenario) -> None:
    """Do the once-per-process work a run would otherwise be charged
    for: the calibration a modeled run draws its costs from."""
    if scenario.pki.crypto == "modeled":
        calibrate(scenario.pki.key, scenario.mesh.trust_domain)


def timed_run(scenario: Scenario) -> tuple[float, float, Run]:
    """Run ``scenario``; return its wall seconds, this process's CPU
    seconds during it, and the run."""
    began_wall = time.perf_counter()
    began_cpu = time.process_time()
    run = run_scenario(scenario)
    cpu = time.process_time() - began_cpu
    return time.perf_counter() - began_wall, cpu, run


def repeat(repeats: int, measure: Callable[[], T]) -> list[T]:
    """``measure()`` ``repeats`` times, one after the other."""
    if repeats < 1:
        raise ValueError(f"repeats: must be at least 1 (got {repeats})")
    return [measure() for _ in range(repeats)]
