"""Python's cyclic garbage collector while a simulation clock runs.

A run makes and drops a few SimPy events per renewal and keeps
everything else (agents, credentials, records) to its end, so the
collector, left at its defaults, spends much of a large run walking
live objects it can never free. :func:`collector_eased` collects young
objects less often and leaves alone those that existed before the run.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_eased"]

# Allocations between young collections while the clock runs (Python's
# default is 700).
_YOUNG_COLLECTION_AFTER = 50_000


@contextmanager
def collector_eased() -> Iterator[None]:
    """Within the block, freeze the objects that exist (:func:`gc.freeze`)
    and collect young ones after 50,000 allocations instead of 700; after
    it, even on an error, restore the thresholds and unfreeze."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(_YOUNG_COLLECTION_AFTER, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
