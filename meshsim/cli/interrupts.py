"""Ctrl-C and SIGTERM while a command works: raised as exceptions,
remembered, and not lost where Python cannot pass them on.

SIGTERM is raised as :class:`Terminated`, a ``KeyboardInterrupt``, so
that a terminated command cleans up as an interrupted one does; the
command line turns either into its one line and status (130, 143).
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from types import FrameType
from typing import Any

from meshsim.signals import handled_by

__all__ = [
    "Interrupts",
    "Terminated",
    "catching_interrupts",
    "signals_ignored",
]


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the same cleanup runs."""


def signals_ignored() -> AbstractContextManager[None]:
    """Within the block, SIGINT and SIGTERM are ignored (main thread
    only; elsewhere nothing changes)."""
    return handled_by(signal.SIG_IGN)


class Interrupts:
    """Ctrl-C and SIGTERM raised as exceptions, and remembered.

    A library may swallow the exception a signal raises (a callback that
    turns every error into a result); :meth:`check` raises it again, so a
    caller that checks at each step of long work is always stopped.
    """

    def __init__(self) -> None:
        self.received: int | None = None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """The signal handler: remember the signal, then raise."""
        self.received = signum
        self.check()

    def check(self) -> None:
        """Raise again any interrupt received so far."""
        stop = self.exception()
        if stop is not None:
            raise stop

    def exception(self) -> KeyboardInterrupt | None:
        """The exception of the signal received so far, if any."""
        if self.received == signal.SIGTERM:
            return Terminated()
        if self.received is not None:
            return KeyboardInterrupt()
        return None


@contextmanager
def catching_interrupts() -> Iterator[Interrupts]:
    """Within the block, SIGINT raises ``KeyboardInterrupt`` and SIGTERM
    :class:`Terminated`, so that a stopped run cleans up the same way, and
    both are remembered (main thread only; elsewhere nothing changes).

    An error that leaves the block after a signal came leaves it as that
    signal's exception: a library that calls back into Python may wrap
    the exception a signal raised there in its own error (pydantic's
    serializer does), which would otherwise read as an internal error.
    """
    interrupts = Interrupts()
    lost: list[BaseException] = []
    with handled_by(interrupts.handle), _interrupts_unsaid(lost):
        try:
            yield interrupts
        except Exception as error:
            stop = interrupts.exception()
            if stop is None:
                raise
            raise stop from error
        # one raised where Python could only print it (a weak reference's
        # callback, a finaliser) and go on: the work ends as stopped
        if lost:
            interrupts.check()


@contextmanager
def _interrupts_unsaid(lost: list[BaseException]) -> Iterator[None]:
    """Within the block, an interrupt raised where Python cannot pass it
    on (it prints ``Exception ignored in ...`` and a traceback) prints
    nothing and is added to ``lost``."""
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            lost.append(unraisable.exc_value)
        else:
            previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = previous
