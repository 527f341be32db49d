"""The CA server (istiod's role): workers that serve CSRs in turn.

CSRs are served first come, first served by ``workers`` workers; each
takes ``sign_time`` of simulated time (fixed, or exponential with that
mean), or, with ``sign_time: measured``, the CPU time this machine really
spent parsing, checking and signing it. During an outage the CA is
unreachable and a CSR fails at once.

When a CSR's service time is known as it arrives (``sign_time`` given),
the queue needs no SimPy resource: the worker that frees first takes the
next CSR, so its start is ``max(arrival, earliest free time)`` (the
Kiefer-Wolfowitz recursion of a FIFO multi-server queue), kept in a heap
of the workers' free times. A measured service time is only known once
signed, and a churned pod's CSR may leave the queue, so those cases
queue in a :class:`simpy.Resource`. A CSR whose caller goes while it is
signed keeps its worker to the end of the signature.

The roots and the CA that signs leaves, and how they change, are the
CA's hierarchy (:mod:`meshsim.mesh.hierarchy`); the server signs with
its current signing CA and sends its current trust anchors.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Generator
from datetime import timedelta
from typing import Any, Final

import numpy as np
import simpy
from simpy.resources.resource import Request

from meshsim.clock import SimClock, simulated_now
from meshsim.identity import SpiffeId, workload_spiffe_id
from meshsim.mesh.ca_policy import CaPolicy
from meshsim.mesh.crypto import AnyCertificate, Authority, Crypto
from meshsim.mesh.hierarchy import CaHierarchy, Publish
from meshsim.mesh.serials import SerialNumbers
from meshsim.mesh.tokens import ServiceAccountToken
from meshsim.metrics.records import Recorder
from meshsim.pki.authority import CsrRefusedError

__all__ = [
    "CaServer",
    "CsrAnswer",
]

# A time not known (yet): a CSR not taken up, or not finished.
_UNKNOWN: Final = float("nan")

Authorize = Callable[[int, str], bool]


class CsrAnswer:
    """What the CA sends back: a chain (leaf first) and its DER size, or a
    refusal reason, with the roots it trusts now.

    A plain class with fields set once, like the modeled certificates:
    one is made per CSR.
    """

    __slots__ = ("chain", "chain_bytes", "reason", "roots")

    def __init__(
        self,
        chain: tuple[AnyCertificate, ...] | None,
        reason: str,
        roots: tuple[AnyCertificate, ...] = (),
        chain_bytes: int = 0,
    ) -> None:
        self.chain: Final = chain
        self.reason: Final = reason
        self.roots: Final = roots
        self.chain_bytes: Final = chain_bytes

    def __repr__(self) -> str:
        return (
            f"CsrAnswer({self.reason!r}, {len(self.chain or ())} "
            f"certificates, {self.chain_bytes} bytes)"
        )


class CaServer:
    """Authenticates callers and signs their CSRs, one worker at a time."""

    def __init__(
        self,
        env: simpy.Environment,
        clock: SimClock,
        recorder: Recorder,
        crypto: Crypto,
        rng: np.random.Generator,
        policy: CaPolicy,
        publish: Publish,
        authorize: Authorize | None = None,
        service_rng: np.random.Generator | None = None,
    ) -> None:
        self.env = env
        self.clock = clock
        self.recorder = recorder
        self.crypto = crypto
        self.rng = rng
        self.serials = SerialNumbers(rng)
        self.service_rng = service_rng or rng
        self.policy = policy
        self.publish = publish
        self.authorize = authorize
        self.workers = simpy.Resource(env, capacity=policy.workers)
        self._free_at = [env.now] * policy.workers
        # CSRs queue in the Resource when the service time is known only
        # once signed, or a caller may leave; else in the heap _free_at
        self._in_resource = policy.sign_time_s is None or policy.cancellable
        self._csrs = recorder.csrs
        self.ttl = timedelta(seconds=policy.workload_ttl_s)
        self.backdate = timedelta(seconds=policy.backdate_s)
        self.allowance = timedelta(seconds=policy.allowance_s)
        self._identities: dict[tuple[str, str], tuple[SpiffeId, str]] = {}
        # CSRs received and not answered yet, by ticket: the arrival, the
        # start of service and its length (NaN while unknown), the caller
        # and its token, and the CSR's size; each gets its row once
        # answered, cancelled, or left open when the run ends (close).
        self._open: dict[int, tuple[float, float, float, str, Any, int]] = {}
        self._tickets = 0
        self.hierarchy = CaHierarchy(
            env, clock, crypto, self.serials, policy, publish
        )

    @property
    def root(self) -> AnyCertificate:
        """The first root, as every trust bundle holds it at the start
        (kept after rotations have taken it out of the bundle: the first
        chains issued lead to it)."""
        return self.hierarchy.first_root

    def start(self) -> None:
        """Start the processes that change the hierarchy over time."""
        self.hierarchy.start()

    def reachable(self, now: float) -> bool:
        """False during an outage."""
        outages = self.policy.outages
        return not outages or not any(
            o.start_s <= now < o.end_s for o in outages
        )

    def serve_csr(
        self,
        agent: str,
        token: ServiceAccountToken,
        csr: Any,
        csr_size: int,
        node: int | None = None,
    ) -> Generator[simpy.Event, Any, CsrAnswer]:
        """Queue for a worker, authenticate, check and sign one CSR.

        ``csr`` is what :meth:`Crypto.csr` made (DER bytes, or its model)
        and ``csr_size`` its DER size; ``node`` is the caller's node when
        it is a node agent, for node authorization.
        """
        submitted = simulated_now(self.env)
        if self.policy.outages and not self.reachable(submitted):
            # the identity its token names: the CA never reads it
            _, asked = self._identity(token.namespace, token.service_account)
            self._csrs.add(
                submitted, submitted, submitted, agent, asked, "unreachable",
                0.0, 0, 0,
            )  # fmt: skip
            return CsrAnswer(None, "unreachable")
        ticket = self._tickets
        self._tickets = ticket + 1

        try:
            if self._in_resource:
                self._open[ticket] = (
                    submitted, _UNKNOWN, _UNKNOWN, agent, token, csr_size,
                )  # fmt: skip
                answer, spiffe_id, started, service_s = yield from (
                    self._queue(ticket, token, csr, node)
                )
            else:
                # Take the worker that frees first; wait for it if busy.
                # NOTE: a heap of free times, not a simpy.Resource, for
                # speed; exact for FIFO while no caller can leave the
                # queue (tests/mesh/test_ca_queue.py replays it).
                service_s = self._service_time()
                started = max(submitted, self._free_at[0])
                heapq.heapreplace(self._free_at, started + service_s)
                if started > submitted:
                    # no start until a worker takes it up: a run ending
                    # at that instant stops before it does
                    self._open[ticket] = (
                        submitted, _UNKNOWN, _UNKNOWN, agent, token, csr_size,
                    )  # fmt: skip
                    yield self.env.timeout(started - submitted)
                self._open[ticket] = (
                    submitted, started, service_s, agent, token, csr_size,
                )  # fmt: skip
                answer, spiffe_id, _ = self._sign(token, csr, node, started)
                yield self.env.timeout(service_s)
        except simpy.Interrupt:
            # The caller's pod was deleted: its call is dropped.
            self._unanswered(ticket, "cancelled")
            raise

        del self._open[ticket]
        self._csrs.add(
            submitted,
            started,
            simulated_now(self.env),
            agent,
            spiffe_id,
            answer.reason,
            service_s,
            csr_size,
            answer.chain_bytes,
        )
        return answer

    def close(self) -> None:
        """Give each CSR still queued or being signed, now that the run
        ends, its row (outcome ``unanswered``)."""
        for ticket in list(self._open):
            self._unanswered(ticket, "unanswered")

    def _unanswered(self, ticket: int, outcome: str) -> None:
        """Close the row of an open CSR that gets no answer: no end
        (``unanswered``) or ended now (``cancelled``), and no start if
        its service had not begun. A cancelled CSR being signed keeps
        the service time its worker spends on it."""
        submitted, started, service, agent, token, size = self._open.pop(ticket)
        now = simulated_now(self.env)
        begun = started <= now
        _, asked = self._identity(token.namespace, token.service_account)
        self._csrs.add(
            submitted,
            started if begun else _UNKNOWN,
            now if outcome == "cancelled" else _UNKNOWN,
            agent,
            asked,
            outcome,
            service if begun and outcome == "cancelled" else _UNKNOWN,
            size,
            0,
        )

    def _queue(
        self,
        ticket: int,
        token: ServiceAccountToken,
        csr: Any,
        node: int | None,
    ) -> Generator[simpy.Event, Any, tuple[CsrAnswer, str, float, float]]:
        """Wait for a worker, then hold it while the CSR is signed: for
        the CPU time signing took, or the scenario's service time.

        A CSR whose caller goes while it waits leaves the queue; one
        being signed keeps its worker to the end of the signature.
        """
        request = self.workers.request()
        try:
            yield request
        except simpy.Interrupt:
            request.cancel()  # out of the queue, if still in it
            self.workers.release(request)  # or given back, if granted
            raise

        started = self.env.now
        answer, spiffe_id, spent = self._sign(token, csr, node, started)
        service_s = (
            spent if self.policy.sign_time_s is None else self._service_time()
        )
        submitted, _, _, caller, held, size = self._open[ticket]
        self._open[ticket] = (
            submitted, started, service_s, caller, held, size,
        )  # fmt: skip
        try:
            yield self.env.timeout(service_s)
        except simpy.Interrupt:
            # The CA signs on for a caller that has gone.
            self.env.process(self._release_at(request, started + service_s))
            raise
        self.workers.release(request)
        return answer, spiffe_id, started, service_s

    def _release_at(
        self, request: Request, when: float
    ) -> Generator[simpy.Event, Any, None]:
        """Give the worker of ``request`` back at ``when``."""
        yield self.env.timeout(max(0.0, when - self.env.now))
        self.workers.release(request)

    def _service_time(self) -> float:
        """A CSR's service time when the scenario sets it: ``sign_time``,
        or a draw of an exponential time of that mean."""
        mean = self.policy.sign_time_s
        assert mean is not None
        if self.policy.exponential_service:
            return float(self.service_rng.exponential(mean))
        return mean

    def _identity(self, namespace: str, account: str) -> tuple[SpiffeId, str]:
        """The SPIFFE ID of a service account and its text (checked once,
        then kept)."""
        key = (namespace, account)
        known = self._identities.get(key)
        if known is None:
            spiffe_id = workload_spiffe_id(
                self.policy.trust_domain, namespace, account
            )
            known = self._identities[key] = (spiffe_id, str(spiffe_id))
        return known

    def _sign(
        self,
        token: ServiceAccountToken,
        csr: Any,
        node: int | None,
        now: float,
    ) -> tuple[CsrAnswer, str, float]:
        """Authenticate the token, authorize the node, sign the CSR."""
        # Authenticate: the CA derives the identity from the token itself.
        spiffe_id, id_text = self._identity(
            token.namespace, token.service_account
        )
        problem = token.problem_at(now)
        if problem is not None:
            return CsrAnswer(None, problem), id_text, 0.0

        # Authorize a node agent: a pod with this identity must run there.
        authorize = self.authorize
        if (
            self.policy.node_authorization
            and node is not None
            and authorize is not None
            and not authorize(node, id_text)
        ):
            return CsrAnswer(None, "node-unauthorized"), id_text, 0.0

        # Parse, check and sign; the CPU time is the real cost of the CSR,
        # booked apart when it is refused (most refusals come before any
        # crypto work: an expired signer, a TTL too long).
        began = self.crypto.began()
        hierarchy = self.hierarchy
        signed = self._signed(hierarchy.active, csr, spiffe_id, now)
        if isinstance(signed, str):
            spent = self.crypto.charged("ca-refuse", began)
            return CsrAnswer(None, signed), id_text, spent
        spent = self.crypto.charged("ca-sign", began)
        answer = CsrAnswer(
            signed, "issued", hierarchy.anchors, self.crypto.size(signed)
        )
        return answer, id_text, spent

    def _signed(
        self, signer: Authority, csr: Any, spiffe_id: SpiffeId, now: float
    ) -> tuple[AnyCertificate, ...] | str:
        """The chain ``signer`` issues for the CSR at ``now``, or why it
        refuses."""
        try:
            return self.crypto.sign_workload(
                signer,
                csr,
                spiffe_id,
                now,
                self.ttl,
                self.backdate,
                self.serials.draw(),
                self.allowance,
            )
        except CsrRefusedError as refused:
            return refused.reason
