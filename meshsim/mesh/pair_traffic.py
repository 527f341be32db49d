"""Traffic kept per (caller, pod) pair: who talked to whom, and how.

For each pair the engine keeps the current :class:`Decision` and the time
it was made; when something that matters changes, it re-decides the pairs
it touches and, for each pair whose outcome changed, closes the span with
a Poisson draw of the connections opened in it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from meshsim.clock import simulated_now
from meshsim.mesh.handshake import Decision
from meshsim.mesh.topology import Caller, Pod, Topology
from meshsim.mesh.traffic import TrafficEngine

__all__ = ["Pair", "PairTraffic", "build_pairs"]


@dataclass(frozen=True, slots=True)
class Pair:
    """Connections from one caller to one pod, at ``rate`` per second."""

    caller: Caller
    server: Pod
    rate: float


class PairTraffic(TrafficEngine):
    """Keeps every pair's current outcome and records spans of outcomes."""

    def prepare(self) -> None:
        """Build the pairs and index them by pod and by node."""
        self.pairs = build_pairs(self.state.topology, self.rate)
        self._since = [0.0] * len(self.pairs)
        self._decision: list[Decision | None] = [None] * len(self.pairs)
        self._by_pod: dict[int, list[int]] = {}
        self._by_node: dict[int, list[int]] = {}
        for i, pair in enumerate(self.pairs):
            ends = {pair.server.index}
            if pair.caller.pod is not None:
                ends.add(pair.caller.pod)
            for pod in ends:
                self._by_pod.setdefault(pod, []).append(i)
            for node in {pair.caller.node, pair.server.node}:
                self._by_node.setdefault(node, []).append(i)

    def start(self) -> None:
        """Decide every pair at the current time."""
        self._redecide(range(len(self.pairs)))

    def touch_pods(self, pods: Iterable[int]) -> None:
        """Re-decide every pair with one of ``pods`` at an end."""
        touched: set[int] = set()
        for pod in pods:
            touched.update(self._by_pod.get(pod, ()))
        self._redecide(sorted(touched))

    def touch_node(self, node: int) -> None:
        """Re-decide every pair with an end on ``node``."""
        self._redecide(self._by_node.get(node, ()))

    def touch_all(self) -> None:
        """Re-decide every pair."""
        self._redecide(range(len(self.pairs)))

    def finish(self) -> None:
        """Close every open span at the current time."""
        for i in range(len(self.pairs)):
            self._close(i)

    def _redecide(self, indices: Iterable[int]) -> None:
        for i in indices:
            pair = self.pairs[i]
            decision = self.handshaker.decide(pair.caller, pair.server)
            if decision != self._decision[i]:
                self._close(i)
                self._decision[i] = decision

    def _close(self, i: int) -> None:
        """Record the span of pair ``i`` up to now and start a new one."""
        decision = self._decision[i]
        start = self._since[i]
        now = simulated_now(self.env)
        self._since[i] = now
        if decision is None or now <= start:
            return
        pair = self.pairs[i]
        count = self.draw(pair.rate, start, now)
        if count == 0:
            return
        topology = self.state.topology
        account = topology.accounts[pair.server.account]
        self.record(
            start,
            now,
            pair.caller.name,
            topology.nodes[pair.caller.node],
            pair.server.name,
            topology.nodes[pair.server.node],
            account.service,
            str(account.spiffe_id),
            decision,
            count,
        )


def build_pairs(topology: Topology, rate: float) -> list[Pair]:
    """One pair per (caller, backend pod of a service it calls)."""
    if rate <= 0:
        return []
    backends: dict[int, list[Pod]] = {}
    for pod in topology.pods:
        backends.setdefault(pod.account, []).append(pod)
    pairs: list[Pair] = []
    for caller in topology.callers:
        targets = [s for s in caller.calls if backends.get(s)]
        for service in targets:
            pods = backends[service]
            share = rate / len(targets) / len(pods)
            pairs.extend(Pair(caller, pod, share) for pod in pods)
    return pairs
