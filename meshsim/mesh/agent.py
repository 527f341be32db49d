"""Node or pod agents that obtain and rotate workload certificates.

For each slot an agent runs :meth:`Agent.rotate`: make a key and a CSR,
send it to the CA, install the chain it gets back, and sleep until the
remaining life falls to ``g`` of the lifetime, with
``g = grace_ratio ± U(0, jitter)``. When the CA fails, the agent retries
with capped exponential backoff and keeps serving the old certificate
until it expires.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import simpy
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from meshsim.identity import SpiffeId
from meshsim.mesh.ca import CaServer, CsrAnswer
from meshsim.mesh.credential import Credential
from meshsim.mesh.state import MeshState, Slot
from meshsim.mesh.tokens import ServiceAccountToken
from meshsim.metrics.records import Recorder, RotationRecord
from meshsim.pki.csr import build_csr
from meshsim.pki.keys import PrivateKey, generate_key
from meshsim.pki.svid import SvidError, verify_svid

__all__ = ["Agent", "Backoff", "RenewalPolicy"]


@dataclass(frozen=True, slots=True)
class RenewalPolicy:
    """When to renew: remaining life <= g * lifetime."""

    grace_ratio: float
    jitter: float

    def draw_grace(self, rng: np.random.Generator) -> float:
        """``grace_ratio`` plus or minus U(0, jitter), sign at random."""
        if self.jitter == 0:
            return self.grace_ratio
        offset = rng.uniform(0.0, self.jitter)
        sign = 1.0 if rng.random() < 0.5 else -1.0
        return self.grace_ratio + sign * offset

    def renew_at(self, now: float, not_after: float, grace: float) -> float:
        """The time at which the remaining life equals ``grace`` of the
        lifetime, the lifetime measured from ``now`` on the agent's clock."""
        lifetime = not_after - now
        return now + (1.0 - grace) * lifetime


@dataclass(frozen=True, slots=True)
class Backoff:
    """Capped exponential backoff between failed CSR attempts.

    NOTE: no retry jitter and no fast-retry phase (Istio makes five quick
    retries first); both wait for the mesh profiles.
    """

    initial_s: float
    max_s: float
    multiplier: float

    def delay(self, failures: int) -> float:
        """The wait after the ``failures``-th consecutive failure (1-based)."""
        exponent = min(failures - 1, 64)
        return min(self.max_s, self.initial_s * self.multiplier**exponent)


class Agent:
    """An agent on ``node`` holding one certificate per slot."""

    def __init__(
        self,
        env: simpy.Environment,
        state: MeshState,
        ca: CaServer,
        recorder: Recorder,
        rng: np.random.Generator,
        *,
        index: int,
        name: str,
        node: int,
        key_algorithm: str,
        renewal: RenewalPolicy,
        backoff: Backoff,
    ) -> None:
        self.env = env
        self.state = state
        self.ca = ca
        self.recorder = recorder
        self.rng = rng
        self.index = index
        self.name = name
        self.node = node
        self.key_algorithm = key_algorithm
        self.renewal = renewal
        self.backoff = backoff

    def start(self, slot: Slot) -> simpy.Process:
        """Begin rotating the certificate of ``slot``."""
        return self.env.process(self.rotate(slot))

    def rotate(self, slot: Slot) -> Generator[simpy.Event, Any, None]:
        """Obtain a certificate, install it, sleep until renewal; repeat."""
        account = self.state.topology.accounts[slot.account]
        token = ServiceAccountToken(account.namespace, account.name)
        while True:
            credential, attempts, cost, size = yield from self._obtain(
                slot, token
            )

            # Install: the pods of this slot present the new chain from now.
            self.state.install(slot, credential)

            # Schedule renewal from the lifetime seen on this node's clock.
            now = self.state.node_time(self.node)
            grace = self.renewal.draw_grace(self.rng)
            renew_at = self.renewal.renew_at(now, credential.not_after_s, grace)
            self.recorder.rotations.append(
                RotationRecord(
                    installed_s=self.env.now,
                    agent=self.name,
                    node=self.state.topology.nodes[self.node],
                    spiffe_id=str(credential.spiffe_id),
                    serial_number=credential.serial_hex,
                    not_before_s=credential.valid_from_s,
                    not_after_s=credential.not_after_s,
                    renew_at_s=renew_at - (now - self.env.now),
                    attempts=attempts,
                    crypto_cpu_s=cost,
                    bytes=size,
                )
            )
            yield self.env.timeout(max(0.0, renew_at - now))

    def _obtain(
        self, slot: Slot, token: ServiceAccountToken
    ) -> Generator[simpy.Event, Any, tuple[Credential, int, float, int]]:
        """Send CSRs until one is signed; back off between failures."""
        account = self.state.topology.accounts[slot.account]
        crypto = self.recorder.crypto
        attempts = 0

        # Make a fresh key and a CSR for the slot's identity; retries send
        # the same CSR again.
        key, spent_key = crypto.measure(
            "keygen", lambda: generate_key(self.key_algorithm)
        )
        csr, spent_csr = crypto.measure(
            "csr-sign", lambda: build_csr(key, account.spiffe_id)
        )
        csr_der = csr.public_bytes(Encoding.DER)
        cost = spent_key + spent_csr
        size = len(csr_der)
        while True:
            attempts += 1

            # Ask the CA; on success check what came back and keep it.
            answer: CsrAnswer = yield from self.ca.serve_csr(
                self.name, token, csr_der
            )
            if answer.chain is not None:
                size += sum(
                    len(c.public_bytes(Encoding.DER)) for c in answer.chain
                )
                credential, spent = crypto.measure(
                    "verify-issued",
                    partial(self._accept, account.spiffe_id, answer.chain, key),
                )
                cost += spent
                if credential is not None:
                    return credential, attempts, cost, size

            yield self.env.timeout(self.backoff.delay(attempts))

    def _accept(
        self,
        spiffe_id: SpiffeId,
        chain: tuple[x509.Certificate, ...],
        key: PrivateKey,
    ) -> Credential | None:
        """Check an issued chain against this node's bundle before use."""
        bundle = self.state.bundle_of_node[self.node]
        at = self.state.clock.to_datetime(self.state.node_time(self.node))
        try:
            issued = verify_svid(chain, bundle.roots, at)
        except SvidError:
            return None
        if issued != spiffe_id:
            return None
        return Credential.from_chain(spiffe_id, chain, key, self.state.clock)
