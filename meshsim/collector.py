"""Python's cyclic garbage collector while a run builds, runs and
collects its world, and while its records become tables.

A run makes and drops a few SimPy events per renewal and keeps
everything else (agents, credentials, records) to its end, so the
collector, left at its defaults, spends much of a large run walking
live objects it can never free. :func:`collector_eased` collects young
objects less often and leaves alone those that existed before the
block; nested, the inner block also leaves alone what the outer one
made.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_eased"]

# Allocations between young collections in the block (Python's default
# is 700). A young collection visits everything its objects refer to,
# which in a large mesh is cold memory, and a run makes almost no
# cyclic garbage; this many allocations also span enough renewals that
# most credentials made since the last collection are already freed.
_YOUNG_COLLECTION_AFTER = 1_000_000


@contextmanager
def collector_eased() -> Iterator[None]:
    """Within the block, freeze the objects that exist (:func:`gc.freeze`)
    and collect young ones after 1,000,000 allocations instead of 700.

    After it, even on an error, restore the thresholds and unfreeze; the
    objects made in the block join the oldest generation without being
    walked, so the first allocation after the block does not set off a
    young collection of all of them.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(_YOUNG_COLLECTION_AFTER, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        # Freezing moves every generation aside and zeroes the young
        # count; unfreezing puts them all into the oldest generation.
        gc.freeze()
        gc.unfreeze()
