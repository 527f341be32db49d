"""Holding Ctrl-C and SIGTERM across a step that must not be cut short.

A step that a signal may only interrupt before or after, never midway
(renaming a result folder into place, starting a worker process), runs
inside :func:`signals_held`: the signals that arrive meanwhile are kept
and delivered, in the order they came, once the step is done.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, Final

__all__ = [
    "HELD_SIGNALS",
    "ctrl_c_deferred",
    "handled_by",
    "interrupts_raised_after",
    "signals_held",
]

HELD_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, then deliver them.

    Only the main thread can set signal handlers; elsewhere this does
    nothing.
    """
    with _delivered_after(interrupt=False):
        yield


@contextlib.contextmanager
def ctrl_c_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM as :func:`signals_held` does, and block
    SIGINT in this thread meanwhile, for the programs it starts.

    A program started meanwhile begins with SIGINT blocked and keeps it
    so until it unblocks it, which a multiprocessing fork server never
    does: it and the workers it forks never see Ctrl-C, while a Ctrl-C
    to this process is delivered once the block ends.
    """
    with signals_held():
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            yield
        finally:
            # one that came meanwhile reaches signals_held's handler now
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@contextlib.contextmanager
def interrupts_raised_after() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise ``KeyboardInterrupt``
    at once, to cut the work short, and are remembered; as the block
    ends, each is delivered again to the handlers from before.

    A library may swallow the exception, or turn it into a wrong answer
    (a chain check that fails), and the work goes on: delivered again,
    the signal still stops the caller, before it uses what the block
    made. Only the main thread can set signal handlers; elsewhere this
    does nothing.
    """
    with _delivered_after(interrupt=True):
        yield


@contextlib.contextmanager
def _delivered_after(interrupt: bool) -> Iterator[None]:
    """Remember SIGINT and SIGTERM within the block, raising
    ``KeyboardInterrupt`` at each if ``interrupt``; as the block ends,
    deliver each once, in the order they first came, to the handlers
    from before."""
    received: list[int] = []

    def note(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        if interrupt:
            raise KeyboardInterrupt

    try:
        with handled_by(note):
            yield
    finally:
        for signum in dict.fromkeys(received):
            signal.raise_signal(signum)


@contextlib.contextmanager
def handled_by(
    handler: Callable[[int, FrameType | None], Any] | signal.Handlers,
    numbers: tuple[int, ...] = HELD_SIGNALS,
) -> Iterator[None]:
    """Within the block, the signals ``numbers`` go to ``handler`` (a
    function, or ``signal.SIG_IGN``), and then back to where they went
    before. Only the main thread can set signal handlers; elsewhere this
    does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, handler) for number in numbers}
    try:
        yield
    finally:
        for number, before in previous.items():
            signal.signal(number, signal.SIG_DFL if before is None else before)
