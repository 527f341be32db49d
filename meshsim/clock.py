"""Simulated seconds and real timestamps, converted in one place.

A run starts at ``start`` (an aware datetime). Simulated time ``t`` (float
seconds since the start) maps to ``start + t``. Certificates carry whole
seconds, so :meth:`SimClock.to_datetime` keeps microseconds and
:meth:`SimClock.x509_time` floors to the second.

Modeled certificates keep their dates as integer microseconds since the
Unix epoch instead of datetimes (a large run makes millions):
:meth:`SimClock.to_posix_us` gives the same microsecond as
:meth:`SimClock.to_datetime`, and :meth:`SimClock.posix_us_to_seconds`
the same seconds as :meth:`SimClock.to_seconds`.

:func:`simulated_now` reads SimPy's clock (``env.now``) on the
per-renewal path without the cost of its property.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

import simpy

from meshsim.pki.der import posix_us, whole_second

__all__ = ["ACCEPTED_PAST_NOT_AFTER_S", "SimClock", "simulated_now"]

ACCEPTED_PAST_NOT_AFTER_S: Final = 1.0
"""How long past its NotAfter a certificate is still accepted: X.509
times are whole seconds and NotAfter is inclusive, so a check floors the
time to the second (through NotAfter + 0.999 s)."""


def simulated_now(env: simpy.Environment) -> float:
    """``env.now``: the simulated seconds of the event being processed.

    NOTE: SimPy's ``now`` is a Python-level property, a Python call per
    read (about 500 instructions from a compiled module), and a renewal
    reads the clock about eight times; this reads the attribute the
    property returns, which ``Environment.step`` sets. Used on the
    per-renewal path only; tests/test_clock.py checks that it follows
    ``env.now``, so a SimPy that stores the time elsewhere fails the
    suite instead of the model. It can go once reading ``env.now`` costs
    no Python call.
    """
    now: float = env._now
    return now


@dataclass(frozen=True, slots=True)
class SimClock:
    """The one mapping between simulated seconds and UTC datetimes."""

    start: datetime
    _utc_start: datetime = field(init=False, repr=False, compare=False)
    _start_us: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError(
                f"start: {self.start.isoformat()} must be timezone-aware"
            )
        # Kept in UTC once, so that each conversion is one addition.
        object.__setattr__(self, "_utc_start", self.start.astimezone(UTC))
        object.__setattr__(self, "_start_us", posix_us(self.start))

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

    def to_posix_us(self, t: float) -> int:
        """Microseconds since the Unix epoch at simulated second ``t``:
        those of :meth:`to_datetime`, without making a datetime."""
        # As timedelta does: the whole seconds exactly, the fraction's
        # microseconds rounded half to even. (A float less its integer
        # part, both toward zero, is exact.)
        whole = int(t)
        return (
            self._start_us + whole * 1_000_000 + _half_even((t - whole) * 1e6)
        )

    def posix_us_to_seconds(self, us: int) -> float:
        """Simulated seconds of microseconds since the Unix epoch: what
        :meth:`to_seconds` gives for the same instant."""
        return (us - self._start_us) / 1e6


def _half_even(x: float) -> int:
    """``round(x)``: the nearest integer, ties to the even one.

    NOTE: the built-in, called from a compiled module, goes through
    Python's generic call (about 650 instructions; a modeled renewal
    converts twice); this is native arithmetic. Tested against
    ``round`` in tests/test_clock.py; it can go once the compiler calls
    ``round`` natively.
    """
    if x < 0.0:
        return -_half_even(-x)
    low = int(x)
    # A non-negative float less its integer part is exact.
    rest = x - low
    if rest > 0.5 or (rest == 0.5 and low % 2 == 1):
        return low + 1
    return low
