"""The schema: defaults, types that are not coerced, unknown keys."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pydantic
import pytest

from meshsim.scenario import (
    KeyTheft,
    Mitm,
    Scenario,
    ScenarioError,
    validate_mapping,
)

from .conftest import FULL, MINIMAL

Problems = Callable[..., list[str]]
Build = Callable[..., Scenario]


def _assign(target: object, name: str, value: object) -> None:
    setattr(target, name, value)


def test_defaults_fill_in(scenario_of: Build) -> None:
    scenario = scenario_of(MINIMAL)
    assert scenario.seed == 1
    assert scenario.duration == 86400.0
    assert scenario.start_time == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert scenario.mesh.trust_domain == "cluster.local"
    assert (scenario.mesh.nodes, scenario.mesh.workloads) == (20, 200)
    assert scenario.mesh.service_accounts == 40
    assert scenario.mesh.namespaces == 4
    assert scenario.mesh.agent == "per-workload"
    assert scenario.mesh.mtls == "strict"
    assert scenario.mesh.outside == 0
    assert scenario.mesh.calls_per_service == 3
    assert scenario.pki.key == "ecdsa-p256"
    assert scenario.pki.root_ttl == 3650 * 86400.0
    assert scenario.pki.workload_ttl == 86400.0
    assert scenario.pki.max_workload_ttl == 90 * 86400.0
    assert (scenario.pki.grace_ratio, scenario.pki.jitter) == (0.5, 0.01)
    assert scenario.pki.backdate == 120.0
    assert scenario.ca.workers == 1
    assert scenario.ca.sign_time == "measured"
    assert scenario.ca.outages == ()
    assert scenario.agent.backoff_initial == 1.0
    assert scenario.agent.backoff_max == 60.0
    assert scenario.agent.backoff_multiplier == 2.0
    assert scenario.traffic.rate == 0.1
    assert scenario.attacks == ()


def test_every_key_reads_into_its_attribute(scenario_of: Build) -> None:
    scenario = scenario_of(FULL)
    assert scenario.start_time == dt.datetime(2026, 3, 1, 7, tzinfo=dt.UTC)
    assert scenario.mesh.agent == "per-node"
    assert scenario.pki.key == "rsa-2048"
    assert scenario.ca.sign_time == 0.005
    assert scenario.ca.outages[0].start == 6 * 3600.0
    assert scenario.ca.outages[0].duration == 1800.0
    theft, mitm = scenario.attacks
    assert isinstance(theft, KeyTheft)
    assert (theft.node, theft.workload, theft.persistent) == (
        "node-1",
        "pod-3",
        True,
    )
    assert theft.detected_after == 6 * 3600.0
    assert isinstance(mitm, Mitm)
    assert (mitm.start, mitm.duration, mitm.presents) == (
        10800.0,
        3600.0,
        "stolen",
    )


def test_scenario_is_frozen_and_hashable(scenario_of: Build) -> None:
    scenario = scenario_of(FULL)
    with pytest.raises(pydantic.ValidationError):
        _assign(scenario.mesh, "nodes", 3)
    assert hash(scenario) == hash(scenario_of(FULL))


def test_unknown_key_suggests_closest(problems_of: Problems) -> None:
    assert problems_of(MINIMAL + "mesh:\n  agnet: per-node\n") == [
        "t.yaml:4: mesh.agnet: unknown key; did you mean 'agent'?"
    ]


def test_unknown_key_without_a_close_one_lists_the_keys(
    problems_of: Problems,
) -> None:
    [line] = problems_of(MINIMAL + "traffic:\n  zzz: 1\n")
    assert line == (
        "t.yaml:4: traffic.zzz: unknown key; expected one of rate, detail"
    )


def test_unknown_key_in_an_attack_suggests_from_its_kind(
    problems_of: Problems,
) -> None:
    text = MINIMAL + (
        "attacks:\n"
        "  - {kind: mitm, start: 1h, duration: 1h, node: node-1,"
        " present: stolen}\n"
    )
    assert problems_of(text) == [
        "t.yaml:4: attacks[0].present: unknown key; did you mean 'presents'?"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("seed: '5'", "seed: must be an integer (got '5')"),
        ("seed: true", "seed: must be an integer (got true)"),
        ("seed: 5.0", "seed: must be an integer (got 5.0)"),
        ("mesh: {trust_domain: 5}", "mesh.trust_domain: must be text (got 5)"),
        ("mesh: {mtls: 1}", "mesh.mtls: must be 'strict' or 'permissive'"),
        ("traffic: {rate: '1'}", "traffic.rate: must be a number (got '1')"),
        ("traffic: {rate: false}", "traffic.rate: must be a number"),
        ("mesh: [1]", "mesh: must be a mapping of keys (got [1])"),
        ("attacks: {}", "attacks: must be a list (got a mapping)"),
    ],
)
def test_wrong_types_are_not_coerced(
    problems_of: Problems, text: str, expected: str
) -> None:
    [line] = problems_of(MINIMAL + text + "\n")
    assert line.startswith(f"t.yaml:3: {expected}")


def test_bool_is_not_coerced_from_one(problems_of: Problems) -> None:
    text = MINIMAL + (
        "attacks:\n  - {kind: key-theft, start: 0s, node: node-0,"
        " persistent: 1}\n"
    )
    assert problems_of(text) == [
        "t.yaml:4: attacks[0].persistent: must be true or false (got 1)"
    ]


def test_floats_take_integers(scenario_of: Build) -> None:
    scenario = scenario_of(MINIMAL + "traffic: {rate: 2}\n")
    assert scenario.traffic.rate == 2.0
    assert isinstance(scenario.traffic.rate, float)


def test_start_time_takes_text_or_a_datetime() -> None:
    moment = dt.datetime(2026, 5, 1, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    data = {"name": "x", "duration": "1h"}
    from_text = validate_mapping(
        {**data, "start_time": "2026-05-01T00:00:00+02:00"}, "m"
    )
    from_datetime = validate_mapping({**data, "start_time": moment}, "m")
    assert from_text.start_time == from_datetime.start_time == moment


def test_start_time_needs_a_time_zone(problems_of: Problems) -> None:
    assert problems_of(MINIMAL + "start_time: 2026-01-01T00:00:00\n") == [
        "t.yaml:3: start_time: needs a time zone, such as Z or +02:00 "
        "(got '2026-01-01T00:00:00')"
    ]


def test_start_time_finer_than_a_microsecond_is_refused(
    scenario_of: Build, problems_of: Problems
) -> None:
    # Python's datetime holds microseconds and would drop the rest
    kept = scenario_of(MINIMAL + "start_time: 2026-01-01T00:00:00.000001Z\n")
    assert kept.start_time.microsecond == 1
    assert problems_of(
        MINIMAL + "start_time: 2026-01-01T00:00:00.0000015Z\n"
    ) == [
        "t.yaml:3: start_time: must give seconds to 6 decimals at most "
        "(got '2026-01-01T00:00:00.0000015Z')"
    ]


def test_sign_time_is_a_duration_or_measured(
    scenario_of: Build, problems_of: Problems
) -> None:
    assert scenario_of(MINIMAL + "ca: {sign_time: 2ms}\n").ca.sign_time == 0.002
    assert problems_of(MINIMAL + "ca: {sign_time: measure}\n") == [
        "t.yaml:3: ca.sign_time: must be 'measured' or a duration such as "
        "250ms (got 'measure')"
    ]


def test_a_run_lasts_at_least_a_millisecond(
    scenario_of: Build, problems_of: Problems
) -> None:
    # Shorter runs hold nothing, and their hourly figures had no bin.
    assert scenario_of("name: t\nduration: 1ms\n").duration == 0.001
    assert problems_of("name: t\nduration: 0.00000000000000001s\n") == [
        "t.yaml:2: duration: must be at least 1ms (got '0.00000000000000001s')"
    ]


@pytest.mark.parametrize("name", ["a", "demo-1", "x.y_z", "0" + "a" * 63])
def test_names_of_the_allowed_form_pass(scenario_of: Build, name: str) -> None:
    assert scenario_of(f"name: '{name}'\nduration: 1h\n").name == name


@pytest.mark.parametrize("name", ["", "Demo", "-a", "a b", "a" * 65, "é"])
def test_names_of_another_form_fail(problems_of: Problems, name: str) -> None:
    [line] = problems_of(f"name: '{name}'\nduration: 1h\n")
    assert line.startswith("t.yaml:1: name: must be 1 to 64 of a-z")


def test_required_keys_are_reported_missing(problems_of: Problems) -> None:
    assert problems_of("seed: 2\n") == [
        "t.yaml:1: name: required key is missing",
        "t.yaml:1: duration: required key is missing",
    ]


def test_validate_mapping_takes_lines_of_an_earlier_parse() -> None:
    with pytest.raises(ScenarioError) as caught:
        validate_mapping(
            {"name": "x", "duration": "0s"},
            "sweep.yaml",
            {("duration",): 9},
        )
    assert str(caught.value) == (
        "sweep.yaml:9: duration: must be at least 1ms (got '0s')"
    )


def test_validate_mapping_without_lines_omits_them() -> None:
    with pytest.raises(ScenarioError) as caught:
        validate_mapping({"name": "x", "duration": 1, "nmae": 1}, "sweep")
    assert str(caught.value) == (
        "sweep: nmae: unknown key; did you mean 'name'?"
    )


@pytest.mark.parametrize("data", [[], "text", None, {1: 2}, {"name": object()}])
def test_validate_mapping_reports_any_data(data: object) -> None:
    with pytest.raises(ScenarioError):
        validate_mapping(data, "m")  # type: ignore[arg-type]


def test_building_a_scenario_directly_still_checks_the_rules() -> None:
    with pytest.raises(pydantic.ValidationError, match=r"attacks\[0\]\.start"):
        Scenario(
            name="x",
            duration=60.0,
            attacks=(KeyTheft(kind="key-theft", start=120.0, node="node-0"),),
        )


def test_a_duration_in_a_file_or_override_needs_its_unit(
    scenario_of: Build, problems_of: Problems
) -> None:
    # ttl: 24 meant as hours would be a run of 24 s certificates
    assert problems_of(MINIMAL + "pki: {workload_ttl: 24}\n") == [
        "t.yaml:3: pki.workload_ttl: needs a unit (ms, s, m, h, d) (got 24)"
    ]
    assert problems_of(MINIMAL, "pki.workload_ttl=24") == [
        "override pki.workload_ttl=24: pki.workload_ttl: needs a unit "
        "(ms, s, m, h, d) (got 24)"
    ]
    # nothing needs no unit, and no unit mends an infinite number
    assert scenario_of(MINIMAL + "pki: {backdate: 0}\n").pki.backdate == 0.0
    assert problems_of(MINIMAL + "pki: {backdate: .inf}\n") == [
        "t.yaml:3: pki.backdate: must be a finite number of seconds (got inf)"
    ]


def test_a_duration_from_python_is_a_number_of_seconds() -> None:
    scenario = validate_mapping(
        {"name": "p", "duration": 5400, "pki": {"workload_ttl": 3600.0}}, "m"
    )

    assert scenario.duration == 5400.0
    assert scenario.pki.workload_ttl == 3600.0
