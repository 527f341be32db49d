"""Which of meshsim's modules run compiled, and whether they are current.

The modules a run spends its time in (the mesh's processes, the CA, the
crypto face, the traffic engines, the records) are compiled to C with
mypyc when meshsim is built (``setup.py``); the rest stay Python.
Compiled and plain modules are the same source and make the same
decisions; compiled ones are faster. ``MESHSIM_PURE=1`` at build time
compiles none.

A compiled module sits beside its source and Python loads it first, so a
source edited after the build would not run. Each build records what it
compiled and the SHA-256 of each source (``native.json``);
:func:`require_current` refuses to run when a compiled module's source
no longer matches, or when a compiled module is not in the record.

:func:`build_problem` says whether the build is current for the list
below (``make build`` compiles again when it is not).

This module imports nothing of meshsim: ``setup.py`` reads
:data:`COMPILED` from it before meshsim is built.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sysconfig
from pathlib import Path
from typing import Any, Final

__all__ = [
    "COMPILED",
    "PURE_ENV",
    "RECORD",
    "StaleBuildError",
    "build_kind",
    "build_problem",
    "compiled",
    "digest",
    "record",
    "require_current",
    "source",
    "stale",
]

COMPILED: Final = (
    "meshsim.attack.impersonation",
    "meshsim.attack.key_theft",
    "meshsim.attack.loot",
    "meshsim.attack.mitm",
    "meshsim.attack.setup",
    "meshsim.attack.token_theft",
    "meshsim.clock",
    "meshsim.identity",
    "meshsim.mesh.agent",
    "meshsim.mesh.ca",
    "meshsim.mesh.ca_policy",
    "meshsim.mesh.churn",
    "meshsim.mesh.class_traffic",
    "meshsim.mesh.credential",
    "meshsim.mesh.crypto",
    "meshsim.mesh.graces",
    "meshsim.mesh.handshake",
    "meshsim.mesh.hierarchy",
    "meshsim.mesh.pair_traffic",
    "meshsim.mesh.poisson",
    "meshsim.mesh.serials",
    "meshsim.mesh.state",
    "meshsim.mesh.tokens",
    "meshsim.mesh.topology",
    "meshsim.mesh.traffic",
    "meshsim.mesh.world",
    "meshsim.metrics.records",
    "meshsim.pki.der",
    "meshsim.pki.modeled",
    "meshsim.simulation",
)
"""Modules compiled by the build, by import name."""

RECORD: Final = "native.json"
"""The file, beside this one, where the build records what it compiled."""

PURE_ENV: Final = "MESHSIM_PURE"
"""Set to 1 when building to compile no module."""

# The library every compiled module calls into (setup.py's group name).
_SHARED = "meshsim._native__mypyc"

_PACKAGE = Path(__file__).resolve().parent


class StaleBuildError(RuntimeError):
    """A compiled module does not match its source; running would use
    other code than the source says."""


def source(module: str, package: Path = _PACKAGE) -> Path:
    """The source file of ``module`` under ``package``."""
    parts = module.split(".")[1:]
    return package.joinpath(*parts).with_suffix(".py")


def digest(path: Path) -> str:
    """The SHA-256 of a file's bytes, in hex."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def record(modules: dict[str, str]) -> str:
    """The text of a build's record: the modules it was asked to compile
    and the digest of each source it compiled (none for a pure build)."""
    text = json.dumps(
        {"listed": list(COMPILED), "compiled": modules},
        indent=1,
        sort_keys=True,
    )
    return text + "\n"


def compiled(package: Path = _PACKAGE) -> list[str]:
    """Every module under ``package`` that has a compiled module beside
    its source (listed or not), but the shared library they call."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    found = []
    for path in sorted(package.rglob(f"*{suffix}")):
        relative = path.relative_to(package.parent)
        name = str(relative)[: -len(suffix)].replace("/", ".")
        if name != _SHARED:
            found.append(name)
    return found


def build_kind(package: Path = _PACKAGE) -> str:
    """``compiled`` when modules under ``package`` run compiled, else
    ``pure``: what a result's manifest records of the build."""
    return "compiled" if compiled(package) else "pure"


def _read_record(package: Path) -> dict[str, Any] | None:
    """The build's record, or None when missing or not one."""
    try:
        recorded = json.loads((package / RECORD).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(recorded, dict):
        return None
    modules = recorded.get("compiled")
    if not isinstance(modules, dict) or not isinstance(
        recorded.get("listed"), list
    ):
        return None
    return recorded


def stale(package: Path = _PACKAGE) -> list[str]:
    """Why compiled modules under ``package`` cannot be trusted, one
    line each (empty when there are none, or all match their sources)."""
    built = compiled(package)
    if not built:
        return []
    recorded = _read_record(package)
    if recorded is None:
        return [f"meshsim/{RECORD}: missing or unreadable beside them"]
    return _mismatches(package, built, recorded["compiled"])


def _mismatches(
    package: Path, built: list[str], modules: dict[str, str]
) -> list[str]:
    """The compiled modules in ``built`` that ``modules`` (the record's
    digests) does not name, or names with another source's digest."""
    problems = []
    for module in built:
        path = source(module, package).relative_to(package.parent)
        if module not in modules:
            problems.append(f"{path}: compiled by another build")
        elif modules[module] != digest(source(module, package)):
            problems.append(f"{path}: changed after it was compiled")
    return problems


def build_problem(package: Path = _PACKAGE) -> str | None:
    """Why the build under ``package`` is not current for
    :data:`COMPILED` (None when it is): no record, a list changed since,
    a listed module it compiled missing, or a stale one."""
    recorded = _read_record(package)
    if recorded is None and not (package / RECORD).exists():
        return "not built yet"
    if recorded is None:
        return f"meshsim/{RECORD}: unreadable"
    if recorded["listed"] != list(COMPILED):
        return "the list of compiled modules changed"
    built = compiled(package)
    missing = set(recorded["compiled"]) - set(built)
    if missing:
        return f"{min(missing)}: compiled module missing"
    problems = _mismatches(package, built, recorded["compiled"])
    return problems[0] if problems else None


@functools.cache
def require_current() -> None:
    """Raise :class:`StaleBuildError` if a compiled module cannot be
    trusted (checked once per process while it can)."""
    problems = stale()
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise StaleBuildError(
            f"compiled modules out of date: {problems[0]}{more}; run "
            f"`make build` to compile again, or `make pure` to run from "
            f"source"
        )
