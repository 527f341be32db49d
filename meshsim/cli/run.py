"""``meshsim validate`` and ``meshsim run``: one scenario at a time."""

from __future__ import annotations

import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from meshsim.cli.common import (
    EXIT_FAILED,
    Folder,
    GivenPath,
    OneLineCommand,
    fail,
    guarded,
    interrupted,
    load_or_exit,
    os_reason,
    overrides_option,
    progress_console,
    say,
    sweep_file_hint,
)
from meshsim.cli.interrupts import Interrupts, catching_interrupts
from meshsim.files import read_json
from meshsim.results import MANIFEST, check_output
from meshsim.runner import SCENARIO, Run, run_scenario, save_run
from meshsim.scenario import (
    Scenario,
    ScenarioError,
    format_duration,
    load_scenario,
)
from meshsim.writable import OutputExistsError

__all__ = ["run", "validate"]

# Show a progress bar only once a run has taken this long.
_PROGRESS_AFTER_S = 2.0

_err = progress_console()
_out = Console()


@click.command(cls=OneLineCommand)
@click.argument("scenario_file", type=GivenPath())
@overrides_option
@guarded
def validate(scenario_file: Path, overrides: tuple[str, ...]) -> None:
    """Check a scenario file and report every error in it."""
    try:
        scenario = load_scenario(scenario_file, overrides)
    except ScenarioError as error:
        hint = sweep_file_hint(
            scenario_file, error, "check it with meshsim sweep FILE --dry-run"
        )
        if hint is not None:
            say(hint)
        raise
    _out.print(
        f"{scenario_file}: ok ({scenario.name})",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )


@click.command(cls=OneLineCommand)
@click.argument("scenario_file", type=GivenPath())
@click.option(
    "--out",
    type=Folder(),
    help="Result folder (default: results/<scenario name>).",
)
@click.option("--force", is_flag=True, help="Replace an existing --out.")
@overrides_option
@guarded
def run(
    scenario_file: Path,
    out: Path | None,
    force: bool,
    overrides: tuple[str, ...],
) -> None:
    """Run a scenario and write its results."""
    started_at = datetime.now(UTC)

    # Ctrl-C or SIGTERM at any point leaves nothing behind: the run is in
    # memory and the result folder appears whole or not at all.
    try:
        with catching_interrupts() as interrupts:
            scenario = load_or_exit(
                scenario_file, overrides, "run it with meshsim sweep FILE"
            )
            out = out if out is not None else Path("results") / scenario.name
            # What --force would not replace is said first, so that
            # nobody is told to pass it in vain.
            kept = _not_to_replace(out, scenario_file)
            if kept is not None:
                fail(
                    f"--out: {str(out)!r} holds {kept}; it is not replaced "
                    "even with --force"
                )
            try:
                check_output(out, force)
            except OutputExistsError as error:
                fail(str(error))

            result = _simulate(scenario, interrupts)
            interrupts.check()
            _save(result, out, force, started_at)
            _show(result, out)
            interrupts.check()
    except KeyboardInterrupt as stop:
        if out is not None and _written_by(out, started_at):
            interrupted(stop, f"interrupted; results written to {out}")
        interrupted(stop, "interrupted; nothing written")


def _not_to_replace(out: Path, scenario_file: Path) -> str | None:
    """What inside ``out`` --force must not delete, if anything: the
    current folder, or the scenario file unless it is the earlier
    result's own ``scenario.yaml`` (written again by this run). A path
    the system cannot look at is left to ``check_output`` to refuse."""
    try:
        if not out.is_dir():
            return None
        inside = out.resolve()
    except OSError:
        return None
    if Path.cwd().resolve().is_relative_to(inside):
        return "the current folder"
    scenario = scenario_file.resolve()
    if scenario.is_relative_to(inside) and scenario != inside / SCENARIO:
        return "the scenario file"
    return None


def _save(result: Run, out: Path, force: bool, started_at: datetime) -> None:
    """Write the result folder; a failure to write is one line, status 1.
    What is left of an earlier result that could not be deleted is said.
    """
    left_behind: list[Path] = []
    try:
        save_run(
            result,
            out,
            force=force,
            command=shlex.join(["meshsim", *sys.argv[1:]]),
            started_at=started_at,
            left_behind=left_behind,
        )
    except OutputExistsError as error:
        # free when checked before the run: the run is lost, as to a
        # full disk
        fail(f"{error} (found after the run); nothing written", EXIT_FAILED)
    except OSError as error:
        fail(
            f"--out: cannot write {str(out)!r}: {os_reason(error)}; "
            "nothing written",
            EXIT_FAILED,
        )
    for folder in left_behind:
        say(
            f"--out: the earlier result could not be wholly deleted; what "
            f"is left of it is in {str(folder)!r}"
        )


def _written_by(out: Path, started_at: datetime) -> bool:
    """Whether ``out`` holds the result of the run started at
    ``started_at`` (an interrupt may land just after it was published)."""
    try:
        manifest = read_json(out / MANIFEST)
    except (OSError, ValueError):
        return False
    return (
        isinstance(manifest, dict)
        and manifest.get("started_at") == started_at.isoformat()
    )


def _simulate(scenario: Scenario, interrupts: Interrupts) -> Run:
    """Run with a progress bar that appears once the run is slow; stop at
    the next step after an interrupt, even one a library swallowed."""
    began = time.monotonic()
    quiet = not _err.is_terminal  # no bar (nor its blank line) in logs
    with Progress(console=_err, transient=True, disable=quiet) as bar:
        task: Any = None

        def progress(fraction: float) -> None:
            nonlocal task
            interrupts.check()
            if task is None and time.monotonic() - began > _PROGRESS_AFTER_S:
                task = bar.add_task(f"simulating {scenario.name}", total=1.0)
            if task is not None:
                bar.update(task, completed=fraction)

        # One run per command: its world is left to the exit.
        return run_scenario(scenario, progress, exit_after=True)


def _show(run: Run, out: Path) -> None:
    """A short summary table of the run."""
    summary = run.summary
    ca = summary["ca"]
    rotation = summary["rotation"]
    handshakes = summary["handshakes"]
    attack = summary["attack"]
    table = Table(title=f"{summary['name']} (seed {summary['seed']})")
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [
        ("simulated", format_duration(summary["duration_s"])),
        ("wall time", f"{summary['wall_seconds']:.1f} s"),
        (
            "CSRs at the CA",
            f"{ca['csr_total']:,} ({ca['csr_issued']:,} issued, "
            f"{ca['csr_refused']:,} refused)",
        ),
        ("CSR rate", f"{ca['csr_rate_per_s'] * 3600:.1f} per hour"),
        ("CSR peak", f"{ca['csr_peak_per_min']:,} in 60 s"),
        ("CA wait p50 / p99", _wait(ca["wait_p50_s"], ca["wait_p99_s"])),
        *(
            [("attempts while the CA was down", f"{ca['csr_unreachable']:,}")]
            if ca["csr_unreachable"]
            else []
        ),
        *(
            [("CSRs left unanswered", f"{ca['csr_unanswered']:,}")]
            if ca["csr_unanswered"]
            else []
        ),
        ("CA utilisation", _percent(ca["utilisation"])),
        ("rotations", f"{rotation['count']:,}"),
        ("rotation crypto CPU", f"{rotation['crypto_cpu_s']:.2f} s"),
        ("rotation bytes", f"{rotation['bytes']:,}"),
        ("handshakes", f"{handshakes['total']:,}"),
    ]
    through = handshakes["through_attacker"]
    rows += [
        (
            f"  {outcome}",
            f"{count:,}"
            + (
                f" ({through[outcome]:,} via attacker)"
                if through[outcome]
                else ""
            ),
        )
        for outcome, count in handshakes["by_outcome"].items()
        if count
    ]
    rows += [
        ("identities exposed", f"{attack['identities_exposed']}"),
        ("connections intercepted", f"{attack['intercepted']:,}"),
    ]
    rows += [
        (f"{kind} window (mean)", f"{mean / 3600:.2f} h")
        for kind, mean in _window_means(attack["windows"]).items()
    ]
    for name, value in rows:
        table.add_row(name, value)
    _out.print(table)
    _out.print(f"results: {out}", soft_wrap=True, markup=False, highlight=False)


def _window_means(windows: list[dict[str, Any]]) -> dict[str, float]:
    """The mean attack window of each kind of attack, in the order the
    kinds first appear."""
    lengths: dict[str, list[float]] = {}
    for window in windows:
        lengths.setdefault(window["kind"], []).append(window["duration_s"])
    return {kind: sum(each) / len(each) for kind, each in lengths.items()}


def _percent(share: float) -> str:
    """A share in per cent, to three digits; below 0.01% as such."""
    if 0 < share < 1e-4:
        return "under 0.01%"
    return f"{share * 100:.3g}%"


def _wait(p50: float | None, p99: float | None) -> str:
    """Two waits in milliseconds, or in seconds when one is a second or
    more; none when no CSR was answered."""
    if p50 is None or p99 is None:
        return "none answered"
    if p99 < 1.0:
        return f"{p50 * 1000:.2f} / {p99 * 1000:.2f} ms"
    return f"{p50:.2f} / {p99:.2f} s"
