"""The CA server (istiod's role) as a SimPy resource that serves CSRs.

Each CSR waits for one of ``workers`` in a :class:`simpy.Resource`, then
takes ``sign_time`` of simulated time, or, with ``sign_time: measured``,
the CPU time this machine really spent parsing, checking and signing it.
During an outage the CA is unreachable and a CSR fails at once.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import simpy
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from meshsim.clock import SimClock
from meshsim.identity import workload_spiffe_id
from meshsim.mesh.tokens import ServiceAccountToken
from meshsim.metrics.records import CsrRecord, Recorder
from meshsim.pki.authority import (
    CertificateAuthority,
    CsrRefusedError,
    self_signed_root,
)
from meshsim.pki.keys import generate_key

__all__ = ["CaServer", "CsrAnswer", "Outage", "random_serial"]

# The root is valid from an hour before the run, so that leaves backdated
# at the start of the run, or checked by a lagging clock, chain to it.
_ROOT_BACKDATE_S = 3600.0


@dataclass(frozen=True, slots=True)
class Outage:
    """A span ``[start_s, end_s)`` during which the CA is unreachable."""

    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class CsrAnswer:
    """What the CA sends back: a chain (leaf first) or a refusal reason."""

    chain: tuple[x509.Certificate, ...] | None
    reason: str


def random_serial(rng: np.random.Generator) -> int:
    """A positive serial number of at most 127 bits from the run's RNG."""
    return int.from_bytes(rng.bytes(16), "big") >> 1 | 1


class CaServer:
    """Authenticates callers and signs their CSRs, one worker at a time."""

    def __init__(
        self,
        env: simpy.Environment,
        clock: SimClock,
        recorder: Recorder,
        rng: np.random.Generator,
        *,
        trust_domain: str,
        key_algorithm: str,
        root_ttl_s: float,
        workload_ttl_s: float,
        max_workload_ttl_s: float,
        backdate_s: float,
        workers: int,
        sign_time_s: float | None,
        outages: Sequence[Outage] = (),
    ) -> None:
        self.env = env
        self.clock = clock
        self.recorder = recorder
        self.rng = rng
        self.trust_domain = trust_domain
        self.workload_ttl = timedelta(seconds=workload_ttl_s)
        self.backdate = timedelta(seconds=backdate_s)
        self.sign_time_s = sign_time_s
        self.outages = tuple(outages)
        self.workers = simpy.Resource(env, capacity=workers)

        # Make the self-signed root at the start of the run.
        key, _ = recorder.crypto.measure(
            "ca-keygen", lambda: generate_key(key_algorithm)
        )
        root = self_signed_root(
            key,
            trust_domain,
            not_before=clock.x509_time(-_ROOT_BACKDATE_S),
            not_after=clock.x509_time(root_ttl_s),
            serial_number=random_serial(rng),
        )
        self.authority = CertificateAuthority(
            key=key,
            chain=(root,),
            max_workload_ttl=timedelta(seconds=max_workload_ttl_s),
        )

    @property
    def root(self) -> x509.Certificate:
        """The root certificate every trust bundle holds."""
        return self.authority.chain[-1]

    def reachable(self, now: float) -> bool:
        """False during an outage."""
        return not any(o.start_s <= now < o.end_s for o in self.outages)

    def serve_csr(
        self, agent: str, token: ServiceAccountToken, csr_der: bytes
    ) -> Generator[simpy.Event, Any, CsrAnswer]:
        """Queue for a worker, authenticate, check and sign one CSR."""
        submitted = self.env.now
        if not self.reachable(submitted):
            self._record(submitted, submitted, agent, "", "unreachable", 0, 0)
            return CsrAnswer(None, "unreachable")

        with self.workers.request() as slot:
            yield slot
            started = self.env.now
            answer, spiffe_id, spent = self._sign(token, csr_der, started)
            service_s = spent if self.sign_time_s is None else self.sign_time_s
            yield self.env.timeout(service_s)

        chain_bytes = sum(
            len(c.public_bytes(Encoding.DER)) for c in answer.chain or ()
        )
        self._record(
            submitted,
            started,
            agent,
            spiffe_id,
            answer.reason,
            len(csr_der),
            chain_bytes,
            service_s=service_s,
        )
        return answer

    def _sign(
        self, token: ServiceAccountToken, csr_der: bytes, now: float
    ) -> tuple[CsrAnswer, str, float]:
        """Authenticate the token, derive the SPIFFE ID, sign the CSR."""
        # Authenticate: the CA derives the identity from the token itself.
        problem = token.problem_at(now)
        if problem is not None:
            return CsrAnswer(None, problem), "", 0.0
        spiffe_id = workload_spiffe_id(
            self.trust_domain, token.namespace, token.service_account
        )

        # Parse, check and sign; the CPU time is the real cost of the CSR.
        def sign() -> CsrAnswer:
            csr = x509.load_der_x509_csr(csr_der)
            try:
                chain = self.authority.sign_workload(
                    csr,
                    spiffe_id,
                    now=self.clock.to_datetime(now),
                    ttl=self.workload_ttl,
                    backdate=self.backdate,
                    serial_number=random_serial(self.rng),
                )
            except CsrRefusedError as refused:
                return CsrAnswer(None, refused.reason)
            return CsrAnswer(chain, "issued")

        answer, spent = self.recorder.crypto.measure("ca-sign", sign)
        return answer, str(spiffe_id), spent

    def _record(
        self,
        submitted: float,
        started: float,
        agent: str,
        spiffe_id: str,
        outcome: str,
        csr_bytes: int,
        chain_bytes: int,
        service_s: float = 0.0,
    ) -> None:
        self.recorder.csrs.append(
            CsrRecord(
                submitted_s=submitted,
                started_s=started,
                finished_s=self.env.now,
                agent=agent,
                spiffe_id=spiffe_id,
                outcome=outcome,
                service_s=service_s,
                csr_bytes=csr_bytes,
                chain_bytes=chain_bytes,
            )
        )
