"""An attacker on the path of every connection to or from one node.

From ``start_s`` to ``end_s`` the attacker sits between callers and pods
whenever either end runs on its node. What it gets depends on what it
presents: with ``none`` it only reads plaintext; with ``self-signed``,
``rogue-ca`` or ``stolen`` it terminates the client's TLS with a chain for
the server's SPIFFE ID, and reads the request only when the client's real
verification accepts that chain. A ``stolen`` attacker uses, of the
chains attacks stole or obtained for that identity, the longest-lived one
valid by its node's clock, and relays everything else untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from datetime import timedelta
from typing import Any

import numpy as np
import simpy

from meshsim.attack.loot import Loot
from meshsim.clock import SimClock
from meshsim.identity import SpiffeId
from meshsim.mesh.credential import Credential
from meshsim.mesh.crypto import Authority, Crypto
from meshsim.mesh.handshake import Decision, Handshaker
from meshsim.mesh.serials import SerialNumbers
from meshsim.mesh.topology import Caller, Pod

__all__ = ["PRESENTS", "Mitm"]

PRESENTS = ("none", "self-signed", "rogue-ca", "stolen")

_ATTACKER_KEY = "ecdsa-p256"

# Forged certificates are valid from a day before the attack for a year.
_FORGED_BEFORE_S = 86_400.0
_FORGED_FOR_S = 365 * 86_400.0


class Mitm:
    """On-path attacker; an :class:`~meshsim.mesh.handshake.Interceptor`."""

    def __init__(
        self,
        env: simpy.Environment,
        clock: SimClock,
        crypto: Crypto,
        rng: np.random.Generator,
        *,
        index: int,
        node: int,
        start_s: float,
        end_s: float,
        presents: str,
        loots: Sequence[Loot],
        on_change: Callable[[], None],
    ) -> None:
        if presents not in PRESENTS:
            raise ValueError(
                f"presents: {presents!r} is not one of {', '.join(PRESENTS)}"
            )
        self.env = env
        self.clock = clock
        self.crypto = crypto
        self.rng = rng
        self.serials = SerialNumbers(rng)
        self.index = index
        self.node = node
        self.start_s = start_s
        self.end_s = end_s
        self.presents = presents
        self.loots = tuple(loots)
        self.on_change = on_change
        self._forged: dict[SpiffeId, Credential] = {}
        self._rogue: Authority | None = None

    def start(self) -> simpy.Process:
        """Schedule the attacker's arrival on and departure from the path."""
        return self.env.process(self.intercept())

    def intercept(self) -> Generator[simpy.Event, Any, None]:
        """Get on the path at ``start_s`` and off it at ``end_s``."""
        yield self.env.timeout(self.start_s - self.env.now)
        self.on_change()
        yield self.env.timeout(self.end_s - self.env.now)
        self.on_change()

    def covers(self, caller_node: int, server_node: int, now: float) -> bool:
        """On the path while active, for connections touching its node."""
        active = self.start_s <= now < self.end_s
        return active and self.node in (caller_node, server_node)

    def relay(
        self, handshaker: Handshaker, caller: Caller, server: Pod
    ) -> Decision:
        """Decide a connection passing through the attacker."""
        direct = handshaker.direct(caller, server)

        # Plaintext from outside the mesh is read whenever it is answered.
        # NOTE: a refused plaintext connection's first request bytes cross
        # the wire too; they are not counted, as no exchange takes place.
        if caller.pod is None:
            read = direct.outcome == "plaintext-accepted"
            return self._mark(direct, intercepted=read)
        if self.presents == "none":
            return self._mark(direct)

        # NOTE: with nothing valid stolen for the server's identity the
        # attacker relays the connection untouched, as a careful attacker
        # would.
        chosen = self._chain_for(handshaker, server)
        if chosen is None:
            return self._mark(direct, presented="relay")
        forged, source = chosen
        client = handshaker.state.credential_of_pod(caller.pod)
        if client is None:
            return self._decision("no-certificate", "client", source)

        # The client verifies the attacker's chain as the server's.
        seen = handshaker.client_accepts(caller.node, forged, server)
        if seen != "ok":
            return self._decision(seen, "client", source)

        # Accepted: the attacker reads the request, then relays it upstream
        # presenting the same chain as a client.
        served = handshaker.state.credential_of_pod(server.index)
        if served is None:
            return self._decision(
                "no-certificate", "server", source, intercepted=True
            )
        checked = handshaker.server_accepts(server.node, forged)
        refused_by = "" if checked == "ok" else "server"
        return self._decision(checked, refused_by, source, intercepted=True)

    def _decision(
        self,
        outcome: str,
        refused_by: str,
        source: int,
        intercepted: bool = False,
    ) -> Decision:
        return Decision(
            outcome, refused_by, self.index, self.presents, intercepted, source
        )

    def _mark(
        self,
        decision: Decision,
        presented: str | None = None,
        intercepted: bool = False,
    ) -> Decision:
        """``decision`` as taken with this attacker on the path."""
        return decision._replace(
            attack=self.index,
            presented=presented or self.presents,
            intercepted=intercepted,
        )

    def _chain_for(
        self, handshaker: Handshaker, server: Pod
    ) -> tuple[Credential, int] | None:
        """The chain the attacker presents as ``server``'s identity, with
        the index of the attack that stole it (-1 when forged here)."""
        account = handshaker.state.topology.accounts[server.account]
        if self.presents == "stolen":
            # Only a chain valid by the attacker's node clock: presenting
            # an expired one, or one not yet valid there, would only get
            # the connection refused.
            now = handshaker.state.node_time(self.node)
            wanted = str(account.spiffe_id)
            copies = [
                (c, loot.attack)
                for loot in self.loots
                if (c := loot.newest_valid(wanted, now)) is not None
            ]
            if not copies:
                return None
            return max(copies, key=lambda pair: pair[0].valid_until_s)
        if account.spiffe_id not in self._forged:
            forged, _ = self.crypto.measure(
                "attacker-forge", lambda: self._forge(account.spiffe_id)
            )
            self._forged[account.spiffe_id] = forged
        return self._forged[account.spiffe_id], -1

    def _forge(self, spiffe_id: SpiffeId) -> Credential:
        """A leaf for ``spiffe_id`` that is self-signed or signed by the
        attacker's own CA, with a key of its own."""
        crypto = self.crypto
        key = crypto.new_key(_ATTACKER_KEY)
        not_before = self.clock.x509_time(self.start_s - _FORGED_BEFORE_S)
        not_after = not_before + timedelta(seconds=_FORGED_FOR_S)
        issuer = (
            self._rogue_ca(spiffe_id.trust_domain)
            if self.presents == "rogue-ca"
            else None
        )
        chain = crypto.forge(
            key,
            spiffe_id,
            issuer,
            not_before,
            not_after,
            self.serials.draw(),
        )
        return Credential.from_chain(spiffe_id, chain, key, self.clock)

    def _rogue_ca(self, trust_domain: str) -> Authority:
        """The attacker's own root, made once, named like the mesh's."""
        if self._rogue is None:
            crypto = self.crypto
            key = crypto.new_key(_ATTACKER_KEY)
            not_before = self.clock.x509_time(self.start_s - _FORGED_BEFORE_S)
            root = crypto.root(
                key,
                trust_domain,
                not_before,
                not_before + timedelta(seconds=10 * _FORGED_FOR_S),
                self.serials.draw(),
            )
            self._rogue = crypto.authority(key, root, timedelta(days=90))
        return self._rogue
