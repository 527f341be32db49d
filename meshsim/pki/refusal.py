"""Why an X509-SVID, its key or a trust bundle is refused.

:class:`SvidError` carries two words: ``reason``, the coarse class a
handshake is recorded under, and ``kind``, the exact rule that was
broken.
"""

from __future__ import annotations

import functools
from typing import Literal

__all__ = ["SvidError", "SvidReason"]

SvidReason = Literal[
    "malformed",
    "empty-chain",
    "bad-leaf",
    "bad-signer",
    "bad-key",
    "unknown-authority",
    "expired",
    "not-yet-valid",
    "invalid-chain",
]
"""Coarse classes of refusal, as the simulator records handshakes."""


class SvidError(ValueError):
    """An X509-SVID, its key, or a trust bundle is refused.

    ``reason`` is one of :data:`SvidReason`; ``kind`` names the rule that
    was broken (for a bad SPIFFE ID in the leaf it is the
    :class:`~meshsim.identity.InvalidSpiffeId` kind).
    """

    def __init__(self, message: str, *, reason: SvidReason, kind: str) -> None:
        super().__init__(message)
        self.reason: SvidReason = reason
        self.kind = kind

    def __reduce__(self) -> tuple[functools.partial[SvidError], tuple[str]]:
        # Keeps reason and kind when an error crosses a process boundary.
        rebuild = functools.partial(
            type(self), reason=self.reason, kind=self.kind
        )
        return rebuild, (str(self),)
