"""Simulated seconds as integers of microseconds: the same instants, to
the microsecond, as the datetimes real certificates carry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import simpy
from hypothesis import example, given
from hypothesis import strategies as st

from meshsim.clock import SimClock, _half_even, simulated_now
from meshsim.pki.der import (
    GENERALIZED_FROM,
    GENERALIZED_FROM_US,
    posix_us,
    whole_second,
    whole_second_us,
)

STARTS = st.sampled_from(
    [
        datetime(2026, 1, 1, tzinfo=UTC),
        # Microseconds and an offset: both must carry through.
        datetime(
            2030, 5, 6, 7, 8, 9, 123457, tzinfo=timezone(-timedelta(hours=5))
        ),
    ]
)
# Ten years either side of the start, at any fraction of a second.
SECONDS = st.floats(min_value=-3.2e8, max_value=3.2e8, allow_nan=False)


@given(STARTS, SECONDS)
@example(datetime(2026, 1, 1, tzinfo=UTC), 0.0000005)
@example(datetime(2026, 1, 1, tzinfo=UTC), 0.0000015)
@example(datetime(2026, 1, 1, tzinfo=UTC), -2.5e-06)
@example(datetime(2026, 1, 1, tzinfo=UTC), 1800.9999995)
def test_microseconds_are_those_of_the_datetime(start, t):
    clock = SimClock(start)
    assert clock.to_posix_us(t) == posix_us(clock.to_datetime(t))


@given(STARTS, SECONDS)
def test_seconds_back_from_microseconds_are_those_of_the_datetime(start, t):
    clock = SimClock(start)
    at = clock.to_datetime(t)
    assert clock.posix_us_to_seconds(clock.to_posix_us(t)) == clock.to_seconds(
        at
    )


@given(STARTS, SECONDS)
def test_whole_seconds_cut_alike_in_both_forms(start, t):
    at = SimClock(start).to_datetime(t)
    assert whole_second_us(posix_us(at)) == posix_us(whole_second(at))


def test_posix_microseconds_count_from_1970_utc():
    # 2050-01-01 is 80 years of 365 days and 20 leap days after 1970.
    assert posix_us(GENERALIZED_FROM) == (80 * 365 + 20) * 86_400 * 10**6
    assert posix_us(GENERALIZED_FROM) == GENERALIZED_FROM_US
    assert posix_us(datetime(1970, 1, 1, 0, 0, 1, 5, tzinfo=UTC)) == 1_000_005


@given(st.floats(min_value=-1e15, max_value=1e15, allow_nan=False))
@example(0.5)
@example(1.5)
@example(2.5)
@example(-0.5)
@example(-1.5)
@example(0.49999999999999994)
def test_half_even_rounds_as_round_does(x):
    assert _half_even(x) == round(x)


def test_simulated_now_follows_the_environment_clock():
    env = simpy.Environment(initial_time=2.5)
    seen: list[tuple[float, float]] = []

    def sleeper(delays):
        for delay in delays:
            yield env.timeout(delay)
            seen.append((simulated_now(env), env.now))

    env.process(sleeper([0.25, 1e-9, 3600.0]))
    env.process(sleeper([0.0, 7.0]))
    env.run(until=10_000)
    assert seen and all(ours == simpy_now for ours, simpy_now in seen)
    assert simulated_now(env) == env.now == 10_000
