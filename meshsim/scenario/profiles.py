"""Profiles: the defaults of real meshes, each value with its source.

A scenario that names ``profile: <name>`` starts from that mesh's values;
any key the scenario sets wins. ``meshsim profiles`` prints this table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["PROFILE_SETTINGS", "Setting", "with_profile"]


@dataclass(frozen=True, slots=True)
class Setting:
    """One default of a profile: dotted key, value and where it is from."""

    key: str
    value: object
    source: str


_ISTIO_AGENT = "Istio pilot-agent (security/pkg/nodeagent)"
_ISTIO_CA = "Istio istiod CA (security/pkg/pki/ca)"
_ZTUNNEL = "Istio ztunnel (src/identity)"
_SPIRE_AGENT = "SPIRE agent (pkg/agent/manager, svid rotator)"
_SPIRE_SERVER = "SPIRE server (pkg/server/ca/manager)"
_LINKERD = "Linkerd proxy identity (linkerd2-proxy identity client)"
_LINKERD_CA = "Linkerd identity controller (controller/identity)"

PROFILE_SETTINGS: Final[Mapping[str, tuple[Setting, ...]]] = {
    "istio-sidecar": (
        Setting("mesh.agent", "per-workload", "one pilot-agent per pod"),
        Setting("pki.key", "rsa-2048", f"{_ISTIO_AGENT}: RSA 2048 default"),
        Setting("pki.workload_ttl", "24h", "SECRET_TTL default 24h"),
        Setting("pki.max_workload_ttl", "90d", "MAX_WORKLOAD_CERT_TTL"),
        Setting("pki.grace_ratio", 0.5, "SECRET_GRACE_PERIOD_RATIO"),
        Setting("pki.jitter", 0.01, "SECRET_GRACE_PERIOD_RATIO_JITTER"),
        Setting("pki.backdate", "2m", f"{_ISTIO_CA}: NotBefore backdate"),
        Setting("pki.token_ttl", "12h", "projected token, audience istio-ca"),
        Setting("pki.root_ttl", "3650d", f"{_ISTIO_CA}: self-signed root"),
        Setting("ca.root_reissue_at", 0.2, "root rotator: < 20% left"),
        Setting("agent.lifetime_from", "agent-clock", _ISTIO_AGENT),
        Setting("agent.fast_retries", 5, "CA client: 5 quick retries"),
        Setting("agent.fast_retry_initial", "100ms", "CA client retry"),
        Setting("agent.backoff_initial", "500ms", "secret cache backoff"),
        Setting("agent.backoff_max", "60s", "secret cache backoff cap"),
        Setting("agent.backoff_multiplier", 2.0, "exponential backoff"),
        Setting("agent.backoff_jitter", 0.1, "10% retry jitter"),
    ),
    "istio-ambient": (
        Setting("mesh.agent", "per-node", f"{_ZTUNNEL}: one per node"),
        Setting("pki.key", "ecdsa-p256", f"{_ZTUNNEL}: ECDSA P-256"),
        Setting("pki.workload_ttl", "24h", "istiod default TTL"),
        Setting("pki.max_workload_ttl", "90d", "MAX_WORKLOAD_CERT_TTL"),
        Setting("pki.grace_ratio", 0.5, f"{_ZTUNNEL}: renew at half-life"),
        Setting("pki.jitter", 0.0, f"{_ZTUNNEL}: no jitter"),
        Setting("pki.backdate", "2m", f"{_ISTIO_CA}: NotBefore backdate"),
        Setting("pki.token_ttl", "12h", "projected token, audience istio-ca"),
        Setting("pki.root_ttl", "3650d", f"{_ISTIO_CA}: self-signed root"),
        Setting("ca.root_reissue_at", 0.2, "root rotator: < 20% left"),
        Setting("ca.node_authorization", True, "istiod node authorizer"),
        Setting("agent.lifetime_from", "certificate", "NotBefore + life/2"),
        Setting("agent.max_in_flight", 8, f"{_ZTUNNEL}: 8 CSRs at once"),
        Setting("agent.backoff_initial", "1s", f"{_ZTUNNEL}: retry"),
        Setting("agent.backoff_multiplier", 2.0, "doubling"),
        Setting("agent.backoff_jitter", 0.2, "±20%"),
        Setting("agent.backoff_max", "150s", "capped at 150 s"),
    ),
    "spire": (
        Setting("mesh.agent", "per-node", f"{_SPIRE_AGENT}: one per node"),
        Setting("pki.key", "ecdsa-p256", "EC P-256 default key type"),
        Setting("pki.workload_ttl", "1h", "default_x509_svid_ttl"),
        Setting(
            "pki.max_workload_ttl",
            "24h",
            "no limit of its own: SVIDs are cut to the CA's NotAfter",
        ),
        Setting("pki.grace_ratio", 0.5, f"{_SPIRE_AGENT}: rotate at ~1/2"),
        Setting("pki.jitter", 0.05, "U(0.45, 0.55) of the lifetime"),
        Setting("pki.backdate", "10s", f"{_SPIRE_SERVER}: backdate"),
        Setting("pki.root_ttl", "24h", "ca_ttl default 24h"),
        # NOTE: the agent's own SVID from node attestation is modelled as a
        # token of its lifetime; re-attestation is not modelled.
        Setting("pki.token_ttl", "1h", "agent SVID from node attestation"),
        Setting(
            "ca.rotation",
            {"prepare_at": 0.5, "activate_at": 5 / 6},
            f"{_SPIRE_SERVER}: prepare at 1/2, activate at 5/6",
        ),
        Setting("agent.lifetime_from", "certificate", "NotAfter - NotBefore"),
        Setting("agent.backoff_initial", "5s", "sync interval 5 s"),
        Setting("agent.backoff_max", "8m", "backoff capped at 8 min"),
        Setting("agent.backoff_multiplier", 2.0, "doubling"),
    ),
    "linkerd": (
        Setting("mesh.agent", "per-workload", "one proxy per pod"),
        Setting("pki.key", "ecdsa-p256", f"{_LINKERD}: ECDSA P-256 only"),
        Setting("pki.workload_ttl", "24h", "issuanceLifetime 24h"),
        Setting(
            "pki.max_workload_ttl",
            "365d",
            "no limit of its own: leaves are cut to the issuer's NotAfter",
        ),
        Setting("pki.grace_ratio", 0.3, "refresh after 70% of remaining"),
        Setting("pki.jitter", 0.0, "no jitter"),
        Setting("pki.backdate", "20s", f"{_LINKERD_CA}: clockSkewAllowance"),
        Setting("pki.not_after_allowance", "20s", "also added to NotAfter"),
        Setting(
            "pki.root_ttl",
            "3650d",
            "trust anchor, kept offline (--not-after=87600h in Linkerd's "
            "certificate guide)",
        ),
        Setting(
            "ca.intermediate_ttl",
            "365d",
            "issuer certificate (--not-after 8760h in the same guide)",
        ),
        Setting("agent.lifetime_from", "agent-clock", "remaining from now"),
        Setting("agent.backoff", "remaining", "retry at 70% of remaining"),
        Setting("agent.remaining_fraction", 0.7, "refresh at 70%"),
        Setting("agent.backoff_initial", "10s", "refresh clamped ≥ 10 s"),
        Setting("agent.backoff_max", "24h", "refresh clamped ≤ 24 h"),
    ),
}


def with_profile(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """``data`` over the defaults of the profile it names, if any.

    An unknown profile name is left for the schema to report.
    """
    name = data.get("profile")
    settings = PROFILE_SETTINGS.get(name) if isinstance(name, str) else None
    if settings is None:
        return data
    defaults: dict[str, Any] = {}
    for setting in settings:
        section, key = setting.key.split(".", 1)
        defaults.setdefault(section, {})[key] = setting.value
    merged: Mapping[str, Any] = _over(defaults, data)
    return merged


def _over(under: Any, value: Any) -> Any:
    """``value`` laid over ``under``: mappings key by key, at any depth
    (a file setting ``ca.rotation.prepare_at`` keeps the profile's
    ``activate_at``); anything else replaces what is under it."""
    if not isinstance(under, dict) or not isinstance(value, Mapping):
        return value
    return {
        **under,
        **{key: _over(under.get(key), item) for key, item in value.items()},
    }
