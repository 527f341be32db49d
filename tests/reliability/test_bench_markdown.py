"""The bench table as Markdown: a quick run's figures are not judged
against the targets, and a file that is missing or is no bench result
gets one line and exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.figures import Figure
from benchmarks.markdown import main

# A figure 2 that misses its target of 10 at 33 times.
MISSED = Figure(
    name="2. kernel cost per renewal",
    measure="wall per renewal ÷ bare env.timeout cycle",
    value=33.0,
    unit="ratio",
    target=10.0,
    better="lower",
)


def _result(tmp_path: Path, quick: bool) -> Path:
    path = tmp_path / "bench.json"
    path.write_text(
        json.dumps(
            {
                "meshsim_version": "0",
                "quick": quick,
                "wall_s": 60.0,
                "machine": {
                    "platform": "test",
                    "cpu_count": 2,
                    "python": "3",
                    "load_average_before": [0.0, 0.0, 0.0],
                    "load_average_after": [0.0, 0.0, 0.0],
                },
                "figures": [MISSED.as_json()],
            }
        ),
        encoding="utf-8",
    )
    return path


def _row(output: str) -> list[str]:
    line = next(s for s in output.splitlines() if s.startswith("| 2."))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_full_run_marks_a_missed_target(tmp_path, capsys):
    assert main([str(_result(tmp_path, quick=False))]) == 0
    output = capsys.readouterr().out
    assert _row(output)[4] == "**no**"
    assert "meshsim 0 at an unknown commit, test, 2 CPUs" in output


def test_quick_run_judges_no_target(tmp_path, capsys):
    assert main([str(_result(tmp_path, quick=True))]) == 0
    assert _row(capsys.readouterr().out)[4] == "not judged"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "cannot be read"),
        ('{"figures": []', "not a bench result"),
        ('{"quick": false}', "not a bench result"),
        ("[1, 2]", "not a bench result"),
    ],
)
def test_unreadable_file_gets_one_line(tmp_path, capsys, content, says):
    path = tmp_path / "bench.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")

    assert main([str(path)]) == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}: {says}")


def _edited(tmp_path: Path, edit: str) -> Path:
    """A full run's file with one value replaced (``figures.note=5``)."""
    path = _result(tmp_path, quick=False)
    data = json.loads(path.read_text(encoding="utf-8"))
    where, value = edit.split("=", 1)
    *parents, key = where.split(".")
    target = data
    for name in parents:
        target = target[name][0] if name == "figures" else target[name]
    target[key] = json.loads(value)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "edit",
    [
        "figures.note=5",
        "figures.name=null",
        "figures.value=1" + "0" * 400,
        "machine.load_average_before=[]",
        'laps="abc"',
        "source=[1]",
        'quick="no"',
    ],
)
def test_a_bench_result_with_a_bad_value_gets_one_line(tmp_path, capsys, edit):
    path = _edited(tmp_path, edit)

    assert main([str(path)]) == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith(f"{path}: not a bench result")


def test_a_deeply_nested_file_gets_one_line(tmp_path, capsys):
    path = tmp_path / "bench.json"
    path.write_text("[" * 100_000, encoding="utf-8")

    assert main([str(path)]) == 2
    assert capsys.readouterr().err.startswith(f"{path}: not a bench result")
