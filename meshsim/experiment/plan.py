"""A sweep's points, the scenario of each, and its replications' seeds.

Points are every combination of the grid's values, in file order (the
first key varies slowest), with the zip section as one more axis whose
lists vary together. Each point's scenario is the base scenario with the
``set`` values, the caller's overrides and the point's values applied as
overrides, validated like ``meshsim validate`` validates a file; a
problem is reported at the sweep file's line of the value that caused
it, naming the point.

Replication ``r`` of every point runs with the same seed, spawned from
the sweep's root seed with NumPy's ``SeedSequence``: points are compared
under common random numbers, and a point's results depend neither on the
executor nor on the order in which replications finish.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from meshsim.arguments import (
    require_count,
    require_instance,
    require_path,
    require_texts,
)
from meshsim.experiment.sweep_file import (
    MAX_REPLICATIONS,
    SEED_RULE,
    SweepError,
    SweepSpec,
    joined,
    key_steps,
    overlapping,
    read_sweep_spec,
    read_text,
    seeds_key,
    sweep_marks,
    value_text,
)
from meshsim.experiment.worker import point_id
from meshsim.scenario import (
    Problem,
    Scenario,
    ScenarioError,
    dump_resolved,
    format_duration,
    parse_scenario,
)
from meshsim.scenario.overrides import key_path_problem, override_source
from meshsim.scenario.problems import ABSENT
from meshsim.scenario.yaml_loader import load_yaml

__all__ = [
    "MAX_POINTS",
    "Point",
    "Sweep",
    "load_sweep",
    "parse_sweep",
    "replication_seeds",
]

MAX_POINTS: Final = 10_000
"""Most points of one sweep."""


@dataclass(frozen=True)
class Point:
    """One combination of the varied keys' values, and its scenario."""

    index: int
    id: str
    """``p000``, ``p001``...: names the point in files and tables."""
    settings: tuple[tuple[str, Any], ...]
    """(key, value as the sweep file wrote it) for every varied key."""
    scenario: Scenario
    """The point's scenario, with the seed of replication 0; each
    replication runs it with its own seed."""

    @property
    def label(self) -> str:
        """``pki.workload_ttl=2h, mesh.agent=per-node``."""
        return ", ".join(f"{k}={value_text(v)}" for k, v in self.settings)


@dataclass(frozen=True)
class Sweep:
    """A checked sweep: its file, every point's scenario, and seeds."""

    spec: SweepSpec
    overrides: tuple[str, ...]
    """Scenario overrides given besides the file, applied at every point."""
    points: tuple[Point, ...]
    seeds: tuple[int, ...]
    """The seed of replication 0, 1, ... (the same at every point)."""

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def replications(self) -> int:
        return len(self.seeds)

    @property
    def fixed(self) -> tuple[str, ...]:
        """The sweep file's ``set``, as overrides (``key=value``)."""
        return tuple(f"{k}={value_text(v)}" for k, v in self.spec.fixed)

    @property
    def varied_keys(self) -> tuple[str, ...]:
        """The keys the points differ in, in file order."""
        return tuple(v.key for v in (*self.spec.grid, *self.spec.zipped))

    def plan_sha256(self) -> str:
        """SHA-256 of everything a result depends on: every point's
        resolved scenario, the seeds and the warmup."""
        plan = {
            "points": [
                [p.id, p.label, dump_resolved(p.scenario)] for p in self.points
            ],
            "seeds": list(self.seeds),
            "warmup_s": self.spec.warmup_s,
        }
        text = json.dumps(plan, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


def replication_seeds(root: int, replications: int) -> tuple[int, ...]:
    """The scenario seed of each replication, spawned from ``root``.

    Child ``r`` of ``SeedSequence(root)`` depends only on ``root`` and
    ``r``, so adding replications keeps the seeds of the earlier ones.
    Each seed fits a scenario's ``0 ≤ seed ≤ 2**63 - 1``.
    """
    children = np.random.SeedSequence(root).spawn(replications)
    return tuple(
        int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
        for child in children
    )


def load_sweep(
    path: str | Path,
    overrides: Sequence[str] = (),
    replications: int | None = None,
) -> Sweep:
    """Read and check the sweep file at ``path`` and every point of it.

    ``overrides`` (``mesh.workloads=40``) apply to the scenario of every
    point; ``replications`` replaces the file's count. Raise
    ``SweepError`` listing every problem, each with its line.
    """
    require_path("path", path)
    source = str(path)
    text = read_text(Path(path), source)
    return parse_sweep(text, source, Path(path).parent, overrides, replications)


def parse_sweep(
    text: str,
    source: str = "<string>",
    base_dir: str | Path = ".",
    overrides: Sequence[str] = (),
    replications: int | None = None,
) -> Sweep:
    """Like :func:`load_sweep`, for a sweep given as text; the base
    scenario's path is relative to ``base_dir``."""
    require_instance("text", text, str)
    require_path("base_dir", base_dir)
    require_texts("overrides", overrides)
    if replications is not None:
        require_count("replications", replications, 1, MAX_REPLICATIONS)
    spec, problems = read_sweep_spec(text, source, Path(base_dir))
    if spec is None:
        raise SweepError(problems)
    if replications is not None:
        spec = dataclasses.replace(spec, replications=replications)

    refused = _overrides_of_varied(spec, overrides)
    problems += [problem for _, problem in refused]
    # a refused override is not applied to the points as well, to be
    # blamed again at each of them
    texts = {text for text, _ in refused}
    overrides = [o for o in overrides if o not in texts]
    try:
        base_text = _base_text(spec)
    except SweepError as exc:
        raise SweepError([*problems, *exc.problems]) from None
    # counted before the points are made: a few long lists multiply to
    # more points than memory holds
    count = _point_count(spec)
    if count > MAX_POINTS:
        rule = f"makes {count} points; at most {MAX_POINTS}"
        where = spec.line_of(("grid",))
        raise SweepError([*problems, Problem(source, where, "grid", rule)])
    combinations = _combinations(spec)

    seeds = replication_seeds(spec.seed, spec.replications)
    points = []
    found = _Findings(spec, len(combinations))
    for index, combination in enumerate(combinations):
        settings = tuple((key, value) for _, key, _, value in combination)
        name = point_id(index, len(combinations))
        point = _Unchecked(index, name, settings, combination)
        scenario = found.check(point, base_text, overrides, seeds[0])
        if scenario is not None:
            points.append(Point(index, name, settings, scenario))
    if problems or found.problems:
        raise SweepError([*problems, *found.summarised()])
    same = _same_points(spec, points)
    if same:
        raise SweepError(same)
    return Sweep(spec, tuple(overrides), tuple(points), seeds)


def _same_points(spec: SweepSpec, points: list[Point]) -> list[Problem]:
    """A problem for each point that resolves to the scenario of an
    earlier one (``[4h, 240m]`` lists one TTL twice)."""
    first: dict[str, Point] = {}
    problems = []
    for point in points:
        text = dump_resolved(point.scenario)
        earlier = first.setdefault(text, point)
        if earlier is not point:
            section = "grid" if spec.grid else "zip"
            rule = (
                f"point {point.id} ({point.label}) is the scenario of "
                f"point {earlier.id} ({earlier.label}); list each value once"
            )
            problems.append(
                Problem(spec.source, spec.line_of((section,)), section, rule)
            )
    return problems


def _overrides_of_varied(
    spec: SweepSpec, overrides: Sequence[str]
) -> list[tuple[str, Problem]]:
    """Each override that sets a key the sweep varies, a mapping that
    holds one, a key within one, or the seed, with its problem."""
    varied = [key_steps(v.key) for v in (*spec.grid, *spec.zipped)]
    problems = []
    for text in overrides:
        key = text.partition("=")[0].strip()
        if key_path_problem(key) is not None:
            continue  # reported as the scenario's problem, at every point
        steps = key_steps(key)
        held = next((v for v in varied if overlapping(v, steps)), None)
        if held == steps:
            rule = "is varied by the sweep; an override cannot set it"
        elif held is not None and len(held) > len(steps):
            # a list's keys are its items' keys
            within = "its items" if held[len(steps)][0] == "[" else key
            rule = (
                f"holds {joined(held)}, which the sweep varies; set the "
                f"other keys of {within} one by one"
            )
        elif held is not None:
            rule = f"is inside {joined(held)}, which the sweep varies"
        elif seeds_key(key):
            rule = f"cannot be set: {SEED_RULE}"
        else:
            continue
        problem = Problem(override_source(text), None, key, rule)
        problems.append((text, problem))
    return problems


def _base_text(spec: SweepSpec) -> str:
    """The base scenario's text, or the problem placed at ``scenario``."""
    line = spec.line_of(("scenario",))
    try:
        text = read_text(spec.base_path, str(spec.base_path))
    except SweepError as exc:
        raise SweepError(
            [
                Problem(
                    spec.source, line, "scenario", p.rule, spec.scenario_file
                )
                for p in exc.problems
            ]
        ) from None

    # A sweep file named as the base would only show its own keys as
    # unknown scenario keys.
    try:
        data = load_yaml(text, str(spec.base_path)).data
    except ScenarioError:
        return text  # its problems are reported at each point
    marks = sweep_marks(data) if isinstance(data, dict) else []
    if marks:
        keys = ", ".join(marks)
        rule = f"is a sweep file (it has the keys {keys}), not a scenario"
        raise SweepError(
            [Problem(spec.source, line, "scenario", rule, spec.scenario_file)]
        )
    return text


# (section, key, index of the value in its list, value)
_Setting = tuple[str, str, int, Any]


def _point_count(spec: SweepSpec) -> int:
    """How many points the grid and zip make, without making them."""
    count = math.prod(len(v.values) for v in spec.grid)
    if spec.zipped:
        count *= min(len(v.values) for v in spec.zipped)
    return count


def _combinations(spec: SweepSpec) -> list[tuple[_Setting, ...]]:
    """Every point's settings: the grid's product, zip as one axis."""
    axes: list[list[tuple[_Setting, ...]]] = [
        [(("grid", v.key, i, value),) for i, value in enumerate(v.values)]
        for v in spec.grid
    ]
    if spec.zipped:
        rows = min(len(v.values) for v in spec.zipped)
        axes.append(
            [
                tuple(("zip", v.key, i, v.values[i]) for v in spec.zipped)
                for i in range(rows)
            ]
        )
    return [
        tuple(itertools.chain.from_iterable(parts))
        for parts in itertools.product(*axes)
    ]


@dataclass(frozen=True)
class _Unchecked:
    index: int
    id: str
    settings: tuple[tuple[str, Any], ...]
    combination: tuple[_Setting, ...]

    @property
    def label(self) -> str:
        return ", ".join(f"{k}={value_text(v)}" for k, v in self.settings)


class _Findings:
    """Problems of every point, placed in the sweep file and counted, so
    that a value bad at many points is reported once."""

    def __init__(self, spec: SweepSpec, points: int) -> None:
        self.spec = spec
        self.points = points
        # keyed by the problem's line of text
        self.problems: dict[str, tuple[Problem, int, _Unchecked]] = {}

    def check(
        self,
        point: _Unchecked,
        base_text: str,
        overrides: Sequence[str],
        seed: int,
    ) -> Scenario | None:
        """The point's scenario under ``seed``, or ``None`` with its
        problems noted."""
        # where each override text comes from in the sweep file
        origin: dict[str, tuple[str, ...]] = {}
        texts = []
        for key, value in self.spec.fixed:
            text = f"{key}={value_text(value)}"
            origin[text] = ("set", key)
            texts.append(text)
        texts += overrides
        for section, key, index, value in point.combination:
            text = f"{key}={value_text(value)}"
            origin[text] = (section, key, str(index))
            texts.append(text)
        # what a run can simulate may depend on the seed (where pods
        # land): a point is checked as its first replication runs it.
        # NOTE: other replications' seeds are not checked here (one
        # parse per run would slow large sweeps); a run whose seed the
        # core refuses is recorded as failed instead.
        texts.append(f"seed={seed}")

        try:
            scenario = parse_scenario(
                base_text, str(self.spec.base_path), texts
            )
        except ScenarioError as exc:
            for problem in exc.problems:
                self._note(self._place(problem, origin), point)
            return None

        # the warmup must leave part of the run to measure
        warmup = self.spec.warmup_s
        if warmup >= scenario.duration:
            line = self.spec.line_of(("warmup",))
            rule = (
                "must be shorter than the run's duration "
                f"({format_duration(scenario.duration)})"
            )
            shown = format_duration(warmup)
            self._note(
                Problem(self.spec.source, line, "warmup", rule, shown), point
            )
            return None
        return scenario

    def _note(self, problem: Problem, point: _Unchecked) -> None:
        _, count, first = self.problems.get(str(problem), (problem, 0, point))
        self.problems[str(problem)] = (problem, count + 1, first)

    def _place(
        self, problem: Problem, origin: dict[str, tuple[str, ...]]
    ) -> Problem:
        """Move a problem caused by a sweep value to that value's line."""
        text = problem.source.removeprefix("override ")
        where = origin.get(text) if problem.source != text else None
        if where is None:
            return problem
        section, key, *index = where
        path_parts: tuple[str | int, ...] = (section, key)
        shown = f"{section}.{key}"
        # a problem with no value (an unknown key) is the key's, whatever
        # value of the grid a point took: said once, at the key
        if index and problem.value is not ABSENT:
            path_parts += (int(index[0]),)
            shown += f"[{index[0]}]"
        line = self.spec.line_of(path_parts)
        rule = problem.rule
        if problem.path != key:
            rule = f"{problem.path}: {rule}"
        return Problem(self.spec.source, line, shown, rule, problem.value)

    def summarised(self) -> list[Problem]:
        """Each problem once; one not found at every point names the
        points it was found at."""
        problems = []
        for problem, count, first in self.problems.values():
            if count < self.points:
                where = f"at {count} of {self.points} points"
                if count == 1:
                    where = f"at point {first.id}"
                elif first.settings:
                    where += f", first {first.id}"
                rule = f"{problem.rule} ({where}: {first.label})"
                if not first.settings:
                    rule = f"{problem.rule} ({where})"
                problem = Problem(
                    problem.source,
                    problem.line,
                    problem.path,
                    rule,
                    problem.value,
                )
            problems.append(problem)
        return problems
