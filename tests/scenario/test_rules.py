"""Rules across keys, and reporting them together with type errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from meshsim.scenario import Scenario, parse_scenario

from .conftest import MINIMAL

Problems = Callable[..., list[str]]
Build = Callable[..., Scenario]

MITM = "  - {kind: mitm, start: 1h, duration: 1h, node: node-1"
THEFT = "  - {kind: key-theft, start: 1h, node: node-1"


def test_workload_ttl_must_not_exceed_max(problems_of: Problems) -> None:
    text = MINIMAL + "pki:\n  workload_ttl: 24h\n  max_workload_ttl: 12h\n"
    assert problems_of(text) == [
        "t.yaml:4: pki.workload_ttl: must not exceed pki.max_workload_ttl "
        "(12h) (got '24h')"
    ]


def test_workload_ttl_must_be_shorter_than_root(problems_of: Problems) -> None:
    text = MINIMAL + "pki: {root_ttl: 30d, workload_ttl: 30d}\n"
    assert problems_of(text) == [
        "t.yaml:3: pki.workload_ttl: must be shorter than pki.root_ttl "
        "(30d) (got '30d')"
    ]


@pytest.mark.parametrize(
    ("pki", "rule"),
    [
        ("{grace_ratio: 0.1, jitter: 0.1}", "less than pki.grace_ratio (0.1)"),
        ("{grace_ratio: 0.9, jitter: 0.1}", "less than 1 - pki.grace_ratio"),
    ],
)
def test_renewal_point_with_jitter_stays_inside_the_lifetime(
    problems_of: Problems, pki: str, rule: str
) -> None:
    [line] = problems_of(MINIMAL + f"pki: {pki}\n")
    assert line.startswith(f"t.yaml:3: pki.jitter: must be {rule}")


@pytest.mark.parametrize("ratio", ["0", "1", "-0.5", "1.5"])
def test_grace_ratio_is_inside_zero_and_one(
    problems_of: Problems, ratio: str
) -> None:
    [line] = problems_of(MINIMAL + f"pki: {{grace_ratio: {ratio}}}\n")
    assert line.startswith("t.yaml:3: pki.grace_ratio: must be ")


def test_counts_nest(problems_of: Problems) -> None:
    text = MINIMAL + (
        "mesh:\n"
        "  workloads: 10\n"
        "  service_accounts: 11\n"
        "  namespaces: 12\n"
        "  calls_per_service: 11\n"
    )
    assert problems_of(text) == [
        "t.yaml:5: mesh.service_accounts: must not exceed mesh.workloads "
        "(10) (got 11)",
        "t.yaml:6: mesh.namespaces: must not exceed mesh.service_accounts "
        "(11) (got 12)",
        "t.yaml:7: mesh.calls_per_service: must be less than "
        "mesh.service_accounts (11): a service does not call itself (got 11)",
    ]


def test_backoff_max_is_at_least_the_initial(problems_of: Problems) -> None:
    text = MINIMAL + "agent: {backoff_initial: 2m}\n"
    assert problems_of(text) == [
        "t.yaml:3: agent.backoff_max: must be at least agent.backoff_initial "
        "(2m) (got '1m', its default)"
    ]


def test_a_rule_broken_by_a_value_not_written_says_where_it_came_from(
    problems_of: Problems,
) -> None:
    # the spire profile's jitter against a grace ratio the file sets
    text = MINIMAL + "profile: spire\npki: {grace_ratio: 0.04}\n"

    assert problems_of(text) == [
        "t.yaml:4: pki.jitter: must be less than pki.grace_ratio (0.04) "
        "(got 0.05, the profile's)"
    ]


def test_a_fraction_not_written_is_shown_to_six_digits(
    problems_of: Problems,
) -> None:
    # the spire profile activates the next CA at 5/6 of the current's life
    text = MINIMAL + "profile: spire\nca: {rotation: {prepare_at: 0.9}}\n"

    assert problems_of(text) == [
        "t.yaml:4: ca.rotation.activate_at: must be later than "
        "ca.rotation.prepare_at (0.9) (got 0.833333, the profile's)"
    ]


def test_a_backdate_that_makes_renewal_due_at_install_is_refused(
    problems_of: Problems,
) -> None:
    # lifetime 1h + backdate, renewed at half of it from NotBefore: with
    # a backdate of 1h, due at NotBefore + 1h, the moment of the install
    text = (
        "name: demo\nduration: 2h\n"
        "pki: {workload_ttl: 1h, grace_ratio: 0.5, jitter: 0, backdate: 1h}\n"
        "agent: {lifetime_from: certificate}\n"
    )

    assert problems_of(text) == [
        "t.yaml:3: pki.backdate: must be shorter than 1h: with "
        "agent.lifetime_from: certificate, a certificate backdated this far "
        "is due for renewal as it is installed (at NotBefore + 0.5 of its "
        "life, with pki.grace_ratio and pki.jitter) (got '1h')"
    ]
    shorter = parse_scenario(text.replace("backdate: 1h", "backdate: 59m"))
    assert shorter.pki.backdate == 59 * 60
    # measured from the agent's clock, the backdate does not count
    own_clock = text.replace("certificate", "agent-clock")
    assert parse_scenario(own_clock).pki.backdate == 3600


def test_an_attack_start_spread_past_the_end_is_refused(
    problems_of: Problems,
) -> None:
    text = (
        "name: demo\nduration: 10h\nattacks:\n"
        "  - {kind: key-theft, start: 4h, spread: 8h, node: node-0}\n"
    )

    assert problems_of(text) == [
        "t.yaml:4: attacks[0].spread: must end by the end of the run: "
        "start + spread is 12h, past the duration (10h) (got '8h')"
    ]
    fits = parse_scenario(text.replace("spread: 8h", "spread: 6h"))
    assert fits.attacks[0].spread == 6 * 3600


def test_a_backdate_limit_under_a_second_is_shown_in_milliseconds(
    problems_of: Problems,
) -> None:
    # 1s certificates renewed at half-life: at most (0.5 / 0.5) * 1s
    text = (
        "name: demo\nduration: 1h\n"
        "pki: {workload_ttl: 1s, grace_ratio: 0.5, jitter: 0, backdate: 2s}\n"
        "agent: {lifetime_from: certificate}\n"
    )

    assert problems_of(text)[0].startswith(
        "t.yaml:3: pki.backdate: must be shorter than 1s: "
    )
    quick = text.replace("workload_ttl: 1s", "workload_ttl: 1500ms")
    assert "shorter than 1s500ms:" in problems_of(quick)[0]


def test_a_grace_past_one_is_the_jitter_rules_alone_to_report(
    problems_of: Problems,
) -> None:
    # 0.9 + 0.2 > 1: the backdate limit (1 - g) / g would be negative
    text = (
        "name: demo\nduration: 1h\n"
        "pki: {grace_ratio: 0.9, jitter: 0.2}\n"
        "agent: {lifetime_from: certificate}\n"
    )

    assert problems_of(text) == [
        "t.yaml:3: pki.jitter: must be less than 1 - pki.grace_ratio (0.1) "
        "(got 0.2)"
    ]


def test_impersonation_needs_a_node_agent(problems_of: Problems) -> None:
    text = (
        "name: demo\nduration: 2h\nattacks:\n"
        "  - {kind: impersonation, start: 1h, node: node-0}\n"
    )

    assert problems_of(text) == [
        "t.yaml:4: attacks[0].kind: needs node agents (mesh.agent: "
        "per-node): with an agent per pod no agent may ask for another "
        "pod's identity; token-theft takes the tokens on a node "
        "(got 'impersonation')"
    ]
    scenario = parse_scenario(text + "mesh: {agent: per-node}\n", "t.yaml")
    assert scenario.attacks[0].kind == "impersonation"


def test_attack_after_the_run_is_refused(problems_of: Problems) -> None:
    text = "name: demo\nduration: 1h\nattacks:\n" + THEFT + "}\n"
    assert problems_of(text) == [
        "t.yaml:4: attacks[0].start: must be before the end of the run "
        "(duration 1h) (got '1h')"
    ]


def test_outage_after_the_run_is_refused(problems_of: Problems) -> None:
    text = (
        "name: demo\nduration: 1h\nca:\n  outages: [{start: 2h, duration: 1m}]"
    )
    [line] = problems_of(text + "\n")
    assert line.startswith("t.yaml:4: ca.outages[0].start: must be before")


@pytest.mark.parametrize("node", ["node-20", "node-01", "worker-1", "node--1"])
def test_attack_on_a_node_outside_the_mesh_is_refused(
    problems_of: Problems, node: str
) -> None:
    text = MINIMAL + (
        "attacks:\n"
        f"  - {{kind: mitm, start: 1h, duration: 1h, node: '{node}'}}\n"
    )
    assert problems_of(text) == [
        f"t.yaml:4: attacks[0].node: not in the mesh (node-0 … node-19) "
        f"(got '{node}')"
    ]


def test_key_theft_of_a_pod_outside_the_mesh_is_refused(
    problems_of: Problems,
) -> None:
    text = MINIMAL + "attacks:\n" + THEFT + ", workload: pod-200}\n"
    assert problems_of(text) == [
        "t.yaml:4: attacks[0].workload: not in the mesh (pod-0 … pod-199) "
        "(got 'pod-200')"
    ]


def test_detection_needs_a_persistent_theft(
    problems_of: Problems, scenario_of: Build
) -> None:
    text = MINIMAL + "attacks:\n" + THEFT + ", detected_after: 1h"
    [line] = problems_of(text + "}\n")
    assert line.startswith("t.yaml:4: attacks[0].detected_after: applies only")
    scenario = scenario_of(text + ", persistent: true}\n")
    assert scenario.attacks[0].kind == "key-theft"


def test_stolen_certificate_needs_a_key_theft(
    problems_of: Problems, scenario_of: Build
) -> None:
    text = MINIMAL + "attacks:\n" + MITM + ", presents: stolen}\n"
    assert problems_of(text) == [
        "t.yaml:4: attacks[0].presents: 'stolen' needs a key-theft or "
        "token-theft attack in the scenario (got 'stolen')"
    ]
    assert scenario_of(text + THEFT + "}\n").attacks[1].kind == "key-theft"


def test_type_errors_and_rule_errors_are_reported_together(
    problems_of: Problems,
) -> None:
    text = (
        "name: demo\n"
        "duration: 2h\n"
        "seed: many\n"
        "pki: {workload_ttl: 100d}\n"
        "attacks:\n"
        "  - {kind: key-theft, start: 1h, node: node-1, persistent: maybe}\n"
        "  - {kind: mitm, start: 3h, duration: 1h, node: node-1}\n"
    )
    assert problems_of(text) == [
        "t.yaml:3: seed: must be an integer (got 'many')",
        "t.yaml:4: pki.workload_ttl: must not exceed pki.max_workload_ttl "
        "(90d) (got '100d')",
        "t.yaml:6: attacks[0].persistent: must be true or false (got 'maybe')",
        "t.yaml:7: attacks[1].start: must be before the end of the run "
        "(duration 2h) (got '3h')",
    ]


def test_rules_on_a_failed_key_wait_for_its_fix(problems_of: Problems) -> None:
    # mesh.nodes is wrong, so whether node-50 exists cannot be told yet
    text = MINIMAL + (
        "mesh: {nodes: many}\n"
        "attacks:\n"
        "  - {kind: mitm, start: 1h, duration: 1h, node: node-50}\n"
    )
    assert problems_of(text) == [
        "t.yaml:3: mesh.nodes: must be an integer (got 'many')"
    ]


def test_a_node_clock_is_given_one_offset(problems_of: Problems) -> None:
    text = MINIMAL + (
        "mesh:\n"
        "  nodes: 4\n"
        "  clock_skew:\n"
        "    offsets:\n"
        "      - {node: node-1, offset: 5s}\n"
        "      - {node: node-2, offset: 1s}\n"
        "      - {node: node-1, offset: 9s}\n"
    )
    assert problems_of(text) == [
        "t.yaml:9: mesh.clock_skew.offsets[2].node: already given an offset "
        "by mesh.clock_skew.offsets[0] (got 'node-1')"
    ]


def test_a_node_clock_offset_may_carry_either_sign(
    problems_of: Problems,
) -> None:
    # a signed duration: +30s is 30s ahead, as 30s is; -30s behind
    text = MINIMAL + (
        "mesh:\n"
        "  nodes: 4\n"
        "  clock_skew:\n"
        "    offsets:\n"
        "      - {node: node-1, offset: +30s}\n"
        "      - {node: node-2, offset: -30s}\n"
        "      - {node: node-3, offset: +-30s}\n"
    )
    assert problems_of(text) == [
        "t.yaml:9: mesh.clock_skew.offsets[2].offset: must not be negative "
        "(got '+-30s')"
    ]
    offsets = parse_scenario(
        text.replace("      - {node: node-3, offset: +-30s}\n", ""), "t.yaml"
    ).mesh.clock_skew.offsets
    assert [entry.offset for entry in offsets] == [30.0, -30.0]


def test_a_key_is_named_with_the_characters_it_hides(
    problems_of: Problems,
) -> None:
    # a zero-width space, a no-break space and an escape are written as
    # their codes: printed raw, the first two read "mesh.nodes: unknown
    # key" and the third clears the terminal
    text = MINIMAL + (
        'mesh:\n  \u200bnodes: 3\n  nodes\xa0: 4\n  "\\e[2J": 1\n'
    )

    assert problems_of(text) == [
        "t.yaml:4: mesh.\\u200bnodes: unknown key; did you mean 'nodes'?",
        "t.yaml:5: mesh.nodes\\xa0: unknown key; did you mean 'nodes'?",
        "t.yaml:6: mesh.\\x1b[2J: unknown key; expected one of "
        "trust_domain, nodes, workloads, service_accounts, namespaces, "
        "agent, mtls, outside, calls_per_service, clock_skew, churn",
    ]
