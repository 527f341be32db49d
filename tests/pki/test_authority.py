"""The CA's signing rules, checked on real certificates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from meshsim.identity import workload_spiffe_id
from meshsim.pki.authority import (
    CertificateAuthority,
    CsrRefusedError,
    self_signed_root,
)
from meshsim.pki.csr import build_csr
from meshsim.pki.keys import generate_key
from meshsim.pki.svid import verify_svid

START = datetime(2026, 1, 1, tzinfo=UTC)
ALICE = workload_spiffe_id("cluster.local", "ns-0", "alice")
MALLORY = workload_spiffe_id("cluster.local", "ns-0", "mallory")


def make_ca(
    not_after: datetime = START + timedelta(days=3650),
) -> CertificateAuthority:
    key = generate_key("ecdsa-p256")
    root = self_signed_root(key, "cluster.local", START, not_after, 1)
    return CertificateAuthority(key, (root,), timedelta(days=90))


def sign(
    ca: CertificateAuthority,
    asked: x509.CertificateSigningRequest,
    now: datetime = START + timedelta(hours=1),
    ttl: timedelta = timedelta(hours=24),
) -> tuple[x509.Certificate, ...]:
    return ca.sign_workload(
        asked, ALICE, now, ttl, timedelta(minutes=2), serial_number=42
    )


def test_ca_refuses_csr_for_another_identity() -> None:
    ca = make_ca()
    csr = build_csr(generate_key("ecdsa-p256"), MALLORY)

    with pytest.raises(CsrRefusedError) as refused:
        sign(ca, csr)

    assert refused.value.reason == "identity-mismatch"


def test_ca_refuses_ttl_above_max_workload_ttl() -> None:
    ca = make_ca()
    csr = build_csr(generate_key("ecdsa-p256"), ALICE)

    with pytest.raises(CsrRefusedError) as refused:
        sign(ca, csr, ttl=timedelta(days=90, seconds=1))

    assert refused.value.reason == "ttl-too-long"


def test_ca_refuses_to_sign_with_an_expired_signer() -> None:
    ca = make_ca(not_after=START + timedelta(days=1))
    csr = build_csr(generate_key("ecdsa-p256"), ALICE)

    with pytest.raises(CsrRefusedError) as refused:
        sign(ca, csr, now=START + timedelta(days=1, seconds=1))

    assert refused.value.reason == "signer-expired"


def test_leaf_is_an_x509_svid_with_backdated_validity() -> None:
    ca = make_ca()
    now = START + timedelta(hours=1, microseconds=700_000)
    csr = build_csr(generate_key("rsa-2048"), ALICE)

    (leaf,) = sign(ca, csr, now=now)

    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.value.get_values_for_type(x509.UniformResourceIdentifier) == [
        "spiffe://cluster.local/ns/ns-0/sa/alice"
    ]
    assert san.critical
    basic = leaf.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.value.ca is False
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.key_encipherment
    assert not usage.key_cert_sign and not usage.crl_sign
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert list(eku.value) == [
        ExtendedKeyUsageOID.SERVER_AUTH,
        ExtendedKeyUsageOID.CLIENT_AUTH,
    ]
    # NotBefore = now - 2 min, NotAfter = now + 24h, floored to the second.
    assert leaf.not_valid_before_utc == datetime(2026, 1, 1, 0, 58, tzinfo=UTC)
    assert leaf.not_valid_after_utc == datetime(2026, 1, 2, 1, 0, tzinfo=UTC)
    assert verify_svid((leaf,), {"cluster.local": [ca.chain[0]]}, now) == ALICE


def test_leaf_not_after_is_clamped_to_the_signer() -> None:
    ca_end = START + timedelta(hours=10)
    ca = make_ca(not_after=ca_end)
    csr = build_csr(generate_key("ecdsa-p256"), ALICE)

    (leaf,) = sign(ca, csr, ttl=timedelta(hours=24))

    assert leaf.not_valid_after_utc == ca_end
