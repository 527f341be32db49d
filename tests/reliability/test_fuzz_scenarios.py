"""Generated and mutated scenarios, with overrides: loading fails only with
ScenarioError, and every scenario it accepts runs to the end.

Scenarios are built key by key from values that are valid, borderline or
wrong, written as YAML, sometimes mangled as bytes, then loaded from a
file with overrides. Sizes stay tiny (at most 20 workloads, 6h, low
rates) so that each accepted run takes a fraction of a second.
"""

from __future__ import annotations

import copy
import math
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from meshsim.runner import run_scenario
from meshsim.scenario import Scenario, ScenarioError, load_scenario

WEIRD = st.sampled_from(
    [
        None,
        True,
        "no",
        "off",
        "1:30",
        "",
        -1,
        0,
        -0.5,
        1e400,
        float("nan"),
        10**30,
        "24 h",
        "90",
        "1h30m",
        "0s",
        "-1h",
        [],
        {},
        ["node-1"],
        {"start": "1h"},
        "node-99",
        "pod-999",
        "2026-01-01",
        "1950-01-01T00:00:00Z",
        "9999-12-31T00:00:00Z",
        "é",
        "\t",
        "a" * 70,
    ]
).map(copy.deepcopy)  # a drawn list or mapping may be changed later


def durations(low_s: int, high_s: int) -> st.SearchStrategy[Any]:
    """A duration in any of the ways a file may write one."""
    seconds = st.integers(low_s, high_s)
    return st.one_of(
        seconds,
        seconds.map(lambda s: f"{s}s"),
        seconds.map(lambda s: f"{max(1, s // 60)}m"),
        seconds.map(lambda s: f"{s * 1000}ms"),
    )


@st.composite
def attacks(
    draw: st.DrawFn, nodes: int, workloads: int, run_s: int
) -> dict[str, Any]:
    """A key theft or a mitm, mostly inside the run, on a node that may
    run nothing or not exist."""
    attack: dict[str, Any] = {
        "kind": draw(st.sampled_from(["key-theft", "mitm"])),
        "start": draw(durations(0, run_s * 21 // 20)),
        "node": f"node-{draw(st.integers(0, nodes))}",
    }
    if attack["kind"] == "mitm":
        attack["duration"] = draw(durations(1, 4 * 3600))
        attack["presents"] = draw(
            st.sampled_from(["none", "self-signed", "rogue-ca", "stolen"])
        )
    elif draw(st.booleans()):
        attack["workload"] = f"pod-{draw(st.integers(0, workloads))}"
        attack["persistent"] = draw(st.booleans())
        if attack["persistent"] and draw(st.booleans()):
            attack["detected_after"] = draw(durations(1, 3 * 3600))
    return attack


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """A small scenario, valid or close to it: counts in order, times
    mostly inside the run."""
    workloads = draw(st.integers(1, 20))
    accounts = draw(st.integers(1, min(workloads, 6)))
    nodes = draw(st.integers(1, 10))
    run_s = draw(st.integers(60, 6 * 3600))
    data: dict[str, Any] = {
        "name": "fuzz",
        "seed": draw(st.integers(0, 2**63 - 1)),
        "duration": draw(durations(run_s, run_s)),
        "mesh": {
            "nodes": nodes,
            "workloads": workloads,
            "service_accounts": accounts,
            "namespaces": draw(st.integers(1, accounts)),
            "calls_per_service": draw(st.integers(0, min(accounts - 1, 3))),
            "agent": draw(st.sampled_from(["per-workload", "per-node"])),
            "mtls": draw(st.sampled_from(["strict", "permissive"])),
            "outside": draw(st.integers(0, 4)),
        },
        "pki": {
            "key": draw(st.sampled_from(["ecdsa-p256", "ecdsa-p384"])),
            "workload_ttl": draw(durations(3600, 12 * 3600)),
            "grace_ratio": draw(st.floats(0.1, 0.9)),
            "jitter": draw(st.floats(0, 0.05)),
            "backdate": draw(durations(0, 600)),
        },
        "ca": {
            "workers": draw(st.integers(1, 4)),
            "sign_time": draw(st.sampled_from(["measured", "1ms", "50ms"])),
            "outages": draw(
                st.lists(
                    st.fixed_dictionaries(
                        {
                            "start": durations(0, run_s * 21 // 20),
                            "duration": durations(1, 3 * 3600),
                        }
                    ),
                    max_size=2,
                )
            ),
        },
        "agent": {
            "backoff_initial": draw(durations(1, 30)),
            "backoff_max": draw(durations(30, 300)),
            "backoff_multiplier": draw(st.floats(1, 4)),
        },
        "traffic": {"rate": draw(st.floats(0, 0.05))},
        "attacks": draw(st.lists(attacks(nodes, workloads, run_s), max_size=3)),
    }

    # Leave out some keys for their defaults, break a few others.
    for _ in range(draw(st.integers(0, 3))):
        section = draw(st.sampled_from(sorted(data)))
        holder = data
        if isinstance(data[section], dict) and data[section]:
            holder = data[section]
        key = draw(st.sampled_from(sorted(holder)))
        change = draw(st.sampled_from(["weird", "drop", "unknown"]))
        if change == "weird":
            holder[key] = draw(WEIRD)
        elif change == "drop":
            del holder[key]
        else:
            holder[key + "x"] = draw(WEIRD)
    return data


OVERRIDE = st.one_of(
    st.tuples(
        st.sampled_from(
            [
                "seed",
                "duration",
                "mesh.nodes",
                "mesh.workloads",
                "mesh.agent",
                "pki.workload_ttl",
                "pki.jitter",
                "ca.outages",
                "attacks[0].node",
                "attacks.1.start",
                "traffic.rate",
                "mesh.nodes.x",
                "a.b[7]",
                "",
            ]
        ),
        st.sampled_from(
            [
                *("3", "0", "-1", "2h", "per-node", "[]", "[{start: 1h}]"),
                *("node-2", "0.01", "{", "&a [*a]", "!!python/object:x 1"),
                *("yes", "\t"),
            ]
        ),
    ).map(lambda kv: f"{kv[0]}={kv[1]}"),
    st.sampled_from(["no-equals", "=", "seed==1"]),
)

MANGLE = st.lists(
    st.tuples(
        st.sampled_from(["insert", "delete"]),
        st.floats(0, 1),
        st.sampled_from(
            [
                *(b"\t", b"\xff", b"\x00", b": ", b"- ", b"&a ", b"*a"),
                *(b"\n  ", b"9", b"{", b"---\n", b"#", b"'", b"!!int "),
            ]
        ),
    ),
    max_size=3,
)


def render(data: dict[str, Any], flow: bool) -> bytes:
    text = yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True)
    return text.encode("utf-8", "surrogatepass")


def mangle(raw: bytes, edits: list[tuple[str, float, bytes]]) -> bytes:
    for action, where, piece in edits:
        at = int(where * len(raw))
        if action == "insert":
            raw = raw[:at] + piece + raw[at:]
        else:
            raw = raw[:at] + raw[at + len(piece) :]
    return raw


def cheap(scenario: Scenario) -> bool:
    """Whether a run stays within the budget the strategies aim at (a
    mangled digit can make a count ten times larger)."""
    mesh, pki, agent = scenario.mesh, scenario.pki, scenario.agent
    return (
        mesh.workloads <= 20
        and mesh.outside <= 5
        and scenario.duration <= 6 * 3600
        and pki.workload_ttl >= 3600
        and pki.key.startswith("ecdsa")
        and agent.backoff_max >= 1
        and scenario.traffic.rate <= 0.05
    )


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    scenarios(),
    st.booleans(),
    st.one_of(st.just([]), MANGLE),
    st.one_of(st.just([]), st.lists(OVERRIDE, max_size=3)),
)
def test_any_scenario_loads_as_scenario_or_error_and_runs(
    data: dict[str, Any],
    flow: bool,
    edits: list[tuple[str, float, bytes]],
    overrides: list[str],
) -> None:
    raw = mangle(render(data, flow), edits)
    note(f"file: {raw!r}")

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.yaml"
        path.write_bytes(raw)
        try:
            scenario = load_scenario(path, overrides)
        except ScenarioError as error:
            event("refused")
            assert error.problems
            for problem in error.problems:
                assert "\n" not in str(problem)
            return

    if not cheap(scenario):
        event("accepted, too big to run here")
        return
    event("accepted and run")
    run = run_scenario(scenario)

    # the records and the summary agree
    summary, tables = run.summary, run.tables
    assert summary["handshakes"]["total"] == tables.handshakes["count"].sum()
    # answered: neither unreachable, nor unanswered nor cancelled
    unanswered = {"unreachable", "unanswered", "cancelled"}
    assert summary["ca"]["csr_total"] == len(
        tables.csrs[~tables.csrs["outcome"].isin(unanswered)]
    )
    assert summary["rotation"]["count"] == len(tables.rotations)
    assert math.isfinite(summary["ca"]["utilisation"])
