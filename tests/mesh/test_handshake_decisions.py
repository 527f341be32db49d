"""Which side ends a connection, and why: the order of a handshake's checks.

docs/models.md (mTLS, no fallback, PeerAuthentication, clocks, bundle
distribution): a mesh client without a certificate fails before it
sends anything; otherwise the client checks the server's chain and its
identity (secure naming), then the server checks the client's, each on
its own node's clock and with its own node's trust bundle. Callers
outside the mesh send plaintext, which PERMISSIVE accepts and STRICT
refuses. The class engine (``combine``) must decide as the pair engine
(``Handshaker.direct``) does.
"""

from __future__ import annotations

import math

from meshsim.mesh.credential import TrustBundle
from meshsim.mesh.handshake import Decision
from meshsim.simulation import build_world

HOUR = 3600.0


def split(run) -> dict[tuple[str, str], int]:
    """Connections by (outcome, refused_by)."""
    counts = run.tables.handshakes.groupby(["outcome", "refused_by"])["count"]
    return {key: int(value) for key, value in counts.sum().items() if value}


def started(scenario, until_s: float):
    """The world of ``scenario`` with its processes run to ``until_s``."""
    world = build_world(scenario)
    world.env.run(until=until_s)
    return world


# Slow CA: one worker, 5 min a CSR, so pod-k gets its first certificate
# at (k + 1) * 5 min and pods with and without one call each other. The
# outage from 2h (before any renewal is answered) lasts until every 4h
# certificate has expired, so expired pods call expired pods too.
STAGGERED = (
    "ca.sign_time=5m",
    "ca.workers=1",
    "ca.outages=[{start: 2h, duration: 6h}]",
    "duration=9h",
)


def test_a_client_checks_the_server_before_it_is_checked(small, simulate):
    # 4h certificates issued at 0, renewals due at 2h fail in the outage
    # from 1h to 7h: from 4h + 1 s (NotAfter inclusive, RFC 5280
    # §4.1.2.5) every pod's chain is expired. docs/models.md (mTLS): the
    # client checks the server's chain first and refuses it, so the
    # server never sees the client's, expired as it is.
    for detail in ("pairs", "classes"):
        run = simulate(
            small(
                "ca.outages=[{start: 1h, duration: 6h}]",
                "duration=8h",
                f"traffic.detail={detail}",
            )
        )

        failed = run.tables.handshakes
        failed = failed[failed["outcome"] != "ok"]
        assert failed["count"].sum() > 0, detail
        assert set(failed["outcome"]) == {"expired"}, detail
        assert set(failed["refused_by"]) == {"client"}, detail
        assert failed["start_s"].min() == 4 * HOUR + 1, detail


def test_both_traffic_engines_split_outcomes_and_refusers_alike(
    small, simulate
):
    # Without skew, bundle lag or attacker every node judges a chain
    # alike, so the class engine's per-standing decision must match the
    # pair engine's per-connection one (scenario.md, traffic.detail:
    # "exact"). Each count estimates the same Poisson mean: the two agree
    # within 5 sigma of their difference, per (outcome, refused_by).
    splits = {
        detail: split(simulate(small(*STAGGERED, f"traffic.detail={detail}")))
        for detail in ("pairs", "classes")
    }
    pairs, classes = splits["pairs"], splits["classes"]

    # a missing certificate and an expired chain on either side, and both
    # ends in the same state, all occur
    assert set(pairs) == {
        ("ok", ""),
        ("no-certificate", "client"),
        ("no-certificate", "server"),
        ("expired", "client"),
        ("expired", "server"),
    }
    assert set(classes) == set(pairs)
    for key, count in pairs.items():
        other = classes[key]
        assert abs(count - other) < 5 * math.sqrt(count + other), key


def test_permissive_accepts_plaintext_from_outside_and_strict_refuses_it(
    shipped, simulate
):
    # docs/models.md (PeerAuthentication): callers outside the mesh send
    # plaintext: `plaintext-accepted` under PERMISSIVE, `plaintext-refused`
    # under STRICT, where the server refuses it. The mesh's own calls are
    # mTLS either way.
    expected = {
        "permissive": {("plaintext-accepted", "")},
        "strict": {("plaintext-refused", "server")},
    }
    for mtls, plaintext in expected.items():
        run = simulate(
            shipped(
                "permissive-outside.yaml",
                "attacks=[]",
                "traffic.detail=classes",
                f"mesh.mtls={mtls}",
            )
        )
        counts = split(run)

        assert {k for k in counts if k[0].startswith("plaintext")} == plaintext
        assert all(counts[k] > 0 for k in plaintext)
        assert counts[("ok", "")] > 0


def test_a_caller_without_a_certificate_fails_before_reaching_the_server(
    small, simulate
):
    # A CA outage from 0s: no pod ever gets a certificate. docs/models.md
    # (no fallback): a mesh client without a certificate fails with
    # `no-certificate` on its own side, whatever the server holds.
    for detail in ("pairs", "classes"):
        run = simulate(
            small(
                "ca.outages=[{start: 0s, duration: 1h}]",
                "duration=30m",
                f"traffic.detail={detail}",
            )
        )
        counts = split(run)

        assert set(counts) == {("no-certificate", "client")}, detail


def test_a_server_without_a_certificate_is_the_side_that_fails(small, simulate):
    # Pods get their first certificate one by one (STAGGERED). A caller
    # without one fails on its side (no fallback); a caller holding one
    # reaches a server that has none to present, which ends it:
    # refused_by server.
    run = simulate(small(*STAGGERED, "traffic.detail=pairs"))
    rotations = run.tables.rotations
    first = rotations.groupby("agent")["installed_s"].min()

    def holds(pod: str, at_s: float) -> bool:
        return first.get(f"agent-{pod}", math.inf) <= at_s

    missing = run.tables.handshakes
    missing = missing[missing["outcome"] == "no-certificate"]
    assert set(missing["refused_by"]) == {"client", "server"}
    for row in missing.itertuples():
        caller = holds(row.caller, row.start_s)
        server = holds(row.server, row.start_s)
        assert not (caller and server), row
        assert row.refused_by == ("server" if caller else "client"), row


def test_each_side_checks_validity_on_its_own_node_s_clock(small, simulate):
    # node-1 runs 30 s behind, no backdate. docs/models.md (clocks): each
    # side of a handshake checks validity on its own clock, so node-1
    # finds every certificate issued in the last 30 s not yet valid:
    # as a server it refuses fresh client chains, and as a caller it
    # refuses fresh server chains. No other node refuses anything.
    run = simulate(
        small(
            "pki.backdate=0s",
            "mesh.clock_skew={offsets: [{node: node-1, offset: -30s}]}",
        )
    )

    failed = run.tables.handshakes
    failed = failed[failed["outcome"] != "ok"]
    assert set(failed["outcome"]) == {"not-yet-valid"}
    assert set(failed["refused_by"]) == {"client", "server"}
    refusing = failed["caller_node"].where(
        failed["refused_by"] == "client", failed["server_node"]
    )
    assert set(refusing) == {"node-1"}


def test_a_client_refuses_a_valid_chain_for_another_identity(small):
    # Every pod holds a fresh certificate after a minute. docs/models.md
    # (mTLS, secure naming): the client checks the verified SPIFFE ID
    # against the server's; a chain valid for another account is refused
    # as `wrong-identity`, by the same verifier that accepts it for its
    # own pod.
    world = started(small(), 60.0)
    handshaker = world.engine.handshaker
    server = world.topology.pods[0]
    other = next(p for p in world.topology.pods if p.account != server.account)
    borrowed = world.state.credential_of_pod(other.index)
    assert borrowed is not None

    assert handshaker.client_accepts(server.node, borrowed, other) == "ok"
    assert (
        handshaker.client_accepts(server.node, borrowed, server)
        == "wrong-identity"
    )


def test_each_side_verifies_with_its_own_node_s_trust_bundle(small):
    # After a minute every pod holds a chain from the CA's root; node-0's
    # bundle is then replaced by one holding only another root for the
    # trust domain. docs/models.md (mTLS, bundle distribution): each side
    # verifies with its own node's bundle; a verifier whose bundle lacks
    # the signing root refuses with `unknown-authority`; the others
    # accept.
    scenario = small()
    world = started(scenario, 60.0)
    handshaker, state = world.engine.handshaker, world.state
    crypto = world.crypto
    topology = world.topology
    foreign = crypto.root(
        crypto.new_key(scenario.pki.key),
        topology.trust_domain,
        world.clock.to_datetime(0.0),
        world.clock.to_datetime(24 * HOUR),
        1,
    )
    state.bundle_of_node[0] = TrustBundle({topology.trust_domain: (foreign,)})
    on_0 = topology.pods_on_node(0)[0]
    on_1 = topology.pods_on_node(1)[0]
    chain = state.credential_of_pod(on_1.index)
    assert chain is not None

    assert handshaker.server_accepts(1, chain) == "ok"
    assert handshaker.server_accepts(0, chain) == "unknown-authority"
    assert handshaker.client_accepts(1, chain, on_1) == "ok"
    assert handshaker.client_accepts(0, chain, on_1) == "unknown-authority"
    # whole connections: node-0 refuses as the server, and as the client
    caller_1 = next(c for c in topology.callers if c.pod == on_1.index)
    caller_0 = next(c for c in topology.callers if c.pod == on_0.index)
    assert handshaker.direct(caller_1, on_0) == Decision(
        "unknown-authority", "server"
    )
    assert handshaker.direct(caller_0, on_1) == Decision(
        "unknown-authority", "client"
    )
