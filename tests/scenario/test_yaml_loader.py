"""Reading YAML: lines of keys, YAML 1.1 surprises, hostile input."""

from __future__ import annotations

import tracemalloc

import pytest
from yaml.nodes import Node

from meshsim.scenario import ScenarioError
from meshsim.scenario.problems import KeyPath
from meshsim.scenario.yaml_loader import MAX_VALUES, _Builder, load_yaml


def _problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_yaml(text, "t.yaml")
    return [str(problem) for problem in caught.value.problems]


def _bomb(levels: int) -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    previous = "a"
    for index in range(levels):
        name = f"l{index}"
        items = ", ".join([f"*{previous}"] * 9)
        lines.append(f"{name}: &{name} [{items}]")
        previous = name
    return "\n".join(lines) + "\n"


def test_every_key_path_is_recorded_with_its_line() -> None:
    text = "name: x\nmesh:\n  nodes: 3\nattacks:\n  - kind: mitm\n    node: n\n"
    document = load_yaml(text, "t.yaml")
    assert document.lines == {
        (): 1,
        ("name",): 1,
        ("mesh",): 2,
        ("mesh", "nodes"): 3,
        ("attacks",): 4,
        ("attacks", 0): 5,
        ("attacks", 0, "kind"): 5,
        ("attacks", 0, "node"): 6,
    }


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "y", "n", "Yes"])
def test_yaml11_booleans_stay_text(word: str) -> None:
    assert load_yaml(f"a: {word}\n", "t.yaml").data == {"a": word}


@pytest.mark.parametrize("word", ["true", "True", "TRUE", "tRuE"])
def test_true_in_any_case_is_a_boolean(word: str) -> None:
    assert load_yaml(f"a: {word}\nb: FALSE\n", "t.yaml").data == {
        "a": True,
        "b": False,
    }


def test_sexagesimal_stays_text() -> None:
    assert load_yaml("a: 1:30\nb: 1:30:00\n", "t.yaml").data == {
        "a": "1:30",
        "b": "1:30:00",
    }


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("17", 17),
        ("017", 17),
        ("-17", -17),
        ("0o17", 15),
        ("0x1f", 31),
        ("1_000", "1_000"),
        ("0b11", "0b11"),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        ("~", None),
        ("null", None),
        ("2026-01-01", "2026-01-01"),
    ],
)
def test_scalars_follow_the_yaml12_core_schema(
    literal: str, value: object
) -> None:
    assert load_yaml(f"a: {literal}\n", "t.yaml").data == {"a": value}


def test_duplicate_key_is_reported_with_its_line() -> None:
    document = load_yaml("a: 1\nb: 2\na: 3\n", "t.yaml")
    assert document.data == {"a": 1, "b": 2}
    assert [str(p) for p in document.problems] == [
        "t.yaml:3: a: duplicate key; first set on line 1"
    ]


@pytest.mark.parametrize("key", ["1", "1.5", "null", "true", "[a]", "{a: 1}"])
def test_non_text_keys_are_reported_not_crashed_on(key: str) -> None:
    document = load_yaml(f"mesh:\n  {key}: x\n  nodes: 3\n", "t.yaml")
    assert document.data == {"mesh": {"nodes": 3}}
    [problem] = document.problems
    assert problem.line == 2
    assert problem.rule.startswith("keys must be text")


def test_tab_in_indentation_is_reported_with_its_line() -> None:
    assert _problems("a:\n\tb: 1\n") == [
        "t.yaml:2: (document): indented with a tab; use spaces"
    ]


def test_tab_between_tokens_is_reported_with_its_line() -> None:
    assert _problems("a: 1\nb: [1,\t2]\n") == [
        "t.yaml:2: (document): a tab outside quotes; use spaces"
    ]


def test_tab_inside_quotes_is_text() -> None:
    assert load_yaml('a: "x\ty"\n', "t.yaml").data == {"a": "x\ty"}


def test_syntax_error_names_its_line() -> None:
    [line] = _problems("a: 1\nb: c: d\n")
    assert line.startswith("t.yaml:2: (document): not valid YAML: ")


def test_second_document_is_refused() -> None:
    [line] = _problems("a: 1\n---\nb: 2\n")
    assert "expected a single document" in line


def test_merge_key_is_refused() -> None:
    document = load_yaml("base: &b {x: 1}\nc:\n  <<: *b\n", "t.yaml")
    assert [p.rule for p in document.problems] == [
        "merge keys (<<) are not supported"
    ]


@pytest.mark.parametrize("text", ["a: !!binary aGk=\n", "a: !custom 3\n"])
def test_unsupported_tags_are_refused(text: str) -> None:
    document = load_yaml(text, "t.yaml")
    assert [p.rule for p in document.problems] == ["unsupported tag"]
    assert document.bad_paths == {("a",)}


def test_alias_bomb_is_refused_at_its_value_past_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the bomb expands to 9**9 values; building stops at the first one
    # past MAX_VALUES
    built = 0
    build = _Builder._value

    def counted(self: _Builder, node: Node, path: KeyPath) -> object:
        nonlocal built
        built += 1
        return build(self, node, path)

    monkeypatch.setattr(_Builder, "_value", counted)

    [line] = _problems(_bomb(9))

    assert "aliases repeat too much" in line
    assert built == MAX_VALUES + 1


def test_alias_bomb_is_refused_with_bounded_memory() -> None:
    tracemalloc.start()
    try:
        _problems(_bomb(9))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20


def test_small_aliases_still_work() -> None:
    document = load_yaml("a: &x {n: 1}\nb: *x\n", "t.yaml")
    assert document.data == {"a": {"n": 1}, "b": {"n": 1}}


def test_recursive_alias_is_refused() -> None:
    [line] = _problems("a: &x [1, *x]\n")
    assert "refers to a node that contains it" in line


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    [line] = _problems("a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert "nested deeper than 64 levels" in line


def test_control_character_is_reported_with_its_line() -> None:
    assert _problems("a: 1\nb: \x00\n") == [
        "t.yaml:2: (document): control characters are not allowed in YAML "
        "(got '\\x00')"
    ]


def test_huge_integer_is_reported_not_crashed_on() -> None:
    document = load_yaml("a: " + "9" * 5000 + "\n", "t.yaml")
    [problem] = document.problems
    assert problem.rule == "numbers may have at most 100 digits"


def test_byte_order_mark_is_ignored() -> None:
    assert load_yaml("\ufeffa: 1\n", "t.yaml").data == {"a": 1}
