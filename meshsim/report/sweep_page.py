"""The report of a sweep: its figures as PNG and one plain HTML page.

``write_report(DIR)`` reads what ``meshsim sweep`` wrote into ``DIR``
and adds ``DIR/figures/*.png`` and ``DIR/report.html``: every figure the
sweep's parameters support, a visible note for each it cannot, and a
table of every point. Every figure and the page are drawn before any is
written, then written together (each to a temporary name, then all
renamed): a report that fails leaves the earlier one as it was.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pandas as pd

from meshsim import __version__
from meshsim.experiment.sweep_file import value_text
from meshsim.files import GENERATOR_META, figure_bytes, write_together
from meshsim.report.sweep_data import (
    SweepData,
    UnsupportedFigureError,
    hours_text,
    read_sweep,
)
from meshsim.report.sweep_figures import FIGURES
from meshsim.report.sweep_tables import run_of
from meshsim.shown import visible

__all__ = ["SweepReport", "write_report"]

# (metric, heading, scale, unit) of the table of points
_TABLE: Final = (
    ("attack.key_theft_window_mean_s", "key-theft window", 1 / 3600, "h"),
    ("ca.csr_rate_per_s", "CSR rate", 3600.0, "/h"),
    ("ca.csr_peak_per_min", "CSR peak", 1.0, "in 60 s"),
    ("ca.wait_p99_s", "CA wait p99", 1.0, "s"),
    ("ca.wait_max_s", "CA wait max", 1.0, "s"),
    ("attack.identities_exposed", "identities exposed", 1.0, ""),
    ("credentials.lapses", "certificate lapses", 1.0, ""),
)


@dataclass(frozen=True)
class SweepReport:
    """What :func:`write_report` wrote, and what it left out."""

    page: Path
    figures: dict[str, Path]
    skipped: dict[str, str]
    """Title of each figure left out, and why."""


def write_report(
    folder: str | Path, data: SweepData | None = None
) -> SweepReport:
    """Draw the figures of the sweep in ``folder`` (its tables ``data``,
    read from it when not given) and its HTML page."""
    path = Path(folder)
    if (path / "figures").is_symlink():
        # figures would land in whatever folder the link names
        raise ValueError(
            f"{path / 'figures'}: a symbolic link; the figures go into a "
            "folder of the sweep's own"
        )
    data = data if data is not None else read_sweep(path)
    drawn: dict[Path, bytes] = {}
    figures: dict[str, Path] = {}
    skipped: dict[str, str] = {}
    for name, title, draw in FIGURES:
        try:
            figure = draw(data)
        except UnsupportedFigureError as reason:
            skipped[title] = str(reason)
            continue
        target = path / "figures" / f"{name}.png"
        drawn[target] = figure_bytes(figure)
        figures[title] = target

    page = path / "report.html"
    drawn[page] = _page(data, figures, skipped, path).encode("utf-8")
    write_together(drawn)
    return SweepReport(page, figures, skipped)


def _page(
    data: SweepData,
    figures: dict[str, Path],
    skipped: dict[str, str],
    folder: Path,
) -> str:
    manifest = data.manifest
    name = _escaped(str(manifest.get("sweep", "sweep")))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        GENERATOR_META,
        f"<title>meshsim sweep {name}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Sweep {name}</h1>",
    ]
    if manifest.get("description"):
        parts.append(f"<p>{_escaped(str(manifest['description']))}</p>")
    parts.append(_facts(data))
    if skipped:
        parts.append('<div class="skipped"><h2>Figures left out</h2><ul>')
        parts += [
            f"<li><b>{_escaped(t)}</b>: {_escaped(r)}</li>"
            for t, r in skipped.items()
        ]
        parts.append("</ul></div>")
    for title, target in figures.items():
        source = _escaped(target.relative_to(folder).as_posix())
        caption = _escaped(title)
        if title in _CAPTIONS:
            caption = f"<b>{caption}.</b> {_escaped(_CAPTIONS[title])}"
        parts.append(
            f'<figure><img src="{source}" alt="{_escaped(title)}">'
            f"<figcaption>{caption}</figcaption></figure>"
        )
    parts.append(_points_table(data))
    parts.append(_failures(data))
    parts.append(
        f'<p class="small">Written by meshsim {__version__} on '
        f"{datetime.now(UTC).isoformat(timespec='seconds')}.</p>"
    )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


_BANDS: Final = (
    "Each marker is a point's mean over its successful runs, the shaded "
    "band, where a point has two runs or more, its 95% confidence "
    "interval."
)
_WHOLE_RUN: Final = (
    "With a warmup, solid lines leave out the CSRs sent in it and dashed "
    "ones count the whole run, start included."
)
_CAPTIONS: Final = {
    "Attack window vs TTL": (
        "How long a stolen key keeps paying off: from the first "
        "certificate copied while valid to one second past the latest "
        "NotAfter among the copies, a line per agent mode. For thefts at "
        "random times and no outage its mean is T(1 - r/2), for TTL T "
        "renewed after r of its life (docs/experiments.md, Planning a "
        f"sweep). {_BANDS}"
    ),
    "CA load over TTL x fan-out": (
        "The CA's busiest minute (top) and mean CSR rate (bottom) per "
        "TTL and fan-out, a column per agent mode, after the warmup if "
        "there is one. An outage in the runs raises the peak at the TTLs "
        "whose renewals fall due during it: their retries all come "
        "within one backoff period (Istio: about a minute) of its end."
    ),
    "CA p99 wait vs TTL": (
        "The 99th percentile of the time a CSR waits for a CA worker. "
        f"{_WHOLE_RUN} The axis turns logarithmic above 10 ms when the "
        f"start's burst dwarfs the rest. {_BANDS}"
    ),
    "Longest CA wait vs workers": (
        "The longest a CSR waited for a worker, against the CA's "
        "workers: for N agents asking at once, W workers and signing "
        f"time s, floor((N - 1)/W)·s. {_WHOLE_RUN} {_BANDS}"
    ),
    "Blast radius vs fan-out": (
        "Identities one key theft copies while valid: one under per-pod "
        "agents, every identity the node's agent holds under per-node "
        f"agents. {_BANDS}"
    ),
    "Longest CA outage survived vs TTL": (
        "The line and band are the closed form for an outage that "
        "begins as renewals fall due; the markers are the sweep's "
        "outages, by whether a certificate lapsed in no run, some or "
        "every run."
    ),
    "Attack window against CA load": (
        "Each point's mean key-theft window (of every attack window if "
        "no run had a key theft) against its mean CSR rate, with 95% "
        "confidence intervals; the dashed steps join the points no "
        "other beats on both (lower is better on both)."
    ),
}
"""What each figure shows, under its title on the page."""


def _escaped(value: str) -> str:
    """``value`` for the page: HTML-escaped, and each character that
    would not show as itself written as its code (``\\x07``)."""
    return html.escape(visible(value))


def _facts(data: SweepData) -> str:
    manifest = data.manifest
    runs = data.runs
    failed = int((runs["status"] != "ok").sum())
    warmup = data.warmup_s
    rows = [
        (
            "sweep file",
            f"{manifest.get('sweep_file')} "
            f"(sha256 {str(manifest.get('sweep_sha256'))[:16]}…)",
        ),
        ("base scenario", str(manifest.get("base_scenario"))),
        (
            "set at every point (the sweep file's set)",
            ", ".join(map(str, manifest.get("set") or [])) or "nothing",
        ),
        (
            # the sweep file's own description does not know of them
            "set at every point (--set)",
            ", ".join(map(str, manifest.get("overrides") or [])) or "nothing",
        ),
        ("varied", ", ".join(data.parameters) or "nothing"),
        ("points", str(len(manifest.get("points", [])))),
        (
            "replications",
            f"{manifest.get('replications')} per point, "
            f"seeds spawned from root seed {manifest.get('root_seed')}",
        ),
        ("runs", f"{len(runs)}, of which {failed} failed"),
        (
            "executor",
            ", ".join(
                f"{k} {v}"
                for k, v in dict(manifest.get("executor", {})).items()
            ),
        ),
        (
            "last command",
            str(manifest.get("command")) or "none: run from Python",
        ),
        ("folder created", str(manifest.get("created_at"))),
        (
            # A resumed sweep runs only what was missing: these times are
            # the last invocation's, not those of every run.
            "last invocation",
            f"{manifest.get('started_at')} to {manifest.get('finished_at')}",
        ),
    ]
    if warmup > 0:
        rows.append(
            (
                "warmup",
                f"{hours_text(warmup)}: CA figures (rate, peak, waits) "
                "leave out the CSRs submitted before it; attack, handshake and "
                "rotation figures cover the whole run",
            )
        )
    cells = "".join(
        f"<tr><th>{_escaped(k)}</th><td>{_escaped(v)}</td></tr>"
        for k, v in rows
    )
    return f'<table class="facts">{cells}</table>'


def _points_table(data: SweepData) -> str:
    points = data.points
    design = data.design().set_index("point")
    # each varied key's value as the sweep file wrote it (2h, not 7200)
    settings = {
        str(entry["id"]): dict(entry.get("settings", {}))
        for entry in data.manifest.get("points", [])
    }
    head = ["point", *data.parameters, "runs ok"]
    head += [f"{h} ({u})" if u else h for _, h, _, u in _TABLE]
    rows = []
    for point, row in design.iterrows():
        mine = points[points["point"] == point]
        first = mine.iloc[0]
        written = settings.get(str(point), {})
        cells = [
            str(point),
            *(
                value_text(written[p]) if p in written else _text(row[p])
                for p in data.parameters
            ),
        ]
        cells.append(f"{int(first['n'])}/{int(first['n'] + first['failed'])}")
        for metric, _, scale, _ in _TABLE:
            found = mine[mine["metric"] == metric]
            cells.append(_estimate(found, scale))
        rows.append(cells)
    header = "".join(f"<th>{_escaped(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{_escaped(c)}</td>" for c in r) + "</tr>"
        for r in rows
    )
    return (
        "<h2>Points</h2><p>Mean ± half-width of the 95% confidence "
        "interval (Student t) over each point's successful runs; "
        "whole-run figures.</p>"
        f'<table class="points"><tr>{header}</tr>{body}</table>'
    )


def _failures(data: SweepData) -> str:
    failed = data.runs[data.runs["status"] != "ok"]
    if failed.empty:
        return ""
    items = "".join(
        f"<li>{_escaped(run_of(r))} "
        f"(seed {int(r['seed'])}): {_escaped(str(r['error']))}</li>"
        for _, r in failed.iterrows()
    )
    return f'<h2>Failed runs</h2><ul class="failed">{items}</ul>'


def _estimate(found: pd.DataFrame, scale: float) -> str:
    if found.empty:
        return "-"
    mean = float(found["mean"].iloc[0]) * scale
    ci = float(found["ci95"].iloc[0]) * scale
    if math.isnan(mean):
        return "-"
    if math.isnan(ci):
        return _figure(mean, 4)
    if ci <= abs(mean) * 1e-9:
        # replications that agree but for float rounding
        ci = 0.0
    return f"{_figure(mean, 4)} ± {_figure(ci, 2)}"


def _figure(value: float, digits: int) -> str:
    """``value`` to ``digits`` significant digits, in plain notation from
    1 up (8,000 and 100, not 8e+03 and 1e+02)."""
    if value == 0:
        return "0"
    if not math.isfinite(value):
        return f"{value:g}"  # inf, -inf or nan, written as stored
    rounded = float(f"{value:.{digits}g}")
    if abs(rounded) < 1:
        return f"{rounded:.{digits}g}"
    places = max(0, digits - 1 - math.floor(math.log10(abs(rounded))))
    text = f"{rounded:,.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


_STYLE: Final = """
body { font-family: sans-serif; max-width: 1400px; margin: 2em auto;
       padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 90%; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
table.points td { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 2em 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-weight: bold; margin-top: 0.3em; }
.skipped { background: #fff4d6; border: 1px solid #e0b84c; padding: 0.5em 1em; }
.small { color: #777; font-size: 85%; }
"""
