"""The trade-off figures of a sweep.

Each function draws one figure on a :class:`matplotlib.figure.Figure`
(no pyplot state) from a :class:`~meshsim.report.sweep_data.SweepData`,
or raises :class:`~meshsim.report.sweep_data.UnsupportedFigureError` saying why
the sweep cannot support it. Means are over a point's replications, and
bands and error bars are their 95% confidence intervals (Student t).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Any, Final, cast

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from meshsim.report.panels import (
    COLOURS,
    HOUR,
    MARKERS,
    PANEL_WIDTH,
    after_warmup,
    dedupe_legend,
    figure_legend,
    mean_lines,
    point_groups,
)
from meshsim.report.sweep_data import (
    AGENT,
    FANOUT,
    OUTAGE,
    TTL,
    WORKERS,
    SweepData,
    UnsupportedFigureError,
    hours_text,
)

__all__ = [
    "FIGURES",
    "attack_window_figure",
    "blast_radius_figure",
    "ca_capacity_figure",
    "ca_load_heatmap",
    "ca_wait_figure",
    "outage_figure",
    "pareto_figure",
]

# Characters of an 8-point note that fit across a panel.
_NOTE_CHARS: Final = 14  # of a caption at 8 points, per inch of figure


def attack_window_figure(data: SweepData) -> Figure:
    """Mean key-theft attack window against TTL, a line per agent mode."""
    metric = "attack.key_theft_window_mean_s"
    what = "key-theft window"
    if data.by_point(metric)["n"].sum() == 0:
        metric, what = "attack.window_mean_s", "attack window"
    return mean_lines(
        data,
        metric,
        x=TTL,
        x_label="workload TTL (h)",
        y_label=f"{what}, mean (h)",
        title=f"How long a compromise pays off: {what} vs TTL",
        scale=1 / HOUR,
    )


def ca_wait_figure(data: SweepData) -> Figure:
    """The CA's p99 queue wait against TTL, a line per agent mode."""
    metric = data.metric("ca.wait_p99_s", steady=True)
    whole = "ca.wait_p99_s" if metric != "ca.wait_p99_s" else None
    return mean_lines(
        data,
        metric,
        x=TTL,
        x_label="workload TTL (h)",
        y_label="CA queue wait, p99 (ms)",
        title="CA p99 wait vs TTL" + after_warmup(data, metric),
        scale=1000.0,
        dashed=whole,
    )


def ca_capacity_figure(data: SweepData) -> Figure:
    """The CA's longest queue wait against its number of workers, a line
    per agent mode: how many workers answer a burst in time."""
    metric = data.metric("ca.wait_max_s", steady=True)
    if metric != "ca.wait_max_s" and data.by_point(metric)["n"].sum() == 0:
        # every CSR came within the warmup (a burst at the start): the
        # whole run's waits are the ones to draw
        metric = "ca.wait_max_s"
    whole = "ca.wait_max_s" if metric != "ca.wait_max_s" else None
    return mean_lines(
        data,
        metric,
        x=WORKERS,
        x_label="CA workers",
        y_label="CA queue wait, longest (s)",
        title="Longest CA wait vs workers" + after_warmup(data, metric),
        dashed=whole,
    )


def blast_radius_figure(data: SweepData) -> Figure:
    """Identities one key theft exposes, against fan-out."""
    thefts = data.design()["scenario.key_thefts"]
    if (thefts == 0).all():
        raise UnsupportedFigureError("no point has a key-theft attack")
    if "attack.identities_per_key_theft" not in set(data.points["metric"]):
        raise UnsupportedFigureError(
            "the sweep measured no attack.identities_per_key_theft (a "
            "sweep of an earlier meshsim: run it again with --force)"
        )
    return mean_lines(
        data,
        "attack.identities_per_key_theft",
        x=FANOUT,
        x_label="fan-out (workloads per node)",
        y_label="identities exposed per key theft",
        title="Blast radius of one compromised agent vs fan-out",
    )


def ca_load_heatmap(data: SweepData) -> Figure:
    """Peak and mean CSR rate over TTL x fan-out, a column per agent."""
    for column, name in ((TTL, "workload TTL"), (FANOUT, "fan-out")):
        if not data.varies(column):
            raise data.unvaried(name, column)
    rows = [
        (data.metric("ca.csr_peak_per_min", steady=True), 1.0, "CSRs/min"),
        (data.metric("ca.csr_rate_per_s", steady=True), HOUR, "CSRs/h"),
    ]
    columns = point_groups(data, data.facets(TTL, FANOUT))
    figure = Figure(
        figsize=(PANEL_WIDTH * len(columns) + 1, 7.5), layout="constrained"
    )
    grid = np.atleast_2d(
        figure.subplots(2, len(columns), squeeze=False, sharey=True)
    )
    ttls = data.values(TTL)
    fanouts = data.values(FANOUT)
    for row, (metric, scale, unit) in enumerate(rows):
        table = data.by_point(metric)
        high = float(np.nanmax(table["mean"] * scale))
        image = None
        for col, (title, subset) in enumerate(columns):
            axes: Axes = grid[row, col]
            values = np.full((len(fanouts), len(ttls)), np.nan)
            chosen = table[table["point"].isin(subset)]
            for _, item in chosen.iterrows():
                i = fanouts.index(item[FANOUT])
                j = ttls.index(item[TTL])
                values[i, j] = item["mean"] * scale
            image = axes.imshow(
                values, origin="lower", aspect="auto", vmin=0, vmax=high
            )
            for (i, j), value in np.ndenumerate(values):
                if not np.isnan(value):
                    axes.text(
                        j,
                        i,
                        f"{value:.3g}",
                        ha="center",
                        va="center",
                        color="white" if value < high / 2 else "black",
                        fontsize=9,
                    )
            axes.set_xticks(range(len(ttls)), [hours_text(t) for t in ttls])
            axes.set_yticks(range(len(fanouts)), [f"{f:g}" for f in fanouts])
            axes.set_xlabel("workload TTL")
            if col == 0:
                axes.set_ylabel("fan-out (workloads per node)")
            kind = "peak" if "peak" in metric else "mean"
            axes.set_title(f"{title}\n{kind} ({unit})", fontsize=10)
        if image is not None:
            figure.colorbar(image, ax=list(grid[row, :]), label=unit)
    figure.suptitle(
        "CA load over TTL x fan-out" + after_warmup(data, rows[0][0])
    )
    return figure


def outage_figure(data: SweepData) -> Figure:
    """The longest CA outage survived without a certificate lapsing, a
    panel per combination of the varied columns besides TTL and outage.

    The line is the closed form: an agent renews when a fraction
    ``g ± U(0, jitter)`` (``pki.grace_ratio``, ``pki.jitter``) of the
    lifetime ``T`` remains, so an outage that begins just as renewals
    fall due is survived by every agent if it is shorter than
    ``(g - jitter)·T``, and by none if longer than ``(g + jitter)·T``
    (the band). Markers are simulated points, drawn only where the sweep
    ran an outage: whether any certificate lapsed, over the runs of that
    panel's points.

    NOTE: the closed form leaves out the agent's retry backoff after the
    CA returns and the CA's queue, both short beside hours of TTL.
    """
    if not data.varies(TTL):
        raise data.unvaried("workload TTL", TTL)
    design = data.design()
    ttls = np.array(data.values(TTL), dtype=float)
    panels = point_groups(data, data.facets(TTL, OUTAGE))
    figure = Figure(
        figsize=(PANEL_WIDTH * len(panels) + 1.5, 5), layout="constrained"
    )
    row = figure.subplots(1, len(panels), squeeze=False, sharey=True)[0]
    runs = data.runs[data.runs["status"] == "ok"]
    ran = runs[runs[OUTAGE] > 0]
    span = np.linspace(0, ttls.max() * 1.05, 100)
    right = span[-1] / HOUR
    for axes, (title, points) in zip(row, panels, strict=True):
        chosen = design[design["point"].isin(points)]
        pairs = chosen[["scenario.grace_ratio", "scenario.jitter"]]
        for n, (grace, jitter) in enumerate(pairs.drop_duplicates().to_numpy()):
            _closed_form(axes, span, grace, jitter, COLOURS[n % len(COLOURS)])
        _lapse_markers(axes, ran[ran["point"].isin(points)], right)
        axes.set_xlabel("workload TTL (h)")
        axes.set_xlim(0, right)
        axes.set_ylim(bottom=0)
        axes.set_title(title, fontsize=10)
    row[0].set_ylabel("CA outage (h)")
    # one legend beside the panels, where it covers no marker
    figure_legend(figure, row, loc="outside right upper", fontsize=8)
    # the note as a caption under the panels, where it covers no marker
    width = figure.get_figwidth()
    figure.supxlabel(
        textwrap.fill(_outage_note(data, ran), int(width * _NOTE_CHARS)),
        fontsize=8,
    )
    figure.suptitle("Longest CA outage survived without a lapse vs TTL")
    return figure


def _closed_form(
    axes: Axes, span: np.ndarray, grace: float, jitter: float, colour: str
) -> None:
    """The closed form's line and band for one grace ratio and jitter."""
    low = max(grace - jitter, 0.0)
    axes.plot(
        span / HOUR,
        low * span / HOUR,
        color=colour,
        label=f"every agent survives: (g - jitter)·T, g = {grace:g}",
    )
    axes.fill_between(
        span / HOUR,
        low * span / HOUR,
        (grace + jitter) * span / HOUR,
        color=colour,
        alpha=0.15,
        label=f"some agents survive (jitter ±{jitter:g})",
    )


def _lapse_markers(axes: Axes, ran: pd.DataFrame, right: float) -> None:
    """Per (TTL, outage) of ``ran``, whether no run, some or every run
    had a lapse; a marker's count is written on the side of it away
    from ``right``, the axis's end, when it is near it."""
    if ran.empty:
        return
    lapsed = ran["credentials.lapses"].astype(float) > 0
    grouped = lapsed.groupby([ran[TTL], ran[OUTAGE]]).agg(["sum", "count"])
    for key, row in grouped.iterrows():
        ttl, outage = cast(tuple[float, float], key)
        share = row["sum"] / row["count"]
        style = (
            ("o", "#2ca02c", "no lapse in any run")
            if share == 0
            else ("X", "#d62728", "a lapse in every run")
            if share == 1
            else ("D", "#ff7f0e", "lapses in some runs")
        )
        axes.plot(
            ttl / HOUR,
            outage / HOUR,
            style[0],
            color=style[1],
            markersize=9,
            label=style[2],
        )
        near_end = ttl / HOUR > 0.7 * right
        axes.annotate(
            f"{int(row['sum'])}/{int(row['count'])} lapsed",
            (ttl / HOUR, outage / HOUR),
            textcoords="offset points",
            xytext=(-6 if near_end else 6, 6),
            horizontalalignment="right" if near_end else "left",
            fontsize=8,
        )


def pareto_figure(data: SweepData) -> Figure:
    """Attack window against CA load, each point with its CIs, and the
    points no other beats on both (the Pareto front), on means.

    Points compared are those of one combination of the varied columns
    besides TTL, agent mode and fan-out (a panel each): a longer outage,
    say, lowers the CA's load without being a better design.
    """
    window_metric = "attack.key_theft_window_mean_s"
    window = data.by_point(window_metric)
    if window["n"].sum() == 0:
        window_metric = "attack.window_mean_s"
        window = data.by_point(window_metric)
    load_metric = data.metric("ca.csr_rate_per_s", steady=True)
    load = data.by_point(load_metric)
    both = window.merge(
        load[["point", "mean", "ci95"]], on="point", suffixes=("", "_load")
    )
    both = both.dropna(subset=["mean", "mean_load"])
    if len(both) < 2:
        raise UnsupportedFigureError("needs two points with an attack window")

    panels = point_groups(data, data.facets(TTL, AGENT, FANOUT))
    figure = Figure(
        figsize=(max(8.0, 1.4 * PANEL_WIDTH * len(panels)), 5.5),
        layout="constrained",
    )
    row = figure.subplots(1, len(panels), squeeze=False, sharey=True)[0]
    for axes, (title, points) in zip(row, panels, strict=True):
        _pareto_panel(axes, data, both[both["point"].isin(points)])
        axes.set_xlabel(
            "CA load: CSRs per hour, mean" + after_warmup(data, load_metric)
        )
        if len(panels) > 1:
            axes.set_title(title, fontsize=10)
    row[0].set_ylabel(
        ("key-theft" if "key_theft" in window_metric else "attack")
        + " window, mean (h)"
    )
    figure.suptitle("Attack window against CA load (labels: TTL)")
    return figure


def _pareto_panel(axes: Axes, data: SweepData, both: pd.DataFrame) -> None:
    """The points of ``both`` (window and load means with their CIs) and
    their Pareto front."""
    x = both["mean_load"].to_numpy() * HOUR
    y = both["mean"].to_numpy() / HOUR
    agents = data.values(AGENT)
    fanouts = data.values(FANOUT)
    rows = (item for _, item in both.iterrows())
    for item, xi, yi in zip(rows, x, y, strict=True):
        agent, fanout = item[AGENT], item[FANOUT]
        ci = _nan0(item["ci95"]) / HOUR
        ci_load = _nan0(item["ci95_load"]) * HOUR
        axes.errorbar(
            xi,
            yi,
            # neither a window nor a load is negative: the bars stop at 0
            xerr=[[min(ci_load, xi)], [ci_load]],
            yerr=[[min(ci, yi)], [ci]],
            fmt=MARKERS[fanouts.index(fanout) % len(MARKERS)],
            color=COLOURS[agents.index(agent) % len(COLOURS)],
            capsize=3,
            label=f"{agent}, {fanout:g} workload"
            f"{'' if fanout == 1 else 's'}/node",
        )
        axes.annotate(
            hours_text(float(item[TTL])),
            (xi, yi),
            textcoords="offset points",
            xytext=(5, 4),
            fontsize=8,
        )
    if len(both):
        front = _pareto_front(x, y)
        axes.step(
            x[front],
            y[front],
            where="post",
            color="black",
            linewidth=1,
            linestyle="--",
            label="Pareto front of the means (lower is better on both)",
        )
    dedupe_legend(axes, loc="upper right", fontsize=8)
    axes.set_xscale("log")
    # plain numbers at powers of ten and at 2 and 5 times them: every
    # minor tick labelled ran together (7.08.09.0)
    axes.xaxis.set_major_formatter(FuncFormatter(_plain))
    axes.xaxis.set_minor_formatter(FuncFormatter(_two_or_five))


def _plain(value: float, _: int | None = None) -> str:
    return f"{value:g}"


def _two_or_five(value: float, _: int | None = None) -> str:
    """``value`` if it is 2 or 5 times a power of ten, else nothing."""
    if value <= 0:
        return ""
    leading = value / 10 ** np.floor(np.log10(value))
    return _plain(value) if np.isclose(leading, [2, 5]).any() else ""


FIGURES: Final[tuple[tuple[str, str, Callable[[SweepData], Figure]], ...]] = (
    ("attack_window_vs_ttl", "Attack window vs TTL", attack_window_figure),
    ("ca_load_heatmap", "CA load over TTL x fan-out", ca_load_heatmap),
    ("ca_wait_vs_ttl", "CA p99 wait vs TTL", ca_wait_figure),
    ("ca_wait_vs_workers", "Longest CA wait vs workers", ca_capacity_figure),
    ("blast_radius_vs_fanout", "Blast radius vs fan-out", blast_radius_figure),
    ("outage_vs_ttl", "Longest CA outage survived vs TTL", outage_figure),
    ("pareto", "Attack window against CA load", pareto_figure),
)
"""(file name, title, function) of every figure, in the page's order."""


def _nan0(value: Any) -> float:
    number = float(value)
    return 0.0 if np.isnan(number) else number


def _pareto_front(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices of points no other point beats on both x and y, by x."""
    order = np.lexsort((y, x))
    front = []
    best = np.inf
    for index in order:
        if y[index] < best:
            front.append(index)
            best = y[index]
    return np.array(front, dtype=int)


def _outage_note(data: SweepData, ran: pd.DataFrame) -> str:
    # the closed form's worst case, which a simulated outage that
    # begins earlier in the renewal cycle is not
    worst = (
        "The line and band are the closed form, not a simulated curve, for "
        "an outage that begins as renewals fall due; one that begins "
        "earlier is survived longer."
    )
    if ran.empty:
        return f"No point ran a CA outage: nothing here is simulated. {worst}"
    lengths = sorted(ran[OUTAGE].unique())
    if len(lengths) == 1:
        return (
            f"The sweep ran one outage length ({hours_text(lengths[0])}): "
            f"markers show whether it was survived at each TTL. {worst}"
        )
    return f"Markers: simulated outages. {worst}"
