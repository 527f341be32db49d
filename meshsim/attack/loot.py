"""What attackers hold: credentials they copied or obtained, by identity."""

from __future__ import annotations

from collections.abc import Callable

import simpy

from meshsim.clock import ACCEPTED_PAST_NOT_AFTER_S
from meshsim.mesh.credential import Credential
from meshsim.metrics.records import Recorder, TheftRecord

__all__ = ["Loot"]


class Loot:
    """Credentials one attack holds; each addition is recorded."""

    def __init__(
        self,
        env: simpy.Environment,
        recorder: Recorder,
        *,
        attack: int,
        kind: str,
        holder: str,
        on_gain: Callable[[Credential], None],
    ) -> None:
        self.env = env
        self.recorder = recorder
        self.attack = attack
        self.kind = kind
        self.holder = holder
        self.on_gain = on_gain
        self.held: dict[str, list[Credential]] = {}

    def add(self, credential: Credential) -> None:
        """Keep ``credential`` and record when it was taken."""
        spiffe_id = str(credential.spiffe_id)
        self.held.setdefault(spiffe_id, []).append(credential)
        self.recorder.thefts.append(
            TheftRecord(
                attack=self.attack,
                kind=self.kind,
                stolen_s=self.env.now,
                spiffe_id=spiffe_id,
                serial_number=credential.serial_hex,
                not_after_s=credential.not_after_s,
                holder=self.holder,
            )
        )
        self.on_gain(credential)

    def newest_valid(self, spiffe_id: str, at: float) -> Credential | None:
        """Of the credentials held for ``spiffe_id``, the one valid at
        ``at`` (simulated seconds on some clock; X.509 times are whole
        seconds, NotAfter inclusive) that lives longest."""
        last = at - ACCEPTED_PAST_NOT_AFTER_S
        valid = [
            c
            for c in self.held.get(spiffe_id, ())
            if c.valid_from_s <= at and last < c.valid_until_s
        ]
        if not valid:
            return None
        return max(valid, key=lambda c: c.valid_until_s)
