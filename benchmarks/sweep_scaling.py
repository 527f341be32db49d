"""Figure 5: how much faster two local workers finish a sweep than one.

The sweep is ``benchmarks/sweep.yaml``: 20 runs of the default profile
of a second or two each, run through :func:`meshsim.experiment.run_sweep`
on a :class:`~meshsim.experiment.LocalExecutor` of one and then two
worker processes, each into a fresh temporary folder. The figure is
t(1 job) ÷ t(2 jobs); it cannot exceed the number of idle cores.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.figures import Figure, Sizes
from meshsim.experiment import LocalExecutor, load_sweep, run_sweep

__all__ = ["SWEEP_FILE", "run"]

SWEEP_FILE = Path(__file__).resolve().parent / "sweep.yaml"


def run(sizes: Sizes) -> list[Figure]:
    """Figure 5: one timed sweep per worker count."""
    sweep = load_sweep(
        SWEEP_FILE, sizes.sweep_overrides, sizes.sweep_replications
    )
    runs = len(sweep.points) * sizes.sweep_replications
    walls: dict[int, float] = {}
    for jobs in (1, 2):
        with tempfile.TemporaryDirectory(prefix="meshsim-bench-") as out:
            began = time.perf_counter()
            outcome = run_sweep(sweep, out, LocalExecutor(jobs), force=True)
            walls[jobs] = time.perf_counter() - began
        if outcome.failed:
            raise RuntimeError(
                f"sweep {SWEEP_FILE.name} with {jobs} job(s): "
                f"{outcome.failed} of {runs} runs failed"
            )
    raw: dict[str, Any] = {
        "sweep_file": str(SWEEP_FILE),
        "overrides": list(sizes.sweep_overrides),
        "runs": runs,
        "wall_s": {f"{jobs}_jobs": wall for jobs, wall in walls.items()},
    }
    return [
        Figure(
            name="5. sweep scaling",
            measure=f"t(1 job) ÷ t(2 jobs), {runs} runs of the default profile",
            value=walls[1] / walls[2],
            unit="ratio",
            target=1.8,
            better="higher",
            note=(
                f"{walls[1]:.1f} s ÷ {walls[2]:.1f} s "
                f"({walls[1] / runs:.2f} s per run on one job)"
            ),
            raw=raw,
        )
    ]
