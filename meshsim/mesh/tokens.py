"""Service-account tokens: how a caller proves who it is to the CA.

A token stands for a projected Kubernetes service-account JWT that the CA
checks by token review. meshsim does not encode JWTs; the CA checks the
same claims (service account, audience, expiry) on this value object.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

__all__ = ["CA_AUDIENCE", "ServiceAccountToken", "TokenSource"]

# The kubelet refreshes a projected token at 80% of its lifetime.
REFRESH_AT: Final = 0.8

CA_AUDIENCE: Final = "istio-ca"


@dataclass(frozen=True, slots=True)
class ServiceAccountToken:
    """The claims of one bound service-account token."""

    namespace: str
    service_account: str
    audience: str = CA_AUDIENCE
    expires_s: float = math.inf

    def problem_at(self, now: float) -> str | None:
        """Why the CA would refuse this token at ``now``, or None."""
        if self.audience != CA_AUDIENCE:
            return "token-audience"
        if now >= self.expires_s:
            return "token-expired"
        return None


@dataclass(slots=True, eq=False)
class TokenSource:
    """The token a workload's agent holds for an identity at any time.

    With ``ttl_s`` None tokens never expire. A pod's first token is issued
    as the pod starts. With ``refresh`` the kubelet replaces the token at
    80% of its life, so the one held at ``now`` was issued the last whole
    multiple of ``0.8 * ttl_s`` after the pod started; without it, the
    first token is the only one.

    NOTE: one source serves every pod of a service account: pods that
    started together (every pod but a churned one, which starts on
    arrival) refresh together, and the cache below holds one token.
    """

    namespace: str
    service_account: str
    ttl_s: float | None
    refresh: bool = True
    # The last token handed out: an agent asks once per CSR, and the
    # token changes far less often.
    _held: ServiceAccountToken | None = field(
        default=None, init=False, repr=False
    )

    def token_at(self, now: float, since: float = 0.0) -> ServiceAccountToken:
        """The token held at ``now`` by a pod that started at ``since``."""
        expires = math.inf
        if self.ttl_s is not None:
            issued = since
            if self.refresh:
                period = REFRESH_AT * self.ttl_s
                issued += math.floor((now - since) / period) * period
            expires = issued + self.ttl_s
        held = self._held
        if held is not None and held.expires_s == expires:
            return held
        self._held = ServiceAccountToken(
            self.namespace, self.service_account, expires_s=expires
        )
        return self._held
