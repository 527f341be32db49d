"""One file written whole: to a temporary name beside it, flushed to
disk and renamed, so that a reader sees the old file or the new one and
never part of either.

Temporary files are named ``.NAME.meshsim-`` plus eight random characters,
beside NAME (earlier builds added ``.png`` for figures); ``TEMPORARY``
recognises them, so that a folder holding one is still known as
meshsim's. Folders made for a file are removed again if writing fails.
Figures and pages carry a mark saying meshsim made them
(``made_by_meshsim``). JSON is read here too, refusing what a file
edited by hand may hold.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import re
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pandas as pd

from meshsim.signals import signals_held

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "GENERATOR_META",
    "TEMPORARY",
    "figure_bytes",
    "fsync_dir",
    "json_bytes",
    "made_by_meshsim",
    "make_folders",
    "read_json",
    "table_bytes",
    "umask",
    "write_bytes",
    "write_figure",
    "write_json",
    "write_table",
    "write_together",
]

TEMPORARY: Final = re.compile(r"\.(?P<name>.+)\.meshsim-[a-z0-9_]{8}(?:\.png)?")
"""A file being written, beside where ``name`` will be."""

GENERATOR_META: Final = '<meta name="generator" content="meshsim">'
"""The tag a page meshsim writes carries in its head."""

# What a figure meshsim made carries near its start: a PNG's signature
# (8 bytes) and header chunk (25) come first, then the length of its
# first text chunk (4), then the chunk's type and text.
_PNG_MARK: Final = b"tEXtSoftware\x00meshsim"


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries, where the system allows it (POSIX)."""
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def read_json(path: Path) -> Any:
    """The JSON value in the file at ``path``: ``OSError`` when it cannot
    be read, ``ValueError`` when it holds no JSON, JSON nested deeper
    than Python can decode, or text no UTF-8 can hold (a file edited by
    hand: JSON may escape half of a surrogate pair, ``"\\udce9"``)."""
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{path.name}: not UTF-8 text (byte "
            f"0x{error.object[error.start]:02x} at {error.start})"
        ) from None
    try:
        value = json.loads(text, parse_int=_whole_number)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{path.name}: not JSON ({error.msg} at line {error.lineno}, "
            f"column {error.colno})"
        ) from None
    except RecursionError:
        raise ValueError(f"{path.name}: nested too deeply") from None
    except _TooManyDigitsError as error:
        raise ValueError(
            f"{path.name}: holds a whole number of {error.digits} digits "
            f"(at most {sys.get_int_max_str_digits()} are read)"
        ) from None
    if _SURROGATE_ESCAPE.search(text) is not None:
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except RecursionError:
            raise ValueError(f"{path.name}: nested too deeply") from None
        except UnicodeEncodeError as error:
            half = ascii(error.object[error.start])[1:-1]
            raise ValueError(
                f"{path.name}: holds text with {half}, half of a "
                "surrogate pair, which is no character"
            ) from None
    return value


# an escape of a surrogate, paired or not (checked further when found)
_SURROGATE_ESCAPE: Final = re.compile(r"\\u[dD][89a-fA-F]")


class _TooManyDigitsError(Exception):
    def __init__(self, digits: int) -> None:
        super().__init__(digits)
        self.digits = digits


def _whole_number(text: str) -> int:
    """``text`` as an int; Python refuses to read one of more digits than
    its limit, with advice for programmers rather than users."""
    try:
        return int(text)
    except ValueError:
        raise _TooManyDigitsError(len(text.lstrip("-"))) from None


def umask() -> int:
    """The process's file mode creation mask, left as it was."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def make_folders(folder: Path, made: list[Path]) -> None:
    """Make ``folder`` and the folders above it that do not exist, adding
    each to ``made`` as it is made (outermost first), so that a failure
    midway leaves the list of those to remove."""
    missing = []
    while not os.path.lexists(folder) and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        try:
            path.mkdir()
        except FileExistsError:
            continue  # made meanwhile by someone else: not ours to remove
        made.append(path)


def _temporary(path: Path, made: list[Path]) -> tuple[int, str]:
    """A new file beside ``path``, with the mode a plain open would give
    (not mkstemp's 0600: results are meant to be shared). The folders
    made for it are added to ``made``, outermost first."""
    make_folders(path.parent, made)
    if not path.parent.is_dir():
        # named, rather than the temporary file it cannot hold
        raise NotADirectoryError(
            errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path.parent)
        )
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.meshsim-", dir=path.parent
    )
    if hasattr(os, "fchmod"):
        with contextlib.suppress(OSError):  # a file system without modes
            os.fchmod(descriptor, 0o666 & ~umask())
    return descriptor, temporary


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename."""
    write_together({path: data})


def write_together(files: Mapping[Path, bytes]) -> None:
    """Write each file's bytes to a temporary file beside it, then rename
    them all, one right after another: a failure while writing leaves
    every file as it was, and the files change within microseconds of
    each other, a signal held until all are."""
    written: dict[Path, str] = {}
    made: list[Path] = []
    try:
        for path, data in files.items():
            descriptor, written[path] = _temporary(path, made)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        # Ctrl-C or SIGTERM waits for the last rename: not old files
        # beside new ones
        with signals_held():
            for path, temporary in written.items():
                os.replace(temporary, path)
    except BaseException:
        for temporary in written.values():
            Path(temporary).unlink(missing_ok=True)
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def json_bytes(data: Any) -> bytes:
    """``data`` as indented JSON, ending with a new line."""
    text = json.dumps(data, indent=2, sort_keys=False, default=str)
    return (text + "\n").encode()


def table_bytes(table: pd.DataFrame) -> bytes:
    """A table as Parquet."""
    return table.to_parquet(index=False)


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON."""
    write_bytes(path, json_bytes(data))


def write_table(path: Path, table: pd.DataFrame) -> None:
    """Write a table as Parquet."""
    write_bytes(path, table_bytes(table))


def figure_bytes(figure: Figure) -> bytes:
    """A figure as PNG, naming meshsim as the software that made it."""
    buffer = io.BytesIO()
    figure.savefig(
        buffer, format="png", dpi=110, metadata={"Software": "meshsim"}
    )
    return buffer.getvalue()


def made_by_meshsim(path: Path) -> bool:
    """Whether the file at ``path`` says meshsim made it: a PNG of
    :func:`figure_bytes` (its first text chunk, right after its header,
    names meshsim as the software), or a page whose head, in its first
    kilobyte, names meshsim as its generator before any comment."""
    try:
        with path.open("rb") as handle:
            start = handle.read(1024)
    except OSError:
        return False
    if start.startswith(b"\x89PNG"):
        return start[37:].startswith(_PNG_MARK)
    head = start.partition(b"<!--")[0].partition(b"<body")[0]
    return GENERATOR_META.encode() in head


def write_figure(path: Path, figure: Figure) -> None:
    """Write a figure as PNG."""
    write_bytes(path, figure_bytes(figure))
