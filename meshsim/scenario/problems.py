"""Problems found in a scenario, and the error that carries all of them.

A problem names where it is (file, line, key path), the rule it breaks and
the value that breaks it; it prints as one line::

    bad.yaml:7: pki.workload_ttl: must be longer than 0s (got '0s')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from meshsim.shown import cut, printable

__all__ = [
    "ABSENT",
    "DOCUMENT",
    "KeyPath",
    "NotWritten",
    "Problem",
    "ScenarioError",
    "format_path",
    "show_value",
]

KeyPath = tuple[str | int, ...]
"""Where a value sits in a scenario: mapping keys and list indices."""

DOCUMENT: Final = "(document)"
"""The path printed for problems of the whole file (empty, not YAML)."""

_MAX_SHOWN: Final = 60


class _Absent:
    """Marks a problem that has no offending value (a missing key)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = _Absent()


def format_path(path: KeyPath) -> str:
    """Render a key path the way users write it: ``attacks[0].node``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or DOCUMENT


@dataclass(frozen=True)
class NotWritten:
    """A value the scenario did not write, and where it came from: ``its
    default`` or ``the profile's``."""

    value: object
    origin: str


def show_value(value: object) -> str:
    """Render a value for an error line, in YAML's words, kept short."""
    if isinstance(value, NotWritten):
        shown = value.value
        if isinstance(shown, float):
            # not typed by the user: a fraction such as 5/6 kept short
            return f"{shown:.6g}, {value.origin}"
        return f"{show_value(shown)}, {value.origin}"
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dt.datetime):
        text = repr(value.isoformat())
    elif isinstance(value, dict):
        text = "a mapping"
    elif isinstance(value, list | tuple):
        text = _listed(value)
    elif isinstance(value, int) and value.bit_length() > 128:
        # str() of a huge int is refused by Python; estimate the digits
        digits = int(value.bit_length() * 0.30103) + 1
        text = f"an integer of about {digits} digits"
    else:
        text = repr(value)
    return cut(text, _MAX_SHOWN)


def _listed(items: list[object] | tuple[object, ...]) -> str:
    """``[1, 2h, …]``: items as shown alone (a list inside as ``a
    list``), no more than a line can show."""
    shown: list[str] = []
    length = 0
    for item in items:
        if length > _MAX_SHOWN:
            break
        part = "a list" if isinstance(item, list | tuple) else show_value(item)
        shown.append(part)
        length += len(part) + 2
    return "[" + ", ".join(shown) + "]"


@dataclass(frozen=True)
class Problem:
    """One broken rule: where, which rule, and the value that breaks it."""

    source: str
    line: int | None
    path: str
    rule: str
    value: object = ABSENT

    def __str__(self) -> str:
        where = (
            self.source if self.line is None else f"{self.source}:{self.line}"
        )
        got = "" if self.value is ABSENT else f" (got {show_value(self.value)})"
        return f"{where}: {printable(self.path)}: {self.rule}{got}"


def _order(problem: Problem) -> tuple[bool, int]:
    return (problem.line is None, problem.line or 0)


class ScenarioError(ValueError):
    """A scenario broke one or more rules; ``problems`` lists every one."""

    problems: list[Problem]

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(problems, key=_order)
        super().__init__("\n".join(str(p) for p in self.problems))
