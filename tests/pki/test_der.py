"""DER sizes a modeled object works out when its contents change."""

from __future__ import annotations

import pytest

from meshsim.pki.der import resized_tlv


def der_size(contents: int) -> int:
    """X.690 8.1.3: one length byte below 128 bytes of contents, else
    0x80 + the number of length bytes, then those bytes."""
    if contents < 128:
        return 1 + 1 + contents
    return 1 + 1 + (contents.bit_length() + 7) // 8 + contents


@pytest.mark.parametrize(
    "contents", [40, 100, 127, 128, 200, 255, 256, 300, 65_535, 65_536]
)
@pytest.mark.parametrize("change", [-40, -5, -1, 0, 1, 5, 40])
def test_length_field_follows_the_new_contents(contents: int, change: int):
    assert resized_tlv(der_size(contents), change) == der_size(
        contents + change
    )
