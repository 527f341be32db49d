"""Worlds the simulator can run: attacks where something runs, named pods
where the seed places them, X.509 dates, SPIFFE ID length, exact counts."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from meshsim.runner import run_scenario
from meshsim.scenario import (
    Scenario,
    ScenarioError,
    parse_scenario,
    validate_mapping,
)
from meshsim.scenario.runnable import pod_placement
from meshsim.simulation import simulate

TINY = """\
name: tiny
seed: {seed}
duration: 2h
mesh:
  nodes: {nodes}
  workloads: {workloads}
  service_accounts: 2
  namespaces: 1
  calls_per_service: 1
  outside: {outside}
ca: {{sign_time: 1ms}}
traffic: {{rate: 0.01}}
"""


def tiny(
    seed: int = 1,
    nodes: int = 4,
    workloads: int = 8,
    outside: int = 0,
    attacks: str = "",
) -> str:
    text = TINY.format(
        seed=seed, nodes=nodes, workloads=workloads, outside=outside
    )
    return text + (f"attacks:\n{attacks}" if attacks else "")


@pytest.mark.parametrize(
    ("seed", "nodes", "workloads"),
    [(1, 4, 8), (7, 3, 10), (123456789, 6, 6), (2**63 - 1, 5, 17), (0, 9, 4)],
)
def test_placement_is_the_one_a_run_uses(
    seed: int, nodes: int, workloads: int
) -> None:
    text = tiny(seed, nodes, workloads, outside=2)
    scenario = parse_scenario(text, "t.yaml", ["traffic.rate=0"])

    topology = simulate(scenario).topology

    placed = pod_placement(seed, nodes, workloads)
    assert placed == tuple(pod.node for pod in topology.pods)


def test_pods_are_dealt_so_that_only_the_first_nodes_run_any() -> None:
    for seed in range(20):
        placed = pod_placement(seed, 9, 5)
        assert set(placed) == {0, 1, 2, 3, 4}


def test_key_theft_on_a_node_without_pods_is_refused(
    problems_of: Callable[..., list[str]],
) -> None:
    theft = "  - {kind: key-theft, start: 1h, node: node-5}\n"
    text = tiny(nodes=6, workloads=5, attacks=theft)

    assert problems_of(text) == [
        "t.yaml:14: attacks[0].node: runs no pod to compromise "
        "(5 pods fill node-0 … node-4) (got 'node-5')"
    ]


def test_node_agent_theft_on_a_node_without_pods_is_refused(
    problems_of: Callable[..., list[str]],
) -> None:
    theft = "  - {kind: key-theft, start: 1h, node: node-1}\n"
    text = tiny(nodes=2, workloads=1, attacks=theft)

    [line] = problems_of(
        text,
        "mesh.agent=per-node",
        "mesh.service_accounts=1",
        "mesh.calls_per_service=0",
    )
    assert "attacks[0].node: runs no pod to compromise" in line
    assert "(1 pods fill node-0)" in line


def test_mitm_on_a_node_with_only_outside_callers_runs() -> None:
    mitm = "  - {kind: mitm, start: 10m, duration: 1h, node: node-5}\n"
    text = tiny(nodes=6, workloads=5, outside=6, attacks=mitm)

    run = run_scenario(parse_scenario(text, "t.yaml"))

    handshakes = run.tables.handshakes
    seen = handshakes[handshakes["attack"] == 0]
    assert set(seen["caller_node"]) == {"node-5"}
    assert set(seen["caller"]) == {"outside-5"}


def test_mitm_on_a_node_where_nothing_runs_is_refused(
    problems_of: Callable[..., list[str]],
) -> None:
    mitm = "  - {kind: mitm, start: 10m, duration: 1h, node: node-5}\n"
    text = tiny(nodes=6, workloads=5, outside=5, attacks=mitm)

    [line] = problems_of(text)
    assert "attacks[0].node: runs no pod and no outside caller" in line


@pytest.mark.parametrize("seed", [1, 2, 3, 99])
def test_named_workload_is_stolen_on_its_node(seed: int) -> None:
    placed = pod_placement(seed, 4, 8)
    node = placed[5]
    theft = (
        f"  - {{kind: key-theft, start: 1h, node: node-{node}, "
        "workload: pod-5}\n"
    )

    run = run_scenario(parse_scenario(tiny(seed, attacks=theft), "t.yaml"))

    # the serial taken is the one pod-5's agent installed; pod 5 runs as
    # service account 5 mod 2 = 1
    thefts, rotations = run.tables.thefts, run.tables.rotations
    issued = rotations[rotations["installed_s"] <= 3600]
    of_pod = issued[issued["agent"] == "agent-pod-5"]
    assert list(thefts["serial_number"]) == list(of_pod["serial_number"])
    assert list(thefts["spiffe_id"]) == [
        "spiffe://cluster.local/ns/ns-0/sa/sa-1"
    ]


@pytest.mark.parametrize("seed", [1, 2, 3, 99])
def test_named_workload_on_another_node_is_refused(
    seed: int, problems_of: Callable[..., list[str]]
) -> None:
    placed = pod_placement(seed, 4, 8)
    elsewhere = (placed[5] + 1) % 4
    theft = (
        f"  - {{kind: key-theft, start: 1h, node: node-{elsewhere}, "
        "workload: pod-5}\n"
    )

    [line] = problems_of(tiny(seed, attacks=theft))

    assert line.startswith(
        f"t.yaml:14: attacks[0].workload: does not run on node-{elsewhere} "
        f"with seed {seed} (it runs on node-{placed[5]}; "
    )
    assert line.endswith("(got 'pod-5')")


def test_named_workload_is_ignored_by_node_agents() -> None:
    placed = pod_placement(1, 4, 8)
    elsewhere = (placed[5] + 1) % 4
    theft = (
        f"  - {{kind: key-theft, start: 1h, node: node-{elsewhere}, "
        "workload: pod-5}\n"
    )

    parse_scenario(tiny(attacks=theft), "t.yaml", ["mesh.agent=per-node"])


def test_seed_override_is_named_when_it_moves_the_pod(
    problems_of: Callable[..., list[str]],
) -> None:
    placed = {seed: pod_placement(seed, 4, 8)[5] for seed in range(1, 40)}
    moved = next(s for s in placed if placed[s] != placed[1])
    theft = (
        f"  - {{kind: key-theft, start: 1h, node: node-{placed[1]}, "
        "workload: pod-5}\n"
    )

    [line] = problems_of(tiny(attacks=theft), f"seed={moved}")

    assert line.startswith(
        f"override seed={moved}: attacks[0].workload: does not run"
    )


def test_data_is_checked_like_a_file() -> None:
    data = parse_scenario(tiny(nodes=6, workloads=5), "t.yaml").model_dump()
    data["attacks"] = [{"kind": "key-theft", "start": 3600.0, "node": "node-5"}]

    with pytest.raises(ScenarioError) as caught:
        validate_mapping(data, "data")

    assert str(caught.value) == (
        "data: attacks[0].node: runs no pod to compromise "
        "(5 pods fill node-0 … node-4) (got 'node-5')"
    )


def test_run_scenario_refuses_what_loading_would() -> None:
    data = parse_scenario(tiny(nodes=6, workloads=5), "t.yaml").model_dump()
    data["attacks"] = [{"kind": "key-theft", "start": 3600.0, "node": "node-5"}]
    scenario = Scenario.model_validate(data)  # the schema alone

    with pytest.raises(ScenarioError) as caught:
        run_scenario(scenario)

    assert str(caught.value) == (
        "scenario tiny: attacks[0].node: runs no pod to compromise "
        "(5 pods fill node-0 … node-4) (got 'node-5')"
    )


@pytest.mark.parametrize(
    ("update", "says"),
    [
        # a NaN duration ran for ever; a grace past 1 renewed non-stop
        (
            {"duration": math.nan},
            "duration: must be a finite number of seconds (got nan)",
        ),
        ({"seed": -1}, "seed: must be at least 0 (got -1)"),
    ],
)
def test_run_scenario_checks_a_scenario_changed_after_validation(
    update: dict[str, object], says: str
) -> None:
    scenario = parse_scenario(tiny(), "t.yaml")
    changed = scenario.model_copy(update=update)  # validates nothing

    with pytest.raises(ScenarioError) as caught:
        run_scenario(changed)

    assert str(caught.value) == f"scenario tiny: {says}"


def test_run_scenario_checks_rules_across_keys_of_a_changed_scenario() -> None:
    scenario = parse_scenario(tiny(), "t.yaml")
    pki = scenario.pki.model_copy(update={"grace_ratio": 2.0})

    with pytest.raises(ScenarioError, match=r"^scenario tiny: pki\."):
        run_scenario(scenario.model_copy(update={"pki": pki}))


# cryptography writes no X.509 date before 1950-01-01; a mitm forges
# certificates dated a day before it starts
FORGING = """\
  - {kind: mitm, start: 0s, duration: 10m, node: node-0, presents: rogue-ca}
  - {kind: mitm, start: 0s, duration: 10m, node: node-1, presents: self-signed}
"""


def test_run_starting_a_day_after_1950_runs() -> None:
    text = tiny(attacks=FORGING) + "start_time: 1950-01-02T00:00:00Z\n"

    run = run_scenario(parse_scenario(text, "t.yaml"))

    assert run.summary["certs"][0]["not_before"].startswith("1950-01-01T23:")


def test_run_starting_less_than_a_day_after_1950_is_refused(
    problems_of: Callable[..., list[str]],
) -> None:
    text = tiny() + "start_time: 1950-01-01T23:59:59Z\n"

    [line] = problems_of(text)
    assert line.startswith("t.yaml:13: start_time: must be at least 24h after")


def test_long_backdate_moves_the_earliest_start(
    problems_of: Callable[..., list[str]],
) -> None:
    text = tiny() + "start_time: 1960-01-01T00:00:00Z\n"

    [line] = problems_of(text, "pki.backdate=7000d")
    assert "start_time: must be at least 7000d after" in line


def test_certificates_may_end_on_the_last_x509_second() -> None:
    # the run's 2h plus a rogue CA's 3650d end on 9999-12-31T23:59:59Z
    text = (
        tiny(attacks=FORGING.replace("start: 0s", "start: 1h59m"))
        + "start_time: 9990-01-02T21:59:59Z\n"
    )

    run_scenario(parse_scenario(text, "t.yaml"))


def test_certificates_ending_after_9999_are_refused(
    problems_of: Callable[..., list[str]],
) -> None:
    text = tiny() + "start_time: 9990-01-02T22:00:00Z\n"

    [line] = problems_of(text)
    assert line.startswith("t.yaml:13: start_time: must be at least 3650d2h")


def test_ttl_of_one_second_runs_and_less_is_refused(
    problems_of: Callable[..., list[str]],
) -> None:
    short = ["duration=10s", "pki.backdate=0s", "pki.jitter=0"]
    scenario = parse_scenario(tiny(), "t.yaml", [*short, "pki.workload_ttl=1s"])

    run = run_scenario(scenario)

    # 8 pods renew at least every half second for 10 s
    assert run.summary["rotation"]["count"] >= 8 * 2 * 10
    assert problems_of(tiny(), *short, "pki.workload_ttl=999ms") == [
        "override pki.workload_ttl=999ms: pki.workload_ttl: must be at "
        "least 1s: X.509 validity counts whole seconds (got '999ms')"
    ]


@pytest.mark.parametrize(
    ("overrides", "longest"),
    [((), 59), (("ca.intermediate_ttl=30d",), 51)],
)
def test_trust_domain_fits_the_ca_common_name(
    overrides: tuple[str, ...],
    longest: int,
    problems_of: Callable[..., list[str]],
) -> None:
    # RFC 5280 ub-common-name is 64; the CA is "<td> root" or
    # "<td> intermediate"
    text = tiny(workloads=2, nodes=1)
    fits = f"mesh.trust_domain={'a' * longest}"

    run = run_scenario(parse_scenario(text, "t.yaml", [*overrides, fits]))

    assert run.summary["certs"][0]["spiffe_id"].startswith(
        f"spiffe://{'a' * longest}/"
    )
    [line] = problems_of(text, *overrides, f"{fits}a")
    assert f"mesh.trust_domain: must be at most {longest} characters" in line


def test_connections_up_to_1e15_are_counted_exactly(
    problems_of: Callable[..., list[str]],
) -> None:
    # 2 pods * 2h = 14400 pod-seconds at a rate giving 1e15 connections
    rate = 1e15 / 14400
    text = tiny(workloads=2, nodes=1)

    run = run_scenario(parse_scenario(text, "t.yaml", [f"traffic.rate={rate}"]))

    total = run.summary["handshakes"]["total"]
    assert isinstance(total, int)
    assert total == pytest.approx(1e15, rel=1e-4)
    [line] = problems_of(text, f"traffic.rate={rate * 1.01}")
    assert "traffic.rate: expects 1.01e+15 connections" in line
