"""The grace ratios at which slots renew, a sequence per slot.

Each slot (an identity an agent holds) renews when the remaining life of
its certificate falls to ``g`` of the lifetime, with ``g = grace_ratio ±
U(0, jitter)`` drawn anew for every certificate. The ``k``-th ratio of a
slot depends on the run's seed, the slot's row (the order in which slots
started) and ``k`` alone, never on when renewals happen. So scenarios
that differ in the CA, the traffic or the certificates' lifetime draw
the same ratios for the same slots, and points of a sweep compare under
common random numbers; a ratio drawn from one stream in event order
would instead move with every change in the order of installs.

Ratios come in tiles of ``_ROWS`` rows by ``_COLUMNS`` ratios, tile
``(b, j)`` holding ratios ``j * _COLUMNS`` onwards of rows ``b * _ROWS``
onwards, drawn in one numpy call from a generator seeded by the run's
grace seed and ``(b, j)``. A tile is drawn when the first of its rows
needs it and dropped when the last one has taken its part.
"""

from __future__ import annotations

from typing import Final

import numpy as np

__all__ = ["Graces"]

# Rows and ratios per tile: 256 rows of 16 ratios are 32 KiB of floats.
_ROWS: Final = 256
_COLUMNS: Final = 16


class Graces:
    """The grace ratios of every slot of a run.

    ``grace_ratio`` and ``jitter`` set the ratios, ``seed`` the run's
    stream for them (its spawn key is extended by each tile's).
    """

    def __init__(
        self,
        grace_ratio: float,
        jitter: float,
        seed: np.random.SeedSequence,
    ) -> None:
        self.grace_ratio = grace_ratio
        self.jitter = jitter
        self.seed = seed
        self.rows = 0
        self._tiles: dict[tuple[int, int], np.ndarray] = {}
        self._untaken: dict[tuple[int, int], int] = {}

    def next_row(self) -> int:
        """The row of a slot that starts now (rows are given in turn)."""
        row = self.rows
        self.rows += 1
        return row

    def block(self, row: int, index: int) -> list[float]:
        """Ratios ``index * _COLUMNS`` onwards of ``row``, in reverse
        order (the next one last, for ``list.pop``)."""
        if self.jitter == 0:
            return [self.grace_ratio] * _COLUMNS
        band, at = divmod(row, _ROWS)
        key = (band, index)
        tile = self._tiles.get(key)
        if tile is None:
            tile = self._draw(key)
            self._tiles[key] = tile
            self._untaken[key] = _ROWS
        ratios: list[float] = tile[at, ::-1].tolist()
        # NOTE: a tile some of whose rows never ask (those past the last
        # slot, a deleted churned pod's) stays to the end of the run:
        # 32 KiB per 16 renewals of the slots that do, a few MiB over
        # months of hourly renewals. Dropping it early would redraw it
        # for each churned pod that starts in its band.
        self._untaken[key] -= 1
        if self._untaken[key] == 0:
            del self._tiles[key], self._untaken[key]
        return ratios

    def _draw(self, key: tuple[int, int]) -> np.ndarray:
        """Tile ``key``: offsets U(0, jitter), then their signs."""
        seed = np.random.SeedSequence(
            self.seed.entropy, spawn_key=(*self.seed.spawn_key, *key)
        )
        rng = np.random.Generator(np.random.PCG64(seed))
        count = _ROWS * _COLUMNS
        offsets = rng.uniform(0.0, self.jitter, count)
        signs = np.where(rng.random(count) < 0.5, 1.0, -1.0)
        tile: np.ndarray = (self.grace_ratio + signs * offsets).reshape(
            _ROWS, _COLUMNS
        )
        return tile
