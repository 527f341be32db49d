"""Rules for worlds the simulator can run.

The schema and the rules across keys say what a scenario means; the rules
here say whether meshsim can simulate it:

- a theft must target a node where a pod runs, and an on-path attacker
  one where something calls: pods are dealt to nodes in turn, so node
  ``i`` runs a pod only if ``i < workloads``, and outside caller ``j``
  sits on node ``j mod nodes``;
- a key or token theft that names its ``workload`` must find it on its
  node; where a pod runs depends on the seed, so placement is computed
  with the topology's own function, the same way a run computes it;
- certificates are dated by X.509, in whole seconds from 1950 to 9999;
- the CA's name, made from the trust domain, is an X.509 common name
  of at most 64 characters;
- connection counts must stay exact in 64-bit integers and floats.

They run on a scenario that passed every other rule (placement needs valid
counts and seed), so a file reports them once its other problems are fixed.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Final

import numpy as np

from meshsim.mesh.topology import build_topology
from meshsim.scenario.durations import format_duration
from meshsim.scenario.overrides import override_source
from meshsim.scenario.problems import (
    KeyPath,
    Problem,
    ScenarioError,
    format_path,
)
from meshsim.scenario.rules import Finding
from meshsim.scenario.schema import MAX_COUNT, Scenario

__all__ = [
    "FIRST_X509_TIME",
    "LAST_X509_TIME",
    "MAX_CHURNED",
    "MAX_COMMON_NAME",
    "MAX_CONNECTIONS",
    "MIN_WORKLOAD_TTL",
    "check_runnable",
    "pod_placement",
    "require_runnable",
]

FIRST_X509_TIME: Final = dt.datetime(1950, 1, 1, tzinfo=dt.UTC)
"""The earliest NotBefore the X.509 library meshsim uses will write."""

LAST_X509_TIME: Final = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
"""The last second a GeneralizedTime (and a Python datetime) can hold."""

MIN_WORKLOAD_TTL: Final = 1.0
"""X.509 validity is written in whole seconds (RFC 5280, 4.1.2.5)."""

MAX_COMMON_NAME: Final = 64
"""Longest X.509 common name (RFC 5280, ub-common-name)."""

MAX_CONNECTIONS: Final = 10**15
"""Most connections a run may expect: counts stay exact in int64 and in
float64 (2**53 is about 9.007e15)."""

MAX_CHURNED: Final = 2_000_000
"""Most churned pods a run may expect: each leaves a CSR and a rotation
or more (about 3 KiB here: 100,000 short-lived pods took 416 MB), and
each alive holds an agent and a pod (about 2 KiB more)."""

# NOTE: how far before and after the run meshsim dates certificates: the
# CA's root and forged certificates start up to a day before their time
# (mesh/ca.py, attack/mitm.py), a rogue CA's lasts ten years. These
# margins follow those constants; they can go when the core exposes them.
_REACH_BACK_S: Final = 86_400.0
_REACH_AHEAD_S: Final = 3650 * 86_400.0

_PODS_SHOWN: Final = 4

_STEALING: Final = ("key-theft", "token-theft")
"""Attacks that copy a pod's secrets, so need a pod on their node."""


def check_runnable(scenario: Scenario) -> list[Finding]:
    """Every rule of a runnable world that ``scenario`` breaks."""
    return [
        *_check_targets(scenario),
        *_check_dates(scenario),
        *_check_sizes(scenario),
    ]


def require_runnable(
    scenario: Scenario,
    source: str,
    lines: Mapping[KeyPath, int] | None = None,
    origins: Mapping[KeyPath, str] | None = None,
) -> None:
    """Raise ``ScenarioError`` if meshsim cannot run ``scenario``.

    ``lines`` and ``origins`` place each problem on the line that wrote
    its key, or on the override that set it, as the other rules do.
    """
    problems = [
        _locate(f, source, lines or {}, origins or {})
        for f in check_runnable(scenario)
    ]
    if problems:
        raise ScenarioError(problems)


def pod_placement(seed: int, nodes: int, workloads: int) -> tuple[int, ...]:
    """The node index of each pod, as a run with ``seed`` places them."""
    return _placement(seed, nodes, workloads)


@lru_cache(maxsize=8)
def _placement(seed: int, nodes: int, workloads: int) -> tuple[int, ...]:
    # NOTE: a run draws its topology from the first stream spawned from the
    # seed (simulation.py), and placement is the topology's first draw;
    # the call graph and accounts, drawn later, are left out to keep this
    # cheap. tests/scenario/test_runnable.py checks it against real runs;
    # this can go when the core exposes the placement of a scenario.
    stream = np.random.SeedSequence(seed).spawn(1)[0]
    topology = build_topology(
        trust_domain="placement.invalid",
        nodes=nodes,
        workloads=workloads,
        service_accounts=1,
        namespaces=1,
        calls_per_service=0,
        outside=0,
        rng=np.random.Generator(np.random.PCG64(stream)),
    )
    return tuple(pod.node for pod in topology.pods)


def _index(name: str, prefix: str) -> int | None:
    """``3`` for ``node-3``; None for any other text."""
    head, dash, digits = name.rpartition("-")
    if head != prefix or not dash or not digits.isdecimal():
        return None
    if digits != "0" and digits.startswith("0"):
        return None
    return int(digits)


def _span(prefix: str, count: int) -> str:
    last = count - 1
    return f"{prefix}-0" if last == 0 else f"{prefix}-0 … {prefix}-{last}"


def _check_targets(scenario: Scenario) -> Iterator[Finding]:
    mesh = scenario.mesh
    counts: tuple[KeyPath, ...] = (("mesh", "nodes"), ("mesh", "workloads"))
    for index, attack in enumerate(scenario.attacks):
        here: KeyPath = ("attacks", index)
        node = _index(attack.node, "node")
        if node is None or node >= mesh.nodes:
            continue  # the rules across keys report it
        steals = attack.kind in _STEALING

        # A theft needs a pod on the node; an on-path attacker at least
        # an outside caller. (An impersonating node agent needs nothing.)
        if node >= mesh.workloads:
            pods = f"{mesh.workloads} pods fill {_span('node', mesh.workloads)}"
            if steals:
                rule = f"runs no pod to compromise ({pods})"
                yield Finding((*here, "node"), rule, attack.node, counts)
            elif attack.kind == "mitm" and node >= mesh.outside:
                rule = (
                    f"runs no pod and no outside caller ({pods}); "
                    "the attacker would see no connection"
                )
                also = (*counts, ("mesh", "outside"))
                yield Finding((*here, "node"), rule, attack.node, also)
            continue

        # A named pod must run there with this seed (a node agent holds
        # every pod's secrets, so it ignores the name).
        workload = getattr(attack, "workload", None)
        if not steals or mesh.agent != "per-workload" or workload is None:
            continue
        pod = _index(workload, "pod")
        if pod is None or pod >= mesh.workloads:
            continue  # the rules across keys report it
        placed = _placement(scenario.seed, mesh.nodes, mesh.workloads)
        if placed[pod] != node:
            there = [f"pod-{p}" for p, n in enumerate(placed) if n == node]
            shown = ", ".join(there[:_PODS_SHOWN])
            if len(there) > _PODS_SHOWN:
                shown += ", …"
            rule = (
                f"does not run on {attack.node} with seed {scenario.seed} "
                f"(it runs on node-{placed[pod]}; {attack.node} runs "
                f"{shown})"
            )
            depends = (("seed",), *counts, (*here, "node"))
            yield Finding((*here, "workload"), rule, workload, depends)


def _check_dates(scenario: Scenario) -> Iterator[Finding]:
    pki = scenario.pki
    start = scenario.start_time
    shown = _show_time(start)

    # The earliest date written: a backdate before the start.
    reach_back = max(pki.backdate, _REACH_BACK_S)
    if (start - FIRST_X509_TIME).total_seconds() < reach_back:
        yield Finding(
            ("start_time",),
            f"must be at least {format_duration(reach_back)} after "
            f"{_show_time(FIRST_X509_TIME)}, the first X.509 date: "
            "certificates are dated back that far (the longer of "
            f"pki.backdate and {format_duration(_REACH_BACK_S)})",
            shown,
            (("pki", "backdate"),),
        )

    # The latest: a root, or a forged CA, made at the end of the run, or
    # the clock of a node that runs ahead.
    skew_ahead, skew_key, skew_value = _skew_ahead(scenario)
    ahead = max(pki.root_ttl, _REACH_AHEAD_S, skew_ahead)
    reach_ahead = scenario.duration + ahead
    room = (LAST_X509_TIME - start).total_seconds()
    span = scenario.duration
    if room < reach_ahead and skew_ahead == ahead:
        # the clock skew asked for is what reaches past the last date
        yield Finding(
            skew_key,
            f"puts a node's clock up to {format_duration(skew_ahead)} ahead "
            f"(uniform + 10 x normal, or an offset), past "
            f"{_show_time(LAST_X509_TIME)}, the last X.509 date, within "
            f"the run: at most {format_duration(max(room - span, 0))} from "
            f"start_time {shown} and duration "
            f"{format_duration(scenario.duration)}",
            format_duration(skew_value),
            (("start_time",), ("duration",)),
        )
    elif room < reach_ahead:
        yield Finding(
            ("start_time",),
            f"must be at least {format_duration(reach_ahead)} before "
            f"{_show_time(LAST_X509_TIME)}, the last X.509 date: "
            "certificates and clocks may reach that far (duration + the "
            f"longest of pki.root_ttl, {format_duration(_REACH_AHEAD_S)} "
            "(a rogue CA's life) and how far a node's clock runs ahead)",
            shown,
            (("duration",), ("pki", "root_ttl"), ("mesh", "clock_skew")),
        )


def _skew_ahead(scenario: Scenario) -> tuple[float, KeyPath, float]:
    """How far ahead of true time a node's clock may run, and the key
    that sets it most, with its value."""
    skew = scenario.mesh.clock_skew
    here: KeyPath = ("mesh", "clock_skew")
    # a normal draw beyond ten standard deviations does not happen
    ahead = skew.uniform + 10 * skew.normal
    key: KeyPath = (*here, "uniform")
    value = skew.uniform
    if 10 * skew.normal >= skew.uniform:
        key, value = (*here, "normal"), skew.normal
    for index, offset in enumerate(skew.offsets):
        if offset.offset > ahead:
            ahead, value = offset.offset, offset.offset
            key = (*here, "offsets", index, "offset")
    return ahead, key, value


def _check_sizes(scenario: Scenario) -> Iterator[Finding]:
    mesh, pki = scenario.mesh, scenario.pki
    if pki.workload_ttl < MIN_WORKLOAD_TTL:
        yield Finding(
            ("pki", "workload_ttl"),
            "must be at least 1s: X.509 validity counts whole seconds",
            format_duration(pki.workload_ttl),
        )

    # NOTE: the CA's certificates are named "<trust domain> root" and
    # "<trust domain> intermediate" (pki/authority.py, mesh/ca.py), and a
    # common name holds at most 64 characters (RFC 5280, ub-common-name).
    # This rule can go if the CA's name stops carrying the trust domain.
    intermediate = scenario.ca.intermediate_ttl is not None
    suffix = " intermediate" if intermediate else " root"
    longest = MAX_COMMON_NAME - len(suffix)
    if len(mesh.trust_domain) > longest:
        uses = (("ca", "intermediate_ttl"),) if intermediate else ()
        yield Finding(
            ("mesh", "trust_domain"),
            f"must be at most {longest} characters: the CA's certificate "
            f"is named '<trust_domain>{suffix}', an X.509 common name of "
            f"at most {MAX_COMMON_NAME}",
            mesh.trust_domain,
            uses,
        )

    callers = mesh.workloads + mesh.outside
    expected = scenario.traffic.rate * callers * scenario.duration
    if expected > MAX_CONNECTIONS:
        yield Finding(
            ("traffic", "rate"),
            f"expects {_how_many(expected)} connections in the run (rate * "
            "(mesh.workloads + mesh.outside) * duration); at most "
            f"{MAX_CONNECTIONS:.0e} can be counted exactly",
            scenario.traffic.rate,
            (("mesh", "workloads"), ("mesh", "outside"), ("duration",)),
        )

    churn = mesh.churn
    if churn is None:
        return
    arrivals = churn.rate * scenario.duration
    alive = churn.rate * min(churn.lifetime, scenario.duration)
    if arrivals > MAX_CHURNED:
        yield Finding(
            ("mesh", "churn", "rate"),
            f"expects {arrivals:.3g} churned pods in the run (rate * "
            f"duration); at most {MAX_CHURNED:,}",
            churn.rate,
            (("duration",),),
        )
    elif alive > MAX_COUNT:
        yield Finding(
            ("mesh", "churn", "lifetime"),
            f"expects {alive:.3g} churned pods alive at once (rate * "
            f"lifetime, or duration when shorter); at most {MAX_COUNT:,}, "
            "as many as mesh.workloads may hold",
            format_duration(churn.lifetime),
            (("mesh", "churn", "rate"), ("duration",)),
        )


def _show_time(when: dt.datetime) -> str:
    text = when.isoformat()
    if when.utcoffset() == dt.timedelta(0):
        text = text.removesuffix("+00:00") + "Z"
    return text


def _locate(
    finding: Finding,
    source: str,
    lines: Mapping[KeyPath, int],
    origins: Mapping[KeyPath, str],
) -> Problem:
    """Place a finding on the first of its keys an override set, or else
    the first the file wrote: an override is the latest change, and the
    likelier to have broken a rule across keys."""
    shown = format_path(finding.path)
    keys = (finding.path, *finding.depends)
    for key in keys:
        for depth in range(len(key), 0, -1):
            if key[:depth] in origins:
                where = override_source(origins[key[:depth]])
                return Problem(where, None, shown, finding.rule, finding.value)
    for key in keys:
        for depth in range(len(key), 0, -1):
            if key[:depth] in lines:
                line = lines[key[:depth]]
                return Problem(source, line, shown, finding.rule, finding.value)
    return Problem(source, None, shown, finding.rule, finding.value)


def _how_many(count: float) -> str:
    """``2.5e+16``, or words for a count too large for a float."""
    return f"{count:.3g}" if math.isfinite(count) else "more than 1e+308"
