"""Run one scenario and keep what it produced: the public entry point
behind ``meshsim run``, callable from a notebook the same way."""

from __future__ import annotations

import gc
import platform
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, requires, version
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from meshsim import __version__
from meshsim.arguments import require_callable, require_instance
from meshsim.collector import collector_eased
from meshsim.files import write_bytes, write_figure, write_json, write_table
from meshsim.layout import files_written
from meshsim.metrics.summary import summarise
from meshsim.metrics.tables import RunTables, build_tables
from meshsim.native import build_kind, require_current
from meshsim.results import MANIFEST, SCENARIO, staged_folder
from meshsim.scenario import (
    Scenario,
    dump_resolved,
    scenario_sha256,
    validate_mapping,
)
from meshsim.simulation import Progress, RunResult, simulate

__all__ = ["SCENARIO", "Run", "run_scenario", "save_run"]

# Reported in the manifest if meshsim's own metadata cannot be read.
_DEPENDENCIES = ("simpy", "cryptography", "numpy", "pandas", "pyarrow")
_REQUIREMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class Run:
    """One finished run: its records as tables and its summary."""

    result: RunResult
    tables: RunTables
    summary: dict[str, Any]


def run_scenario(
    scenario: Scenario,
    progress: Progress | None = None,
    *,
    exit_after: bool = False,
) -> Run:
    """Simulate ``scenario`` and summarise it (nothing is written).

    Raise ``ScenarioError`` if ``scenario`` breaks a rule, as loading it
    would have (it is checked again, in case it was changed since), or
    meshsim cannot run it (an attack on a node where nothing runs, dates
    outside X.509's);
    ``StaleBuildError`` if a compiled module does not match its source.

    ``exit_after`` is the caller's word that its process exits after this
    run, as the ``meshsim run`` command does. The run's world is then
    not collected but frozen (:func:`gc.freeze`) with everything else
    once the tables are built, so that neither the run nor the
    interpreter's own collection at exit walks it: the operating system
    takes the memory back at once, where walking the world of 100,000
    workloads takes about 4 s here. A process that goes on to other work
    should not pass it: the world would stay in memory, frozen, until
    its next run's eased collector unfreezes it and a full collection
    comes to it.
    """
    require_instance("scenario", scenario, Scenario)
    if progress is not None:
        require_callable("progress", progress)
    # every rule again: a Scenario changed after it was validated (as
    # model_copy(update=...) does, which validates nothing) could ask
    # for a run that never ends or fails midway
    scenario = validate_mapping(
        scenario.model_dump(), f"scenario {scenario.name}"
    )
    require_current()
    result = simulate(scenario, progress, collect=not exit_after)

    # The records become tables, with the collector eased as during the
    # run: it would otherwise walk the run's millions of live objects.
    with collector_eased():
        tables = build_tables(result.recorder)
    if exit_after:
        gc.freeze()
    crypto = result.recorder.crypto
    summary = {
        "name": scenario.name,
        **summarise(
            tables,
            seed=scenario.seed,
            scenario_sha256=scenario_sha256(scenario),
            duration_s=scenario.duration,
            workers=scenario.ca.workers,
            wall_seconds=result.wall_seconds,
            crypto_cpu_s=dict(crypto.cpu_s),
            crypto_count=dict(crypto.count),
            key_thefts=sum(a.kind == "key-theft" for a in scenario.attacks),
        ),
    }
    summary["attack"]["starts_s"] = list(result.attack_starts_s)
    summary["certs"] = _cert_listing(result)
    return Run(result, tables, summary)


def save_run(
    run: Run,
    out: Path,
    *,
    force: bool = False,
    command: str = "",
    started_at: datetime | None = None,
    left_behind: list[Path] | None = None,
) -> Path:
    """Write ``run`` into ``out`` at once (see :mod:`meshsim.results`);
    an earlier result replaced but not wholly deleted is added to
    ``left_behind``."""
    scenario = run.result.scenario
    with staged_folder(out, force, left_behind) as folder:
        write_json(folder / "summary.json", run.summary)
        write_bytes(folder / SCENARIO, dump_resolved(scenario).encode())
        for name, table in run.tables.items():
            write_table(folder / "tables" / f"{name}.parquet", table)

        # Figures (matplotlib is imported here: sweep workers, which
        # only run scenarios, never load it).
        from meshsim.report.run_plots import (
            attack_window_figure,
            ca_load_figure,
            handshake_figure,
        )

        duration = scenario.duration
        outages = [(o.start, o.start + o.duration) for o in scenario.ca.outages]
        figures = {
            "ca_load": ca_load_figure(run.tables.csrs, duration, outages),
            "attack_windows": attack_window_figure(
                run.tables.attack_windows, duration
            ),
            "handshakes": handshake_figure(run.tables.handshakes, duration),
        }
        for name, figure in figures.items():
            write_figure(folder / "plots" / f"{name}.png", figure)

        # Public certificates only: the root and a few issued leaves
        # (none exist in a modeled run).
        result = run.result
        if isinstance(result.root, x509.Certificate):
            write_bytes(folder / "certs" / "root.pem", _pem((result.root,)))
        for entry, chain in zip(
            run.summary["certs"], result.issued, strict=True
        ):
            write_bytes(folder / "certs" / entry["file"], _pem(chain))

        # the manifest lists what the run wrote, for a later --force to
        # delete that and nothing else
        manifest = _manifest(run, command, started_at or datetime.now(UTC))
        manifest["files"] = sorted([*files_written(folder), MANIFEST])
        write_json(folder / MANIFEST, manifest)
    return out


def _cert_listing(result: RunResult) -> list[dict[str, Any]]:
    """What the summary says of each leaf written to ``certs/``."""
    listing = []
    for number, chain in enumerate(result.issued, start=1):
        leaf = chain[0]
        assert isinstance(leaf, x509.Certificate)
        listing.append(
            {
                "file": f"leaf-{number}.pem",
                "spiffe_id": leaf.extensions.get_extension_for_class(
                    x509.SubjectAlternativeName
                ).value.get_values_for_type(x509.UniformResourceIdentifier)[0],
                "serial_number": format(leaf.serial_number, "X"),
                "not_before": leaf.not_valid_before_utc.isoformat(),
                "not_after": leaf.not_valid_after_utc.isoformat(),
            }
        )
    return listing


def _manifest(run: Run, command: str, started_at: datetime) -> dict[str, Any]:
    scenario = run.result.scenario
    return {
        "scenario": scenario.name,
        "scenario_sha256": run.summary["scenario_sha256"],
        "seed": scenario.seed,
        "command": command,
        "started_at": started_at.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "meshsim_version": __version__,
        "build": build_kind(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "dependencies": _dependency_versions(),
    }


def _dependency_versions() -> dict[str, str]:
    """The installed version of each package meshsim runs on."""
    try:
        listed = requires("meshsim") or []
        names = [
            match[0]
            for line in listed
            if "extra ==" not in line
            and (match := _REQUIREMENT.match(line)) is not None
        ]
    except PackageNotFoundError:
        names = list(_DEPENDENCIES)
    versions = {}
    for name in names:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _pem(chain: tuple[Any, ...]) -> bytes:
    return b"".join(c.public_bytes(Encoding.PEM) for c in chain)
