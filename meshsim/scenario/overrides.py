"""Overrides: ``dotted.key=value`` changes applied on top of a scenario.

The key path is dotted, with list items by index (``attacks[0].start``
or ``attacks.0.start``); the value is read as YAML, the same way as a
scenario file, so ``mesh.workloads=20`` sets an integer, ``duration=24h``
a duration and ``ca.outages=[]`` an empty list.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from meshsim.scenario.problems import (
    DOCUMENT,
    KeyPath,
    Problem,
    ScenarioError,
    format_path,
)
from meshsim.scenario.yaml_loader import load_yaml
from meshsim.shown import cut

__all__ = [
    "Overridden",
    "apply_overrides",
    "key_path_problem",
    "override",
    "override_source",
]

_SEGMENT: Final = re.compile(
    r"(?P<key>[^\[\]=\s]*)(?P<indices>(?:\[[0-9]{1,9}\])*)"
)
_INDEX: Final = re.compile(r"\[([0-9]{1,9})\]")
_NUMBER: Final = re.compile(r"[0-9]{1,9}")
# an index too long to be one (at most 9 digits, as above)
_LONG_INDEX: Final = re.compile(r"\[[0-9]{10,}\]")
_LONG_NUMBER: Final = re.compile(r"[0-9]{10,}")
_FORM: Final = "must have the form dotted.key=value"
# the most of an override's text a message repeats
_SHOWN_MAX: Final = 100


@dataclass
class Overridden:
    """Data after overrides, and which override set each key path."""

    data: dict[str, Any]
    # each key path an override set, or made on the way to one
    origins: dict[KeyPath, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def apply_overrides(
    data: Mapping[str, Any], overrides: Sequence[str]
) -> dict[str, Any]:
    """Return a copy of ``data`` with each ``key=value`` override set.

    Raise ``ScenarioError`` naming every override that cannot be applied.
    """
    result = override(data, overrides)
    if result.problems:
        raise ScenarioError(result.problems)
    return result.data


def override(data: Mapping[str, Any], overrides: Sequence[str]) -> Overridden:
    """Apply overrides, collecting the problems instead of raising."""
    result = Overridden(copy.deepcopy(dict(data)))
    for text in overrides:
        source = override_source(text)
        try:
            path, value = _parse(text, source)
            found, before = _value_at(result.data, path)
            made = _set(result.data, path, value)
        except _OverrideError as exc:
            result.problems.append(
                Problem(source, None, exc.path, exc.rule, *exc.value)
            )
        else:
            if found and _same(before, value):
                # changed nothing: what was there stays where it was
                # written, and a problem with it is placed there
                continue
            # what an earlier override set beneath is replaced with it
            for key in list(result.origins):
                if key[: len(path)] == path:
                    del result.origins[key]
            # a mapping made on the way is the override's too: what it
            # lacks is for this override to give
            for key in (*made, path):
                result.origins[key] = text
    return result


def _value_at(data: object, path: KeyPath) -> tuple[bool, object]:
    """Whether ``data`` holds ``path``, and what it holds there."""
    node = data
    for part in path:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int):
            if part >= len(node):
                return False, None
            node = node[part]
        else:
            return False, None
    return True, node


def _same(one: object, other: object) -> bool:
    """Whether two values read from YAML are the same, types included
    (``1``, ``1.0`` and ``true`` are not)."""
    if type(one) is not type(other):
        return False
    if isinstance(one, dict) and isinstance(other, dict):
        return one.keys() == other.keys() and all(
            _same(one[key], other[key]) for key in one
        )
    if isinstance(one, list) and isinstance(other, list):
        return len(one) == len(other) and all(map(_same, one, other))
    return one == other


class _OverrideError(Exception):
    def __init__(self, path: str, rule: str, *value: object) -> None:
        super().__init__(rule)
        self.path = path
        self.rule = rule
        self.value = value


def _parse(text: str, source: str) -> tuple[KeyPath, object]:
    undecodable = _undecodable(text)
    if undecodable:
        # the shell passed bytes that are not UTF-8; Python keeps them as
        # lone surrogates, which YAML would call control characters
        raise _OverrideError(DOCUMENT, "not valid UTF-8", undecodable)
    key, equals, value_text = text.partition("=")
    if not equals or not key.strip():
        raise _OverrideError(DOCUMENT, _FORM, text)
    path = _key_path(key.strip())
    shown = format_path(path)

    try:
        document = load_yaml(value_text, source)
    except ScenarioError as exc:
        first = exc.problems[0]
        raise _OverrideError(shown, first.rule, first.value) from None
    if document.problems:
        first = document.problems[0]
        raise _OverrideError(shown, first.rule, first.value)
    return path, document.data


def override_source(text: str) -> str:
    """How a message names the override ``text``: ``override KEY=VALUE``,
    its bytes that were not UTF-8 as ``\\xNN`` and cut to 100
    characters (the value, if long, is shown in the message too)."""
    return f"override {cut(_shown(text), _SHOWN_MAX)}"


def _shown(text: str) -> str:
    """``text`` with the bytes that were not UTF-8 shown as ``\\xNN``, as
    they were given."""
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate given from Python
        return ascii(text)[1:-1]
    return raw.decode("utf-8", "backslashreplace")


def _undecodable(text: str) -> bytes:
    """The bytes of a command-line argument that were not UTF-8 (Python
    reads each as a surrogate escape, U+DC80 to U+DCFF)."""
    return bytes(
        ord(char) - 0xDC00 for char in text if "\udc80" <= char <= "\udcff"
    )


def key_path_problem(key: str) -> str | None:
    """The rule ``key`` breaks as an override's dotted key path, if any."""
    try:
        _key_path(key)
    except _OverrideError as error:
        return error.rule
    return None


def _key_path(key: str) -> KeyPath:
    if not key:
        raise _OverrideError(DOCUMENT, _FORM, key)
    path: list[str | int] = []
    for segment in key.split("."):
        first = segment.partition("[")[0]
        if _LONG_INDEX.search(segment) or _LONG_NUMBER.fullmatch(first):
            rule = "list indices have at most 9 digits"
            raise _OverrideError(DOCUMENT, rule, key)
        match = _SEGMENT.fullmatch(segment)
        if match is None or not (match["key"] or match["indices"]):
            raise _OverrideError(DOCUMENT, "not a dotted key path", key)
        name = match["key"]
        if _NUMBER.fullmatch(name):
            path.append(int(name))
        elif name:
            path.append(name)
        path += [int(i) for i in _INDEX.findall(match["indices"])]
    if not isinstance(path[0], str):
        raise _OverrideError(DOCUMENT, "must start with a key", key)
    return tuple(path)


def _set(data: dict[str, Any], path: KeyPath, value: object) -> list[KeyPath]:
    """Set ``path`` to ``value``, returning the key paths made on the way.

    One that fails leaves no key half made (``foo[0]=1`` would make
    ``foo`` an empty list before failing).
    """
    made: list[tuple[dict[str, Any], str]] = []
    try:
        _walk_and_set(data, path, value, made)
    except _OverrideError:
        if made:
            parent, key = made[0]
            del parent[key]
        raise
    # keys are made only beneath the first one made: the last ones on
    # the way to the value's
    first = len(path) - 1 - len(made)
    return [path[: first + n + 1] for n in range(len(made))]


def _walk_and_set(
    data: dict[str, Any],
    path: KeyPath,
    value: object,
    made: list[tuple[dict[str, Any], str]],
) -> None:
    """Set ``path`` to ``value``, listing in ``made`` each key it makes
    on the way."""
    node: Any = data
    for depth, part in enumerate(path):
        last = depth == len(path) - 1
        here = format_path(path[:depth])
        if isinstance(part, str):
            if isinstance(node, list):
                rule = (
                    f"cannot set key {part!r}: a list, whose items are "
                    "numbered from 0"
                )
                raise _OverrideError(here, rule)
            if not isinstance(node, dict):
                rule = f"cannot set key {part!r}: not a mapping"
                raise _OverrideError(here, rule, node)
            if last:
                node[part] = value
            else:
                if part not in node:
                    made.append((node, part))
                    node[part] = {} if isinstance(path[depth + 1], str) else []
                node = node[part]
        else:
            if not isinstance(node, list):
                rule = f"cannot set item {part}: not a list"
                raise _OverrideError(here, rule, node)
            if part >= len(node):
                rule = f"has no item {part} (it has {len(node)})"
                raise _OverrideError(here, rule)
            if last:
                node[part] = value
            else:
                node = node[part]
