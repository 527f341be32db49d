"""Scenario texts shared by the scenario tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from meshsim.scenario import Scenario, ScenarioError, parse_scenario

MINIMAL = "name: demo\nduration: 24h\n"

FULL = """\
name: full-1
seed: 7
duration: 48h
start_time: 2026-03-01T08:00:00+01:00
mesh:
  trust_domain: example.org
  nodes: 5
  workloads: 50
  service_accounts: 10
  namespaces: 2
  agent: per-node
  mtls: permissive
  outside: 2
  calls_per_service: 3
pki:
  key: rsa-2048
  root_ttl: 365d
  workload_ttl: 1h
  max_workload_ttl: 24h
  grace_ratio: 0.5
  jitter: 0.05
  backdate: 1m
ca:
  workers: 2
  sign_time: 5ms
  outages:
    - start: 6h
      duration: 30m
agent:
  backoff_initial: 1s
  backoff_max: 30s
  backoff_multiplier: 1.5
traffic:
  rate: 0.5
attacks:
  - kind: key-theft
    start: 2h
    node: node-1
    workload: pod-3
    persistent: true
    detected_after: 6h
  - kind: mitm
    start: 3h
    duration: 1h
    node: node-2
    presents: stolen
"""


@pytest.fixture
def problems_of() -> Callable[..., list[str]]:
    """The problem lines that a scenario text raises, as printed."""

    def check(text: str, *overrides: str) -> list[str]:
        with pytest.raises(ScenarioError) as caught:
            parse_scenario(text, "t.yaml", overrides)
        return [str(problem) for problem in caught.value.problems]

    return check


@pytest.fixture
def scenario_of() -> Callable[..., Scenario]:
    """The scenario a text gives, with overrides."""

    def build(text: str, *overrides: str) -> Scenario:
        return parse_scenario(text, "t.yaml", overrides)

    return build
