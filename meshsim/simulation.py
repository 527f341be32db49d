"""Build a mesh from a scenario and run it on one SimPy environment.

:func:`simulate` is the one entry point: it seeds the random streams,
builds the topology, the CA, the agents, the traffic and the attackers,
runs the clock to the scenario's duration and returns the records.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import simpy
from cryptography import x509

from meshsim.attack.key_theft import KeyTheft
from meshsim.attack.mitm import Mitm
from meshsim.clock import SimClock
from meshsim.mesh.agent import Agent, Backoff, RenewalPolicy
from meshsim.mesh.ca import CaServer, Outage
from meshsim.mesh.credential import Credential, TrustBundle
from meshsim.mesh.handshake import Handshaker, Interceptor, VerificationCache
from meshsim.mesh.state import MeshState, Slot
from meshsim.mesh.topology import Topology, build_topology
from meshsim.mesh.traffic import TrafficEngine
from meshsim.metrics.records import Recorder
from meshsim.scenario import KeyTheft as KeyTheftSpec
from meshsim.scenario import Mitm as MitmSpec
from meshsim.scenario import Scenario

__all__ = ["Progress", "RunResult", "simulate"]

Progress = Callable[[float], None]

# Random streams, each spawned from the seed in this order, so that adding
# draws to one stream never shifts the others.
_STREAMS = ("topology", "renewal", "traffic", "serials", "attack")

# The clock advances in this many steps so progress can be reported.
_PROGRESS_STEPS = 100

# Issued chains kept for the user to inspect with openssl.
_CHAINS_KEPT = 3


@dataclass(frozen=True)
class RunResult:
    """Everything one run produced, before it becomes tables."""

    scenario: Scenario
    topology: Topology
    recorder: Recorder
    root: x509.Certificate
    issued: tuple[tuple[x509.Certificate, ...], ...]
    wall_seconds: float


def simulate(scenario: Scenario, progress: Progress | None = None) -> RunResult:
    """Run ``scenario`` to its end and return what was recorded."""
    began = time.perf_counter()
    streams = dict(
        zip(
            _STREAMS,
            (
                np.random.Generator(np.random.PCG64(s))
                for s in np.random.SeedSequence(scenario.seed).spawn(
                    len(_STREAMS)
                )
            ),
            strict=True,
        )
    )
    mesh, pki, ca_spec = scenario.mesh, scenario.pki, scenario.ca
    env = simpy.Environment()
    clock = SimClock(scenario.start_time)
    recorder = Recorder()

    # The static mesh: where pods run and which services call which.
    topology = build_topology(
        trust_domain=mesh.trust_domain,
        nodes=mesh.nodes,
        workloads=mesh.workloads,
        service_accounts=mesh.service_accounts,
        namespaces=mesh.namespaces,
        calls_per_service=mesh.calls_per_service,
        outside=mesh.outside,
        rng=streams["topology"],
    )

    # The CA and the one trust bundle every node starts with.
    ca = CaServer(
        env,
        clock,
        recorder,
        streams["serials"],
        trust_domain=mesh.trust_domain,
        key_algorithm=pki.key,
        root_ttl_s=pki.root_ttl,
        workload_ttl_s=pki.workload_ttl,
        max_workload_ttl_s=pki.max_workload_ttl,
        backdate_s=pki.backdate,
        workers=ca_spec.workers,
        sign_time_s=(
            None if ca_spec.sign_time == "measured" else ca_spec.sign_time
        ),
        outages=[
            Outage(o.start, o.start + o.duration) for o in ca_spec.outages
        ],
    )
    bundle = TrustBundle({mesh.trust_domain: (ca.root,)})

    # Agents: one per pod or one per node; one slot per identity held.
    per_node = mesh.agent == "per-node"
    slot_of_pod = [
        Slot(pod.node if per_node else pod.index, pod.account)
        for pod in topology.pods
    ]
    state = MeshState(env, clock, topology, bundle, slot_of_pod)
    interceptors: list[Interceptor] = []
    cache = VerificationCache(state, recorder.crypto)
    handshaker = Handshaker(state, cache, mesh.mtls, interceptors)
    engine = TrafficEngine(
        env,
        state,
        handshaker,
        recorder,
        streams["traffic"],
        scenario.traffic.rate,
    )
    _start_agents(scenario, env, state, ca, recorder, streams["renewal"])

    # Keep a few issued chains (public parts only) to show the user.
    issued: list[tuple[x509.Certificate, ...]] = []

    def keep(slot: Slot, credential: Credential) -> None:
        if len(issued) < _CHAINS_KEPT:
            issued.append(credential.chain)

    state.on_install(keep)

    # Attackers, in the order the scenario lists them.
    def stolen(credential: Credential) -> None:
        engine.touch_all()
        engine.watch(credential, engine.touch_all)

    thefts: list[KeyTheft] = []
    for index, attack in enumerate(scenario.attacks):
        if isinstance(attack, KeyTheftSpec):
            pods = _compromised_pods(attack, topology, per_node)
            theft = KeyTheft(
                env,
                state,
                recorder,
                index=index,
                holder=attack.node if per_node else topology.pods[pods[0]].name,
                slots=sorted({slot_of_pod[p] for p in pods}),
                start_s=attack.start,
                persistent=attack.persistent,
                detected_after_s=attack.detected_after,
                on_steal=stolen,
            )
            thefts.append(theft)
            theft.start()
    for index, attack in enumerate(scenario.attacks):
        if isinstance(attack, MitmSpec):
            node = topology.node_index(attack.node)
            mitm = Mitm(
                env,
                clock,
                recorder.crypto,
                streams["attack"],
                index=index,
                node=node,
                start_s=attack.start,
                end_s=attack.start + attack.duration,
                presents=attack.presents,
                thefts=thefts,
                on_change=partial(engine.touch_node, node),
            )
            interceptors.append(mitm)
            mitm.start()

    # Run the clock, in steps so that progress can be shown.
    engine.start()
    for step in range(1, _PROGRESS_STEPS + 1):
        env.run(until=scenario.duration * step / _PROGRESS_STEPS)
        if progress is not None:
            progress(step / _PROGRESS_STEPS)
    engine.finish()

    return RunResult(
        scenario=scenario,
        topology=topology,
        recorder=recorder,
        root=ca.root,
        issued=tuple(issued),
        wall_seconds=time.perf_counter() - began,
    )


def _start_agents(
    scenario: Scenario,
    env: simpy.Environment,
    state: MeshState,
    ca: CaServer,
    recorder: Recorder,
    rng: np.random.Generator,
) -> None:
    """One agent per pod or per node, rotating every slot it holds."""
    topology = state.topology
    renewal = RenewalPolicy(scenario.pki.grace_ratio, scenario.pki.jitter)
    backoff = Backoff(
        scenario.agent.backoff_initial,
        scenario.agent.backoff_max,
        scenario.agent.backoff_multiplier,
    )
    per_node = scenario.mesh.agent == "per-node"
    holders = (
        [(i, name) for i, name in enumerate(topology.nodes)]
        if per_node
        else [(p.node, p.name) for p in topology.pods]
    )
    for index, (node, name) in enumerate(holders):
        slots = sorted({s for s in state.pods_of_slot if s.agent == index})
        if not slots:
            continue
        agent = Agent(
            env,
            state,
            ca,
            recorder,
            rng,
            index=index,
            name=f"agent-{name}",
            node=node,
            key_algorithm=scenario.pki.key,
            renewal=renewal,
            backoff=backoff,
        )
        for slot in slots:
            agent.start(slot)


def _compromised_pods(
    attack: KeyTheftSpec, topology: Topology, per_node: bool
) -> list[int]:
    """The pods whose keys a compromise of ``attack.node`` exposes: all
    pods there under a node agent, else the named or first pod there."""
    node = topology.node_index(attack.node)
    here = [p.index for p in topology.pods_on_node(node)]
    if not here:
        raise ValueError(
            f"attacks: node {attack.node!r} runs no pod to compromise"
        )
    if per_node:
        return here
    if attack.workload is None:
        return here[:1]
    named = [p for p in here if topology.pods[p].name == attack.workload]
    if not named:
        raise ValueError(
            f"attacks: workload {attack.workload!r} does not run on "
            f"{attack.node}"
        )
    return named
