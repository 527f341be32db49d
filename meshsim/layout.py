"""What in an output folder meshsim wrote, and so may replace.

A layout lists the paths meshsim writes in a result folder as patterns
(``#`` a digit, ``#+`` one or more, ``*`` any name, a folder's ending in
``/``); ``--force`` replaces a folder only when everything in it fits its
layout, so that no file of the user's is deleted with an earlier result.
An earlier result's own record of what it wrote, when it has one, narrows
the layout further (``written``).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import Final

from meshsim.files import TEMPORARY, read_json

__all__ = [
    "RESULT_MARKS",
    "files_written",
    "foreign_entries",
    "refuse_foreign",
    "refuse_inside_result",
]

RESULT_MARKS: Final = {
    "manifest.json": "meshsim_version",
    "sweep.json": "plan_sha256",
}
"""The files that mark a folder as a result, with a key meshsim writes
in each: a run's or a finished sweep's manifest, a sweep's guard
(``meshsim.results.MANIFEST``, ``meshsim.experiment.store.GUARD``)."""


def refuse_foreign(
    folder: Path,
    layout: Sequence[str],
    refusal: type[Exception],
    written: Callable[[str], bool] | None = None,
) -> None:
    """Raise ``refusal`` if ``folder`` holds anything meshsim did not
    write there (a path outside ``layout``, or one ``written`` says was
    not: ``--force`` would delete it with the result: notes, another
    result, a link)."""
    foreign = foreign_entries(folder, layout, written)
    if foreign:
        shown = ", ".join(repr(name) for name in foreign[:3])
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        raise refusal(
            f"--out: {str(folder)!r} holds {shown}{more} besides what "
            "meshsim wrote there; it is not replaced even with --force "
            "(move them away first)"
        )


def refuse_inside_result(path: Path, refusal: type[Exception]) -> None:
    """Raise ``refusal`` if a folder above ``path`` holds a meshsim result
    (see :data:`RESULT_MARKS`): what is written there would be foreign to
    that result, which ``--force`` could then no longer replace."""
    for above in Path(os.path.abspath(path)).parents:
        if any(_marks(above / name, key) for name, key in RESULT_MARKS.items()):
            raise refusal(
                f"--out: {str(path)!r} is inside {str(above)!r}, a meshsim "
                "result, which --force could then no longer replace; give "
                "a folder outside it"
            )


def _marks(path: Path, key: str) -> bool:
    """Whether ``path`` is a JSON object holding ``key``."""
    try:
        found = read_json(path)
    except (OSError, ValueError):
        return False
    return isinstance(found, dict) and key in found


def foreign_entries(
    folder: Path,
    layout: Sequence[str],
    written: Callable[[str], bool] | None = None,
) -> list[str]:
    """The paths inside ``folder`` (relative, sorted) that match no
    pattern of ``layout`` and are no temporary file of one that does, or
    that are neither a plain file nor a folder (a link, a pipe); a
    foreign folder is named, not what it holds. With ``written`` (the
    earlier result's own record of the files it wrote), a file of the
    layout for which it answers False is foreign too (a temporary file
    of one is not asked about: only meshsim names files so).

    In a pattern, ``#`` stands for a digit, ``#+`` for one or more, and
    ``*`` for any name: only what meshsim itself names so is taken for
    its own, not a user's ``tables/my-analysis.parquet``. A folder's
    pattern ends in ``/``; a folder where a file's pattern would be (or
    the reverse) is foreign.
    """
    foreign = []
    for root, folders, files in os.walk(folder):
        here = Path(root).relative_to(folder)
        for name in [*folders, *files]:
            path = folder / here / name
            inside = (here / name).as_posix()
            plain = not path.is_symlink()
            if plain and path.is_dir():
                own = _in_layout(inside, layout, folder=True)
            else:
                own = (
                    plain
                    and path.is_file()
                    and _in_layout(inside, layout, written=written)
                )
            if not own:
                foreign.append(inside)
        # what a foreign folder holds is not looked at
        folders[:] = [
            name for name in folders if (here / name).as_posix() not in foreign
        ]
    return sorted(foreign)


def _in_layout(
    inside: str,
    layout: Sequence[str],
    *,
    folder: bool = False,
    written: Callable[[str], bool] | None = None,
) -> bool:
    """Whether ``inside`` is a path of ``layout``: a folder's, or a file's
    (one ``written`` allows, if given) or a temporary file of one."""
    if folder:
        return any(_pattern(p).fullmatch(f"{inside}/") for p in layout)
    path = PurePosixPath(inside)
    temporary = TEMPORARY.fullmatch(path.name)
    if temporary is not None:
        # named as only meshsim names its files being written
        path = path.with_name(temporary["name"])
    shown = path.as_posix()
    if temporary is None and written is not None and not written(shown):
        return False
    return any(_pattern(pattern).fullmatch(shown) for pattern in layout)


def files_written(folder: Path) -> list[str]:
    """The files in ``folder``, as paths relative to it, sorted: what a
    result's manifest lists as written (``files``)."""
    return sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file()
    )


@functools.cache
def _pattern(pattern: str) -> re.Pattern[str]:
    """A layout pattern as a regular expression (``#``: a digit, ``#+``:
    one or more, ``*``: any name)."""
    escaped = re.escape(pattern).replace(r"\#\+", "[0-9]+")
    return re.compile(escaped.replace(r"\#", "[0-9]").replace(r"\*", "[^/]*"))
