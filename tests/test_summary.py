"""The run summary's figures, from tables whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from meshsim.metrics.summary import peak_count


@pytest.mark.parametrize(
    ("times", "peak"),
    [
        # 50 CSRs in 57.7 s across a minute's turn: one burst of 50, not
        # 31 and 19 in two clock minutes
        (np.linspace(40.0, 97.7, 50), 50),
        # one a second from 0 s to 120 s: any 60 s window holds 60
        (np.arange(0.0, 121.0), 60),
        # a window is half open: 0 s and 60 s are never in one together
        (np.array([0.0, 60.0]), 1),
        (np.array([60.0, 0.0, 59.999]), 2),
        (np.array([]), 0),
    ],
)
def test_csr_peak_is_the_most_in_any_60_s_not_in_a_clock_minute(
    times: np.ndarray, peak: int
) -> None:
    assert peak_count(times, 60.0) == peak
