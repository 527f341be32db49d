"""The simulator against closed forms of its own model.

Each comparison runs scenarios built for it and sets the simulated figure
beside the formula it should reproduce, with the tolerance it must meet
and why that tolerance:

- steady CSR rate ``N / (r T)``, per pod and deduplicated per node;
- mean attack window of a one-shot key theft at a uniformly random time,
  ``T (1 - r / 2)`` and the second of NotAfter, when the stolen chain is
  still accepted;
- the longest CA outage survived without expiry, ``T (1 - r)``;
- mean CA queue wait for Poisson arrivals (churn): against Erlang C
  with exponential service on ``c`` workers (M/M/c), and against
  Pollaczek-Khinchine with the fixed service of real runs on one
  (M/D/1).

Here ``T`` is the certificate lifetime and ``r`` the fraction of it
elapsed at renewal (``1 - grace_ratio``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from meshsim.metrics.tables import answered_csrs
from meshsim.runner import Run, run_scenario
from meshsim.scenario import parse_scenario

__all__ = ["Comparison", "compare_all", "erlang_c", "pollaczek_khinchine"]

_HOUR = 3600.0


@dataclass(frozen=True)
class Comparison:
    """A simulated figure beside its closed form."""

    name: str
    formula: str
    expected: float
    simulated: float
    tolerance: float
    unit: str
    why: str

    @property
    def error(self) -> float:
        """Relative difference, simulated against expected."""
        return abs(self.simulated - self.expected) / abs(self.expected)

    @property
    def passed(self) -> bool:
        """Whether the relative difference is within the tolerance."""
        return self.error <= self.tolerance


def erlang_c(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Mean wait in queue of an M/M/c queue (Erlang C)."""
    load = arrival_rate / service_rate
    if load >= servers:
        raise ValueError(
            f"arrival_rate: {arrival_rate:g} saturates {servers} servers"
        )
    below = sum(load**k / math.factorial(k) for k in range(servers))
    top = load**servers / math.factorial(servers) / (1 - load / servers)
    waiting = top / (below + top)
    return waiting / (servers * service_rate - arrival_rate)


def compare_all(seed: int = 1, quick: bool = False) -> list[Comparison]:
    """Every comparison; ``quick`` runs smaller scenarios (for tests)."""
    return [
        steady_csr_rate(seed, quick, per_node=False),
        steady_csr_rate(seed, quick, per_node=True),
        key_theft_window(seed, quick),
        survivable_outage(seed),
        queue_wait(seed, quick, "exponential"),
        queue_wait(seed, quick, "fixed"),
    ]


def _run(text: str, *overrides: str) -> Run:
    return run_scenario(parse_scenario(text, "validation", overrides))


_MESH = """
name: validation
seed: {seed}
duration: {duration}
mesh: {{nodes: 20, workloads: {workloads}, service_accounts: 40,
        agent: {agent}}}
pki: {{workload_ttl: 1h, grace_ratio: 0.5, jitter: 0.01, crypto: modeled}}
ca: {{workers: 4, sign_time: 1ms}}
traffic: {{rate: 0}}
"""


def steady_csr_rate(seed: int, quick: bool, per_node: bool) -> Comparison:
    """CSRs per hour once every pod is renewing: N / (r T).

    Node agents renew at g = 0.3 (r = 0.7), pods at g = 0.5, so that a
    renewal point taken from the wrong end of the lifetime (g for r)
    fails one of the two.
    """
    workloads = 200 if quick else 1000
    grace = 0.3 if per_node else 0.5
    elapsed = 1 - grace
    run = _run(
        _MESH.format(
            seed=seed,
            duration="10h",
            workloads=workloads,
            agent="per-node" if per_node else "per-workload",
        ),
        f"pki.grace_ratio={grace:g}",
    )

    # Count over ten renewal periods from halfway between two renewals,
    # where no jittered renewal falls near either end.
    csrs = answered_csrs(run.tables.csrs)
    period = elapsed * _HOUR
    start, end = 3.5 * period, 13.5 * period
    settled = csrs[(csrs["submitted_s"] >= start) & (csrs["submitted_s"] < end)]
    simulated = len(settled) / ((end - start) / _HOUR)
    if per_node:
        holders = len({(p.node, p.account) for p in run.result.topology.pods})
        name, formula = "steady CSR rate, per node", "S_node / (r T)"
    else:
        holders = workloads
        name, formula = "steady CSR rate, per pod", "N / (r T)"
    return Comparison(
        name=name,
        formula=formula,
        expected=holders / (elapsed * 1.0),
        simulated=simulated,
        tolerance=0.03,
        unit="CSRs/h",
        why="renewals on a schedule, not random arrivals: jitter ±1% and "
        "1 ms signing shift the count <1%",
    )


def key_theft_window(seed: int, quick: bool) -> Comparison:
    """Mean window of keys stolen at uniformly random times: T(1 - r/2),
    and NotAfter's own second."""
    rng = np.random.default_rng(seed)
    thefts = 120 if quick else 400
    starts = rng.uniform(2 * _HOUR, 22 * _HOUR, thefts)
    nodes = rng.integers(0, 20, thefts)
    attacks = ", ".join(
        f"{{kind: key-theft, start: {start:.3f}s, node: node-{node}}}"
        for start, node in zip(starts, nodes, strict=True)
    )
    run = _run(
        _MESH.format(
            seed=seed, duration="24h", workloads=200, agent="per-node"
        ),
        f"attacks=[{attacks}]",
    )
    windows = run.tables.attack_windows
    hours = windows["duration_s"] / _HOUR

    # Keys on one node renew almost together, so the windows of one theft
    # move together: the standard error is that of the per-theft means.
    per_theft = hours.groupby(windows["attack"]).mean()
    spread = float(per_theft.std() / math.sqrt(len(per_theft)))
    return Comparison(
        name="key-theft window, mean",
        formula="T (1 - r/2) + 1 s",
        expected=1.0 * (1 - 0.5 / 2) + 1 / _HOUR,
        simulated=float(hours.mean()),
        tolerance=4 * spread / 0.75,
        unit="h",
        why=f"4 standard errors over {len(per_theft)} thefts",
    )


def survivable_outage(seed: int) -> Comparison:
    """The longest outage with no expiry, starting just before renewals."""
    backoff = 5.0

    def expires(length: float) -> bool:
        run = _run(
            _MESH.format(
                seed=seed, duration="2h", workloads=20, agent="per-workload"
            ),
            "pki.jitter=0",
            "mesh.service_accounts=10",
            "traffic.rate=0.05",
            f"agent.backoff_max={backoff:g}s",
            f"ca.outages=[{{start: 1799s, duration: {length:.3f}s}}]",
        )
        return bool(run.summary["handshakes"]["by_outcome"]["expired"])

    # Bisect the outage length between one that is survived and one not.
    low, high = 60.0, 3500.0
    halvings = 10
    step = (high - low) / 2**halvings
    for _ in range(halvings):
        middle = (low + high) / 2
        if expires(middle):
            high = middle
        else:
            low = middle
    return Comparison(
        name="longest outage survived",
        formula="T (1 - r)",
        expected=1800.0,
        simulated=low,
        tolerance=(backoff + step) / 1800.0,
        unit="s",
        why=f"one backoff ({backoff:g} s) plus the bisection step "
        f"({step:.1f} s)",
    )


def pollaczek_khinchine(arrival_rate: float, service_s: float) -> float:
    """Mean wait in queue of an M/D/1 queue (fixed service time)."""
    load = arrival_rate * service_s
    if load >= 1:
        raise ValueError(f"arrival_rate: {arrival_rate:g} saturates one server")
    return load * service_s / (2 * (1 - load))


def queue_wait(seed: int, quick: bool, service: str) -> Comparison:
    """Mean CA wait with churn (Poisson CSRs) against Erlang C on two
    workers (``service`` exponential) or Pollaczek-Khinchine on one
    (fixed).

    Pods live 100h on average, so hardly any is deleted while its CSR is
    queued (which would cancel it) and, with 90d certificates, none
    renews within the run: the CA sees the Poisson arrivals alone.
    """
    hours = 150 if quick else 600
    fixed = service == "fixed"
    workers = 1 if fixed else 2
    sign_s = 30.0 if fixed else 60.0
    arrivals = 1 / 60.0
    run = _run(
        f"""
name: queue
seed: {seed}
duration: {hours}h
mesh: {{nodes: 2, workloads: 1, service_accounts: 1, namespaces: 1,
        calls_per_service: 0, churn: {{rate: {arrivals}, lifetime: 100h}}}}
pki: {{workload_ttl: 90d, crypto: modeled}}
ca: {{workers: {workers}, sign_time: {sign_s:g}s, service: {service}}}
traffic: {{rate: 0}}
"""
    )
    waits = answered_csrs(run.tables.csrs)["wait_s"]
    if fixed:
        name = "CA queue wait, mean (M/D/1, load 0.5)"
        formula = "Pollaczek-Khinchine"
        expected = pollaczek_khinchine(arrivals, sign_s)
    else:
        name = "CA queue wait, mean (M/M/2, load 0.5)"
        formula = "Erlang C"
        expected = erlang_c(2, arrivals, 1 / sign_s)
    return Comparison(
        name=name,
        formula=formula,
        expected=expected,
        simulated=float(waits.mean()),
        tolerance=0.25 if quick else 0.12,
        unit="s",
        why=f"{len(waits)} CSRs; waits are correlated, so wider than SE",
    )
