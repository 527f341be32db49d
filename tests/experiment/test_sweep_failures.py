"""A failing replication is recorded with its error and does not stop
the others; the command then exits with status 1."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from meshsim.cli import main

# pods are dealt to nodes by the seed: pod-0 is on node-1 in some
# replications only, and the theft of its key fails in the others
FAILING = """
scenario: tiny.yaml
seed: 3
replications: 6
grid:
  mesh.agent: [per-workload, per-node]
set:
  mesh.nodes: 2
  attacks[0].workload: pod-0
"""


def test_a_failed_replication_is_recorded_and_the_others_run(
    write_sweep: Callable[..., Path], tmp_path: Path
) -> None:
    import pandas as pd

    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        ["sweep", str(write_sweep(FAILING)), "--out", str(out), "--jobs", "2"],
    )

    assert result.exit_code == 1, result.output
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 12
    failed = runs[runs["status"] == "failed"]
    ok = runs[runs["status"] == "ok"]
    # per-workload agents fail where pod-0 is elsewhere; a node agent
    # ignores the workload and never fails
    assert 0 < len(failed) < 6
    assert set(failed["mesh.agent"]) == {"per-workload"}
    assert failed["error"].str.contains("does not run on node-1").all()
    assert failed["ca.csr_total"].isna().all()
    assert ok["ca.csr_total"].notna().all()
    assert ok["error"].isna().all()
    assert f"{len(failed)} failed" in result.output

    points = pd.read_parquet(out / "points.parquet")
    row = points[
        (points["point"] == "p000") & (points["metric"] == "ca.csr_total")
    ].iloc[0]
    assert (row["n"], row["failed"]) == (6 - len(failed), len(failed))
