"""Certificate serial numbers: positive, unique in practice, drawn from
one random stream (RFC 5280 allows up to 20 octets; these hold 127 bits
at most, the lowest always set, so none is zero)."""

from __future__ import annotations

from typing import Final

import numpy as np

__all__ = ["SerialNumbers"]

# Serial numbers drawn per numpy call.
_SERIAL_BLOCK: Final = 1024


class SerialNumbers:
    """Positive serial numbers of at most 127 bits from one random stream,
    drawn a block at a time."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self._block: list[int] = []

    def draw(self) -> int:
        """The next serial number."""
        if not self._block:
            halves = self.rng.integers(
                0, 2**64, size=(_SERIAL_BLOCK, 2), dtype=np.uint64
            ).tolist()
            self._block = [(hi << 63 | lo >> 1) | 1 for hi, lo in halves]
            self._block.reverse()
        return self._block.pop()
