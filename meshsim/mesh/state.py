"""What every actor of the mesh can see: who holds which credential now.

A *slot* is one identity held by one agent: a per-workload agent has one
slot (its pod's account); a per-node agent has one slot per service
account with a pod on its node. Pods use the credential of their slot.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import Any, NamedTuple

import simpy

from meshsim.clock import SimClock, simulated_now
from meshsim.mesh.credential import Credential, TrustBundle
from meshsim.mesh.topology import Topology

__all__ = ["BundleListener", "InstallListener", "MeshState", "Slot"]


class Slot(NamedTuple):
    """One identity (service account ``account``) held by agent ``agent``.

    A named tuple: slots key the mesh's dictionaries, and a tuple hashes
    and compares in C."""

    agent: int
    account: int


InstallListener = Callable[[Slot, Credential], None]
BundleListener = Callable[[int], None]


class MeshState:
    """Credentials by slot, trust bundles by node and node clocks."""

    def __init__(
        self,
        env: simpy.Environment,
        clock: SimClock,
        topology: Topology,
        bundle: TrustBundle,
        slot_of_pod: list[Slot],
        clock_offsets_s: list[float] | None = None,
    ) -> None:
        self.env = env
        self.clock = clock
        self.topology = topology
        self.slot_of_pod = slot_of_pod
        self.bundle_of_node = [bundle] * len(topology.nodes)
        self.clock_offsets_s = clock_offsets_s or [0.0] * len(topology.nodes)
        self.credentials: dict[Slot, Credential] = {}
        self.pods_of_slot: dict[Slot, list[int]] = {}
        for pod, slot in enumerate(slot_of_pod):
            self.pods_of_slot.setdefault(slot, []).append(pod)
        self._listeners: list[InstallListener] = []
        self._bundle_listeners: list[BundleListener] = []

    def credential_of_pod(self, pod: int) -> Credential | None:
        """The credential pod ``pod`` presents now, if it has one."""
        return self.credentials.get(self.slot_of_pod[pod])

    def node_time(self, node: int) -> float:
        """Simulated seconds as node ``node``'s (possibly skewed) clock
        reads them now."""
        return simulated_now(self.env) + self.clock_offsets_s[node]

    def on_install(self, listener: InstallListener) -> None:
        """Call ``listener(slot, credential)`` after every install."""
        self._listeners.append(listener)

    def install(self, slot: Slot, credential: Credential) -> None:
        """Make ``credential`` the one ``slot``'s pods present from now."""
        self.credentials[slot] = credential
        for listener in self._listeners:
            listener(slot, credential)

    def on_bundle(self, listener: BundleListener) -> None:
        """Call ``listener(node)`` after a node receives a new bundle."""
        self._bundle_listeners.append(listener)

    def publish(self, bundle: TrustBundle, lags_s: Sequence[float]) -> None:
        """Deliver ``bundle`` to node ``i`` after ``lags_s[i]`` seconds."""
        for node, lag in enumerate(lags_s):
            if lag <= 0:
                self._deliver(node, bundle)
            else:
                self.env.process(self._deliver_later(node, bundle, lag))

    def _deliver_later(
        self, node: int, bundle: TrustBundle, lag: float
    ) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(lag)
        self._deliver(node, bundle)

    def _deliver(self, node: int, bundle: TrustBundle) -> None:
        # A bundle overtaken by a newer one on its way is dropped.
        if bundle.version <= self.bundle_of_node[node].version:
            return
        self.bundle_of_node[node] = bundle
        for listener in self._bundle_listeners:
            listener(node)
