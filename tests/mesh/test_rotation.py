"""Rotation and CA load in whole runs, against the model's closed forms."""

from __future__ import annotations

import numpy as np

HOUR = 3600.0


def test_csr_count_is_initial_issuance_plus_n_d_over_r_t(small, simulate):
    # N pods, TTL T, renewal at r = 1 - g of the lifetime, no jitter: each
    # pod renews at rT, 2rT, ... . Over D = 72h with T = 24h and r = 0.5,
    # that is D / (rT) = 6 renewals per pod, the last one due at D itself,
    # so the run stops a minute after D to count it.
    n, ttl, r, d = 200, 24 * HOUR, 0.5, 72 * HOUR
    scenario = small(
        "mesh.nodes=20",
        f"mesh.workloads={n}",
        "mesh.service_accounts=40",
        "pki.workload_ttl=24h",
        "pki.grace_ratio=0.5",
        "traffic.rate=0",
        "duration=72h1m",
    )

    run = simulate(scenario)

    expected = n + n * d / (r * ttl)
    assert run.summary["ca"]["csr_total"] == expected == 1400
    assert run.summary["rotation"]["count"] == expected


def test_agent_renews_at_grace_point_of_the_lifetime(small, simulate):
    lone = (
        "mesh.workloads=1",
        "mesh.nodes=1",
        "mesh.service_accounts=1",
        "mesh.namespaces=1",
        "mesh.calls_per_service=0",
    )
    run = simulate(small("pki.grace_ratio=0.3", "traffic.rate=0", *lone))
    rotations = run.tables.rotations

    lifetime = rotations["not_after_s"] - rotations["installed_s"]
    wait = rotations["renew_at_s"] - rotations["installed_s"]

    # remaining <= g * lifetime: renew after (1 - g) of the lifetime.
    np.testing.assert_allclose(wait, 0.7 * lifetime)
    # The next certificate is requested at that point and, the CA serving
    # no one else, arrives one sign_time (1 ms) later.
    installed = rotations["installed_s"].to_numpy()[1:]
    planned = rotations["renew_at_s"].to_numpy()[:-1]
    assert len(installed) == 4
    np.testing.assert_allclose(installed - planned, 0.001, atol=1e-6)


def test_per_node_agents_send_one_csr_per_identity_on_the_node(small, simulate):
    scenario = small("mesh.agent=per-node", "traffic.rate=0", "duration=1h")

    run = simulate(scenario)

    pairs = {(p.node, p.account) for p in run.result.topology.pods}
    assert run.summary["ca"]["csr_total"] == len(pairs)
    assert len(pairs) < len(run.result.topology.pods)


def test_same_seed_gives_same_summary(shipped, simulate):
    overrides = ("mesh.workloads=40", "mesh.nodes=8", "ca.sign_time=2ms")
    first = simulate(shipped("istio-sidecar.yaml", *overrides)).summary
    second = simulate(shipped("istio-sidecar.yaml", *overrides)).summary

    # Real crypto draws its keys and ECDSA nonces from the OS, so DER sizes
    # vary by a few bytes; CPU and wall times are this machine's.
    for summary in (first, second):
        summary.pop("wall_seconds")
        summary["rotation"].pop("crypto_cpu_s")
        summary["rotation"].pop("bytes")
        summary["rotation"].pop("operations")
        summary.pop("certs")
    assert first == second


def test_synchronised_start_queues_fifo_on_every_worker(small, simulate):
    # N CSRs at t = 0, c workers, a fixed service time s: the k-th CSR
    # served (k = 0, 1, ...) starts at floor(k / c) * s and ends s later.
    n, workers, sign_time = 20, 3, 10.0
    scenario = small(
        f"mesh.workloads={n}",
        "mesh.nodes=4",
        f"ca.workers={workers}",
        "ca.sign_time=10s",
        "traffic.rate=0",
        "duration=5m",
    )

    csrs = simulate(scenario).tables.csrs

    first = csrs[csrs["submitted_s"] == 0.0].sort_values("started_s")
    expected = np.floor(np.arange(n) / workers) * sign_time
    assert len(first) == n
    np.testing.assert_allclose(first["started_s"], expected)
    np.testing.assert_allclose(first["finished_s"], expected + sign_time)
    np.testing.assert_allclose(first["wait_s"], expected)


def test_a_certificate_due_at_install_is_renewed_after_the_backoff_step(
    small, simulate
):
    # node-0's clock runs 25h ahead: every 24h certificate looks expired
    # there as it is installed. One pod renews after the agent's 1 s
    # backoff step, not at once: CSRs at k * 1.001 s (1 s, then 1 ms of
    # signing), so 60 in a minute, where at once it made one a
    # millisecond.
    run = simulate(
        small(
            "mesh={nodes: 1, workloads: 1, service_accounts: 1,"
            " namespaces: 1, calls_per_service: 0,"
            " clock_skew: {offsets: [{node: node-0, offset: 25h}]}}",
            "pki.workload_ttl=24h",
            "duration=60s",
            "attacks=[]",
            "pki.crypto=modeled",
        )
    )

    assert run.summary["ca"]["csr_total"] == 60
    assert run.summary["rotation"]["count"] == 60


def test_a_rotations_bytes_are_its_csr_once_and_the_chain_it_got(
    small, simulate
):
    # rotation.bytes: the CSR's DER once and each chain issued
    # (docs/models.md); each rotation here took one CSR, so it pairs
    # with its agent's issued CSRs in order
    run = simulate(small("traffic.rate=0", "duration=9h"))
    rotations = run.tables.rotations.sort_values(["agent", "installed_s"])
    csrs = run.tables.csrs
    issued = csrs[csrs["outcome"] == "issued"].sort_values(
        ["agent", "finished_s"]
    )

    assert (rotations["attempts"] == 1).all()
    assert len(rotations) == len(issued) > 16
    np.testing.assert_array_equal(
        rotations["bytes"].to_numpy(),
        (issued["csr_bytes"] + issued["chain_bytes"]).to_numpy(),
    )


def test_a_rotations_serial_number_is_written_as_openssl_prints_it(
    small, simulate
):
    # upper-case hex, as in the summary's first chains and openssl x509
    run = simulate(small("traffic.rate=0", "duration=1h"))
    rotations = run.tables.rotations
    first = run.summary["certs"][0]

    assert rotations["serial_number"].str.fullmatch("[0-9A-F]+").all()
    assert first["serial_number"] in set(rotations["serial_number"])
