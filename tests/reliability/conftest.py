"""Shared by the reliability tests: how to run meshsim as a user does,
and what a complete result folder is."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
from cryptography import x509

from meshsim.scenario import parse_scenario

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "scenarios"
DEFAULT = SCENARIOS / "istio-sidecar.yaml"

SMALL = (
    "--set",
    "mesh.workloads=40",
    "--set",
    "mesh.nodes=6",
    "--set",
    "duration=36h",
)
"""The default scenario made small enough to run in about a second."""

SLOW = ("--set", "traffic.rate=1", "--set", "duration=240h")
"""The default scenario made to take a few seconds."""

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

FILES = {
    "summary.json",
    "manifest.json",
    "scenario.yaml",
    "tables/handshakes.parquet",
    "tables/csrs.parquet",
    "tables/rotations.parquet",
    "tables/thefts.parquet",
    "tables/attack_windows.parquet",
    "plots/ca_load.png",
    "plots/attack_windows.png",
    "plots/handshakes.png",
    "certs/root.pem",
    "certs/leaf-1.pem",
}
"""Every file a run of the default scenario writes (README)."""


def meshsim(*args: str) -> list[str]:
    """The command line of ``meshsim ARGS`` in a fresh interpreter."""
    return [sys.executable, "-m", "meshsim", *args]


def assert_complete(out: Path) -> None:
    """``out`` holds every promised file, each one whole."""
    written = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert written >= FILES, sorted(FILES - written)
    hidden = [name for name in written if "/." in f"/{name}"]
    assert not hidden, f"temporary files left in {out}: {hidden}"

    for name in written:
        path = out / name
        data = path.read_bytes()
        if name.endswith(".json"):
            assert isinstance(json.loads(data), dict), name
        elif name.endswith(".parquet"):
            pd.read_parquet(path)
        elif name.endswith(".png"):
            assert data.startswith(PNG_SIGNATURE), name
            assert data.endswith(b"IEND\xaeB`\x82"), name
        elif name.endswith(".pem"):
            assert x509.load_pem_x509_certificates(data), name
        elif name.endswith(".yaml"):
            parse_scenario(data.decode("utf-8"), name)

    summary = json.loads((out / "summary.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scenario_sha256"] == summary["scenario_sha256"]


def staging_left(out: Path) -> list[Path]:
    """Staging folders of ``out`` still beside it."""
    return sorted(out.parent.glob(f".{out.name}.partial-*"))
