"""The scenario schema: every key, its type, its default and its range.

Each YAML key is the attribute of the same name.  Defaults live here and
only here, durations written as a scenario file writes them (``"24h"``),
and are validated like user input.  Rules that tie several keys together
(``workload_ttl <= max_workload_ttl``) live in ``rules``; a ``Scenario``
that breaks one cannot be built.

To add a key: give it a field with a default here, document it in
``docs/scenario.md``, and add any cross-key rule to ``rules``.  Unknown
keys stay errors.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Final, Literal, Self, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    model_validator,
)

from meshsim.scenario.fields import (
    Duration,
    Name,
    Offset,
    OptionalPositiveDuration,
    PositiveDuration,
    RunDuration,
    SignTime,
    Timestamp,
    TrustDomain,
    default_seconds,
)
from meshsim.scenario.problems import format_path, show_value
from meshsim.scenario.rules import check_scenario

__all__ = [
    "DEFER_RULES",
    "KINDS",
    "MAX_COUNT",
    "MAX_SEED",
    "PROFILES",
    "Agent",
    "Attack",
    "Ca",
    "Churn",
    "ClockSkew",
    "Impersonation",
    "KeyTheft",
    "Mesh",
    "Mitm",
    "NodeOffset",
    "Outage",
    "Pki",
    "Profile",
    "RootRotation",
    "Rotation",
    "Scenario",
    "TokenTheft",
    "Traffic",
]

Profile = Literal["istio-sidecar", "istio-ambient", "spire", "linkerd"]
"""Real meshes whose defaults a scenario can start from (``profile``)."""

PROFILES: Final = get_args(Profile)

MAX_COUNT: Final = 1_000_000
"""Most of anything the mesh counts (nodes, workloads, callers...)."""

MAX_SEED: Final = 2**63 - 1

DEFER_RULES: Final = "meshsim.scenario.defer_rules"
"""Validation context key: leave cross-key rules to the caller."""


class _Section(BaseModel):
    """A frozen mapping of known keys; types are not coerced."""

    model_config = ConfigDict(
        strict=True,
        frozen=True,
        extra="forbid",
        allow_inf_nan=False,
        validate_default=True,
    )


class NodeOffset(_Section):
    """A node whose clock is off by a fixed amount."""

    node: str
    offset: Offset


class ClockSkew(_Section):
    """How far node clocks are from true time.

    Each node's offset is drawn from U(-uniform, uniform) plus
    N(0, normal), then replaced by any offset given for it in ``offsets``.
    """

    uniform: Duration = 0.0
    normal: Duration = 0.0
    offsets: tuple[NodeOffset, ...] = Field(default=(), strict=False)


class Churn(_Section):
    """Short-lived pods arriving as a Poisson process.

    Each arrival runs as a random service account on a random node, asks
    for its certificate at once, renews like any pod, and is deleted after
    an exponential lifetime of mean ``lifetime``. Churned pods load the CA
    and rotate certificates; they neither call nor serve traffic.
    """

    rate: float = Field(ge=0)
    lifetime: PositiveDuration


class Mesh(_Section):
    """The workloads, their nodes, and how they call each other."""

    trust_domain: TrustDomain = "cluster.local"
    nodes: int = Field(default=20, ge=1, le=MAX_COUNT)
    workloads: int = Field(default=200, ge=1, le=MAX_COUNT)
    service_accounts: int = Field(default=40, ge=1, le=MAX_COUNT)
    namespaces: int = Field(default=4, ge=1, le=MAX_COUNT)
    agent: Literal["per-workload", "per-node"] = "per-workload"
    mtls: Literal["strict", "permissive"] = "strict"
    outside: int = Field(default=0, ge=0, le=MAX_COUNT)
    calls_per_service: int = Field(default=3, ge=0, le=MAX_COUNT)
    clock_skew: ClockSkew = Field(default_factory=ClockSkew)
    churn: Churn | None = None


class Pki(_Section):
    """Keys and certificate lifetimes of the mesh's CA and workloads."""

    key: Literal["ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072"] = (
        "ecdsa-p256"
    )
    root_ttl: PositiveDuration = default_seconds("3650d")
    workload_ttl: PositiveDuration = default_seconds("24h")
    max_workload_ttl: PositiveDuration = default_seconds("90d")
    grace_ratio: float = Field(default=0.5, gt=0, lt=1)
    jitter: float = Field(default=0.01, ge=0, lt=1)
    backdate: Duration = default_seconds("2m")
    crypto: Literal["real", "modeled"] = "real"
    not_after_allowance: Duration = 0.0
    token_ttl: OptionalPositiveDuration = None


class Outage(_Section):
    """A span of time during which the CA signs nothing."""

    start: Duration
    duration: PositiveDuration


class Rotation(_Section):
    """When the signing CA is replaced, as fractions of its lifetime."""

    prepare_at: float = Field(gt=0, lt=1)
    activate_at: float = Field(gt=0, lt=1)


class RootRotation(_Section):
    """An operator replaces the root at ``at``."""

    at: Duration
    key: Literal["same", "new"] = "new"
    overlap: bool = True


class Ca(_Section):
    """The certificate authority that signs workload certificates."""

    workers: int = Field(default=1, ge=1, le=1024)
    sign_time: SignTime = Field(default="measured")
    service: Literal["fixed", "exponential"] = "fixed"
    outages: tuple[Outage, ...] = Field(default=(), strict=False)
    node_authorization: bool = False
    intermediate_ttl: OptionalPositiveDuration = None
    rotation: Rotation | None = None
    root_reissue_at: float | None = Field(default=None, gt=0, lt=1)
    root_rotations: tuple[RootRotation, ...] = Field(default=(), strict=False)
    bundle_delay: Duration = 0.0


class Agent(_Section):
    """The identity agents that fetch and rotate workload certificates."""

    backoff_initial: PositiveDuration = default_seconds("1s")
    backoff_max: PositiveDuration = default_seconds("60s")
    backoff_multiplier: float = Field(default=2.0, ge=1)
    backoff: Literal["exponential", "remaining"] = "exponential"
    backoff_jitter: float = Field(default=0.0, ge=0, lt=1)
    fast_retries: int = Field(default=0, ge=0, le=100)
    fast_retry_initial: PositiveDuration = default_seconds("100ms")
    remaining_fraction: float = Field(default=0.7, gt=0, lt=1)
    max_in_flight: int | None = Field(default=None, ge=1, le=MAX_COUNT)
    lifetime_from: Literal["agent-clock", "certificate"] = "agent-clock"
    token_refresh: bool = True


class Traffic(_Section):
    """Connections between workloads."""

    rate: float = Field(default=0.1, ge=0)
    detail: Literal["auto", "pairs", "classes"] = "auto"


class KeyTheft(_Section):
    """An attacker copies a workload's private key and certificate."""

    kind: Literal["key-theft"]
    start: Duration
    spread: Duration = 0.0
    node: str
    workload: str | None = None
    persistent: bool = False
    detected_after: OptionalPositiveDuration = None


class Mitm(_Section):
    """An attacker on a node intercepts connections and presents a cert."""

    kind: Literal["mitm"]
    start: Duration
    spread: Duration = 0.0
    duration: PositiveDuration
    node: str
    presents: Literal["none", "self-signed", "rogue-ca", "stolen"] = "none"


class TokenTheft(_Section):
    """An attacker copies service-account tokens and asks the CA for
    certificates with them until they expire."""

    kind: Literal["token-theft"]
    start: Duration
    spread: Duration = 0.0
    node: str
    workload: str | None = None
    interval: PositiveDuration = default_seconds("1h")


class Impersonation(_Section):
    """A compromised node agent asks the CA for every identity."""

    kind: Literal["impersonation"]
    start: Duration
    spread: Duration = 0.0
    node: str


Attack = Annotated[
    KeyTheft | Mitm | TokenTheft | Impersonation,
    Field(discriminator="kind"),
]
"""One attack of the scenario, told apart by its ``kind``."""

KINDS: Final = tuple(
    get_args(model.model_fields["kind"].annotation)[0]
    for model in (KeyTheft, Mitm, TokenTheft, Impersonation)
)
"""The values ``kind`` may take in an attack."""


class Scenario(_Section):
    """One validated scenario: the mesh, its PKI, and what attacks it."""

    name: Name
    profile: Profile | None = None
    seed: int = Field(default=1, ge=0, le=MAX_SEED)
    duration: RunDuration
    start_time: Timestamp = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    mesh: Mesh = Field(default_factory=Mesh)
    pki: Pki = Field(default_factory=Pki)
    ca: Ca = Field(default_factory=Ca)
    agent: Agent = Field(default_factory=Agent)
    traffic: Traffic = Field(default_factory=Traffic)
    attacks: tuple[Attack, ...] = Field(default=(), strict=False)

    @model_validator(mode="after")
    def _obey_rules(self, info: ValidationInfo) -> Self:
        context = info.context
        if isinstance(context, dict) and context.get(DEFER_RULES):
            return self
        findings = check_scenario(self)
        if findings:
            raise ValueError(
                "; ".join(
                    f"{format_path(f.path)}: {f.rule} "
                    f"(got {show_value(f.value)})"
                    for f in findings
                )
            )
        return self
