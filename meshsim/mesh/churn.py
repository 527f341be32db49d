"""Short-lived pods: Poisson arrivals, exponential lifetimes.

:meth:`Churn.arrive` creates a pod at each arrival of a Poisson process;
the pod's agent rotates its certificate like any other until the pod is
deleted, which interrupts the agent (a SimPy interrupt). Churned pods load
the CA; they take no part in traffic.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy

from meshsim.mesh.agent import Agent
from meshsim.mesh.state import MeshState, Slot

__all__ = ["Churn"]

MakeAgent = Callable[[int, str, int], Agent]


class Churn:
    """Pods arriving at ``rate`` per second, living ``lifetime_s`` on
    average; agent indices start at ``first_index``."""

    def __init__(
        self,
        env: simpy.Environment,
        state: MeshState,
        rng: np.random.Generator,
        *,
        rate: float,
        lifetime_s: float,
        first_index: int,
        make_agent: MakeAgent,
    ) -> None:
        self.env = env
        self.state = state
        self.rng = rng
        self.rate = rate
        self.lifetime_s = lifetime_s
        self.next_index = first_index
        self.make_agent = make_agent
        self.arrived = 0

    def start(self) -> simpy.Process:
        """Begin the arrivals."""
        return self.env.process(self.arrive())

    def arrive(self) -> Generator[simpy.Event, Any, None]:
        """Create a pod at each Poisson arrival."""
        if self.rate <= 0:
            return
        topology = self.state.topology
        while True:
            yield self.env.timeout(self.rng.exponential(1.0 / self.rate))
            index = self.next_index
            self.next_index += 1
            self.arrived += 1
            account = int(self.rng.integers(len(topology.accounts)))
            node = int(self.rng.integers(len(topology.nodes)))
            lifetime = float(self.rng.exponential(self.lifetime_s))
            agent = self.make_agent(index, f"churn-{self.arrived}", node)
            slot = Slot(index, account)
            rotating = agent.start(slot)
            self.env.process(self._live(agent, rotating, slot, lifetime))

    def _live(
        self,
        agent: Agent,
        rotating: simpy.Process,
        slot: Slot,
        lifetime: float,
    ) -> Generator[simpy.Event, Any, None]:
        """Delete the pod after ``lifetime``: stop its agent."""
        yield self.env.timeout(lifetime)
        # NOTE: a CSR still queued or being signed is cancelled with its
        # pod, as the agent's call is dropped; the CA records it as
        # cancelled.
        if rotating.is_alive:
            rotating.interrupt("pod deleted")
        self.state.credentials.pop(slot, None)
        agent.recorder.deleted_s[agent.name] = self.env.now
