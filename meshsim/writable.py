"""Whether the system lets meshsim write where it is asked to.

Result folders and sweep folders are checked before any work starts, so
that a run is not lost to a name too long, a path too deep or a folder
that refuses new entries: each check raises ``OutputExistsError`` naming
the path and the reason.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from meshsim.signals import signals_held

__all__ = [
    "OutputExistsError",
    "check_lengths",
    "check_writable",
    "nearest_existing",
    "refusing_os_errors",
]

# The usual limits on a name and a path where the system cannot say.
_NAME_MAX: Final = 255
_PATH_MAX: Final = 4096


class OutputExistsError(FileExistsError):
    """The result folder exists and may not be replaced, or cannot be
    created where it was asked for."""


@contextlib.contextmanager
def refusing_os_errors(
    out: Path, refusal: type[OutputExistsError]
) -> Iterator[None]:
    """Within the block, an ``OSError`` while looking at ``out`` (a name
    too long, a loop of links, ...) becomes ``refusal`` naming ``out`` and
    the system's reason; a ``refusal`` raised there passes as it is."""
    try:
        yield
    except refusal:
        raise
    except OSError as error:
        raise refusal(
            f"--out: {str(out)!r}: {error.strerror or error}"
        ) from None


def check_lengths(out: Path, beside: dict[str, str], deepest: int) -> None:
    """Raise ``OutputExistsError`` if the system would refuse a name or a
    path written for ``out``: a folder of its path yet to be made whose
    name is too long; a name in ``beside`` (the value says what it
    names) too long; or the longest path written, ``deepest`` bytes, too
    long."""
    out = Path(os.path.abspath(out))
    above = nearest_existing(out.parent)
    name_max = _limit(above, "PC_NAME_MAX", _NAME_MAX)
    for part in out.relative_to(above).parts:
        if len(os.fsencode(part)) > name_max:
            raise OutputExistsError(
                f"--out: {part!r} is too long a name: a name may have at "
                f"most {name_max}"
            )
    own = len(os.fsencode(out.name))
    for name, what in beside.items():
        extra = len(os.fsencode(name)) - own
        if own + extra > name_max:
            raise OutputExistsError(
                f"--out: {out.name!r} is too long a name here: {what} plus "
                f"{extra} characters, and a name may have at most {name_max}"
            )
    path_max = _limit(above, "PC_PATH_MAX", _PATH_MAX)
    if deepest >= path_max:
        raise OutputExistsError(
            f"--out: {str(out)!r} is too long a path: files of up to "
            f"{deepest} characters are written under it, and a path may "
            f"have at most {path_max - 1}"
        )


def _limit(folder: Path, name: str, otherwise: int) -> int:
    """The system's limit ``name`` (``PC_NAME_MAX``...) where ``folder``
    lies, or ``otherwise`` where it cannot say."""
    try:
        return os.pathconf(folder, name)
    except (OSError, ValueError):
        return otherwise


def check_writable(folder: Path, prefix: str) -> None:
    """Raise ``OutputExistsError`` unless a folder can be made in
    ``folder``, or in the nearest folder above it while it does not exist
    yet: one named ``prefix…`` is made and removed at once (which tells
    more than ``os.access``: a read-only file system, ``/proc``)."""
    folder = nearest_existing(folder)
    # a signal meanwhile would leave the trial folder behind: it waits
    with signals_held():
        try:
            trial = tempfile.mkdtemp(prefix=prefix, dir=folder)
        except OSError as error:
            raise OutputExistsError(
                f"--out: cannot write in {str(folder)!r}: "
                f"{error.strerror or error}"
            ) from None
        os.rmdir(trial)


def nearest_existing(path: Path) -> Path:
    """``path``, or the nearest path above it that exists (a symbolic
    link to nothing included)."""
    while not os.path.lexists(path) and path != path.parent:
        path = path.parent
    return path
