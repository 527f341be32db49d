"""``meshsim sweep``: run a sweep file's replications into a folder."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from meshsim.cli.common import (
    EXIT_FAILED,
    Count,
    Folder,
    GivenPath,
    OneLineCommand,
    fail,
    guarded,
    interrupted,
    os_reason,
    overrides_option,
    progress_console,
    say,
    scenario_file_hint,
)
from meshsim.cli.interrupts import catching_interrupts
from meshsim.experiment import (
    MAX_JOBS,
    MAX_REPLICATIONS,
    DaskExecutor,
    Executor,
    LocalExecutor,
    SchedulerError,
    SerialExecutor,
    Sweep,
    SweepError,
    SweepOutcome,
    SweepProgress,
    WrongSweepError,
    check_sweep_folder,
    load_sweep,
    run_id,
    run_sweep,
    scheduler_problem,
)
from meshsim.shown import counted, visible

__all__ = ["sweep"]

_err = progress_console()
# Paths and labels are printed as they are: no markup, no wrapping.
_out = Console(soft_wrap=True, markup=False, highlight=False)


@click.command(cls=OneLineCommand)
@click.argument("sweep_file", type=GivenPath())
@click.option(
    "--out",
    type=Folder(),
    help="Result folder (default: results/<sweep name>).",
)
@click.option(
    "--executor",
    type=click.Choice(["local", "dask", "serial"]),
    default="local",
    show_default=True,
    help="Local processes, a Dask distributed cluster, or this process "
    "alone (serial, for debugging).",
)
@click.option(
    "--jobs",
    type=Count(min=1, max=MAX_JOBS),
    help="Worker processes (default: every core); with --executor dask "
    "and no --scheduler, the workers of a cluster on this machine.",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="Dask scheduler address, e.g. tcp://host:8786.",
)
@click.option(
    "--replications",
    type=Count(min=1, max=MAX_REPLICATIONS),
    help="Replications of each point, instead of the file's.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Start over in an --out that holds another sweep.",
)
@click.option(
    "--retry-failed",
    is_flag=True,
    help="Run stored failed replications again.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Check the sweep and list its points; run nothing.",
)
@overrides_option
@guarded
def sweep(
    sweep_file: Path,
    out: Path | None,
    executor: str,
    jobs: int | None,
    scheduler: str | None,
    replications: int | None,
    force: bool,
    retry_failed: bool,
    dry_run: bool,
    overrides: tuple[str, ...],
) -> None:
    """Run every point of a sweep file, replicated; resume if stopped.

    --set KEY=VALUE applies to the scenario of every point. Exit status:
    0 when every replication ran, 1 when some failed, 2 for a bad sweep
    file, option or output folder.
    """
    if scheduler is not None and executor != "dask":
        fail("--scheduler: needs --executor dask")
    if jobs is not None and executor == "serial":
        fail(f"--jobs: --executor serial runs one at a time (got {jobs})")
    if jobs is not None and scheduler is not None:
        fail(f"--jobs: a --scheduler has its own workers (got {jobs})")
    unusable = None if scheduler is None else scheduler_problem(scheduler)
    if unusable is not None:
        fail(f"--scheduler: {unusable} (got {scheduler!r})")
    try:
        plan = load_sweep(sweep_file, overrides, replications)
    except SweepError as error:
        hint = scenario_file_hint(sweep_file, error)
        if hint is not None:
            say(hint)
        for problem in error.problems:
            say(str(problem))
        sys.exit(2)
    out = out if out is not None else Path("results") / plan.name
    try:
        check_sweep_folder(plan, out, force=force)
    except WrongSweepError as error:
        fail(str(error))
    if dry_run:
        _show_plan(plan)
        return

    chosen: Executor
    if executor == "dask":
        chosen = DaskExecutor(scheduler, jobs)
    elif executor == "serial":
        chosen = SerialExecutor()
    else:
        chosen = LocalExecutor(jobs)
    try:
        # The interrupts are remembered, so that one a library swallowed
        # still stops the sweep at its next result.
        with catching_interrupts() as interrupts:
            outcome = _run(
                plan, out, chosen, force, retry_failed, interrupts.check
            )
    except WrongSweepError as error:
        fail(str(error))
    except KeyboardInterrupt as stop:
        if not out.exists():  # stopped while reaching its scheduler
            interrupted(stop, "interrupted; nothing written")
        interrupted(
            stop,
            f"interrupted: finished runs are kept in {out}; run the same "
            "command again to resume",
        )
    except BrokenProcessPool as error:
        fail(
            f"a worker process died ({error}); finished runs are kept in "
            f"{out}; run the same command again to resume",
            EXIT_FAILED,
        )
    except BrokenPipeError:
        raise  # stdout's reader went away: guarded ends quietly
    except SchedulerError as error:
        fail(f"--scheduler: {error}; nothing written", EXIT_FAILED)
    except OSError as error:
        # A folder that cannot be written, a scheduler lost midway: what
        # was stored stays, and a run of the same command
        # resumes from it.
        fail(
            f"{os_reason(error)}; finished runs are kept in {out}; once "
            "that is mended, run the same command again to resume",
            EXIT_FAILED,
        )
    _show(outcome)
    if outcome.failed:
        sys.exit(1)


def _run(
    plan: Sweep,
    out: Path,
    executor: Executor,
    force: bool,
    retry_failed: bool,
    check: Callable[[], None],
) -> SweepOutcome:
    """Run with a progress bar of replications and points; ``check``
    raises a signal received meanwhile that a library swallowed."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("runs"),
        TextColumn("{task.fields[points]}"),
        _RateColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=_err,
        transient=False,
        # no bar in logs: its last state would come before any message
        disable=not _err.is_terminal,
    ) as bar:
        task: Any = None

        def progress(state: SweepProgress) -> None:
            nonlocal task
            check()
            points = f"{state.points_done}/{state.points} points"
            if state.failed:
                points += f", {state.failed} failed"
            if task is None:
                task = bar.add_task(
                    plan.name,
                    total=state.total - state.resumed,
                    points=points,
                )
            bar.update(
                task, completed=state.done - state.resumed, points=points
            )

        return run_sweep(
            plan,
            out,
            executor,
            force=force,
            retry_failed=retry_failed,
            command=shlex.join(["meshsim", *sys.argv[1:]]),
            progress=progress,
        )


class _RateColumn(ProgressColumn):
    """Replications finished per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if speed is None:
            return Text("--/s")
        return Text(f"{speed:.2f}/s")


def _show_plan(plan: Sweep) -> None:
    spec = plan.spec
    _out.print(
        f"{spec.source}: ok ({plan.name}): "
        f"{counted(len(plan.points), 'point')} x "
        f"{counted(plan.replications, 'replication')}, root seed {spec.seed}"
    )
    for point in plan.points:
        _out.print(f"  {point.id}  {point.label or '(base scenario)'}")


def _show(outcome: SweepOutcome) -> None:
    runs = outcome.runs
    points = counted(runs["point"].nunique(), "point")
    replications = counted(runs["replication"].nunique(), "replication")
    _out.print(
        f"{counted(len(runs), 'run')} ({points} x {replications}): "
        f"{outcome.ran} run now, {outcome.resumed} resumed, "
        f"{outcome.failed} failed"
    )
    # what went wrong goes to stderr, with the progress
    failed = outcome.runs[outcome.runs["status"] != "ok"]
    for row in failed.head(10).to_dict("records"):
        name = run_id(row["point"], row["replication"])
        say(f"  failed {name}: {visible(str(row['error']))}")
    if len(failed) > 10:
        say(f"  … and {len(failed) - 10} more (see runs.parquet)")
    if outcome.failed < len(runs):
        folder = shlex.quote(str(outcome.out))
        _out.print(f"its figures and report: meshsim report {folder}")
    _out.print(f"results: {outcome.out}")
