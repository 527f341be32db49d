"""``python -m benchmarks.markdown [FILE]``: the table of a bench
result file (default ``results/bench.json``) as Markdown, for
docs/performance.md."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.figures import Figure
from benchmarks.report import format_target, format_value, met_word
from benchmarks.scenarios import REPO

__all__ = ["main", "markdown_table"]


def markdown_table(data: dict[str, Any]) -> str:
    """The figures of a bench result, one Markdown table row each."""
    lines = [
        "| figure | how | measured | target | met | note |",
        "|---|---|---:|---:|---|---|",
    ]
    quick = data["quick"]
    if not isinstance(quick, bool):
        raise ValueError(f"quick: {quick!r} is not true or false")
    for row in data["figures"]:
        figure = Figure(
            name=row["name"],
            measure=row["measure"],
            value=row["value"],
            unit=row["unit"],
            target=row["target"],
            better=row["better"],
            bound=row["bound"],
            note=row["note"],
        )
        met = met_word(figure, quick)
        if met == "no":
            met = "**no**"
        cells = [
            figure.name,
            figure.measure,
            format_value(figure),
            format_target(figure),
            met,
            figure.note,
        ]
        lines.append(
            "| " + " | ".join(c.replace("|", "/") for c in cells) + " |"
        )
    machine = data["machine"]
    source = data.get("source", {})
    lines.append("")
    lines.append(
        f"meshsim {data['meshsim_version']} at "
        f"{(source.get('commit') or '')[:10] or 'an unknown commit'}"
        + (
            " with uncommitted changes"
            if source.get("uncommitted_changes")
            else ""
        )
        + f", {machine['platform']}, "
        f"{machine['cpu_count']} CPUs, Python {machine['python']}"
        + (
            f", {machine['compiled_modules']} of {machine['listed_modules']} "
            f"listed modules compiled"
            if "compiled_modules" in machine
            else ""
        )
        + "; "
        f"load average {machine['load_average_before'][0]:.1f} before, "
        f"{machine['load_average_after'][0]:.1f} after; "
        f"{data['wall_s'] / 60:.1f} min in all"
        + (" (QUICK run)" if quick else "")
    )
    pressures = [
        lap[key]
        for lap in data.get("laps", [])
        for key in ("cpu_pressure_before", "cpu_pressure_after")
        if lap.get(key) is not None
    ]
    if pressures:
        lines[-1] += (
            f"; CPU pressure from other work (some, avg60) "
            f"{min(pressures):.0f} to {max(pressures):.0f}%"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the Markdown table of FILE (default results/bench.json);
    exit 2 with one line when FILE cannot be read or is no bench
    result."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.markdown",
        description="Print a bench result file's table as Markdown.",
    )
    parser.add_argument(
        "file",
        nargs="?",
        type=Path,
        default=REPO / "results" / "bench.json",
        help=(
            "a file `python -m benchmarks` wrote (default "
            "results/bench.json, which only a full run writes; quick and "
            "partial runs write results/bench-*.json)"
        ),
    )
    path: Path = parser.parse_args(argv).file

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        print(f"{path}: cannot be read: {reason}", file=sys.stderr)
        return 2
    try:
        table = markdown_table(json.loads(text))
    # A file of the right shape can still hold values of the wrong type
    # or size anywhere in it: each of these is what reading one raises.
    except (
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        IndexError,
        OverflowError,
        RecursionError,
    ) as error:
        print(
            f"{path}: not a bench result ({type(error).__name__}: {error})",
            file=sys.stderr,
        )
        return 2
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
