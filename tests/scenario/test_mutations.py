"""Whatever a scenario text becomes, reading it fails only as ScenarioError."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshsim.scenario import ScenarioError, dump_resolved, parse_scenario

from .conftest import FULL

PIECES = [
    *":-[]{}&*!|>'\"#%@`,?\t\n 0123456789.eE~\\\r\x00\x85",
    "&a ",
    "*a",
    "<<: ",
    "!!int ",
    "!!binary ",
    "!custom ",
    "1e400",
    "0x",
    "yes",
    ": ",
    "- ",
    "---\n",
    "\u2028",
    "node-99",
    "9" * 200,
]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = FULL
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "copy_line"]))
        if action == "insert":
            piece = draw(st.sampled_from(PIECES) | st.text(max_size=3))
            text = text[:at] + piece + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 12)) :]
        else:
            lines = text.split("\n")
            source = draw(st.integers(0, len(lines) - 1))
            lines.insert(at % len(lines), lines[source])
            text = "\n".join(lines)
    return text


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(mutated(), st.sampled_from([(), ("mesh.nodes=3",), ("x", "a.b=[")]))
def test_mutated_scenario_raises_only_scenario_error(
    text: str, overrides: tuple[str, ...]
) -> None:
    try:
        scenario = parse_scenario(text, "m.yaml", overrides)
    except ScenarioError as error:
        assert error.problems
        assert all("\n" not in str(problem) for problem in error.problems)
    else:
        assert parse_scenario(dump_resolved(scenario)) == scenario
