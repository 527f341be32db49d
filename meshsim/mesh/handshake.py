"""mTLS handshakes decided by real X509-SVID verification.

:class:`Handshaker` decides how a connection from a caller to a pod ends,
at the current simulated time, from the credentials both hold, the trust
bundles of their nodes and the mesh's mTLS mode. Verification calls
:func:`meshsim.pki.svid.verify_svid` on the real chains.
"""

from __future__ import annotations

import math
from typing import Final, NamedTuple, Protocol

from meshsim.clock import simulated_now
from meshsim.identity import SpiffeId
from meshsim.mesh.credential import Credential, TrustBundle
from meshsim.mesh.crypto import Crypto
from meshsim.mesh.state import MeshState
from meshsim.mesh.topology import Caller, Pod
from meshsim.pki.svid import SvidError

__all__ = [
    "OUTCOMES",
    "OUTSIDE",
    "Decision",
    "Handshaker",
    "Interceptor",
    "VerificationCache",
    "combine",
]

OUTSIDE: Final = "outside"
"""The standing of a caller outside the mesh (no certificate, plaintext)."""

OUTCOMES = (
    "ok",
    "expired",
    "not-yet-valid",
    "unknown-authority",
    "wrong-identity",
    "plaintext-accepted",
    "plaintext-refused",
    "no-certificate",
    "invalid-svid",
)

# Verifier reasons that are outcomes of their own; any other is
# "invalid-svid".
_OUTCOME_REASONS = {"expired", "not-yet-valid", "unknown-authority"}


class Decision(NamedTuple):
    """How one connection ends.

    ``refused_by`` names the side that ended it (``client`` or ``server``;
    empty when it went through). ``attack`` is the index of the on-path
    attack that handled it (-1 for none), ``presented`` what that attacker
    presented, ``intercepted`` whether it read the traffic, and
    ``stolen_from`` the attack that stole the chain it presented (-1 for
    none).

    A named tuple: counting connections per service keys a dictionary by
    decision, and a tuple hashes and compares in C.
    """

    outcome: str
    refused_by: str = ""
    attack: int = -1
    presented: str = ""
    intercepted: bool = False
    stolen_from: int = -1


class Interceptor(Protocol):
    """An attacker that may sit on the path of a connection."""

    def covers(self, caller_node: int, server_node: int, now: float) -> bool:
        """True when this attacker is on the path of such a connection."""
        ...

    def relay(
        self, handshaker: Handshaker, caller: Caller, server: Pod
    ) -> Decision:
        """Decide a connection this attacker is on the path of."""
        ...


class VerificationCache:
    """Results of :func:`verify_svid`, kept while the answer cannot change.

    NOTE: the answer for a chain and a bundle can change only when the
    verifying clock crosses the chain's validity window, so results are
    kept per credential (in its ``verdicts``, dropped with it) and keyed
    by (bundle version, side of the window). The root's validity is not
    part of the key, nor of the window (the root is in the bundle, not
    the chain): this holds because the CA cuts every certificate it
    signs to end by its signer's NotAfter, and makes a root before the
    certificates under it, so a chain's window lies inside its root's,
    even when roots are replaced within the run (SPIRE's 24h server CA).
    A chain whose root ends first would need the root's window in the
    key; a run makes none (loot is the CA's; a forged chain's root is in
    no bundle).
    """

    def __init__(self, state: MeshState, crypto: Crypto) -> None:
        self.state = state
        self.crypto = crypto

    def verify(
        self, credential: Credential, bundle: TrustBundle, at_s: float
    ) -> SpiffeId | str:
        """The chain's SPIFFE ID, or the outcome that refuses it."""
        second = math.floor(at_s)
        if second < credential.valid_from_s:
            side = -1
        elif second > credential.valid_until_s:
            side = 1
        else:
            side = 0
        key = (bundle.version, side)
        verdicts = credential.verdicts
        cached = verdicts.get(key)
        if cached is not None:
            return cached
        repeated = self._repeated(credential, bundle, at_s)
        if repeated is not None:
            result: SpiffeId | str = repeated
        else:
            result, _ = self.crypto.measure(
                "verify-chain", self._verify, credential, bundle, at_s
            )
        verdicts[key] = result
        return result

    def _repeated(
        self, credential: Credential, bundle: TrustBundle, at_s: float
    ) -> SpiffeId | None:
        """What the agent's own check of a modeled chain found, when this
        check has the same inputs: the same roots at the same instant (a
        peer on the agent's node, as the chain is installed).

        NOTE: modeled only, where verification is a function of its
        inputs and its cost is drawn (charged here all the same); a real
        check is made again, so that its CPU time is measured.
        """
        checked = credential.checked
        if checked is None or not self.crypto.modeled:
            return None
        when, roots = checked
        trust_domain = credential.spiffe_id.trust_domain
        if when != at_s or roots != bundle.roots.get(trust_domain):
            return None
        self.crypto.repeated("verify-chain")
        spiffe_id: SpiffeId = credential.leaf.spiffe_id
        return spiffe_id

    def _verify(
        self, credential: Credential, bundle: TrustBundle, at_s: float
    ) -> SpiffeId | str:
        try:
            return self.crypto.verify(credential.chain, bundle.roots, at_s)
        except SvidError as error:
            if error.reason in _OUTCOME_REASONS:
                return error.reason
            return "invalid-svid"


def combine(client: str, server: str, mtls: str) -> Decision:
    """How a connection ends from the standing of each end.

    A standing is what any peer's verification makes of that end's
    credential: ``ok``, ``none`` (no certificate) or the outcome that
    refuses it; a caller outside the mesh stands as ``outside``. The
    order of checks is the one :meth:`Handshaker.direct` follows.
    """
    if client == OUTSIDE:
        if mtls == "permissive":
            return Decision("plaintext-accepted")
        return Decision("plaintext-refused", "server")
    if client == "none":
        return Decision("no-certificate", "client")
    if server == "none":
        return Decision("no-certificate", "server")
    if server != "ok":
        return Decision(server, "client")
    if client != "ok":
        return Decision(client, "server")
    return Decision("ok")


class Handshaker:
    """Decides connections between callers and pods of the mesh."""

    def __init__(
        self,
        state: MeshState,
        cache: VerificationCache,
        mtls: str,
        interceptors: list[Interceptor] | None = None,
    ) -> None:
        self.state = state
        self.cache = cache
        self.mtls = mtls
        self.interceptors = interceptors if interceptors is not None else []

    def decide(self, caller: Caller, server: Pod) -> Decision:
        """How a connection from ``caller`` to ``server`` ends now."""
        now = simulated_now(self.state.env)
        for interceptor in self.interceptors:
            if interceptor.covers(caller.node, server.node, now):
                return interceptor.relay(self, caller, server)
        return self.direct(caller, server)

    def direct(self, caller: Caller, server: Pod) -> Decision:
        """The outcome with nobody on the path."""
        if caller.pod is None:
            return self.plaintext()
        client = self.state.credential_of_pod(caller.pod)
        if client is None:
            return Decision("no-certificate", "client")
        served = self.state.credential_of_pod(server.index)
        if served is None:
            return Decision("no-certificate", "server")
        return self.mutual(caller.node, client, server, served)

    def standing(self, pod: Pod) -> str:
        """What a verifier on ``pod``'s node makes of its credential now,
        secure naming included: ``ok``, ``none`` or the refusing outcome.
        Any node's verifier agrees when clocks and bundles do."""
        held = self.state.credential_of_pod(pod.index)
        if held is None:
            return "none"
        return self.client_accepts(pod.node, held, pod)

    def plaintext(self) -> Decision:
        """A plaintext connection from outside the mesh."""
        if self.mtls == "permissive":
            return Decision("plaintext-accepted")
        return Decision("plaintext-refused", "server")

    def mutual(
        self,
        client_node: int,
        client: Credential,
        server: Pod,
        presented: Credential,
    ) -> Decision:
        """mTLS: the client checks ``presented`` (and secure naming), then
        the server checks ``client``, each on its own node's clock."""
        seen = self.client_accepts(client_node, presented, server)
        if seen != "ok":
            return Decision(seen, "client")
        checked = self.server_accepts(server.node, client)
        if checked != "ok":
            return Decision(checked, "server")
        return Decision("ok")

    def client_accepts(
        self, client_node: int, presented: Credential, server: Pod
    ) -> str:
        """``ok`` when the client trusts ``presented`` as ``server``'s
        identity (secure naming), else the outcome that refuses it."""
        bundle = self.state.bundle_of_node[client_node]
        at = self.state.node_time(client_node)
        result = self.cache.verify(presented, bundle, at)
        if isinstance(result, str):
            return result
        allowed = self.state.topology.accounts[server.account].spiffe_id
        if result != allowed:
            return "wrong-identity"
        return "ok"

    def server_accepts(self, server_node: int, client: Credential) -> str:
        """``ok`` when the server trusts the client's chain."""
        bundle = self.state.bundle_of_node[server_node]
        at = self.state.node_time(server_node)
        result = self.cache.verify(client, bundle, at)
        return result if isinstance(result, str) else "ok"
