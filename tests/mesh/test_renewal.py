"""The agent's renewal rule and backoff, against their formulas."""

from __future__ import annotations

import numpy as np
import pytest

from meshsim.mesh.agent import Backoff, RenewalPolicy


def test_renewal_at_grace_point_without_jitter() -> None:
    # remaining <= g * lifetime  <=>  t >= now + (1 - g) * lifetime
    policy = RenewalPolicy(grace_ratio=0.5, jitter=0.0)
    (grace,) = policy.draw_graces(np.random.default_rng(0), 1)

    assert grace == 0.5
    assert policy.renew_at(100.0, 100.0 + 86_400.0, grace) == 43_300.0


def test_renewal_at_grace_ratio_other_than_half() -> None:
    policy = RenewalPolicy(grace_ratio=0.2, jitter=0.0)

    assert policy.renew_at(0.0, 3600.0, 0.2) == pytest.approx(2880.0)


def test_jittered_grace_stays_within_bounds_on_both_sides() -> None:
    policy = RenewalPolicy(grace_ratio=0.5, jitter=0.01)
    rng = np.random.default_rng(1)

    draws = np.array(policy.draw_graces(rng, 4000))

    assert draws.min() >= 0.49 and draws.max() <= 0.51
    # The sign is random: about half the draws fall on each side.
    assert 0.45 < (draws > 0.5).mean() < 0.55


def test_backoff_doubles_then_caps() -> None:
    backoff = Backoff(initial_s=1.0, max_s=60.0, multiplier=2.0)

    delays = [backoff.delay(n) for n in range(1, 9)]

    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]


def test_backoff_of_a_multiplier_past_any_float_is_the_cap() -> None:
    backoff = Backoff(initial_s=5.0, max_s=600.0, multiplier=1e308)

    delays = [backoff.delay(n) for n in (1, 2, 3, 40)]

    assert delays == [5.0, 600.0, 600.0, 600.0]


def test_fast_retries_never_wait_longer_than_the_cap() -> None:
    # backoff_max is the longest wait, quick retries included
    backoff = Backoff(
        initial_s=5.0, max_s=60.0, multiplier=2.0, fast_retries=40
    )

    delays = [backoff.delay(n) for n in range(1, 41)]

    assert delays[:10] == [0.1 * 2.0**k for k in range(10)]
    assert delays[10:] == [60.0] * 30
