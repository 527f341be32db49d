"""X509-SVIDs: parsing, encoding and verification against trust bundles.

An X509-SVID is a certificate chain, leaf first, whose leaf carries exactly
one URI SAN holding the workload's SPIFFE ID. Verification applies the
X509-SVID rules to the leaf and its signing certificates, finds the trust
bundle of the leaf's trust domain, checks every certificate's validity
period at the given time and then runs RFC 5280 path validation to one of
that bundle's roots (:mod:`meshsim.pki.path`).

Every refusal is an :class:`~meshsim.pki.refusal.SvidError`. Its
``reason`` is the coarse class a handshake is recorded under; its
``kind`` names the exact rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, NoReturn, TypeAlias

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID

from meshsim.identity import InvalidSpiffeId, SpiffeId, parse_spiffe_id
from meshsim.pki.der import is_private_key_info, pem_blocks, split_der
from meshsim.pki.path import (
    bundle_roots,
    chain_role,
    check_validity,
    validate_path,
    whole_second_utc,
)
from meshsim.pki.refusal import SvidError, SvidReason

__all__ = [
    "SvidError",
    "SvidPrivateKey",
    "SvidReason",
    "X509Svid",
    "parse_and_verify",
    "parse_bundle",
    "parse_svid",
    "parse_svid_raw",
    "verify_svid",
]

# NOTE: only the key algorithms meshsim models (ECDSA, RSA) are accepted in
# an X509-SVID; an Ed25519 key is refused as "key_unsupported". Widen this
# alias when the mesh model gains another key algorithm.
SvidPrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

# What a leaf's extended key usage must hold when it has one.
_TLS_PURPOSES: Final = frozenset(
    {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
)


@dataclass(frozen=True, slots=True, eq=False)
class X509Svid:
    """A parsed X509-SVID: its SPIFFE ID, chain (leaf first) and key."""

    spiffe_id: SpiffeId
    chain: tuple[x509.Certificate, ...]
    private_key: SvidPrivateKey = field(repr=False)

    @property
    def leaf(self) -> x509.Certificate:
        """The leaf certificate, which carries the SPIFFE ID."""
        return self.chain[0]

    def marshal(self) -> tuple[bytes, bytes]:
        """Encode as PEM: the certificates, then the PKCS#8 key (clear)."""
        certs = b"".join(
            cert.public_bytes(serialization.Encoding.PEM) for cert in self.chain
        )
        key = self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return certs, key


def parse_svid(certs: bytes, key: bytes) -> X509Svid:
    """Parse an X509-SVID from PEM certificates and a PEM PKCS#8 key.

    CERTIFICATE blocks are read from ``certs`` and the first PRIVATE KEY
    block from ``key``; blocks of other types are skipped, so one file may
    serve as both. Validity periods and signatures are not checked here.
    """
    cert_blocks = pem_blocks(certs)
    if not cert_blocks:
        raise SvidError(
            "certs: no PEM block found", reason="malformed", kind="cert_not_pem"
        )
    chain = [
        _load_certificate(der, f"certs: CERTIFICATE block {index}")
        for index, (label, der) in enumerate(cert_blocks)
        if label == "CERTIFICATE"
    ]

    key_blocks = pem_blocks(key)
    if not key_blocks:
        raise SvidError(
            "key: no PEM block found", reason="malformed", kind="key_not_pem"
        )
    key_ders = [der for label, der in key_blocks if label == "PRIVATE KEY"]
    private_key = _load_pkcs8(key_ders[0]) if key_ders else None

    return _svid_from_parts(chain, private_key)


def parse_svid_raw(certs_der: bytes, key_der: bytes) -> X509Svid:
    """Parse an X509-SVID from concatenated DER certificates and a DER key.

    The key must be PKCS#8. As with :func:`parse_svid`, validity periods
    and signatures are not checked.
    """
    try:
        pieces = split_der(certs_der)
    except ValueError as exc:
        raise SvidError(
            f"certs_der: not a DER certificate sequence ({exc})",
            reason="malformed",
            kind="cert_der_invalid",
        ) from exc
    chain = [
        _load_certificate(der, f"certs_der: certificate {index}")
        for index, der in enumerate(pieces)
    ]
    private_key = _load_pkcs8(key_der)
    return _svid_from_parts(chain, private_key)


def parse_bundle(data: bytes) -> list[x509.Certificate]:
    """Parse the PEM root certificates of an X.509 trust bundle.

    Empty input is an empty bundle; non-empty input must hold PEM blocks.
    Blocks that are not CERTIFICATE are skipped.
    """
    if data == b"":
        return []
    blocks = pem_blocks(data)
    if not blocks:
        raise SvidError(
            "bundle: no PEM block found", reason="malformed", kind="not_pem"
        )
    return [
        _load_certificate(der, f"bundle: CERTIFICATE block {index}")
        for index, (label, der) in enumerate(blocks)
        if label == "CERTIFICATE"
    ]


def verify_svid(
    chain: Sequence[x509.Certificate],
    bundles: Mapping[str, Sequence[x509.Certificate]] | None,
    at: datetime,
) -> SpiffeId:
    """Verify an X509-SVID chain at time ``at``; return the leaf's ID.

    ``chain`` is the leaf then any intermediates; ``bundles`` maps a trust
    domain name to its root certificates (``None`` when there is no bundle
    source at all). ``at`` must be timezone-aware; it is truncated to the
    second, as X.509 times are, and a certificate is valid at ``at`` when
    NotBefore <= at <= NotAfter.

    Checks, in order: the X509-SVID rules on the leaf (one URI SAN holding
    a SPIFFE ID with a path; CA=false; digitalSignature without keyCertSign
    or cRLSign; an extended key usage, if any, with serverAuth and
    clientAuth) and on each signing certificate
    (CA=true, keyCertSign); a bundle for the leaf's trust domain; the
    validity period of every certificate in ``chain``; path validation to
    a root of that bundle.
    """
    when = whole_second_utc(at)
    if not chain:
        raise SvidError(
            "chain: no certificates to verify",
            reason="empty-chain",
            kind="empty_chain",
        )
    leaf, signers = chain[0], list(chain[1:])

    # X509-SVID rules, before any signature work.
    spiffe_id = _check_leaf(leaf)
    _check_signers(signers)

    # The trust bundle of the leaf's own trust domain.
    roots = bundle_roots(bundles, spiffe_id.trust_domain)

    # Validity periods of the presented certificates.
    for index, cert in enumerate(chain):
        check_validity(cert, chain_role(index), when)

    # RFC 5280 path validation to one of those roots.
    validate_path(leaf, signers, roots, when)
    return spiffe_id


def parse_and_verify(
    raw_chain: Sequence[bytes],
    bundles: Mapping[str, Sequence[x509.Certificate]] | None,
    at: datetime,
) -> SpiffeId:
    """Parse DER certificates (leaf first), then :func:`verify_svid` them."""
    chain = [
        _load_certificate(der, f"raw_chain[{index}]")
        for index, der in enumerate(raw_chain)
    ]
    return verify_svid(chain, bundles, at)


# -- X509-SVID rules ------------------------------------------------------


def _svid_from_parts(
    chain: list[x509.Certificate],
    private_key: PrivateKeyTypes | None,
) -> X509Svid:
    """Apply the X509-SVID rules to parsed parts, then match the key."""
    if not chain:
        raise SvidError(
            "certs: no certificate found",
            reason="empty-chain",
            kind="no_certificates",
        )
    spiffe_id = _check_leaf(chain[0])
    _check_signers(chain[1:])

    if private_key is None:
        raise SvidError(
            "key: no PRIVATE KEY block found",
            reason="bad-key",
            kind="no_private_key",
        )
    if not isinstance(
        private_key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    ):
        raise SvidError(
            f"key: {type(private_key).__name__} is not an ECDSA or RSA key",
            reason="bad-key",
            kind="key_unsupported",
        )
    if _spki(private_key) != _leaf_spki(chain[0]):
        raise SvidError(
            f"key: does not match the public key of leaf {spiffe_id}",
            reason="bad-key",
            kind="key_mismatch",
        )
    return X509Svid(spiffe_id, tuple(chain), private_key)


def _check_leaf(leaf: x509.Certificate) -> SpiffeId:
    """Apply the leaf rules in a fixed order; return the leaf's SPIFFE ID."""
    extensions = _extensions(leaf, "leaf")
    uris = _uri_sans(extensions)
    if not uris:
        _refuse_leaf(
            f"(serial {leaf.serial_number:#x}, subject "
            f"{leaf.subject.rfc4514_string()!r}) has no URI SAN",
            "no_uri_san",
        )
    if len(uris) > 1:
        _refuse_leaf(
            f"has {len(uris)} URI SANs {uris!r}, must have exactly one",
            "multiple_uri_sans",
        )
    try:
        spiffe_id = parse_spiffe_id(uris[0])
    except InvalidSpiffeId as exc:
        raise SvidError(
            f"leaf URI SAN is not a SPIFFE ID: {exc}",
            reason="bad-leaf",
            kind=exc.kind,
        ) from exc
    if spiffe_id.path == "":
        _refuse_leaf(f"ID {spiffe_id} has no path", "leaf_id_no_path")

    if _is_ca(extensions):
        _refuse_leaf(f"{spiffe_id} has CA=true", "leaf_is_ca")
    usage = _key_usage(extensions)
    if usage is None or not usage.digital_signature:
        _refuse_leaf(
            f"{spiffe_id} lacks the digitalSignature key usage",
            "leaf_missing_digital_signature",
        )
    if usage.key_cert_sign:
        _refuse_leaf(
            f"{spiffe_id} has the keyCertSign key usage",
            "leaf_has_key_cert_sign",
        )
    if usage.crl_sign:
        _refuse_leaf(
            f"{spiffe_id} has the cRLSign key usage", "leaf_has_crl_sign"
        )
    # X509-SVID: an extended key usage, when present, holds both TLS
    # directions (go-spiffe accepts any; no peer vector has one without)
    purposes = _extended_key_usage(extensions)
    if purposes is not None and not _TLS_PURPOSES.issubset(purposes):
        _refuse_leaf(
            f"{spiffe_id} has an extended key usage without serverAuth "
            "and clientAuth",
            "leaf_eku_without_tls_auth",
        )
    return spiffe_id


def _check_signers(signers: Sequence[x509.Certificate]) -> None:
    """Each certificate after the leaf must be a CA with keyCertSign."""
    for index, cert in enumerate(signers, start=1):
        extensions = _extensions(cert, chain_role(index))
        if not _is_ca(extensions):
            raise SvidError(
                f"{chain_role(index)} ({cert.subject.rfc4514_string()!r}) is "
                "not a CA (CA=false or no basicConstraints)",
                reason="bad-signer",
                kind="intermediate_not_ca",
            )
        usage = _key_usage(extensions)
        if usage is None or not usage.key_cert_sign:
            raise SvidError(
                f"{chain_role(index)} ({cert.subject.rfc4514_string()!r}) "
                "lacks the keyCertSign key usage",
                reason="bad-signer",
                kind="intermediate_missing_key_cert_sign",
            )


def _refuse_leaf(rule: str, kind: str) -> NoReturn:
    raise SvidError(f"leaf {rule}", reason="bad-leaf", kind=kind)


def _extensions(cert: x509.Certificate, role: str) -> x509.Extensions:
    try:
        return cert.extensions
    except (ValueError, x509.UnsupportedGeneralNameType) as exc:
        raise SvidError(
            f"{role}: extensions cannot be decoded ({exc})",
            reason="malformed",
            kind="bad_extensions",
        ) from exc


def _uri_sans(extensions: x509.Extensions) -> list[str]:
    try:
        san = extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return san.value.get_values_for_type(x509.UniformResourceIdentifier)


def _is_ca(extensions: x509.Extensions) -> bool:
    try:
        return extensions.get_extension_for_class(
            x509.BasicConstraints
        ).value.ca
    except x509.ExtensionNotFound:
        return False


def _extended_key_usage(
    extensions: x509.Extensions,
) -> x509.ExtendedKeyUsage | None:
    try:
        return extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return None


def _key_usage(extensions: x509.Extensions) -> x509.KeyUsage | None:
    try:
        return extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None


# -- Encodings ------------------------------------------------------------


def _load_certificate(der: bytes, where: str) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise SvidError(
            f"{where}: not a DER X.509 certificate ({exc})",
            reason="malformed",
            kind="cert_der_invalid",
        ) from exc


def _load_pkcs8(der: bytes) -> PrivateKeyTypes:
    """Load a PKCS#8 PrivateKeyInfo; other key encodings are refused."""
    try:
        if not is_private_key_info(der):
            raise ValueError("not a PKCS#8 PrivateKeyInfo")
        return serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SvidError(
            f"key: not a DER PKCS#8 private key ({exc})",
            reason="malformed",
            kind="key_der_invalid",
        ) from exc


def _spki(private_key: SvidPrivateKey) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.DER,
        serialization.PublicFormat.SubjectPublicKeyInfo,
    )


def _leaf_spki(leaf: x509.Certificate) -> bytes:
    """The leaf's SubjectPublicKeyInfo DER; empty if it cannot be read."""
    try:
        public_key = leaf.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return b""
    return public_key.public_bytes(
        serialization.Encoding.DER,
        serialization.PublicFormat.SubjectPublicKeyInfo,
    )
