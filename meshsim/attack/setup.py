"""The scenario's attacks, made into attackers on a built mesh.

Thefts first, each with the loot it fills; then on-path attackers, which
present what every theft holds. Each attack starts at its ``start``, or
at a time drawn within its ``spread`` from a stream of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

from meshsim.attack.impersonation import Impersonation
from meshsim.attack.key_theft import KeyTheft
from meshsim.attack.loot import Loot
from meshsim.attack.mitm import Mitm
from meshsim.attack.token_theft import TokenTheft
from meshsim.mesh.credential import Credential
from meshsim.mesh.tokens import TokenSource
from meshsim.mesh.topology import Topology
from meshsim.mesh.world import World
from meshsim.scenario import Impersonation as ImpersonationSpec
from meshsim.scenario import KeyTheft as KeyTheftSpec
from meshsim.scenario import Mitm as MitmSpec
from meshsim.scenario import Scenario
from meshsim.scenario import TokenTheft as TokenTheftSpec

__all__ = ["compromised_pods", "start_attacks"]


def start_attacks(
    scenario: Scenario,
    world: World,
    tokens: Mapping[int, TokenSource],
) -> list[float]:
    """Start the scenario's attackers, in the order it lists them, and
    say when each starts; on-path attackers use what every theft before
    or beside them holds. ``tokens`` are the service-account tokens
    agents hold, by account index, which a token theft copies."""
    env, topology, engine = world.env, world.topology, world.engine
    per_node = scenario.mesh.agent == "per-node"

    def gained(credential: Credential) -> None:
        engine.touch_all()
        engine.watch(credential, engine.touch_all)

    # Each attack starts at its start, or at a time drawn uniformly
    # within its spread after it: one draw per attack from a stream of
    # its own, so that spreads change nothing else of the run.
    draws = world.streams["attack_starts"].random(len(scenario.attacks))
    starts = [
        attack.start + float(u) * attack.spread
        for attack, u in zip(scenario.attacks, draws, strict=True)
    ]

    loots: list[Loot] = []
    for index, attack in enumerate(scenario.attacks):
        if isinstance(attack, MitmSpec):
            continue
        node = topology.node_index(attack.node)
        pods = (
            compromised_pods(attack, topology, per_node)
            if isinstance(attack, KeyTheftSpec | TokenTheftSpec)
            else [p.index for p in topology.pods_on_node(node)]
        )
        holder = (
            attack.node if per_node or not pods else topology.pods[pods[0]].name
        )
        loot = Loot(
            env,
            world.recorder,
            attack=index,
            kind=attack.kind,
            holder=f"attacker@{holder}",
            on_gain=gained,
        )
        loots.append(loot)
        if isinstance(attack, KeyTheftSpec):
            slot_of_pod = world.state.slot_of_pod
            KeyTheft(
                env,
                world.state,
                loot,
                slots=sorted({slot_of_pod[p] for p in pods}),
                start_s=starts[index],
                persistent=attack.persistent,
                detected_after_s=attack.detected_after,
            ).start()
        elif isinstance(attack, TokenTheftSpec):
            accounts = sorted({topology.pods[p].account for p in pods})
            TokenTheft(
                env,
                world.ca,
                loot,
                sources=[
                    (topology.accounts[a].spiffe_id, tokens[a])
                    for a in accounts
                ],
                node=node,
                start_s=starts[index],
                interval_s=attack.interval,
            ).start()
        elif isinstance(attack, ImpersonationSpec):
            Impersonation(
                env,
                world.ca,
                loot,
                accounts=topology.accounts,
                node=node,
                start_s=starts[index],
            ).start()

    for index, attack in enumerate(scenario.attacks):
        if isinstance(attack, MitmSpec):
            node = topology.node_index(attack.node)
            mitm = Mitm(
                env,
                world.clock,
                world.crypto,
                world.streams["attack"],
                index=index,
                node=node,
                start_s=starts[index],
                end_s=starts[index] + attack.duration,
                presents=attack.presents,
                loots=loots,
                on_change=partial(engine.touch_node, node),
            )
            world.interceptors.append(mitm)
            mitm.start()
    return starts


def compromised_pods(
    attack: KeyTheftSpec | TokenTheftSpec, topology: Topology, per_node: bool
) -> list[int]:
    """The pods whose secrets a compromise of ``attack.node`` exposes: all
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
