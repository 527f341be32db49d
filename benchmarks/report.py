"""The bench table on the terminal and ``results/bench.json`` on disk."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from benchmarks.figures import Figure

__all__ = ["format_target", "format_value", "met_word", "print_table"]

_UNITS = {"ratio": "\u00d7", "s": " s", "GiB": " GiB"}


def format_value(figure: Figure) -> str:
    """The measured value as the table shows it (``> 200 s`` for a
    lower bound, ``-`` when nothing was measured)."""
    if figure.value is None:
        return "-"
    shown = f"{figure.value:,.2f}{_UNITS.get(figure.unit, figure.unit)}"
    return f"\u2265 {shown}" if figure.bound == "at-least" else shown


def format_target(figure: Figure) -> str:
    """The target with its direction, such as ``≤ 1.5`` (times)."""
    if figure.target is None:
        return "-"
    sign = "\u2264" if figure.better == "lower" else "\u2265"
    return f"{sign} {figure.target:g}{_UNITS.get(figure.unit, figure.unit)}"


def met_word(figure: Figure, quick: bool = False) -> str:
    """``yes``, ``no`` or ``unknown``; ``not judged`` in a quick run,
    whose sizes are not the ones the targets are set for."""
    if quick:
        return "not judged"
    return {True: "yes", False: "no", None: "unknown"}[figure.met]


def print_table(
    figures: Sequence[Figure],
    title: str,
    console: Console | None = None,
    *,
    quick: bool = False,
) -> None:
    """One row per figure: name, value, target, met, and a note."""
    table = Table(title=title, title_justify="left")
    table.add_column("figure")
    table.add_column("measured", justify="right")
    table.add_column("target", justify="right")
    table.add_column("met")
    table.add_column("note")
    for figure in figures:
        met = met_word(figure, quick)
        style = {"yes": "green", "no": "red"}.get(met, "yellow")
        table.add_row(
            f"{figure.name}\n[dim]{figure.measure}[/dim]",
            format_value(figure),
            format_target(figure),
            f"[{style}]{met}[/{style}]",
            figure.note,
        )
    (console or Console()).print(table)
