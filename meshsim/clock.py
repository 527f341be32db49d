"""Simulated seconds and real timestamps, converted in one place.

A run starts at ``start`` (an aware datetime). Simulated time ``t`` (float
seconds since the start) maps to ``start + t``. Certificates carry whole
seconds, so :meth:`SimClock.to_datetime` keeps microseconds and
:meth:`SimClock.x509_time` floors to the second.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from meshsim.pki.der import whole_second

__all__ = ["SimClock"]


@dataclass(frozen=True, slots=True)
class SimClock:
    """The one mapping between simulated seconds and UTC datetimes."""

    start: datetime
    _utc_start: datetime = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError(
                f"start: {self.start.isoformat()} must be timezone-aware"
            )
        # Kept in UTC once, so that each conversion is one addition.
        object.__setattr__(self, "_utc_start", self.start.astimezone(UTC))

    def to_datetime(self, t: float) -> datetime:
        """The UTC datetime at simulated second ``t``."""
        # Positional: a third faster than ``timedelta(seconds=t)``.
        return self._utc_start + timedelta(0, t)

    def x509_time(self, t: float) -> datetime:
        """The datetime at ``t`` floored to the second, as X.509 stores it."""
        return whole_second(self.to_datetime(t))

    def to_seconds(self, when: datetime) -> float:
        """Simulated seconds of an aware datetime (may be negative)."""
        return (when - self.start).total_seconds()
