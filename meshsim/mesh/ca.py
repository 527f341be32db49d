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

The CA's hierarchy lives here too: a root that signs leaves or an
intermediate that does, the rotation of the signing CA during its life
(SPIRE's prepare and activate), the re-issue of the root with its own key
(Istio's rotator), and operator root replacements. Each change of trust
anchors is published to the nodes through ``publish``.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Generator
from datetime import datetime, timedelta
from typing import Any, Final

import numpy as np
import simpy
from simpy.resources.resource import Request

from meshsim.clock import ACCEPTED_PAST_NOT_AFTER_S, SimClock, simulated_now
from meshsim.identity import SpiffeId, workload_spiffe_id
from meshsim.mesh.ca_policy import CaPolicy, RootChange
from meshsim.mesh.crypto import AnyCertificate, Authority, Crypto
from meshsim.mesh.serials import SerialNumbers
from meshsim.mesh.tokens import ServiceAccountToken
from meshsim.metrics.records import Recorder
from meshsim.pki.authority import CsrRefusedError, intermediate_name

__all__ = [
    "CaServer",
    "CsrAnswer",
]

# A time not known (yet): a CSR not taken up, or not finished.
_UNKNOWN: Final = float("nan")

# CA certificates are valid from an hour before they are made, so that
# leaves backdated at the start of the run, or checked by a lagging clock,
# chain to them; their lifetime runs from when they are made, as a real
# CA's does (SPIRE's and Istio's backdate NotBefore only).
CA_BACKDATE_S: Final = 3600.0

Publish = Callable[[tuple[AnyCertificate, ...]], None]
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

        # Make the root, and the intermediate if leaves are signed by one.
        self.root_ca = self._new_root(self._keygen(), env.now)
        self.anchors: tuple[AnyCertificate, ...] = (self.root_ca.root,)
        self._first_root = self.root_ca.root
        self.active = (
            self.root_ca
            if policy.intermediate_ttl_s is None
            else self._new_signer(env.now)
        )

    @property
    def root(self) -> AnyCertificate:
        """The first root, as every trust bundle holds it at the start
        (kept after rotations have taken it out of the bundle: the first
        chains issued lead to it)."""
        return self._first_root

    def start(self) -> None:
        """Start the processes that change the hierarchy over time."""
        if self.policy.rotation is not None:
            self.env.process(self.rotate_signer())
        if self.policy.root_reissue_at is not None:
            self.env.process(self.reissue_root())
        for change in self.policy.root_changes:
            self.env.process(self.replace_root(change))

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
        yield self._until(when)
        self.workers.release(request)

    def _service_time(self) -> float:
        """A CSR's service time when the scenario sets it: ``sign_time``,
        or a draw of an exponential time of that mean."""
        mean = self.policy.sign_time_s
        assert mean is not None
        if self.policy.exponential_service:
            return float(self.service_rng.exponential(mean))
        return mean

    def rotate_signer(self) -> Generator[simpy.Event, Any, None]:
        """Prepare the next signing CA, then activate it, at fixed
        fractions of the current one's life; repeat for each."""
        assert self.policy.rotation is not None
        prepare_at, activate_at = self.policy.rotation
        while True:
            current = self.active
            begin, end = self._life(current.certificate)
            activate = begin + activate_at * (end - begin)
            if activate <= self.env.now:
                # NOTE: a signer due for replacement as it is made (its
                # life cut short by an expiring root) is kept, or each
                # next one would be too, at this same instant, for ever;
                # the scenario rules refuse settings that do it at once.
                return
            yield self._until(begin + prepare_at * (end - begin))
            upcoming = self._new_signer(self.env.now)
            if self.policy.intermediate_ttl_s is None:
                self.anchors = (*self.anchors, upcoming.root)
                self.publish(self.anchors)
            yield self._until(activate)
            self.active = upcoming
            if self.policy.intermediate_ttl_s is None:
                self.root_ca = upcoming
                self.env.process(self._retire(current.root, end))

    def reissue_root(self) -> Generator[simpy.Event, Any, None]:
        """Re-issue the root with its own key when less than
        ``root_reissue_at`` of its life remains."""
        assert self.policy.root_reissue_at is not None
        while True:
            begin, end = self._life(self.root_ca.root)
            due = end - self.policy.root_reissue_at * (end - begin)
            if due <= self.env.now:
                # NOTE: a root due for re-issue as it is made is kept, as
                # a signer is in rotate_signer.
                return
            yield self._until(due)
            self._switch_root(same_key=True, overlap=False)

    def replace_root(
        self, change: RootChange
    ) -> Generator[simpy.Event, Any, None]:
        """Carry out one operator root replacement."""
        yield self._until(change.at_s)
        self._switch_root(change.same_key, change.overlap)

    def _switch_root(self, same_key: bool, overlap: bool) -> None:
        """Make a new root (with the old key or a new one), sign with it
        from now, and publish the trust anchors."""
        key = self.root_ca.key if same_key else self._keygen()
        self.root_ca = self._new_root(key, self.env.now)
        new = self.root_ca.root
        # NOTE: with overlap the old root stays in the bundle for the rest
        # of the run; operators remove it by hand once leaves have renewed.
        self.anchors = (*self.anchors, new) if overlap else (new,)
        if self.policy.intermediate_ttl_s is None:
            self.active = self.root_ca
        elif not same_key:
            self.active = self._new_signer(self.env.now)
        self.publish(self.anchors)

    def _retire(
        self, root: AnyCertificate, end: float
    ) -> Generator[simpy.Event, Any, None]:
        """Drop a replaced root from the bundle once it has expired."""
        yield self._until(end + ACCEPTED_PAST_NOT_AFTER_S)
        if root in self.anchors and len(self.anchors) > 1:
            self.anchors = tuple(r for r in self.anchors if r is not root)
            self.publish(self.anchors)

    def _new_root(self, key: Any, now: float) -> Authority:
        root = self.crypto.root(
            key,
            self.policy.trust_domain,
            *self._made_at(now, self.policy.root_ttl_s),
            self.serials.draw(),
        )
        max_ttl = timedelta(seconds=self.policy.max_workload_ttl_s)
        return self.crypto.authority(key, root, max_ttl)

    def _new_signer(self, now: float) -> Authority:
        """A new signing CA: an intermediate under the root, or else a new
        self-signed root."""
        ttl = self.policy.intermediate_ttl_s
        if ttl is None:
            return self._new_root(self._keygen(), now)
        return self.crypto.intermediate(
            self.root_ca,
            self._keygen(),
            *self._made_at(now, ttl),
            self.serials.draw(),
            intermediate_name(self.policy.trust_domain),
        )

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

    def _keygen(self) -> Any:
        algorithm = self.policy.key_algorithm
        key, _ = self.crypto.measure(
            "ca-keygen", lambda: self.crypto.new_key(algorithm)
        )
        return key

    def _made_at(self, now: float, ttl: float) -> tuple[datetime, datetime]:
        """NotBefore and NotAfter of a CA certificate made at ``now``
        to last ``ttl`` (:meth:`_life` reads them back)."""
        return (
            self.clock.x509_time(now - CA_BACKDATE_S),
            self.clock.x509_time(now + ttl),
        )

    def _life(self, certificate: AnyCertificate) -> tuple[float, float]:
        """When a CA certificate was made (its NotBefore less the
        backdate) and its NotAfter: the span its rotation takes fractions
        of."""
        return (
            self.clock.to_seconds(certificate.not_valid_before_utc)
            + CA_BACKDATE_S,
            self.clock.to_seconds(certificate.not_valid_after_utc),
        )

    def _until(self, when: float) -> simpy.Timeout:
        return self.env.timeout(max(0.0, when - self.env.now))

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
        signed = self._signed(self.active, csr, spiffe_id, now)
        if isinstance(signed, str):
            spent = self.crypto.charged("ca-refuse", began)
            return CsrAnswer(None, signed), id_text, spent
        spent = self.crypto.charged("ca-sign", began)
        answer = CsrAnswer(
            signed, "issued", self.anchors, self.crypto.size(signed)
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
