"""Node or pod agents that obtain and rotate workload certificates.

For each slot an agent runs :meth:`Agent.rotate`: make a key and a CSR,
send it to the CA, install the chain it gets back, and sleep until the
remaining life falls to ``g`` of the lifetime, with
``g = grace_ratio ± U(0, jitter)``. When the CA fails, the agent retries
the same CSR after a backoff and keeps serving the old certificate until
it expires.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from meshsim.clock import simulated_now
from meshsim.identity import SpiffeId
from meshsim.mesh.ca import CaServer, CsrAnswer
from meshsim.mesh.credential import Credential
from meshsim.mesh.crypto import Crypto
from meshsim.mesh.graces import Graces
from meshsim.mesh.state import MeshState, Slot
from meshsim.mesh.tokens import ServiceAccountToken, TokenSource
from meshsim.metrics.records import Recorder
from meshsim.pki.svid import SvidError

__all__ = ["Agent", "Backoff", "RenewalPolicy"]


@dataclass(frozen=True, slots=True)
class RenewalPolicy:
    """When to renew: remaining life <= g * lifetime, for the grace ratio
    ``g`` of each certificate (:class:`meshsim.mesh.graces.Graces`).

    ``lifetime_from`` says how the lifetime is measured: ``agent-clock``
    (NotAfter minus the agent's clock at install, as Istio's sidecar
    agent does) or ``certificate`` (NotAfter minus NotBefore). With
    ``clamp`` the wait until renewal is kept within ``[low, high]``.
    """

    lifetime_from: str = "agent-clock"
    clamp: tuple[float, float] | None = None

    def renew_at(
        self,
        now: float,
        not_after: float,
        grace: float,
        not_before: float | None = None,
    ) -> float:
        """The agent-clock time at which the remaining life equals
        ``grace`` of the lifetime."""
        if self.lifetime_from == "certificate" and not_before is not None:
            start = not_before
        else:
            start = now
        at = start + (1.0 - grace) * (not_after - start)
        if self.clamp is not None:
            low, high = self.clamp
            at = now + min(max(at - now, low), high)
        return at


@dataclass(frozen=True, slots=True)
class Backoff:
    """The wait after a failed CSR attempt.

    ``exponential``: ``fast_retries`` quick retries from ``fast_initial``
    doubling, then ``initial * multiplier**k``, both capped at ``max_s``;
    each wait is multiplied by ``1 ± U(0, jitter)``. ``remaining``: a fraction
    of the current certificate's remaining life, clamped to
    ``[initial_s, max_s]`` (``initial_s`` when there is none).
    """

    initial_s: float
    max_s: float
    multiplier: float
    kind: str = "exponential"
    jitter: float = 0.0
    fast_retries: int = 0
    fast_initial_s: float = 0.1
    remaining_fraction: float = 0.7

    def delay(
        self,
        failures: int,
        rng: np.random.Generator | None = None,
        remaining_s: float | None = None,
    ) -> float:
        """The wait after the ``failures``-th consecutive failure (1-based);
        ``remaining_s`` is the life left of the certificate in use."""
        if self.kind == "remaining":
            if remaining_s is None or remaining_s <= 0:
                return self.initial_s
            wait = self.remaining_fraction * remaining_s
            return min(max(wait, self.initial_s), self.max_s)
        if failures <= self.fast_retries:
            wait = min(self.max_s, self.fast_initial_s * 2.0 ** (failures - 1))
        else:
            exponent = min(failures - self.fast_retries - 1, 64)
            try:
                grown = self.initial_s * self.multiplier**exponent
            except OverflowError:
                # Beyond any float, and so beyond the cap.
                grown = self.max_s
            wait = min(self.max_s, grown)
        if self.jitter and rng is not None:
            wait *= 1.0 + rng.uniform(-self.jitter, self.jitter)
        return wait


class Agent:
    """An agent on ``node`` holding one certificate per slot."""

    def __init__(
        self,
        env: simpy.Environment,
        state: MeshState,
        ca: CaServer,
        recorder: Recorder,
        crypto: Crypto,
        rng: np.random.Generator,
        *,
        index: int,
        name: str,
        node: int,
        key_algorithm: str,
        renewal: RenewalPolicy,
        graces: Graces,
        backoff: Backoff,
        tokens: dict[int, TokenSource],
        per_node: bool = False,
        max_in_flight: int | None = None,
    ) -> None:
        self.env = env
        self.state = state
        self.ca = ca
        self.recorder = recorder
        self.crypto = crypto
        self.rng = rng
        self.index = index
        self.name = name
        self.node = node
        self.key_algorithm = key_algorithm
        self.renewal = renewal
        self.graces = graces
        self.backoff = backoff
        self.tokens = tokens
        # when its pod started (0, or a churned pod's arrival): the
        # time its first token was issued
        self.started_s = simulated_now(env)
        self.per_node = per_node
        self.in_flight = (
            simpy.Resource(env, capacity=max_in_flight)
            if max_in_flight is not None
            else None
        )

    def start(self, slot: Slot) -> simpy.Process:
        """Begin rotating the certificate of ``slot``, with the next row
        of grace ratios."""
        return self.env.process(self.rotate(slot, self.graces.next_row()))

    def clock(self) -> float:
        """Now, as this agent's node clock reads it."""
        return self.state.node_time(self.node)

    def rotate(self, slot: Slot, row: int) -> Generator[simpy.Event, Any, None]:
        """Obtain a certificate, install it, sleep until renewal at the
        grace ratios of ``row``; repeat until the pod is deleted (an
        interrupt)."""
        node_name = self.state.topology.nodes[self.node]
        id_text = str(self.state.topology.accounts[slot.account].spiffe_id)
        rotations = self.recorder.rotations
        env, renewal, graces = self.env, self.renewal, self.graces
        # Node clocks keep their offsets for the whole run.
        offset = self.state.clock_offsets_s[self.node]
        ratios: list[float] = []
        blocks = 0
        # One generator for the whole loop: each resumption passes through
        # every generator it delegates to.
        try:
            while True:
                obtained = yield from self._obtain(slot)
                credential, attempts, cost, size = obtained

                # Install: the pods of this slot present it from now.
                self.state.install(slot, credential)

                # Renew from the lifetime seen on this node's clock.
                installed = simulated_now(env)
                now = installed + offset
                if not ratios:
                    ratios = graces.block(row, blocks)
                    blocks += 1
                renew_at = renewal.renew_at(
                    now,
                    credential.valid_until_s,
                    ratios.pop(),
                    credential.not_before_s,
                )
                wait = renew_at - now
                if wait <= 0:
                    # NOTE: a certificate due for renewal as it is
                    # installed (a node clock far ahead, a leaf cut short
                    # by an expiring signer) is renewed after the agent's
                    # backoff step, not at once, which would renew as
                    # fast as the CA answers: a real agent's loop (SPIRE's
                    # 5 s sync) turns no faster. Stays while agents have
                    # no rate limit of their own.
                    wait = self.backoff.initial_s
                rotations.add(
                    installed,
                    self.name,
                    node_name,
                    id_text,
                    credential.serial_hex,
                    credential.not_before_s,
                    credential.valid_until_s,
                    installed + wait,
                    attempts,
                    cost,
                    size,
                )
                yield env.timeout(wait)
        except simpy.Interrupt:
            return

    def _obtain(
        self, slot: Slot
    ) -> Generator[simpy.Event, Any, tuple[Credential, int, float, int]]:
        """Send CSRs until one is signed; back off between failures."""
        account = self.state.topology.accounts[slot.account]
        source = self.tokens[slot.account]
        crypto = self.crypto
        node = self.node if self.per_node else None

        # Make a fresh key and a CSR for the slot's identity; retries send
        # the same CSR again.
        key, csr, size, cost = crypto.key_and_csr(
            self.key_algorithm, account.spiffe_id
        )
        attempts = 0
        while True:
            attempts += 1

            # Ask the CA, holding one of the agent's in-flight places.
            token = source.token_at(simulated_now(self.env), self.started_s)
            answer = yield from (
                self.ca.serve_csr(self.name, token, csr, size, node)
                if self.in_flight is None
                else self._ask_in_turn(token, csr, size, node)
            )
            if answer.chain is not None:
                size += answer.chain_bytes
                began = crypto.began()
                credential = self._accept(account.spiffe_id, answer, key)
                cost += crypto.charged("verify-issued", began)
                if credential is not None:
                    return credential, attempts, cost, size

            # Back off; the certificate in use, if any, stays installed.
            held = self.state.credentials.get(slot)
            remaining = (
                held.not_after_s - self.clock() if held is not None else None
            )
            yield self.env.timeout(
                self.backoff.delay(attempts, self.rng, remaining)
            )

    def _ask_in_turn(
        self,
        token: ServiceAccountToken,
        csr: Any,
        size: int,
        node: int | None,
    ) -> Generator[simpy.Event, Any, CsrAnswer]:
        """Ask the CA once one of the agent's in-flight places is free."""
        assert self.in_flight is not None
        with self.in_flight.request() as place:
            yield place
            return (
                yield from self.ca.serve_csr(self.name, token, csr, size, node)
            )

    def _accept(
        self, spiffe_id: SpiffeId, answer: CsrAnswer, key: Any
    ) -> Credential | None:
        """Check an issued chain against the roots the CA sent with it.

        NOTE: the node's own bundle is not used here, as Istio's agent
        installs the root the CA returns; peers still verify with theirs.
        """
        assert answer.chain is not None
        roots = {spiffe_id.trust_domain: answer.roots}
        now = simulated_now(self.env)
        try:
            issued = self.crypto.verify(answer.chain, roots, now)
        except SvidError:
            return None
        if issued != spiffe_id:
            return None
        return Credential.from_chain(
            spiffe_id,
            answer.chain,
            key,
            self.state.clock,
            checked=(now, answer.roots),
        )
