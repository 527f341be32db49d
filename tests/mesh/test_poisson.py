"""Poisson counts drawn by inversion against the distribution's closed
form: P(k) = exp(-m) m^k / k!, mean and variance m."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from meshsim.mesh.poisson import INVERTED_UP_TO, PoissonCounts

DRAWS = 200_000


def _sample(mean: float, seed: int = 7) -> list[int]:
    counts = PoissonCounts(np.random.default_rng(seed))
    return [counts.draw(mean) for _ in range(DRAWS)]


@pytest.mark.parametrize("mean", [0.001, 0.3, 1.0, 4.0, 9.5, 40.0])
def test_sample_mean_and_variance_are_the_poisson_mean(mean):
    # Within six standard errors: the mean's is sqrt(m / n), the
    # variance's is about m * sqrt(2 / n) (m + 2 m^2 over n, for m >= 1).
    sample = np.array(_sample(mean), dtype=float)

    assert abs(sample.mean() - mean) < 6 * math.sqrt(mean / DRAWS)
    spread = math.sqrt((mean + 2 * mean**2) / DRAWS)
    assert abs(sample.var() - mean) < 6 * spread


@pytest.mark.parametrize("mean", [0.3, 2.5, 9.5])
def test_each_count_comes_as_often_as_its_probability(mean):
    # Every count with an expected frequency of 50 or more lies within
    # six binomial standard deviations of n * P(k).
    seen = Counter(_sample(mean, seed=11))
    k = 0
    while True:
        p = math.exp(-mean + k * math.log(mean) - math.lgamma(k + 1))
        expected = DRAWS * p
        if expected < 50 and k > mean:
            break
        if expected >= 50:
            sigma = math.sqrt(DRAWS * p * (1 - p))
            assert abs(seen[k] - expected) < 6 * sigma, k
        k += 1


def test_a_zero_mean_gives_zero_and_takes_no_variate():
    rng = np.random.default_rng(3)
    counts = PoissonCounts(rng)

    assert [counts.draw(0.0) for _ in range(10)] == [0] * 10
    assert rng.random() == np.random.default_rng(3).random()


def test_means_above_the_inversion_limit_are_drawn_by_numpy():
    # Above the limit the draw is numpy's, from the same stream.
    mean = INVERTED_UP_TO * 3
    ours = PoissonCounts(np.random.default_rng(5))
    numpys = np.random.default_rng(5)

    assert [ours.draw(mean) for _ in range(20)] == [
        int(numpys.poisson(mean)) for _ in range(20)
    ]


def test_the_same_seed_draws_the_same_counts():
    assert _sample(0.7, seed=2)[:1000] == _sample(0.7, seed=2)[:1000]
