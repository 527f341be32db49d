"""Values in one-line messages: cut to a length, closing quote kept."""

from __future__ import annotations

import pytest

from meshsim.shown import counted, cut, cut_repr, cut_value, visible


@pytest.mark.parametrize(
    ("text", "limit", "shown"),
    [
        ("abcdef", 6, "abcdef"),  # as long as the limit: whole
        ("abcdefg", 6, "abcde…"),
        ("'abcdefg'", 6, "'abc…'"),  # quoted: the closing quote stays
        ('"abcdefg"', 6, '"abc…"'),
        ("'abcdefg", 6, "'abcd…"),  # no closing quote to keep
        ("[1, 2, 3, 4]", 6, "[1, 2…"),
    ],
)
def test_a_cut_text_is_at_most_its_limit_and_ends_with_an_ellipsis(
    text: str, limit: int, shown: str
) -> None:
    assert cut(text, limit) == shown
    assert len(cut(text, limit)) <= limit


def test_text_is_shown_as_it_reads_and_anything_else_as_its_repr() -> None:
    assert cut_value("a b", 10) == "a b"
    assert cut_value(["a b"], 10) == "['a b']"
    assert cut_repr("a b", 10) == "'a b'"
    assert cut_repr("x" * 20, 10) == "'xxxxxxx…'"


def test_characters_that_would_not_show_are_written_as_their_codes() -> None:
    # a bell, an escape starting a colour, a right-to-left override and
    # a zero-width space; a tab, a newline and other letters stay
    shown = visible("a\x07b\x1b[31mc\u202ed\u200be\tf\ng é")

    assert shown == "a\\x07b\\x1b[31mc\\u202ed\\u200be\tf\ng é"


@pytest.mark.parametrize(
    ("number", "shown"), [(0, "0 points"), (1, "1 point"), (2, "2 points")]
)
def test_a_count_is_singular_for_one_alone(number: int, shown: str) -> None:
    assert counted(number, "point") == shown


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a\u2067b", "a\\u2067b"),  # right-to-left isolate
        ("a\x9bb", "a\\x9bb"),  # C1: a one-byte escape sequence start
        ("a\x85b", "a\\x85b"),  # C1: next line
    ],
)
def test_isolates_and_c1_controls_are_written_as_codes(
    text: str, shown: str
) -> None:
    assert visible(text) == shown
