"""A run may not outlast a root that nothing replaces, and no CA
certificate may be over, or due for re-issue or replacement, the moment
it is made."""

from __future__ import annotations

import pytest

from meshsim.mesh import ca
from meshsim.scenario import ScenarioError, parse_scenario
from meshsim.scenario.rules import CA_BACKDATE_S

BASE = "name: r\nduration: 4d\npki: {root_ttl: 2d}\n"


def test_run_longer_than_an_unreplaced_root_is_refused():
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(BASE, "r.yaml")

    # The root is valid from -1h, so it expires at 2d - 1h = 47h.
    assert str(caught.value) == (
        "r.yaml:2: duration: outlasts the root, which expires at 47h "
        "(pki.root_ttl less its 1h backdate) and is never replaced; set "
        "ca.rotation, ca.root_reissue_at or ca.root_rotations, or a longer "
        "root_ttl (got '4d')"
    )


@pytest.mark.parametrize(
    "renewal",
    [
        "ca: {root_reissue_at: 0.2}\n",
        "ca: {rotation: {prepare_at: 0.5, activate_at: 0.8}}\n",
        # roots made at 30h and 60h, each before the one it replaces
        # expires (47h, 77h), the last expiring at 107h, after the run
        "ca: {root_rotations: [{at: 30h}, {at: 60h}]}\n",
        # in any order
        "ca: {root_rotations: [{at: 70h, key: same}, {at: 40h}]}\n",
    ],
)
def test_a_root_that_is_replaced_may_be_outlasted(renewal):
    assert parse_scenario(BASE + renewal, "r.yaml").duration == 4 * 86400


def test_a_run_longer_than_the_last_replacement_root_is_refused():
    # made at 40h, the last root expires at 40h + 47h = 87h, before 4d
    text = BASE + "ca: {root_rotations: [{at: 40h}]}\n"

    assert _problems(text) == [
        "r.yaml:2: duration: outlasts the root put in by the last of "
        "ca.root_rotations (at 40h), which expires at 3d15h (pki.root_ttl "
        "less its 1h backdate after it is made); add a later one, set "
        "ca.rotation or ca.root_reissue_at, or a longer root_ttl "
        "(got '4d')"
    ]


def test_a_root_replaced_after_it_expired_is_refused():
    # the first root expires at 47h, the second is only put in at 50h
    text = "name: r\nduration: 3d\npki: {root_ttl: 2d}\n"
    text += "ca: {root_rotations: [{at: 50h}]}\n"

    assert _problems(text) == [
        "r.yaml:4: ca.root_rotations[0].at: must be before the root it "
        "replaces expires, at 47h (pki.root_ttl less its 1h backdate after "
        "the root is made) (got '50h')"
    ]


def _problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "r.yaml")
    return [str(problem) for problem in caught.value.problems]


def test_backdates_are_the_same_in_rules_and_ca():
    assert CA_BACKDATE_S == ca.CA_BACKDATE_S == 3600.0


@pytest.mark.parametrize(
    ("lifetimes", "line", "key"),
    [
        ("pki: {root_ttl: 1h, workload_ttl: 10m}\n", 3, "pki.root_ttl"),
        ("ca: {intermediate_ttl: 1h, root_reissue_at: 0.2}\n", 3,
         "ca.intermediate_ttl"),
    ],
)  # fmt: skip
def test_a_ca_lifetime_within_the_backdate_is_refused(lifetimes, line, key):
    # valid from 1h before it is made, a 1h certificate is over at once
    text = "name: r\nduration: 10m\n" + lifetimes
    if key == "pki.root_ttl":
        text += "ca: {root_reissue_at: 0.2}\n"

    assert (
        f"r.yaml:{line}: {key}: must be longer than 1h: CA certificates "
        "are valid from 1h before they are made (got '1h')"
    ) in _problems(text)


def test_a_root_ttl_within_the_backdate_is_one_problem_not_three():
    # the rules that read root_ttl with other keys (workload_ttl must be
    # shorter, duration must not outlast it) would only repeat it
    text = "name: r\nduration: 72h\npki: {root_ttl: 1h, workload_ttl: 24h}\n"

    assert _problems(text) == [
        "r.yaml:3: pki.root_ttl: must be longer than 1h: CA certificates "
        "are valid from 1h before they are made (got '1h')"
    ]


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        # a root that does not last the run, beside a bad intermediate
        (
            "duration: 72h\npki: {root_ttl: 2h, workload_ttl: 10m}\n"
            "ca: {intermediate_ttl: 30m}\n",
            ["duration", "ca.intermediate_ttl"],
        ),
        # a rotation point that is wrong for the intermediate, beside a
        # bad root
        (
            "duration: 10m\npki: {root_ttl: 30m, workload_ttl: 10m}\n"
            "ca: {intermediate_ttl: 10h,"
            " rotation: {prepare_at: 0.05, activate_at: 0.1}}\n",
            ["pki.root_ttl", "ca.rotation.activate_at"],
        ),
        # 'classes' with an attacker on the path, beside a node given
        # two clock offsets
        (
            "duration: 10h\nmesh: {clock_skew: {offsets: [{node: node-1,"
            " offset: 0s}, {node: node-1, offset: 0s}]}}\n"
            "traffic: {detail: classes}\nattacks: [{kind: key-theft,"
            " start: 1h, node: node-2}, {kind: mitm, start: 1h,"
            " duration: 1h, node: node-2, presents: stolen}]\n",
            ["mesh.clock_skew.offsets[1].node", "traffic.detail"],
        ),
    ],
)
def test_a_mistake_beside_a_key_broken_alone_is_still_reported(text, keys):
    found = [line.split(": ")[1] for line in _problems("name: r\n" + text)]

    assert found == keys


@pytest.mark.parametrize(
    ("root_ttl", "reissue_at", "limit"),
    [
        # (1 - f) * ttl <= 1h, with a second to spare either way for the
        # whole seconds of X.509 times: the limit is 1 - 3601s / (ttl - 1s)
        ("2h", 0.6, "0.4998"),
        ("2h", 0.4999, "0.4998"),
        ("1h1m", 0.2, "0.01585"),
    ],
)
def test_a_root_due_for_reissue_when_made_is_refused(
    root_ttl, reissue_at, limit
):
    text = (
        f"name: r\nduration: 2m\n"
        f"pki: {{root_ttl: {root_ttl}, workload_ttl: 10m}}\n"
        f"ca: {{root_reissue_at: {reissue_at}}}\n"
    )

    assert _problems(text) == [
        f"r.yaml:4: ca.root_reissue_at: must be below {limit}: with "
        f"pki.root_ttl {root_ttl}, a root valid from 1h before it is made "
        f"would be due for re-issue at once (got {reissue_at})"
    ]


def test_a_root_due_for_reissue_after_it_is_made_is_accepted():
    text = "name: r\nduration: 4h\npki: {root_ttl: 2h, workload_ttl: 10m}\n"
    scenario = parse_scenario(text + "ca: {root_reissue_at: 0.49}\n", "r.yaml")

    assert scenario.ca.root_reissue_at == 0.49


def test_a_signer_replaced_as_soon_as_it_is_made_is_refused():
    # 0.8 * 75m = 60m: each new intermediate would activate at once (the
    # limit is 3601s / (75m - 1s))
    text = (
        "name: r\nduration: 2h\npki: {workload_ttl: 10m}\n"
        "ca: {intermediate_ttl: 75m, "
        "rotation: {prepare_at: 0.5, activate_at: 0.8}}\n"
    )

    assert _problems(text) == [
        "r.yaml:4: ca.rotation.activate_at: must be above 0.8004: with "
        "ca.intermediate_ttl 1h15m, a signing CA valid from 1h before it is "
        "made would be replaced at once (got 0.8)"
    ]


def test_a_root_replaced_at_the_start_is_refused():
    text = "name: r\nduration: 1d\nca: {root_rotations: [{at: 0s}]}\n"

    assert _problems(text) == [
        "r.yaml:3: ca.root_rotations[0].at: must be after 0s: the CA "
        "starts with a root of its own; replace it later (got '0s')"
    ]
