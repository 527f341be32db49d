"""Pydantic's validation errors, reworded as scenario rules.

Pydantic says where a value failed (its ``loc``) and which check failed
(its ``type``); this module turns both into a key path of the user's data
and a rule in the words of ``docs/scenario.md``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from meshsim.scenario.problems import ABSENT, KeyPath
from meshsim.scenario.schema import KINDS, Scenario

__all__ = ["Failure", "describe"]

_KIND: Final = "kind"
_KINDS_TEXT: Final = ", ".join(repr(kind) for kind in KINDS)
_TYPE_RULES: Final = {
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text",
    "model_type": "must be a mapping of keys",
    "model_attributes_type": "must be a mapping of keys",
    "dict_type": "must be a mapping of keys",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "missing": "required key is missing",
}
_BOUND_RULES: Final = {
    "greater_than": ("gt", "must be greater than"),
    "greater_than_equal": ("ge", "must be at least"),
    "less_than": ("lt", "must be less than"),
    "less_than_equal": ("le", "must be at most"),
}


@dataclass(frozen=True)
class Failure:
    """A failed check: the key path in the data, the rule, the value."""

    path: KeyPath
    rule: str
    value: object = ABSENT


def describe(error: ErrorDetails, data: object) -> Failure:
    """Reword one pydantic error about ``data`` as a ``Failure``."""
    path = _data_path(error["loc"], data)
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input", ABSENT)

    if kind == "extra_forbidden":
        return Failure(path, _unknown_key(path, data))
    if kind == "missing":
        return Failure(path, _TYPE_RULES[kind])
    if kind == "union_tag_invalid":
        rule = f"must be one of {_KINDS_TEXT}"
        return Failure((*path, _KIND), rule, ctx.get("tag", ABSENT))
    if kind == "union_tag_not_found":
        rule = f"required key is missing (one of {_KINDS_TEXT})"
        return Failure((*path, _KIND), rule)
    if kind == "literal_error":
        return Failure(path, f"must be {ctx.get('expected', '')}", value)
    if kind == "float_type" and type(value) is int:
        return Failure(path, "is too large", value)
    if kind in _BOUND_RULES:
        key, words = _BOUND_RULES[kind]
        return Failure(path, f"{words} {_number(ctx.get(key))}", value)
    if kind in _TYPE_RULES:
        return Failure(path, _TYPE_RULES[kind], value)
    if kind == "value_error":
        return Failure(path, str(ctx.get("error", error["msg"])), value)
    return Failure(path, str(error["msg"]), value)


def _number(bound: object) -> object:
    """``1`` rather than ``1.0`` for a bound such as ``lt=1``."""
    if isinstance(bound, float) and bound.is_integer():
        return int(bound)
    return bound


def _data_path(loc: tuple[int | str, ...], data: object) -> KeyPath:
    """Drop the parts of ``loc`` that are not keys of the data.

    Pydantic puts the tag of a tagged union (``mitm``) into the location;
    the user's data has it as the value of ``kind`` instead.
    """
    path: list[str | int] = []
    node = data
    for position, part in enumerate(loc):
        last = position == len(loc) - 1
        if (
            not last
            and isinstance(node, Mapping)
            and node.get(_KIND) == part
            and part in KINDS
        ):
            continue
        path.append(part)
        node = _child(node, part)
    return tuple(path)


def _child(node: object, part: int | str) -> object:
    if isinstance(node, Mapping):
        return node.get(part)
    if (
        isinstance(node, list | tuple)
        and isinstance(part, int)
        and 0 <= part < len(node)
    ):
        return node[part]
    return None


def _unknown_key(path: KeyPath, data: object) -> str:
    key = str(path[-1]) if path else ""
    valid = _valid_keys(path[:-1], data)
    if not valid:
        return "unknown key"
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    if close:
        return f"unknown key; did you mean {close[0]!r}?"
    return "unknown key; expected one of " + ", ".join(valid)


def _valid_keys(path: KeyPath, data: object) -> list[str]:
    """The keys the schema accepts in the mapping at ``path``."""
    models: list[type[BaseModel]] = [Scenario]
    node = data
    for part in path:
        node = _child(node, part)
        if isinstance(part, int):
            continue
        fields = [
            m.model_fields[part] for m in models if part in m.model_fields
        ]
        models = [m for f in fields for m in _models_in(f.annotation)]
    if len(models) > 1 and isinstance(node, Mapping):
        tagged = [m for m in models if _tag_of(m) == node.get(_KIND)]
        models = tagged or models
    keys: list[str] = []
    for model in models:
        keys += [k for k in model.model_fields if k not in keys]
    return keys


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models an annotation holds, through tuples, unions, Annotated."""
    if (
        get_origin(annotation) is None
        and isinstance(annotation, type)
        and issubclass(annotation, BaseModel)
    ):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def _tag_of(model: type[BaseModel]) -> object:
    field = model.model_fields.get(_KIND)
    return None if field is None else get_args(field.annotation)[0]
