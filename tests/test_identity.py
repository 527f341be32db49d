"""SPIFFE ID and trust domain rules, checked against go-spiffe's vectors."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from meshsim.identity import (
    MAX_SPIFFE_ID_BYTES,
    InvalidSpiffeId,
    SpiffeId,
    parse_spiffe_id,
    parse_trust_domain,
    workload_spiffe_id,
)

VECTORS = Path(__file__).resolve().parents[1].parent / "shared" / "vectors"
_MISSING = "vectors-missing"


def _vector_cases(name: str, key: str | None = None) -> list[Any]:
    """Cases of one vector file, or one failing case if it is missing."""
    path = VECTORS / name
    if not path.is_file():
        return [pytest.param(None, id=_MISSING)]
    data = json.loads(path.read_text(encoding="utf-8"))
    cases = data if key is None else data[key]
    return [
        pytest.param(case, id=f"{i}:{_label(case)}")
        for i, case in enumerate(cases)
    ]


def _label(case: dict[str, Any]) -> str:
    for field in ("id", "name", "path", "segments"):
        if field in case:
            return ascii(case[field])[:60]
    return "case"


def _require(case: dict[str, Any] | None) -> dict[str, Any]:
    if case is None:
        pytest.fail(
            f"peer vectors not found at {VECTORS}: the shared/ folder must "
            "sit beside the repository clone"
        )
    return case


@pytest.mark.parametrize("case", _vector_cases("spiffe_ids.json"))
def test_spiffe_id_vector_outcome_and_rule(case: dict[str, Any] | None) -> None:
    case = _require(case)
    if case["valid"]:
        spiffe_id = parse_spiffe_id(case["id"])
        assert spiffe_id.trust_domain == case["trust_domain"]
        assert spiffe_id.path == case["path"]
        assert str(spiffe_id) == case["id"]
    else:
        with pytest.raises(InvalidSpiffeId) as caught:
            parse_spiffe_id(case["id"])
        assert caught.value.kind == case["error_kind"]


@pytest.mark.parametrize("case", _vector_cases("trust_domains.json"))
def test_trust_domain_vector_accepts_name_or_full_id(
    case: dict[str, Any] | None,
) -> None:
    case = _require(case)
    if case["valid"]:
        assert parse_trust_domain(case["name"]) == case["expected"]
    else:
        with pytest.raises(InvalidSpiffeId):
            parse_trust_domain(case["name"])


@pytest.mark.parametrize("case", _vector_cases("path_cases.json", "paths"))
def test_path_vector_on_an_id_of_a_valid_trust_domain(
    case: dict[str, Any] | None,
) -> None:
    case = _require(case)
    if case["valid"]:
        assert SpiffeId("example.org", case["path"]).path == case["path"]
    else:
        with pytest.raises(InvalidSpiffeId) as caught:
            SpiffeId("example.org", case["path"])
        assert caught.value.kind == case["error_kind"]


@pytest.mark.parametrize("case", _vector_cases("path_cases.json", "segments"))
def test_segments_vector_join_into_a_path(case: dict[str, Any] | None) -> None:
    case = _require(case)
    if case["valid"]:
        spiffe_id = SpiffeId.from_segments("example.org", *case["segments"])
        assert spiffe_id.path == case["joined"]
    else:
        with pytest.raises(InvalidSpiffeId) as caught:
            SpiffeId.from_segments("example.org", *case["segments"])
        assert caught.value.kind == case["error_kind"]


def _id_of_length(size: int) -> str:
    prefix = "spiffe://example.org/"
    return prefix + "a" * (size - len(prefix))


def test_id_of_2048_bytes_is_accepted() -> None:
    text = _id_of_length(2048)
    assert len(text.encode("utf-8")) == 2048
    assert str(parse_spiffe_id(text)) == text


def test_id_over_2048_bytes_is_too_long() -> None:
    text = _id_of_length(MAX_SPIFFE_ID_BYTES + 1)
    with pytest.raises(InvalidSpiffeId) as caught:
        parse_spiffe_id(text)
    assert caught.value.kind == "too_long"


def test_error_message_names_the_rule_and_the_value() -> None:
    with pytest.raises(InvalidSpiffeId) as caught:
        parse_spiffe_id("spiffe://a/b/")
    assert (
        str(caught.value) == "spiffe id 'spiffe://a/b/' must not end with '/'"
    )


def test_invalid_spiffe_id_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="must start with 'spiffe://'"):
        parse_spiffe_id("https://example.org/workload")


def test_spiffe_id_cannot_be_built_invalid_directly() -> None:
    with pytest.raises(InvalidSpiffeId) as caught:
        SpiffeId("Example.org", "/workload")
    assert caught.value.kind == "bad_trust_domain_char"


def test_spiffe_id_is_an_immutable_hashable_value() -> None:
    first = parse_spiffe_id("spiffe://example.org/ns/default/sa/web")
    second = SpiffeId("example.org", "/ns/default/sa/web")
    assert first == second
    assert {first: 1}[second] == 1
    assert first.uri == "spiffe://example.org/ns/default/sa/web"
    with pytest.raises(AttributeError):
        first.path = "/other"  # type: ignore[misc]  # frozen on purpose


def test_workload_id_is_ns_then_sa_under_the_trust_domain() -> None:
    spiffe_id = workload_spiffe_id("cluster.local", "default", "sleep")
    assert str(spiffe_id) == "spiffe://cluster.local/ns/default/sa/sleep"
    assert spiffe_id.trust_domain == "cluster.local"
    assert spiffe_id.path == "/ns/default/sa/sleep"


@pytest.mark.parametrize(
    ("trust_domain", "namespace", "service_account", "kind", "parameter"),
    [
        (
            "cluster.local/x",
            "default",
            "web",
            "bad_trust_domain_char",
            "trust_domain",
        ),
        ("", "default", "web", "missing_trust_domain", "trust_domain"),
        ("cluster.local", "a/b", "web", "bad_path_char", "namespace"),
        ("cluster.local", "", "web", "empty_segment", "namespace"),
        ("cluster.local", "default", "..", "dot_segment", "service_account"),
        (
            "cluster.local",
            "default",
            "we b",
            "bad_path_char",
            "service_account",
        ),
    ],
)
def test_workload_id_parts_must_each_be_one_valid_part(
    trust_domain: str,
    namespace: str,
    service_account: str,
    kind: str,
    parameter: str,
) -> None:
    with pytest.raises(InvalidSpiffeId) as caught:
        workload_spiffe_id(trust_domain, namespace, service_account)
    assert caught.value.kind == kind
    assert str(caught.value).startswith(parameter)


def test_invalid_spiffe_id_keeps_its_kind_across_pickling() -> None:
    with pytest.raises(InvalidSpiffeId) as caught:
        parse_spiffe_id("spiffe://example.org//x")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert isinstance(copy, InvalidSpiffeId)
    assert copy.kind == "empty_segment"
    assert str(copy) == str(caught.value)
