"""Rules that tie several keys of a scenario together.

They run once every key has a valid type.  Each finding names the key it
is reported at and the other keys it depends on, so that a check built on
a key that already failed can be left out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Final

from meshsim.scenario.durations import format_duration
from meshsim.scenario.problems import KeyPath, format_path

if TYPE_CHECKING:
    from meshsim.scenario.schema import Agent, Mesh, Pki, Scenario

__all__ = [
    "Finding",
    "check_scenario",
    "class_traffic_blockers",
]

_INDEXED: Final = re.compile(r"(?P<prefix>[a-z]+)-(?P<index>0|[1-9][0-9]{0,8})")


@dataclass(frozen=True)
class Finding:
    """A broken rule at ``path``; ``depends`` lists the other keys read."""

    path: KeyPath
    rule: str
    value: object
    depends: tuple[KeyPath, ...] = ()


def check_scenario(scenario: Scenario) -> list[Finding]:
    """Every cross-key rule that ``scenario`` breaks."""
    return [
        *_check_mesh(scenario.mesh),
        *_check_pki(scenario.pki),
        *_check_agent(scenario.agent),
        *_check_renewal_point(scenario),
        *_check_outages(scenario),
        *_check_attacks(scenario),
        *_check_hierarchy(scenario),
        *_check_clocks(scenario.mesh),
        *_check_traffic(scenario),
    ]


def _check_mesh(mesh: Mesh) -> Iterator[Finding]:
    if mesh.service_accounts > mesh.workloads:
        yield Finding(
            ("mesh", "service_accounts"),
            f"must not exceed mesh.workloads ({mesh.workloads})",
            mesh.service_accounts,
            (("mesh", "workloads"),),
        )
    if mesh.namespaces > mesh.service_accounts:
        yield Finding(
            ("mesh", "namespaces"),
            f"must not exceed mesh.service_accounts ({mesh.service_accounts})",
            mesh.namespaces,
            (("mesh", "service_accounts"),),
        )
    if mesh.calls_per_service > mesh.service_accounts - 1:
        yield Finding(
            ("mesh", "calls_per_service"),
            "must be less than mesh.service_accounts "
            f"({mesh.service_accounts}): a service does not call itself",
            mesh.calls_per_service,
            (("mesh", "service_accounts"),),
        )


def _check_pki(pki: Pki) -> Iterator[Finding]:
    ttl = format_duration(pki.workload_ttl)
    if pki.workload_ttl > pki.max_workload_ttl:
        limit = format_duration(pki.max_workload_ttl)
        yield Finding(
            ("pki", "workload_ttl"),
            f"must not exceed pki.max_workload_ttl ({limit})",
            ttl,
            (("pki", "max_workload_ttl"),),
        )
    if pki.workload_ttl >= pki.root_ttl:
        limit = format_duration(pki.root_ttl)
        yield Finding(
            ("pki", "workload_ttl"),
            f"must be shorter than pki.root_ttl ({limit})",
            ttl,
            (("pki", "root_ttl"),),
        )
    if pki.grace_ratio - pki.jitter <= 0:
        yield Finding(
            ("pki", "jitter"),
            f"must be less than pki.grace_ratio ({pki.grace_ratio:g})",
            pki.jitter,
            (("pki", "grace_ratio"),),
        )
    if pki.grace_ratio + pki.jitter >= 1:
        yield Finding(
            ("pki", "jitter"),
            f"must be less than 1 - pki.grace_ratio ({1 - pki.grace_ratio:g})",
            pki.jitter,
            (("pki", "grace_ratio"),),
        )


def _check_renewal_point(scenario: Scenario) -> Iterator[Finding]:
    """A lifetime read from the certificate includes its backdate: backdated
    too far, a certificate is due for renewal as it is installed, and the
    agent renews as fast as the CA answers, for ever."""
    pki = scenario.pki
    grace = pki.grace_ratio + pki.jitter
    if scenario.agent.lifetime_from != "certificate" or grace >= 1:
        return  # a grace of 1 or more is the jitter rule's to report
    # renewal at NotBefore + (1 - g) * lifetime, with the largest grace
    # g the jitter draws: after the install only while the backdate is
    # shorter than (1 - g) / g of the time from the install to NotAfter.
    # NOTE: near the limit, X.509's whole seconds and the time signing
    # takes can still make a certificate due as it is installed; the
    # agent then renews after its backoff step (mesh/agent.py).
    ahead = pki.workload_ttl + pki.not_after_allowance
    limit = (1.0 - grace) / grace * ahead
    if pki.backdate >= limit:
        shown = format_duration(math.floor(limit * 1000) / 1000)
        yield Finding(
            ("pki", "backdate"),
            f"must be shorter than {shown}: with "
            "agent.lifetime_from: certificate, a certificate backdated "
            "this far is due for renewal as it is installed (at NotBefore "
            f"+ {1 - grace:g} of its life, with pki.grace_ratio and "
            "pki.jitter)",
            format_duration(pki.backdate),
            (
                ("agent", "lifetime_from"),
                ("pki", "grace_ratio"),
                ("pki", "jitter"),
                ("pki", "workload_ttl"),
                ("pki", "not_after_allowance"),
            ),
        )


def _check_agent(agent: Agent) -> Iterator[Finding]:
    if agent.backoff_max < agent.backoff_initial:
        limit = format_duration(agent.backoff_initial)
        yield Finding(
            ("agent", "backoff_max"),
            f"must be at least agent.backoff_initial ({limit})",
            format_duration(agent.backoff_max),
            (("agent", "backoff_initial"),),
        )


def _before_end(
    scenario: Scenario, path: KeyPath, start: float
) -> Iterator[Finding]:
    if start >= scenario.duration:
        end = format_duration(scenario.duration)
        yield Finding(
            path,
            f"must be before the end of the run (duration {end})",
            format_duration(start),
            (("duration",),),
        )


def _check_outages(scenario: Scenario) -> Iterator[Finding]:
    for index, outage in enumerate(scenario.ca.outages):
        path = ("ca", "outages", index, "start")
        yield from _before_end(scenario, path, outage.start)


def _in_range(name: str, prefix: str, count: int) -> bool:
    match = _INDEXED.fullmatch(name)
    return (
        match is not None
        and match["prefix"] == prefix
        and int(match["index"]) < count
    )


def _check_attacks(scenario: Scenario) -> Iterator[Finding]:
    mesh = scenario.mesh
    thefts = [
        a for a in scenario.attacks if a.kind in ("key-theft", "token-theft")
    ]
    for index, attack in enumerate(scenario.attacks):
        here: KeyPath = ("attacks", index)
        yield from _before_end(scenario, (*here, "start"), attack.start)
        latest = attack.start + attack.spread
        if attack.spread > 0 and latest > scenario.duration:
            end = format_duration(scenario.duration)
            yield Finding(
                (*here, "spread"),
                f"must end by the end of the run: start + spread is "
                f"{format_duration(latest)}, past the duration ({end})",
                format_duration(attack.spread),
                ((*here, "start"), ("duration",)),
            )
        if not _in_range(attack.node, "node", mesh.nodes):
            yield Finding(
                (*here, "node"),
                f"not in the mesh (node-0 … node-{mesh.nodes - 1})",
                attack.node,
                (("mesh", "nodes"),),
            )

        if attack.kind in ("key-theft", "token-theft"):
            if attack.workload is not None and not _in_range(
                attack.workload, "pod", mesh.workloads
            ):
                yield Finding(
                    (*here, "workload"),
                    f"not in the mesh (pod-0 … pod-{mesh.workloads - 1})",
                    attack.workload,
                    (("mesh", "workloads"),),
                )
            if (
                attack.kind == "key-theft"
                and attack.detected_after is not None
                and not attack.persistent
            ):
                yield Finding(
                    (*here, "detected_after"),
                    "applies only to a persistent key theft (persistent: true)",
                    format_duration(attack.detected_after),
                    ((*here, "persistent"),),
                )
        elif attack.kind == "impersonation" and mesh.agent != "per-node":
            yield Finding(
                (*here, "kind"),
                "needs node agents (mesh.agent: per-node): with an agent per "
                "pod no agent may ask for another pod's identity; "
                "token-theft takes the tokens on a node",
                attack.kind,
                (("mesh", "agent"),),
            )
        elif (
            attack.kind == "mitm" and attack.presents == "stolen" and not thefts
        ):
            yield Finding(
                (*here, "presents"),
                "'stolen' needs a key-theft or token-theft attack in the "
                "scenario",
                attack.presents,
                (("attacks",),),
            )


# X.509 times are whole seconds: a CA certificate may begin up to a
# second earlier and last a second less than asked.
_WHOLE_SECOND: Final = 1.0


def _check_hierarchy(scenario: Scenario) -> Iterator[Finding]:
    ca = scenario.ca
    yield from _check_ca_lifetimes(scenario)
    renews_root = ca.root_reissue_at is not None or (
        ca.rotation is not None and ca.intermediate_ttl is None
    )
    if not renews_root:
        yield from _check_roots_last(scenario)
    rotation = scenario.ca.rotation
    if rotation is not None and rotation.activate_at <= rotation.prepare_at:
        yield Finding(
            ("ca", "rotation", "activate_at"),
            f"must be later than ca.rotation.prepare_at "
            f"({rotation.prepare_at:g})",
            rotation.activate_at,
            (("ca", "rotation", "prepare_at"),),
        )
    for index, change in enumerate(scenario.ca.root_rotations):
        path = ("ca", "root_rotations", index, "at")
        yield from _before_end(scenario, path, change.at)
        if change.at == 0:
            # at 0 s the first CSRs, signed under the root the CA starts
            # with, and the replacement would come at one instant
            yield Finding(
                path,
                "must be after 0s: the CA starts with a root of its own; "
                "replace it later",
                format_duration(change.at),
            )


def _check_roots_last(scenario: Scenario) -> Iterator[Finding]:
    """With no re-issue or rotation, each root an operator puts in must
    come before the root it replaces expires, and the last must outlast
    the run: a lapsed root makes the CA refuse every CSR."""
    life = scenario.pki.root_ttl
    expires = life
    replacements = sorted(
        enumerate(scenario.ca.root_rotations), key=lambda r: r[1].at
    )
    for index, change in replacements:
        if change.at >= expires:
            yield Finding(
                ("ca", "root_rotations", index, "at"),
                f"must be before the root it replaces expires, at "
                f"{format_duration(expires)} (pki.root_ttl after the root "
                "is made)",
                format_duration(change.at),
                (("pki", "root_ttl"),),
            )
        expires = change.at + life
    if scenario.duration <= expires:
        return
    if not replacements:
        yield Finding(
            ("duration",),
            f"outlasts the root, which expires at "
            f"{format_duration(expires)} (pki.root_ttl) and is never "
            "replaced; set ca.rotation, ca.root_reissue_at or "
            "ca.root_rotations, or a longer root_ttl",
            format_duration(scenario.duration),
            (("pki", "root_ttl"), ("ca",)),
        )
    else:
        last = format_duration(replacements[-1][1].at)
        yield Finding(
            ("duration",),
            f"outlasts the root put in by the last of ca.root_rotations "
            f"(at {last}), which expires at {format_duration(expires)} "
            "(pki.root_ttl after it is made); add a later one, set "
            "ca.rotation or ca.root_reissue_at, or a longer root_ttl",
            format_duration(scenario.duration),
            (("pki", "root_ttl"), ("ca",)),
        )


def _check_ca_lifetimes(scenario: Scenario) -> Iterator[Finding]:
    """CA certificates must last a whole second, and may not be due for
    re-issue or replacement the moment they are made (each new one would
    be too, at the same simulated instant, for ever)."""
    ca = scenario.ca
    lifetimes = (
        (("pki", "root_ttl"), scenario.pki.root_ttl),
        (("ca", "intermediate_ttl"), ca.intermediate_ttl),
    )
    for path, ttl in lifetimes:
        if ttl is not None and ttl < _WHOLE_SECOND:
            yield Finding(
                path,
                "must be at least 1s: X.509 validity counts whole seconds",
                format_duration(ttl),
            )

    root_ttl = scenario.pki.root_ttl
    root_life = root_ttl - _WHOLE_SECOND
    reissue_at = ca.root_reissue_at
    if (
        reissue_at is not None
        and root_ttl >= _WHOLE_SECOND
        and (1.0 - reissue_at) * root_life <= _WHOLE_SECOND
    ):
        bound = 1.0 - _WHOLE_SECOND / root_life if root_life > 0 else 0.0
        yield Finding(
            ("ca", "root_reissue_at"),
            f"{_fraction_rule('below', bound)}"
            f": with pki.root_ttl {format_duration(root_ttl)}, a root "
            "would be due for re-issue the moment it is made",
            reissue_at,
            (("pki", "root_ttl"),),
        )

    signer_key: KeyPath = (
        ("ca", "intermediate_ttl")
        if ca.intermediate_ttl
        else ("pki", "root_ttl")
    )
    signer = format_path(signer_key)
    signer_ttl = ca.intermediate_ttl or root_ttl
    rotation = ca.rotation
    signer_life = signer_ttl - _WHOLE_SECOND
    if (
        rotation is not None
        and signer_ttl >= _WHOLE_SECOND
        and rotation.activate_at * signer_life <= _WHOLE_SECOND
    ):
        bound = _WHOLE_SECOND / signer_life if signer_life > 0 else 1.0
        yield Finding(
            ("ca", "rotation", "activate_at"),
            f"{_fraction_rule('above', bound)}: "
            f"with {signer} {format_duration(signer_ttl)}, a signing CA "
            "would be replaced the moment it is made",
            rotation.activate_at,
            (signer_key,),
        )


def _fraction_rule(side: str, bound: float) -> str:
    """``must be below 0.99`` (or above), or, when no fraction between 0
    and 1 is, that none will do."""
    if not 0.0 < bound < 1.0:
        return "cannot be met by any fraction"
    # rounded away from the values refused, so that none of them reads
    # as allowed, to four digits or as many more as come within 1% of
    # the bound's distance to 0 or 1 (0.9999999968, not 1 or 0.9999)
    exact = Decimal(bound)
    rounding = ROUND_FLOOR if side == "below" else ROUND_CEILING
    near = min(exact, 1 - exact) / 100
    for digits in range(4, 18):
        step = Decimal(1).scaleb(exact.adjusted() - digits + 1)
        shown = exact.quantize(step, rounding=rounding).normalize()
        if abs(shown - exact) <= near:
            break
    return f"must be {side} {float(shown)!r}"


def _check_clocks(mesh: Mesh) -> Iterator[Finding]:
    first: dict[str, int] = {}
    for index, entry in enumerate(mesh.clock_skew.offsets):
        if not _in_range(entry.node, "node", mesh.nodes):
            yield Finding(
                ("mesh", "clock_skew", "offsets", index, "node"),
                f"not in the mesh (node-0 … node-{mesh.nodes - 1})",
                entry.node,
                (("mesh", "nodes"),),
            )
        elif entry.node in first:
            # one clock per node: a second offset would silently win
            yield Finding(
                ("mesh", "clock_skew", "offsets", index, "node"),
                f"already given an offset by "
                f"mesh.clock_skew.offsets[{first[entry.node]}]",
                entry.node,
            )
        else:
            first[entry.node] = index


def class_traffic_blockers(scenario: Scenario) -> list[str]:
    """What makes a node's view of a credential differ from another's, so
    traffic cannot be counted per service and standing."""
    blockers = []
    skew = scenario.mesh.clock_skew
    if skew.uniform or skew.normal or any(o.offset for o in skew.offsets):
        blockers.append("mesh.clock_skew")
    if scenario.ca.bundle_delay:
        blockers.append("ca.bundle_delay")
    if any(a.kind == "mitm" for a in scenario.attacks):
        blockers.append("a mitm attack")
    return blockers


def _check_traffic(scenario: Scenario) -> Iterator[Finding]:
    blockers = class_traffic_blockers(scenario)
    if scenario.traffic.detail == "classes" and blockers:
        yield Finding(
            ("traffic", "detail"),
            "'classes' needs every node to see credentials alike; "
            f"remove {' and '.join(blockers)} or use 'pairs'",
            "classes",
            (("mesh", "clock_skew"), ("ca", "bundle_delay"), ("attacks",)),
        )
