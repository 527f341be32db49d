"""A run's result folder, written so that no half-written file remains.

Everything is written into a hidden staging folder beside the target and
moved into place with one rename at the end; a crash leaves the staging
folder, never a partial result folder. Each file inside is itself written
to a temporary name and renamed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

__all__ = [
    "OutputExistsError",
    "check_output",
    "staged_folder",
    "write_bytes",
    "write_figure",
    "write_json",
    "write_table",
]


class OutputExistsError(FileExistsError):
    """The result folder exists and ``force`` was not given."""


def check_output(out: Path, force: bool) -> None:
    """Refuse early to overwrite an existing folder without ``force``."""
    if out.exists() and not force:
        raise OutputExistsError(
            f"--out: {str(out)!r} already exists; pass --force to replace it"
        )
    if out.exists() and not out.is_dir():
        raise OutputExistsError(
            f"--out: {str(out)!r} exists and is not a folder"
        )


@contextmanager
def staged_folder(out: Path, force: bool) -> Iterator[Path]:
    """Yield a staging folder; on success it replaces ``out`` at once."""
    check_output(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(
        tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent)
    )
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _publish(staging, out)


def _publish(staging: Path, out: Path) -> None:
    """Move ``staging`` to ``out``, replacing an old folder if present."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.replace(out, old / out.name)
    os.replace(staging, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.", dir=path.parent
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON."""
    text = json.dumps(data, indent=2, sort_keys=False, default=str)
    write_bytes(path, (text + "\n").encode())


def write_table(path: Path, table: pd.DataFrame) -> None:
    """Write a table as Parquet."""
    write_bytes(path, table.to_parquet(index=False))


def write_figure(path: Path, figure: Figure) -> None:
    """Write a figure as PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".png", dir=path.parent
    )
    os.close(descriptor)
    try:
        figure.savefig(temporary, dpi=110)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
