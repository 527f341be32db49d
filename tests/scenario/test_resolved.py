"""The resolved scenario: every default written out, read back equal."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from meshsim.scenario import Scenario, dump_resolved, scenario_sha256

from .conftest import FULL, MINIMAL

Build = Callable[..., Scenario]


@pytest.mark.parametrize("text", [MINIMAL, FULL], ids=["minimal", "full"])
def test_dump_resolved_round_trips(scenario_of: Build, text: str) -> None:
    scenario = scenario_of(text)
    assert scenario_of(dump_resolved(scenario)) == scenario


def test_dump_resolved_writes_every_default(scenario_of: Build) -> None:
    text = dump_resolved(scenario_of(MINIMAL))
    for line in [
        "seed: 1",
        "duration: 24h",
        "start_time: 2026-01-01T00:00:00Z",
        "  workloads: 200",
        "  root_ttl: 3650d",
        "  workload_ttl: 24h",
        "  max_workload_ttl: 90d",
        "  backdate: 2m",
        "  sign_time: measured",
        "  outages: []",
        "  backoff_max: 1m",
        "attacks: []",
    ]:
        assert line in text.splitlines()


def test_durations_are_written_canonically(scenario_of: Build) -> None:
    scenario = scenario_of(
        "name: x\nduration: 5400s\npki: {backdate: 0.001s}\n"
        "ca: {sign_time: 0.0005s}\n"
    )
    lines = dump_resolved(scenario).splitlines()
    assert "duration: 1h30m" in lines
    assert "  backdate: 1ms" in lines
    assert "  sign_time: 0.0005s" in lines


@pytest.mark.parametrize(
    "text",
    ["name: '0x1f'", "name: 'true'", "name: '1.5'", "name: 'null'"],
)
def test_text_that_looks_like_another_type_is_quoted(
    scenario_of: Build, text: str
) -> None:
    scenario = scenario_of(text + "\nduration: 1h\n")
    assert scenario_of(dump_resolved(scenario)) == scenario


def test_sha256_is_of_the_resolved_text(scenario_of: Build) -> None:
    explicit = scenario_of(MINIMAL + "seed: 1\nmesh: {nodes: 20}\n")
    implicit = scenario_of(MINIMAL)
    assert scenario_sha256(explicit) == scenario_sha256(implicit)
    assert len(scenario_sha256(implicit)) == 64
    assert scenario_sha256(scenario_of(MINIMAL + "seed: 2\n")) != (
        scenario_sha256(implicit)
    )
