"""Value types of scenario keys that plain Python types do not say.

Each type reads what YAML gives (text or a number) and fails with the rule
it breaks, worded for the person who wrote the file.  Durations become
float seconds and are written back as canonical text (``1h30m``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Annotated, Final, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    PlainSerializer,
    ValidationInfo,
)
from pydantic_core import PydanticCustomError

from meshsim.scenario.durations import (
    NO_UNIT,
    NOT_FINITE,
    SHAPE,
    format_duration,
    parse_duration,
)

__all__ = [
    "MIN_RUN_S",
    "UNITS_REQUIRED",
    "Duration",
    "Name",
    "Offset",
    "OptionalPositiveDuration",
    "PositiveDuration",
    "RunDuration",
    "SignTime",
    "Timestamp",
    "TrustDomain",
    "rule_error",
]

MIN_RUN_S: Final = 0.001
"""The shortest run: a millisecond (shorter ones hold nothing, and their
hourly figures would have no bin)."""

_NAME: Final = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_TRUST_DOMAIN: Final = re.compile(r"[a-z0-9._-]+")
_TIMESTAMP_SHAPE: Final = (
    "must be an ISO 8601 timestamp such as 2026-01-01T00:00:00Z"
)
# a fraction of a second finer than Python's datetime holds, which it
# would cut without a word
_PAST_MICROSECONDS: Final = re.compile(r"[.,]\d{7,}")


def rule_error(rule: str) -> PydanticCustomError:
    """An error that pydantic reports with ``rule`` as its whole message."""
    return PydanticCustomError("meshsim", "{rule}", {"rule": rule})


UNITS_REQUIRED: Final = "meshsim.scenario.units_required"
"""Validation context key: when true, a duration must carry a unit, as in
a scenario file (``ttl: 24`` could mean hours or seconds); from Python a
number is seconds."""


class Seconds(float):
    """A number known to be seconds, which needs no unit: a default."""


def default_seconds(text: str) -> float:
    """The duration ``text`` as the default of a key."""
    return Seconds(parse_duration(text))


def _with_unit(value: object, info: ValidationInfo) -> object:
    """``value``, unless it is a number other than 0 where a unit is
    required."""
    context = info.context
    required = isinstance(context, dict) and context.get(UNITS_REQUIRED)
    if (
        not required
        or isinstance(value, bool | Seconds)
        or not isinstance(value, int | float)
        or value == 0
    ):
        return value
    # a unit would not mend an infinite or undefined number
    raise rule_error(NO_UNIT if math.isfinite(value) else NOT_FINITE)


def _seconds(value: object) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise rule_error(str(exc)) from None


def _signed_seconds(value: object) -> float:
    if isinstance(value, str) and value.startswith("-"):
        return -_seconds(value[1:])
    if isinstance(value, str) and value.startswith("+"):
        return _seconds(value[1:])
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and isinstance(value, int | float) and value < 0:
        return -_seconds(-value)
    return _seconds(value)


def _dump_signed(seconds: float) -> str:
    if seconds < 0:
        return "-" + format_duration(-seconds)
    return format_duration(seconds)


def _positive_seconds(value: object) -> float:
    seconds = _seconds(value)
    if seconds <= 0:
        raise rule_error("must be longer than 0s")
    return seconds


def _run_seconds(value: object) -> float:
    seconds = _seconds(value)
    if seconds < MIN_RUN_S:
        raise rule_error(f"must be at least {format_duration(MIN_RUN_S)}")
    return seconds


def _optional_positive_seconds(value: object) -> float | None:
    return None if value is None else _positive_seconds(value)


def _sign_time(value: object) -> float | str:
    if value == "measured":
        return "measured"
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        rule = str(exc)
        if rule == SHAPE:
            rule = "must be 'measured' or a duration such as 250ms"
        raise rule_error(rule) from None
    if seconds <= 0:
        raise rule_error("must be longer than 0s")
    return seconds


def _dump_seconds(seconds: float | None) -> str | None:
    return None if seconds is None else format_duration(seconds)


def _dump_sign_time(value: float | str) -> str:
    return value if isinstance(value, str) else format_duration(value)


def _timestamp(value: object) -> dt.datetime:
    if isinstance(value, str):
        if _PAST_MICROSECONDS.search(value):
            raise rule_error("must give seconds to 6 decimals at most")
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise rule_error(_TIMESTAMP_SHAPE) from None
    if not isinstance(value, dt.datetime):
        raise rule_error(_TIMESTAMP_SHAPE)
    if value.utcoffset() is None:
        raise rule_error("needs a time zone, such as Z or +02:00")
    return value


def _dump_timestamp(value: dt.datetime) -> str:
    text = value.isoformat()
    if value.utcoffset() == dt.timedelta(0):
        text = text.removesuffix("+00:00") + "Z"
    return text


def _name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise rule_error(
            "must be 1 to 64 of a-z, 0-9, '.', '_', '-', "
            "starting with a letter or digit"
        )
    return value


def _trust_domain(value: str) -> str:
    if not _TRUST_DOMAIN.fullmatch(value):
        raise rule_error("must be one or more of a-z, 0-9, '.', '_', '-'")
    return value


Duration = Annotated[
    float,
    BeforeValidator(_seconds),
    BeforeValidator(_with_unit),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
"""A duration of 0s or longer, in seconds."""

Offset = Annotated[
    float,
    BeforeValidator(_signed_seconds),
    BeforeValidator(_with_unit),
    PlainSerializer(_dump_signed, return_type=str, when_used="json"),
]
"""A duration that may be negative (``-30s``), in seconds."""

PositiveDuration = Annotated[
    float,
    BeforeValidator(_positive_seconds),
    BeforeValidator(_with_unit),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
"""A duration longer than 0s, in seconds."""

RunDuration = Annotated[
    float,
    BeforeValidator(_run_seconds),
    BeforeValidator(_with_unit),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
"""A run's simulated time: at least :data:`MIN_RUN_S`, in seconds."""

OptionalPositiveDuration = Annotated[
    float | None,
    BeforeValidator(_optional_positive_seconds),
    BeforeValidator(_with_unit),
    PlainSerializer(_dump_seconds, return_type=str | None, when_used="json"),
]
"""A duration longer than 0s, or null for none."""

SignTime = Annotated[
    float | Literal["measured"],
    BeforeValidator(_sign_time),
    BeforeValidator(_with_unit),
    PlainSerializer(_dump_sign_time, return_type=str, when_used="json"),
]
"""A duration longer than 0s, or ``"measured"``."""

Timestamp = Annotated[
    dt.datetime,
    BeforeValidator(_timestamp),
    PlainSerializer(_dump_timestamp, return_type=str, when_used="json"),
]
"""A point in time with a time zone (text in ISO 8601, or a datetime)."""

Name = Annotated[str, AfterValidator(_name)]
"""A scenario name: ``[a-z0-9][a-z0-9._-]{0,63}``."""

TrustDomain = Annotated[str, AfterValidator(_trust_domain)]
"""A SPIFFE trust domain name: ``[a-z0-9._-]+``."""
