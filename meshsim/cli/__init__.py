"""The ``meshsim`` command line: parse options, call the library, show
the result. Each command lives in its own module and calls one plain
function that a notebook can call too.

Commands are imported only when run, so ``meshsim run`` does not pay for
the sweep machinery (Dask, SciPy) it never uses.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import signal
import sys
from types import FrameType
from typing import Any

import click

from meshsim.cli.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    OneLineGroup,
    fail,
    fail_output,
    interrupted,
    output_failed,
)
from meshsim.cli.interrupts import Terminated, catching_interrupts
from meshsim.native import StaleBuildError, require_current

__all__ = ["SUMMARIES", "entry", "main"]

# Command name -> "module:attribute" of its click command.
_COMMANDS = {
    "validate": "meshsim.cli.run:validate",
    "run": "meshsim.cli.run:run",
    "profiles": "meshsim.cli.profiles:profiles",
    "sweep": "meshsim.cli.sweep:sweep",
    "report": "meshsim.cli.report:report",
    "validate-model": "meshsim.cli.validate_model:validate_model",
}

# What ``meshsim --help`` lists for each command without importing it:
# the first line of its help (tests/test_cli.py keeps the two equal).
SUMMARIES = {
    "validate": "Check a scenario file and report every error in it.",
    "run": "Run a scenario and write its results.",
    "profiles": "Print the defaults a profile sets, each with where it "
    "comes from.",
    "sweep": "Run every point of a sweep file, replicated; resume if stopped.",
    "report": "Draw the figures of the sweep in FOLDER and write report.html.",
    "validate-model": "Compare simulated figures with the model's closed "
    "forms.",
}


class _LazyGroup(OneLineGroup):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_COMMANDS)

    def format_commands(
        self, ctx: click.Context, formatter: click.HelpFormatter
    ) -> None:
        """List the commands from their summaries, importing none."""
        width = formatter.width - 6 - max(len(name) for name in SUMMARIES)
        rows = [
            (name, _shortened(SUMMARIES[name], width)) for name in _COMMANDS
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def get_command(
        self, ctx: click.Context, cmd_name: str
    ) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attribute = target.split(":")

        # A library may swallow the exception a signal raises while it is
        # imported (numpy.random's compiled modules have): the signal is
        # remembered and raised again once the import is done.
        try:
            with catching_interrupts() as interrupts:
                command = getattr(importlib.import_module(module), attribute)
                interrupts.check()
        except KeyboardInterrupt as stop:
            interrupted(stop, "interrupted; nothing written")
        assert isinstance(command, click.Command)
        return command

    # Between the command line's first step and a command's own guard
    # (guarded) click reads the arguments and runs this group's callback;
    # an interrupt there would reach click, which says "Aborted!" and
    # exits 1. Nothing is written before a command begins.
    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except KeyboardInterrupt as stop:
            interrupted(stop, "interrupted; nothing written")

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as stop:
            interrupted(stop, "interrupted; nothing written")


@click.group(
    cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(package_name="meshsim")
def main() -> None:
    """Simulate a service mesh's workload identities under attack."""
    # A source edited after the build would not run: say so first.
    try:
        require_current()
    except StaleBuildError as error:
        fail(str(error), EXIT_FAILED)


def entry() -> None:
    """The ``meshsim`` command: :func:`main`, ended at once after an
    interrupt.

    By the time an interrupted command exits, it has removed what it had
    begun to write and said so. Python's shutdown could still abort the
    process then ("Fatal Python error" and status -6, seen when Ctrl-C
    lands while pyarrow's threads write a table), so after an interrupt
    the process ends without it.
    """
    # SIGTERM as Ctrl-C from the start, also while a command is imported
    # (each command then catches both in the same way)
    signal.signal(signal.SIGTERM, _terminate)
    if sys.stdout is None:  # closed before Python started (``>&-``)
        fail("cannot write output: standard output is closed", EXIT_FAILED)
    try:
        main()
    except OSError as error:
        # click's own output (help, version, usage) found no room
        if not output_failed(error):
            raise
        fail_output(error)
    except SystemExit as done:
        if done.code not in (EXIT_INTERRUPTED, EXIT_TERMINATED):
            raise
        # Nothing is left to clean up: a second signal changes nothing,
        # and a closed or broken stream has nothing left to say.
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, signal.SIG_IGN)
        # What a normal exit does before the interpreter is torn down
        # (multiprocessing removes its /tmp/pymp-* folder): the teardown
        # is what aborted.
        # NOTE: atexit has no public way to run its functions early.
        with contextlib.suppress(Exception):
            atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(done.code)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def _shortened(summary: str, width: int) -> str:
    """``summary`` cut at a word to fit ``width``, as click cuts help."""
    if len(summary) <= width:
        return summary
    return summary[: max(0, width - 3)].rsplit(" ", 1)[0] + "..."
