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
from collections.abc import Iterator
from types import FrameType
from typing import Final

__all__ = ["HELD_SIGNALS", "ctrl_c_ignored", "signals_held"]

HELD_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, then deliver them.

    Only the main thread can set signal handlers; elsewhere this does
    nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        held.append(signum)

    previous = {s: signal.signal(s, hold) for s in HELD_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(
                number, signal.SIG_DFL if handler is None else handler
            )
        for signum in dict.fromkeys(held):
            signal.raise_signal(signum)


@contextlib.contextmanager
def ctrl_c_ignored() -> Iterator[None]:
    """Ignore SIGINT until the block ends, in this process and in the
    programs it starts meanwhile (they keep it ignored from their first
    instruction, as :func:`signals_held` cannot make them).

    A Ctrl-C while the block runs is lost: keep it short. Only the main
    thread can set signal handlers; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(
            signal.SIGINT, signal.SIG_DFL if previous is None else previous
        )
