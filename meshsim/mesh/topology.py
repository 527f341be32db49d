"""Who runs where: nodes, pods, service accounts, services and calls.

Pods are spread over nodes after a seeded shuffle; pod ``i`` runs as
service account ``i mod S``, so each account backs one service with a
near-equal number of pods. The call graph draws, for each service,
``calls_per_service`` other services to call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from meshsim.identity import SpiffeId, workload_spiffe_id

__all__ = ["Caller", "Pod", "ServiceAccount", "Topology", "build_topology"]


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    """An identity: ``spiffe://<td>/ns/<namespace>/sa/<name>``."""

    index: int
    namespace: str
    name: str
    spiffe_id: SpiffeId

    @property
    def service(self) -> str:
        """The one service this account backs."""
        return f"svc-{self.index}"


@dataclass(frozen=True, slots=True)
class Pod:
    """A workload in the mesh: runs on a node as one service account."""

    index: int
    name: str
    node: int
    account: int


@dataclass(frozen=True, slots=True)
class Caller:
    """Something that opens connections: a mesh pod or an outside client.

    ``pod`` is the pod's index for a mesh caller and None for a caller
    outside the mesh, which has no agent and sends plaintext.
    """

    name: str
    node: int
    pod: int | None
    calls: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Topology:
    """The static shape of the mesh for one run."""

    trust_domain: str
    nodes: tuple[str, ...]
    accounts: tuple[ServiceAccount, ...]
    pods: tuple[Pod, ...]
    callers: tuple[Caller, ...]

    def pods_on_node(self, node: int) -> list[Pod]:
        """Pods placed on ``node``, in index order."""
        return [p for p in self.pods if p.node == node]

    def pods_of_account(self, account: int) -> list[Pod]:
        """Pods that run as ``account`` (the backends of its service)."""
        return [p for p in self.pods if p.account == account]

    def node_index(self, name: str) -> int:
        """The index of a node given by name (``node-3`` -> 3)."""
        try:
            return self.nodes.index(name)
        except ValueError:
            raise ValueError(
                f"node: {name!r} is not in the mesh "
                f"({self.nodes[0]} … {self.nodes[-1]})"
            ) from None


def build_topology(
    trust_domain: str,
    nodes: int,
    workloads: int,
    service_accounts: int,
    namespaces: int,
    calls_per_service: int,
    outside: int,
    rng: np.random.Generator,
) -> Topology:
    """Place pods, name identities and draw the call graph."""
    accounts = tuple(
        ServiceAccount(
            index=i,
            namespace=f"ns-{i % namespaces}",
            name=f"sa-{i}",
            spiffe_id=workload_spiffe_id(
                trust_domain, f"ns-{i % namespaces}", f"sa-{i}"
            ),
        )
        for i in range(service_accounts)
    )

    # Shuffle pods, then deal them to nodes in turn.
    order = rng.permutation(workloads)
    node_of = np.empty(workloads, dtype=np.int64)
    node_of[order] = np.arange(workloads) % nodes
    pods = tuple(
        Pod(i, f"pod-{i}", int(node_of[i]), i % service_accounts)
        for i in range(workloads)
    )

    # Each service calls a seeded choice of other services.
    calls = [
        _draw_callees(i, service_accounts, calls_per_service, rng)
        for i in range(service_accounts)
    ]
    callers = [Caller(p.name, p.node, p.index, calls[p.account]) for p in pods]
    for j in range(outside):
        targets = _draw_callees(-1, service_accounts, calls_per_service, rng)
        callers.append(Caller(f"outside-{j}", j % nodes, None, targets))

    return Topology(
        trust_domain=trust_domain,
        nodes=tuple(f"node-{i}" for i in range(nodes)),
        accounts=accounts,
        pods=pods,
        callers=tuple(callers),
    )


def _draw_callees(
    service: int, services: int, count: int, rng: np.random.Generator
) -> tuple[int, ...]:
    """``count`` distinct services other than ``service``, sorted."""
    others = np.array([s for s in range(services) if s != service])
    count = min(count, len(others))
    if count == 0:
        return ()
    picked = rng.choice(others, size=count, replace=False)
    return tuple(sorted(int(s) for s in picked))
