"""The notebooks run top to bottom at small size, and are committed
without outputs."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted(
    (Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb")
)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)

    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], path.name
            assert cell.execution_count is None, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_at_small_size(
    path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    short_tmp: Path,
) -> None:
    monkeypatch.setenv("MESHSIM_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("MESHSIM_NOTEBOOK_OUT", str(tmp_path))
    # the kernel is stopped without its exit functions: what its sweeps'
    # process pools keep in the temporary folder goes with short_tmp
    monkeypatch.setenv("TMPDIR", str(short_tmp))
    notebook = nbformat.read(path, as_version=4)

    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()

    images = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if "image/png" in output.get("data", {})
    ]
    assert images, f"{path.name} drew no figure"
    assert os.environ["MESHSIM_NOTEBOOK_SMALL"] == "1"


def test_there_are_three_notebooks() -> None:
    assert [p.name for p in NOTEBOOKS] == [
        "01-quickstart.ipynb",
        "02-ttl-vs-fanout.ipynb",
        "03-ca-workers.ipynb",
    ]
