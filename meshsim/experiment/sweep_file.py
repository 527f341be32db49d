"""Sweep files: a base scenario, the keys to vary, and replications.

A sweep file is YAML read like a scenario file (lines kept, duplicate
keys refused) and checked as a whole: every problem is reported at once,
one line each, as ``FILE:LINE: key.path: rule (got VALUE)``. Its keys
are documented in ``docs/experiments.md``::

    name: ttl-vs-fanout
    scenario: base.yaml          # relative to this file
    seed: 2026                   # root of every replication's seed
    replications: 5
    warmup: 2h
    grid:                        # every combination of these values
      pki.workload_ttl: [2h, 8h, 24h]
      mesh.agent: [per-workload, per-node]
    zip:                         # these lists vary together
      mesh.nodes: [5, 20]
      mesh.workloads: [80, 80]
    set:                         # the same value at every point
      duration: 48h

This module reads the file into a :class:`SweepSpec`; :mod:`plan` turns
the spec into points and validates the scenario of each.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from meshsim.scenario import (
    KeyPath,
    Problem,
    Scenario,
    ScenarioError,
    parse_duration,
)
from meshsim.scenario.durations import NO_UNIT
from meshsim.scenario.load import MAX_FILE_BYTES, read_source
from meshsim.scenario.overrides import key_path_problem
from meshsim.scenario.problems import DOCUMENT, format_path
from meshsim.scenario.yaml_loader import load_yaml

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_REPLICATIONS",
    "SEED_RULE",
    "SWEEP_KEYS",
    "SweepError",
    "SweepSpec",
    "Varied",
    "joined",
    "key_steps",
    "overlapping",
    "parse_sweep_spec",
    "read_sweep_spec",
    "read_text",
    "scenario_marks",
    "seeds_key",
    "sweep_marks",
    "value_text",
]

SWEEP_KEYS: Final = (
    "name",
    "description",
    "scenario",
    "seed",
    "replications",
    "warmup",
    "grid",
    "zip",
    "set",
)
"""Every key a sweep file may have, in the order the docs list them."""

SEED_RULE: Final = "each replication's seed is spawned from the sweep's seed"
"""Why a sweep's grid, zip, set and overrides may not give ``seed``."""

# The keys only a sweep file has, besides ``scenario``.
_OWN_KEYS: Final = ("grid", "zip", "replications")

MAX_REPLICATIONS: Final = 10_000
"""Most replications of one point."""

_MAX_SEED: Final = 2**63 - 1
_NAME: Final = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_SECTIONS: Final = ("grid", "zip", "set")


class SweepError(ScenarioError):
    """A sweep file, or a scenario of one of its points, broke rules;
    ``problems`` lists every one, each printable as one line."""


@dataclass(frozen=True)
class Varied:
    """A scenario key and the values a sweep gives it, in file order."""

    section: str
    """``grid`` (one axis of its own) or ``zip`` (varies with the others
    of the zip section)."""
    key: str
    """The dotted key path, as an override writes it (``pki.jitter``)."""
    values: tuple[Any, ...]


@dataclass(frozen=True)
class SweepSpec:
    """A sweep file as read and checked, before its points are built."""

    source: str
    """The sweep file's name, as problems print it."""
    name: str
    description: str
    scenario_file: str
    """The base scenario file as the sweep file names it."""
    base_path: Path
    """The base scenario file, resolved against the sweep file's folder."""
    seed: int
    """The root seed every replication's seed is spawned from."""
    replications: int
    warmup_s: float
    grid: tuple[Varied, ...]
    zipped: tuple[Varied, ...]
    fixed: tuple[tuple[str, Any], ...]
    """The ``set`` section: (key, value) applied at every point."""
    text_sha256: str
    """SHA-256 of the sweep file's text (UTF-8)."""
    text: str = field(default="", compare=False, repr=False)
    """The sweep file's text, kept beside the results."""
    lines: Mapping[KeyPath, int] = field(
        default_factory=dict, compare=False, repr=False
    )
    """The line of every key path of the file, to place problems."""

    def line_of(self, path: KeyPath) -> int | None:
        """The line ``path`` was written on, or its nearest parent's."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())


def read_text(path: Path, source: str) -> str:
    """The UTF-8 text of a file of at most :data:`MAX_FILE_BYTES`."""
    try:
        return read_source(path, source)
    except ScenarioError as error:
        raise SweepError(error.problems) from None


def value_text(value: Any) -> str:
    """A value as YAML reads it back: ``2h``, ``10``, ``[1, 2]``."""
    if isinstance(value, str):
        return json.dumps(value) if _needs_quotes(value) else value
    if isinstance(value, float) and math.isnan(value):
        return ".nan"
    if isinstance(value, float) and math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    return json.dumps(value, default=_json_default, ensure_ascii=False)


def _needs_quotes(text: str) -> bool:
    """Whether plain ``text`` would not read back as the same text."""
    try:
        document = load_yaml(text, "<value>")
    except ScenarioError:
        return True
    return document.data != text or bool(document.problems)


def _json_default(value: object) -> str:
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return str(isoformat())
    return str(value)


def parse_sweep_spec(text: str, source: str, base_dir: Path) -> SweepSpec:
    """Read and check a sweep file's text; raise ``SweepError`` listing
    every problem of the file itself (its points are checked later)."""
    spec, problems = read_sweep_spec(text, source, base_dir)
    if problems or spec is None:
        raise SweepError(problems)
    return spec


def read_sweep_spec(
    text: str, source: str, base_dir: Path
) -> tuple[SweepSpec | None, list[Problem]]:
    """The spec and the file's problems. The spec is ``None`` only when
    the base scenario is unknown; a key with a problem takes its default
    in it, so that the points can still be checked."""
    try:
        document = load_yaml(text, source)
    except ScenarioError as exc:
        return None, list(exc.problems)
    data = document.data
    where = _Where(source, document.lines)
    problems = list(document.problems)
    if data is None:
        rule = "the file is empty; a sweep needs scenario and replications"
        return None, [*problems, Problem(source, 1, DOCUMENT, rule)]
    if not isinstance(data, dict):
        rule = "the top level must be a mapping of keys"
        return None, [*problems, where.problem((), rule, data)]

    checker = _Checker(data, where, problems, set(document.bad_paths))
    spec = checker.spec(base_dir, text)
    return spec, problems


@dataclass
class _Where:
    source: str
    lines: Mapping[KeyPath, int]

    def problem(self, path: KeyPath, rule: str, *value: object) -> Problem:
        line = None
        probe = path
        while line is None:
            line = self.lines.get(probe)
            if not probe:
                break
            probe = probe[:-1]
        return Problem(self.source, line, _shown(path), rule, *value)


def _shown(path: KeyPath) -> str:
    """``grid.pki.workload_ttl[2]``: the section, then the key as
    written (its dots are part of one key), then list indices."""
    if len(path) >= 2 and path[0] in _SECTIONS:
        rest = format_path(path[2:]) if len(path) > 2 else ""
        if rest and not rest.startswith("["):
            rest = "." + rest
        return f"{path[0]}.{path[1]}{rest}"
    return format_path(path)


@dataclass
class _Checker:
    data: dict[str, Any]
    where: _Where
    problems: list[Problem]
    reported: set[KeyPath]

    def fail(self, path: KeyPath, rule: str, *value: object) -> None:
        if not any(path[: len(p)] == p for p in self.reported):
            self.problems.append(self.where.problem(path, rule, *value))

    def spec(self, base_dir: Path, text: str) -> SweepSpec | None:
        sha256 = hashlib.sha256(text.encode()).hexdigest()
        data = self.data

        # unknown keys
        for key in data:
            if key not in SWEEP_KEYS:
                close = difflib.get_close_matches(key, SWEEP_KEYS, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                self.fail((key,), f"unknown key{hint}")

        # scalars
        name = self._name()
        description = self.data.get("description", "")
        if not isinstance(description, str):
            self.fail(("description",), "must be text", description)
            description = ""
        base = self._text("scenario", None)
        if "scenario" not in data:
            self.fail(("scenario",), "required key is missing")
        if base is not None and "\0" in base:
            self.fail(("scenario",), "a file path holds no NUL character", base)
            base = None
        seed = self._integer("seed", 1, 0, _MAX_SEED)
        replications = self._integer("replications", None, 1, MAX_REPLICATIONS)
        if "replications" not in data:
            self.fail(("replications",), "required key is missing")
        warmup = self._warmup()

        # the varied and fixed keys
        grid = self._lists("grid")
        zipped = self._zipped()
        fixed = self._fixed()
        # a key given again is refused, and left out meanwhile
        twice = self._no_key_twice(grid, zipped, fixed)
        grid = tuple(v for v in grid if (v.section, v.key) not in twice)
        zipped = tuple(v for v in zipped if (v.section, v.key) not in twice)
        fixed = tuple((k, v) for k, v in fixed if ("set", k) not in twice)

        if base is None:
            return None
        return SweepSpec(
            source=self.where.source,
            name=name,
            description=description,
            scenario_file=base,
            base_path=base_dir / base,
            seed=1 if seed is None else seed,
            replications=replications or 1,
            warmup_s=warmup or 0.0,
            grid=grid,
            zipped=zipped,
            fixed=fixed,
            text_sha256=sha256,
            text=text,
            lines=dict(self.where.lines),
        )

    def _name(self) -> str:
        name = self._text("name", "")
        if name and not _NAME.fullmatch(name):
            self.fail(("name",), f"must match {_NAME.pattern}", name)
        if name:
            return name
        stem = Path(self.where.source).stem
        if not _NAME.fullmatch(stem):
            # the default names the result folder too
            rule = f"is needed: the file's name does not match {_NAME.pattern}"
            self.fail(("name",), rule, stem)
        return stem

    def _text(self, key: str, default: str | None) -> str | None:
        if key not in self.data:
            return default
        value = self.data[key]
        if not isinstance(value, str) or not value.strip():
            self.fail((key,), "must be non-empty text", value)
            return None
        return value

    def _integer(
        self, key: str, default: int | None, low: int, high: int
    ) -> int | None:
        if key not in self.data:
            return default
        value = self.data[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail((key,), "must be an integer", value)
            return None
        if not low <= value <= high:
            self.fail((key,), f"must be from {low} to {high}", value)
            return None
        return value

    def _warmup(self) -> float | None:
        value = self.data.get("warmup", 0)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if number and value != 0:  # 1 could mean hours or seconds
            self.fail(("warmup",), NO_UNIT, value)
            return None
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.fail(("warmup",), str(exc), value)
            return None

    def _section(self, section: str) -> dict[str, Any]:
        value = self.data.get(section, {})
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail((section,), "must be a mapping of scenario keys", value)
            return {}
        good = {}
        for key, item in value.items():
            if not isinstance(key, str):
                continue  # the reader has reported a key that is not text
            if seeds_key(key):
                self.fail(
                    (section, key), f"cannot be varied or set: {SEED_RULE}"
                )
            elif not key.strip():
                self.fail((section, key), "must be a dotted scenario key")
            elif (rule := key_path_problem(key)) is not None:
                self.fail((section, key), rule)
            else:
                good[key] = item
        return good

    def _lists(self, section: str) -> tuple[Varied, ...]:
        varied = []
        for key, values in self._section(section).items():
            path: KeyPath = (section, key)
            if not isinstance(values, list) or not values:
                self.fail(path, "must be a non-empty list of values", values)
                continue
            if section == "grid":
                seen: dict[str, int] = {}
                for index, value in enumerate(values):
                    shown = json.dumps(value, default=_json_default)
                    if shown in seen:
                        rule = f"repeats item {seen[shown]}"
                        self.fail((*path, index), rule, value)
                    seen.setdefault(shown, index)
            varied.append(Varied(section, key, tuple(values)))
        return tuple(varied)

    def _zipped(self) -> tuple[Varied, ...]:
        zipped = self._lists("zip")
        if zipped:
            first = zipped[0]
            for other in zipped[1:]:
                if len(other.values) != len(first.values):
                    rule = (
                        f"must have as many values as zip.{first.key} "
                        f"({len(first.values)})"
                    )
                    self.fail(("zip", other.key), rule, list(other.values))
        return zipped

    def _fixed(self) -> tuple[tuple[str, Any], ...]:
        return tuple(self._section("set").items())

    def _no_key_twice(
        self,
        grid: tuple[Varied, ...],
        zipped: tuple[Varied, ...],
        fixed: tuple[tuple[str, Any], ...],
    ) -> set[tuple[str, str]]:
        """The (section, key) of each key given again, each refused.

        A key is given twice when one of its two mentions holds the
        other: set's pki (a whole mapping) and grid's pki.workload_ttl.
        """
        first: dict[tuple[str, ...], tuple[str, str]] = {}
        twice: set[tuple[str, str]] = set()
        keys = [
            *((v.section, v.key) for v in grid),
            *((v.section, v.key) for v in zipped),
            *(("set", key) for key, _ in fixed),
        ]
        for section, key in keys:
            steps = key_steps(key)
            given = next(
                (
                    f"{where} (as {written})" if written != key else where
                    for earlier, (where, written) in first.items()
                    if overlapping(earlier, steps)
                ),
                None,
            )
            if given is not None:
                self.fail((section, key), f"is already given in {given}")
                twice.add((section, key))
            else:
                first[steps] = (section, key)
        return twice


def key_steps(key: str) -> tuple[str, ...]:
    """A dotted key's steps, an index written any way as ``[N]``:
    ``attacks.0.start``, ``attacks[0].start`` and ``attacks.00.start``
    have the same."""
    normal = re.sub(r"\.([0-9]+)(?=\.|$)", r"[\1]", key.replace(" ", ""))
    return tuple(
        f"[{int(step[1:-1])}]" if step.startswith("[") else step
        for step in re.findall(r"[^.\[]+|\[[0-9]+\]", normal)
    )


def overlapping(one: tuple[str, ...], other: tuple[str, ...]) -> bool:
    """Whether one key path holds the other (or is it): setting both
    sets one key twice."""
    shorter = min(len(one), len(other))
    return one[:shorter] == other[:shorter]


def joined(steps: tuple[str, ...]) -> str:
    """A key path's steps written back as one dotted key."""
    return "".join(
        step if step.startswith("[") or index == 0 else f".{step}"
        for index, step in enumerate(steps)
    )


def seeds_key(key: str) -> bool:
    """Whether a dotted scenario key sets the seed or something in it."""
    return key == "seed" or key.startswith(("seed.", "seed["))


def scenario_marks(keys: Iterable[str]) -> list[str]:
    """The keys among ``keys`` that a scenario has and a sweep file does
    not (``duration``, ``mesh``, ...), in the scenario's order."""
    present = set(keys)
    return [
        key
        for key in Scenario.model_fields
        if key in present and key not in SWEEP_KEYS
    ]


def sweep_marks(keys: Iterable[str]) -> list[str]:
    """The keys among ``keys`` that show a sweep file (``scenario`` with
    any of ``grid``, ``zip``, ``replications``), or none."""
    present = set(keys)
    own = [key for key in _OWN_KEYS if key in present]
    return ["scenario", *own] if own and "scenario" in present else []
