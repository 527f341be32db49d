"""The collector is eased while a run builds and runs its world, and
the world is collected once the run is over (or left to the exit of a
process that makes one run)."""

from __future__ import annotations

import gc

import pytest
import simpy

from meshsim.collector import collector_eased
from meshsim.runner import run_scenario
from meshsim.simulation import simulate


def test_collector_is_restored_after_the_run_even_on_an_error() -> None:
    before = gc.get_threshold()

    with pytest.raises(RuntimeError), collector_eased():
        assert gc.get_threshold()[0] == 1_000_000
        assert gc.get_freeze_count() > 0
        raise RuntimeError("the run failed")

    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_an_inner_block_restores_the_outer_blocks_thresholds() -> None:
    before = gc.get_threshold()

    with collector_eased():
        eased = gc.get_threshold()
        with collector_eased():
            pass
        assert gc.get_threshold() == eased

    assert gc.get_threshold() == before


def test_objects_made_in_the_block_leave_it_in_the_oldest_generation() -> None:
    # Otherwise the first allocation after the block would start a young
    # collection that walks every one of them.
    with collector_eased():
        made = [[index] for index in range(50_000)]

    assert gc.get_count()[0] < len(made)
    oldest = {id(item) for item in gc.get_objects(generation=2)}
    assert all(id(item) in oldest for item in made[:100])


def test_a_run_leaves_no_world_for_a_later_collection(small) -> None:
    gc.collect()
    before = _environments()

    simulate(small("pki.crypto=modeled"))

    assert _environments() == before


def test_the_closing_collection_leaves_alone_what_existed_before(
    small,
) -> None:
    # Frozen objects are not walked: the collection that ends a run costs
    # what the run made, not what the interpreter and the caller hold.
    scenario = small("pki.crypto=modeled")
    gc.collect()
    existing = len(gc.get_objects())
    frozen_at_full_collections: list[int] = []

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            frozen_at_full_collections.append(gc.get_freeze_count())

    gc.callbacks.append(watch)
    try:
        simulate(scenario)
    finally:
        gc.callbacks.remove(watch)

    # The run's own collection is its last full one (the thresholds may
    # start one on the way in).
    assert frozen_at_full_collections
    assert frozen_at_full_collections[-1] > 0.9 * existing


def test_a_run_before_exit_leaves_its_world_frozen_for_the_exit(small):
    # The meshsim command exits after its one run: the world is not
    # walked, neither by the run nor by the interpreter's collection at
    # exit, which skips frozen objects.
    gc.collect()
    before = _environments()

    try:
        run_scenario(small("pki.crypto=modeled"), exit_after=True)
        frozen = gc.get_freeze_count()
    finally:
        gc.unfreeze()  # the collector lists no frozen object

    assert frozen > 0
    assert _environments() == before + 1
    gc.collect()
    assert _environments() == before


def _environments() -> int:
    return sum(isinstance(o, simpy.Environment) for o in gc.get_objects())
