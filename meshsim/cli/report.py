"""``meshsim report``: figures and an HTML page of a finished sweep."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from meshsim.cli.common import (
    EXIT_FAILED,
    Folder,
    OneLineCommand,
    fail,
    guarded,
    os_reason,
)
from meshsim.report.sweep_data import NothingRanError, read_sweep
from meshsim.report.sweep_page import write_report

__all__ = ["report"]

_out = Console(soft_wrap=True, highlight=False)


@click.command(cls=OneLineCommand)
@click.argument("folder", type=Folder())
@guarded
def report(folder: Path) -> None:
    """Draw the figures of the sweep in FOLDER and write report.html."""
    if not folder.exists():
        fail(f"{folder}: no such folder")
    if not folder.is_dir():
        fail(f"{folder}: not a folder (a sweep's results are one)")
    missing = [
        name
        for name in ("manifest.json", "runs.parquet", "points.parquet")
        if not (folder / name).is_file()
    ]
    if missing and (folder / "summary.json").is_file():
        fail(
            f"{folder}: a run's result, not a sweep's; meshsim report "
            "draws a sweep's figures, and a run's are in its plots folder"
        )
    if missing:
        fail(
            f"{folder}: not a finished sweep (no {', '.join(missing)}); "
            "run meshsim sweep to the end first"
        )
    if (folder / "figures").is_symlink():
        fail(
            f"{folder}: its figures folder is a symbolic link; meshsim "
            "writes figures only into a folder of the sweep's own"
        )
    try:
        data = read_sweep(folder)
    except NothingRanError as error:
        fail(f"{folder}: {error}", EXIT_FAILED)
    except (OSError, ValueError) as error:
        fail(f"{folder}: not a finished sweep as meshsim wrote it ({error})")
    try:
        written = write_report(folder, data)
    except OSError as error:
        fail(
            f"{folder}: cannot write the report: {os_reason(error)}",
            EXIT_FAILED,
        )
    except (
        KeyError,
        ValueError,
        TypeError,
        IndexError,
        ArithmeticError,
    ) as error:
        # The shape was checked as read; values of a folder edited by
        # hand (NaN where a point is named, text where numbers are) can
        # still break a figure.
        fail(
            f"{folder}: cannot draw its report ({type(error).__name__}: "
            f"{error}); are its tables as meshsim sweep wrote them?"
        )
    for title, path in written.figures.items():
        _out.print(f"{escape(title)}: {escape(str(path))}")
    for title, reason in written.skipped.items():
        _out.print(f"[yellow]left out[/] {escape(title)}: {escape(reason)}")
    _out.print(f"report: {escape(str(written.page))}")
