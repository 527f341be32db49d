"""Figure 4: how run time grows with workloads, simulated time and
request rate, on a modeled mesh.

Doubling workloads or simulated time should at most double the run
time (with 20% to spare); ten times the request rate should add less
than 10%, since connections are counted between state changes rather
than simulated one by one. The rate is checked with both ways of
counting: per (service, standing) class and per (caller, pod) pair.
"""

from __future__ import annotations

from typing import Any

from benchmarks.figures import Figure, Sizes
from benchmarks.scenarios import load, quiet_default, timed_run, warm

__all__ = ["run"]

_DURATION_H = 72
_RATE = 0.1


def _overrides(
    workloads: int,
    nodes: int,
    duration_h: int = _DURATION_H,
    rate: float = _RATE,
    detail: str = "classes",
) -> list[str]:
    return [
        *quiet_default(workloads, nodes),
        "pki.crypto=modeled",
        f"duration={duration_h}h",
        f"traffic.rate={rate:g}",
        f"traffic.detail={detail}",
    ]


def run(sizes: Sizes) -> list[Figure]:
    """Figure 4's four rows, each from the fastest of ``sizes.repeats``
    runs per configuration (taken in turns, so that a slow spell of the
    machine falls on every configuration alike)."""
    w, n = sizes.growth_workloads, sizes.growth_nodes
    pw, pn = sizes.pairs_workloads, sizes.pairs_nodes
    configs = {
        "base": _overrides(w, n),
        "double_workloads": _overrides(2 * w, 2 * n),
        "double_duration": _overrides(w, n, duration_h=2 * _DURATION_H),
        "rate_x10": _overrides(w, n, rate=10 * _RATE),
        "pairs_base": _overrides(pw, pn, detail="pairs"),
        "pairs_rate_x10": _overrides(pw, pn, rate=10 * _RATE, detail="pairs"),
    }
    scenarios = {name: load(o) for name, o in configs.items()}
    for scenario in scenarios.values():
        warm(scenario)

    walls: dict[str, list[float]] = {name: [] for name in scenarios}
    cpus: dict[str, list[float]] = {name: [] for name in scenarios}
    renewals: dict[str, int] = {}
    for _ in range(sizes.repeats):
        for name, scenario in scenarios.items():
            wall, cpu, result = timed_run(scenario)
            walls[name].append(wall)
            cpus[name].append(cpu)
            renewals[name] = int(result.summary["rotation"]["count"])
    best = {name: min(times) for name, times in walls.items()}
    best_cpu = {name: min(times) for name, times in cpus.items()}
    raw: dict[str, Any] = {
        "overrides": configs,
        "wall_s": walls,
        "cpu_s": cpus,
        "renewals": renewals,
    }

    def ratio(top: str, bottom: str) -> float:
        return best[top] / best[bottom]

    def times(top: str, bottom: str) -> str:
        cpu_ratio = best_cpu[top] / best_cpu[bottom]
        return (
            f"{best[top]:.2f} s ÷ {best[bottom]:.2f} s; "
            f"CPU-time ratio {cpu_ratio:.2f}"
        )

    mesh = f"modeled, {_DURATION_H}h"
    return [
        Figure(
            name="4. growth: twice the workloads",
            measure=f"t(2W) ÷ t(W), W = {w:,} on {n:,} nodes, {mesh}",
            value=ratio("double_workloads", "base"),
            unit="ratio",
            target=2.4,
            better="lower",
            note=times("double_workloads", "base"),
            raw=raw,
        ),
        Figure(
            name="4. growth: twice the simulated time",
            measure=f"t(2D) ÷ t(D), D = {_DURATION_H}h, {w:,} workloads",
            value=ratio("double_duration", "base"),
            unit="ratio",
            target=2.4,
            better="lower",
            note=times("double_duration", "base"),
        ),
        Figure(
            name="4. growth: ten times the rate, classes",
            measure=(
                f"t(10r) ÷ t(r), r = {_RATE:g}/s, traffic.detail=classes, "
                f"{w:,} workloads"
            ),
            value=ratio("rate_x10", "base"),
            unit="ratio",
            target=1.10,
            better="lower",
            note=times("rate_x10", "base"),
        ),
        Figure(
            name="4. growth: ten times the rate, pairs",
            measure=(
                f"t(10r) ÷ t(r), r = {_RATE:g}/s, traffic.detail=pairs, "
                f"{pw:,} workloads on {pn:,} nodes"
            ),
            value=ratio("pairs_rate_x10", "pairs_base"),
            unit="ratio",
            target=1.10,
            better="lower",
            note=times("pairs_rate_x10", "pairs_base"),
        ),
    ]
