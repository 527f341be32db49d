"""X509-SVID parsing and verification.

The first half runs every X509-SVID case of go-spiffe's peer vectors; the
second holds the verification rules one by one on certificates built here.
"""

from __future__ import annotations

import base64
import json
import pickle
import re
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from meshsim.identity import SpiffeId
from meshsim.pki.svid import (
    SvidError,
    parse_and_verify,
    parse_bundle,
    parse_svid,
    parse_svid_raw,
    verify_svid,
)

if TYPE_CHECKING:
    from conftest import CertFactory, Issued

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "vectors"
X509SVID = VECTORS / "x509svid"

# Reasons the simulator classifies a handshake by, for the vectors' verify
# error kinds: no bundle source, no bundle for the leaf's trust domain and a
# chain to no known root are all an unknown authority; a time past NotAfter
# is expired; the rest are structural.
VERIFY_REASON = {
    "empty_chain": "empty-chain",
    "no_bundle_source": "unknown-authority",
    "no_bundle_for_trust_domain": "unknown-authority",
    "unknown_authority": "unknown-authority",
    "expired": "expired",
    "bad_scheme": "bad-leaf",
    "no_uri_san": "bad-leaf",
    "multiple_uri_sans": "bad-leaf",
    "leaf_is_ca": "bad-leaf",
    "leaf_has_key_cert_sign": "bad-leaf",
    "leaf_has_crl_sign": "bad-leaf",
    "cert_der_invalid": "malformed",
}


# -- Peer vectors ---------------------------------------------------------


def _cases(section: str) -> list[Any]:
    """Cases of one section of cases.json, or one failing case if absent."""
    path = X509SVID / "cases.json"
    if not path.is_file():
        return [pytest.param(None, id="vectors-missing")]
    cases = json.loads(path.read_text(encoding="utf-8"))[section]
    return [pytest.param(case, id=_case_id(case)) for case in cases]


def _case_id(case: dict[str, Any]) -> str:
    for field in ("name", "file", "certs"):
        if field in case:
            return str(case[field])
    return "case"


def _require(case: dict[str, Any] | None) -> dict[str, Any]:
    if case is None:
        pytest.fail(
            f"peer vectors not found at {X509SVID}: the shared/ folder must "
            "sit beside the repository clone"
        )
    return case


def _read(name: str) -> bytes:
    return (X509SVID / name).read_bytes()


def _pem_bodies(name: str, label: str) -> list[bytes]:
    """The decoded bodies of a fixture's PEM blocks with ``label``."""
    text = _read(name).decode("ascii")
    pattern = rf"-----BEGIN {label}-----(.*?)-----END {label}-----"
    return [
        base64.b64decode("".join(body.split()))
        for body in re.findall(pattern, text, re.DOTALL)
    ]


def _certificates(names: Sequence[str]) -> list[x509.Certificate]:
    return [
        cert
        for name in names
        for cert in x509.load_pem_x509_certificates(_read(name))
    ]


def _bundles(
    spec: dict[str, list[str]] | None,
) -> dict[str, list[x509.Certificate]] | None:
    if spec is None:
        return None
    return {td: _certificates(files) for td, files in spec.items()}


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize("case", _cases("parse"))
def test_parse_vector(case: dict[str, Any] | None) -> None:
    case = _require(case)
    certs, key = _read(case["certs"]), _read(case["key"])
    if case["expect"] == "ok":
        svid = parse_svid(certs, key)
        assert str(svid.spiffe_id) == case["spiffe_id"]
        assert len(svid.chain) == case["num_certs"]
    else:
        with pytest.raises(SvidError) as caught:
            parse_svid(certs, key)
        assert caught.value.kind == case["error_kind"]


@pytest.mark.parametrize("case", _cases("parse_raw"))
def test_parse_raw_vector(case: dict[str, Any] | None) -> None:
    case = _require(case)
    if "certs_literal_ascii" in case:
        certs = case["certs_literal_ascii"].encode("ascii")
    else:
        certs = b"".join(_pem_bodies(case["certs_der_from"], "CERTIFICATE"))
    if "key_literal_ascii" in case:
        key = case["key_literal_ascii"].encode("ascii")
    else:
        key = _pem_bodies(case["key_der_from"], "PRIVATE KEY")[0]

    if case["expect"] == "ok":
        svid = parse_svid_raw(certs, key)
        assert str(svid.spiffe_id) == case["spiffe_id"]
        assert len(svid.chain) == case["num_certs"]
    else:
        with pytest.raises(SvidError) as caught:
            parse_svid_raw(certs, key)
        assert caught.value.kind == case["error_kind"]


@pytest.mark.parametrize("case", _cases("marshal_roundtrip"))
def test_marshal_roundtrip_vector_is_byte_identical(
    case: dict[str, Any] | None,
) -> None:
    case = _require(case)
    certs, key = _read(case["certs"]), _read(case["key"])
    assert parse_svid(certs, key).marshal() == (certs, key)


@pytest.mark.parametrize("case", _cases("bundle_parse"))
def test_bundle_parse_vector(case: dict[str, Any] | None) -> None:
    case = _require(case)
    data = _read(case["file"])
    if case["expect"] == "ok":
        assert len(parse_bundle(data)) == case["num_authorities"]
    else:
        with pytest.raises(SvidError) as caught:
            parse_bundle(data)
        assert caught.value.kind == case["error_kind"]


@pytest.mark.parametrize("case", _cases("verify"))
def test_verify_vector(case: dict[str, Any] | None) -> None:
    case = _require(case)
    chain = _certificates(case["chain"])
    bundles = _bundles(case["bundles"])
    at = _time(case["verify_time"])
    if case["expect"] == "ok":
        spiffe_id = verify_svid(chain, bundles, at)
        assert str(spiffe_id) == case["spiffe_id"]
    else:
        with pytest.raises(SvidError) as caught:
            verify_svid(chain, bundles, at)
        assert caught.value.kind == case["error_kind"]
        assert caught.value.reason == VERIFY_REASON[case["error_kind"]]


@pytest.mark.parametrize("case", _cases("parse_and_verify"))
def test_parse_and_verify_vector(case: dict[str, Any] | None) -> None:
    case = _require(case)
    raw_chain = [
        der
        for name in case["chain_der_from"]
        for der in _pem_bodies(name, "CERTIFICATE")
    ]
    bundles = _bundles(case["bundles"])
    at = _time(case["verify_time"])
    if case["expect"] == "ok":
        spiffe_id = parse_and_verify(raw_chain, bundles, at)
        assert str(spiffe_id) == case["spiffe_id"]
    else:
        with pytest.raises(SvidError) as caught:
            parse_and_verify(raw_chain, bundles, at)
        assert caught.value.kind == case["error_kind"]
        assert caught.value.reason == VERIFY_REASON[case["error_kind"]]


# -- Verification rules ---------------------------------------------------


DOMAIN1 = "domain1.test"
SECOND = timedelta(seconds=1)


def _verify(
    chain: Sequence[Issued],
    roots: Sequence[Issued],
    verify_time: datetime,
    trust_domain: str = DOMAIN1,
) -> SpiffeId:
    return verify_svid(
        [issued.cert for issued in chain],
        {trust_domain: [root.cert for root in roots]},
        verify_time,
    )


def _refusal(
    chain: Sequence[Issued],
    roots: Sequence[Issued],
    verify_time: datetime,
    trust_domain: str = DOMAIN1,
) -> SvidError:
    with pytest.raises(SvidError) as caught:
        _verify(chain, roots, verify_time, trust_domain)
    return caught.value


def test_leaf_signed_by_bundle_root_gives_its_spiffe_id(
    certs: CertFactory, ca1: Issued, verify_time: datetime
) -> None:
    spiffe_id = _verify([certs.leaf(ca1)], [ca1], verify_time)
    assert spiffe_id == SpiffeId(DOMAIN1, "/workload")


def test_leaf_accepted_through_not_after_and_refused_one_second_later(
    certs: CertFactory, ca1: Issued
) -> None:
    leaf = certs.leaf(ca1)
    not_after = certs.t0 + certs.leaf_lifetime
    assert _verify([leaf], [ca1], not_after)
    assert _verify([leaf], [ca1], not_after + 0.9 * SECOND)
    refusal = _refusal([leaf], [ca1], not_after + SECOND)
    assert (refusal.reason, refusal.kind) == ("expired", "expired")


def test_leaf_accepted_from_not_before_and_refused_in_the_second_before(
    certs: CertFactory, ca1: Issued
) -> None:
    not_before = certs.t0 + timedelta(minutes=5)
    leaf = certs.leaf(ca1, not_before=not_before)
    assert _verify([leaf], [ca1], not_before)
    # Truncated to the second, 0.5 s early is the second before NotBefore.
    refusal = _refusal([leaf], [ca1], not_before - 0.5 * SECOND)
    assert (refusal.reason, refusal.kind) == ("not-yet-valid", "not_yet_valid")


def test_verification_time_in_another_zone_is_compared_in_utc(
    certs: CertFactory, ca1: Issued
) -> None:
    leaf = certs.leaf(ca1)
    plus_two = timezone(timedelta(hours=2))
    not_after = (certs.t0 + certs.leaf_lifetime).astimezone(plus_two)
    assert _verify([leaf], [ca1], not_after)
    assert _refusal([leaf], [ca1], not_after + SECOND).reason == "expired"


def test_naive_verification_time_is_refused_naming_the_parameter(
    certs: CertFactory, ca1: Issued, verify_time: datetime
) -> None:
    naive = verify_time.replace(tzinfo=None)
    with pytest.raises(ValueError, match=r"^at: .* must be timezone-aware"):
        _verify([certs.leaf(ca1)], [ca1], naive)


def test_self_signed_leaf_is_unknown_authority(
    certs: CertFactory, ca1: Issued, verify_time: datetime
) -> None:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "self")])
    leaf = certs.leaf(None, subject=subject)
    refusal = _refusal([leaf], [ca1], verify_time)
    assert (refusal.reason, refusal.kind) == (
        "unknown-authority",
        "unknown_authority",
    )


def test_leaf_with_forged_issuer_name_is_unknown_authority(
    certs: CertFactory, ca1: Issued, verify_time: datetime
) -> None:
    # Same subject name as ca1, another key: only the signature differs.
    impostor = certs.root()
    assert impostor.cert.subject == ca1.cert.subject
    leaf = certs.leaf(impostor)
    assert _refusal([leaf], [ca1], verify_time).reason == "unknown-authority"


def test_root_of_another_trust_domain_does_not_vouch_for_the_leaf(
    certs: CertFactory, ca1: Issued, verify_time: datetime
) -> None:
    # ca1 signed the leaf, but the bundle holds it only for domain2.test.
    refusal = _refusal([certs.leaf(ca1)], [ca1], verify_time, "domain2.test")
    assert (refusal.reason, refusal.kind) == (
        "unknown-authority",
        "no_bundle_for_trust_domain",
    )


def test_chain_through_an_intermediate_is_accepted(
    certs: CertFactory, ca1: Issued, verify_time: datetime
) -> None:
    intermediate = certs.intermediate(ca1)
    leaf = certs.leaf(intermediate)
    spiffe_id = _verify([leaf, intermediate], [ca1], verify_time)
    assert spiffe_id == SpiffeId(DOMAIN1, "/workload")


def test_missing_intermediate_is_unknown_authority(
    certs: CertFactory, ca1: Issued, verify_time: datetime
) -> None:
    leaf = certs.leaf(certs.intermediate(ca1))
    assert _refusal([leaf], [ca1], verify_time).reason == "unknown-authority"


def test_expired_intermediate_is_expired(
    certs: CertFactory, ca1: Issued, verify_time: datetime
) -> None:
    intermediate = certs.intermediate(ca1, not_after=verify_time - SECOND)
    leaf = certs.leaf(intermediate)
    assert (
        _refusal([leaf, intermediate], [ca1], verify_time).reason == "expired"
    )


def test_intermediate_not_yet_valid_is_not_yet_valid(
    certs: CertFactory, ca1: Issued, verify_time: datetime
) -> None:
    intermediate = certs.intermediate(ca1, not_before=verify_time + SECOND)
    leaf = certs.leaf(intermediate)
    refusal = _refusal([leaf, intermediate], [ca1], verify_time)
    assert refusal.reason == "not-yet-valid"


def test_expired_root_is_expired(
    certs: CertFactory, verify_time: datetime
) -> None:
    root = certs.root(not_after=verify_time - SECOND)
    refusal = _refusal([certs.leaf(root)], [root], verify_time)
    assert (refusal.reason, refusal.kind) == ("expired", "expired")


def test_intermediate_that_is_not_a_ca_is_a_bad_signer(
    certs: CertFactory, ca1: Issued, verify_time: datetime
) -> None:
    intermediate = certs.intermediate(ca1, ca=False)
    refusal = _refusal(
        [certs.leaf(intermediate), intermediate], [ca1], verify_time
    )
    assert (refusal.reason, refusal.kind) == (
        "bad-signer",
        "intermediate_not_ca",
    )


def test_intermediate_without_key_cert_sign_is_a_bad_signer(
    certs: CertFactory, ca1: Issued, verify_time: datetime
) -> None:
    intermediate = certs.intermediate(ca1, usage=certs.usage("crl_sign"))
    refusal = _refusal(
        [certs.leaf(intermediate), intermediate], [ca1], verify_time
    )
    assert (refusal.reason, refusal.kind) == (
        "bad-signer",
        "intermediate_missing_key_cert_sign",
    )


def test_root_without_key_cert_sign_cannot_anchor_a_chain(
    certs: CertFactory, verify_time: datetime
) -> None:
    root = certs.root(usage=certs.usage("crl_sign"))
    refusal = _refusal([certs.leaf(root)], [root], verify_time)
    assert (refusal.reason, refusal.kind) == ("invalid-chain", "chain_rejected")


def test_signers_basic_constraints_need_not_be_critical(
    certs: CertFactory, verify_time: datetime
) -> None:
    root = certs.root(constraints_critical=False)
    intermediate = certs.intermediate(root, constraints_critical=False)
    assert _verify(
        [certs.leaf(intermediate), intermediate], [root], verify_time
    )


@pytest.mark.parametrize("critical", [True, False], ids=["critical", "not"])
def test_leaf_with_empty_subject_and_only_a_uri_san_is_accepted(
    certs: CertFactory, ca1: Issued, verify_time: datetime, critical: bool
) -> None:
    leaf = certs.leaf(ca1, san_critical=critical)
    assert leaf.cert.subject == x509.Name([])
    assert _verify([leaf], [ca1], verify_time)


def test_leaf_without_authority_key_identifier_is_accepted(
    certs: CertFactory, ca1: Issued, verify_time: datetime
) -> None:
    assert _verify(
        [certs.leaf(ca1, authority_key_id=False)], [ca1], verify_time
    )


TLS_BOTH = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]


@pytest.mark.parametrize(
    "eku",
    [TLS_BOTH, [*TLS_BOTH, ExtendedKeyUsageOID.CODE_SIGNING]],
    ids=["server-and-client", "and-code-signing"],
)
def test_leaf_whose_extended_key_usage_holds_both_tls_ends_is_accepted(
    certs: CertFactory,
    ca1: Issued,
    verify_time: datetime,
    eku: list[x509.ObjectIdentifier],
) -> None:
    assert _verify([certs.leaf(ca1, eku=eku)], [ca1], verify_time)


@pytest.mark.parametrize(
    "eku",
    [
        [ExtendedKeyUsageOID.SERVER_AUTH],
        [ExtendedKeyUsageOID.CLIENT_AUTH],
        [ExtendedKeyUsageOID.CODE_SIGNING],
    ],
    ids=["server-only", "client-only", "code-signing"],
)
def test_leaf_whose_extended_key_usage_lacks_a_tls_end_is_a_bad_leaf(
    certs: CertFactory,
    ca1: Issued,
    verify_time: datetime,
    eku: list[x509.ObjectIdentifier],
) -> None:
    # X509-SVID 4.4: when present, serverAuth and clientAuth must be set
    refusal = _refusal([certs.leaf(ca1, eku=eku)], [ca1], verify_time)
    assert (refusal.reason, refusal.kind) == (
        "bad-leaf",
        "leaf_eku_without_tls_auth",
    )


_WORKLOAD = "spiffe://domain1.test/workload"


@pytest.mark.parametrize(
    ("overrides", "usage", "kind"),
    [
        ({"uris": ()}, ("digital_signature",), "no_uri_san"),
        (
            {"uris": (_WORKLOAD, "spiffe://domain1.test/other")},
            ("digital_signature",),
            "multiple_uri_sans",
        ),
        (
            {"uris": ("spiffe://domain1.test",)},
            ("digital_signature",),
            "leaf_id_no_path",
        ),
        (
            {"uris": ("spiffe://domain1.test/a/../b",)},
            ("digital_signature",),
            "dot_segment",
        ),
        ({"ca": True}, ("digital_signature",), "leaf_is_ca"),
        ({}, None, "leaf_missing_digital_signature"),
        ({}, ("key_encipherment",), "leaf_missing_digital_signature"),
        (
            {},
            ("digital_signature", "key_cert_sign"),
            "leaf_has_key_cert_sign",
        ),
        ({}, ("digital_signature", "crl_sign"), "leaf_has_crl_sign"),
    ],
)
def test_leaf_breaking_an_x509_svid_rule_is_a_bad_leaf(
    certs: CertFactory,
    ca1: Issued,
    verify_time: datetime,
    overrides: dict[str, Any],
    usage: tuple[str, ...] | None,
    kind: str,
) -> None:
    key_usage = certs.usage(*usage) if usage is not None else None
    leaf = certs.leaf(ca1, usage=key_usage, **overrides)
    refusal = _refusal([leaf], [ca1], verify_time)
    assert (refusal.reason, refusal.kind) == ("bad-leaf", kind)


def test_leaf_rules_are_checked_before_the_bundle(
    certs: CertFactory, ca1: Issued, verify_time: datetime
) -> None:
    leaf = certs.leaf(ca1, ca=True)
    with pytest.raises(SvidError) as caught:
        verify_svid([leaf.cert], None, verify_time)
    assert caught.value.kind == "leaf_is_ca"


def test_bundle_is_checked_before_time(certs: CertFactory, ca1: Issued) -> None:
    leaf = certs.leaf(ca1)
    late = certs.t0 + certs.leaf_lifetime + timedelta(days=1)
    refusal = _refusal([leaf], [ca1], late, "domain2.test")
    assert refusal.kind == "no_bundle_for_trust_domain"


def test_time_is_checked_before_path_validation(
    certs: CertFactory, ca1: Issued
) -> None:
    # Signed by an unknown root and expired: the expiry is reported.
    leaf = certs.leaf(certs.root("unknown root"))
    late = certs.t0 + certs.leaf_lifetime + SECOND
    assert _refusal([leaf], [ca1], late).reason == "expired"


def test_svid_error_keeps_reason_and_kind_across_pickling(
    certs: CertFactory, ca1: Issued
) -> None:
    late = certs.t0 + timedelta(days=2)
    refusal = _refusal([certs.leaf(ca1)], [ca1], late)
    copy = pickle.loads(pickle.dumps(refusal))
    assert isinstance(copy, SvidError)
    assert (copy.reason, copy.kind, str(copy)) == (
        refusal.reason,
        refusal.kind,
        str(refusal),
    )


# -- Parsing and encoding -------------------------------------------------

PEM = serialization.Encoding.PEM
DER = serialization.Encoding.DER


def _pkcs8(key: PrivateKeyTypes, encoding: serialization.Encoding) -> bytes:
    return key.private_bytes(
        encoding,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def test_raw_svid_round_trips_through_der(
    certs: CertFactory, ca1: Issued
) -> None:
    intermediate = certs.intermediate(ca1)
    leaf = certs.leaf(intermediate)
    svid = parse_svid_raw(
        leaf.cert.public_bytes(DER) + intermediate.cert.public_bytes(DER),
        _pkcs8(leaf.key, DER),
    )
    assert svid.spiffe_id == SpiffeId(DOMAIN1, "/workload")
    assert svid.chain == (leaf.cert, intermediate.cert)
    assert svid.leaf == leaf.cert


def test_raw_key_must_be_pkcs8(certs: CertFactory, ca1: Issued) -> None:
    leaf = certs.leaf(ca1)
    sec1 = leaf.key.private_bytes(
        DER,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    with pytest.raises(SvidError) as caught:
        parse_svid_raw(leaf.cert.public_bytes(DER), sec1)
    assert (caught.value.reason, caught.value.kind) == (
        "malformed",
        "key_der_invalid",
    )


def test_key_of_another_pair_than_the_leaf_is_a_bad_key(
    certs: CertFactory, ca1: Issued
) -> None:
    leaf = certs.leaf(ca1)
    other = rsa.generate_private_key(65537, 2048)
    with pytest.raises(SvidError) as caught:
        parse_svid(leaf.cert.public_bytes(PEM), _pkcs8(other, PEM))
    assert (caught.value.reason, caught.value.kind) == (
        "bad-key",
        "key_mismatch",
    )


def test_key_of_an_algorithm_meshsim_does_not_model_is_a_bad_key(
    certs: CertFactory, ca1: Issued
) -> None:
    leaf = certs.leaf(ca1)
    other = ed25519.Ed25519PrivateKey.generate()
    with pytest.raises(SvidError) as caught:
        parse_svid(leaf.cert.public_bytes(PEM), _pkcs8(other, PEM))
    assert (caught.value.reason, caught.value.kind) == (
        "bad-key",
        "key_unsupported",
    )


def test_svid_repr_does_not_show_the_private_key(
    certs: CertFactory, ca1: Issued
) -> None:
    leaf = certs.leaf(ca1)
    svid = parse_svid(leaf.cert.public_bytes(PEM), _pkcs8(leaf.key, PEM))
    assert "private_key" not in repr(svid)
    assert repr(svid.spiffe_id) in repr(svid)


def test_an_interrupt_during_path_validation_is_raised_not_a_refusal(
    certs: CertFactory,
    ca1: Issued,
    verify_time: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Ctrl-C while the verifier runs meshsim's basicConstraints rule: the
    # verifier turns whatever the rule raises into a failed path
    intermediate = certs.intermediate(ca1)
    leaf = certs.leaf(intermediate)

    def interrupted(*args: Any) -> bool:
        raise KeyboardInterrupt

    monkeypatch.setattr(x509.BasicConstraints, "ca", property(interrupted))
    with pytest.raises(KeyboardInterrupt):
        _verify([leaf, intermediate], [ca1], verify_time)
