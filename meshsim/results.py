"""A run's result folder, written so that no half-written file remains.

Everything is written into a hidden staging folder beside the target,
``.<name>.partial-<pid>@<host>-<random>``, and moved into place with one
rename at the end; a crash leaves the staging folder, never a partial
result folder. Each file inside is itself written whole (see
``meshsim.files``); the folders are flushed before
and after the final rename, so a power cut cannot publish a folder whose
files are still in the page cache.

Ctrl-C or SIGTERM during the final renames is held until they are done.
A process killed outright (SIGKILL, power cut) can leave its staging
folder behind; the next run writing beside it removes the staging folders
of processes of this host that no longer run.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

from meshsim.files import fsync_dir, make_folders, read_json, umask
from meshsim.layout import refuse_foreign, refuse_inside_result
from meshsim.signals import signals_held
from meshsim.writable import (
    OutputExistsError,
    check_lengths,
    check_writable,
    nearest_existing,
    refusing_os_errors,
)

__all__ = [
    "MANIFEST",
    "RUN_LAYOUT",
    "SCENARIO",
    "check_output",
    "remove_stale_staging",
    "staged_folder",
]

MANIFEST: Final = "manifest.json"
"""The file that marks a folder as a meshsim result (see runner)."""

SCENARIO: Final = "scenario.yaml"
"""A result's resolved scenario: the file to run it again from."""

RUN_LAYOUT: Final = (
    MANIFEST,
    SCENARIO,
    "summary.json",
    "tables/",
    *(
        f"tables/{name}.parquet"
        for name in ("handshakes", "csrs", "rotations", "thefts")
    ),
    "tables/attack_windows.parquet",
    "plots/",
    *(
        f"plots/{name}.png"
        for name in ("ca_load", "attack_windows", "handshakes")
    ),
    "certs/",
    "certs/root.pem",
    # the first chains issued, numbered from 1 (simulation keeps three)
    *(f"certs/leaf-{number}.pem" for number in (1, 2, 3)),
)
"""What ``meshsim run`` writes in its folder, as patterns of paths:
``#`` stands for a digit, ``#+`` for one or more, ``*`` for any name,
and a folder's ends in ``/`` (see :func:`meshsim.layout.foreign_entries`).
"""

_STAGING: Final = ".partial-"
# Characters tempfile adds to a name it makes.
_RANDOM_CHARS: Final = 8
# The longest path a run writes inside its staging folder, rounded up:
# "/tables/.attack_windows.parquet." and eight characters is 40.
_DEEPEST_INSIDE: Final = 48
_MOUNTINFO: Final = Path("/proc/self/mountinfo")
_OCTAL: Final = re.compile(r"\\([0-7]{3})")
_OWNER: Final = re.compile(r"(?P<pid>[0-9]+)@(?P<host>.+)-[^-]+")

_log = logging.getLogger(__name__)


def check_output(out: Path, force: bool) -> None:
    """Refuse early to overwrite an existing folder without ``force``.

    Even with ``force`` only a folder holding an earlier result (with its
    manifest) or nothing at all is replaced, never any other folder. A
    folder that could not be written is refused too, before a run rather
    than after it: where ``out``'s parent exists, a staging folder is made
    there and removed at once.
    """
    with refusing_os_errors(out, OutputExistsError):
        _check_output(out, force)
        _check_staging(out)


def _check_output(out: Path, force: bool) -> None:
    refuse_inside_result(out, OutputExistsError)
    if out.is_symlink():
        # the result would replace the link, not fill what it names
        raise OutputExistsError(
            f"--out: {str(out)!r} is a symbolic link; give the folder itself"
        )
    if not out.exists():
        _check_parent(out)
        return
    if not out.is_dir():
        raise OutputExistsError(
            f"--out: {str(out)!r} exists and is not a folder"
        )
    if not force:
        raise OutputExistsError(
            f"--out: {str(out)!r} already exists; pass --force to replace it"
        )
    if _is_mount_point(out):
        # replacing renames the folder, which a mount point refuses
        raise OutputExistsError(
            f"--out: {str(out)!r} is a mount point, which cannot be "
            "replaced; give a folder inside it"
        )
    if any(out.iterdir()) and not _is_result(out):
        why = (
            f"its {MANIFEST} is not one a meshsim run wrote"
            if (out / MANIFEST).exists()
            else f"no {MANIFEST} written by meshsim"
        )
        raise OutputExistsError(
            f"--out: {str(out)!r} is not a meshsim result folder ({why}); "
            "refusing to replace it"
        )
    refuse_foreign(out, RUN_LAYOUT, OutputExistsError, _files_of(out))
    _check_removable(out)


def _is_mount_point(folder: Path) -> bool:
    """Whether ``folder`` is a mount point, a bind mount of a folder of
    the same file system included (which ``os.path.ismount`` cannot
    tell; Linux lists it in ``/proc/self/mountinfo``)."""
    if os.path.ismount(folder):
        return True
    try:
        table = _MOUNTINFO.read_text("utf-8", errors="replace")
    except OSError:
        return False
    target = os.path.realpath(folder)
    for line in table.splitlines():
        fields = line.split(" ")
        # the fifth field is the mount point, with octal escapes
        if len(fields) > 4 and _OCTAL.sub(_char, fields[4]) == target:
            return True
    return False


def _char(escape: re.Match[str]) -> str:
    return chr(int(escape[1], 8))


def _check_removable(out: Path) -> None:
    """Refuse to replace ``out`` unless this process may delete all of it:
    every folder in it must be readable and writable (``out`` itself too:
    it is moved aside first, which updates its ``..``)."""
    folders = [out]
    while folders:
        folder = folders.pop()
        if not os.access(folder, os.R_OK | os.W_OK | os.X_OK):
            raise OutputExistsError(
                f"--out: {str(out)!r} cannot be replaced: {str(folder)!r} "
                "is not writable, so the earlier result could not be deleted"
            )
        folders += [
            entry
            for entry in folder.iterdir()
            if entry.is_dir() and not entry.is_symlink()
        ]


def _files_of(out: Path) -> Callable[[str], bool] | None:
    """Which files the result in ``out`` says it wrote, from its
    manifest's ``files``; None for a result of a meshsim that did not
    list them (its layout alone then decides)."""
    try:
        listed = read_json(out / MANIFEST).get("files")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(listed, list):
        return None  # _is_result refuses one that is not a list
    return {*listed, MANIFEST}.__contains__


def _is_result(folder: Path) -> bool:
    """Whether ``folder`` holds a manifest that meshsim wrote: a JSON
    object naming the meshsim version and the scenario's hash, whose
    ``files``, if given, are paths."""
    try:
        manifest = read_json(folder / MANIFEST)
    except (OSError, ValueError):
        return False
    if not isinstance(manifest, dict):
        return False
    # a list of the files written, if there is one, is a list of paths:
    # --force deletes by it (a result of a meshsim that kept none is
    # judged by its names)
    listed = manifest.get("files", [])
    return (
        "meshsim_version" in manifest
        and "scenario_sha256" in manifest
        and isinstance(listed, list)
        and all(isinstance(name, str) for name in listed)
    )


def _check_parent(out: Path) -> None:
    """The nearest existing folder above ``out`` must be a writable one."""
    above = nearest_existing(Path(os.path.abspath(out)).parent)
    if not above.is_dir():
        what = (
            "a symbolic link to nothing"
            if not above.exists()
            else "which is not a folder"
        )
        raise OutputExistsError(
            f"--out: {str(out)!r} is inside {str(above)!r}, {what}"
        )
    if not os.access(above, os.W_OK | os.X_OK):
        raise OutputExistsError(
            f"--out: {str(out)!r} cannot be created: {str(above)!r} is "
            "not writable"
        )


def _check_staging(out: Path) -> None:
    """Refuse ``out`` if no staging folder can be made beside it: a name
    or the path would be too long, or the parent refuses a new folder
    (which ``os.access`` cannot tell, for root under ``/proc`` say)."""
    out = Path(os.path.abspath(out))
    prefix = _staging_prefix(out)
    staging = out.parent / (prefix + "x" * _RANDOM_CHARS)
    why = "the run is staged beside it in a folder named after it"
    deepest = len(os.fsencode(staging)) + _DEEPEST_INSIDE
    check_lengths(out, {staging.name: why}, deepest)
    if nearest_existing(out.parent) != out.parent:
        return  # made when the run is saved; _check_parent looked above
    check_writable(out.parent, prefix)


@contextlib.contextmanager
def staged_folder(
    out: Path, force: bool, left_behind: list[Path] | None = None
) -> Iterator[Path]:
    """Yield a staging folder; on success it replaces ``out`` at once.

    On any exception (Ctrl-C included) the staging folder and the folders
    made above it are removed and ``out`` is left as it was. An earlier
    result that was replaced but could not be wholly deleted is added to
    ``left_behind``, where given.
    """
    out = Path(os.path.abspath(out))
    check_output(out, force)
    made: list[Path] = []
    staging: Path | None = None
    try:
        # A signal during creation is held until the folders are named,
        # so that the cleanup below always knows what to remove.
        with signals_held():
            make_folders(out.parent, made)
            remove_stale_staging(out)
            staging = Path(
                tempfile.mkdtemp(prefix=_staging_prefix(out), dir=out.parent)
            )
        # a result is shared: the modes a plain mkdir would give, not 0700
        staging.chmod(0o777 & ~umask())
        yield staging
        _fsync_tree(staging)
        old = _publish(staging, out, force)
    except BaseException:
        with signals_held():
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            for folder in reversed(made):
                with contextlib.suppress(OSError):
                    folder.rmdir()
        raise
    if old is not None and left_behind is not None:
        left_behind.append(old)


def remove_stale_staging(out: Path) -> list[Path]:
    """Remove staging folders for ``out`` left by dead processes.

    Only folders named by a process of this host that no longer runs are
    removed; those of live processes, of other hosts and of unknown owners
    stay. Return the folders removed.
    """
    out = Path(os.path.abspath(out))
    prefix = f".{out.name}{_STAGING}"
    host = _host()
    removed = []
    try:
        entries = list(out.parent.iterdir())
    except OSError:
        return []
    for entry in entries:
        if not entry.name.startswith(prefix) or not entry.is_dir():
            continue
        owner = _OWNER.fullmatch(entry.name[len(prefix) :])
        if owner is None or owner["host"] != host:
            continue
        if _alive(int(owner["pid"])):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        if not entry.exists():
            removed.append(entry)
            _log.info("removed stale staging folder %s", entry)
    return removed


def _staging_prefix(out: Path) -> str:
    return f".{out.name}{_STAGING}{os.getpid()}@{_host()}-"


def _host() -> str:
    name = socket.gethostname() or "localhost"
    return re.sub(r"[^A-Za-z0-9.]", "_", name)


def _alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this host (ours counts)."""
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    except OSError:
        return True  # cannot tell: keep the folder
    return True


# NOTE: replacing a folder takes two renames (the old one aside, the new
# one in). A process killed outright between them leaves no ``out`` and
# the earlier result in ``.<name>.old-*``, which the user renames back.
# An atomic swap (Linux renameat2 RENAME_EXCHANGE) would close the gap;
# Python's os module does not offer it.
def _publish(staging: Path, out: Path, force: bool) -> Path | None:
    """Move ``staging`` to ``out``, replacing an old folder if present;
    return where that old folder stays if it could not be wholly deleted.
    """
    old: Path | None = None
    with signals_held():
        try:
            # A folder may have appeared since the first check (whether
            # the place is writable, staging there has shown).
            _check_output(out, force)
            if out.exists():
                aside = tempfile.mkdtemp(
                    prefix=f".{out.name}.old-", dir=out.parent
                )
                old = Path(aside) / out.name
                os.replace(out, old)
            try:
                os.replace(staging, out)
            except BaseException:
                if old is not None:
                    os.replace(old, out)  # put the earlier result back
                raise
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            if old is not None:
                # only once empty: the earlier result went back to out
                with contextlib.suppress(OSError):
                    old.parent.rmdir()
            raise
        # Published: what follows may fail without undoing it.
        with contextlib.suppress(OSError):
            fsync_dir(out.parent)
        if old is None:
            return None
        shutil.rmtree(old.parent, ignore_errors=True)
        return old.parent if os.path.lexists(old.parent) else None


def _fsync_tree(folder: Path) -> None:
    """Flush every folder under ``folder`` (files are flushed as written)."""
    for path, _, _ in os.walk(folder, topdown=False):
        fsync_dir(Path(path))
