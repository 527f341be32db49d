"""SPIFFE IDs and trust domains.

A SPIFFE ID has the form ``spiffe://<trust domain><path>``. The trust
domain is made of ``[a-z0-9._-]``; the path is either empty or a series of
``/segment`` parts, each segment made of ``[A-Za-z0-9._-]`` and never empty,
``.`` or ``..``. There is no percent-decoding, port, userinfo, query or
fragment: the characters that would introduce them are simply not allowed.

Every check here works on the text itself, one rule at a time, so that an
error names the first rule the value breaks (its ``kind``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

__all__ = [
    "MAX_SPIFFE_ID_BYTES",
    "SCHEME_PREFIX",
    "InvalidSpiffeId",
    "InvalidSpiffeIdError",
    "SpiffeId",
    "parse_spiffe_id",
    "parse_trust_domain",
    "workload_spiffe_id",
]

SCHEME_PREFIX = "spiffe://"
"""The only accepted scheme and authority marker (lowercase)."""

MAX_SPIFFE_ID_BYTES = 2048
"""Longest SPIFFE ID accepted, in UTF-8 bytes (the SPIFFE standard's bound)."""

_TRUST_DOMAIN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-_")
_SEGMENT_CHARS = _TRUST_DOMAIN_CHARS | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DOT_SEGMENTS = (".", "..")


class InvalidSpiffeIdError(ValueError):
    """A SPIFFE ID, trust domain or path breaks a SPIFFE rule.

    ``kind`` names the rule: ``empty``, ``too_long``, ``bad_scheme``,
    ``missing_trust_domain``, ``bad_trust_domain_char``, ``bad_path_char``,
    ``no_leading_slash``, ``empty_segment``, ``dot_segment`` or
    ``trailing_slash``.
    """

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.kind = kind

    def __reduce__(
        self,
    ) -> tuple[functools.partial[InvalidSpiffeIdError], tuple[str]]:
        # Keeps the kind when an error crosses a process boundary.
        return functools.partial(type(self), kind=self.kind), (str(self),)


InvalidSpiffeId = InvalidSpiffeIdError
"""The name the rest of meshsim catches; the same class."""


@dataclass(frozen=True, slots=True)
class SpiffeId:
    """A valid SPIFFE ID: a trust domain name and a path.

    ``path`` is ``""`` for an ID made of the trust domain only, otherwise it
    starts with ``/``. Both parts are checked on construction, so holding a
    ``SpiffeId`` means holding a valid one.
    """

    trust_domain: str
    path: str = ""

    def __post_init__(self) -> None:
        text = SCHEME_PREFIX + self.trust_domain + self.path
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_SPIFFE_ID_BYTES:
            raise InvalidSpiffeIdError(
                f"spiffe id {text[:40]!r}... is {size} bytes long, must be "
                f"at most {MAX_SPIFFE_ID_BYTES}",
                kind="too_long",
            )
        _check_trust_domain(self.trust_domain, f"spiffe id {text!r}")
        _check_path(self.path, f"spiffe id {text!r}")

    @classmethod
    def from_segments(cls, trust_domain: str, *segments: str) -> SpiffeId:
        """Build an ID from a trust domain and path segments, each checked."""
        for index, segment in enumerate(segments):
            _check_segment(segment, f"path segment {index} ({segment!r})")
        return cls(trust_domain, "".join("/" + s for s in segments))

    @property
    def uri(self) -> str:
        """The ID as a URI string, ``spiffe://<trust domain><path>``."""
        return SCHEME_PREFIX + self.trust_domain + self.path

    def __str__(self) -> str:
        return self.uri

    # Written out rather than left to dataclass, which makes them as
    # Python source at import: compiled, these two run natively, and a
    # run compares IDs several times per renewal.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SpiffeId):
            return NotImplemented
        return (
            self.trust_domain == other.trust_domain and self.path == other.path
        )

    def __hash__(self) -> int:
        return hash((self.trust_domain, self.path))


def parse_spiffe_id(text: str) -> SpiffeId:
    """Parse ``spiffe://<trust domain><path>`` into a :class:`SpiffeId`.

    Raises :class:`InvalidSpiffeId` naming the first rule the text breaks.
    """
    if text == "":
        raise InvalidSpiffeIdError("spiffe id must not be empty", kind="empty")
    if not text.startswith(SCHEME_PREFIX):
        raise InvalidSpiffeIdError(
            f"spiffe id {text!r} must start with {SCHEME_PREFIX!r}",
            kind="bad_scheme",
        )

    rest = text[len(SCHEME_PREFIX) :]
    slash = rest.find("/")
    if slash < 0:
        return SpiffeId(rest)
    return SpiffeId(rest[:slash], rest[slash:])


def parse_trust_domain(text: str) -> str:
    """Return the trust domain name given by a bare name or a SPIFFE ID.

    Text containing ``:/`` is read as a full SPIFFE ID (which must be valid
    as a whole) and its trust domain is returned; other text must itself be
    a trust domain name.
    """
    if ":/" in text:
        return parse_spiffe_id(text).trust_domain
    _check_trust_domain(text, f"trust domain {text!r}")
    return text


def workload_spiffe_id(
    trust_domain: str, namespace: str, service_account: str
) -> SpiffeId:
    """The Kubernetes-style workload ID ``spiffe://<td>/ns/<ns>/sa/<sa>``."""
    _check_trust_domain(trust_domain, f"trust_domain {trust_domain!r}")
    _check_segment(namespace, f"namespace {namespace!r}")
    _check_segment(service_account, f"service_account {service_account!r}")
    return SpiffeId(trust_domain, f"/ns/{namespace}/sa/{service_account}")


def _check_trust_domain(name: str, subject: str) -> None:
    """Raise unless ``name`` is a non-empty ``[a-z0-9._-]`` string."""
    if name == "":
        raise InvalidSpiffeIdError(
            f"{subject} is missing a trust domain",
            kind="missing_trust_domain",
        )
    for char in name:
        if char not in _TRUST_DOMAIN_CHARS:
            raise InvalidSpiffeIdError(
                f"{subject}: trust domain character {char!r} is not one of "
                "a-z, 0-9, '.', '-', '_'",
                kind="bad_trust_domain_char",
            )


def _check_path(path: str, subject: str) -> None:
    """Raise unless ``path`` is empty or a series of valid ``/segment``."""
    if path == "":
        return
    if not path.startswith("/"):
        raise InvalidSpiffeIdError(
            f"{subject}: path {path!r} must start with '/'",
            kind="no_leading_slash",
        )

    # Segments are checked left to right, so the first broken rule wins.
    segments = path[1:].split("/")
    last = len(segments) - 1
    for index, segment in enumerate(segments):
        _check_segment_chars(segment, subject)
        if segment == "":
            if index == last:
                raise InvalidSpiffeIdError(
                    f"{subject} must not end with '/'",
                    kind="trailing_slash",
                )
            raise InvalidSpiffeIdError(
                f"{subject} must not contain an empty path segment ('//')",
                kind="empty_segment",
            )
        if segment in _DOT_SEGMENTS:
            raise InvalidSpiffeIdError(
                f"{subject} must not contain a {segment!r} path segment",
                kind="dot_segment",
            )


def _check_segment(segment: str, subject: str) -> None:
    """Raise unless ``segment`` is one valid path segment (no ``/``)."""
    _check_segment_chars(segment, subject)
    if segment == "":
        raise InvalidSpiffeIdError(
            f"{subject} must not be an empty path segment",
            kind="empty_segment",
        )
    if segment in _DOT_SEGMENTS:
        raise InvalidSpiffeIdError(
            f"{subject} must not be a {segment!r} path segment",
            kind="dot_segment",
        )


def _check_segment_chars(segment: str, subject: str) -> None:
    for char in segment:
        if char not in _SEGMENT_CHARS:
            raise InvalidSpiffeIdError(
                f"{subject}: path character {char!r} is not one of "
                "A-Z, a-z, 0-9, '.', '-', '_'",
                kind="bad_path_char",
            )
