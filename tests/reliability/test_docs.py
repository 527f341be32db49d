"""docs/reliability.md lists what the code does: its NOTE marks and the
exit statuses of the command line."""

from __future__ import annotations

import re

from meshsim.cli.common import (
    DEBUG_ENV,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    EXIT_USAGE,
)

from .conftest import REPO

DOC = (REPO / "docs" / "reliability.md").read_text("utf-8")
DOCUMENTED = (
    "meshsim/files.py",
    "meshsim/results.py",
    "meshsim/scenario/runnable.py",
)


def test_every_note_of_these_parts_is_listed() -> None:
    for name in DOCUMENTED:
        marks = (REPO / name).read_text("utf-8").count("NOTE:")
        rows = re.findall(rf"^\| `{re.escape(name)}`", DOC, re.MULTILINE)
        assert len(rows) == marks, name


def test_exit_statuses_are_the_documented_ones() -> None:
    table = set(re.findall(r"^\| (\d+) \|", DOC, re.MULTILINE))
    codes = {0, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED}
    assert {str(code) for code in codes} <= table
    assert (EXIT_INTERRUPTED, EXIT_TERMINATED) == (130, 143)
    assert f"{DEBUG_ENV}=1" in DOC


def test_readme_links_the_page() -> None:
    readme = (REPO / "README.md").read_text("utf-8")
    assert "(docs/reliability.md)" in readme
