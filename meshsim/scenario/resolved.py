"""A scenario written out in full: every default filled in, and its hash.

The resolved text is what a run really used; it goes beside every result,
and its SHA-256 names the scenario in them.  Reading the text back gives
an equal ``Scenario``.
"""

from __future__ import annotations

import hashlib

import yaml

from meshsim.scenario.schema import Scenario
from meshsim.scenario.yaml_core import CoreResolver

__all__ = ["dump_resolved", "scenario_sha256"]


class _Dumper(yaml.SafeDumper):
    """Quotes exactly the text that meshsim's loader would not read as
    text (``"0x1f"``, ``"true"``), and leaves ``yes`` or ``1:30`` plain."""

    yaml_implicit_resolvers = CoreResolver.yaml_implicit_resolvers


def _float(dumper: yaml.SafeDumper, value: float) -> yaml.ScalarNode:
    # -0.0 sets what 0.0 sets: one text, so one hash and one sweep point
    return dumper.represent_float(value + 0.0)


_Dumper.add_representer(float, _float)


def dump_resolved(scenario: Scenario) -> str:
    """The scenario as YAML, defaults filled in, durations as ``1h30m``."""
    data = scenario.model_dump(mode="json")
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
    )


def scenario_sha256(scenario: Scenario) -> str:
    """The SHA-256 (hex) of ``dump_resolved(scenario)``."""
    return hashlib.sha256(dump_resolved(scenario).encode("utf-8")).hexdigest()
