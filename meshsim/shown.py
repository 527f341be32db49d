"""Values as one-line messages show them: cut to a length, counted, and
with characters that would not show written as their codes.

Every message that quotes what it was given (a scenario's value, an
override, an argument, a field of a file meshsim reads) cuts it here, so
that a long value cannot push the rule off the line, and all of them end
a cut the same way: with ``…``, before a closing quote the text kept.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["counted", "cut", "cut_repr", "cut_value", "printable", "visible"]


def cut(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters: whole, or cut and ended
    with ``…`` (and its closing quote, when it is quoted)."""
    if len(text) <= limit:
        return text
    quoted = len(text) > 1 and text[0] == text[-1] and text[0] in "'\""
    quote = text[-1] if quoted else ""
    return text[: limit - 1 - len(quote)] + "…" + quote


def cut_repr(value: object, limit: int) -> str:
    """``repr(value)`` cut to ``limit`` characters."""
    return cut(repr(value), limit)


def cut_value(value: object, limit: int) -> str:
    """``value`` cut to ``limit`` characters: text as it reads, anything
    else as its ``repr``."""
    return cut(value if isinstance(value, str) else repr(value), limit)


def counted(number: int, noun: str) -> str:
    """``1 point``, ``3 points``: ``number`` of ``noun``."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


# characters that would not show as themselves: controls but tab and
# newline, and those that reorder or hide the text around them
_UNSEEN: Final = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)


def visible(text: str) -> str:
    """``text`` with each character that would not show as itself (a
    bell, an escape, a right-to-left override) written as its code,
    ``\\x07``: text a run or a folder holds, shown to a person."""
    return _UNSEEN.sub(lambda found: ascii(found.group())[1:-1], text)


def printable(text: str) -> str:
    """``text`` with each character Python would not print as itself
    written as its code: controls, format characters (a zero-width
    space) and separators but the plain space (a no-break space). For a
    key, which must be read exactly to be written again."""
    return "".join(
        char if char.isprintable() else ascii(char)[1:-1] for char in text
    )
