"""The token an agent holds: the kubelet's refresh at 80% of its life."""

from __future__ import annotations

import pytest

from meshsim.mesh.tokens import ServiceAccountToken, TokenSource


@pytest.mark.parametrize(
    ("now", "expires"),
    [
        (0.0, 3600.0),
        (2879.0, 3600.0),  # 0.8 * 3600 = 2880: not yet refreshed
        (2880.0, 2880.0 + 3600.0),
        (5000.0, 2880.0 + 3600.0),
        (5760.0, 5760.0 + 3600.0),
        (100.0, 3600.0),  # asked again for an earlier time
    ],
)
def test_token_held_was_issued_at_the_last_refresh(
    now: float, expires: float
) -> None:
    source = TokenSource("default", "web", ttl_s=3600.0)
    source.token_at(6000.0)  # a token held before the one asked for

    token = source.token_at(now)

    assert token == ServiceAccountToken("default", "web", expires_s=expires)
    assert token.problem_at(now) is None


def test_without_refresh_the_first_token_expires() -> None:
    source = TokenSource("default", "web", ttl_s=3600.0, refresh=False)

    assert source.token_at(3599.0).problem_at(3599.0) is None
    assert source.token_at(3600.0).problem_at(3600.0) == "token-expired"


def test_a_token_without_ttl_never_expires() -> None:
    source = TokenSource("default", "web", ttl_s=None)

    assert source.token_at(1e9) == ServiceAccountToken("default", "web")
    assert source.token_at(1e9).problem_at(1e9) is None


@pytest.mark.parametrize(
    ("refresh", "now", "expires"),
    [
        # a pod started at 5000 s holds a token issued then
        (False, 5000.0, 5000.0 + 3600.0),
        (False, 8599.0, 5000.0 + 3600.0),
        (True, 5000.0, 5000.0 + 3600.0),
        # refreshed 0.8 * 3600 = 2880 s after the pod started
        (True, 7879.0, 5000.0 + 3600.0),
        (True, 7880.0, 7880.0 + 3600.0),
    ],
)
def test_a_pod_started_later_holds_a_token_issued_as_it_started(
    refresh: bool, now: float, expires: float
) -> None:
    source = TokenSource("default", "web", ttl_s=3600.0, refresh=refresh)

    token = source.token_at(now, since=5000.0)

    assert token.expires_s == expires
    assert token.problem_at(now) is None


def test_a_token_for_another_audience_is_refused_first() -> None:
    # the CA accepts only tokens bound to its own audience, whatever
    # their time (docs/models.md, caller authentication)
    token = ServiceAccountToken("ns", "sa", audience="other", expires_s=10.0)

    assert token.problem_at(0.0) == "token-audience"
    assert token.problem_at(20.0) == "token-audience"
    assert ServiceAccountToken("ns", "sa").problem_at(0.0) is None
