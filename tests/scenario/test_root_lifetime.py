"""A run may not outlast a root that nothing replaces, and no CA
certificate may be over, or due for re-issue or replacement, the moment
it is made."""

from __future__ import annotations

from datetime import timedelta

import pytest

from meshsim.scenario import ScenarioError, parse_scenario

BASE = "name: r\nduration: 4d\npki: {root_ttl: 2d}\n"


def test_run_longer_than_an_unreplaced_root_is_refused():
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(BASE, "r.yaml")

    # Made at 0 s, the root lasts pki.root_ttl: it expires at 2d.
    assert str(caught.value) == (
        "r.yaml:2: duration: outlasts the root, which expires at 2d "
        "(pki.root_ttl) and is never replaced; set ca.rotation, "
        "ca.root_reissue_at or ca.root_rotations, or a longer root_ttl "
        "(got '4d')"
    )


@pytest.mark.parametrize(
    "renewal",
    [
        "ca: {root_reissue_at: 0.2}\n",
        "ca: {rotation: {prepare_at: 0.5, activate_at: 0.8}}\n",
        # roots made at 30h and 60h, each before the one it replaces
        # expires (48h, 78h), the last expiring at 108h, after the run
        "ca: {root_rotations: [{at: 30h}, {at: 60h}]}\n",
        # in any order
        "ca: {root_rotations: [{at: 70h, key: same}, {at: 40h}]}\n",
    ],
)
def test_a_root_that_is_replaced_may_be_outlasted(renewal):
    assert parse_scenario(BASE + renewal, "r.yaml").duration == 4 * 86400


def test_a_run_longer_than_the_last_replacement_root_is_refused():
    # made at 40h, the last root expires at 40h + 48h = 88h, before 4d
    text = BASE + "ca: {root_rotations: [{at: 40h}]}\n"

    assert _problems(text) == [
        "r.yaml:2: duration: outlasts the root put in by the last of "
        "ca.root_rotations (at 40h), which expires at 3d16h (pki.root_ttl "
        "after it is made); add a later one, set ca.rotation or "
        "ca.root_reissue_at, or a longer root_ttl (got '4d')"
    ]


def test_a_root_replaced_after_it_expired_is_refused():
    # the first root expires at 48h, the second is only put in at 50h
    text = "name: r\nduration: 3d\npki: {root_ttl: 2d}\n"
    text += "ca: {root_rotations: [{at: 50h}]}\n"

    assert _problems(text) == [
        "r.yaml:4: ca.root_rotations[0].at: must be before the root it "
        "replaces expires, at 2d (pki.root_ttl after the root is made) "
        "(got '50h')"
    ]


def _problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "r.yaml")
    return [str(problem) for problem in caught.value.problems]


@pytest.mark.parametrize(
    ("lifetimes", "line", "key"),
    [
        ("pki: {root_ttl: 500ms, workload_ttl: 10m}\n", 3, "pki.root_ttl"),
        ("ca: {intermediate_ttl: 500ms, root_reissue_at: 0.2}\n", 3,
         "ca.intermediate_ttl"),
    ],
)  # fmt: skip
def test_a_ca_lifetime_under_a_second_is_refused(lifetimes, line, key):
    # X.509 validity counts whole seconds: such a certificate could end
    # the second it is made
    text = "name: r\nduration: 10m\n" + lifetimes
    if key == "pki.root_ttl":
        text += "ca: {root_reissue_at: 0.2}\n"

    assert (
        f"r.yaml:{line}: {key}: must be at least 1s: X.509 validity counts "
        "whole seconds (got '500ms')"
    ) in _problems(text)


def test_a_root_ttl_under_a_second_is_one_problem_not_three():
    # the rules that read root_ttl with other keys (workload_ttl must be
    # shorter, duration must not outlast it) would only repeat it
    text = "name: r\nduration: 72h\npki: {root_ttl: 500ms, workload_ttl: 24h}\n"

    assert _problems(text) == [
        "r.yaml:3: pki.root_ttl: must be at least 1s: X.509 validity counts "
        "whole seconds (got '500ms')"
    ]


def test_a_ca_certificate_lasts_its_ttl_from_when_it_is_made(small, simulate):
    # SPIRE's schedule for a CA of 24h: the next is made at 12h of its
    # life and signs from 20h; each lasts 24h from when it is made
    # (its NotBefore an hour earlier). Roots are made at 0, 12h, 24h,
    # 36h and 48h; at 50h the bundle starts with the one made at 36h,
    # those before it dropped once expired (at 24h, 36h, 48h).
    run = simulate(
        small(
            "duration=50h",
            "pki.workload_ttl=1h",
            "pki.root_ttl=24h",
            "ca.rotation={prepare_at: 0.5, activate_at: 0.8333}",
            "attacks=[]",
            "traffic.rate=0",
            "pki.crypto=modeled",
        )
    )
    first = run.result.roots[0]
    start = run.result.scenario.start_time

    assert first.not_valid_before_utc - start == timedelta(hours=35)
    assert first.not_valid_after_utc - start == timedelta(hours=60)


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        # a root that does not last the run, beside a bad intermediate
        (
            "duration: 72h\npki: {root_ttl: 2h, workload_ttl: 10m}\n"
            "ca: {intermediate_ttl: 500ms}\n",
            ["duration", "ca.intermediate_ttl"],
        ),
        # a rotation point that is wrong for the intermediate, beside a
        # bad root
        (
            "duration: 10m\npki: {root_ttl: 500ms, workload_ttl: 10m}\n"
            "ca: {intermediate_ttl: 10s,"
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
    ("root_ttl", "reissue_at", "rule"),
    [
        # due at once when (1 - f) * ttl is a second or less, with a
        # second to spare for X.509's whole seconds: 1 - 1s / (ttl - 1s),
        # rounded down (8/9, 7198/7199 = 0.99986109..., 1 - 1/315359999)
        ("10s", 0.9, "must be below 0.8888"),
        ("2h", 0.99995, "must be below 0.99986"),
        ("3650d", 0.999999997, "must be below 0.9999999968"),
        # 1 - 1/111 = 0.990990...: 0.9909 is further from it than 1% of
        # its distance to 1, so a fifth digit
        ("1m52s", 0.995, "must be below 0.99099"),
        # 1 - 1/20 is the float just under 0.95: rounded down from there
        ("21s", 0.96, "must be below 0.9499"),
        ("2s", 0.5, "cannot be met by any fraction"),
    ],
)
def test_a_root_due_for_reissue_when_made_is_refused(
    root_ttl, reissue_at, rule
):
    text = (
        f"name: r\nduration: 2m\n"
        f"pki: {{root_ttl: {root_ttl}, workload_ttl: 1s}}\n"
        f"ca: {{root_reissue_at: {reissue_at}}}\n"
    )

    assert _problems(text) == [
        f"r.yaml:4: ca.root_reissue_at: {rule}: with pki.root_ttl "
        f"{root_ttl}, a root would be due for re-issue the moment it is "
        f"made (got {reissue_at})"
    ]


def test_a_root_due_for_reissue_after_it_is_made_is_accepted():
    # (1 - 0.88) * 9s = 1.08s, more than a second
    text = "name: r\nduration: 4h\npki: {root_ttl: 10s, workload_ttl: 1s}\n"
    scenario = parse_scenario(text + "ca: {root_reissue_at: 0.88}\n", "r.yaml")

    assert scenario.ca.root_reissue_at == 0.88


def test_a_signer_replaced_as_soon_as_it_is_made_is_refused():
    # 0.1 * (10s - 1s) = 0.9s: each new intermediate would activate at
    # once (the limit is 1s / 9s)
    text = (
        "name: r\nduration: 2h\npki: {workload_ttl: 10m}\n"
        "ca: {intermediate_ttl: 10s, "
        "rotation: {prepare_at: 0.05, activate_at: 0.1}}\n"
    )

    assert _problems(text) == [
        "r.yaml:4: ca.rotation.activate_at: must be above 0.1112: with "
        "ca.intermediate_ttl 10s, a signing CA would be replaced the moment "
        "it is made (got 0.1)"
    ]


def test_a_root_replaced_at_the_start_is_refused():
    text = "name: r\nduration: 1d\nca: {root_rotations: [{at: 0s}]}\n"

    assert _problems(text) == [
        "r.yaml:3: ca.root_rotations[0].at: must be after 0s: the CA "
        "starts with a root of its own; replace it later (got '0s')"
    ]


def test_a_one_second_signer_under_rotation_is_refused():
    # made at a fraction of a second, a 1s intermediate may end within
    # the second it is made: no activation point lies after its making
    text = (
        "name: r\nduration: 2h\npki: {workload_ttl: 10m}\n"
        "ca: {intermediate_ttl: 1s, "
        "rotation: {prepare_at: 0.5, activate_at: 0.9}}\n"
    )

    assert _problems(text) == [
        "r.yaml:4: ca.rotation.activate_at: cannot be met by any fraction: "
        "with ca.intermediate_ttl 1s, a signing CA would be replaced the "
        "moment it is made (got 0.9)"
    ]


def test_a_small_bound_keeps_four_significant_digits():
    # activate_at must exceed 1s / (1h - 1s) = 0.00027785...: rounded up
    # to four significant digits, not four decimals
    text = (
        "name: r\nduration: 2h\npki: {workload_ttl: 10m}\n"
        "ca: {intermediate_ttl: 1h, "
        "rotation: {prepare_at: 0.0001, activate_at: 0.0002}}\n"
    )

    (problem,) = _problems(text)

    assert "activate_at: must be above 0.0002779: " in problem
