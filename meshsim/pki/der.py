"""PEM blocks and back-to-back DER elements, read without a library.

Only what reading X509-SVIDs and bundles needs: the PEM blocks of a text
in order, DER SEQUENCEs laid end to end, and whether a DER element is a
PKCS#8 PrivateKeyInfo; and, for modeled objects, the size of a DER
element whose contents grow or shrink, what validity dates from 2050 on
add to a certificate, and a time cut to the whole second DER keeps.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime, timedelta

__all__ = [
    "GENERALIZED_FROM",
    "GENERALIZED_FROM_US",
    "MICROSECOND",
    "UNIX_EPOCH",
    "dated_growth",
    "dated_growth_us",
    "from_posix_us",
    "is_private_key_info",
    "pem_blocks",
    "posix_us",
    "read_tlv",
    "resized_tlv",
    "split_der",
    "whole_second",
    "whole_second_us",
]

GENERALIZED_FROM = datetime(2050, 1, 1, tzinfo=UTC)
"""The first validity date X.509 writes as a GeneralizedTime (RFC 5280
4.1.2.5), two bytes longer than the UTCTime of the dates before it."""

UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

MICROSECOND = timedelta(microseconds=1)

GENERALIZED_FROM_US = (GENERALIZED_FROM - UNIX_EPOCH) // MICROSECOND
"""The same instant in microseconds since the Unix epoch."""


_PEM_BLOCK = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.DOTALL
)


def pem_blocks(data: bytes) -> list[tuple[str, bytes]]:
    """The (label, DER) of each well-formed PEM block, in order.

    NOTE: a block with RFC 1421 headers (such as an encrypted key) is
    skipped, its body not being plain base64; meshsim never writes one.
    """
    blocks = []
    for match in _PEM_BLOCK.finditer(data):
        body = b"".join(match.group(2).split())
        try:
            der = base64.b64decode(body, validate=True)
        except binascii.Error:
            continue
        blocks.append((match.group(1).decode("ascii"), der))
    return blocks


_SEQUENCE = 0x30
_INTEGER = 0x02


def split_der(data: bytes) -> list[bytes]:
    """Split back-to-back DER SEQUENCEs; raise ValueError if malformed."""
    pieces = []
    offset = 0
    while offset < len(data):
        tag, _, end = read_tlv(data, offset)
        if tag != _SEQUENCE:
            raise ValueError(f"element at byte {offset} is not a SEQUENCE")
        pieces.append(data[offset:end])
        offset = end
    return pieces


def is_private_key_info(der: bytes) -> bool:
    """SEQUENCE { INTEGER version, SEQUENCE algorithm, ... } spanning der."""
    tag, start, end = read_tlv(der, 0)
    if tag != _SEQUENCE or end != len(der):
        return False
    version_tag, _, version_end = read_tlv(der, start)
    algorithm_tag, _, _ = read_tlv(der, version_end)
    return version_tag == _INTEGER and algorithm_tag == _SEQUENCE


def read_tlv(data: bytes, offset: int) -> tuple[int, int, int]:
    """(tag, content start, end) of the DER element at ``offset``."""
    if offset + 2 > len(data):
        raise ValueError(f"truncated DER element at byte {offset}")
    tag, first = data[offset], data[offset + 1]
    start = offset + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if not 1 <= count <= 4 or start + count > len(data):
            raise ValueError(f"bad DER length at byte {offset}")
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    end = start + length
    if end > len(data):
        raise ValueError(f"DER element at byte {offset} overruns the input")
    return tag, start, end


def resized_tlv(size: int, change: int) -> int:
    """The size of a DER element of ``size`` bytes (one tag byte) once
    its contents change by ``change`` bytes: its length field takes one
    byte below 128 bytes of contents, two below 256, three below 65,536.
    """
    # Called for every modeled CSR and leaf: plain comparisons.
    if size <= 0x7F + 2:
        contents = size - 2
    elif size <= 0xFF + 3:
        contents = size - 3
    else:
        contents = size - 1 - _length_octets(size - 4)
    contents += change
    return 1 + _length_octets(contents) + contents


def _length_octets(contents: int) -> int:
    if contents < 0x80:
        return 1
    if contents <= 0xFF:
        return 2
    return 1 + (contents.bit_length() + 7) // 8


def dated_growth(*dates: datetime) -> int:
    """The bytes validity ``dates`` add to a certificate over dates
    before 2050: two for each one written as a GeneralizedTime."""
    return dated_growth_us(*[posix_us(date) for date in dates])


def dated_growth_us(*dates_us: int) -> int:
    """:func:`dated_growth` of dates in microseconds since the epoch."""
    return 2 * sum(date >= GENERALIZED_FROM_US for date in dates_us)


def posix_us(at: datetime) -> int:
    """An aware datetime as whole microseconds since the Unix epoch."""
    return (at - UNIX_EPOCH) // MICROSECOND


def from_posix_us(us: int) -> datetime:
    """The UTC datetime ``us`` microseconds after the Unix epoch."""
    return UNIX_EPOCH + timedelta(microseconds=us)


def whole_second_us(us: int) -> int:
    """Microseconds since the epoch without their fraction of a second:
    :func:`whole_second` on integers."""
    return us - us % 1_000_000


def whole_second(at: datetime) -> datetime:
    """``at`` without its fraction of a second, as X.509 times are
    written."""
    # Subtracting the microseconds takes half the time of
    # ``replace(microsecond=0)``, and runs make several per renewal.
    return at - timedelta(0, 0, at.microsecond)
