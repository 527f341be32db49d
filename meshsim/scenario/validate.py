"""Check plain data against the schema and its rules, every problem at once.

Validation runs in two steps.  The schema checks each key's type and
range; then the rules that tie keys together run on a copy of the data
from which every failed key is removed (so defaults stand in), leaving out
any rule that reads a failed key.  One file thus reports its type errors
and its rule errors together.  A scenario that passes both is checked
last for what the simulator needs of it (``runnable``): those problems
show once the others are fixed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, cast

from pydantic import ValidationError

from meshsim.scenario.fields import UNITS_REQUIRED
from meshsim.scenario.messages import Failure, describe
from meshsim.scenario.overrides import override_source
from meshsim.scenario.problems import (
    ABSENT,
    KeyPath,
    NotWritten,
    Problem,
    ScenarioError,
    format_path,
)
from meshsim.scenario.profiles import with_profile
from meshsim.scenario.rules import check_scenario
from meshsim.scenario.runnable import require_runnable
from meshsim.scenario.schema import DEFER_RULES, Scenario

__all__ = ["check_data", "validate_mapping"]

# values for required keys that failed, so that the rules can still run;
# no rule reads them, since they are failed keys
_STAND_INS: Final[dict[str, object]] = {"name": "stand-in", "duration": "1s"}
_DROP: Final = object()


def validate_mapping(
    data: Mapping[str, Any],
    source: str,
    lines: Mapping[KeyPath, int] | None = None,
) -> Scenario:
    """Validate already-parsed data; raise ``ScenarioError`` listing all.

    ``lines`` maps key paths (``("pki", "workload_ttl")``) to the 1-based
    line each was written on, if the data came from a file.
    """
    return check_data(data, source, lines or {})


def check_data(
    data: object,
    source: str,
    lines: Mapping[KeyPath, int],
    *,
    earlier: Sequence[Problem] = (),
    reported: Collection[KeyPath] = (),
    origins: Mapping[KeyPath, str] | None = None,
    units_required: bool = False,
) -> Scenario:
    """Validate ``data``, adding the problems found while reading it.

    ``earlier`` are problems already found (duplicate keys, bad
    overrides); ``reported`` are key paths whose values those problems
    already cover; ``origins`` maps each key path set by an override to
    the override's text, to name it instead of a line. With
    ``units_required`` (data read from a file or an override) a duration
    must carry its unit; from Python a number is seconds.
    """
    context = {DEFER_RULES: True, UNITS_REQUIRED: units_required}
    origins = dict(origins or {})
    problems = list(earlier)
    if not isinstance(data, Mapping):
        where = _Locator(source, lines, origins)
        rule = "the top level must be a mapping of keys"
        raise ScenarioError([*problems, where.problem((), rule, data)])

    # step 0: a profile's defaults under the keys the data sets; an
    # override that named the profile set them too
    given = data
    data = with_profile(data)
    chosen = origins.get(("profile",))
    if chosen is not None:
        for path in _added(given, data, ()):
            origins.setdefault(path, chosen)
    where = _Locator(source, lines, origins)

    # step 1: types and ranges of each key
    failures = [
        f
        for f in _schema_failures(data, context)
        if not any(_overlaps(f.path, path) for path in reported)
    ]
    problems += [
        where.problem(f.path, f.rule, f.value, _kind_of(f.path, origins))
        for f in failures
    ]

    # step 2: rules across keys, on the keys that passed step 1
    failed = {f.path for f in failures} | set(reported)
    kept: dict[KeyPath, list[int]] = {}
    pruned = _prune(data, failed, (), kept)
    scenario = _scenario_or_none(pruned, failed, context)
    if scenario is not None:
        findings = check_scenario(scenario)
        # a key that breaks a rule of its own (a root_ttl too short) is
        # not also reported through the rules that read that very key
        # with others; a rule reading only a section around it still is
        alone = {_original(f.path, kept) for f in findings if not f.depends}
        for finding in findings:
            path = _original(finding.path, kept)
            read = [path, *(_original(d, kept) for d in finding.depends)]
            if any(_overlaps(p, bad) for p in read for bad in failed):
                continue
            if finding.depends and any(
                p[: len(bad)] == bad for p in read for bad in alone
            ):
                continue
            value = _raw_value(data, path, finding.value)
            if not _written(given, path):
                # a rule across keys can fail on a default: say so
                profiled = _written(data, path)
                origin = "the profile's" if profiled else "its default"
                value = NotWritten(value, origin)
            problems.append(where.problem(path, finding.rule, value, read))

    if problems or scenario is None:
        raise ScenarioError(problems)

    # step 3: what the simulator needs of the world (pods where attacks
    # land, X.509 dates), once the world itself is valid
    require_runnable(scenario, source, lines, origins)
    return scenario


def _added(given: object, data: object, here: KeyPath) -> list[KeyPath]:
    """The key paths ``data`` sets that ``given`` does not (what a
    profile brought in)."""
    if not isinstance(data, Mapping):
        return []
    if not isinstance(given, Mapping):
        return [here]
    paths = []
    for key, value in data.items():
        if key in given:
            paths += _added(given[key], value, (*here, key))
        else:
            paths.append((*here, key))
    return paths


def _kind_of(
    path: KeyPath, origins: Mapping[KeyPath, str]
) -> tuple[KeyPath, ...]:
    """The ``kind`` beside ``path``, if an override set it: which keys a
    mapping takes (an attack's) depends on its kind, so a key unknown or
    missing there is that override's doing, unless an override set the
    key itself (or what holds it): that one is named."""
    if any(path[:depth] in origins for depth in range(1, len(path) + 1)):
        return ()
    for depth in range(len(path) - 1, 0, -1):
        kind = (*path[:depth], "kind")
        if kind != path and kind in origins:
            return (kind,)
    return ()


def _schema_failures(
    data: Mapping[str, Any], context: Mapping[str, bool]
) -> list[Failure]:
    try:
        Scenario.model_validate(dict(data), context=dict(context))
    except ValidationError as exc:
        failures: list[Failure] = []
        for error in exc.errors():
            failure = describe(error, data)
            if failure not in failures:
                failures.append(failure)
        return failures
    return []


def _scenario_or_none(
    pruned: object, failed: Collection[KeyPath], context: Mapping[str, bool]
) -> Scenario | None:
    if not isinstance(pruned, dict):
        return None
    for key, stand_in in _STAND_INS.items():
        if (key,) in failed:
            pruned[key] = stand_in
    try:
        return Scenario.model_validate(pruned, context=dict(context))
    except ValidationError:
        # NOTE: a required key without a stand-in above; the rules across
        # keys then wait until the file passes the schema.
        return None


def _prune(
    value: object,
    failed: Collection[KeyPath],
    here: KeyPath,
    kept: dict[KeyPath, list[int]],
) -> object:
    """A copy of ``value`` without the failed keys.

    A list item with a failure anywhere inside goes whole; ``kept`` records,
    for each list, the original index of every item that stays.
    """
    if here in failed:
        return _DROP
    if isinstance(value, Mapping):
        result: dict[object, object] = {}
        for key, item in value.items():
            child = _prune(item, failed, (*here, key), kept)
            if child is not _DROP:
                result[key] = child
        return result
    if isinstance(value, list | tuple):
        items: list[object] = []
        indices = kept.setdefault(here, [])
        for index, item in enumerate(value):
            path = (*here, index)
            if any(bad[: len(path)] == path for bad in failed):
                continue
            items.append(_prune(item, failed, path, kept))
            indices.append(index)
        return items
    return value


def _original(path: KeyPath, kept: Mapping[KeyPath, list[int]]) -> KeyPath:
    """Map a path in the pruned data back to the path in the user's data."""
    result: list[str | int] = []
    for part in path:
        indices = kept.get(tuple(result))
        if (
            isinstance(part, int)
            and indices is not None
            and part < len(indices)
        ):
            part = indices[part]
        result.append(part)
    return tuple(result)


def _overlaps(a: KeyPath, b: KeyPath) -> bool:
    """Whether one path is the other or lies inside it."""
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]


def _raw_value(data: object, path: KeyPath, default: object) -> object:
    """The value as the user wrote it, if it is there and a scalar."""
    found, node = _at(data, path)
    if not found or isinstance(node, Mapping | list | tuple):
        return default
    return node


def _written(data: object, path: KeyPath) -> bool:
    """Whether ``data`` sets ``path`` itself."""
    return _at(data, path)[0]


def _at(data: object, path: KeyPath) -> tuple[bool, object]:
    """Whether ``data`` holds ``path``, and what it holds there."""
    node = data
    for part in path:
        if not _has(node, part):
            return False, None
        node = cast(Any, node)[part]
    return True, node


def _has(node: object, part: str | int) -> bool:
    if isinstance(node, Mapping):
        return part in node
    return (
        isinstance(node, list | tuple)
        and isinstance(part, int)
        and 0 <= part < len(node)
    )


@dataclass(frozen=True)
class _Locator:
    """Where a key path was written: a line of the file, or an override."""

    source: str
    lines: Mapping[KeyPath, int]
    origins: Mapping[KeyPath, str] = field(default_factory=dict)

    def problem(
        self,
        path: KeyPath,
        rule: str,
        value: object = ABSENT,
        read: Sequence[KeyPath] = (),
    ) -> Problem:
        """A problem at ``path``, placed where ``path`` was written.

        A rule across keys that ``read`` several keys is placed at the
        first one the user wrote, if ``path`` only holds a default.
        """
        shown = format_path(path)
        # an override is the latest change: named first, if it set one
        # of the keys read (it sets the whole value under its key)
        for key in read:
            setter = next(
                (
                    self.origins[key[:depth]]
                    for depth in range(len(key), 0, -1)
                    if key[:depth] in self.origins
                ),
                None,
            )
            if setter is not None:
                source = override_source(setter)
                return Problem(source, None, shown, rule, value)
        for key in read:
            if key in self.lines:
                return Problem(self.source, self.lines[key], shown, rule, value)
        for depth in range(len(path), -1, -1):
            prefix = path[:depth]
            if prefix in self.origins:
                source = override_source(self.origins[prefix])
                return Problem(source, None, shown, rule, value)
            if prefix in self.lines:
                line = self.lines[prefix]
                return Problem(self.source, line, shown, rule, value)
        return Problem(self.source, None, shown, rule, value)
