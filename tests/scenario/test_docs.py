"""docs/scenario.md documents every key, and its examples are true."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from meshsim.scenario import (
    Agent,
    Ca,
    Churn,
    ClockSkew,
    Impersonation,
    KeyTheft,
    Mesh,
    Mitm,
    NodeOffset,
    Outage,
    Pki,
    RootRotation,
    Rotation,
    Scenario,
    ScenarioError,
    TokenTheft,
    Traffic,
    parse_scenario,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "scenario.md"
SECTIONS = {"mesh", "pki", "ca", "agent", "traffic", "attacks", "kind"}


def _blocks(language: str) -> list[str]:
    text = DOC.read_text("utf-8")
    return re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL)


def test_docs_example_is_a_valid_scenario() -> None:
    example = _blocks("yaml")[0]
    assert parse_scenario(example, "docs").name == "sidecar-theft"


def test_docs_bad_example_gives_the_lines_shown() -> None:
    bad = _blocks("yaml")[1]
    shown = _blocks("text")[0].splitlines()
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(bad, "bad.yaml")
    assert str(caught.value).splitlines() == shown


def test_docs_document_every_key() -> None:
    rows = re.findall(
        r"^\| `(?:[a-z_]+(?:\[\])?\.)*([a-z_]+)`",
        DOC.read_text("utf-8"),
        re.MULTILINE,
    )
    models: list[type[BaseModel]] = [
        Scenario,
        Mesh,
        Pki,
        Ca,
        Outage,
        Agent,
        Traffic,
        KeyTheft,
        Mitm,
        TokenTheft,
        Impersonation,
        ClockSkew,
        Churn,
        NodeOffset,
        Rotation,
        RootRotation,
    ]
    keys = {key for model in models for key in model.model_fields}
    assert keys - SECTIONS <= set(rows), keys - SECTIONS - set(rows)
