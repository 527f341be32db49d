"""Trust bundles, verification time and RFC 5280 path validation.

:func:`validate_path` runs ``cryptography``'s verifier from a leaf through
its signing certificates to a root of the bundle, with the extension
policies X509-SVIDs need, and says why a chain failed: no root reached,
a root outside its validity period, or another rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    Policy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from meshsim.pki.der import whole_second
from meshsim.pki.refusal import SvidError

__all__ = [
    "bundle_roots",
    "chain_role",
    "check_validity",
    "validate_path",
    "whole_second_utc",
]


def validate_path(
    leaf: x509.Certificate,
    signers: list[x509.Certificate],
    roots: list[x509.Certificate],
    when: datetime,
) -> None:
    """Refuse the chain unless path validation at ``when`` leads from
    ``leaf`` through ``signers`` to one of ``roots``."""
    verifier = (
        PolicyBuilder()
        .store(Store(roots))
        .time(when)
        .extension_policies(ca_policy=_CA_POLICY, ee_policy=_EE_POLICY)
        .build_client_verifier()
    )
    try:
        verifier.verify(leaf, signers)
    except VerificationError as exc:
        if _INTERRUPTED in str(exc):
            raise KeyboardInterrupt from exc
        raise _path_failure(leaf, signers, roots, when, exc) from exc


def bundle_roots(
    bundles: Mapping[str, Sequence[x509.Certificate]] | None,
    trust_domain: str,
) -> list[x509.Certificate]:
    """The roots of ``trust_domain``'s bundle, or why there are none."""
    if bundles is None:
        raise SvidError(
            "bundles: no bundle source given",
            reason="unknown-authority",
            kind="no_bundle_source",
        )
    roots = bundles.get(trust_domain)
    if roots is None:
        raise SvidError(
            f"bundles: no bundle for trust domain {trust_domain!r}",
            reason="unknown-authority",
            kind="no_bundle_for_trust_domain",
        )
    if not roots:
        raise SvidError(
            f"bundles: the bundle for {trust_domain!r} holds no roots",
            reason="unknown-authority",
            kind="unknown_authority",
        )
    return list(roots)


def whole_second_utc(at: datetime) -> datetime:
    """``at`` in UTC, truncated to the second as X.509 times are."""
    if not isinstance(at, datetime):
        raise TypeError(f"at: expected a datetime, got {type(at).__name__}")
    if at.utcoffset() is None:
        raise ValueError(
            f"at: {at.isoformat()} must be timezone-aware (e.g. UTC)"
        )
    return whole_second(at.astimezone(UTC))


def check_validity(cert: x509.Certificate, role: str, when: datetime) -> None:
    """Refuse ``cert`` unless NotBefore <= when <= NotAfter."""
    if when < cert.not_valid_before_utc:
        raise SvidError(
            f"{role} is not valid before "
            f"{cert.not_valid_before_utc.isoformat()}; "
            f"verification time is {when.isoformat()}",
            reason="not-yet-valid",
            kind="not_yet_valid",
        )
    if when > cert.not_valid_after_utc:
        raise SvidError(
            f"{role} expired at {cert.not_valid_after_utc.isoformat()}; "
            f"verification time is {when.isoformat()}",
            reason="expired",
            kind="expired",
        )


def _path_failure(
    leaf: x509.Certificate,
    signers: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    when: datetime,
    exc: VerificationError,
) -> SvidError:
    """Classify a path validation failure.

    Only reached on failure: find the roots the chain's signatures lead to.
    None means an unknown authority; if each one found is outside its
    validity period, the root's time is the cause; otherwise the chain does
    reach a trusted root and path validation refused it for another rule.
    """
    linked = _linked_roots(leaf, signers, roots)
    if not linked:
        return SvidError(
            "chain does not lead to a root of the trust bundle "
            f"(path validation: {exc})",
            reason="unknown-authority",
            kind="unknown_authority",
        )
    time_errors = []
    for root in linked:
        try:
            check_validity(root, _root_role(root), when)
        except SvidError as time_error:
            time_errors.append(time_error)
            continue
        return SvidError(
            f"path validation refused the chain: {exc}",
            reason="invalid-chain",
            kind="chain_rejected",
        )
    return time_errors[0]


def _linked_roots(
    leaf: x509.Certificate,
    signers: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
) -> list[x509.Certificate]:
    """Roots reachable from ``leaf`` by issuer signatures through signers."""
    found: list[x509.Certificate] = []
    pending = [leaf]
    unused = list(signers)
    while pending:
        cert = pending.pop()
        found.extend(
            root
            for root in roots
            if root not in found and _issued_by(cert, root)
        )
        issuers = [s for s in unused if _issued_by(cert, s)]
        unused = [s for s in unused if s not in issuers]
        pending.extend(issuers)
    return found


def _issued_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    if child.issuer != issuer.subject:
        return False
    try:
        child.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


# An interrupt (Ctrl-C) that lands while the verifier runs a Python rule
# is turned into a failed path whose reason names it; it is raised again.
# NOTE: found by the verifier's wording, which tests/pki/test_svid.py
# pins; it can go if cryptography lets a rule's exception through.
_INTERRUPTED = "validator failed: KeyboardInterrupt"


def _require_ca(
    policy: Policy, cert: x509.Certificate, value: x509.BasicConstraints
) -> None:
    """Path validation rule for issuers: basicConstraints CA=true."""
    if not value.ca:
        subject = cert.subject.rfc4514_string()
        raise ValueError(f"{subject!r} has CA=false, cannot issue")


# Policies for the verifier, built once. The web PKI defaults are kept
# except where they are stricter than X509-SVID: a leaf needs no authority
# key identifier, carries its URI SAN critical or not (the subject is often
# empty), and may hold any extended key usage (the X509-SVID rule on it is
# checked before, in pki/svid.py); a signing certificate needs
# CA=true and keyCertSign but its basicConstraints need not be critical.
# NOTE: the remaining web PKI rules stay: RSA issuer keys of at least 2048
# bits, ECDSA P-256/384/521 or RSA issuer keys only, SHA-2 signatures, and a
# non-empty issuer name; a chain breaking them is refused as
# "invalid-chain". Relax them here if a modelled mesh issues such chains.
_EE_POLICY = (
    ExtensionPolicy.webpki_defaults_ee()
    .may_be_present(x509.AuthorityKeyIdentifier, Criticality.AGNOSTIC, None)
    .require_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, None)
    .may_be_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC, None)
)
_CA_POLICY = (
    ExtensionPolicy.webpki_defaults_ca()
    .require_present(x509.BasicConstraints, Criticality.AGNOSTIC, _require_ca)
    .may_be_present(x509.AuthorityKeyIdentifier, Criticality.AGNOSTIC, None)
    .may_be_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC, None)
)


def chain_role(index: int) -> str:
    """What the ``index``-th certificate of a chain is, for messages."""
    return "leaf" if index == 0 else f"intermediate {index}"


def _root_role(root: x509.Certificate) -> str:
    return f"root {root.subject.rfc4514_string()!r}"
