"""Figure 5: how much faster two local workers finish a sweep than one.

The sweep is ``benchmarks/sweep.yaml``: 20 runs of the default profile
of a second or two each, run through :func:`meshsim.experiment.run_sweep`
on a :class:`~meshsim.experiment.LocalExecutor` of one and then two
worker processes, each into a fresh temporary folder. The figure is
t(1 job) ÷ t(2 jobs); it cannot exceed the number of idle cores.

Beside it, the same ratio for a pure CPU loop in one process and in two
(measured just before and just after the sweeps) says how much of a
second core the machine had to give at the time: when that control is
well below 2, so is any sweep's figure, whatever meshsim does.
"""

from __future__ import annotations

import multiprocessing
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.figures import Figure, Sizes
from meshsim.experiment import LocalExecutor, load_sweep, run_sweep

__all__ = ["SWEEP_FILE", "run"]

SWEEP_FILE = Path(__file__).resolve().parent / "sweep.yaml"

# Iterations of the control's CPU loop: about a second on a current core.
_CONTROL_LOOP = 20_000_000


def spin(iterations: int) -> int:
    """Pure-Python CPU work, the control's unit of work."""
    total = 0
    for step in range(iterations):
        total += step
    return total


def control_speedup(iterations: int) -> float:
    """Wall time of two :func:`spin` calls in this process ÷ in two
    worker processes at once (workers started before timing)."""
    began = time.perf_counter()
    spin(iterations)
    spin(iterations)
    serial = time.perf_counter() - began

    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        list(pool.map(spin, [1, 1]))
        began = time.perf_counter()
        list(pool.map(spin, [iterations, iterations]))
        parallel = time.perf_counter() - began
    return serial / parallel


def run(sizes: Sizes) -> list[Figure]:
    """Figure 5: one timed sweep per worker count."""
    sweep = load_sweep(
        SWEEP_FILE, sizes.sweep_overrides, sizes.sweep_replications
    )
    runs = len(sweep.points) * sizes.sweep_replications
    loop = _CONTROL_LOOP // 4 if sizes.quick else _CONTROL_LOOP
    control_before = control_speedup(loop)
    walls: dict[int, float] = {}
    run_walls: dict[int, float] = {}
    for jobs in (1, 2):
        with tempfile.TemporaryDirectory(prefix="meshsim-bench-") as tmp:
            # a folder inside, so that the sweep's lock file beside it
            # goes with the temporary folder
            out = Path(tmp) / "sweep"
            began = time.perf_counter()
            outcome = run_sweep(sweep, out, LocalExecutor(jobs))
            walls[jobs] = time.perf_counter() - began
        # each run's own wall time, as its worker saw it
        run_walls[jobs] = float(outcome.runs["wall_seconds"].mean())
        if outcome.failed:
            raise RuntimeError(
                f"sweep {SWEEP_FILE.name} with {jobs} job(s): "
                f"{outcome.failed} of {runs} runs failed"
            )
    control_after = control_speedup(loop)
    raw: dict[str, Any] = {
        "control_speedup": [control_before, control_after],
        "sweep_file": str(SWEEP_FILE),
        "overrides": list(sizes.sweep_overrides),
        "runs": runs,
        "wall_s": {f"{jobs}_jobs": wall for jobs, wall in walls.items()},
        "mean_run_wall_s": {
            f"{jobs}_jobs": wall for jobs, wall in run_walls.items()
        },
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
                f"{walls[1]:.1f} s ÷ {walls[2]:.1f} s; a run's mean wall "
                f"{run_walls[1]:.2f} s on one job, {run_walls[2]:.2f} s on "
                f"two; "
                f"control (CPU loop, 1 ÷ 2 processes): "
                f"{control_before:.2f} before, {control_after:.2f} after"
            ),
            raw=raw,
        )
    ]
