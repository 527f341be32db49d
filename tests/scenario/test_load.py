"""Reading a scenario file: bytes, encodings, files that are not there."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshsim.scenario import Problem, ScenarioError, load_scenario

from .conftest import FULL, MINIMAL


def _problems(path: Path, *overrides: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, overrides)
    return [str(problem) for problem in caught.value.problems]


def test_file_loads_with_overrides(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(FULL, "utf-8")
    assert load_scenario(path, ["seed=9"]).seed == 9
    assert load_scenario(str(path)).seed == 7


def test_non_utf8_names_the_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    head = MINIMAL.encode() + b"mesh: {trust_domain: caf"
    path.write_bytes(head + b"\xe9}\n")
    assert len(head) == 49
    assert _problems(path) == [
        f"{path}:3: (document): not valid UTF-8 at byte offset 49 "
        "(got b'\\xe9')"
    ]


def test_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    [line] = _problems(tmp_path / "absent.yaml")
    assert line.startswith(f"{tmp_path / 'absent.yaml'}: (document): cannot")


def test_directory_is_a_scenario_error(tmp_path: Path) -> None:
    [line] = _problems(tmp_path)
    assert "cannot be read" in line


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(MINIMAL + "#" * (1 << 20), "utf-8")
    [line] = _problems(path)
    assert line.endswith("is larger than 1048576 bytes")


def test_problem_prints_as_one_line() -> None:
    problem = Problem(
        "bad.yaml", 7, "pki.workload_ttl", "must be longer than 0s", "0s"
    )
    assert str(problem) == (
        "bad.yaml:7: pki.workload_ttl: must be longer than 0s (got '0s')"
    )
    no_value = Problem("bad.yaml", None, "name", "required key is missing")
    assert str(no_value) == "bad.yaml: name: required key is missing"


def test_error_joins_its_problems_in_line_order() -> None:
    error = ScenarioError(
        [
            Problem("f", None, "b", "r"),
            Problem("f", 9, "a", "r"),
            Problem("f", 2, "c", "r"),
        ]
    )
    assert str(error) == "f:2: c: r\nf:9: a: r\nf: b: r"
    assert isinstance(error, ValueError)
