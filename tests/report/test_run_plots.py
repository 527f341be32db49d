"""A run's plots draw what its tables hold."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd

from meshsim.report.run_plots import (
    attack_window_figure,
    ca_load_figure,
    handshake_figure,
    time_bins,
)

HOUR = 3600.0


def csrs_table(
    submitted: list[float],
    started: list[float],
    finished: list[float] | None = None,
    outcome: list[str] | None = None,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "submitted_s": submitted,
            "started_s": started,
            "finished_s": finished or [s + 1.0 for s in started],
            "outcome": outcome or ["issued"] * len(submitted),
        }
    )


def test_a_burst_of_milliseconds_shows_its_whole_queue_in_its_bin() -> None:
    # 200 CSRs at once, one worker signing one a millisecond: 199 wait
    # for 0.2 s at most, then one renewal alone at 12h, taken at once
    submitted = [0.0] * 200 + [12 * HOUR]
    started = [i * 0.001 for i in range(200)] + [12 * HOUR]

    figure = ca_load_figure(csrs_table(submitted, started), 24 * HOUR)

    queue = figure.axes[1].lines[0].get_ydata()
    assert queue[0] == 199
    assert np.all(np.asarray(queue[1:]) == 0)


def test_a_queue_across_a_bin_edge_shows_in_both_bins() -> None:
    # two CSRs wait from 10 min to 70 min, across several bins
    submitted = [600.0, 600.0]
    started = [4200.0, 4200.0]

    figure = ca_load_figure(csrs_table(submitted, started), 24 * HOUR)

    queue = np.asarray(figure.axes[1].lines[0].get_ydata())
    edges = time_bins(24 * HOUR)
    waiting = [
        2 if start < 4200.0 and end > 600.0 else 0
        for start, end in pairwise(edges)
    ]
    assert sum(waiting) > 4
    assert list(queue[:-1]) == waiting


def test_csrs_never_taken_up_wait_until_dropped_or_the_end() -> None:
    # at 1h three CSRs arrive and none is taken up: one is dropped with
    # its pod at 2h, two are still queued when the 24h run ends
    nan = float("nan")
    table = csrs_table(
        [HOUR] * 3,
        [nan] * 3,
        [2 * HOUR, nan, nan],
        ["cancelled", "unanswered", "unanswered"],
    )

    figure = ca_load_figure(table, 24 * HOUR)

    queue = np.asarray(figure.axes[1].lines[0].get_ydata())[:-1]
    edges = time_bins(24 * HOUR)
    waiting = [
        0 if end <= HOUR else 3 if start < 2 * HOUR else 2
        for start, end in pairwise(edges)
    ]
    assert list(queue) == waiting


def test_failed_connections_panel_shows_no_negative_rate() -> None:
    # 3600 expired connections over the first hour of a 2h run
    handshakes = pd.DataFrame(
        {
            "outcome": ["ok", "expired"],
            "start_s": [0.0, 0.0],
            "end_s": [7200.0, 3600.0],
            "count": [7200, 3600],
        }
    )

    failed = handshake_figure(handshakes, 7200.0).axes[1]

    assert failed.get_yscale() == "symlog"
    assert failed.get_ylim()[0] == 0


def test_attack_windows_are_listed_with_numbers_in_reading_order() -> None:
    identities = ["sa-10", "sa-2", "sa-1"]
    windows = pd.DataFrame(
        {
            "kind": ["key-theft"] * 3,
            "attack": [0, 0, 0],
            "identity": [
                f"spiffe://mesh.local/ns/a/sa/{i}" for i in identities
            ],
            "start_s": [0.0] * 3,
            "end_s": [3600.0] * 3,
            "intercepted": [0] * 3,
        }
    )

    axes = attack_window_figure(windows, 7200.0).axes[0]

    labels = [tick.get_text() for tick in axes.get_yticklabels()]
    assert [label.rsplit("/", 1)[-1] for label in labels] == [
        "sa-1",
        "sa-2",
        "sa-10",
    ]
