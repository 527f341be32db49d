"""Service-account tokens: how a caller proves who it is to the CA.

A token stands for a projected Kubernetes service-account JWT that the CA
checks by token review. meshsim does not encode JWTs; the CA checks the
same claims (service account, audience, expiry) on this value object.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["CA_AUDIENCE", "ServiceAccountToken"]

CA_AUDIENCE = "istio-ca"


@dataclass(frozen=True, slots=True)
class ServiceAccountToken:
    """The claims of one bound service-account token."""

    namespace: str
    service_account: str
    audience: str = CA_AUDIENCE
    # NOTE: agents get tokens that never expire until token refresh and
    # theft are modelled; the CA already checks the expiry.
    expires_s: float = math.inf

    def problem_at(self, now: float) -> str | None:
        """Why the CA would refuse this token at ``now``, or None."""
        if self.audience != CA_AUDIENCE:
            return "token-audience"
        if now >= self.expires_s:
            return "token-expired"
        return None
