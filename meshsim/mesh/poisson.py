"""Poisson counts drawn one at a time, cheaply.

Traffic engines draw one Poisson count per outcome for every span they
close, most with a mean far below one connection (a span between two
installs a few milliseconds apart). A numpy call per draw costs about a
microsecond; :class:`PoissonCounts` inverts the Poisson distribution
function instead, walking up from ``P(0) = exp(-mean)`` until it passes
a uniform variate taken from a block drawn with one numpy call. The walk
takes about ``mean + 1`` steps, so means above :data:`INVERTED_UP_TO`
are drawn by numpy.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

__all__ = ["INVERTED_UP_TO", "PoissonCounts"]

INVERTED_UP_TO: Final = 10.0
"""The largest mean drawn by inversion; larger ones are drawn by numpy."""

# Uniform variates drawn per numpy call.
_UNIFORM_BLOCK: Final = 4096


class PoissonCounts:
    """Draws of Poisson counts from one random stream."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self._uniforms: list[float] = []

    def draw(self, mean: float) -> int:
        """One draw of a Poisson count of mean ``mean`` (``mean >= 0``)."""
        if mean <= 0.0:
            return 0
        if mean > INVERTED_UP_TO:
            return int(self.rng.poisson(mean))
        if not self._uniforms:
            self._uniforms = self.rng.random(_UNIFORM_BLOCK).tolist()
        uniform = self._uniforms.pop()

        # Find the least k whose distribution function reaches the
        # variate. The walk stops early only if a term underflows, which
        # leaves out a tail far below one in a billion.
        term = math.exp(-mean)
        cumulative = term
        count = 0
        while uniform > cumulative and term > 0.0:
            count += 1
            term *= mean / count
            cumulative += term
        return count
