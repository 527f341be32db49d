"""What the CA is set to do: its lifetimes, workers, service time,
outages and the changes of its hierarchy (:class:`CaPolicy`), as the
scenario gives them to :class:`~meshsim.mesh.ca.CaServer`."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CaPolicy", "Outage", "RootChange"]


@dataclass(frozen=True, slots=True)
class Outage:
    """A span ``[start_s, end_s)`` during which the CA is unreachable."""

    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class RootChange:
    """An operator replaces the root at ``at_s``, with the same key or a
    new one, publishing old and new roots together (``overlap``) or the
    new one alone."""

    at_s: float
    same_key: bool
    overlap: bool


@dataclass(frozen=True, slots=True)
class CaPolicy:
    """What the CA signs, with what, and how its hierarchy changes."""

    trust_domain: str
    key_algorithm: str
    root_ttl_s: float
    workload_ttl_s: float
    max_workload_ttl_s: float
    backdate_s: float
    workers: int
    sign_time_s: float | None
    allowance_s: float = 0.0
    outages: tuple[Outage, ...] = ()
    intermediate_ttl_s: float | None = None
    rotation: tuple[float, float] | None = None
    root_reissue_at: float | None = None
    root_changes: tuple[RootChange, ...] = ()
    node_authorization: bool = False
    exponential_service: bool = False
    # Callers may go while their CSR is open (churned pods are deleted).
    cancellable: bool = False
