"""``python -m benchmarks [--quick]``: run the benchmarks, print the
table and write ``results/bench.json``.

Exit status 0 when every benchmark ran, whether or not its target was
met (the table says which); 1 when a benchmark crashed; 2 for a bad
option.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from benchmarks import (
    crypto_overhead,
    growth,
    kernel,
    scale,
    sweep_scaling,
)
from benchmarks.figures import FULL, QUICK, Figure, Sizes
from benchmarks.report import print_table
from benchmarks.scenarios import REPO
from meshsim import __version__, native
from meshsim.files import write_json

__all__ = ["BENCHMARKS", "main"]

BENCHMARKS: dict[str, tuple[str, Callable[[Sizes], list[Figure]]]] = {
    "crypto": ("1. real-crypto overhead", crypto_overhead.run),
    "kernel": ("2. kernel cost per renewal", kernel.run),
    "scale": ("3. scale", scale.run),
    "growth": ("4. growth", growth.run),
    "sweep": ("5. sweep scaling", sweep_scaling.run),
}
"""Each benchmark by the name ``--only`` takes: its figure and runner."""

QUICK_VARIABLE = "MESHSIM_BENCH_QUICK"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen benchmarks; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    quick = args.quick or os.environ.get(QUICK_VARIABLE, "") not in ("", "0")
    sizes = QUICK if quick else FULL
    if args.out is None:
        args.out = REPO / "results" / _default_name(quick, args.only)
    problem = _unwritable(args.out)
    if problem is not None:
        parser.error(f"--out: {str(args.out)!r} {problem}")
    if args.scale_timeout is not None:
        sizes = dataclasses.replace(sizes, scale_timeout_s=args.scale_timeout)
    chosen = args.only or list(BENCHMARKS)
    console = Console(stderr=True)

    started_at = datetime.now(UTC)
    began = time.perf_counter()
    load_before = os.getloadavg()
    figures: list[Figure] = []
    crashes: list[dict[str, str]] = []
    laps: list[dict[str, Any]] = []
    for name in chosen:
        title, bench = BENCHMARKS[name]
        console.print(f"[bold]{title}[/bold] ...")
        lap = time.perf_counter()
        load_at_start = os.getloadavg()[0]
        pressure_at_start = _cpu_pressure()
        try:
            figures += bench(sizes)
        except Exception as exc:
            # One crash does not hide the other figures; it does fail
            # the run.
            console.print(traceback.format_exc(), markup=False)
            crashes.append({"benchmark": name, "error": repr(exc)})
            figures.append(_crashed(title, exc))
        laps.append(
            {
                "benchmark": name,
                "wall_s": time.perf_counter() - lap,
                "load_average_before": load_at_start,
                "load_average_after": os.getloadavg()[0],
                "cpu_pressure_before": pressure_at_start,
                "cpu_pressure_after": _cpu_pressure(),
            }
        )
        console.print(f"  done in {laps[-1]['wall_s']:.0f} s")

    machine = _machine(load_before)
    title = (
        f"meshsim {__version__} on {machine['platform']}, "
        f"{machine['cpu_count']} CPUs, Python {machine['python']}, "
        f"{machine['compiled_modules']} of {machine['listed_modules']} "
        f"listed modules compiled"
    )
    if quick:
        title += "\nQUICK run: reduced sizes, not comparable with the targets"
    # Wide enough for the notes when the output is not a terminal.
    screen = Console()
    if not screen.is_terminal:
        screen = Console(width=max(screen.width, 132))
    print_table(figures, title, screen, quick=quick)
    write_json(
        args.out,
        {
            "meshsim_version": __version__,
            "quick": quick,
            "benchmarks": chosen,
            "sizes": dataclasses.asdict(sizes),
            "started_at": started_at.isoformat(),
            "finished_at": datetime.now(UTC).isoformat(),
            "wall_s": time.perf_counter() - began,
            "machine": machine,
            "source": _source(),
            "laps": laps,
            "figures": [figure.as_json() for figure in figures],
            "crashes": crashes,
        },
    )
    console.print(f"wrote {args.out}", markup=False, highlight=False)
    return 1 if crashes else 0


def _default_name(quick: bool, only: list[str] | None) -> str:
    """``bench.json`` for a full run of every benchmark; a smoke run or a
    run of some benchmarks never replaces it."""
    name = "bench"
    if only:
        name += "-" + "-".join(dict.fromkeys(only))
    if quick:
        name += "-quick"
    return name + ".json"


def _unwritable(path: Path) -> str | None:
    """Why ``path`` cannot take the figures, found before any runs."""
    if path.is_dir():
        return "is a folder"
    for parent in path.absolute().parents:
        if parent.exists() and not parent.is_dir():
            return f"is under {str(parent)!r}, a file"
    return None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Run meshsim's benchmarks and print their figures.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smaller sizes, for a smoke run (or set {QUICK_VARIABLE}=1)",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=list(BENCHMARKS),
        help="run only this benchmark (repeatable)",
    )
    parser.add_argument(
        "--scale-timeout",
        type=_positive_seconds,
        metavar="SECONDS",
        help=(
            "kill figure 3's full-size run after this long "
            f"(default {FULL.scale_timeout_s:g}, quick "
            f"{QUICK.scale_timeout_s:g})"
        ),
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=(
            "where to write the figures (default results/bench.json; "
            "results/bench-NAME...[-quick].json for --only or --quick)"
        ),
    )
    return parser


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a number of seconds (got {text!r})"
        ) from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0 (got {text!r})")
    return value


def _crashed(title: str, exc: Exception) -> Figure:
    return Figure(
        name=title,
        measure="crashed",
        value=None,
        unit="",
        target=None,
        better="lower",
        note=f"crashed: {type(exc).__name__}: {exc}"[:300],
    )


def _cpu_pressure() -> float | None:
    """Linux's share of the last 60 s in which some runnable task waited
    for a CPU (``/proc/pressure/cpu``, ``some avg60``), in percent: how
    busy other work kept the machine. ``None`` where it is not kept."""
    try:
        text = Path("/proc/pressure/cpu").read_text(encoding="ascii")
    except OSError:
        return None
    for line in text.splitlines():
        fields = dict(f.split("=", 1) for f in line.split()[1:])
        if line.startswith("some") and "avg60" in fields:
            return float(fields["avg60"])
    return None


def _source() -> dict[str, Any]:
    """The commit measured, and whether the simulator's files differed
    from it (``None`` each when git cannot tell)."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args],
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    status = git("status", "--porcelain", "--", "meshsim", "scenarios")
    return {
        "commit": git("rev-parse", "HEAD"),
        "uncommitted_changes": None if status is None else status != "",
    }


def _machine(load_before: tuple[float, float, float]) -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "meshsim_version": __version__,
        "compiled_modules": len(native.compiled()),
        "listed_modules": len(native.COMPILED),
        "load_average_before": list(load_before),
        "load_average_after": list(os.getloadavg()),
    }


if __name__ == "__main__":
    sys.exit(main())
