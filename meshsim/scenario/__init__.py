"""Scenarios: the YAML files that describe one simulated mesh and its run.

``load_scenario`` reads a file and returns a validated, frozen
``Scenario``, or raises ``ScenarioError`` listing every problem of the
file at once, one line each::

    bad.yaml:7: pki.workload_ttl: must be longer than 0s (got '0s')

Every key is documented in ``docs/scenario.md``.
"""

from meshsim.scenario.durations import format_duration, parse_duration
from meshsim.scenario.load import load_scenario, parse_scenario
from meshsim.scenario.overrides import apply_overrides
from meshsim.scenario.problems import KeyPath, Problem, ScenarioError
from meshsim.scenario.resolved import dump_resolved, scenario_sha256
from meshsim.scenario.schema import (
    PROFILES,
    Agent,
    Attack,
    Ca,
    Churn,
    ClockSkew,
    Impersonation,
    KeyTheft,
    Mesh,
    Mitm,
    NodeOffset,
    Outage,
    Pki,
    Profile,
    RootRotation,
    Rotation,
    Scenario,
    TokenTheft,
    Traffic,
)
from meshsim.scenario.validate import validate_mapping

__all__ = [
    "PROFILES",
    "Agent",
    "Attack",
    "Ca",
    "Churn",
    "ClockSkew",
    "Impersonation",
    "KeyPath",
    "KeyTheft",
    "Mesh",
    "Mitm",
    "NodeOffset",
    "Outage",
    "Pki",
    "Problem",
    "Profile",
    "RootRotation",
    "Rotation",
    "Scenario",
    "ScenarioError",
    "TokenTheft",
    "Traffic",
    "apply_overrides",
    "dump_resolved",
    "format_duration",
    "load_scenario",
    "parse_duration",
    "parse_scenario",
    "scenario_sha256",
    "validate_mapping",
]
