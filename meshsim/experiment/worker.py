"""What an executor runs: one replication of one point, in a worker.

A worker receives a :class:`Replication` (the point's resolved scenario
as YAML text, the seed and the warmup), runs it, and sends back plain
JSON data: the run's summary and a few figures recomputed from its
tables. No key, certificate or table crosses back; a summary holds none.

A replication that raises is data, not a crash: its record says
``status: failed`` with the error, and the sweep goes on.
"""

from __future__ import annotations

import copy
import json
import os
import select
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd

from meshsim.clock import ACCEPTED_PAST_NOT_AFTER_S
from meshsim.metrics.summary import summarise
from meshsim.runner import Run, run_scenario
from meshsim.scenario import parse_scenario

__all__ = [
    "POINT_SCENARIOS",
    "Replication",
    "derived_metrics",
    "end_with",
    "point_id",
    "run_id",
    "run_replication",
]

POINT_SCENARIOS: Final = "scenarios"
"""The folder, inside a sweep's, of each point's resolved scenario."""


def point_id(index: int, points: int) -> str:
    """``p003``: the id of point ``index`` of ``points``, in digits as
    many as the last one's needs and at least three."""
    width = max(3, len(str(points - 1)))
    return f"p{index:0{width}d}"


def run_id(point: str, replication: int) -> str:
    """``p003-r02``: names a replication's stored result."""
    return f"{point}-r{replication:02d}"


# How often a worker without pidfd_open (not Linux) looks for its sweep.
_POLL_S = 1.0


@dataclass(frozen=True)
class Replication:
    """One run to make: a point's scenario under one seed."""

    point: str
    """The point's id (``p003``)."""
    replication: int
    seed: int
    scenario_yaml: str
    """The point's scenario as ``dump_resolved`` writes it."""
    warmup_s: float = 0.0

    @property
    def id(self) -> str:
        """``p003-r02``: names the stored result."""
        return run_id(self.point, self.replication)


def run_replication(task: Replication) -> dict[str, Any]:
    """Run ``task`` and return its record as plain JSON data."""
    record: dict[str, Any] = {
        "point": task.point,
        "replication": task.replication,
        "seed": task.seed,
    }
    try:
        # problems name the point's scenario as the sweep's folder keeps
        # it (the same text, but for the seed the override sets)
        scenario = parse_scenario(
            task.scenario_yaml,
            f"{POINT_SCENARIOS}/{task.point}.yaml",
            [f"seed={task.seed}"],
        )
        run = run_scenario(scenario)
        summary = dict(run.summary)
        record |= {
            "status": "ok",
            "error": None,
            "summary": summary,
            "derived": derived_metrics(run, task.warmup_s),
        }
    except Exception as error:  # a failed run is recorded, not raised
        record |= {
            "status": "failed",
            "error": f"{type(error).__name__}: {error}",
            "traceback": traceback.format_exc(limit=-4),
            "summary": None,
            "derived": None,
        }
    # what crosses back is exactly what JSON keeps
    plain: dict[str, Any] = json.loads(json.dumps(record, allow_nan=True))
    return plain


def derived_metrics(run: Run, warmup_s: float) -> dict[str, Any]:
    """Figures the summary lacks, recomputed from the run's tables.

    - ``credentials``: how often an identity's certificate expired
      before its replacement was installed (``lapses``), for how long in
      all (``lapsed_s``), and the mean number of identities each agent
      holds (``identities_per_agent``);
    - ``steady`` (only with a warmup): the summary's ``ca`` figures over
      the CSRs submitted from ``warmup_s`` on, with the rate and
      utilisation taken over ``duration - warmup``.
    """
    derived: dict[str, Any] = {"credentials": _credentials(run)}
    if warmup_s > 0:
        derived["steady"] = {"ca": _steady_ca(run, warmup_s)}
    return derived


def _credentials(run: Run) -> dict[str, Any]:
    rotations = run.tables.rotations
    duration = float(run.result.scenario.duration)
    # an identity is needed to the end of the run, or its pod's deletion
    deleted = run.result.recorder.deleted_s
    lapses = 0
    lapsed = 0.0
    for (agent, _), held in rotations.groupby(
        ["agent", "spiffe_id"], sort=False
    ):
        needed_until = deleted.get(str(agent), duration)
        installed = held["installed_s"].to_numpy(dtype=float)
        not_after = held["not_after_s"].to_numpy(dtype=float)
        order = installed.argsort(kind="stable")
        installed, not_after = installed[order], not_after[order]

        # a gap opens when the next is installed after the last one is
        # refused
        ends = not_after + ACCEPTED_PAST_NOT_AFTER_S
        nexts = [*installed[1:], needed_until]
        for end, following in zip(ends, nexts, strict=True):
            if following > end:
                lapses += 1
                lapsed += following - end
    per_agent = rotations.groupby("agent")["spiffe_id"].nunique()
    return {
        "lapses": lapses,
        "lapsed_s": lapsed,
        "identities_per_agent": (
            float(per_agent.mean()) if len(per_agent) else None
        ),
    }


def _steady_ca(run: Run, warmup_s: float) -> dict[str, Any]:
    """The summary's CA figures, as if the run began at ``warmup_s``.

    CSRs submitted before the warmup ends are left out, and times are
    shifted to count from the warmup's end.

    NOTE: a recorded-time cutoff, and for the CA figures only: the core
    cannot run a warmup before the scenario's timeline, and attack,
    handshake and rotation figures cannot be cut from the summary
    honestly. It can go when ``run_scenario`` takes a warmup.
    """
    scenario = run.result.scenario
    tables = copy.copy(run.tables)
    csrs = run.tables.csrs
    kept = csrs[csrs["submitted_s"] >= warmup_s].copy()
    for column in ("submitted_s", "started_s", "finished_s"):
        kept[column] = kept[column] - warmup_s
    tables.csrs = pd.DataFrame(kept).reset_index(drop=True)
    cut = summarise(
        tables,
        seed=scenario.seed,
        scenario_sha256="",
        duration_s=float(scenario.duration) - warmup_s,
        workers=scenario.ca.workers,
        wall_seconds=0.0,
        crypto_cpu_s={},
        crypto_count={},
    )
    ca: dict[str, Any] = cut["ca"]
    return ca


def end_with(sweep: int) -> None:
    """Make this worker process end as soon as process ``sweep`` does.

    A local executor's worker initializer. A worker whose sweep was
    killed, or stopped while the pool was still starting the worker,
    would otherwise wait for tasks forever, and keep the fork server and
    the resource tracker alive with it. The watch runs in a daemon
    thread that sleeps until the sweep's process ends.
    """
    watch = threading.Thread(
        target=_watch, args=(sweep,), name="end-with-sweep", daemon=True
    )
    watch.start()


def _watch(sweep: int) -> None:
    try:
        handle = os.pidfd_open(sweep)
    except ProcessLookupError:
        os._exit(1)  # the sweep already ended
    except (AttributeError, OSError):
        # no pidfd here: look for the process every _POLL_S instead
        while _exists(sweep):
            time.sleep(_POLL_S)
        os._exit(1)
    select.select([handle], [], [])  # readable once the process ends
    os._exit(1)


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # a process of another user holds the number
    return True
