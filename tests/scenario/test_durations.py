"""Durations: text with units to seconds and back."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshsim.scenario import format_duration, parse_duration
from meshsim.scenario.durations import MAX_SECONDS


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("15m", 900.0),
        ("24h", 86400.0),
        ("7d", 604800.0),
        ("1h30m", 5400.0),
        ("250ms", 0.25),
        ("1.5h", 5400.0),
        ("0s", 0.0),
        ("1d12h", 129600.0),
        ("0.1s", 0.1),
        (90, 90.0),
        (2.5, 2.5),
        (0, 0.0),
    ],
)
def test_duration_forms_parse_to_seconds(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_digits_without_unit_need_a_unit() -> None:
    with pytest.raises(ValueError, match=r"needs a unit \(ms, s, m, h, d\)"):
        parse_duration("90")


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("-5s", "must not be negative"),
        (-1, "must not be negative"),
        (-0.5, "must not be negative"),
        (math.nan, "must be a finite number"),
        (math.inf, "must be a finite number"),
        ("1001y", "must be a duration such as"),
        ("2000000d", "must be at most 1000 years"),
        (10**40, "must be at most 1000 years"),
        ("30m1h", "units must run from largest to smallest"),
        ("1h1h", "units must run from largest to smallest"),
        ("1:30", "must be a duration such as"),
        ("24 h", "must be a duration such as"),
        ("", "must be a duration such as"),
        (True, "must be a duration such as"),
        (None, "must be a duration such as"),
        ([1], "must be a duration such as"),
        # digits of other scripts (Arabic-Indic, mathematical) are refused
        ("\u0661h", "must be a duration such as"),
        ("\U0001d7d7s", "must be a duration such as"),
        ("\u0661\u0662", "must be a duration such as"),
    ],
)
def test_bad_durations_name_their_rule(value: object, rule: str) -> None:
    with pytest.raises(ValueError, match=rule):
        parse_duration(value)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (86400.0, "24h"),
        (5400, "1h30m"),
        (0.001, "1ms"),
        (0, "0s"),
        (90, "1m30s"),
        (172800, "2d"),
        (180000, "2d2h"),
        (3650 * 86400, "3650d"),
        (0.25, "250ms"),
        (0.0005, "0.0005s"),
        (1e-9, "0.000000001s"),
        # longer than a scenario may hold, as an error shows it
        (3_000_000 * 86400.0, "3000000d"),
    ],
)
def test_format_duration_is_canonical(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("seconds", [-1.0, math.nan, math.inf])
def test_format_duration_refuses_what_is_not_a_duration(
    seconds: float,
) -> None:
    with pytest.raises(ValueError, match="seconds"):
        format_duration(seconds)


@given(st.floats(min_value=0, max_value=MAX_SECONDS))
def test_format_then_parse_gives_the_same_seconds(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@given(st.integers(min_value=0, max_value=10**12))
def test_whole_milliseconds_round_trip_through_units(ms: int) -> None:
    seconds = ms / 1000
    text = format_duration(seconds)
    assert "." not in text
    assert parse_duration(text) == seconds
