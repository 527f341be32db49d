"""Which of meshsim's modules run compiled, and whether they are current.

The modules a run spends its time in (the mesh's processes, the CA, the
crypto face, the traffic engines, the records) are compiled to C with
mypyc when meshsim is installed (``setup.py``); the rest stay Python.
Compiled and plain modules are the same source and make the same
decisions; compiled ones are faster. ``MESHSIM_PURE=1`` at install time
builds none.

A compiled module sits beside its source and Python loads it first, so a
source edited after the build would not run. The build records a digest
of each source it compiled (``native.json``); :func:`require_current`
refuses to run when a source no longer matches its compiled module.

This module imports nothing of meshsim: ``setup.py`` reads
:data:`COMPILED` from it before meshsim is built.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sysconfig
from pathlib import Path
from typing import Final

__all__ = [
    "COMPILED",
    "DIGESTS",
    "PURE_ENV",
    "StaleBuildError",
    "compiled",
    "digest",
    "require_current",
    "stale",
]

COMPILED: Final = (
    "meshsim.attack.impersonation",
    "meshsim.attack.key_theft",
    "meshsim.attack.loot",
    "meshsim.attack.mitm",
    "meshsim.attack.token_theft",
    "meshsim.clock",
    "meshsim.identity",
    "meshsim.mesh.agent",
    "meshsim.mesh.ca",
    "meshsim.mesh.churn",
    "meshsim.mesh.class_traffic",
    "meshsim.mesh.credential",
    "meshsim.mesh.crypto",
    "meshsim.mesh.handshake",
    "meshsim.mesh.pair_traffic",
    "meshsim.mesh.state",
    "meshsim.mesh.tokens",
    "meshsim.mesh.topology",
    "meshsim.mesh.traffic",
    "meshsim.metrics.records",
    "meshsim.pki.der",
    "meshsim.pki.modeled",
    "meshsim.simulation",
)
"""Modules compiled by the build, by import name."""

DIGESTS: Final = "native.json"
"""The file, beside this one, where the build records what it compiled."""

PURE_ENV: Final = "MESHSIM_PURE"
"""Set to 1 when installing to build no compiled module."""

_PACKAGE = Path(__file__).resolve().parent


class StaleBuildError(RuntimeError):
    """A source changed after it was compiled; running would use the old
    code."""


def source(module: str, package: Path = _PACKAGE) -> Path:
    """The source file of ``module`` under ``package``."""
    parts = module.split(".")[1:]
    return package.joinpath(*parts).with_suffix(".py")


def digest(path: Path) -> str:
    """The SHA-256 of a file's bytes, in hex."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def compiled(package: Path = _PACKAGE) -> list[str]:
    """The modules of :data:`COMPILED` that have a compiled module beside
    their source under ``package``."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    return [
        module
        for module in COMPILED
        if source(module, package).with_suffix(suffix).exists()
    ]


def stale(package: Path = _PACKAGE) -> list[str]:
    """Compiled modules whose source differs from what the build compiled
    (all of them when the build's record is missing or unreadable)."""
    built = compiled(package)
    if not built:
        return []
    try:
        recorded = json.loads((package / DIGESTS).read_text())
    except (OSError, ValueError):
        return built
    if not isinstance(recorded, dict):
        return built
    return [
        module
        for module in built
        if recorded.get(module) != digest(source(module, package))
    ]


@functools.cache
def require_current() -> None:
    """Raise :class:`StaleBuildError` if a compiled module is older than
    its source (checked once per process)."""
    changed = stale()
    if changed:
        path = source(changed[0]).relative_to(_PACKAGE.parent)
        more = f" and {len(changed) - 1} more" if len(changed) > 1 else ""
        raise StaleBuildError(
            f"{path}{more}: changed after it was compiled; run `make build` "
            f"to compile again, or `make pure` to run from source"
        )
