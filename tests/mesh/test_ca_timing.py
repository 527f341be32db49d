"""When the CA's hierarchy changes and when it can be reached, to the
second: outages, SPIRE's prepare and activate, Istio's root re-issue,
the retirement of a replaced root and operator swaps under an
intermediate.

Some tests run a CA alone (:func:`lone_ca`), recording each bundle it
publishes with the time, where a whole run would show a change only
through the handshakes it breaks; the others run small meshes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest
import simpy

from meshsim.clock import SimClock
from meshsim.identity import workload_spiffe_id
from meshsim.mesh.ca import CaServer
from meshsim.mesh.ca_policy import CaPolicy, Outage
from meshsim.mesh.crypto import Crypto
from meshsim.mesh.tokens import ServiceAccountToken
from meshsim.metrics.records import Recorder

HOUR = 3600.0
TRUST_DOMAIN = "example.org"
KEY = "ecdsa-p256"


def lone_ca(**settings: Any) -> tuple[simpy.Environment, CaServer, list]:
    """A CA with modeled crypto and no mesh, its processes started, and
    the list of ``(time, roots)`` it publishes."""
    env = simpy.Environment()
    clock = SimClock(datetime(2026, 1, 1, tzinfo=UTC))
    recorder = Recorder()
    rng = np.random.default_rng(0)
    crypto = Crypto("modeled", recorder.crypto, rng, KEY, TRUST_DOMAIN, clock)
    policy = CaPolicy(
        **{
            "trust_domain": TRUST_DOMAIN,
            "key_algorithm": KEY,
            "root_ttl_s": 24 * HOUR,
            "workload_ttl_s": HOUR,
            "max_workload_ttl_s": 24 * HOUR,
            "backdate_s": 10.0,
            "workers": 1,
            "sign_time_s": 0.001,
            **settings,
        }
    )
    published: list[tuple[float, tuple[Any, ...]]] = []
    ca = CaServer(
        env,
        clock,
        recorder,
        crypto,
        rng,
        policy,
        lambda roots: published.append((env.now, roots)),
    )
    ca.start()
    return env, ca, published


def made_at(ca: CaServer, certificate: Any) -> float:
    """When a CA certificate was made: its NotBefore is an hour earlier
    (docs/models.md, CA: root; intermediates likewise)."""
    return ca.clock.to_seconds(certificate.not_valid_before_utc) + HOUR


def not_after(ca: CaServer, certificate: Any) -> float:
    return ca.clock.to_seconds(certificate.not_valid_after_utc)


# --- outages: [start, end) ------------------------------------------------


@pytest.fixture
def outage_of_the_first_second(small, simulate):
    """16 pods ask at 0 s, during an outage of [0 s, 1 s); each retries
    after backoff_initial = 1 s (no jitter), exactly as the CA returns."""
    return simulate(
        small(
            "ca.outages=[{start: 0s, duration: 1s}]",
            "duration=10s",
            "traffic.rate=0",
            "attacks=[]",
            "pki.crypto=modeled",
        )
    )


def test_a_csr_at_an_outage_s_start_is_unreachable(outage_of_the_first_second):
    # docs/models.md, CA outage: "during ca.outages a CSR fails at once";
    # the outage starts at 0, so each pod's first CSR, at 0, fails
    csrs = outage_of_the_first_second.tables.csrs
    first = csrs[csrs["submitted_s"] == 0.0]

    assert len(first) == 16
    assert set(first["outcome"]) == {"unreachable"}
    assert outage_of_the_first_second.summary["ca"]["csr_unreachable"] == 16


def test_a_csr_at_an_outage_s_end_reaches_the_ca(outage_of_the_first_second):
    # an outage is the half-open span [start, start + duration)
    # (ca_policy.Outage; docs/scenario.md ca.outages): the retries at
    # exactly 1 s find the CA back and are signed
    csrs = outage_of_the_first_second.tables.csrs
    retried = csrs[csrs["submitted_s"] > 0.0]

    assert len(retried) == 16
    assert (retried["submitted_s"] == 1.0).all()
    assert set(retried["outcome"]) == {"issued"}


def test_reachability_is_false_from_an_outage_s_start_to_just_before_its_end():
    # Outage [1h, 2h): reachable before 1h and again from 2h on
    _, ca, _ = lone_ca(outages=(Outage(HOUR, 2 * HOUR),))

    assert ca.reachable(HOUR - 0.001)
    assert not ca.reachable(HOUR)
    assert not ca.reachable(2 * HOUR - 0.001)
    assert ca.reachable(2 * HOUR)


# --- CSRs a worker takes up as their caller goes or the run ends ----------


def test_a_csr_cancelled_as_a_worker_takes_it_up_keeps_start_and_service():
    # One worker taking 40 s a CSR: the first CSR is signed from 0 to
    # 40 s, the second is taken up at 40 s, and its caller goes at that
    # same instant. docs/models.md (simplifications): a cancelled CSR's
    # row has "a start if a worker had taken it up", and one cancelled
    # while being signed keeps its worker and its service time (40 s).
    env, ca, _ = lone_ca(sign_time_s=40.0, cancellable=True)
    token = ServiceAccountToken("ns-0", "sa-0")
    key = ca.crypto.new_key(KEY)
    csr, size = ca.crypto.csr(
        key, workload_spiffe_id(TRUST_DOMAIN, "ns-0", "sa-0")
    )

    signed = ca.recorder.crypto.count.get("ca-sign", 0)

    def call(agent: str) -> Generator[simpy.Event, Any, Any]:
        return (yield from ca.serve_csr(agent, token, csr, size))

    first = env.process(call("first"))
    second = env.process(call("second"))

    def delete_when_first_is_answered() -> Generator[simpy.Event, Any, None]:
        yield first  # answered at 40 s; its worker is given back
        # still at 40 s, once the worker has taken up the second CSR (the
        # hand-over is an event of this same instant, processed first)
        yield env.timeout(0)
        assert env.now == 40.0
        second.interrupt("pod deleted")
        with contextlib.suppress(simpy.Interrupt):
            yield second  # its call is dropped

    env.process(delete_when_first_is_answered())
    env.run(until=100.0)
    ca.crypto.settle()  # modeled costs are drawn in blocks

    csrs = pd.DataFrame(ca.recorder.csrs.frame_data()).set_index("agent")
    assert csrs["outcome"].to_dict() == {
        "first": "issued",
        "second": "cancelled",
    }
    assert csrs.loc["second", "submitted_s"] == 0.0
    assert csrs.loc["second", "started_s"] == 40.0
    assert csrs.loc["second", "finished_s"] == 40.0
    assert csrs.loc["second", "service_s"] == 40.0
    # its signature was made as it was taken up: two CSRs signed
    assert ca.recorder.crypto.count["ca-sign"] - signed == 2


@pytest.mark.parametrize(
    "queue",
    [
        [],  # the heap of free times
        # churned pods may leave, so CSRs queue in a simpy.Resource
        ["mesh.churn={rate: 0.000001, lifetime: 1h}"],
    ],
    ids=["heap", "resource"],
)
def test_a_csr_a_worker_would_take_up_as_the_run_ends_has_no_start(
    small, simulate, queue
):
    # 16 first CSRs at 0 s, one worker of 40 s: the 16th would be taken
    # up at 15 * 40 s = 600 s, the run's end, which stops before it is.
    # docs/models.md (csrs): an unanswered CSR has a start only if a
    # worker had taken it up, and its signature is then booked.
    run = simulate(
        small(
            "duration=600s",
            "ca.sign_time=40s",
            "pki.crypto=modeled",
            "traffic.rate=0",
            *queue,
        )
    )
    csrs = run.tables.csrs
    signed = run.summary["rotation"]["operations"]["ca-sign"]["count"]

    assert list(csrs["started_s"].tail(2).fillna(-1)) == [560.0, -1]
    assert list(csrs["outcome"].tail(2)) == ["unanswered", "unanswered"]
    assert csrs["started_s"].notna().sum() == signed == 15


def test_a_queued_csr_is_judged_when_a_worker_takes_it_up() -> None:
    # one 40 s worker: the second CSR is taken up at 40 s, when its
    # token (expiring at 20 s) has expired; the CA authenticates then,
    # not on arrival (serve_csr: queue, then authenticate and sign)
    env, ca, _ = lone_ca(sign_time_s=40.0)
    key = ca.crypto.new_key(KEY)
    csr, size = ca.crypto.csr(
        key, workload_spiffe_id(TRUST_DOMAIN, "ns-0", "sa-0")
    )
    tokens = {
        "first": ServiceAccountToken("ns-0", "sa-0"),
        "second": ServiceAccountToken("ns-0", "sa-0", expires_s=20.0),
    }
    for agent, token in tokens.items():
        env.process(ca.serve_csr(agent, token, csr, size))

    env.run(until=100.0)

    csrs = pd.DataFrame(ca.recorder.csrs.frame_data()).set_index("agent")
    assert csrs["outcome"].to_dict() == {
        "first": "issued",
        "second": "token-expired",
    }
    assert csrs.loc["second", "started_s"] == 40.0


# --- SPIRE: next CA prepared at 1/2, activated at 5/6 ---------------------


def spire_ca() -> tuple[simpy.Environment, CaServer, list]:
    # docs/models.md, profile spire: server CA of 24h, next prepared (and
    # published) at 1/2 and activated at 5/6 of its life
    return lone_ca(root_ttl_s=24 * HOUR, rotation=(0.5, 5 / 6))


def test_spire_publishes_the_next_ca_at_half_the_life_of_the_current():
    # The CA made at 0 lives to 24h (its life runs from when it is made,
    # not from its NotBefore an hour earlier): the next is made and
    # published at 12h exactly, beside the current one.
    env, ca, published = spire_ca()
    first = ca.hierarchy.active.root

    env.run(until=12 * HOUR)
    assert published == []
    env.run(until=12 * HOUR + 0.001)

    assert [when for when, _ in published] == [12 * HOUR]
    roots = published[0][1]
    assert len(roots) == 2
    assert roots[0] is first
    assert made_at(ca, roots[1]) == 12 * HOUR
    assert not_after(ca, roots[1]) == 36 * HOUR


def test_spire_activates_the_next_ca_at_five_sixths_of_the_current_life():
    # 5/6 of the 24h from when the first CA was made: 20h, not 19h50m
    # (5/6 of the 25h from its NotBefore at -1h)
    env, ca, published = spire_ca()
    first = ca.hierarchy.active

    env.run(until=20 * HOUR)
    assert ca.hierarchy.active is first
    env.run(until=20 * HOUR + 0.001)

    assert ca.hierarchy.active is not first
    assert ca.hierarchy.active.root is published[0][1][1]


def test_a_replaced_root_leaves_the_bundle_one_second_past_its_not_after():
    # RFC 5280 §4.1.2.5: NotAfter is inclusive, and X.509 times are whole
    # seconds; docs/models.md, time of a check: a chain is accepted
    # through NotAfter + 0.999 s. The first CA's NotAfter is 24h: its
    # root stays in the bundle until 24h + 1 s.
    env, ca, published = spire_ca()
    first = ca.hierarchy.active.root
    env.run(until=30 * HOUR)

    dropped = [when for when, roots in published if first not in roots]
    assert not_after(ca, first) == 24 * HOUR
    assert dropped[0] == 24 * HOUR + 1


def test_spire_leaves_come_from_the_old_ca_until_five_sixths(small, simulate):
    # SVIDs of T = 57020 s, renewed at half their life (no jitter) from
    # NotBefore = issue - 10 s, and capped at the signing CA's NotAfter:
    # issued at ~0, ~T/2 - 5 = 28505 s (uncapped: NotAfter 85525 s),
    # ~T - 10 = 57010 s (capped to the first CA's 24h), then half-way
    # from NotBefore to 24h: ~71700 s = 19h55m, before activation at
    # 20h, so still from the first CA (NotAfter 24h). The next renewal,
    # ~79045 s, is signed by the CA made at 12h: capped to its 36h.
    run = simulate(
        small(
            "profile=spire",
            "pki.jitter=0.0",
            "pki.workload_ttl=57020s",
            "duration=23h",
            "traffic.rate=0",
            "pki.crypto=modeled",
        )
    )
    rotations = run.tables.rotations
    late = rotations[rotations["installed_s"].between(19.85 * HOUR, 20 * HOUR)]
    under_next = rotations[rotations["not_after_s"] > 24 * HOUR]

    assert len(late) == 14  # every identity of every node agent
    assert (late["not_after_s"] == 24 * HOUR).all()
    assert len(under_next) == 14
    assert under_next["installed_s"].min() >= 20 * HOUR
    assert (under_next["not_after_s"] == 36 * HOUR).all()


def test_spire_next_ca_reaches_every_bundle_before_it_signs(small, simulate):
    # Published at 12h, it reaches each node within U(0, 7h59m), by
    # 19h59m, before it signs its first leaf at 20h: no verifier lacks it
    # (docs/models.md, signer rotation and bundle distribution)
    run = simulate(
        small(
            "profile=spire",
            "ca.bundle_delay=7h59m",
            "duration=24h",
            "pki.crypto=modeled",
        )
    )

    outcomes = run.summary["handshakes"]["by_outcome"]
    assert outcomes["ok"] == run.summary["handshakes"]["total"] > 0


def test_a_leaf_cut_to_an_old_root_is_accepted_through_its_last_second(
    small, simulate
):
    # 10h SVIDs (no jitter) renewed at half their life: those issued at
    # ~15h by the first CA are cut to its NotAfter, 24h, and due again at
    # ~19h30m, inside an outage of 19h-25h, so they stay in use to the
    # end. The first root leaves the bundle only at 24h + 1 s (RFC 5280
    # §4.1.2.5, NotAfter inclusive; docs/models.md, time of a check):
    # handshakes are ok through 24h + 0.999 s, expired from 24h + 1 s,
    # never refused for an unknown authority.
    run = simulate(
        small(
            "profile=spire",
            "pki.jitter=0.0",
            "pki.workload_ttl=10h",
            "ca.outages=[{start: 19h, duration: 6h}]",
            "duration=25h",
            "pki.crypto=modeled",
        )
    )
    rotations = run.tables.rotations
    last = rotations[rotations["installed_s"] < 19 * HOUR]
    last = last.groupby(["agent", "spiffe_id"])["not_after_s"].last()
    handshakes = run.tables.handshakes
    ok = handshakes[handshakes["outcome"] == "ok"]
    expired = handshakes[handshakes["outcome"] == "expired"]
    at_half_a_second_past = handshakes[
        (handshakes["start_s"] <= 24 * HOUR + 0.5)
        & (handshakes["end_s"] > 24 * HOUR + 0.5)
    ]

    assert (last == 24 * HOUR).all()
    assert set(handshakes["outcome"]) == {"ok", "expired"}
    assert set(at_half_a_second_past["outcome"]) == {"ok"}
    assert ok["end_s"].max() == 24 * HOUR + 1
    assert expired["start_s"].min() == 24 * HOUR + 1


# --- Istio: root re-issued with its key when 20% of its life remains ------


def test_root_is_reissued_when_a_fifth_of_its_life_remains():
    # docs/models.md, root re-issue (Istio's rotator): re-issue when less
    # than r = 20% of the root's life remains. A 10h root made at 0 is
    # re-issued at 10h - 0.2 * 10h = 8h, with the same key, and the new
    # root (made at 8h, NotAfter 18h) alone is published.
    env, ca, published = lone_ca(
        root_ttl_s=10 * HOUR, workload_ttl_s=HOUR, root_reissue_at=0.2
    )
    first = ca.hierarchy.root_ca
    env.run(until=9.9 * HOUR)

    assert [when for when, _ in published] == [8 * HOUR]
    [root] = published[0][1]
    assert made_at(ca, root) == 8 * HOUR
    assert not_after(ca, root) == 18 * HOUR
    assert ca.hierarchy.root_ca.key is first.key


def test_leaves_are_cut_to_the_root_until_it_is_reissued(small, simulate):
    # 3h leaves (NotAfter = issue + 3h, in whole seconds) renewed at
    # half-life, about every 1h30m from 0. The 10h root is re-issued at
    # 8h (20% of its life left): the leaves of ~7h30m are cut to its
    # NotAfter, 10h; those of ~8h45m, under the re-issued root (NotAfter
    # 18h), get their whole 3h.
    run = simulate(
        small(
            "pki.root_ttl=10h",
            "ca.root_reissue_at=0.2",
            "pki.workload_ttl=3h",
            "duration=10h",
            "traffic.rate=0",
            "pki.crypto=modeled",
        )
    )
    rotations = run.tables.rotations
    before = rotations[rotations["installed_s"].between(7 * HOUR, 8 * HOUR)]
    after = rotations[rotations["installed_s"] > 8 * HOUR]

    assert len(before) == len(after) == 16
    assert (before["not_after_s"] == 10 * HOUR).all()
    assert (
        after["not_after_s"] == np.floor(after["installed_s"]) + 3 * HOUR
    ).all()


# --- an operator's root swap under an intermediate ------------------------


def test_root_swap_under_an_intermediate_signs_new_leaves_under_new_root(
    small, simulate
):
    # docs/models.md, operator root swap: at `at` a new root "signs from
    # then on"; under an intermediate, that is a new intermediate under
    # the new root. Swap at 3h with a new key and no overlap: old leaves
    # fail (unknown-authority) from 3h, and 4h leaves renewed every 2h
    # have all been renewed under the new root by 4h: nothing fails
    # after (test_failure_modes.py has the same swap without an
    # intermediate).
    run = simulate(
        small(
            "ca.intermediate_ttl=24h",
            "ca.root_rotations=[{at: 3h, key: new, overlap: false}]",
            "duration=8h",
            "pki.crypto=modeled",
        )
    )
    handshakes = run.tables.handshakes
    failed = handshakes[handshakes["outcome"] != "ok"]
    late = handshakes[handshakes["end_s"] > 5 * HOUR]

    assert set(failed["outcome"]) == {"unknown-authority"}
    assert failed["start_s"].min() == pytest.approx(3 * HOUR)
    assert failed["end_s"].max() <= 4 * HOUR + 1
    assert set(late["outcome"]) == {"ok"}
