"""Certificates built in-test for the X509-SVID rules.

``certs`` is a factory for roots, intermediates and leaves with exactly the
fields a rule test needs changed; every other field follows the X509-SVID
profile (CA: CA=true, keyCertSign; leaf: one URI SAN, digitalSignature).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

T0 = datetime(2026, 1, 1, tzinfo=UTC)
"""Start of every validity period unless a test says otherwise."""

LEAF_LIFETIME = timedelta(days=1)
CA_LIFETIME = timedelta(days=3650)
WORKLOAD = "spiffe://domain1.test/workload"


def key_usage(*names: str) -> x509.KeyUsage:
    """A KeyUsage asserting only the named bits (RFC 5280 names, snake)."""
    bits = {
        "digital_signature": False,
        "content_commitment": False,
        "key_encipherment": False,
        "data_encipherment": False,
        "key_agreement": False,
        "key_cert_sign": False,
        "crl_sign": False,
        "encipher_only": False,
        "decipher_only": False,
    }
    for name in names:
        if name not in bits:
            raise ValueError(f"key usage {name!r} is not an RFC 5280 bit")
        bits[name] = True
    return x509.KeyUsage(**bits)


CA_USAGE = key_usage("key_cert_sign", "crl_sign")
LEAF_USAGE = key_usage("digital_signature")


@dataclass(frozen=True)
class Issued:
    """A certificate and the key it certifies."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


class CertFactory:
    """Builds P-256 certificates; serials count up from 1.

    The class attributes are the defaults the builders use, so that tests
    can name times and identities relative to them.
    """

    t0 = T0
    leaf_lifetime = LEAF_LIFETIME
    workload = WORKLOAD

    def __init__(self) -> None:
        self._serial = 0

    @staticmethod
    def usage(*names: str) -> x509.KeyUsage:
        """A KeyUsage asserting only the named bits."""
        return key_usage(*names)

    def root(
        self,
        common_name: str = "domain1.test root",
        *,
        not_before: datetime = T0,
        not_after: datetime = T0 + CA_LIFETIME,
        usage: x509.KeyUsage | None = CA_USAGE,
        constraints_critical: bool = True,
    ) -> Issued:
        """A self-signed CA certificate."""
        return self._ca(
            None,
            common_name,
            not_before,
            not_after,
            usage,
            constraints_critical,
            ca=True,
        )

    def intermediate(
        self,
        parent: Issued,
        common_name: str = "domain1.test intermediate",
        *,
        not_before: datetime = T0,
        not_after: datetime = T0 + CA_LIFETIME,
        usage: x509.KeyUsage | None = CA_USAGE,
        constraints_critical: bool = True,
        ca: bool = True,
    ) -> Issued:
        """A signing certificate issued by ``parent``."""
        return self._ca(
            parent,
            common_name,
            not_before,
            not_after,
            usage,
            constraints_critical,
            ca=ca,
        )

    def leaf(
        self,
        issuer: Issued | None,
        uris: Sequence[str] = (WORKLOAD,),
        *,
        subject: x509.Name | None = None,
        san_critical: bool = True,
        not_before: datetime = T0,
        not_after: datetime = T0 + LEAF_LIFETIME,
        usage: x509.KeyUsage | None = LEAF_USAGE,
        ca: bool = False,
        eku: Sequence[x509.ObjectIdentifier] | None = None,
        authority_key_id: bool = True,
    ) -> Issued:
        """A leaf issued by ``issuer``, or self-signed when it is None.

        The subject is empty by default, as mesh CAs issue it.
        """
        key = ec.generate_private_key(ec.SECP256R1())
        name = subject if subject is not None else x509.Name([])
        builder = self._base(
            name,
            issuer.cert.subject if issuer is not None else name,
            key,
            not_before,
            not_after,
        ).add_extension(
            x509.BasicConstraints(ca=ca, path_length=None), critical=True
        )
        if uris:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.UniformResourceIdentifier(u) for u in uris]
                ),
                critical=san_critical,
            )
        if usage is not None:
            builder = builder.add_extension(usage, critical=True)
        if eku is not None:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage(list(eku)), critical=False
            )
        if authority_key_id and issuer is not None:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    issuer.key.public_key()
                ),
                critical=False,
            )
        signing_key = issuer.key if issuer is not None else key
        return Issued(builder.sign(signing_key, hashes.SHA256()), key)

    def _ca(
        self,
        parent: Issued | None,
        common_name: str,
        not_before: datetime,
        not_after: datetime,
        usage: x509.KeyUsage | None,
        constraints_critical: bool,
        *,
        ca: bool,
    ) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "meshsim test"),
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            ]
        )
        builder = (
            self._base(
                name,
                parent.cert.subject if parent is not None else name,
                key,
                not_before,
                not_after,
            )
            .add_extension(
                x509.BasicConstraints(ca=ca, path_length=None),
                critical=constraints_critical,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                critical=False,
            )
        )
        if usage is not None:
            builder = builder.add_extension(usage, critical=True)
        signing_key = parent.key if parent is not None else key
        return Issued(builder.sign(signing_key, hashes.SHA256()), key)

    def _base(
        self,
        subject: x509.Name,
        issuer: x509.Name,
        key: ec.EllipticCurvePrivateKey,
        not_before: datetime,
        not_after: datetime,
    ) -> x509.CertificateBuilder:
        self._serial += 1
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(self._serial)
            .not_valid_before(not_before)
            .not_valid_after(not_after)
        )


@pytest.fixture
def certs() -> CertFactory:
    """A fresh certificate factory."""
    return CertFactory()


@pytest.fixture
def ca1(certs: CertFactory) -> Issued:
    """The root of domain1.test."""
    return certs.root()


@pytest.fixture
def verify_time() -> datetime:
    """A verification time inside every default validity period."""
    return T0 + timedelta(hours=1)
