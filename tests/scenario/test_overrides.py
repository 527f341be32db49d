"""Overrides: dotted.key=value on top of a file."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from meshsim.scenario import Scenario, ScenarioError, apply_overrides

from .conftest import FULL, MINIMAL

Problems = Callable[..., list[str]]
Build = Callable[..., Scenario]


def test_overrides_apply(scenario_of: Build) -> None:
    scenario = scenario_of(
        FULL,
        "mesh.workloads=20",
        "duration=24h",
        "ca.outages=[]",
        "attacks[0].persistent=false",
        "attacks.0.detected_after=null",
        "pki=[1]",
        "pki={workload_ttl: 2h}",
    )
    assert scenario.mesh.workloads == 20
    assert scenario.duration == 86400.0
    assert scenario.ca.outages == ()
    assert scenario.attacks[0].kind == "key-theft"
    assert scenario.attacks[0].persistent is False
    assert scenario.pki.workload_ttl == 7200.0
    assert scenario.pki.key == "ecdsa-p256"


def test_override_adds_keys_the_file_lacks(scenario_of: Build) -> None:
    scenario = scenario_of(
        MINIMAL, "ca.outages=[{start: 1h, duration: 10m}]", "mesh.nodes=3"
    )
    assert scenario.ca.outages[0].duration == 600.0
    assert scenario.mesh.nodes == 3


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("mesh.workloads", "override mesh.workloads: (document): must have"),
        (
            "=5",
            "override =5: (document): must have the form dotted.key=value "
            "(got '=5')",
        ),
        ("a..b=1", "override a..b=1: (document): not a dotted key path"),
        ("[0]=1", "override [0]=1: (document): must start with a key"),
        ("x=[", "override x=[: x: not valid YAML: "),
        (
            "attacks[3].start=1h",
            "override attacks[3].start=1h: attacks: has no",
        ),
        ("name.x=1", "override name.x=1: name: cannot set key 'x'"),
        ("name[0]=1", "override name[0]=1: name: cannot set item 0"),
        ("mesh[0]=1", "override mesh[0]=1: mesh: has no item 0"),
        (
            "attacks[1234567890].start=1m",
            "override attacks[1234567890].start=1m: (document): list indices "
            "have at most 9 digits",
        ),
        (
            "attacks.1234567890=1",
            "override attacks.1234567890=1: (document): list indices have at "
            "most 9 digits",
        ),
        ("x={a: 1, a: 2}", "override x={a: 1, a: 2}: x: duplicate key"),
    ],
)
def test_bad_override_is_reported_by_its_text(
    problems_of: Problems, override: str, expected: str
) -> None:
    lines = problems_of(MINIMAL, override)
    assert any(line.startswith(expected) for line in lines), lines


def test_a_long_override_is_named_by_its_first_hundred_characters(
    problems_of: Problems,
) -> None:
    text = "attacks=" + "k" * 200

    [line] = problems_of(MINIMAL, text)

    assert line.startswith(f"override {text[:99]}…: attacks: must be a list")
    assert line.endswith(f"(got '{'k' * 57}…')")


def test_a_key_set_in_a_list_is_told_items_are_numbered(
    problems_of: Problems,
) -> None:
    assert problems_of(FULL, "attacks.-1.start=1m") == [
        "override attacks.-1.start=1m: attacks: cannot set key '-1': a "
        "list, whose items are numbered from 0"
    ]


def test_a_rate_past_what_a_float_holds_is_not_said_to_expect_inf(
    problems_of: Problems,
) -> None:
    [line] = problems_of(MINIMAL, "traffic.rate=1e308")

    assert "expects more than 1e+308 connections in the run" in line


def test_value_an_override_sets_is_checked_and_named(
    problems_of: Problems,
) -> None:
    text = MINIMAL + "mesh:\n  nodes: 5\n"
    assert problems_of(text, "mesh.nodes=0", "mesh.agnet=x") == [
        "override mesh.nodes=0: mesh.nodes: must be at least 1 (got 0)",
        "override mesh.agnet=x: mesh.agnet: unknown key; did you mean 'agent'?",
    ]


def test_a_key_an_override_created_beneath_names_it(
    problems_of: Problems,
) -> None:
    # neither foo nor pki.foo is in the file: the override wrote them
    assert problems_of(MINIMAL + "pki: {jitter: 0.1}\n", "foo.bar=1") == [
        "override foo.bar=1: foo: unknown key; expected one of name, "
        "profile, seed, duration, start_time, mesh, pki, ca, agent, "
        "traffic, attacks"
    ]
    found = problems_of(MINIMAL + "pki: {jitter: 0.1}\n", "pki.foo.bar=1")
    assert len(found) == 1
    assert found[0].startswith("override pki.foo.bar=1: pki.foo: unknown key")


def test_a_key_missing_from_a_mapping_an_override_made_names_it(
    problems_of: Problems,
) -> None:
    # mesh is the file's, mesh.churn the override's: what churn lacks is
    # the override's to give, not the line of mesh
    text = MINIMAL + "mesh:\n  nodes: 5\n"
    assert problems_of(text, "mesh.churn.rate=1") == [
        "override mesh.churn.rate=1: mesh.churn.lifetime: required key is "
        "missing"
    ]


def test_the_override_that_replaced_a_mapping_owns_what_it_lacks(
    problems_of: Problems,
) -> None:
    text = MINIMAL + "mesh:\n  nodes: 5\n"
    assert problems_of(
        text, "mesh.churn.rate=2", "mesh.churn={lifetime: 1h}"
    ) == [
        "override mesh.churn={lifetime: 1h}: mesh.churn.rate: required key "
        "is missing"
    ]


def test_a_list_item_an_override_made_is_its_own_to_complete(
    problems_of: Problems,
) -> None:
    # the first override made the outage, the second only moved its start
    assert problems_of(
        MINIMAL, "ca.outages=[{start: 1h}]", "ca.outages[0].start=2h"
    ) == [
        "override ca.outages=[{start: 1h}]: ca.outages[0].duration: "
        "required key is missing"
    ]


def test_keys_an_attack_lacks_or_refuses_after_its_kind_changed_name_it(
    problems_of: Problems,
) -> None:
    # duration is the file's; the override made it a key-theft's, which
    # has none, or a mitm, which needs one
    mitm = "attacks:\n  - {kind: mitm, start: 1h, node: node-1, duration: 1m}\n"
    theft = "attacks:\n  - {kind: key-theft, start: 1h, node: node-1}\n"

    assert problems_of(MINIMAL + mitm, "attacks[0].kind=key-theft") == [
        "override attacks[0].kind=key-theft: attacks[0].duration: unknown "
        "key; expected one of kind, start, spread, node, workload, "
        "persistent, detected_after"
    ]
    assert problems_of(MINIMAL + theft, "attacks[0].kind=mitm") == [
        "override attacks[0].kind=mitm: attacks[0].duration: required key "
        "is missing"
    ]


def test_an_override_that_changes_nothing_leaves_problems_on_the_line(
    problems_of: Problems,
) -> None:
    # the kind and the profile were the file's already
    text = (
        MINIMAL
        + "profile: spire\n"
        + "pki: {workload_ttl: 30h}\n"
        + "attacks:\n  - {kind: mitm, start: 1h, node: node-1}\n"
    )
    expected = problems_of(text)

    assert problems_of(text, "attacks[0].kind=mitm", "profile=spire") == (
        expected
    )
    assert {line.split(":")[0] for line in expected} == {"t.yaml"}


def test_an_override_that_set_the_key_itself_is_named_before_the_kind(
    problems_of: Problems,
) -> None:
    text = (
        MINIMAL + "attacks:\n  - {kind: key-theft, start: 1h, node: node-1}\n"
    )
    assert problems_of(
        text,
        "attacks[0].kind=mitm",
        "attacks[0].persistent=false",
        "attacks[0].duration=1h",
    ) == [
        "override attacks[0].persistent=false: attacks[0].persistent: "
        "unknown key; did you mean 'presents'?"
    ]


def test_a_rule_broken_by_a_profile_an_override_chose_names_it(
    problems_of: Problems,
) -> None:
    # the TTL is the file's, the 24h root the profile's
    text = MINIMAL + "pki:\n  workload_ttl: 24h\n"
    assert problems_of(text, "profile=spire") == [
        "override profile=spire: pki.workload_ttl: must be shorter than "
        "pki.root_ttl (24h) (got '24h')"
    ]


def test_a_rule_across_keys_names_the_override_that_broke_it(
    problems_of: Problems,
) -> None:
    # the service accounts are the file's, the workloads the override's
    text = MINIMAL + "mesh:\n  workloads: 40\n  service_accounts: 8\n"
    assert problems_of(text, "mesh.workloads=5") == [
        "override mesh.workloads=5: mesh.service_accounts: must not exceed "
        "mesh.workloads (5) (got 8)"
    ]


def test_an_override_that_fails_leaves_no_key_behind(
    problems_of: Problems,
) -> None:
    # foo would be made as an empty list before item 0 is found missing
    assert problems_of(MINIMAL, "foo[0]=1", "mesh.x.y[2]=3") == [
        "override foo[0]=1: foo: has no item 0 (it has 0)",
        "override mesh.x.y[2]=3: mesh.x.y: has no item 2 (it has 0)",
    ]


def test_an_override_of_bytes_that_are_not_utf8_says_so(
    problems_of: Problems,
) -> None:
    # Python reads such arguments with surrogate escapes (U+DCxx)
    assert problems_of(MINIMAL, "name=caf\udce9\udcff") == [
        "override name=caf\\xe9\\xff: (document): not valid UTF-8 "
        "(got b'\\xe9\\xff')"
    ]


def test_rule_broken_by_an_override_names_it(problems_of: Problems) -> None:
    assert problems_of(MINIMAL, "mesh.workloads=20") == [
        "override mesh.workloads=20: mesh.service_accounts: must not exceed "
        "mesh.workloads (20) (got 40, its default)"
    ]


def test_a_rule_broken_inside_a_value_an_override_set_names_it(
    problems_of: Problems,
) -> None:
    # the rule also reads mesh.nodes, which the file wrote; the broken
    # value came whole from the override, so the override is named
    attack = "attacks=[{kind: key-theft, start: 1h, node: node-99}]"

    found = problems_of(MINIMAL + "mesh: {nodes: 10}\n", attack)

    assert len(found) == 1
    assert found[0].startswith(f"override {attack}: attacks[0].node: not in")


def test_file_problems_and_override_problems_come_together(
    problems_of: Problems,
) -> None:
    assert problems_of(MINIMAL + "seed: x\n", "oops") == [
        "t.yaml:3: seed: must be an integer (got 'x')",
        "override oops: (document): must have the form dotted.key=value "
        "(got 'oops')",
    ]


def test_apply_overrides_copies_the_data() -> None:
    data = {"mesh": {"nodes": 3}}
    changed = apply_overrides(data, ["mesh.nodes=4", "seed=0x10"])
    assert changed == {"mesh": {"nodes": 4}, "seed": 16}
    assert data == {"mesh": {"nodes": 3}}


def test_apply_overrides_raises_naming_each_bad_one() -> None:
    with pytest.raises(ScenarioError) as caught:
        apply_overrides({}, ["a", "b=[", "c=1"])
    assert [p.source for p in caught.value.problems] == [
        "override a",
        "override b=[",
    ]
