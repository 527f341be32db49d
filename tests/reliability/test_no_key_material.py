"""No private key is ever written, printed, logged or pickled.

Every key a run makes is recorded as it is generated (by wrapping the
``cryptography`` functions that make EC and RSA keys); then every byte
meshsim produced is searched for each key in every form it could take:
PEM, PKCS#8 and traditional DER, the raw private scalar, and their hex
and base64 texts.
"""

from __future__ import annotations

import base64
import logging
import pickle
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)

from meshsim.cli import main
from meshsim.clock import SimClock
from meshsim.identity import workload_spiffe_id
from meshsim.mesh.credential import Credential
from meshsim.pki.authority import CertificateAuthority, self_signed_root
from meshsim.pki.csr import build_csr
from meshsim.pki.keys import KEY_ALGORITHMS, PrivateKey, generate_key
from meshsim.runner import run_scenario
from meshsim.scenario import load_scenario

from .conftest import REPO

SHIPPED = sorted(
    [*REPO.glob("scenarios/*.yaml"), *REPO.glob("scenarios/profiles/*.yaml")]
)

SMALL = [
    "mesh.workloads=20",
    "mesh.service_accounts=5",
    "mesh.namespaces=2",
    "mesh.nodes=5",
    "traffic.rate=0.01",
]

KeysMade = list[PrivateKey]

START = datetime(2026, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def keys_made(monkeypatch: pytest.MonkeyPatch) -> KeysMade:
    """Every EC and RSA private key made while the test runs."""
    made: KeysMade = []

    def recording(make: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = make(*args, **kwargs)
            made.append(key)
            return key

        return wrapper

    for module in (ec, rsa):
        make = module.generate_private_key
        monkeypatch.setattr(module, "generate_private_key", recording(make))
    return made


def secret_forms(key: PrivateKey) -> list[bytes]:
    """Byte strings that would betray ``key`` wherever they appear."""
    forms = [
        key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption()),
        key.private_bytes(
            Encoding.DER, PrivateFormat.TraditionalOpenSSL, NoEncryption()
        ),
    ]
    if isinstance(key, ec.EllipticCurvePrivateKey):
        size = (key.curve.key_size + 7) // 8
        scalars = [key.private_numbers().private_value.to_bytes(size, "big")]
    else:
        numbers = key.private_numbers()
        scalars = [
            n.to_bytes((n.bit_length() + 7) // 8, "big")
            for n in (numbers.d, numbers.p, numbers.q)
        ]
    forms += scalars
    forms += [s.hex().encode() for s in scalars]
    forms += [s.hex().upper().encode() for s in scalars]
    forms += [str(int.from_bytes(s, "big")).encode() for s in scalars]
    # the first line of a PEM body, and the start of any base64 text
    forms += [base64.b64encode(f)[:64] for f in forms[:2]]
    return forms


def assert_no_key(data: bytes, keys: KeysMade, where: str) -> None:
    assert b"PRIVATE KEY" not in data, where
    forms = [form for key in keys for form in secret_forms(key)]
    assert_none_of(forms, data, where)


def assert_none_of(forms: list[bytes], data: bytes, where: str) -> None:
    assert b"PRIVATE KEY" not in data, where
    for form in forms:
        assert form not in data, f"{where} holds a private key"


@pytest.mark.parametrize(
    "path", SHIPPED, ids=[str(p.relative_to(REPO)) for p in SHIPPED]
)
def test_shipped_scenario_leaves_no_key_anywhere(
    path: Path,
    tmp_path: Path,
    keys_made: KeysMade,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    out = tmp_path / "out"
    small = [*SMALL, f"duration={_until_attacks_end(path)}s"]
    overrides = [arg for o in small for arg in ("--set", o)]

    result = CliRunner().invoke(
        main, ["run", str(path), "--out", str(out), *overrides]
    )

    assert result.exit_code == 0, result.output
    agents = load_scenario(path, small).mesh.workloads
    assert len(keys_made) > agents, "every agent made a key, and the CA"
    forms = [form for key in keys_made for form in secret_forms(key)]
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) >= 13
    for file in files:
        assert_none_of(forms, file.read_bytes(), str(file))
    printed = (result.stdout + result.stderr).encode()
    assert_none_of(forms, printed, "the output")
    logged = "\n".join(
        f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records
    )
    assert_none_of(forms, logged.encode(), "the log")


def _until_attacks_end(path: Path) -> int:
    """Two hours past the last attack or outage, within the run."""
    scenario = load_scenario(path, SMALL)
    ends = [0.0]
    for event in (*scenario.attacks, *scenario.ca.outages):
        ends.append(event.start + getattr(event, "duration", 0.0))
    return int(min(scenario.duration, max(ends) + 7200))


def test_summary_and_tables_pickle_without_keys(keys_made: KeysMade) -> None:
    path = REPO / "scenarios" / "istio-sidecar.yaml"
    run = run_scenario(load_scenario(path, SMALL))

    summary = pickle.dumps(run.summary)
    tables = pickle.dumps(run.tables)

    assert len(keys_made) > 20
    assert_no_key(summary, keys_made, "Run.summary")
    assert_no_key(tables, keys_made, "Run.tables")
    for module in ("cryptography.hazmat", "meshsim.mesh.credential"):
        assert module.encode() not in summary + tables


@pytest.mark.parametrize("algorithm", KEY_ALGORITHMS)
def test_credential_repr_shows_no_key(algorithm: str) -> None:
    clock = SimClock(START)
    ca_key = generate_key(algorithm)
    root = self_signed_root(
        ca_key,
        "cluster.local",
        clock.x509_time(-60),
        clock.x509_time(86_400),
        serial_number=1,
    )
    authority = CertificateAuthority(ca_key, (root,), 24 * HOUR)
    key = generate_key(algorithm)
    spiffe_id = workload_spiffe_id("cluster.local", "ns-0", "sa-0")
    chain = authority.sign_workload(
        build_csr(key, spiffe_id),
        spiffe_id,
        now=clock.to_datetime(0),
        ttl=HOUR,
        backdate=timedelta(0),
        serial_number=2,
    )
    credential = Credential.from_chain(spiffe_id, chain, key, clock)

    text = repr(credential) + str(credential)

    assert "key=" not in text
    assert_no_key(text.encode(), [key, ca_key], "repr(Credential)")
