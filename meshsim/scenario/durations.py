"""Durations as scenario files write them (``90s``, ``1h30m``) and seconds.

A duration is text made of parts, each a number and a unit, from the
largest unit to the smallest: ``7d``, ``24h``, ``1h30m``, ``250ms``,
``1.5h``.  A plain number (not text) counts as seconds here; a scenario
file must give a unit (``meshsim.scenario.fields.UNITS_REQUIRED``).
Inside meshsim a duration is a float number of simulated seconds.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from itertools import pairwise
from typing import Final

__all__ = [
    "MAX_SECONDS",
    "NO_UNIT",
    "UNITS",
    "format_duration",
    "parse_duration",
]

UNITS: Final = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
"""Each unit a duration may use, with its length in seconds."""

MAX_SECONDS: Final = 1000 * 365.25 * 86400.0
"""The longest duration accepted: 1000 years; anything longer is a typo."""

_UNIT_ORDER: Final = tuple(UNITS)
_PART: Final = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)")
_BARE_NUMBER: Final = re.compile(r"[-+]?[0-9]+(?:\.[0-9]+)?")
_MS: Final = {"d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1000, "ms": 1}

SHAPE: Final = "must be a duration such as 90s, 15m, 24h, 7d or 1h30m"
NO_UNIT: Final = "needs a unit (ms, s, m, h, d)"
NEGATIVE: Final = "must not be negative"
NOT_FINITE: Final = "must be a finite number of seconds"
TOO_LONG: Final = "must be at most 1000 years"
ORDER: Final = "units must run from largest to smallest, each once"


def parse_duration(value: object) -> float:
    """Return ``value`` in seconds; raise ``ValueError`` naming the rule.

    ``value`` is a duration text (``"1h30m"``) or a plain int or float of
    seconds.  Negative, NaN, infinite and absurd (over 1000 years) values
    are refused, and so is a text of digits without a unit (``"90"``).
    """
    if isinstance(value, bool):
        raise ValueError(SHAPE)
    if isinstance(value, int):
        return _bounded(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(NOT_FINITE)
        return _bounded(value)
    if not isinstance(value, str):
        raise ValueError(SHAPE)
    return _bounded(_parse_text(value.strip()))


def _parse_text(text: str) -> float:
    if _BARE_NUMBER.fullmatch(text):
        raise ValueError(NEGATIVE if text.startswith("-") else NO_UNIT)
    if text.startswith("-") and _parts(text[1:]):
        raise ValueError(NEGATIVE)

    parts = _parts(text)
    if not parts:
        raise ValueError(SHAPE)
    ranks = [_UNIT_ORDER.index(unit) for _, unit in parts]
    if any(a >= b for a, b in pairwise(ranks)):
        raise ValueError(ORDER)

    # one part keeps the number as written, so "0.1s" is exactly 0.1;
    # several parts add up in milliseconds, exact for whole milliseconds
    if len(parts) == 1:
        number, unit = parts[0]
        if unit == "s":
            return float(number)
        if unit == "ms":
            return float(number) / 1000
        return float(number) * UNITS[unit]
    total_ms = sum(float(number) * _MS[unit] for number, unit in parts)
    return total_ms / 1000


def _parts(text: str) -> list[tuple[str, str]]:
    """Split ``1h30m`` into ``[("1", "h"), ("30", "m")]``; [] if not one."""
    parts: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        match = _PART.match(text, position)
        if match is None:
            return []
        parts.append((match.group(1), match.group(2)))
        position = match.end()
    return parts


def _bounded(seconds: float) -> float:
    if seconds < 0:
        raise ValueError(NEGATIVE)
    if seconds > MAX_SECONDS:
        raise ValueError(TOO_LONG)
    return float(seconds)


def format_duration(seconds: float) -> str:
    """Return the canonical text of a duration: ``5400`` gives ``1h30m``.

    Whole milliseconds are written with units from days (only from two
    days on, so one day reads ``24h``) down to ``ms``; any other value is
    written as exact seconds (``0.0005s``).  ``parse_duration`` of the
    result always gives ``seconds`` back.
    """
    if isinstance(seconds, bool) or not math.isfinite(seconds):
        raise ValueError(f"seconds: {NOT_FINITE} (got {seconds!r})")
    if seconds < 0:
        raise ValueError(f"seconds: {NEGATIVE} (got {seconds!r})")
    if seconds == 0:
        return "0s"

    text = _in_units(round(seconds * 1000))
    try:
        if text and parse_duration(text) == seconds:
            return text
    except ValueError:
        # longer than a scenario may hold: shown in units all the same
        if text and round(seconds * 1000) / 1000 == seconds:
            return text
    # positional notation: repr() may use an exponent, which units do not
    plain = format(Decimal(repr(float(seconds))), "f")
    return f"{plain}s"


def _in_units(total_ms: int) -> str:
    parts: list[str] = []
    rest = total_ms
    for unit, length in _MS.items():
        if unit == "d" and rest < 2 * length:
            continue
        count, rest = divmod(rest, length)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
