"""The sweep report: every figure the sweep supports, labelled with
units, a visible note for each it cannot, and one HTML page."""

from __future__ import annotations

import errno
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

from meshsim.cli import main
from meshsim.experiment import SerialExecutor, load_sweep, run_sweep
from meshsim.experiment.store import SWEEP_LAYOUT
from meshsim.files import made_by_meshsim
from meshsim.layout import foreign_entries
from meshsim.report import sweep_page
from meshsim.report.sweep_data import (
    FANOUT,
    OUTAGE,
    TTL,
    SweepData,
    UnsupportedFigureError,
    read_sweep,
)
from meshsim.report.sweep_figures import (
    FIGURES,
    attack_window_figure,
    blast_radius_figure,
    ca_capacity_figure,
    ca_load_heatmap,
    ca_wait_figure,
    outage_figure,
    pareto_figure,
)
from meshsim.report.sweep_manifest import check_manifest
from meshsim.report.sweep_page import write_report

SWEEPS = Path(__file__).resolve().parents[2] / "scenarios" / "sweeps"

OUTAGES = """
scenario: base.yaml
replications: 2
grid:
  mesh.agent: [per-workload, per-node]
  ca.outages: [[], [{start: 8h, duration: 4h}]]
set:
  mesh.workloads: 24
  duration: 24h
  traffic.rate: 0.005
  attacks[0].start: 6h
  attacks[1].start: 6h
  attacks[1].duration: 12h
"""

AGENTS_ONLY = """
scenario: base.yaml
replications: 1
grid:
  mesh.agent: [per-workload, per-node]
set:
  mesh.workloads: 24
  traffic.rate: 0.005
  ca.outages: []
"""


def _ran(tmp_path: Path, name: str, text: str) -> Path:
    """The folder of the sweep file ``text`` (on the shipped sweeps'
    base scenario) run as ``name`` in ``tmp_path``."""
    (tmp_path / "base.yaml").write_text((SWEEPS / "base.yaml").read_text())
    (tmp_path / f"{name}.yaml").write_text(text)
    out = tmp_path / name
    run_sweep(load_sweep(tmp_path / f"{name}.yaml"), out, SerialExecutor())
    return out


def test_report_draws_every_figure_of_the_shipped_sweep(
    shipped_sweep: Path,
) -> None:
    result = CliRunner().invoke(main, ["report", str(shipped_sweep)])

    assert result.exit_code == 0, result.output
    # every figure but the CA's workers, which the shipped sweep keeps
    drawn = [name for name, _, _ in FIGURES if name != "ca_wait_vs_workers"]
    for name in drawn:
        figure = shipped_sweep / "figures" / f"{name}.png"
        assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    page = (shipped_sweep / "report.html").read_text()
    assert page.count("<img ") == len(drawn)
    assert '<img src="figures/pareto.png"' in page
    assert (
        "<li><b>Longest CA wait vs workers</b>: needs CA workers to vary; "
        "every point has CA workers 1" in page
    )
    assert "<h2>Points</h2>" in page and "p011" in page


def test_figures_label_their_axes_with_units(shipped_sweep: Path) -> None:
    data = read_sweep(shipped_sweep)

    window = attack_window_figure(data).axes[0]
    assert window.get_xlabel() == "workload TTL (h)"
    assert window.get_ylabel() == "key-theft window, mean (h)"
    assert {t.get_text() for t in window.get_legend().get_texts()} == {
        "per-node",
        "per-workload",
    }
    blast = blast_radius_figure(data).axes[0]
    assert blast.get_xlabel() == "fan-out (workloads per node)"
    heat = ca_load_heatmap(data)
    assert "CSRs/min" in heat.axes[0].get_title()
    pareto = pareto_figure(data).axes[0]
    assert pareto.get_xlabel().startswith("CA load: CSRs per hour")
    assert pareto.get_ylabel() == "key-theft window, mean (h)"


def test_outage_figure_says_it_is_closed_form_beside_one_outage(
    shipped_sweep: Path,
) -> None:
    figure = outage_figure(read_sweep(shipped_sweep))

    # a caption under the panels, not a box over their markers
    caption = " ".join(figure.get_supxlabel().split())
    assert "one outage length (5h)" in caption
    assert "not a simulated curve, for an outage that begins as" in caption
    assert "one that begins earlier is survived longer" in caption
    inside = [t.get_text() for axes in figure.axes for t in axes.texts]
    assert not [text for text in inside if "closed form" in text]
    assert figure.axes[0].get_ylabel() == "CA outage (h)"


def test_outage_figure_keeps_each_combination_of_points_apart(
    shipped_sweep: Path,
) -> None:
    # agent mode x fan-out: four panels, each marker over one point's two
    # replications (not the four points' eight runs pooled)
    figure = outage_figure(read_sweep(shipped_sweep))

    assert len(figure.axes) == 4
    for axes in figure.axes:
        counts = [t.get_text() for t in axes.texts if "lapsed" in t.get_text()]
        assert counts
        assert all(c.endswith("/2 lapsed") for c in counts)


def test_outage_figure_line_is_what_every_agent_survives(
    shipped_sweep: Path,
) -> None:
    # g = 0.5, jitter 0.05: every agent survives (g - jitter)·T = 0.45 T
    axes = outage_figure(read_sweep(shipped_sweep)).axes[0]
    line = axes.lines[0]

    ttl, outage = line.get_xdata()[-1], line.get_ydata()[-1]
    assert outage == pytest.approx(0.45 * ttl)
    assert line.get_label().startswith("every agent survives")


def test_pareto_points_are_compared_only_under_the_same_conditions(
    tmp_path: Path,
) -> None:
    # the outage varies besides the agent mode: a panel each, each with
    # its own front
    out = _ran(tmp_path, "outages", OUTAGES)

    figure = pareto_figure(read_sweep(out))

    assert len(figure.axes) == 2
    for axes in figure.axes:
        fronts = [
            line
            for line in axes.lines
            if line.get_label().startswith("Pareto front")
        ]
        assert len(fronts) == 1
        for bars in axes.collections:
            for segment in bars.get_segments():
                assert min(y for _, y in segment) >= 0


def test_sweep_page_names_the_overrides_of_every_point(
    shipped_sweep: Path,
) -> None:
    page = write_report(shipped_sweep).page.read_text()

    assert (
        "<th>set at every point (--set)</th><td>mesh.workloads=16, "
        "mesh.service_accounts=8, duration=24h"
    ) in page


def test_sweep_page_names_what_the_sweep_file_sets_at_every_point(
    tmp_path: Path,
) -> None:
    out = _ran(tmp_path, "agents", AGENTS_ONLY)

    page = write_report(out).page.read_text()

    assert (
        "<th>set at every point (the sweep file&#x27;s set)</th><td>"
        "mesh.workloads=24, traffic.rate=0.005, ca.outages=[]</td>"
    ) in page


def test_every_figure_on_the_page_says_what_it_shows(
    shipped_sweep: Path,
) -> None:
    page = write_report(shipped_sweep).page.read_text()

    captions = re.findall(r"<figcaption>(.*?)</figcaption>", page)
    assert len(captions) == len(FIGURES) - 1  # no workers varied
    for caption in captions:
        title, _, said = caption.partition(".</b> ")
        assert title.startswith("<b>") and len(said) > 80, caption
    assert "95% confidence interval" in page


def test_captions_name_the_closed_forms_to_read_figures_against() -> None:
    # docs/experiments.md, Planning a sweep, and its figure table
    captions = sweep_page._CAPTIONS

    assert "T(1 - r/2)" in captions["Attack window vs TTL"]
    assert "floor((N - 1)/W)·s" in captions["Longest CA wait vs workers"]
    assert (
        "one under per-pod agents, every identity the node's agent holds "
        "under per-node agents"
    ) in captions["Blast radius vs fan-out"]
    assert "key-theft window" in captions["Attack window against CA load"]


def test_a_sweep_file_without_set_shows_nothing_set(
    shipped_sweep: Path,
) -> None:
    # ttl-vs-fanout.yaml has no set section
    page = write_report(shipped_sweep).page.read_text()

    assert (
        "<th>set at every point (the sweep file&#x27;s set)</th>"
        "<td>nothing</td>"
    ) in page


def test_a_sweep_run_from_python_says_so_for_its_command(
    shipped_sweep: Path, tmp_path: Path
) -> None:
    folder = _edited_copy(shipped_sweep, tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(
        json.dumps({**manifest, "command": ""})
    )

    page = write_report(folder).page.read_text()

    assert "<th>last command</th><td>none: run from Python</td>" in page


def test_blast_radius_ticks_are_the_fan_outs_the_sweep_ran(
    shipped_sweep: Path,
) -> None:
    data = read_sweep(shipped_sweep)
    axes = blast_radius_figure(data).axes[0]

    assert list(axes.get_xticks()) == [float(v) for v in data.values(FANOUT)]


def test_figures_the_sweep_cannot_support_are_noted_on_the_page(
    tmp_path: Path,
) -> None:
    out = _ran(tmp_path, "agents", AGENTS_ONLY)

    report = write_report(out)

    assert set(report.skipped) == {
        "Attack window vs TTL",
        "CA load over TTL x fan-out",
        "CA p99 wait vs TTL",
        "Longest CA wait vs workers",
        "Blast radius vs fan-out",
        "Longest CA outage survived vs TTL",
    }
    assert list(report.figures) == ["Attack window against CA load"]
    page = report.page.read_text()
    assert "Figures left out" in page
    assert "needs workload TTL to vary; every point has TTL 24h" in page


def test_a_resumed_sweep_page_tells_creation_from_the_last_invocation(
    tmp_path: Path,
) -> None:
    # Resuming a finished sweep runs nothing; its page must not present
    # that invocation's few seconds as when the runs were made.
    (tmp_path / "base.yaml").write_text((SWEEPS / "base.yaml").read_text())
    (tmp_path / "agents.yaml").write_text(AGENTS_ONLY)
    out = tmp_path / "agents"
    sweep = load_sweep(tmp_path / "agents.yaml")
    run_sweep(sweep, out, SerialExecutor())
    first = json.loads((out / "manifest.json").read_text())
    resumed = run_sweep(sweep, out, SerialExecutor())
    last = json.loads((out / "manifest.json").read_text())

    page = write_report(out).page.read_text()

    assert resumed.ran == 0
    assert last["created_at"] == first["created_at"]
    assert last["started_at"] > first["finished_at"]
    assert f"<th>folder created</th><td>{first['created_at']}</td>" in page
    assert (
        f"<th>last invocation</th><td>{last['started_at']} to "
        f"{last['finished_at']}</td>"
    ) in page


def test_report_refuses_a_folder_without_a_finished_sweep(
    tmp_path: Path,
) -> None:
    result = CliRunner().invoke(main, ["report", str(tmp_path)])

    assert result.exit_code == 2
    assert "not a finished sweep" in result.output


def test_report_on_a_run_result_points_to_its_plots(tmp_path: Path) -> None:
    for name in ("manifest.json", "summary.json"):
        (tmp_path / name).write_text("{}")

    result = CliRunner().invoke(main, ["report", str(tmp_path)])

    assert result.exit_code == 2
    assert result.output == (
        f"error: {tmp_path}: a run's result, not a sweep's; meshsim report "
        "draws a sweep's figures, and a run's are in its plots folder\n"
    )


@pytest.mark.parametrize(
    ("make", "says"),
    [(None, "no such folder"), ("file", "not a folder")],
    ids=["missing", "file"],
)
def test_report_says_when_the_path_is_no_folder(
    tmp_path: Path, make: str | None, says: str
) -> None:
    path = tmp_path / "results"
    if make == "file":
        path.write_text("not a sweep")

    result = CliRunner().invoke(main, ["report", str(path)])

    assert result.exit_code == 2
    assert f"{path}: {says}" in result.output


def test_report_refuses_unreadable_tables_in_one_line(tmp_path: Path) -> None:
    for name in ("runs.parquet", "points.parquet"):
        (tmp_path / name).write_text("not parquet")
    (tmp_path / "manifest.json").write_text("{}")

    result = CliRunner().invoke(main, ["report", str(tmp_path)])

    assert result.exit_code == 2
    assert result.output.startswith(f"error: {tmp_path}: not a finished sweep")
    assert "runs.parquet" in result.output
    assert len(result.output.splitlines()) == 1


def test_a_table_with_a_column_twice_is_refused_in_a_short_line(
    shipped_sweep: Path, tmp_path: Path
) -> None:
    # Arrow's own message prints the table's whole schema
    folder = _edited_copy(shipped_sweep, tmp_path)
    table = pq.read_table(folder / "points.parquet")
    table = table.append_column("mean", table.column("mean"))
    pq.write_table(table, folder / "points.parquet")

    result = CliRunner().invoke(main, ["report", str(folder)])

    assert result.exit_code == 2
    assert result.output.startswith(
        f"error: {folder}: not a finished sweep as meshsim wrote it "
        "(points.parquet: cannot be read as a table (Multiple matches for "
        "FieldRef.Name(mean)"
    )
    assert len(result.output) < len(str(folder)) + 200


TTL_ONLY = """
scenario: base.yaml
replications: 1
grid:
  pki.workload_ttl: [4h, 24h]
set:
  mesh.workloads: 24
  traffic.rate: 0.005
  ca.outages: []
"""


def test_a_one_panel_figure_wraps_its_title_to_fit(tmp_path: Path) -> None:
    # a single panel is narrower than the longest titles
    out = _ran(tmp_path, "ttl", TTL_ONLY)
    data = read_sweep(out)

    for figure in (attack_window_figure(data), ca_wait_figure(data)):
        canvas = FigureCanvasAgg(figure)
        canvas.draw()
        title = figure.get_suptitle()
        (text,) = [t for t in figure.findobj(Text) if t.get_text() == title]
        box = text.get_window_extent(canvas.get_renderer())
        assert len(figure.axes) == 1
        assert box.x0 >= 0 and box.x1 <= figure.bbox.width, title


def test_report_that_cannot_be_written_is_one_line_and_status_1(
    shipped_sweep: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def read_only(files: dict[Path, bytes]) -> None:
        first = next(iter(files))
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(first))

    monkeypatch.setattr("meshsim.report.sweep_page.write_together", read_only)
    result = CliRunner().invoke(main, ["report", str(shipped_sweep)])

    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"error: {shipped_sweep}: cannot write the report: Read-only file "
        f"system ({shipped_sweep / 'figures'}"
    )
    assert len(result.stderr.splitlines()) == 1


def _edited_copy(shipped_sweep: Path, tmp_path: Path) -> Path:
    """A copy of the shipped sweep's folder with its report drawn once."""
    folder = tmp_path / "edited"
    shutil.copytree(shipped_sweep, folder)
    write_report(folder)
    return folder


@pytest.mark.parametrize(
    ("table", "edit", "says"),
    [
        (
            "points",
            lambda t: t.drop(columns="mean"),
            "not a finished sweep as meshsim wrote it (points.parquet: no "
            "column mean)",
        ),
        (
            "runs",
            lambda t: t.drop(columns="status"),
            "not a finished sweep as meshsim wrote it (runs.parquet: no "
            "column status)",
        ),
        (
            "points",
            lambda t: t.iloc[:0],
            "not a finished sweep as meshsim wrote it (points.parquet: no "
            "rows)",
        ),
        (
            "points",
            lambda t: t.drop(columns="scenario.workload_ttl_s"),
            "not a finished sweep as meshsim wrote it (points.parquet: no "
            "column scenario.workload_ttl_s)",
        ),
        (
            "points",
            lambda t: t.assign(n=t["n"].astype(str)),
            "not a finished sweep as meshsim wrote it (points.parquet: "
            "column n must hold numbers (it holds ",
        ),
        (
            "points",
            lambda t: t.assign(**{"scenario.agent": None}),
            "not a finished sweep as meshsim wrote it (points.parquet: "
            "column scenario.agent has empty values)",
        ),
        (
            "points",
            lambda t: t.assign(mean=math.inf, ci95=-math.inf),
            "not a finished sweep as meshsim wrote it (points.parquet: "
            "column ci95 must hold numbers 0 or more)",
        ),
        (
            "points",
            lambda t: t.assign(**{"scenario.workload_ttl_s": 0.0}),
            "not a finished sweep as meshsim wrote it (points.parquet: "
            "column scenario.workload_ttl_s must hold finite numbers above "
            "0)",
        ),
        (
            "points",
            lambda t: t.assign(**{"scenario.workloads_per_node": math.inf}),
            "not a finished sweep as meshsim wrote it (points.parquet: "
            "column scenario.workloads_per_node must hold finite numbers "
            "above 0)",
        ),
        (
            "points",
            lambda t: t.assign(**{"scenario.agent": ""}),
            "not a finished sweep as meshsim wrote it (points.parquet: "
            "column scenario.agent must hold names (text))",
        ),
        (
            "points",
            lambda t: t.assign(metric=1),
            "not a finished sweep as meshsim wrote it (points.parquet: "
            "column metric must hold names (text))",
        ),
        (
            "points",
            lambda t: t.assign(n=t["n"] + 0.5),
            "not a finished sweep as meshsim wrote it (points.parquet: "
            "column n must hold whole numbers, 0 or more)",
        ),
        (
            "points",
            lambda t: t.assign(std=-1.0),
            "not a finished sweep as meshsim wrote it (points.parquet: "
            "column std must hold numbers 0 or more)",
        ),
        (
            "points",
            lambda t: pd.concat([t, t.iloc[:1]]),
            "not a finished sweep as meshsim wrote it (points.parquet: a "
            "point has two rows of one metric)",
        ),
        (
            "points",
            lambda t: t.assign(**{"pki.workload_ttl": None}),
            "not a finished sweep as meshsim wrote it (points.parquet: "
            "column pki.workload_ttl (a key the sweep varied) has empty "
            "values)",
        ),
        (
            "points",
            lambda t: t.assign(point=t["point"].replace("p000", "p999")),
            "not a finished sweep as meshsim wrote it (points.parquet: no "
            "rows of point 'p000', which manifest.json lists)",
        ),
        (
            "points",
            lambda t: t.assign(mean=-1e300),
            "cannot draw its report (ValueError: ",
        ),
        (
            # pki.grace_ratio is a fraction of the lifetime: 0 < g < 1
            "points",
            lambda t: t.assign(**{"scenario.grace_ratio": -1.0}),
            "not a finished sweep as meshsim wrote it (points.parquet: "
            "column scenario.grace_ratio must hold finite numbers above 0 "
            "and below 1)",
        ),
        (
            "points",
            lambda t: t.assign(**{"mesh.nodes": math.inf}),
            "not a finished sweep as meshsim wrote it (points.parquet: "
            "column mesh.nodes (a key the sweep varied) must hold finite "
            "values)",
        ),
        (
            "points",
            lambda t: t.assign(**{"scenario.backoff_max_s": math.inf}),
            "not a finished sweep as meshsim wrote it (points.parquet: "
            "column scenario.backoff_max_s must hold finite numbers above "
            "0)",
        ),
        (
            "runs",
            lambda t: t.drop(columns="scenario.longest_outage_s"),
            "not a finished sweep as meshsim wrote it (runs.parquet: no "
            "column scenario.longest_outage_s)",
        ),
        (
            "runs",
            lambda t: t.drop(columns="credentials.lapses"),
            "not a finished sweep as meshsim wrote it (runs.parquet: no "
            "column credentials.lapses)",
        ),
        (
            "runs",
            lambda t: t.assign(seed="7"),
            "not a finished sweep as meshsim wrote it (runs.parquet: column "
            "seed must hold numbers (it holds ",
        ),
        (
            "runs",
            lambda t: t.assign(point=t["point"].replace("p000", "p999")),
            "not a finished sweep as meshsim wrote it (runs.parquet: a run "
            "of point 'p999', which manifest.json does not list)",
        ),
        (
            "runs",
            lambda t: t[t["point"] != "p003"],
            "not a finished sweep as meshsim wrote it (runs.parquet: no row "
            "of run p003-r00, which the manifest's points and replications "
            "make)",
        ),
        (
            "runs",
            lambda t: pd.concat([t, t.iloc[:1]]),
            "not a finished sweep as meshsim wrote it (runs.parquet: two "
            "rows of run p000-r00)",
        ),
        (
            # the shipped sweep ran 2 replications: 0 and 1
            "runs",
            lambda t: t.assign(replication=t["replication"] + 1),
            "not a finished sweep as meshsim wrote it (runs.parquet: column "
            "replication must hold numbers below the manifest's "
            "replications (2))",
        ),
        (
            "runs",
            lambda t: t.assign(status="weird"),
            "not a finished sweep as meshsim wrote it (runs.parquet: column "
            "status must hold ok or failed)",
        ),
        (
            "runs",
            lambda t: t.assign(status=["failed"] + ["ok"] * (len(t) - 1)),
            "not a finished sweep as meshsim wrote it (runs.parquet: run "
            "p000-r00 failed without its error's text)",
        ),
        (
            "runs",
            lambda t: t.assign(**{"credentials.lapses": 0.5}),
            "not a finished sweep as meshsim wrote it (runs.parquet: column "
            "credentials.lapses must hold whole numbers, 0 or more)",
        ),
        (
            "points",
            lambda t: t.assign(**{TTL: [99999.0, *t[TTL].iloc[1:]]}),
            "not a finished sweep as meshsim wrote it (points.parquet: "
            "column scenario.workload_ttl_s differs between the rows of "
            "point 'p000')",
        ),
        (
            "points",
            lambda t: t.assign(**{"mesh.agent": ""}),
            "not a finished sweep as meshsim wrote it (points.parquet: "
            "column mesh.agent (a key the sweep varied) has empty values)",
        ),
        (
            "points",
            lambda t: t.assign(**{"mesh.agent": [["a", "b"]] * len(t)}),
            "not a finished sweep as meshsim wrote it (points.parquet: "
            "column mesh.agent (a key the sweep varied) must hold numbers "
            "or text)",
        ),
        (
            "points",
            lambda t: t.assign(**{"scenario.nodes": 0.5}),
            "not a finished sweep as meshsim wrote it (points.parquet: "
            "column scenario.nodes must hold whole numbers, 1 or more)",
        ),
        (
            "points",
            lambda t: t.assign(**{"scenario.workloads": 0}),
            "not a finished sweep as meshsim wrote it (points.parquet: "
            "column scenario.workloads must hold whole numbers, 1 or more)",
        ),
        (
            # a bound written "below 1" leaves 1 out
            "points",
            lambda t: t.assign(**{"scenario.grace_ratio": 1.0}),
            "not a finished sweep as meshsim wrote it (points.parquet: "
            "column scenario.grace_ratio must hold finite numbers above 0 "
            "and below 1)",
        ),
        (
            "points",
            lambda t: t.assign(**{"scenario.jitter": 1.0}),
            "not a finished sweep as meshsim wrote it (points.parquet: "
            "column scenario.jitter must hold finite numbers 0 or more and "
            "below 1)",
        ),
        (
            "points",
            lambda t: t.assign(**{OUTAGE: -1.0}),
            "not a finished sweep as meshsim wrote it (points.parquet: "
            "column scenario.longest_outage_s must hold finite numbers 0 or "
            "more)",
        ),
        (
            "runs",
            lambda t: t.assign(seed=-1),
            "not a finished sweep as meshsim wrote it (runs.parquet: column "
            "seed must hold whole numbers, 0 or more)",
        ),
        (
            "runs",
            lambda t: t.assign(
                status=["failed"] + ["ok"] * (len(t) - 1), error=""
            ),
            "not a finished sweep as meshsim wrote it (runs.parquet: run "
            "p000-r00 failed without its error's text)",
        ),
        (
            # the figures of the runs that ran are checked beside a
            # failed one
            "runs",
            lambda t: t.assign(
                status=["failed"] + ["ok"] * (len(t) - 1),
                error=["boom"] + [None] * (len(t) - 1),
                **{"credentials.lapses": 0.5},
            ),
            "not a finished sweep as meshsim wrote it (runs.parquet: column "
            "credentials.lapses must hold whole numbers, 0 or more)",
        ),
    ],
    ids=[
        "no-mean",
        "no-status",
        "no-rows",
        "no-ttl",
        "text-n",
        "no-agent",
        "negative-ci",
        "zero-ttl",
        "infinite-fanout",
        "empty-agent",
        "numeric-metric",
        "fractional-n",
        "negative-std",
        "two-rows",
        "empty-varied",
        "unlisted-point",
        "huge",
        "negative-grace",
        "infinite-varied",
        "infinite-scenario",
        "runs-no-outage",
        "runs-no-lapses",
        "text-seed",
        "unlisted-run",
        "missing-run",
        "two-runs",
        "replication-past",
        "unknown-status",
        "failed-without-error",
        "fractional-lapses",
        "factor-differs",
        "empty-varied-text",
        "varied-list",
        "fractional-nodes",
        "no-workloads",
        "grace-of-one",
        "jitter-of-one",
        "negative-outage",
        "negative-seed",
        "empty-error",
        "lapses-beside-a-failure",
    ],
)
def test_a_report_of_edited_tables_is_one_line_and_leaves_the_last_one(
    shipped_sweep: Path, tmp_path: Path, table: str, edit, says: str
) -> None:
    folder = _edited_copy(shipped_sweep, tmp_path)
    before = _report_files(folder)
    path = folder / f"{table}.parquet"
    edit(pd.read_parquet(path)).to_parquet(path)

    result = CliRunner().invoke(main, ["report", str(folder)])

    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {folder}: {says}")
    assert len(result.output.splitlines()) == 1
    # refused as read or while drawing, the earlier report stands whole
    assert _report_files(folder) == before


def test_a_sweep_whose_every_run_failed_says_so_and_exits_1(
    shipped_sweep: Path, tmp_path: Path
) -> None:
    # every run failed: the points table has no row (no run measured
    # anything), and the report has nothing to draw
    folder = _edited_copy(shipped_sweep, tmp_path)
    runs = pd.read_parquet(folder / "runs.parquet")
    runs.assign(status="failed", error="ValueError: no").to_parquet(
        folder / "runs.parquet"
    )
    points = pd.read_parquet(folder / "points.parquet")
    points.iloc[:0].to_parquet(folder / "points.parquet")

    result = CliRunner().invoke(main, ["report", str(folder)])

    assert result.exit_code == 1, result.output
    assert result.output == (
        f"error: {folder}: every run of the sweep failed (the first, "
        "p000-r00: ValueError: no); nothing to draw: runs.parquet's error "
        "column says why each failed\n"
    )


def test_the_page_writes_characters_that_would_not_show_as_codes(
    shipped_sweep: Path, tmp_path: Path
) -> None:
    # a sweep's name and a run's error come from files a person may edit:
    # a bell, an escape or a right-to-left override is shown, not acted on
    folder = _edited_copy(shipped_sweep, tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["sweep"] = "ttl\u202e\x1b[31m<x>"
    (folder / "manifest.json").write_text(json.dumps(manifest))

    result = CliRunner().invoke(main, ["report", str(folder)])

    assert result.exit_code == 0, result.output
    page = (folder / "report.html").read_text()
    assert "<h1>Sweep ttl\\u202e\\x1b[31m&lt;x&gt;</h1>" in page
    assert "\u202e" not in page and "\x1b" not in page


def _report_files(folder: Path) -> dict[str, bytes]:
    """The report's page and figures, by name."""
    paths = [folder / "report.html", *(folder / "figures").iterdir()]
    return {path.name: path.read_bytes() for path in paths}


_DELETE = object()


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("points", 1, "points must be a list of one point or more (got 1)"),
        ("points", [], "points must be a list of one point or more (got [])"),
        ("points", [5], "points[0] must be a mapping (got 5)"),
        (
            "points",
            [{"id": "p000"}, {"id": 5, "settings": {}}],
            "points[1].id must be text (got 5)",
        ),
        (
            "points",
            [{"id": "p000", "settings": ["x" * 50]}],
            "points[0].settings must be a mapping (got ['xxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxx…)",
        ),
        (
            "replications",
            "3",
            "replications must be a whole number from 1 to 10,000 (got '3')",
        ),
        (
            "replications",
            0,
            "replications must be a whole number from 1 to 10,000 (got 0)",
        ),
        (
            "root_seed",
            True,
            "root_seed must be a whole number from 0 to 9223372036854775807 "
            "(got True)",
        ),
        (
            "warmup_s",
            float("nan"),
            "warmup_s must be a finite number of seconds, 0 or more (got nan)",
        ),
        (
            "warmup_s",
            -0.5,
            "warmup_s must be a finite number of seconds, 0 or more (got -0.5)",
        ),
        (
            "warmup_s",
            -60,
            "warmup_s must be a finite number of seconds, 0 or more (got -60)",
        ),
        (
            "parameters",
            ["ttl", 2],
            "parameters must be a list of keys (text), each once (got ['ttl', "
            "2])",
        ),
        (
            "parameters",
            ["point"],
            "parameters names 'point', a column of the points table's own, "
            "not a key the sweep varied",
        ),
        (
            "points",
            [{"id": "p000"}, {"id": "p000"}],
            "points[1].id 'p000' names two points",
        ),
        (
            "parameters",
            ["pki.jitter"],
            "parameters names 'pki.jitter', which points.parquet has no "
            "column for",
        ),
        (
            "warmup_s",
            1e308,
            "warmup_s must be less than the shortest point's duration, "
            "86400 s (got 1e+308)",
        ),
        (
            "replications",
            10**4000,
            "replications must be a whole number from 1 to 10,000 (got "
            "100000000000000000000000000000000000000…)",
        ),
        (
            "root_seed",
            10**100,
            "root_seed must be a whole number from 0 to 9223372036854775807 "
            "(got 100000000000000000000000000000000000000…)",
        ),
        ("sweep", "", "sweep must be a name (text) (got '')"),
        (
            "parameters",
            ["pki.workload_ttl", "pki.workload_ttl"],
            "parameters must be a list of keys (text), each once (got "
            "['pki.workload_ttl', 'pki.workload_ttl'])",
        ),
        (
            "points",
            [{"id": "p000", "label": 5}],
            "points[0].label must be text (got 5)",
        ),
        ("set", "a=1", "set must be a list of text (got 'a=1')"),
        ("replications", _DELETE, "no replications"),
        ("finished_at", _DELETE, "no finished_at"),
    ],
)
def test_a_manifest_field_missing_or_wrong_is_named(
    shipped_sweep: Path, tmp_path: Path, key: str, value: Any, says: str
) -> None:
    folder = _edited_copy(shipped_sweep, tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    if value is _DELETE:
        del manifest[key]
    else:
        manifest[key] = value
    (folder / "manifest.json").write_text(json.dumps(manifest))
    before = (folder / "report.html").read_bytes()

    result = CliRunner().invoke(main, ["report", str(folder)])

    assert result.exit_code == 2
    assert result.output == (
        f"error: {folder}: not a finished sweep as meshsim wrote it "
        f"(manifest.json: {says})\n"
    )
    assert (folder / "report.html").read_bytes() == before


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[" * 100_000 + "]" * 100_000, "manifest.json: nested too deeply"),
        (
            None,  # warmup_s of 401 digits: no float holds it
            "manifest.json: warmup_s must be a finite number of seconds, 0 "
            "or more (got 100000000000000000000000000000000000000…",
        ),
        (
            '{"description": "caf\\udce9"}',
            "manifest.json: holds text with \\udce9, half of a surrogate "
            "pair, which is no character",
        ),
        (
            "{",
            "manifest.json: not JSON (Expecting property name enclosed in "
            "double quotes at line 1, column 2)",
        ),
        (
            "\ufeff{}",
            "manifest.json: not JSON (Unexpected UTF-8 BOM (decode using "
            "utf-8-sig) at line 1, column 1)",
        ),
        (
            '{"description": "caf\xe9"}'.encode("latin-1"),
            "manifest.json: not UTF-8 text (byte 0xe9 at 20)",
        ),
        (
            '{"replications": ' + "9" * 5000 + "}",
            "manifest.json: holds a whole number of 5000 digits (at most "
            "4300 are read)",
        ),
    ],
)
def test_a_manifest_python_cannot_read_is_refused(
    shipped_sweep: Path, tmp_path: Path, text: str | bytes | None, says: str
) -> None:
    folder = _edited_copy(shipped_sweep, tmp_path)
    if text is None:
        manifest = json.loads((folder / "manifest.json").read_text())
        text = json.dumps({**manifest, "warmup_s": 10**400})
    if isinstance(text, str):
        text = text.encode("utf-8")
    (folder / "manifest.json").write_bytes(text)

    result = CliRunner().invoke(main, ["report", str(folder)])

    assert result.exit_code == 2, result.output
    assert result.output.startswith(
        f"error: {folder}: not a finished sweep as meshsim wrote it ({says}"
    )
    assert len(result.output.splitlines()) == 1


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("replications", 10_000),
        ("root_seed", 2**63 - 1),
        ("warmup_s", 0),
    ],
)
def test_a_manifest_field_at_its_bound_is_read(
    shipped_sweep: Path, key: str, value: int
) -> None:
    # a sweep takes up to 10,000 replications and seeds to 2**63 - 1
    manifest = json.loads((shipped_sweep / "manifest.json").read_text())

    check_manifest({**manifest, key: value})


@pytest.mark.parametrize("key", ["description", "set"])
def test_a_manifest_without_an_optional_field_is_read(
    shipped_sweep: Path, tmp_path: Path, key: str
) -> None:
    folder = _edited_copy(shipped_sweep, tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest[key]
    (folder / "manifest.json").write_text(json.dumps(manifest))

    result = CliRunner().invoke(main, ["report", str(folder)])

    assert result.exit_code == 0, result.output


def test_a_report_writes_only_what_force_may_replace(
    shipped_sweep: Path, tmp_path: Path
) -> None:
    folder = _edited_copy(shipped_sweep, tmp_path)

    assert foreign_entries(folder, SWEEP_LAYOUT) == []
    assert {"report.html", "figures"} <= {p.name for p in folder.iterdir()}
    # each says meshsim made it, for --force to know it from a user's
    drawn = [folder / "report.html", *(folder / "figures").iterdir()]
    assert len(drawn) > 1
    assert all(made_by_meshsim(path) for path in drawn)


def test_a_report_does_not_write_through_a_linked_figures_folder(
    shipped_sweep: Path, tmp_path: Path
) -> None:
    folder = _edited_copy(shipped_sweep, tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "ca_wait_vs_ttl.png").write_text("precious")
    shutil.rmtree(folder / "figures")
    (folder / "figures").symlink_to(elsewhere)

    result = CliRunner().invoke(main, ["report", str(folder)])

    assert result.exit_code == 2
    assert result.output == (
        f"error: {folder}: its figures folder is a symbolic link; meshsim "
        "writes figures only into a folder of the sweep's own\n"
    )
    assert (elsewhere / "ca_wait_vs_ttl.png").read_text() == "precious"
    with pytest.raises(ValueError, match="a symbolic link"):
        write_report(folder)


@pytest.mark.parametrize(
    ("mean", "ci", "shown"),
    [
        (8000.0, 0.0, "8,000 ± 0"),
        (24.7, 1.1e-14, "24.7 ± 0"),  # replications alike but for rounding
        (8.6612, 0.1234, "8.661 ± 0.12"),
        (19.98, 0.0, "19.98 ± 0"),  # a longest wait under 20 s
        (0.012345, 0.00041, "0.01235 ± 0.00041"),
        (123456.0, 789.0, "123,500 ± 790"),  # four significant digits
        (999.96, 99.96, "1,000 ± 100"),  # rounded up past a power of ten
        (2.5, float("nan"), "2.5"),
    ],
)
def test_points_table_shows_figures_in_plain_notation(mean, ci, shown):
    found = pd.DataFrame({"mean": [mean], "ci95": [ci]})

    assert sweep_page._estimate(found, 1.0) == shown


CAPACITY_BASE = """
name: burst
seed: 3
duration: 10m
mesh: {nodes: 4, workloads: 40, service_accounts: 8}
pki: {crypto: modeled}
ca: {sign_time: 100ms}
traffic: {rate: 0}
"""

CAPACITY = """
scenario: burst.yaml
replications: 1
grid:
  ca.workers: [1, 2, 4]
"""


def test_capacity_figure_draws_the_longest_wait_of_a_burst(
    tmp_path: Path,
) -> None:
    # 40 first CSRs at 0 s, W workers of 100 ms: the last one waits
    # floor(39 / W) * 100 ms
    (tmp_path / "burst.yaml").write_text(CAPACITY_BASE)
    (tmp_path / "capacity.yaml").write_text(CAPACITY)
    out = tmp_path / "capacity"
    run_sweep(load_sweep(tmp_path / "capacity.yaml"), out, SerialExecutor())

    axes = ca_capacity_figure(read_sweep(out)).axes[0]

    line = axes.get_lines()[0]
    assert list(line.get_xdata()) == [1, 2, 4]
    np.testing.assert_allclose(line.get_ydata(), [3.9, 1.9, 0.9])
    assert axes.get_xlabel() == "CA workers"


def test_capacity_figure_draws_the_whole_run_when_the_warmup_holds_the_burst(
    tmp_path: Path,
) -> None:
    # the burst at 0 s lies within a 5 min warmup, and no CSR comes after
    (tmp_path / "burst.yaml").write_text(CAPACITY_BASE)
    (tmp_path / "capacity.yaml").write_text(CAPACITY + "warmup: 5m\n")
    out = tmp_path / "capacity"
    run_sweep(load_sweep(tmp_path / "capacity.yaml"), out, SerialExecutor())

    axes = ca_capacity_figure(read_sweep(out)).axes[0]

    np.testing.assert_allclose(axes.get_lines()[0].get_ydata(), [3.9, 1.9, 0.9])
    assert [t for t in axes.get_xticks()] == [1.0, 2.0, 4.0]


def test_blast_radius_of_a_sweep_from_before_its_figure_says_so(
    shipped_sweep: Path,
) -> None:
    data = read_sweep(shipped_sweep)
    points = data.points
    older = SweepData(
        runs=data.runs,
        points=points[points["metric"] != "attack.identities_per_key_theft"],
        manifest=data.manifest,
    )

    with pytest.raises(UnsupportedFigureError, match="earlier meshsim"):
        blast_radius_figure(older)


def test_an_infinite_figure_in_the_points_table_is_shown_as_inf(
    shipped_sweep: Path, tmp_path: Path
) -> None:
    # a figure only the table shows, infinite at one point: written as
    # stored, the rest of the page as before
    folder = _edited_copy(shipped_sweep, tmp_path)
    path = folder / "points.parquet"
    points = pd.read_parquet(path)
    row = points.index[points["metric"] == "ca.csr_rate_per_s"][0]
    points.loc[row, "mean"] = math.inf
    points.to_parquet(path)

    result = CliRunner().invoke(main, ["report", str(folder)])

    assert result.exit_code == 0, result.output
    assert "<td>inf ± 0</td>" in (folder / "report.html").read_text()


def test_a_report_of_values_numpy_warns_of_prints_no_warning(
    shipped_sweep: Path, tmp_path: Path
) -> None:
    # figures drawn from an overflowing mean and an infinite interval:
    # numpy and matplotlib warned in blocks of several lines
    folder = _edited_copy(shipped_sweep, tmp_path)
    path = folder / "points.parquet"
    points = pd.read_parquet(path)
    drawn = points["metric"] == "attack.key_theft_window_mean_s"
    points.loc[drawn, "mean"] = 1e308
    points.loc[drawn, "ci95"] = math.inf
    points.to_parquet(path)

    done = subprocess.run(
        [sys.executable, "-m", "meshsim", "report", str(folder)],
        capture_output=True,
        text=True,
    )

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
