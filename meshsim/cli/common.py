"""What every command shares: scenario loading, overrides, failing, and
turning whatever goes wrong into one line and an exit status.

Exit statuses: 0 success; 1 an internal error or results that could not
be written; 2 a bad scenario, option or output folder; 130 interrupted
(Ctrl-C, SIGINT); 143 terminated (SIGTERM). With ``MESHSIM_DEBUG=1`` an
internal error also prints its traceback.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import os
import signal
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, Final, NoReturn, ParamSpec, TypeVar, cast

import click
from rich.console import Console

from meshsim.cli.interrupts import (
    Terminated,
    catching_interrupts,
    signals_ignored,
)
from meshsim.scenario import Scenario, ScenarioError, load_scenario

__all__ = [
    "DEBUG_ENV",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "Count",
    "Folder",
    "GivenPath",
    "OneLineCommand",
    "OneLineGroup",
    "fail",
    "fail_output",
    "guarded",
    "interrupted",
    "load_or_exit",
    "os_reason",
    "output_failed",
    "overrides_option",
    "progress_console",
    "say",
    "scenario_file_hint",
    "silence_stdout",
    "sweep_file_hint",
    "table_console",
]

EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 128 + signal.SIGINT
EXIT_TERMINATED: Final = 128 + signal.SIGTERM

DEBUG_ENV: Final = "MESHSIM_DEBUG"
"""Set to 1 to see the traceback of an internal error."""

_P = ParamSpec("_P")
_R = TypeVar("_R")

overrides_option = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a scenario key, e.g. --set mesh.workloads=400.",
)


@contextlib.contextmanager
def _usage_in_one_line(ctx: click.Context) -> Iterator[None]:
    """Raise click's usage errors as one line (:class:`_UsageLine`)."""
    try:
        yield
    except click.UsageError as error:
        raise _UsageLine(error.format_message(), error.ctx or ctx) from None


class OneLineCommand(click.Command):
    """A command whose usage errors (unknown option, missing argument)
    print one line, like every other error."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        with _usage_in_one_line(ctx):
            return super().parse_args(ctx, args)


class OneLineGroup(click.Group):
    """A group whose usage errors (an unknown option or command) print one
    line, as its commands' do."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args:
            return super().parse_args(ctx, args)  # the help, as asked for
        with _usage_in_one_line(ctx):
            return super().parse_args(ctx, args)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        with _usage_in_one_line(ctx):
            return super().resolve_command(ctx, args)


class Count(click.IntRange):
    """A whole number within a range, written in ASCII digits (Python's
    ``int`` also reads other scripts' digits, such as ``٣``)."""

    name = "integer"

    def convert(
        self,
        value: Any,
        param: click.Parameter | None,
        ctx: click.Context | None,
    ) -> Any:
        if isinstance(value, str) and not value.strip().isascii():
            self.fail(f"{value!r} is not written in the digits 0-9", param, ctx)
        return super().convert(value, param, ctx)


class GivenPath(click.Path):
    """A path that may not be empty (the system would read it as the
    current folder), nor, unless ``blank_ok``, only spaces."""

    def __init__(self, blank_ok: bool = True) -> None:
        super().__init__(path_type=Path)
        self.blank_ok = blank_ok

    def convert(
        self,
        value: Any,
        param: click.Parameter | None,
        ctx: click.Context | None,
    ) -> Any:
        if value == "":
            self.fail("must not be empty", param, ctx)
        if not self.blank_ok and isinstance(value, str) and not value.strip():
            self.fail(f"must not be blank (got {value!r})", param, ctx)
        return super().convert(value, param, ctx)


class Folder(GivenPath):
    """A result folder's path: a folder named by spaces is a slip, not a
    choice."""

    def __init__(self) -> None:
        super().__init__(blank_ok=False)


class _UsageLine(click.UsageError):
    def show(self, file: IO[Any] | None = None) -> None:
        command = self.ctx.command_path if self.ctx else "meshsim"
        message = _one_line(self.format_message())
        click.echo(f"error: {message} (see {command} --help)", err=True)


def load_or_exit(
    path: Path, overrides: tuple[str, ...], sweep_advice: str
) -> Scenario:
    """The scenario, or every problem of it on stderr and exit status 2;
    a sweep file given instead is first named as one, with
    ``sweep_advice``."""
    try:
        return load_scenario(path, overrides)
    except ScenarioError as error:
        hint = sweep_file_hint(path, error, sweep_advice)
        if hint is not None:
            say(hint)
        _report(error)


def sweep_file_hint(
    path: Path, error: ScenarioError, advice: str
) -> str | None:
    """A line saying that ``path`` looks like a sweep file, followed by
    ``advice``, when ``error`` calls its ``scenario`` key unknown along
    with a sweep file's own keys; else None."""
    # Imported here, on the error path: the sweep machinery loads pandas.
    from meshsim.experiment.sweep_file import sweep_marks

    marks = sweep_marks(
        p.path
        for p in error.problems
        if p.rule.startswith("unknown key") and p.line is not None
    )
    return _looks_like(path, "sweep", marks, advice)


def scenario_file_hint(path: Path, error: ScenarioError) -> str | None:
    """A line saying that ``path``, given as a sweep file, looks like a
    scenario file, when ``error`` finds no ``scenario`` key and calls
    scenario keys unknown; else None."""
    from meshsim.experiment.sweep_file import scenario_marks

    unknown = [p.path for p in error.problems if p.rule.startswith("unknown")]
    missing = [p.path for p in error.problems if p.rule.startswith("required")]
    marks = scenario_marks(unknown) if "scenario" in missing else []
    advice = (
        "run it with meshsim run FILE, or name it as a sweep file's "
        "scenario (docs/experiments.md)"
    )
    return _looks_like(path, "scenario", marks, advice)


def _looks_like(
    path: Path, kind: str, marks: list[str], advice: str
) -> str | None:
    """``path: a KIND file, it seems (it has the keys MARKS); ADVICE``,
    or None without marks."""
    if not marks:
        return None
    keys = ", ".join(marks)
    return f"{path}: a {kind} file, it seems (it has the keys {keys}); {advice}"


def fail(message: str, status: int = EXIT_USAGE) -> NoReturn:
    """One line on stderr, then exit with ``status`` (2 unless given)."""
    say(f"error: {_one_line(message)}")
    sys.exit(status)


def os_reason(error: OSError) -> str:
    """Why the system refused, and the file it names if any:
    ``No space left on device (FILE)``."""
    reason = error.strerror or str(error)
    return f"{reason} ({error.filename})" if error.filename else reason


def say(message: str) -> None:
    """``message`` on stderr, or nothing when stderr is gone (a closed
    pipe): the exit status still tells."""
    with contextlib.suppress(OSError, ValueError):
        click.echo(message, err=True)


class _Stderr(io.TextIOBase):
    """Standard error that drops what it cannot write (a closed pipe),
    for progress bars: losing one must not fail the work it shows.

    It writes to ``sys.stderr`` as it is at each write (a test's capture
    included), but never to the stand-in a live progress bar puts there
    while it shows: that stand-in prints into the bar's console, which
    writes here, and the two would feed each other for ever.
    """

    def write(self, text: str) -> int:
        stream = _real_stderr()
        if stream is not None:
            with contextlib.suppress(OSError, ValueError):
                stream.write(text)
        return len(text)

    def flush(self) -> None:
        stream = _real_stderr()
        if stream is not None:
            with contextlib.suppress(OSError, ValueError):
                stream.flush()

    def isatty(self) -> bool:
        stream = _real_stderr()
        try:
            return stream is not None and stream.isatty()
        except (OSError, ValueError):
            return False

    def fileno(self) -> int:
        stream = _real_stderr()
        if stream is None:
            raise OSError(errno.EBADF, "standard error is closed")
        return stream.fileno()


def _real_stderr() -> IO[str] | None:
    """``sys.stderr`` (None when closed before Python started), or the
    stream a live display's stand-in there writes to."""
    stream: IO[str] | None = sys.stderr
    proxied: IO[str] | None = getattr(stream, "rich_proxied_file", stream)
    return proxied


def progress_console() -> Console:
    """A console on stderr for progress, which a closed stderr cannot
    fail."""
    # a text stream, though typeshed's IO[str] does not list TextIOBase
    return Console(file=cast("IO[str]", _Stderr()))


def guarded(command: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``command`` so that nothing escapes as a traceback.

    A scenario problem prints its lines (status 2); an interrupt prints
    ``interrupted`` (130), SIGTERM ``terminated`` (143); a closed stdout
    ends quietly (status 1), one that cannot be written (a full disk)
    says so (status 1); any other exception prints
    ``error: internal error: TYPE: MESSAGE (please report)`` (status 1),
    with the traceback first if ``MESHSIM_DEBUG`` is set. A command that
    wants a more precise word on an interrupt catches it itself.
    """

    @functools.wraps(command)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            with catching_interrupts(), warnings.catch_warnings():
                # numpy's and matplotlib's warnings about values a folder
                # edited by hand holds (inf, NaN) would print a traceback-
                # like block: the page or table shows the values as they
                # are, and meshsim itself warns of nothing
                warnings.simplefilter("ignore", RuntimeWarning)
                warnings.simplefilter("ignore", UserWarning)
                result = command(*args, **kwargs)
                # a stdout that cannot take the output fails here, not
                # as Python exits (a closed one is None)
                if sys.stdout is not None:
                    sys.stdout.flush()
                return result
        except ScenarioError as error:
            _report(error)
        except KeyboardInterrupt as stop:
            interrupted(stop, "interrupted")
        except (click.ClickException, click.exceptions.Exit):
            raise  # click's own usage errors and exits
        except BrokenPipeError:
            # the reader of stdout went away (``| head``): stop quietly
            silence_stdout()
            sys.exit(EXIT_FAILED)
        except OSError as error:
            if not output_failed(error):
                _internal(error)
            fail_output(error)
        except Exception as error:
            _internal(error)

    return run


# What a write to an output that cannot take it fails with: no room, or
# a descriptor not open for writing (``1<file``).
_NO_ROOM: Final = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EBADF}
)


def _internal(error: Exception) -> NoReturn:
    """``internal error`` with the exception (its traceback first with
    ``MESHSIM_DEBUG``), status 1."""
    if _debugging():
        traceback.print_exception(error, file=sys.stderr)
    kind = type(error).__name__
    fail(f"internal error: {kind}: {error} (please report)", EXIT_FAILED)


def fail_output(error: OSError) -> NoReturn:
    """Say that the output cannot be written, and why; status 1."""
    silence_stdout()
    fail(f"cannot write output: {os_reason(error)}", EXIT_FAILED)


def output_failed(error: OSError) -> bool:
    """Whether ``error`` is a write that found no room (``>/dev/full``, a
    full disk or quota) or no output open for writing (``1<file``).

    Such an error names no file when it comes from standard output; the
    commands' own files are written with errors of their own.
    """
    return error.filename is None and error.errno in _NO_ROOM


def interrupted(stop: KeyboardInterrupt, message: str) -> NoReturn:
    """Print ``message`` (``terminated`` for SIGTERM) and exit 130 or 143.

    When stderr is gone (a closed pipe) the status alone says it.
    """
    status = EXIT_INTERRUPTED
    if isinstance(stop, Terminated):
        message = message.replace("interrupted", "terminated", 1)
        status = EXIT_TERMINATED

    # a second signal (Ctrl-C twice) must not cut the line short with a
    # traceback: what was begun is already cleaned up
    with signals_ignored():
        say(message)
    sys.exit(status)


def _report(error: ScenarioError) -> NoReturn:
    for problem in error.problems:
        say(_one_line(str(problem)))
    sys.exit(EXIT_USAGE)


def silence_stdout() -> None:
    """Point stdout at the null device so that exiting flushes nothing."""
    if sys.stdout is None:  # closed when Python started
        return
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _one_line(text: str) -> str:
    return " ".join(text.split("\n"))


def _debugging() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip() not in ("", "0")


# Tables printed off a terminal (into a file or a pipe) use this width
# rather than rich's 80 columns, so that no cell is cut.
_PIPE_WIDTH = 200


def table_console() -> Console:
    """A console for tables: the terminal's width, or a wide one."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=_PIPE_WIDTH)
    return console
