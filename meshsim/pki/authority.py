"""A certificate authority that signs X509-SVIDs for workloads.

The authority checks what a CA can check from the CSR alone: its signature,
that it asks for exactly the SPIFFE ID the caller was authenticated as, and
that the requested lifetime is allowed. Who the caller is (token review,
node authorization) is decided by the mesh before :meth:`sign_workload`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPublicKeyTypes,
)
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from meshsim.identity import SpiffeId
from meshsim.pki.csr import requested_uris
from meshsim.pki.der import whole_second
from meshsim.pki.keys import PrivateKey, signature_hash

__all__ = [
    "UB_COMMON_NAME",
    "CertificateAuthority",
    "CsrRefusedError",
    "intermediate_name",
    "leaf_builder",
    "self_signed_root",
]


class CsrRefusedError(ValueError):
    """The CA refuses a CSR; ``reason`` is a short kebab-case code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


UB_COMMON_NAME = 64
"""The longest X.509 common name (RFC 5280's ub-common-name)."""


def intermediate_name(trust_domain: str) -> str:
    """The name of the CA server's intermediates in ``trust_domain``."""
    return f"{trust_domain} intermediate"


def self_signed_root(
    key: PrivateKey,
    trust_domain: str,
    not_before: datetime,
    not_after: datetime,
    serial_number: int,
    organization: str = "meshsim",
) -> x509.Certificate:
    """A root CA certificate: CA=true, keyCertSign and cRLSign, critical."""
    name = _ca_name(f"{trust_domain} root", organization)
    public_key = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(serial_number)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.BasicConstraints(ca=True, path_length=None), critical=True
        )
        .add_extension(_ca_key_usage(), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(public_key),
            critical=False,
        )
    )
    return builder.sign(key, signature_hash(key))


@dataclass(frozen=True, slots=True)
class CertificateAuthority:
    """A signing key with its certificate and the chain above it.

    ``chain`` holds the CA's own certificate first, then every certificate
    above it up to and including the root; for a root CA it is the root.
    """

    key: PrivateKey
    chain: tuple[x509.Certificate, ...]
    max_workload_ttl: timedelta

    @property
    def certificate(self) -> x509.Certificate:
        """The signing certificate."""
        return self.chain[0]

    @property
    def root(self) -> x509.Certificate:
        """The trust anchor this CA chains to."""
        return self.chain[-1]

    def issue_intermediate(
        self,
        key: PrivateKey,
        not_before: datetime,
        not_after: datetime,
        serial_number: int,
        name: str,
    ) -> CertificateAuthority:
        """A CA one level below this one, for ``key``; its NotAfter is
        clamped to this CA's chain."""
        ceiling = min(c.not_valid_after_utc for c in self.chain)
        public_key = key.public_key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(_ca_name(name))
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(serial_number)
            .not_valid_before(not_before)
            .not_valid_after(min(not_after, ceiling))
            .add_extension(
                x509.BasicConstraints(ca=True, path_length=0), critical=True
            )
            .add_extension(_ca_key_usage(), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(public_key),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                    self.certificate.extensions.get_extension_for_class(
                        x509.SubjectKeyIdentifier
                    ).value
                ),
                critical=False,
            )
        )
        signed = builder.sign(self.key, signature_hash(self.key))
        return CertificateAuthority(
            key=key,
            chain=(signed, *self.chain),
            max_workload_ttl=self.max_workload_ttl,
        )

    def sign_workload(
        self,
        csr: x509.CertificateSigningRequest,
        spiffe_id: SpiffeId,
        now: datetime,
        ttl: timedelta,
        backdate: timedelta,
        serial_number: int,
        allowance: timedelta = timedelta(0),
    ) -> tuple[x509.Certificate, ...]:
        """Sign a leaf for ``spiffe_id``; return the chain, leaf first.

        NotBefore is ``now - backdate`` and NotAfter
        ``now + ttl + allowance``, both floored to the second, with NotAfter
        clamped to the earliest NotAfter in the signing chain.
        """
        # Refuse what the policy does not allow before any crypto work.
        if ttl > self.max_workload_ttl:
            raise CsrRefusedError(
                "ttl-too-long",
                f"ttl: {_text(ttl)} exceeds max_workload_ttl "
                f"{_text(self.max_workload_ttl)}",
            )
        signer_not_after = min(c.not_valid_after_utc for c in self.chain)
        if now > signer_not_after:
            raise CsrRefusedError(
                "signer-expired",
                f"signer expired at {signer_not_after.isoformat()}, "
                f"now is {now.isoformat()}",
            )

        # Authenticate the request: signature, then the identity it asks for.
        if not csr.is_signature_valid:
            raise CsrRefusedError(
                "bad-csr-signature", "CSR signature is invalid"
            )
        asked = requested_uris(csr)
        if asked != [str(spiffe_id)]:
            raise CsrRefusedError(
                "identity-mismatch",
                f"CSR asks for {asked!r}; caller is {str(spiffe_id)!r}",
            )

        # Sign the leaf.
        not_before = whole_second(now - backdate)
        asked_end = whole_second(now + ttl + allowance)
        not_after = min(asked_end, signer_not_after)
        public_key = csr.public_key()
        if not isinstance(
            public_key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey
        ):
            raise CsrRefusedError(
                "unsupported-key",
                f"CSR key {type(public_key).__name__} is not ECDSA or RSA",
            )
        issuer = self.certificate
        leaf = leaf_builder(
            public_key,
            spiffe_id,
            issuer.subject,
            issuer.extensions.get_extension_for_class(
                x509.SubjectKeyIdentifier
            ).value,
        )
        leaf = (
            leaf.serial_number(serial_number)
            .not_valid_before(not_before)
            .not_valid_after(not_after)
        )
        signed = leaf.sign(self.key, signature_hash(self.key))
        return (signed, *self._issuers())

    def _issuers(self) -> Sequence[x509.Certificate]:
        """The chain a leaf is served with: intermediates, never a root."""
        return [c for c in self.chain if c.issuer != c.subject]


def leaf_builder(
    public_key: CertificateIssuerPublicKeyTypes,
    spiffe_id: SpiffeId,
    issuer_name: x509.Name,
    issuer_ski: x509.SubjectKeyIdentifier | None,
) -> x509.CertificateBuilder:
    """An X509-SVID leaf without serial or validity: empty subject, one
    critical URI SAN, CA=false, digitalSignature (and keyEncipherment for
    RSA), serverAuth and clientAuth."""
    key_encipherment = isinstance(public_key, rsa.RSAPublicKey)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(issuer_name)
        .public_key(public_key)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.UniformResourceIdentifier(str(spiffe_id))]
            ),
            critical=True,
        )
        .add_extension(
            x509.BasicConstraints(ca=False, path_length=None), critical=True
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=key_encipherment,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [
                    ExtendedKeyUsageOID.SERVER_AUTH,
                    ExtendedKeyUsageOID.CLIENT_AUTH,
                ]
            ),
            critical=False,
        )
    )
    if issuer_ski is None:
        return builder
    return builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
            issuer_ski
        ),
        critical=False,
    )


def _ca_name(common_name: str, organization: str = "meshsim") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _text(delta: timedelta) -> str:
    return f"{delta.total_seconds():g}s"
