"""YAML's own scalar types, read by the YAML 1.2 core schema.

PyYAML resolves plain scalars by YAML 1.1, where ``yes``, ``off`` and
``y`` are booleans and ``1:30`` is the integer 90.  meshsim reads by the
YAML 1.2 core schema instead: only ``true``/``false`` (any case) are
booleans, so ``yes``, ``no``, ``on`` and ``off`` stay text, and so does
``1:30``; integers are decimal (``017`` is 17), ``0o17`` or ``0x1f``;
``1_000`` is text.  Nothing else is resolved implicitly: a timestamp is
text, for the schema to read.  Reading and writing share these rules, so
that text written out reads back as the same value.
"""

from __future__ import annotations

import re
from typing import Final

from yaml.resolver import BaseResolver

__all__ = ["TAG", "CoreResolver", "convert_scalar", "short_tag"]

TAG: Final = "tag:yaml.org,2002:"
"""The prefix of YAML's own tags (``!!int`` is ``TAG + "int"``)."""

_MAX_DIGITS: Final = 100
_NULL: Final = re.compile(r"^(?:~|null|Null|NULL|)\Z")
_BOOL: Final = re.compile(r"^(?:true|false)\Z", re.IGNORECASE)
_INT: Final = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)\Z")
_FLOAT: Final = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\Z"
)
_PATTERNS: Final = {
    TAG + "null": _NULL,
    TAG + "bool": _BOOL,
    TAG + "int": _INT,
    TAG + "float": _FLOAT,
}


class CoreResolver(BaseResolver):
    """Resolve plain scalars by the YAML 1.2 core schema only."""


# a table of its own, not the YAML 1.1 one PyYAML's resolvers share;
# order matters: "5" is an int before it is a float
CoreResolver.yaml_implicit_resolvers = {}
for _tag, _pattern in _PATTERNS.items():
    CoreResolver.add_implicit_resolver(_tag, _pattern, None)


def short_tag(tag: str) -> str:
    """``!!int`` for YAML's own ``int`` tag; any other tag as it is."""
    return "!!" + tag.removeprefix(TAG) if tag.startswith(TAG) else tag


def convert_scalar(tag: str, text: str) -> tuple[object, str | None]:
    """The value of a scalar, or its text and the rule it breaks."""
    if tag == TAG + "str":
        return text, None
    pattern = _PATTERNS.get(tag)
    if pattern is None:
        return short_tag(tag), "unsupported tag"
    if not pattern.match(text):
        return text, f"not a valid {short_tag(tag)}"
    if tag == TAG + "null":
        return None, None
    if tag == TAG + "bool":
        return text.lower() == "true", None
    if tag == TAG + "float":
        text = text.lower().replace(".inf", "inf").replace(".nan", "nan")
        return float(text), None

    digits = text.lstrip("+-")
    if len(digits) > _MAX_DIGITS:
        # Python refuses to read very long integers; none is meaningful here
        return text[:20] + "…", f"numbers may have at most {_MAX_DIGITS} digits"
    sign = -1 if text.startswith("-") else 1
    if digits.startswith("0o"):
        return sign * int(digits[2:], 8), None
    if digits.startswith("0x"):
        return sign * int(digits[2:], 16), None
    return sign * int(digits, 10), None
