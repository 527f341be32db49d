"""What the report needs of a sweep's ``manifest.json``.

``meshsim sweep`` writes every field below; a manifest edited by hand is
refused with the first field that is missing or wrong, rather than shown
on a page that would misstate the sweep. Only ``description`` may be
left out (a sweep file need not have one).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Final

from meshsim.experiment.sweep_file import MAX_REPLICATIONS
from meshsim.scenario.schema import MAX_SEED
from meshsim.shown import cut_repr

__all__ = ["check_manifest"]


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _texts(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _mapping(value: Any) -> bool:
    return isinstance(value, dict)


def _named(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _keys(value: Any) -> bool:
    return _texts(value) and len(set(value)) == len(value)


def _whole(value: Any, least: int, most: int) -> bool:
    whole = isinstance(value, int) and not isinstance(value, bool)
    return whole and least <= value <= most


def _seconds(value: Any) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        seconds = float(value)
    except OverflowError:  # a whole number of hundreds of digits
        return False
    return math.isfinite(seconds) and seconds >= 0


def _points(value: Any) -> bool:
    return isinstance(value, list) and len(value) > 0


def _point_problem(index: int, point: Any) -> str | None:
    """What is wrong with ``points[index]``, if anything."""
    where = f"points[{index}]"
    if not isinstance(point, dict):
        return f"{where} must be a mapping (got {cut_repr(point, 40)})"
    if not isinstance(point.get("id"), str):
        return f"{where}.id must be text (got {cut_repr(point.get('id'), 40)})"
    if not isinstance(point.get("label", ""), str):
        return (
            f"{where}.label must be text (got {cut_repr(point['label'], 40)})"
        )
    if not isinstance(point.get("settings", {}), dict):
        settings = cut_repr(point["settings"], 40)
        return f"{where}.settings must be a mapping (got {settings})"
    return None


_FIELDS: Final[dict[str, tuple[Callable[[Any], bool], str]]] = {
    "sweep": (_named, "a name (text)"),
    "sweep_file": (_text, "text"),
    "sweep_sha256": (_text, "text"),
    "base_scenario": (_text, "text"),
    "overrides": (_texts, "a list of text"),
    "root_seed": (
        lambda v: _whole(v, 0, MAX_SEED),
        f"a whole number from 0 to {MAX_SEED}",
    ),
    "replications": (
        lambda v: _whole(v, 1, MAX_REPLICATIONS),
        f"a whole number from 1 to {MAX_REPLICATIONS:,}",
    ),
    "warmup_s": (_seconds, "a finite number of seconds, 0 or more"),
    "parameters": (_keys, "a list of keys (text), each once"),
    "points": (_points, "a list of one point or more"),
    "executor": (_mapping, "a mapping"),
    "command": (_text, "text"),
    "created_at": (_text, "text"),
    "started_at": (_text, "text"),
    "finished_at": (_text, "text"),
}
# a sweep file's set section: manifests written before it was recorded
# lack it
_OPTIONAL: Final = {
    "description": (_text, "text"),
    "set": (_texts, "a list of text"),
}


def check_manifest(manifest: Any) -> None:
    """Raise ``ValueError`` naming the first field of ``manifest`` that
    the report cannot read: missing, or not what meshsim writes there."""
    if not isinstance(manifest, dict):
        raise ValueError("manifest.json: not a JSON object")
    for key, (fits, words) in (_FIELDS | _OPTIONAL).items():
        if key not in manifest:
            if key in _OPTIONAL:
                continue
            raise ValueError(f"manifest.json: no {key}")
        if not fits(manifest[key]):
            raise ValueError(
                f"manifest.json: {key} must be {words} "
                f"(got {cut_repr(manifest[key], 40)})"
            )
    seen: set[str] = set()
    for index, point in enumerate(manifest["points"]):
        problem = _point_problem(index, point)
        if problem is None and point["id"] in seen:
            problem = f"points[{index}].id {point['id']!r} names two points"
        if problem is not None:
            raise ValueError(f"manifest.json: {problem}")
        seen.add(point["id"])
