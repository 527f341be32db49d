"""The CA's hierarchy: its root, the CA that signs leaves, and how both
change over a run.

Leaves are signed by the root itself or by an intermediate under it.
The signing CA rotates during its life (SPIRE's prepare and activate:
the next one is made and, when it is a root, published at one fraction
of the current one's life, and signs from another); the root is
re-issued with its own key (Istio's rotator); operators replace it.
Each change of trust anchors is published to the nodes through
``publish``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from datetime import datetime, timedelta
from typing import Any, Final

import simpy

from meshsim.clock import ACCEPTED_PAST_NOT_AFTER_S, SimClock
from meshsim.mesh.ca_policy import CaPolicy, RootChange
from meshsim.mesh.crypto import AnyCertificate, Authority, Crypto
from meshsim.mesh.serials import SerialNumbers
from meshsim.pki.authority import intermediate_name

__all__ = ["CA_BACKDATE_S", "CaHierarchy", "Publish"]

# CA certificates are valid from an hour before they are made, so that
# leaves backdated at the start of the run, or checked by a lagging clock,
# chain to them; their lifetime runs from when they are made, as a real
# CA's does (SPIRE's and Istio's backdate NotBefore only).
CA_BACKDATE_S: Final = 3600.0

Publish = Callable[[tuple[AnyCertificate, ...]], None]


class CaHierarchy:
    """The roots the mesh trusts (``anchors``), the current root
    (``root_ca``) and the CA that signs leaves now (``active``)."""

    def __init__(
        self,
        env: simpy.Environment,
        clock: SimClock,
        crypto: Crypto,
        serials: SerialNumbers,
        policy: CaPolicy,
        publish: Publish,
    ) -> None:
        self.env = env
        self.clock = clock
        self.crypto = crypto
        self.serials = serials
        self.policy = policy
        self.publish = publish

        # Make the root, and the intermediate if leaves are signed by one.
        self.root_ca = self._new_root(self._keygen(), env.now)
        self.anchors: tuple[AnyCertificate, ...] = (self.root_ca.root,)
        self.first_root = self.root_ca.root
        self.active = (
            self.root_ca
            if policy.intermediate_ttl_s is None
            else self._new_signer(env.now)
        )

    def start(self) -> None:
        """Start the processes that change the hierarchy over time."""
        if self.policy.rotation is not None:
            self.env.process(self.rotate_signer())
        if self.policy.root_reissue_at is not None:
            self.env.process(self.reissue_root())
        for change in self.policy.root_changes:
            self.env.process(self.replace_root(change))

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
