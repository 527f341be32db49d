"""One sweep per result folder at a time.

Two sweeps writing one folder at once lose each other's runs (one with
--force clears what the other stores). A sweep holds its folder with an
exclusive lock on an empty file beside it, ``.NAME.lock``, which --force
does not touch and the system lets go when the process ends, however it
ends; the file stays.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from meshsim.writable import OutputExistsError

__all__ = [
    "WrongSweepError",
    "lock_file",
    "refuse_if_held",
    "writing_alone",
]


class WrongSweepError(OutputExistsError):
    """The folder holds something other than this sweep."""


@contextlib.contextmanager
def writing_alone(out: Path) -> Iterator[None]:
    """Hold ``out`` for one sweep, within the block; raise
    ``WrongSweepError`` if another sweep holds it."""
    lock = lock_file(out)
    lock.parent.mkdir(parents=True, exist_ok=True)
    held = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _written_elsewhere(out) from None
        yield
    finally:
        os.close(held)


def refuse_if_held(out: Path) -> None:
    """Raise ``WrongSweepError`` if another sweep holds ``out`` now;
    write nothing (a lock file that is not there is not made)."""
    try:
        held = os.open(lock_file(out), os.O_RDONLY)
    except OSError:
        return  # no lock file, or none we may read: writing_alone says
    try:
        fcntl.flock(held, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        raise _written_elsewhere(out) from None
    finally:
        os.close(held)  # closing lets go of the shared hold


def lock_file(out: Path) -> Path:
    """The lock file of the folder ``out``: ``.NAME.lock`` beside it."""
    whole = out.resolve()  # "." has no name to put beside it
    return whole.parent / f".{whole.name}.lock"


def _written_elsewhere(out: Path) -> WrongSweepError:
    return WrongSweepError(
        f"--out: {str(out)!r} is being written by another meshsim "
        "sweep; run this one when it has ended"
    )
