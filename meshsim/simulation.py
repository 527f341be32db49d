"""Build a mesh from a scenario and run it on one SimPy environment.

:func:`simulate` is the one entry point: it seeds the random streams,
builds the topology, the CA, the agents, the traffic and the attackers,
runs the clock to the scenario's duration and returns the records.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import simpy

from meshsim.attack.setup import start_attacks
from meshsim.clock import SimClock
from meshsim.collector import collector_eased
from meshsim.mesh.agent import Agent, Backoff, RenewalPolicy
from meshsim.mesh.ca import CaServer
from meshsim.mesh.ca_policy import CaPolicy, Outage, RootChange
from meshsim.mesh.churn import Churn
from meshsim.mesh.class_traffic import ClassTraffic
from meshsim.mesh.credential import Credential, TrustBundle
from meshsim.mesh.crypto import AnyCertificate, Crypto
from meshsim.mesh.graces import Graces
from meshsim.mesh.handshake import Handshaker, Interceptor, VerificationCache
from meshsim.mesh.pair_traffic import PairTraffic
from meshsim.mesh.state import MeshState, Slot
from meshsim.mesh.tokens import TokenSource
from meshsim.mesh.topology import Topology, build_topology
from meshsim.mesh.traffic import TrafficEngine
from meshsim.mesh.world import World
from meshsim.metrics.records import Recorder
from meshsim.scenario import Scenario
from meshsim.scenario.rules import class_traffic_blockers

__all__ = ["Progress", "RunResult", "build_world", "simulate"]

Progress = Callable[[float], None]

# Random streams, each spawned from the seed in this order, so that adding
# draws to one stream never shifts the others. New streams go at the end.
_STREAMS = (
    "topology",
    "renewal",
    "traffic",
    "serials",
    "attack",
    "clocks",
    "bundles",
    "costs",
    "service",
    "churn",
    "attack_starts",
    "graces",
)

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
    root: AnyCertificate
    """The first root, which the chains in ``issued`` lead to."""
    issued: tuple[tuple[AnyCertificate, ...], ...]
    clock_offsets_s: tuple[float, ...]
    wall_seconds: float
    attack_starts_s: tuple[float, ...] = ()
    """When each attack of the scenario started, drawn within its spread."""
    roots: tuple[AnyCertificate, ...] = ()
    """The roots the CA publishes at the end, oldest first."""


def simulate(
    scenario: Scenario,
    progress: Progress | None = None,
    *,
    collect: bool = True,
) -> RunResult:
    """Run ``scenario`` to its end and return what was recorded.

    The world the run built is collected before returning unless
    ``collect`` is false, which suits only a process that exits after
    this one run (see :func:`meshsim.runner.run_scenario`).
    """
    # Building makes an object or more per workload, all kept to the
    # end: the collector would walk them again and again.
    with collector_eased():
        result = _simulated(scenario, progress)

        # The world the run built (processes, pending events, agents) is
        # left as reference cycles, which only a full collection frees;
        # the eased collector would come to them late or never, and a
        # notebook or a sweep worker making many runs would keep every
        # one. Inside the block, what existed before the run is frozen,
        # so the collection walks only what the run made.
        if collect:
            gc.collect()
    return result


def build_world(scenario: Scenario) -> World:
    """The world of ``scenario`` built with every process started and the
    clock at 0: step it with ``world.env.run(until=...)`` to look at the
    mesh (its state, CA, handshaker) at a moment of the run. Nothing is
    recorded in tables; :func:`simulate` runs a scenario whole."""
    world, _, _ = _ready(scenario)
    return world


def _simulated(scenario: Scenario, progress: Progress | None) -> RunResult:
    began = time.perf_counter()
    world, issued, starts = _ready(scenario)

    # Run the clock, in steps so that progress can be shown.
    for step in range(1, _PROGRESS_STEPS + 1):
        world.env.run(until=scenario.duration * step / _PROGRESS_STEPS)
        if progress is not None:
            progress(step / _PROGRESS_STEPS)
    world.ca.close()
    world.engine.finish()
    world.crypto.settle()

    return RunResult(
        scenario=scenario,
        topology=world.topology,
        recorder=world.recorder,
        root=world.ca.root,
        issued=tuple(issued),
        clock_offsets_s=tuple(world.state.clock_offsets_s),
        wall_seconds=time.perf_counter() - began,
        attack_starts_s=tuple(starts),
        roots=world.ca.hierarchy.anchors,
    )


def _ready(
    scenario: Scenario,
) -> tuple[World, list[tuple[AnyCertificate, ...]], list[float]]:
    """The world built with every process started, the list that keeps a
    few issued chains (public parts only) to show the user, and when each
    attack starts."""
    world = _build(scenario)
    issued: list[tuple[AnyCertificate, ...]] = []

    def keep(slot: Slot, credential: Credential) -> None:
        if len(issued) < _CHAINS_KEPT:
            issued.append(credential.chain)

    if not world.crypto.modeled:
        world.state.on_install(keep)
    world.ca.start()
    # the agents and the attacker read the same tokens
    tokens = _token_sources(scenario, world.topology)
    _start_agents(scenario, world, tokens)
    starts = start_attacks(scenario, world, tokens)
    world.engine.start()
    return world, issued, starts


def _build(scenario: Scenario) -> World:
    """Seed the streams and wire the CA, the mesh state and the traffic."""
    streams = {
        name: np.random.Generator(np.random.PCG64(_seed_of(scenario, name)))
        for name in _STREAMS
    }
    mesh = scenario.mesh
    env = simpy.Environment()
    clock = SimClock(scenario.start_time)
    recorder = Recorder()
    crypto = Crypto(
        scenario.pki.crypto,
        recorder.crypto,
        streams["costs"],
        scenario.pki.key,
        mesh.trust_domain,
        clock,
    )

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
    hosted = {
        (pod.node, str(topology.accounts[pod.account].spiffe_id))
        for pod in topology.pods
    }

    # The CA; its trust anchors reach each node after a random lag.
    def publish(roots: tuple[AnyCertificate, ...]) -> None:
        delay = scenario.ca.bundle_delay
        lags = streams["bundles"].uniform(0.0, delay, len(topology.nodes))
        state.publish(TrustBundle({mesh.trust_domain: roots}), list(lags))

    ca = CaServer(
        env,
        clock,
        recorder,
        crypto,
        streams["serials"],
        _ca_policy(scenario),
        publish,
        authorize=lambda node, spiffe_id: (node, spiffe_id) in hosted,
        service_rng=streams["service"],
    )

    # Slots: which agent holds each pod's identity.
    per_node = mesh.agent == "per-node"
    slot_of_pod = [
        Slot(pod.node if per_node else pod.index, pod.account)
        for pod in topology.pods
    ]
    state = MeshState(
        env,
        clock,
        topology,
        TrustBundle({mesh.trust_domain: (ca.root,)}),
        slot_of_pod,
        _clock_offsets(scenario, topology, streams["clocks"]),
    )
    interceptors: list[Interceptor] = []
    handshaker = Handshaker(
        state,
        VerificationCache(state, crypto),
        mesh.mtls,
        interceptors,
    )
    engine = _traffic_engine(scenario)(
        env,
        state,
        handshaker,
        recorder,
        streams["traffic"],
        scenario.traffic.rate,
    )
    return World(
        env,
        clock,
        recorder,
        crypto,
        topology,
        ca,
        state,
        engine,
        interceptors,
        streams,
    )


def _seed_of(scenario: Scenario, stream: str) -> np.random.SeedSequence:
    """The seed of one of the run's streams: the child of the scenario's
    seed numbered by the stream's place in ``_STREAMS``, as
    ``SeedSequence.spawn`` would give it."""
    return np.random.SeedSequence(
        scenario.seed, spawn_key=(_STREAMS.index(stream),)
    )


def _traffic_engine(scenario: Scenario) -> type[TrafficEngine]:
    """Per service and standing when every node sees alike, else per
    pair (see :mod:`meshsim.mesh.traffic`)."""
    detail = scenario.traffic.detail
    if detail == "auto":
        blocked = class_traffic_blockers(scenario)
        detail = "pairs" if blocked else "classes"
    return ClassTraffic if detail == "classes" else PairTraffic


def _ca_policy(scenario: Scenario) -> CaPolicy:
    pki, ca = scenario.pki, scenario.ca
    return CaPolicy(
        trust_domain=scenario.mesh.trust_domain,
        key_algorithm=pki.key,
        root_ttl_s=pki.root_ttl,
        workload_ttl_s=pki.workload_ttl,
        max_workload_ttl_s=pki.max_workload_ttl,
        backdate_s=pki.backdate,
        allowance_s=pki.not_after_allowance,
        workers=ca.workers,
        sign_time_s=None if ca.sign_time == "measured" else ca.sign_time,
        outages=tuple(
            Outage(o.start, o.start + o.duration) for o in ca.outages
        ),
        intermediate_ttl_s=ca.intermediate_ttl,
        rotation=(
            (ca.rotation.prepare_at, ca.rotation.activate_at)
            if ca.rotation is not None
            else None
        ),
        root_reissue_at=ca.root_reissue_at,
        root_changes=tuple(
            RootChange(r.at, r.key == "same", r.overlap)
            for r in ca.root_rotations
        ),
        node_authorization=ca.node_authorization,
        exponential_service=ca.service == "exponential",
        cancellable=scenario.mesh.churn is not None,
    )


def _clock_offsets(
    scenario: Scenario, topology: Topology, rng: np.random.Generator
) -> list[float]:
    """Each node's clock offset: U(-u, u) + N(0, s), or as given."""
    skew = scenario.mesh.clock_skew
    count = len(topology.nodes)
    offsets = np.zeros(count)
    if skew.uniform > 0:
        offsets += rng.uniform(-skew.uniform, skew.uniform, count)
    if skew.normal > 0:
        offsets += rng.normal(0.0, skew.normal, count)
    for entry in skew.offsets:
        offsets[topology.node_index(entry.node)] = entry.offset
    return [float(o) for o in offsets]


def _start_agents(
    scenario: Scenario, world: World, tokens: dict[int, TokenSource]
) -> None:
    """One agent per pod or per node, rotating every slot it holds, with
    ``tokens`` by service account."""
    topology, state = world.topology, world.state
    pki, spec = scenario.pki, scenario.agent
    clamp = (
        (spec.backoff_initial, spec.backoff_max)
        if spec.backoff == "remaining"
        else None
    )
    renewal = RenewalPolicy(spec.lifetime_from, clamp)
    backoff = Backoff(
        spec.backoff_initial,
        spec.backoff_max,
        spec.backoff_multiplier,
        kind=spec.backoff,
        jitter=spec.backoff_jitter,
        fast_retries=spec.fast_retries,
        fast_initial_s=spec.fast_retry_initial,
        remaining_fraction=spec.remaining_fraction,
    )
    graces = Graces(
        pki.grace_ratio,
        pki.jitter,
        # the stream's seed: tiles of ratios extend its key
        _seed_of(scenario, "graces"),
    )
    per_node = scenario.mesh.agent == "per-node"
    holders = (
        list(enumerate(topology.nodes))
        if per_node
        else [(p.node, p.name) for p in topology.pods]
    )
    slots_of_agent: dict[int, list[Slot]] = {}
    for slot in sorted(state.pods_of_slot):
        slots_of_agent.setdefault(slot.agent, []).append(slot)

    def make_agent(
        index: int, name: str, node: int, node_agent: bool = per_node
    ) -> Agent:
        return Agent(
            world.env,
            state,
            world.ca,
            world.recorder,
            world.crypto,
            world.streams["renewal"],
            index=index,
            name=f"agent-{name}",
            node=node,
            key_algorithm=pki.key,
            renewal=renewal,
            graces=graces,
            backoff=backoff,
            tokens=tokens,
            per_node=node_agent,
            max_in_flight=spec.max_in_flight,
        )

    for index, (node, name) in enumerate(holders):
        if index in slots_of_agent:
            agent = make_agent(index, name, node)
            for slot in slots_of_agent[index]:
                agent.start(slot)

    # NOTE: short-lived pods each have an agent of their own, also under
    # per-node agents (so node authorization does not apply to them and
    # their node's agent never shares an identity with them): the agents
    # hold a fixed set of identities and cannot start and stop one as
    # pods come and go (docs/models.md, Simplifications).
    churn = scenario.mesh.churn
    if churn is not None:
        Churn(
            world.env,
            state,
            world.streams["churn"],
            rate=churn.rate,
            lifetime_s=churn.lifetime,
            first_index=len(holders),
            make_agent=partial(make_agent, node_agent=False),
        ).start()


def _token_sources(
    scenario: Scenario, topology: Topology
) -> dict[int, TokenSource]:
    return {
        account.index: TokenSource(
            account.namespace,
            account.name,
            scenario.pki.token_ttl,
            scenario.agent.token_refresh,
        )
        for account in topology.accounts
    }
