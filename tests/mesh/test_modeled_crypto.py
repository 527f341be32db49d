"""Modeled crypto decides exactly as real crypto does, for the same seed."""

from __future__ import annotations

import pytest

from meshsim.pki.calibration import OPERATIONS, calibrate

WORLDS = {
    # node-1's clock 2 min behind: clients elsewhere see the stolen chain
    # expire before the attacker there stops presenting it
    "theft and stolen chain on the path": (
        "attacks=[{kind: key-theft, start: 2h, node: node-1},"
        " {kind: mitm, start: 2h, duration: 8h, node: node-1,"
        " presents: stolen}]",
        "mesh.clock_skew={offsets: [{node: node-1, offset: -2m}]}",
    ),
    "rogue CA on the path": (
        "attacks=[{kind: mitm, start: 1h, duration: 4h, node: node-2,"
        " presents: rogue-ca}]",
    ),
    "outage, root swap and skew": (
        "ca.outages=[{start: 1h50m, duration: 3h}]",
        "ca.root_rotations=[{at: 7h, key: new, overlap: false}]",
        "mesh.clock_skew={offsets: [{node: node-0, offset: -30s}]}",
        "pki.backdate=0s",
    ),
    # The 4h renewals fall while most nodes still trust only the old root:
    # the agent's own check passes, its node's verifier refuses.
    "root swap while bundles travel": (
        "ca.root_rotations=[{at: 3h55m, key: new, overlap: false}]",
        "ca.bundle_delay=1h",
    ),
    "token theft under an intermediate": (
        "pki.token_ttl=6h",
        "ca.intermediate_ttl=8h",
        "ca.rotation={prepare_at: 0.5, activate_at: 0.75}",
        "attacks=[{kind: token-theft, start: 1h, node: node-3}]",
    ),
}


def counts(run) -> dict[str, object]:
    tables = run.tables
    return {
        "handshakes": run.summary["handshakes"],
        "csrs": tables.csrs.groupby("outcome").size().to_dict(),
        "rotations": len(tables.rotations),
        "operations": {
            operation: done["count"]
            for operation, done in run.summary["rotation"]["operations"].items()
        },
        "thefts": len(tables.thefts),
        "windows": tables.attack_windows[
            ["kind", "identity", "start_s", "end_s", "intercepted"]
        ].to_dict("records"),
    }


@pytest.mark.parametrize("world", sorted(WORLDS))
def test_real_and_modeled_agree_on_every_outcome_count(small, simulate, world):
    overrides = WORLDS[world]
    real = simulate(small(*overrides, "pki.crypto=real"))
    modeled = simulate(small(*overrides, "pki.crypto=modeled"))

    assert counts(modeled) == counts(real)
    refused = {
        outcome: n
        for outcome, n in real.summary["handshakes"]["by_outcome"].items()
        if n and outcome != "ok"
    }
    assert refused or "token" in world


def test_calibration_measures_every_operation_on_real_objects():
    calibration = calibrate("ecdsa-p256", "cluster.local")

    for operation in OPERATIONS:
        assert len(calibration.cpu_s[operation]) >= 8
        assert all(t >= 0 for t in calibration.cpu_s[operation])
    # A P-256 CSR and leaf are a few hundred bytes of DER.
    assert 150 < min(calibration.sizes["csr"]) < 400
    assert 300 < min(calibration.sizes["leaf"]) < 900


def test_modeled_run_writes_no_certificates(small, simulate):
    run = simulate(small("pki.crypto=modeled"))

    assert run.summary["certs"] == []
    assert run.summary["rotation"]["crypto_cpu_s"] > 0
    assert run.summary["rotation"]["bytes"] > 0


def test_modeled_meter_holds_only_the_costs_the_run_spent(small, simulate):
    # An agent's renewal spends a keygen, a csr-sign and a verify-issued,
    # and records their sum; with no failure each is spent once a renewal.
    run = simulate(small("pki.crypto=modeled", "attacks=[]", "ca.outages=[]"))
    done = run.summary["rotation"]["operations"]
    agents = ("keygen", "csr-sign", "verify-issued")

    assert [done[operation]["count"] for operation in agents] == [
        len(run.tables.rotations)
    ] * 3
    assert sum(done[operation]["cpu_s"] for operation in agents) == (
        pytest.approx(run.tables.rotations["crypto_cpu_s"].sum())
    )


@pytest.mark.parametrize(
    "profile", ["istio-ambient", "istio-sidecar", "linkerd", "spire"]
)
def test_real_and_modeled_runs_send_the_same_bytes(shipped, simulate, profile):
    # Only signatures vary in size (an ECDSA one by a byte or two), so
    # the totals agree far closer than the 2% a one-byte serial or the
    # 6% an intermediate sized as a root made.
    sent = {
        mode: simulate(
            shipped(
                f"profiles/{profile}.yaml",
                f"pki.crypto={mode}",
                "ca.sign_time=1ms",
                "mesh.workloads=60",
                "mesh.nodes=6",
                "duration=24h",
            )
        ).summary["rotation"]["bytes"]
        for mode in ("real", "modeled")
    }

    assert sent["modeled"] == pytest.approx(sent["real"], rel=0.005)


def test_a_trust_domain_too_long_for_an_intermediate_still_calibrates(
    small, simulate
):
    # "<td> root" fits a common name of 64 characters; "<td> intermediate"
    # does not, and validation refuses an intermediate in such a domain.
    trust_domain = "a" * 59

    calibration = calibrate("ecdsa-p256", trust_domain)
    run = simulate(
        small("pki.crypto=modeled", f"mesh.trust_domain={trust_domain}")
    )

    assert "intermediate" not in calibration.sizes
    assert run.summary["rotation"]["bytes"] > 0


def test_modeled_chains_are_as_long_as_real_ones_after_2049(small, simulate):
    # From 2050 on X.509 writes dates as GeneralizedTime, two bytes more
    # each; the calibration's certificates are dated 2026.
    def chain_bytes(mode: str) -> float:
        run = simulate(
            small(f"pki.crypto={mode}", "start_time=2060-01-01T00:00:00Z")
        )
        issued = run.tables.csrs[run.tables.csrs["outcome"] == "issued"]
        return float(issued["chain_bytes"].mean())

    real = chain_bytes("real")

    assert chain_bytes("modeled") == pytest.approx(real, rel=3e-3)


@pytest.mark.parametrize("mode", ["real", "modeled"])
def test_a_refused_csr_is_booked_as_a_refusal_not_a_signature(
    small, simulate, mode
):
    # the intermediate expires at 6h; without rotation every CSR after
    # it is refused, before any crypto work is done on it
    run = simulate(
        small("ca.intermediate_ttl=7h", "attacks=[]", f"pki.crypto={mode}")
    )
    done = run.summary["rotation"]["operations"]
    outcomes = run.tables.csrs["outcome"].value_counts()

    assert outcomes["signer-expired"] > 0
    assert done["ca-refuse"]["count"] == outcomes["signer-expired"]
    assert done["ca-sign"]["count"] == outcomes["issued"]
    refusal = done["ca-refuse"]["cpu_s"] / done["ca-refuse"]["count"]
    signature = done["ca-sign"]["cpu_s"] / done["ca-sign"]["count"]
    assert refusal < signature / 3
