"""The sweep figures plot the numbers of the tables they are given: drawn
from small tables made by hand, in the units their axes name."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from meshsim.report.sweep_data import (
    AGENT,
    FANOUT,
    OUTAGE,
    TTL,
    SweepData,
    facet_label,
    hours_text,
)
from meshsim.report.sweep_figures import (
    attack_window_figure,
    blast_radius_figure,
    ca_load_heatmap,
    ca_wait_figure,
    outage_figure,
    pareto_figure,
)
from meshsim.report.sweep_tables import check_points, check_runs

HOUR = 3600.0
WINDOW = "attack.key_theft_window_mean_s"

# what every hand-made point is, unless it says otherwise
BASE: dict[str, Any] = {
    TTL: 24 * HOUR,
    AGENT: "per-workload",
    FANOUT: 1.0,
    OUTAGE: 0.0,
    "scenario.ca_workers": 1,
    "scenario.duration_s": 48 * HOUR,
    "scenario.grace_ratio": 0.5,
    "scenario.jitter": 0.05,
    "scenario.key_thefts": 1,
}


def _sweep(
    design: dict[str, dict[str, Any]],
    metrics: dict[str, list[tuple[float, float]]],
    *,
    n: int = 2,
    lapses: dict[str, list[float]] | None = None,
    warmup_s: float = 0.0,
) -> SweepData:
    """A finished sweep of the points of ``design`` (id: its columns
    besides ``BASE``), each with ``n`` runs.

    ``metrics``: name: (mean, ci95) of each point, in ``design``'s order.
    ``lapses``: id: the lapses of each of its runs (none by default).
    """
    rows = [
        {
            "point": point,
            "metric": metric,
            "n": n,
            "failed": 0,
            "mean": mean,
            "std": np.nan,  # no figure reads it
            "ci95": ci95,
            **BASE,
            **columns,
        }
        for metric, values in metrics.items()
        for (point, columns), (mean, ci95) in zip(
            design.items(), values, strict=True
        )
    ]
    runs = [
        {
            "point": point,
            "replication": replication,
            "seed": replication,
            "status": "ok",
            "error": None,
            TTL: columns.get(TTL, BASE[TTL]),
            OUTAGE: columns.get(OUTAGE, BASE[OUTAGE]),
            "credentials.lapses": lapsed,
        }
        for point, columns in design.items()
        for replication, lapsed in enumerate(
            (lapses or {}).get(point, [0.0] * n)
        )
    ]
    points, run_table = pd.DataFrame(rows), pd.DataFrame(runs)
    # what a finished sweep writes, as the report reads it
    check_points(points)
    check_runs(run_table, list(design), n)
    manifest = {
        "parameters": [],
        "warmup_s": warmup_s,
        "points": [{"id": point, "settings": {}} for point in design],
    }
    return SweepData(runs=run_table, points=points, manifest=manifest)


def _by_ttl(*hours: float) -> dict[str, dict[str, Any]]:
    """Points p0, p1, ... of these TTLs (h), alike besides."""
    return {f"p{i}": {TTL: h * HOUR} for i, h in enumerate(hours)}


def _line(figure: Figure) -> tuple[list[float], list[float]]:
    """x and y of the first panel's first (solid) line."""
    line = figure.axes[0].get_lines()[0]
    xs = np.asarray(line.get_xdata(), dtype=float)
    ys = np.asarray(line.get_ydata(), dtype=float)
    return xs.tolist(), ys.tolist()


def _band(axes: Axes) -> dict[float, tuple[float, float]]:
    """x: (low, high) of the first fill_between band of ``axes``."""
    vertices = axes.collections[0].get_paths()[0].vertices
    band: dict[float, tuple[float, float]] = {}
    for x, y in vertices:
        low, high = band.get(round(float(x), 9), (np.inf, -np.inf))
        band[round(float(x), 9)] = (min(low, float(y)), max(high, float(y)))
    return band


def _title(figure: Figure) -> str:
    return " ".join(figure.get_suptitle().split())


def test_attack_window_is_plotted_against_ttl_in_hours() -> None:
    # TTLs of 7200 s and 28800 s are 2 h and 8 h on "workload TTL (h)"
    data = _sweep(_by_ttl(2, 8), {WINDOW: [(HOUR, 0.0), (2 * HOUR, 0.0)]})

    xs, _ = _line(attack_window_figure(data))

    assert xs == pytest.approx([2.0, 8.0])


def test_attack_window_is_plotted_in_hours() -> None:
    # windows of 3600 s and 7200 s are 1 h and 2 h on "..., mean (h)"
    data = _sweep(_by_ttl(2, 8), {WINDOW: [(HOUR, 0.0), (2 * HOUR, 0.0)]})

    _, ys = _line(attack_window_figure(data))

    assert ys == pytest.approx([1.0, 2.0])


def test_confidence_band_is_in_the_units_of_its_line() -> None:
    # a CI of 360 s is 0.1 h either side of 1 h and 2 h
    data = _sweep(_by_ttl(2, 8), {WINDOW: [(HOUR, 360.0), (2 * HOUR, 360.0)]})

    band = _band(attack_window_figure(data).axes[0])

    assert band[2.0] == pytest.approx((0.9, 1.1))
    assert band[8.0] == pytest.approx((1.9, 2.1))


def test_confidence_band_stops_at_zero() -> None:
    # 1800 s ± 3600 s is 0.5 h ± 1 h: a window is never negative, so the
    # band runs from 0 (not -0.5 h) to 1.5 h
    data = _sweep(
        _by_ttl(2, 8), {WINDOW: [(HOUR / 2, HOUR), (2 * HOUR, 360.0)]}
    )

    band = _band(attack_window_figure(data).axes[0])

    assert band[2.0] == pytest.approx((0.0, 1.5))


def test_one_run_a_point_is_titled_without_a_confidence_interval() -> None:
    # one replication: Student t has no interval to give (ci95 empty)
    data = _sweep(
        _by_ttl(2, 8),
        {WINDOW: [(HOUR, np.nan), (2 * HOUR, np.nan)]},
        n=1,
    )

    title = _title(attack_window_figure(data))

    assert "(one run a point: no confidence interval)" in title
    assert "bands: 95% CI" not in title


def test_replicated_points_are_titled_with_their_confidence_interval() -> None:
    data = _sweep(_by_ttl(2, 8), {WINDOW: [(HOUR, 60.0), (2 * HOUR, 60.0)]})

    assert "(bands: 95% CI)" in _title(attack_window_figure(data))


def test_ca_wait_is_plotted_in_milliseconds() -> None:
    # "CA queue wait, p99 (ms)": 0.25 s is 250 ms, 0.5 s is 500 ms
    data = _sweep(_by_ttl(2, 8), {"ca.wait_p99_s": [(0.25, 0.0), (0.5, 0.0)]})

    _, ys = _line(ca_wait_figure(data))

    assert ys == pytest.approx([250.0, 500.0])


def test_ca_wait_figure_draws_the_p99_not_the_median() -> None:
    data = _sweep(
        _by_ttl(2, 8),
        {
            "ca.wait_p50_s": [(0.05, 0.0), (0.1, 0.0)],
            "ca.wait_p99_s": [(0.25, 0.0), (0.5, 0.0)],
        },
    )

    _, ys = _line(ca_wait_figure(data))

    assert ys == pytest.approx([250.0, 500.0])


def test_ca_wait_whole_run_line_is_in_milliseconds_too() -> None:
    # after a 1 h warmup the steady p99 is 20 ms and 40 ms; the dashed
    # whole-run p99, 0.25 s and 0.5 s, is 250 ms and 500 ms
    data = _sweep(
        _by_ttl(2, 8),
        {
            "ca.wait_p99_s": [(0.25, 0.0), (0.5, 0.0)],
            "steady.ca.wait_p99_s": [(0.02, 0.0), (0.04, 0.0)],
        },
        warmup_s=HOUR,
    )

    figure = ca_wait_figure(data)

    steady, whole = figure.axes[0].get_lines()
    assert whole.get_linestyle() == "--"
    assert list(steady.get_ydata()) == pytest.approx([20.0, 40.0])
    assert list(whole.get_ydata()) == pytest.approx([250.0, 500.0])
    assert "after a 1h warmup" in _title(figure)


def _heatmap_cells(figure: Figure, unit: str) -> dict[tuple[int, int], str]:
    """(TTL index, fan-out index): the text of each cell of the row of
    heatmaps in ``unit``."""
    (axes,) = [a for a in figure.axes if a.get_title().endswith(f"({unit})")]
    return {
        (round(t.get_position()[0]), round(t.get_position()[1])): t.get_text()
        for t in axes.texts
    }


def test_heatmap_shows_the_mean_csr_rate_per_hour() -> None:
    # 0.01 CSR/s is 36 CSRs/h; a point of 4 workloads a node and a TTL
    # a quarter as long, 16 times as many: 576
    design = {
        f"p{i}": {TTL: ttl * HOUR, FANOUT: fanout}
        for i, (ttl, fanout) in enumerate(
            [(2.0, 1.0), (8.0, 1.0), (2.0, 4.0), (8.0, 4.0)]
        )
    }
    data = _sweep(
        design,
        {
            "ca.csr_peak_per_min": [(12.0, 0), (3.0, 0), (48.0, 0), (12.0, 0)],
            "ca.csr_rate_per_s": [
                (0.04, 0.0),
                (0.01, 0.0),
                (0.16, 0.0),
                (0.04, 0.0),
            ],
        },
    )

    figure = ca_load_heatmap(data)

    assert _heatmap_cells(figure, "CSRs/h") == {
        (0, 0): "144",
        (1, 0): "36",
        (0, 1): "576",
        (1, 1): "144",
    }
    assert _heatmap_cells(figure, "CSRs/min") == {
        (0, 0): "12",
        (1, 0): "3",
        (0, 1): "48",
        (1, 1): "12",
    }


def _outage_sweep() -> SweepData:
    # a 5 h CA outage at TTLs of 8 h and 24 h: (g - jitter)·T is 3.6 h
    # at 8 h, which both runs lapse past, and 10.8 h at 24 h, which
    # neither does
    design = {
        "p0": {TTL: 8 * HOUR, OUTAGE: 5 * HOUR},
        "p1": {TTL: 24 * HOUR, OUTAGE: 5 * HOUR},
    }
    return _sweep(
        design,
        {"credentials.lapses": [(2.0, 1.0), (0.0, 0.0)]},
        lapses={"p0": [3.0, 1.0], "p1": [0.0, 0.0]},
    )


def test_outage_band_reaches_grace_plus_jitter_of_the_ttl() -> None:
    # g = 0.5, jitter 0.05: some agents survive up to (g + jitter)·T,
    # 0.55 · 24 h = 13.2 h at T = 24 h, from (g - jitter)·T = 10.8 h
    axes = outage_figure(_outage_sweep()).axes[0]

    band = _band(axes)
    xs = sorted(band)
    low = np.interp(24.0, xs, [band[x][0] for x in xs])
    high = np.interp(24.0, xs, [band[x][1] for x in xs])

    assert (low, high) == pytest.approx((10.8, 13.2))


def test_outage_markers_count_the_runs_that_lapsed() -> None:
    axes = outage_figure(_outage_sweep()).axes[0]

    counts = {
        tuple(np.round(t.xy, 6)): t.get_text()
        for t in axes.texts
        if t.get_text().endswith("lapsed")
    }

    assert counts == {(8.0, 5.0): "2/2 lapsed", (24.0, 5.0): "0/2 lapsed"}


def test_outage_legend_stands_beside_the_panels_and_counts_clear_the_edge() -> (
    None
):
    # one legend for the figure, none inside a panel over a marker; the
    # count of the marker at 24 h, past 0.7 of the axis (25.2 h), is
    # written to its left, where the axis does not cut it
    figure = outage_figure(_outage_sweep())
    axes = figure.axes[0]

    sides = {
        t.xy[0]: t.get_horizontalalignment()
        for t in axes.texts
        if t.get_text().endswith("lapsed")
    }

    assert axes.get_legend() is None and len(figure.legends) == 1
    assert sides == {8.0: "left", 24.0: "right"}


def test_outage_marks_some_runs_lapsed_apart_and_offsets_counts() -> None:
    # 1 of 4 runs lapsed: the "some runs" marker (docs/experiments.md);
    # the count near the axis's end is set 6 points to the marker's left
    design = {
        "p0": {TTL: 8 * HOUR, OUTAGE: 5 * HOUR},
        "p1": {TTL: 24 * HOUR, OUTAGE: 5 * HOUR},
    }
    data = _sweep(
        design,
        {"credentials.lapses": [(0.5, 1.0), (0.0, 0.0)]},
        n=4,
        lapses={"p0": [2.0, 0.0, 0.0, 0.0], "p1": [0.0] * 4},
    )
    axes = outage_figure(data).axes[0]

    markers = {
        line.get_label(): (line.get_marker(), line.get_color())
        for line in axes.lines
        if line.get_label().startswith(("no lapse", "lapses", "a lapse"))
    }
    offsets = {
        t.xy[0]: t.xyann for t in axes.texts if t.get_text().endswith("lapsed")
    }

    assert markers == {
        "lapses in some runs": ("D", "#ff7f0e"),
        "no lapse in any run": ("o", "#2ca02c"),
    }
    assert offsets == {8.0: (6, 6), 24.0: (-6, 6)}


def test_outage_legend_holds_every_panels_labels_outside_them() -> None:
    # two agent modes, a panel each; the one legend takes both panels'
    # labels once, and covers neither panel once drawn
    design = {
        f"p{i}": {TTL: ttl * HOUR, OUTAGE: 5 * HOUR, AGENT: agent}
        for i, (ttl, agent) in enumerate(
            (ttl, agent)
            for agent in ("per-workload", "per-node")
            for ttl in (8, 24)
        )
    }
    data = _sweep(
        design,
        {"credentials.lapses": [(2.0, 1.0), (0.0, 0.0)] * 2},
        # 8 h lapses in both runs per workload, in one per node; 24 h
        # in neither: each panel has a marker the other lacks
        lapses={
            "p0": [3.0, 1.0],
            "p1": [0.0, 0.0],
            "p2": [2.0, 0.0],
            "p3": [0.0, 0.0],
        },
    )
    figure = outage_figure(data)
    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.draw(renderer)
    (legend,) = figure.legends
    labels = [text.get_text() for text in legend.get_texts()]
    box = legend.get_window_extent(renderer)

    assert len(figure.axes) == 2
    assert {
        "a lapse in every run",
        "lapses in some runs",
        "no lapse in any run",
    } <= set(labels)
    assert len(labels) == len(set(labels))
    for axes in figure.axes:
        assert not box.overlaps(axes.get_window_extent(renderer))


def test_pareto_load_axis_labels_powers_of_ten_and_two_and_five_times() -> None:
    axes = _pareto_axes([0.01, 0.0025], [HOUR, 2 * HOUR])
    major = axes.xaxis.get_major_formatter()
    minor = axes.xaxis.get_minor_formatter()

    assert [major(v) for v in (0.01, 0.1, 1.0, 10.0, 100.0)] == [
        "0.01",
        "0.1",
        "1",
        "10",
        "100",
    ]
    assert [minor(v) for v in (0.005, 0.02, 0.03)] == ["0.005", "0.02", ""]
    assert [minor(v) for v in (2.0, 3.0, 5.0, 7.0, 20.0, 90.0)] == [
        "2",
        "",
        "5",
        "",
        "20",
        "",
    ]


def _pareto_axes(loads: list[float], windows: list[float]) -> Axes:
    """The Pareto panel of points of TTL 2 h, 8 h, ... with these CSR
    rates (per s) and attack windows (s)."""
    data = _sweep(
        _by_ttl(*[2.0 * 4**i for i in range(len(loads))]),
        {
            WINDOW: [(w, 0.0) for w in windows],
            "ca.csr_rate_per_s": [(rate, 0.0) for rate in loads],
            # a peak that is no rate per hour: 3 a minute
            "ca.csr_peak_per_min": [(3.0, 0.0)] * len(loads),
        },
    )
    return pareto_figure(data).axes[0]


def test_pareto_load_is_the_mean_csr_rate_per_hour() -> None:
    # 0.01 CSR/s is 36 CSRs/h, 0.0025 CSR/s 9; windows of 1 h and 2 h
    axes = _pareto_axes([0.01, 0.0025], [HOUR, 2 * HOUR])

    placed = {t.get_text(): tuple(t.xy) for t in axes.texts}

    assert placed["2h"] == pytest.approx((36.0, 1.0))
    assert placed["8h"] == pytest.approx((9.0, 2.0))


def test_pareto_front_is_the_points_no_other_beats_on_both() -> None:
    # loads 36, 72, 108 CSRs/h with windows 3, 1, 2 h: the third is
    # beaten on both by the second, the first by none (it loads least)
    axes = _pareto_axes([0.01, 0.02, 0.03], [3 * HOUR, HOUR, 2 * HOUR])

    (front,) = [
        line
        for line in axes.get_lines()
        if line.get_label().startswith("Pareto front")
    ]

    assert list(front.get_xdata()) == pytest.approx([36.0, 72.0])
    assert list(front.get_ydata()) == pytest.approx([3.0, 1.0])


def test_pareto_load_bar_stops_at_zero() -> None:
    # a load of 0.01 CSR/s (36 CSRs/h) with a 95% CI of +-0.03 (108): the
    # bar runs from 0, not -72, to 144 CSRs/h; one of 0.02 (72) with
    # +-0.01 (36) from 36 to 108
    data = _sweep(
        _by_ttl(2.0, 8.0),
        {
            WINDOW: [(HOUR, 0.0), (2 * HOUR, 0.0)],
            "ca.csr_rate_per_s": [(0.01, 0.03), (0.02, 0.01)],
            "ca.csr_peak_per_min": [(3.0, 0.0)] * 2,
        },
    )
    axes = pareto_figure(data).axes[0]

    ends = sorted(
        end
        for collection in axes.collections
        for segment in collection.get_segments()
        # horizontal: a load's (a window's, of no CI, is a point)
        if segment[0][1] == segment[1][1] and segment[0][0] != segment[1][0]
        for end in (segment[0][0], segment[1][0])
    )

    assert ends == pytest.approx([0.0, 36.0, 108.0, 144.0])


def test_blast_radius_is_identities_per_key_theft() -> None:
    # a per-node agent holds its node's identities: one theft of it
    # exposes 1 at fan-out 1 and 4 at fan-out 4, though two thefts
    # exposed twice as many (identities_exposed counts every theft's)
    design = {
        f"p{i}": {FANOUT: fanout, AGENT: "per-node", "scenario.key_thefts": 2}
        for i, fanout in enumerate([1.0, 4.0])
    }
    data = _sweep(
        design,
        {
            "attack.identities_exposed": [(2.0, 0.0), (8.0, 0.0)],
            "attack.identities_per_key_theft": [(1.0, 0.0), (4.0, 0.0)],
        },
    )

    xs, ys = _line(blast_radius_figure(data))

    assert xs == pytest.approx([1.0, 4.0])
    assert ys == pytest.approx([1.0, 4.0])


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(1800.0, "30m"), (3600.0, "1h"), (5400.0, "1.5h"), (28800.0, "8h")],
)
def test_durations_of_an_hour_or_more_are_told_in_hours(
    seconds: float, text: str
) -> None:
    assert hours_text(seconds) == text


@pytest.mark.parametrize(
    ("column", "value", "label"),
    [
        (TTL, 28800.0, "TTL 8h"),
        (OUTAGE, 18000.0, "outage 5h"),
        (FANOUT, 20.0, "workloads/node 20"),
    ],
)
def test_facets_of_a_duration_are_labelled_in_hours(
    column: str, value: float, label: str
) -> None:
    assert facet_label(column, value) == label
