"""Read scenario YAML into plain data, remembering the line of every key.

PyYAML parses and composes the node tree; meshsim builds the Python values
itself so that it can record lines, refuse duplicate and non-text keys and
bound how far aliases expand.  Scalars are read as ``yaml_core`` says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from yaml.composer import Composer, ComposerError
from yaml.error import MarkedYAMLError, YAMLError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader, ReaderError
from yaml.scanner import Scanner

from meshsim.scenario.problems import (
    ABSENT,
    DOCUMENT,
    KeyPath,
    Problem,
    ScenarioError,
    format_path,
)
from meshsim.scenario.yaml_core import (
    TAG,
    CoreResolver,
    convert_scalar,
    short_tag,
)

__all__ = ["MAX_DEPTH", "MAX_VALUES", "YamlDocument", "load_yaml"]

MAX_DEPTH: Final = 64
"""Deepest nesting of mappings and lists accepted."""

MAX_VALUES: Final = 100_000
"""Most values built from one text, counting every alias expansion."""

_LINE_BREAK: Final = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_TAB_RULE: Final = "a tab outside quotes; use spaces"


class _Loader(Reader, Scanner, Parser, Composer, CoreResolver):
    """PyYAML's reading stages up to the node tree, with a depth bound."""

    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        CoreResolver.__init__(self)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = None if parent is None else parent.start_mark
                raise ComposerError(
                    None, None, f"nested deeper than {MAX_DEPTH} levels", mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


@dataclass(frozen=True)
class YamlDocument:
    """Plain data read from YAML, with the line of each key path."""

    data: object
    lines: dict[KeyPath, int]
    problems: tuple[Problem, ...] = ()
    """Problems that leave the data usable (duplicate key, tab, tag)."""
    bad_paths: frozenset[KeyPath] = frozenset()
    """Paths whose values a problem above already reports."""


def load_yaml(text: str, source: str) -> YamlDocument:
    """Read one YAML document; raise ``ScenarioError`` if it is unusable."""
    text = text.removeprefix("\ufeff")
    tabs = _tab_lines(text)
    try:
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except YAMLError as exc:
        # a syntax error on a tab-indented line is the tab's doing
        problems = [_tab_problem(source, n, DOCUMENT) for n in sorted(tabs)]
        problem = _syntax_problem(exc, text, source)
        if problem.line not in tabs:
            problems.append(problem)
        raise ScenarioError(problems) from None

    builder = _Builder(source)
    data = None if root is None else builder.build(root, ())
    problems = builder.problems
    for number in sorted(tabs):
        path = builder.path_at(number)
        problems.append(_tab_problem(source, number, path))
    return YamlDocument(
        data, builder.lines, tuple(problems), frozenset(builder.bad_paths)
    )


def _tab_lines(text: str) -> set[int]:
    """Lines (1-based) indented with a tab, comments and blanks aside.

    NOTE: lines inside a block scalar (``|``) are checked too, where YAML
    allows a tab after the indentation; no scenario key takes multi-line
    text.  Checking them apart needs the scanner's view of each line.
    """
    numbers = set()
    for number, line in enumerate(_LINE_BREAK.split(text), start=1):
        body = line.lstrip(" \t")
        if "\t" in line[: len(line) - len(body)] and body[:1] not in "#":
            numbers.add(number)
    return numbers


def _tab_problem(source: str, line: int, path: str) -> Problem:
    return Problem(source, line, path, "indented with a tab; use spaces")


def _syntax_problem(exc: YAMLError, text: str, source: str) -> Problem:
    if isinstance(exc, ReaderError) and isinstance(exc.character, int):
        position = int(exc.position)
        line = len(_LINE_BREAK.findall(text, 0, position)) + 1
        return Problem(
            source,
            line,
            DOCUMENT,
            "control characters are not allowed in YAML",
            chr(exc.character),
        )
    if isinstance(exc, MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        if mark is not None and mark.index >= len(text) and exc.context_mark:
            # "found the end of the file": the cause is where it began
            mark = exc.context_mark
        number = None if mark is None else mark.line + 1
        if exc.problem and "'\\t'" in exc.problem:
            return Problem(source, number, DOCUMENT, _TAB_RULE)
        words = [w for w in (exc.context, exc.problem) if w]
        rule = "not valid YAML: " + ", ".join(words)
        began = exc.context_mark
        if exc.context and began is not None and began.line + 1 != number:
            rule += f"; it began on line {began.line + 1}"
        return Problem(source, number, DOCUMENT, rule)
    return Problem(source, None, DOCUMENT, f"not valid YAML: {exc}")


class _TooManyValuesError(Exception):
    def __init__(self, node: Node) -> None:
        self.node = node


class _RecursiveAliasError(Exception):
    def __init__(self, node: Node) -> None:
        self.node = node


def _line(node: Node) -> int | None:
    mark = node.start_mark
    return None if mark is None else mark.line + 1


@dataclass
class _Builder:
    """Turn a node tree into dicts, lists and scalars, recording lines."""

    source: str
    lines: dict[KeyPath, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    bad_paths: set[KeyPath] = field(default_factory=set)
    _budget: int = MAX_VALUES
    _open: set[int] = field(default_factory=set)

    def build(self, node: Node, path: KeyPath) -> object:
        try:
            return self._value(node, path)
        except _TooManyValuesError as exc:
            rule = (
                f"expands to more than {MAX_VALUES} values; "
                "aliases repeat too much"
            )
            raise ScenarioError(
                [Problem(self.source, _line(exc.node), DOCUMENT, rule)]
            ) from None
        except _RecursiveAliasError as exc:
            rule = "an alias refers to a node that contains it"
            raise ScenarioError(
                [Problem(self.source, _line(exc.node), DOCUMENT, rule)]
            ) from None

    def path_at(self, line: int) -> str:
        """The first key path recorded on ``line``, else the document."""
        for path, number in self.lines.items():
            if number == line:
                return format_path(path)
        return DOCUMENT

    def _report(
        self, node: Node, path: KeyPath, rule: str, value: object
    ) -> None:
        line: int | None = self.lines.get(path, _line(node))
        self.problems.append(
            Problem(self.source, line, format_path(path), rule, value)
        )
        self.bad_paths.add(path)

    # NOTE: a value reached through an alias is placed on the lines of its
    # anchor, since PyYAML's nodes keep no trace of where an alias stood;
    # the key holding the alias keeps its own line.
    def _value(self, node: Node, path: KeyPath) -> object:
        self._budget -= 1
        if self._budget < 0:
            raise _TooManyValuesError(node)
        if id(node) in self._open:
            raise _RecursiveAliasError(node)
        line = _line(node)
        if line is not None:
            self.lines.setdefault(path, line)

        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        self._open.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                self._check_tag(node, path, "seq")
                return [
                    self._value(item, (*path, index))
                    for index, item in enumerate(node.value)
                ]
            if isinstance(node, MappingNode):
                self._check_tag(node, path, "map")
                return self._mapping(node, path)
        finally:
            self._open.discard(id(node))
        raise TypeError(f"node: not a YAML node (got {node!r})")

    def _check_tag(self, node: Node, path: KeyPath, kind: str) -> None:
        if node.tag != TAG + kind:
            self._report(node, path, "unsupported tag", short_tag(node.tag))

    def _mapping(self, node: MappingNode, path: KeyPath) -> dict[str, object]:
        result: dict[str, object] = {}
        first_lines: dict[str, int | None] = {}
        for key_node, value_node in node.value:
            key = self._key(key_node, path)
            if key is None:
                continue
            line = _line(key_node)
            if key in first_lines:
                rule = f"duplicate key; first set on line {first_lines[key]}"
                shown = format_path((*path, key))
                self.problems.append(Problem(self.source, line, shown, rule))
                continue
            first_lines[key] = line
            if line is not None:
                self.lines[(*path, key)] = line
            result[key] = self._value(value_node, (*path, key))
        return result

    def _key(self, node: Node, path: KeyPath) -> str | None:
        """The text of a key, or None after reporting a key that is not."""
        if isinstance(node, ScalarNode) and node.tag == TAG + "str":
            if node.value == "<<" and node.style is None:
                self._report_key(
                    node, path, "merge keys (<<) are not supported"
                )
                return None
            return str(node.value)
        if isinstance(node, ScalarNode):
            rule = (
                "keys must be text; quote a key YAML reads otherwise (a "
                "number, true, null, a date)"
            )
            self._report_key(
                node, path, rule, convert_scalar(node.tag, node.value)[0]
            )
        else:
            kind = "a list" if isinstance(node, SequenceNode) else "a mapping"
            self._report_key(node, path, "keys must be text", kind)
        return None

    def _report_key(
        self, node: Node, path: KeyPath, rule: str, value: object = ABSENT
    ) -> None:
        shown = format_path(path)
        self.problems.append(
            Problem(self.source, _line(node), shown, rule, value)
        )

    def _scalar(self, node: ScalarNode, path: KeyPath) -> object:
        value, rule = convert_scalar(node.tag, str(node.value))
        if rule is not None:
            self._report(node, path, rule, value)
        return value
