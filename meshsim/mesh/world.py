"""The pieces of one run, wired together: what the simulation builds from
a scenario and what its agents, CA and attackers act on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import simpy

from meshsim.clock import SimClock
from meshsim.mesh.ca import CaServer
from meshsim.mesh.crypto import Crypto
from meshsim.mesh.handshake import Interceptor
from meshsim.mesh.state import MeshState
from meshsim.mesh.topology import Topology
from meshsim.mesh.traffic import TrafficEngine
from meshsim.metrics.records import Recorder

__all__ = ["Streams", "World"]

Streams = dict[str, np.random.Generator]
"""The run's random streams by name, each spawned from its seed."""


@dataclass
class World:
    """The pieces of one run, wired together."""

    env: simpy.Environment
    clock: SimClock
    recorder: Recorder
    crypto: Crypto
    topology: Topology
    ca: CaServer
    state: MeshState
    engine: TrafficEngine
    interceptors: list[Interceptor]
    streams: Streams
