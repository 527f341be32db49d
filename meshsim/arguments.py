"""Checks of the arguments the public functions take from Python code.

The command line checks what users type; code calling
:func:`~meshsim.scenario.load_scenario`, :func:`~meshsim.runner.
run_scenario` or :func:`~meshsim.experiment.run_sweep` directly gets a
``TypeError`` or ``ValueError`` naming the argument, the rule and the
value, rather than a failure deep inside (an integer taken for a file
descriptor and closed, a string of overrides read letter by letter).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

from meshsim.shown import cut_repr

__all__ = [
    "require_callable",
    "require_count",
    "require_instance",
    "require_path",
    "require_seconds",
    "require_texts",
]


def require_path(name: str, value: object) -> None:
    """``value`` names a file: text or a path object."""
    if not isinstance(value, str | os.PathLike):
        raise TypeError(
            f"{name}: must be a str or os.PathLike (got {_shown(value)})"
        )
    if isinstance(value, str) and not value.strip():
        # a blank name would be read as the current folder
        raise ValueError(f"{name}: must name a file (got {value!r})")


def require_texts(name: str, value: object) -> None:
    """``value`` is a sequence of strings, and not one string."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise TypeError(
            f"{name}: must be a list or tuple of str (got {_shown(value)})"
        )
    for item in value:
        if not isinstance(item, str):
            raise TypeError(
                f"{name}: every item must be a str (got {_shown(item)})"
            )


def require_count(name: str, value: object, low: int, high: int) -> None:
    """``value`` is a whole number from ``low`` to ``high``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: must be an int (got {_shown(value)})")
    if not low <= value <= high:
        raise ValueError(f"{name}: must be from {low} to {high} (got {value})")


def require_instance(name: str, value: object, kind: type[Any]) -> None:
    """``value`` is a ``kind``."""
    if not isinstance(value, kind):
        raise TypeError(
            f"{name}: must be a {kind.__name__} (got {_shown(value)})"
        )


def require_callable(name: str, value: object) -> None:
    """``value`` can be called."""
    if not callable(value):
        raise TypeError(f"{name}: must be callable (got {_shown(value)})")


def require_seconds(name: str, value: object) -> None:
    """``value`` is a finite number of seconds above 0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(
            f"{name}: must be a number of seconds (got {_shown(value)})"
        )
    if not math.isfinite(value) or value <= 0:
        raise ValueError(
            f"{name}: must be a finite number of seconds above 0 (got {value})"
        )


def _shown(value: object) -> str:
    return f"{type(value).__name__} {cut_repr(value, 40)}"
