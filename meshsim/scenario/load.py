"""Read a scenario from a file or a text: bytes, YAML, overrides, schema."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Final

from meshsim.arguments import require_instance, require_path, require_texts
from meshsim.scenario.overrides import override
from meshsim.scenario.problems import DOCUMENT, Problem, ScenarioError
from meshsim.scenario.schema import Scenario
from meshsim.scenario.validate import check_data
from meshsim.scenario.yaml_loader import load_yaml

__all__ = [
    "MAX_FILE_BYTES",
    "load_scenario",
    "parse_scenario",
    "read_source",
]

MAX_FILE_BYTES: Final = 1 << 20
"""Largest scenario file read: 1 MiB, far above any real scenario."""


def load_scenario(path: str | Path, overrides: Sequence[str] = ()) -> Scenario:
    """Read, override and validate the scenario file at ``path``.

    Raise ``ScenarioError`` listing every problem, each with its line.
    """
    require_path("path", path)
    require_texts("overrides", overrides)
    source = str(path)
    text = read_source(path, source)
    return parse_scenario(text, source, overrides)


def read_source(path: str | Path, source: str) -> str:
    """The UTF-8 text of the file at ``path``, of at most
    :data:`MAX_FILE_BYTES`; ``source`` names it in problems.

    A pipe is read like a file (``<(...)`` in a shell), so one that
    nobody writes to waits, as ``cat`` does.
    """
    try:
        with open(path, "rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        rule = f"cannot be read: {exc.strerror or exc}"
        raise ScenarioError([Problem(source, None, DOCUMENT, rule)]) from None
    if len(raw) > MAX_FILE_BYTES:
        rule = f"is larger than {MAX_FILE_BYTES} bytes"
        raise ScenarioError([Problem(source, None, DOCUMENT, rule)])

    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        rule = f"not valid UTF-8 at byte offset {exc.start}"
        bad = raw[exc.start : exc.end]
        raise ScenarioError(
            [Problem(source, line, DOCUMENT, rule, bad)]
        ) from None


def parse_scenario(
    text: str, source: str = "<string>", overrides: Sequence[str] = ()
) -> Scenario:
    """Parse, override and validate a scenario given as YAML text.

    ``source`` names the text in problems (usually its file name).
    """
    require_instance("text", text, str)
    require_texts("overrides", overrides)
    document = load_yaml(text, source)
    data = document.data
    if data is None:
        rule = "the file is empty; a scenario needs at least name and duration"
        raise ScenarioError(
            [*document.problems, Problem(source, 1, DOCUMENT, rule)]
        )
    if not isinstance(data, dict):
        line = document.lines.get(())
        rule = "the top level must be a mapping of keys"
        raise ScenarioError(
            [*document.problems, Problem(source, line, DOCUMENT, rule, data)]
        )

    changed = override(data, overrides)
    origins = changed.origins
    # a key an override sets is no longer where the file wrote it
    lines = {
        path: line
        for path, line in document.lines.items()
        if not any(path[: len(set_path)] == set_path for set_path in origins)
    }
    return check_data(
        changed.data,
        source,
        lines,
        earlier=[*document.problems, *changed.problems],
        reported=document.bad_paths,
        origins=origins,
        units_required=True,
    )
