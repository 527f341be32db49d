"""A compromised node agent asks the CA for every identity of the mesh.

A node agent authenticates as itself and names the identity it wants.
With node authorization the CA signs only identities with a pod on the
agent's node; without it, every identity in the mesh.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

import simpy

from meshsim.attack.loot import Loot
from meshsim.attack.token_theft import request_certificate
from meshsim.mesh.ca import CaServer
from meshsim.mesh.tokens import TokenSource
from meshsim.mesh.topology import ServiceAccount

__all__ = ["Impersonation"]


class Impersonation:
    """At ``start_s``, one CSR per identity from the agent on ``node``."""

    def __init__(
        self,
        env: simpy.Environment,
        ca: CaServer,
        loot: Loot,
        *,
        accounts: Sequence[ServiceAccount],
        node: int,
        start_s: float,
    ) -> None:
        self.env = env
        self.ca = ca
        self.loot = loot
        self.accounts = tuple(accounts)
        self.node = node
        self.start_s = start_s

    def start(self) -> simpy.Process:
        """Schedule the requests."""
        return self.env.process(self.impersonate())

    def impersonate(self) -> Generator[simpy.Event, Any, None]:
        """Ask for every identity once, as the compromised node agent."""
        yield self.env.timeout(self.start_s - self.env.now)
        for account in self.accounts:
            source = TokenSource(account.namespace, account.name, None)
            yield from request_certificate(
                self.ca,
                self.loot,
                source.token_at(self.env.now),
                account.spiffe_id,
                self.node,
            )
