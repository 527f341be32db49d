"""Key theft: an attacker who compromises a node copies the keys there.

At ``start`` the attacker copies every private key and chain held on the
node it compromised: under per-workload agents that is one pod's, under
per-node agents every identity the node agent holds. With ``persistent``
it keeps copying each renewal until it is detected.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Sequence
from typing import Any

import simpy

from meshsim.mesh.credential import Credential
from meshsim.mesh.state import MeshState, Slot
from meshsim.metrics.records import Recorder, TheftRecord

__all__ = ["KeyTheft"]


class KeyTheft:
    """Copies the credentials of ``slots`` from ``start_s`` on."""

    def __init__(
        self,
        env: simpy.Environment,
        state: MeshState,
        recorder: Recorder,
        *,
        index: int,
        holder: str,
        slots: Sequence[Slot],
        start_s: float,
        persistent: bool,
        detected_after_s: float | None,
        on_steal: Callable[[Credential], None],
    ) -> None:
        self.env = env
        self.state = state
        self.recorder = recorder
        self.index = index
        self.holder = holder
        self.slots = frozenset(slots)
        self.start_s = start_s
        self.persistent = persistent
        self.detected_s = (
            start_s + detected_after_s
            if detected_after_s is not None
            else math.inf
        )
        self.on_steal = on_steal
        self.stolen: dict[str, list[Credential]] = {}

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
                self._copy(credential)
        if self.persistent:
            self.state.on_install(self._installed)

    def newest(self, spiffe_id: str) -> Credential | None:
        """The stolen credential for ``spiffe_id`` that lives longest."""
        copies = self.stolen.get(spiffe_id)
        if not copies:
            return None
        return max(copies, key=lambda c: c.valid_until_s)

    def _installed(self, slot: Slot, credential: Credential) -> None:
        if slot in self.slots and self.env.now < self.detected_s:
            self._copy(credential)

    def _copy(self, credential: Credential) -> None:
        spiffe_id = str(credential.spiffe_id)
        self.stolen.setdefault(spiffe_id, []).append(credential)
        self.recorder.thefts.append(
            TheftRecord(
                attack=self.index,
                stolen_s=self.env.now,
                spiffe_id=spiffe_id,
                serial_number=credential.serial_hex,
                not_after_s=credential.not_after_s,
                holder=self.holder,
            )
        )
        self.on_steal(credential)
