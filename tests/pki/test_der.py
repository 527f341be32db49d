"""DER sizes a modeled object works out when its contents change, and
times cut to the whole seconds DER writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from meshsim.pki.der import dated_growth, resized_tlv, whole_second


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


def test_dates_from_2050_are_two_bytes_longer() -> None:
    # RFC 5280 4.1.2.5: UTCTime YYMMDDHHMMSSZ through 2049, GeneralizedTime
    # YYYYMMDDHHMMSSZ from 2050.
    last_utc = datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC)
    first_generalized = datetime(2050, 1, 1, tzinfo=UTC)

    assert dated_growth(last_utc, last_utc) == 0
    assert dated_growth(last_utc, first_generalized) == 2
    assert dated_growth(first_generalized, first_generalized) == 4


@pytest.mark.parametrize("zone", [UTC, timezone(timedelta(hours=-7))])
def test_times_keep_whole_seconds_and_their_zone(zone: timezone) -> None:
    # RFC 5280 4.1.2.5: validity times carry no fraction of a second.
    at = datetime(2049, 12, 31, 23, 59, 59, 999_999, tzinfo=zone)
    cut = whole_second(at)
    assert cut == datetime(2049, 12, 31, 23, 59, 59, tzinfo=zone)
    assert cut.tzinfo is zone
    assert whole_second(cut) == cut
