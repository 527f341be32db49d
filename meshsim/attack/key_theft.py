"""Key theft: an attacker who compromises a node copies the keys there.

At ``start`` the attacker copies every private key and chain held on the
node it compromised: under per-workload agents that is one pod's, under
per-node agents every identity the node agent holds. With ``persistent``
it keeps copying each renewal until it is detected.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Sequence
from typing import Any

import simpy

from meshsim.attack.loot import Loot
from meshsim.mesh.credential import Credential
from meshsim.mesh.state import MeshState, Slot

__all__ = ["KeyTheft"]


class KeyTheft:
    """Copies the credentials of ``slots`` from ``start_s`` on."""

    def __init__(
        self,
        env: simpy.Environment,
        state: MeshState,
        loot: Loot,
        *,
        slots: Sequence[Slot],
        start_s: float,
        persistent: bool,
        detected_after_s: float | None,
    ) -> None:
        self.env = env
        self.state = state
        self.loot = loot
        self.slots = frozenset(slots)
        self.start_s = start_s
        self.persistent = persistent
        self.detected_s = (
            start_s + detected_after_s
            if detected_after_s is not None
            else math.inf
        )

    def start(self) -> simpy.Process:
        """Schedule the compromise."""
        return self.env.process(self.steal())

    def steal(self) -> Generator[simpy.Event, Any, None]:
        """Copy what the slots hold at ``start_s``; if persistent, keep
        copying every credential installed on them until detection."""
        yield self.env.timeout(self.start_s - self.env.now)
        for slot in sorted(self.slots):
            credential = self.state.credentials.get(slot)
            if credential is not None:
                self.loot.add(credential)
        if self.persistent:
            self.state.on_install(self._installed)

    def _installed(self, slot: Slot, credential: Credential) -> None:
        if slot in self.slots and self.env.now < self.detected_s:
            self.loot.add(credential)
