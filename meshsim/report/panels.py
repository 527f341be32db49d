"""What the sweep figures share: their colours and sizes, line panels of
a metric's means against a varied column, and small helpers.

A panel holds one combination of the varied columns not on its axes;
lines are a point's mean over its replications, with the 95% confidence
interval (Student t) as a band.
"""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from meshsim.report.sweep_data import (
    AGENT,
    FANOUT,
    OUTAGE,
    TTL,
    WORKERS,
    SweepData,
    UnsupportedFigureError,
    facet_label,
    hours_text,
)

__all__ = [
    "COLOURS",
    "HOUR",
    "MARKERS",
    "PANEL_WIDTH",
    "after_warmup",
    "dedupe_legend",
    "figure_legend",
    "mean_lines",
    "point_groups",
]

HOUR: Final = 3600.0
COLOURS: Final = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")
MARKERS: Final = ("o", "s", "^", "D", "v")
PANEL_WIDTH: Final = 4.6
# A y axis drawn with a dashed whole-run line turns logarithmic above
# this, when its values reach ten times as far.
_LOG_ABOVE: Final = 10

# Characters of a 12-point title that fit in an inch of figure.
_TITLE_CHARS_PER_INCH: Final = 11


def mean_lines(
    data: SweepData,
    metric: str,
    *,
    x: str,
    x_label: str,
    y_label: str,
    title: str,
    scale: float = 1.0,
    dashed: str | None = None,
) -> Figure:
    """Mean ± CI of ``metric`` against ``x``, a line per agent mode, a
    panel per combination of the other varied columns. The means of
    ``dashed`` (the whole-run version of a metric) are drawn dashed."""
    if not data.varies(x):
        raise data.unvaried(x_label.split(" (")[0], x)
    table = data.by_point(metric).copy()
    if table["n"].sum() == 0:
        raise UnsupportedFigureError(f"no run measured {metric}")
    table["y"] = table["mean"] * scale
    table["err"] = table["ci95"] * scale

    panels = point_groups(data, data.facets(x, AGENT))
    figure = Figure(
        figsize=(PANEL_WIDTH * len(panels) + 0.6, 4.2), layout="constrained"
    )
    axes_row = figure.subplots(1, len(panels), squeeze=False, sharey=True)[0]
    hours = x in (TTL, OUTAGE)
    logged = False
    for axes, (panel, points) in zip(axes_row, panels, strict=True):
        chosen = table[table["point"].isin(points)]
        for n, agent in enumerate(data.values(AGENT)):
            line = chosen[chosen[AGENT] == agent].sort_values(x)
            if line.empty:
                continue
            xs = line[x].to_numpy(dtype=float) / (HOUR if hours else 1)
            ys = line["y"].to_numpy(dtype=float)
            err = np.nan_to_num(line["err"].to_numpy(dtype=float))
            colour = COLOURS[n % len(COLOURS)]
            axes.plot(xs, ys, marker="o", color=colour, label=str(agent))
            # every metric drawn here is a count or a time: the band
            # stops at zero
            low = np.maximum(ys - err, 0.0)
            axes.fill_between(xs, low, ys + err, color=colour, alpha=0.2)
            if dashed is not None:
                whole = data.by_point(dashed).set_index("point")["mean"]
                axes.plot(
                    xs,
                    line["point"].map(whole).to_numpy(dtype=float) * scale,
                    linestyle="--",
                    marker=".",
                    color=colour,
                    label=f"{agent}, whole run",
                )
        if hours and max(data.values(x)) / min(data.values(x)) >= 8:
            axes.set_xscale("log", base=2)
            ticks = [v / HOUR for v in data.values(x)]
            axes.set_xticks(ticks, [f"{t:g}" for t in ticks])
        if dashed is not None and axes.get_ylim()[1] > _LOG_ABOVE * 10:
            # the whole run's startup burst dwarfs the steady state
            axes.set_yscale("symlog", linthresh=_LOG_ABOVE)
            logged = True
        if x in (WORKERS, FANOUT):
            # whole workers or workloads, at the counts the sweep ran
            axes.set_xticks([float(v) for v in data.values(x)])
        axes.set_xlabel(x_label)
        axes.set_title(panel, fontsize=10)
        axes.grid(alpha=0.3)
    axes_row[0].set_ylabel(
        f"{y_label}, log above {_LOG_ABOVE}" if logged else y_label
    )
    axes_row[0].legend(title="agent", fontsize=8)
    # one panel is narrower than the title: wrap it to the figure
    width = int(figure.get_figwidth() * _TITLE_CHARS_PER_INCH)
    bands = (
        "bands: 95% CI"
        if table["n"].max() > 1
        else "one run a point: no confidence interval"
    )
    figure.suptitle(textwrap.fill(f"{title}  ({bands})", width))
    return figure


def point_groups(
    data: SweepData, columns: Sequence[str]
) -> list[tuple[str, list[str]]]:
    """(title, point ids) of each combination of ``columns``' values."""
    design = data.design()
    if not columns:
        return [("all points", design["point"].tolist())]
    result = []
    values = [data.values(c) for c in columns]
    for combination in itertools.product(*values):
        mask = np.ones(len(design), dtype=bool)
        for column, value in zip(columns, combination, strict=True):
            mask &= (design[column] == value).to_numpy()
        if mask.any():
            title = ", ".join(
                facet_label(c, v)
                for c, v in zip(columns, combination, strict=True)
            )
            result.append((title, design.loc[mask, "point"].tolist()))
    return result


def after_warmup(data: SweepData, metric: str) -> str:
    """A title's note of the warmup left out, for a steady metric."""
    if metric.startswith("steady."):
        return f" (after a {hours_text(data.warmup_s)} warmup)"
    return ""


def dedupe_legend(axes: Axes, **options: Any) -> None:
    """A legend of ``axes`` with each label once."""
    unique = _labelled([axes])
    axes.legend(unique.values(), unique.keys(), **options)


def figure_legend(
    figure: Figure, panels: Sequence[Axes], **options: Any
) -> None:
    """One legend of ``figure`` for every label of ``panels``, each once
    (``loc="outside ..."`` sets it beside them)."""
    unique = _labelled(panels)
    figure.legend(unique.values(), unique.keys(), **options)


def _labelled(panels: Sequence[Axes]) -> dict[str, Any]:
    """Each label of ``panels`` with its first handle, in order."""
    unique: dict[str, Any] = {}
    for axes in panels:
        handles, labels = axes.get_legend_handles_labels()
        for handle, label in zip(handles, labels, strict=True):
            unique.setdefault(label, handle)
    return unique
