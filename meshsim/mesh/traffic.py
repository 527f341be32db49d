"""Connections between workloads, counted between changes of state.

Each caller opens connections as a Poisson process of ``rate`` per second,
spread evenly over the services it calls and, within a service, over its
pods. A connection's outcome can change only when a credential is
installed, a certificate's validity begins or ends, a bundle changes, or
an attack starts or stops. A traffic engine is told of each such change
(``touch_*``) and, for every stretch of time in which outcomes stayed the
same, records the Poisson number of connections opened in it. Poisson
counts over disjoint spans are independent, so this has the distribution
of drawing every connection, at a cost that grows with state changes
rather than with the request rate.

Two engines share this interface: :class:`~meshsim.mesh.pair_traffic.
PairTraffic` keeps one outcome per (caller, pod) pair and records who
talked to whom; :class:`~meshsim.mesh.class_traffic.ClassTraffic` keeps,
per service, how many callers and pods are in each state, which is
exact when every node sees a credential alike (no clock skew, no bundle
lag, nobody on the path) and costs the same at any mesh size.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from typing import Final

import numpy as np
import simpy

from meshsim.clock import ACCEPTED_PAST_NOT_AFTER_S, simulated_now
from meshsim.mesh.credential import Credential
from meshsim.mesh.handshake import Decision, Handshaker
from meshsim.mesh.poisson import PoissonCounts
from meshsim.mesh.state import MeshState, Slot
from meshsim.metrics.records import Recorder

__all__ = ["ANY", "TrafficEngine"]

ANY: Final = "*"
"""Caller or server of a span that counts connections of many pairs."""

# What is due at a validity edge: (slot, install, None) for an edge of
# the slot's install-th credential, whose pods are re-stood if it is
# still installed; (None, 0, action) for anything else.
_Due = tuple[Slot | None, int, Callable[[], None] | None]


class TrafficEngine:
    """What every traffic engine does: watch validity edges, follow
    installs and bundle changes, and record spans."""

    def __init__(
        self,
        env: simpy.Environment,
        state: MeshState,
        handshaker: Handshaker,
        recorder: Recorder,
        rng: np.random.Generator,
        rate: float,
    ) -> None:
        self.env = env
        self.state = state
        self.handshaker = handshaker
        self.recorder = recorder
        self.rng = rng
        self.rate = rate
        self._counts = PoissonCounts(rng)
        # Node clocks keep their offsets for the whole run.
        self._offsets = sorted(set(state.clock_offsets_s))
        # What is due at validity edges by time, in the order it came; a
        # heap of those times; and the times the engine wakes.
        self._due: dict[float, list[_Due]] = {}
        self._times: list[float] = []
        self._wakes: list[float] = []
        # Installs so far per slot, to tell a replaced credential's edges.
        self._installs: dict[Slot, int] = {}
        self.prepare()
        state.on_install(self._installed)
        state.on_bundle(self.touch_node)

    def prepare(self) -> None:
        """Build what the engine keeps (called once, by ``__init__``)."""

    def start(self) -> None:
        """Decide every connection at the current time."""
        raise NotImplementedError

    def touch_pods(self, pods: Iterable[int]) -> None:
        """Something that decides connections of ``pods`` changed."""
        raise NotImplementedError

    def touch_node(self, node: int) -> None:
        """Something that decides connections on ``node`` changed."""
        raise NotImplementedError

    def touch_all(self) -> None:
        """Something that may decide any connection changed."""
        raise NotImplementedError

    def finish(self) -> None:
        """Close every open span at the current time."""
        raise NotImplementedError

    def watch(
        self, credential: Credential, on_change: Callable[[], None]
    ) -> None:
        """Call ``on_change`` when any node's clock crosses either end of
        ``credential``'s validity (its NotBefore, and one second after its
        NotAfter, since X.509 times carry whole seconds)."""
        for edge in self._edges(credential):
            self._at(edge, (None, 0, on_change))

    def _edges(self, credential: Credential) -> list[float]:
        """The times to come at which some node's clock crosses an end of
        ``credential``'s validity."""
        now = simulated_now(self.env)
        begins = credential.valid_from_s
        ends = credential.valid_until_s + ACCEPTED_PAST_NOT_AFTER_S
        if len(self._offsets) == 1 and begins < ends:
            # Every clock alike (the usual case): two edges, in order.
            offset = self._offsets[0]
            edges = [begins - offset, ends - offset]
        else:
            edges = sorted(
                {edge - o for o in self._offsets for edge in (begins, ends)}
            )
        return [edge for edge in edges if edge > now]

    def draw(self, rate: float, start: float, end: float) -> int:
        """The number of connections a Poisson process of ``rate`` opens
        in ``[start, end)``."""
        return self._counts.draw(rate * (end - start))

    def record(
        self,
        start_s: float,
        end_s: float,
        caller: str,
        caller_node: str,
        server: str,
        server_node: str,
        service: str,
        server_id: str,
        decision: Decision,
        count: int,
    ) -> None:
        """Keep one span: ``count`` connections opened in ``[start_s,
        end_s)``, each ending as ``decision`` (a row of
        ``HANDSHAKE_COLUMNS``)."""
        self.recorder.handshakes.add(
            start_s,
            end_s,
            caller,
            caller_node,
            server,
            server_node,
            service,
            server_id,
            *decision,
            count,
        )

    def _installed(self, slot: Slot, credential: Credential) -> None:
        self.touch_pods(self.state.pods_of_slot.get(slot, ()))
        installs = self._installs.get(slot, 0) + 1
        self._installs[slot] = installs
        # The edges name the install, not the credential, so that a
        # replaced credential is freed at once rather than at its expiry.
        for edge in self._edges(credential):
            self._at(edge, (slot, installs, None))

    def _live(self, slot: Slot, install: int) -> bool:
        """Whether ``slot``'s ``install``-th credential is still the one
        installed (an edge of one replaced or removed changes nothing)."""
        return (
            self._installs[slot] == install and slot in self.state.credentials
        )

    def _at(self, when: float, due: _Due) -> None:
        """Carry out ``due`` at ``when``, after what is already due then.

        What is due waits in lists by time, the times in a heap, and the
        engine keeps one SimPy timeout pending for the earliest time at
        which something is still to be done: most edges belong to
        credentials replaced before they expire, and dropping those costs
        far less than a SimPy event each. Edges fall on whole seconds, so a
        large mesh shares each time among many edges and the heap stays
        small (about an hour of seconds for 1h certificates, against two
        entries per slot otherwise).

        NOTE: a queue beside SimPy's, because a SimPy timeout cannot be
        cancelled; it can go if SimPy gains cancellation.
        """
        listed = self._due.get(when)
        if listed is not None:
            listed.append(due)
            return
        self._due[when] = [due]
        heapq.heappush(self._times, when)
        if not self._wakes or when < self._wakes[0]:
            self._wake(when)

    def _wake(self, when: float) -> None:
        heapq.heappush(self._wakes, when)
        timeout = self.env.timeout(when - simulated_now(self.env))
        timeout.callbacks.append(self._on_wake)

    def _on_wake(self, _: simpy.Event) -> None:
        """Carry out what is due now, then wait for the next time at which
        something still is."""
        heapq.heappop(self._wakes)
        now, times = simulated_now(self.env), self._times
        while times and times[0] <= now:
            for slot, install, action in self._due.pop(heapq.heappop(times)):
                if action is not None:
                    action()
                elif slot is not None and self._live(slot, install):
                    self.touch_pods(self.state.pods_of_slot.get(slot, ()))

        # Drop the times whose edges all belong to credentials replaced
        # since (a replaced credential's edge never matters again), so
        # that they cost no SimPy event.
        while times and (not self._wakes or times[0] < self._wakes[0]):
            if self._matters(self._due[times[0]]):
                self._wake(times[0])
                return
            del self._due[heapq.heappop(times)]

    def _matters(self, listed: list[_Due]) -> bool:
        """Whether anything in ``listed`` may still change a decision."""
        for slot, install, action in listed:
            if action is not None:
                return True
            if slot is not None and self._live(slot, install):
                return True
        return False
