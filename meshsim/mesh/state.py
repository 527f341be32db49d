"""What every actor of the mesh can see: who holds which credential now.

A *slot* is one identity held by one agent: a per-workload agent has one
slot (its pod's account); a per-node agent has one slot per service
account with a pod on its node. Pods use the credential of their slot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import simpy

from meshsim.clock import SimClock
from meshsim.mesh.credential import Credential, TrustBundle
from meshsim.mesh.topology import Topology

__all__ = ["InstallListener", "MeshState", "Slot"]


@dataclass(frozen=True, slots=True, order=True)
class Slot:
    """One identity (service account ``account``) held by agent ``agent``."""

    agent: int
    account: int


InstallListener = Callable[[Slot, Credential], None]


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

    def credential_of_pod(self, pod: int) -> Credential | None:
        """The credential pod ``pod`` presents now, if it has one."""
        return self.credentials.get(self.slot_of_pod[pod])

    def node_time(self, node: int) -> float:
        """Simulated seconds as node ``node``'s (possibly skewed) clock
        reads them now."""
        return self.env.now + self.clock_offsets_s[node]

    def on_install(self, listener: InstallListener) -> None:
        """Call ``listener(slot, credential)`` after every install."""
        self._listeners.append(listener)

    def install(self, slot: Slot, credential: Credential) -> None:
        """Make ``credential`` the one ``slot``'s pods present from now."""
        self.credentials[slot] = credential
        for listener in self._listeners:
            listener(slot, credential)
