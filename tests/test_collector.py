"""The collector is eased only while the clock runs."""

from __future__ import annotations

import gc

import pytest

from meshsim.collector import collector_eased


def test_collector_is_restored_after_the_run_even_on_an_error() -> None:
    before = gc.get_threshold()

    with pytest.raises(RuntimeError), collector_eased():
        assert gc.get_threshold()[0] == 50_000
        assert gc.get_freeze_count() > 0
        raise RuntimeError("the run failed")

    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
