"""A measured figure with its target, and the sizes a bench run uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["FULL", "QUICK", "Better", "Bound", "Figure", "Sizes", "judge"]

Better = Literal["lower", "higher"]
Bound = Literal["exact", "at-least"]


def judge(
    value: float | None, target: float | None, better: Better, bound: Bound
) -> bool | None:
    """Whether ``value`` meets ``target``; ``None`` when it cannot be told.

    With ``bound="at-least"`` the true figure is known only to be at least
    ``value`` (a run stopped by its timeout), so a lower-is-better target
    can be missed for certain but never met.
    """
    if value is None or target is None:
        return None
    if bound == "exact":
        return value <= target if better == "lower" else value >= target
    if better == "lower":
        return False if value > target else None
    return True if value >= target else None


@dataclass(frozen=True)
class Figure:
    """One row of the bench table."""

    name: str
    """What is measured, e.g. ``real-crypto overhead``."""
    measure: str
    """How it is computed, e.g. ``run wall ÷ crypto floor``."""
    value: float | None
    unit: str
    target: float | None
    """``None`` only for a benchmark that crashed."""
    better: Better
    bound: Bound = "exact"
    note: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
    """The timings and counts the value was computed from."""

    @property
    def met(self) -> bool | None:
        """Whether the target is met (``None``: cannot be told)."""
        return judge(self.value, self.target, self.better, self.bound)

    def as_json(self) -> dict[str, Any]:
        """The row as ``results/bench.json`` stores it."""
        return {
            "name": self.name,
            "measure": self.measure,
            "value": self.value,
            "unit": self.unit,
            "bound": self.bound,
            "target": self.target,
            "better": self.better,
            "met": self.met,
            "note": self.note,
            "raw": self.raw,
        }


@dataclass(frozen=True)
class Sizes:
    """How big each benchmark's runs are; :data:`QUICK` for a smoke run."""

    quick: bool
    workloads: int
    """Figures 1 and 2: workloads and nodes of the default profile."""
    nodes: int
    repeats: int
    """Timings of figures 1, 2 and 4 are the fastest of this many."""
    timeout_cycles: int
    """Figure 2: ``env.timeout`` cycles of the bare SimPy loop."""
    scale_workloads: int
    scale_nodes: int
    scale_timeout_s: float
    evidence_workloads: tuple[int, int]
    """Figure 3, when the full run times out: two smaller runs."""
    growth_workloads: int
    growth_nodes: int
    pairs_workloads: int
    """Figure 4's ``traffic.detail=pairs`` row (pairs grow as W²)."""
    pairs_nodes: int
    sweep_replications: int
    """Figure 5: replications of each of the sweep's two points."""
    sweep_overrides: tuple[str, ...] = ()


FULL = Sizes(
    quick=False,
    workloads=2_000,
    nodes=200,
    repeats=3,
    timeout_cycles=1_000_000,
    scale_workloads=100_000,
    scale_nodes=2_000,
    scale_timeout_s=360.0,
    evidence_workloads=(2_500, 10_000),
    growth_workloads=2_000,
    growth_nodes=200,
    pairs_workloads=500,
    pairs_nodes=50,
    sweep_replications=10,
)

QUICK = Sizes(
    quick=True,
    workloads=200,
    nodes=20,
    repeats=1,
    timeout_cycles=200_000,
    scale_workloads=500,
    scale_nodes=10,
    scale_timeout_s=30.0,
    evidence_workloads=(100, 200),
    growth_workloads=200,
    growth_nodes=20,
    pairs_workloads=100,
    pairs_nodes=10,
    sweep_replications=2,
    sweep_overrides=("mesh.workloads=40",),
)
