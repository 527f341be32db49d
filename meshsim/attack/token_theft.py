"""Token theft: stolen service-account tokens buy fresh certificates.

At ``start`` the attacker copies the tokens held on a node (one pod's
under per-workload agents, every identity's under a node agent). Every
``interval`` it makes its own key and CSR for each stolen identity and
asks the CA, which signs as long as the token has not expired.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

import simpy

from meshsim.attack.loot import Loot
from meshsim.identity import SpiffeId
from meshsim.mesh.ca import CaServer
from meshsim.mesh.credential import Credential
from meshsim.mesh.tokens import ServiceAccountToken, TokenSource

__all__ = ["TokenTheft", "request_certificate"]

_ATTACKER_KEY = "ecdsa-p256"


def request_certificate(
    ca: CaServer,
    loot: Loot,
    token: ServiceAccountToken,
    spiffe_id: SpiffeId,
    node: int | None,
) -> Generator[simpy.Event, Any, str]:
    """Ask the CA for ``spiffe_id`` with the attacker's own key; keep what
    it signs. Returns the CA's answer reason."""
    crypto = ca.crypto
    key, _ = crypto.measure(
        "attacker-forge", lambda: crypto.new_key(_ATTACKER_KEY)
    )
    csr, size = crypto.csr(key, spiffe_id)
    answer = yield from ca.serve_csr(loot.holder, token, csr, size, node)
    if answer.chain is not None:
        loot.add(Credential.from_chain(spiffe_id, answer.chain, key, ca.clock))
    return answer.reason


class TokenTheft:
    """Copies tokens at ``start_s`` and spends them until they expire."""

    def __init__(
        self,
        env: simpy.Environment,
        ca: CaServer,
        loot: Loot,
        *,
        sources: Sequence[tuple[SpiffeId, TokenSource]],
        node: int,
        start_s: float,
        interval_s: float,
    ) -> None:
        self.env = env
        self.ca = ca
        self.loot = loot
        self.sources = tuple(sources)
        self.node = node
        self.start_s = start_s
        self.interval_s = interval_s

    def start(self) -> simpy.Process:
        """Schedule the theft."""
        return self.env.process(self.spend())

    def spend(self) -> Generator[simpy.Event, Any, None]:
        """Copy the tokens, then request certificates with them until the
        CA refuses them all."""
        yield self.env.timeout(self.start_s - self.env.now)
        stolen = [(i, s.token_at(self.env.now)) for i, s in self.sources]
        rounds = 0
        while stolen:
            live = []
            for spiffe_id, token in stolen:
                reason = yield from request_certificate(
                    self.ca, self.loot, token, spiffe_id, self.node
                )
                if reason != "token-expired":
                    live.append((spiffe_id, token))
            stolen = live

            # every interval from the start, or at once when the CA took
            # longer than that to answer this round
            rounds += 1
            due = self.start_s + rounds * self.interval_s
            yield self.env.timeout(max(0.0, due - self.env.now))
