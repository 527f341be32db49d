"""Every file in bad/ reports exactly the lines of its .expected file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from meshsim.scenario import ScenarioError, load_scenario

BAD = Path(__file__).parent / "bad"
CASES = sorted(BAD.glob("*.yaml"))
LINE = re.compile(r"[^:]+:\d+: \S+: .+")


def test_every_bad_file_has_its_expected_lines() -> None:
    expected = {p.stem for p in BAD.glob("*.expected")}
    assert {p.stem for p in CASES} == expected


@pytest.mark.parametrize("path", CASES, ids=lambda path: path.stem)
def test_bad_file_reports_its_expected_lines(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(BAD)
    expected = path.with_suffix(".expected").read_text("utf-8").splitlines()
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path.name)
    assert str(caught.value).splitlines() == expected
    assert all(LINE.fullmatch(line) for line in expected)
