"""The ``meshsim`` command's first step: load the command line, stopping
in one line if interrupted meanwhile.

Loading the command line imports the scenario schema and its
dependencies (about 0.4 s), before any of its own signal handling runs.
Ctrl-C or SIGTERM in that time would end the command with Python's
traceback or no word at all; here they end it with the line and status
the command line gives (nothing has been written yet). This module
imports nothing of meshsim but that.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from types import FrameType
from typing import NoReturn

__all__ = ["main"]

# meshsim.cli.common's statuses, not imported from there: importing it is
# the work this module guards (tests/test_cli.py keeps them equal).
EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_TERMINATED = 128 + signal.SIGTERM


def main() -> None:
    """Import :mod:`meshsim.cli` under a guard, then run its entry (which
    sets its own handlers first)."""
    # A Ctrl-C is remembered as well as raised: the import may drop the
    # exception (in a callback whose errors Python ignores) or wrap it
    # in an error of its own (pydantic building a schema).
    interrupted: list[int] = []

    def interrupt(signum: int, frame: FrameType | None) -> None:
        interrupted.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminated)
    signal.signal(signal.SIGINT, interrupt)
    try:
        from meshsim.cli import entry
    except BaseException:
        if not interrupted:
            raise
        _stop("interrupted; nothing written", EXIT_INTERRUPTED)
    if interrupted:
        _stop("interrupted; nothing written", EXIT_INTERRUPTED)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    entry()


def _terminated(signum: int, frame: FrameType | None) -> None:
    _stop("terminated; nothing written", EXIT_TERMINATED)


def _stop(message: str, status: int) -> NoReturn:
    # A second signal (Ctrl-C twice; `timeout` signals the process and
    # then its group) must not cut the line short with a traceback.
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_IGN)

    # Ended at once: an import cut short leaves half-made modules that
    # Python's shutdown need not see. A closed stderr leaves the status.
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
    os._exit(status)
