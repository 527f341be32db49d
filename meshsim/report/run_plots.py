"""The three figures of one run: CA load, attack windows, handshakes.

Figures are built on :class:`matplotlib.figure.Figure` directly, so no
global pyplot state or backend choice leaks out of meshsim.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from meshsim.mesh.handshake import OUTCOMES
from meshsim.metrics.tables import received_csrs

__all__ = [
    "attack_window_figure",
    "ca_load_figure",
    "handshake_figure",
    "time_bins",
]

_HOUR = 3600.0
_BINS = 240
_CHUNK = 4096

_OUTCOME_COLOURS = {
    "ok": "#4c9a2a",
    "expired": "#d62728",
    "not-yet-valid": "#ff7f0e",
    "unknown-authority": "#9467bd",
    "wrong-identity": "#8c564b",
    "plaintext-accepted": "#e377c2",
    "plaintext-refused": "#7f7f7f",
    "no-certificate": "#17becf",
    "invalid-svid": "#bcbd22",
}


def time_bins(duration_s: float, bins: int = _BINS) -> np.ndarray:
    """Bin edges over the run, each a whole number of seconds wide."""
    width = max(1.0, np.ceil(duration_s / bins))
    return np.arange(0.0, duration_s + width, width)


def _queue_peaks(csrs: pd.DataFrame, edges: np.ndarray) -> np.ndarray:
    """The longest the CA's queue was within each bin between ``edges``.

    A CSR waits from its arrival until a worker takes it up, or until it
    is dropped with its pod, or to the end of the run.
    """
    received = received_csrs(csrs)
    started = received["started_s"].to_numpy(dtype=float)
    left = np.where(
        np.isnan(started), received["finished_s"].to_numpy(float), started
    )
    left = left[~np.isnan(left)]
    steps = np.concatenate([received["submitted_s"].to_numpy(float), left])
    change = np.concatenate([np.ones(len(received)), -np.ones(len(left))])
    # a CSR taken up as another arrives has left first: one taken the
    # moment it arrives never waited
    order = np.lexsort((change, steps))
    times, queue = steps[order], np.cumsum(change[order])
    bins = len(edges) - 1
    peaks = np.zeros(bins)
    # the queue as each bin begins (once what happens at that instant has
    # happened), carried over from the bin before
    before = np.searchsorted(times, edges[:-1], side="right") - 1
    carried = before >= 0
    peaks[carried] = queue[before[carried]]
    # and as it changes within the bin
    inside = np.clip(
        np.searchsorted(edges, times, side="right") - 1, 0, bins - 1
    )
    np.maximum.at(peaks, inside, queue)
    return peaks


def ca_load_figure(
    csrs: pd.DataFrame,
    duration_s: float,
    outages: Sequence[tuple[float, float]] = (),
) -> Figure:
    """CSRs per hour received by the CA, and its queue length, over time."""
    figure = Figure(figsize=(10, 6), layout="constrained")
    rate_axes, queue_axes = figure.subplots(2, 1, sharex=True)
    edges = time_bins(duration_s)
    width_h = (edges[1] - edges[0]) / _HOUR

    # Arrival rate of CSRs that reached the CA, and of failed attempts.
    bin_label = _duration_text(edges[1] - edges[0])
    for outcome, colour, label in (
        (None, "#1f77b4", "CSRs received"),
        ("unreachable", "#d62728", "attempts while unreachable"),
    ):
        if outcome is None:
            times = received_csrs(csrs)["submitted_s"]
        else:
            times = csrs.loc[csrs["outcome"] == outcome, "submitted_s"]
        counts, _ = np.histogram(times, bins=edges)
        if outcome is None or counts.any():
            rate_axes.step(
                edges[:-1] / _HOUR,
                counts / width_h,
                where="post",
                color=colour,
                label=label,
            )
    rate_axes.set_yscale("symlog", linthresh=10)
    rate_axes.set_ylabel("per hour (log above 10)")
    rate_axes.set_title(f"CA load (bins of {bin_label})")

    # Queue length: the most CSRs submitted but not yet taken by a
    # worker at any moment of each bin, so that a burst of milliseconds
    # shows as wide as its bin.
    queue_axes.step(
        edges / _HOUR,
        np.append(_queue_peaks(csrs, edges), 0.0),
        where="post",
        color="#1f77b4",
    )
    queue_axes.set_yscale("symlog", linthresh=1)
    queue_axes.set_ylabel("most CSRs waiting (log above 1)")
    queue_axes.set_xlabel("simulated time (h)")

    for axes in (rate_axes, queue_axes):
        for number, (start, end) in enumerate(outages):
            axes.axvspan(
                start / _HOUR,
                end / _HOUR,
                color="#d62728",
                alpha=0.1,
                label="CA outage" if number == 0 else None,
            )
        axes.set_xlim(0, duration_s / _HOUR)
        axes.grid(alpha=0.3)
    rate_axes.legend(loc="upper right")
    return figure


def _duration_text(seconds: float) -> str:
    if seconds >= _HOUR and seconds % _HOUR == 0:
        return f"{seconds / _HOUR:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def attack_window_figure(windows: pd.DataFrame, duration_s: float) -> Figure:
    """One bar per compromised identity, from compromise to payoff's end."""
    rows = max(1, len(windows))
    figure = Figure(figsize=(10, 1.5 + 0.35 * rows), layout="constrained")
    axes = figure.subplots()
    colours = {"key-theft": "#d62728", "mitm": "#1f77b4"}
    # by attack, then identity as a person reads it (sa-2 before sa-10)
    records = sorted(
        windows.to_dict("records"),
        key=lambda w: (w["attack"], _in_reading_order(_short(w["identity"]))),
    )
    for y, window in enumerate(records):
        start = float(window["start_s"]) / _HOUR
        end = float(window["end_s"]) / _HOUR
        axes.barh(
            y,
            end - start,
            left=start,
            color=colours.get(str(window["kind"]), "#7f7f7f"),
            height=0.6,
        )
        axes.text(
            end, y, f" {window['intercepted']} read", va="center", fontsize=8
        )
    axes.set_yticks(
        range(len(records)),
        [f"{w['kind']}: {_short(w['identity'])}" for w in records],
        fontsize=8,
    )
    axes.axvline(duration_s / _HOUR, color="black", lw=0.8, ls="--")
    latest = max([duration_s, *(float(w["end_s"]) for w in records)])
    axes.set_xlim(0, latest / _HOUR * 1.08)
    axes.set_xlabel("simulated time (h); dashed line: end of run")
    axes.set_title("Attack windows (bar: how long the compromise pays off)")
    if windows.empty:
        axes.text(
            0.5, 0.5, "no compromise", ha="center", transform=axes.transAxes
        )
    axes.invert_yaxis()
    axes.grid(axis="x", alpha=0.3)
    return figure


def handshake_figure(handshakes: pd.DataFrame, duration_s: float) -> Figure:
    """Connections per second by outcome over time: all of them stacked,
    and below, on a log scale, each outcome other than ``ok`` (failures
    are often too rare to see beside the successes)."""
    figure = Figure(figsize=(10, 6.5), layout="constrained")
    all_axes, failed_axes = figure.subplots(2, 1, sharex=True)
    edges = time_bins(duration_s)
    width = edges[1] - edges[0]
    hours = edges[:-1] / _HOUR
    stacks = []
    labels = []
    for outcome in OUTCOMES:
        rows = handshakes[handshakes["outcome"] == outcome]
        if rows.empty:
            continue
        rate = _spread(rows, edges) / width
        stacks.append(rate)
        labels.append(outcome)
        if outcome != "ok":
            failed_axes.step(
                hours,
                rate,
                where="post",
                color=_OUTCOME_COLOURS[outcome],
                label=outcome,
            )
    if stacks:
        all_axes.stackplot(
            hours,
            np.vstack(stacks),
            labels=labels,
            colors=[_OUTCOME_COLOURS[o] for o in labels],
            step="post",
        )
        all_axes.legend(loc="lower left", fontsize=8)
    if len(labels) > labels.count("ok"):
        failed_axes.set_yscale("symlog", linthresh=0.01)
        failed_axes.set_ylim(bottom=0)  # symlog would show negative rates
        failed_axes.legend(loc="upper right", fontsize=8)
    else:
        failed_axes.text(
            0.5,
            0.5,
            "no connection failed",
            ha="center",
            transform=failed_axes.transAxes,
        )
    all_axes.set_title(f"Handshake outcomes (bins of {_duration_text(width)})")
    all_axes.set_ylabel("connections per second")
    failed_axes.set_ylabel("failed per second (log)")
    failed_axes.set_xlabel("simulated time (h)")
    for axes in (all_axes, failed_axes):
        axes.set_xlim(0, duration_s / _HOUR)
        axes.grid(alpha=0.3)
    return figure


def _spread(rows: pd.DataFrame, edges: np.ndarray) -> np.ndarray:
    """Each span's count shared over the bins it covers, by overlap."""
    total = np.zeros(len(edges) - 1)
    left = edges[:-1][None, :]
    right = edges[1:][None, :]
    for first in range(0, len(rows), _CHUNK):
        chunk = rows.iloc[first : first + _CHUNK]
        start = chunk["start_s"].to_numpy()[:, None]
        end = chunk["end_s"].to_numpy()[:, None]
        count = chunk["count"].to_numpy()[:, None]
        overlap = np.minimum(end, right) - np.maximum(start, left)
        span = np.maximum(end - start, 1e-9)
        total += (count * np.clip(overlap, 0, None) / span).sum(axis=0)
    return total


def _in_reading_order(text: str) -> list[tuple[int, str]]:
    """A sort key of ``text`` that orders its numbers by value."""
    parts = re.split(r"(\d+)", text)
    return [(int(p), "") if p.isdigit() else (-1, p) for p in parts]


def _short(identity: object) -> str:
    text = str(identity)
    return text.split("/", 3)[-1] if text.startswith("spiffe://") else text
