"""Experiments: sweeps of a scenario over a grid of keys, replicated.

A sweep file names a base scenario, the keys to vary and how many
replications to run; :func:`load_sweep` checks it and every point's
scenario, :func:`run_sweep` runs the replications on an executor (local
processes or Dask) into a resumable folder, and :mod:`meshsim.report`
draws the trade-offs. ``docs/experiments.md`` describes the file, the
outputs and the statistics.
"""

from meshsim.experiment.executors import (
    MAX_JOBS,
    DaskExecutor,
    Executor,
    LocalExecutor,
    SerialExecutor,
    default_jobs,
)
from meshsim.experiment.hold import WrongSweepError
from meshsim.experiment.plan import (
    Point,
    Sweep,
    load_sweep,
    parse_sweep,
    replication_seeds,
)
from meshsim.experiment.runner import (
    SweepOutcome,
    SweepProgress,
    check_sweep_folder,
    read_results,
    run_sweep,
)
from meshsim.experiment.scheduler import SchedulerError, scheduler_problem
from meshsim.experiment.sweep_file import (
    MAX_REPLICATIONS,
    SweepError,
    SweepSpec,
    Varied,
)
from meshsim.experiment.tables import (
    ci_half_width,
    machine_dependent,
    metric_columns,
    points_table,
    runs_table,
)
from meshsim.experiment.worker import Replication, run_id, run_replication

__all__ = [
    "MAX_JOBS",
    "MAX_REPLICATIONS",
    "DaskExecutor",
    "Executor",
    "LocalExecutor",
    "Point",
    "Replication",
    "SchedulerError",
    "SerialExecutor",
    "Sweep",
    "SweepError",
    "SweepOutcome",
    "SweepProgress",
    "SweepSpec",
    "Varied",
    "WrongSweepError",
    "check_sweep_folder",
    "ci_half_width",
    "default_jobs",
    "load_sweep",
    "machine_dependent",
    "metric_columns",
    "parse_sweep",
    "points_table",
    "read_results",
    "replication_seeds",
    "run_id",
    "run_replication",
    "run_sweep",
    "runs_table",
    "scheduler_problem",
]
