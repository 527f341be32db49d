"""Certificate signing requests for X509-SVIDs."""

from __future__ import annotations

from cryptography import x509

from meshsim.identity import SpiffeId
from meshsim.pki.keys import PrivateKey, signature_hash

__all__ = ["build_csr", "requested_uris"]


def build_csr(
    key: PrivateKey, spiffe_id: SpiffeId
) -> x509.CertificateSigningRequest:
    """A CSR with an empty subject and ``spiffe_id`` as its one URI SAN."""
    san = x509.SubjectAlternativeName(
        [x509.UniformResourceIdentifier(str(spiffe_id))]
    )
    builder = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .add_extension(san, critical=True)
    )
    return builder.sign(key, signature_hash(key))


def requested_uris(csr: x509.CertificateSigningRequest) -> list[str]:
    """The URI SANs a CSR asks for (empty when it carries no SAN)."""
    try:
        ext = csr.extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        )
    except x509.ExtensionNotFound:
        return []
    return ext.value.get_values_for_type(x509.UniformResourceIdentifier)
