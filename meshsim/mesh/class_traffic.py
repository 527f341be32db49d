"""Traffic counted per service and state, at a cost that ignores size.

When every node makes the same of a credential (no clock skew, no bundle
lag, nobody on the path), a connection's outcome depends only on the
*standing* of its caller and of the pod it reaches (``ok``, ``none``,
``expired``, ...), see :func:`~meshsim.mesh.handshake.combine`. For each
service this engine keeps the rate of connections from callers in each
standing and the number of its pods in each standing; the rate of each
outcome into the service is then a sum over standings, updated in
constant time when one pod's standing changes. Spans are recorded per
service with caller and server ``*``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from meshsim.clock import simulated_now
from meshsim.mesh.handshake import OUTSIDE, Decision, combine
from meshsim.mesh.traffic import ANY, TrafficEngine

__all__ = ["ClassTraffic"]

# Caller rates are sums of shares; below this a standing has no callers
# left (what remains is rounding).
_NOTHING: Final = 1e-12


class ClassTraffic(TrafficEngine):
    """Counts connections per (service, outcome) between changes."""

    def prepare(self) -> None:
        """Count pods per service and each caller's share per service."""
        rate = self.rate
        topology = self.state.topology
        services = len(topology.accounts)
        self.backends = [0] * services
        for pod in topology.pods:
            self.backends[pod.account] += 1
        # Per service: caller rate by standing, pods by standing. (Plain
        # dictionaries: a compiled module reads them natively.)
        self.callers: list[dict[str, float]] = [{} for _ in range(services)]
        self.pods: list[dict[str, int]] = [{} for _ in range(services)]
        # How a connection ends, by the standing of its client, then of
        # its server: the index of combine()'s answer in ``decisions``,
        # where equal answers share one index (a lookup by string, and
        # rates summed by integer, cost far less than by Decision).
        self._decision_of: dict[str, dict[str, int]] = {}
        self.decisions: list[Decision] = []
        self.since = [0.0] * services
        self.standing: list[str] = []

        # What each pod sends to each service it calls.
        self.shares: list[list[tuple[int, float]]] = [[] for _ in topology.pods]
        for caller in topology.callers:
            targets = [s for s in caller.calls if self.backends[s]]
            if not targets or rate <= 0:
                continue
            share = rate / len(targets)
            if caller.pod is None:
                for service in targets:
                    rates = self.callers[service]
                    rates[OUTSIDE] = rates.get(OUTSIDE, 0.0) + share
            else:
                self.shares[caller.pod] = [(s, share) for s in targets]

    def start(self) -> None:
        """Stand every pod where its credential puts it now."""
        topology = self.state.topology
        for pod in topology.pods:
            standing = self.handshaker.standing(pod)
            self.standing.append(standing)
            counts = self.pods[pod.account]
            counts[standing] = counts.get(standing, 0) + 1
            for service, share in self.shares[pod.index]:
                rates = self.callers[service]
                rates[standing] = rates.get(standing, 0.0) + share

    def touch_pods(self, pods: Iterable[int]) -> None:
        """Re-stand ``pods``; move their weight where it changed."""
        if not self.standing:
            return
        topology = self.state.topology
        for index in pods:
            pod = topology.pods[index]
            new = self.handshaker.standing(pod)
            old = self.standing[index]
            if new == old:
                continue
            touched = {pod.account, *[s for s, _ in self.shares[index]]}
            for service in sorted(touched):
                self._close(service)
            self.standing[index] = new
            counts = self.pods[pod.account]
            counts[old] -= 1
            counts[new] = counts.get(new, 0) + 1
            for service, share in self.shares[index]:
                rates = self.callers[service]
                rates[old] -= share
                rates[new] = rates.get(new, 0.0) + share

    def touch_node(self, node: int) -> None:
        """Re-stand the pods on ``node``."""
        pods = self.state.topology.pods_on_node(node)
        self.touch_pods([p.index for p in pods])

    def touch_all(self) -> None:
        """Re-stand every pod."""
        self.touch_pods(range(len(self.state.topology.pods)))

    def finish(self) -> None:
        """Close every service's span at the current time."""
        for service in range(len(self.backends)):
            self._close(service)

    def _close(self, service: int) -> None:
        """Record the span of ``service`` up to now and start a new one."""
        start, now = self.since[service], simulated_now(self.env)
        self.since[service] = now
        if now <= start or not self.backends[service]:
            return
        rates: dict[int, float] = {}
        total = self.backends[service]
        for client, caller_rate in self.callers[service].items():
            if caller_rate <= _NOTHING:
                continue
            for server, count in self.pods[service].items():
                if count > 0:
                    index = self._decided(client, server)
                    share = caller_rate * count / total
                    rates[index] = rates.get(index, 0.0) + share
        account = self.state.topology.accounts[service]
        for index, rate in rates.items():
            count = self.draw(rate, start, now)
            if count == 0:
                continue
            self.record(
                start,
                now,
                ANY,
                ANY,
                ANY,
                ANY,
                account.service,
                str(account.spiffe_id),
                self.decisions[index],
                count,
            )

    def _decided(self, client: str, server: str) -> int:
        """The index in ``decisions`` of how a connection from a caller
        standing ``client`` to a pod standing ``server`` ends."""
        row = self._decision_of.get(client)
        if row is None:
            row = self._decision_of[client] = {}
        index = row.get(server)
        if index is None:
            decision = combine(client, server, self.handshaker.mtls)
            if decision not in self.decisions:
                self.decisions.append(decision)
            index = row[server] = self.decisions.index(decision)
        return index
