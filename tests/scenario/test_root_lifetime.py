"""A run may not outlast a root that nothing replaces."""

from __future__ import annotations

import pytest

from meshsim.scenario import ScenarioError, parse_scenario

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
        "ca: {root_rotations: [{at: 40h}]}\n",
    ],
)
def test_a_root_that_is_replaced_may_be_outlasted(renewal):
    assert parse_scenario(BASE + renewal, "r.yaml").duration == 4 * 86400
