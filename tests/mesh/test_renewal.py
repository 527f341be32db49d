"""The agent's renewal rule and backoff, against their formulas."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshsim.mesh.agent import Backoff, RenewalPolicy
from meshsim.mesh.graces import Graces


def _ratios(graces: Graces, rows: int, blocks: int = 1) -> np.ndarray:
    """The first ``blocks`` blocks of ratios of rows 0 to ``rows - 1``,
    each row's in the order its slot uses them."""
    return np.array(
        [
            ratio
            for row in range(rows)
            for index in range(blocks)
            for ratio in reversed(graces.block(row, index))
        ]
    )


def test_renewal_at_grace_point_without_jitter() -> None:
    # remaining <= g * lifetime  <=>  t >= now + (1 - g) * lifetime
    policy = RenewalPolicy()
    graces = Graces(0.5, 0.0, np.random.SeedSequence(0))
    grace = graces.block(graces.next_row(), 0).pop()

    assert grace == 0.5
    assert policy.renew_at(100.0, 100.0 + 86_400.0, grace) == 43_300.0


def test_renewal_at_grace_ratio_other_than_half() -> None:
    policy = RenewalPolicy()

    assert policy.renew_at(0.0, 3600.0, 0.2) == pytest.approx(2880.0)


def test_jittered_grace_stays_within_bounds_on_both_sides() -> None:
    graces = Graces(0.5, 0.01, np.random.SeedSequence(1))

    draws = _ratios(graces, 250)  # 4000 ratios, 16 a row

    assert draws.min() >= 0.49 and draws.max() <= 0.51
    # The sign is random: about half the draws fall on each side.
    assert 0.45 < (draws > 0.5).mean() < 0.55


def test_jittered_grace_spreads_over_the_whole_jitter() -> None:
    # g = 0.5 +- U(0, j): |g - 0.5| ~ U(0, j), of mean j/2 = 0.005 and
    # standard deviation j/sqrt(12), so a mean of 4000 within 0.00025
    # (5.5 standard errors); the widest draw comes within 0.1% of j
    graces = Graces(0.5, 0.01, np.random.SeedSequence(2))

    offsets = np.abs(_ratios(graces, 250) - 0.5)

    assert offsets.mean() == pytest.approx(0.005, abs=0.00025)
    assert offsets.max() > 0.00999


def test_a_slots_ratios_depend_on_its_row_and_their_place_alone() -> None:
    # the k-th ratio of row r is the same whichever rows ask first and
    # however far they have gone; another seed draws other ratios
    seed = np.random.SeedSequence(3, spawn_key=(11,))
    in_order = Graces(0.5, 0.1, seed)
    first = {(row, 0): in_order.block(row, 0) for row in range(600)}
    first[300, 1] = in_order.block(300, 1)
    shuffled = Graces(0.5, 0.1, seed)

    later = shuffled.block(300, 1)
    for row in (599, 3, 300, 0):
        assert shuffled.block(row, 0) == first[row, 0]
    assert later == first[300, 1] != first[300, 0]
    other = Graces(0.5, 0.1, np.random.SeedSequence(4, spawn_key=(11,)))
    assert other.block(0, 0) != first[0, 0]


def test_a_block_is_its_tiles_row_drawn_as_the_module_says() -> None:
    # tile (b, j) of the stream's seed: a generator seeded by its spawn
    # key extended by (b, j), 256 x 16 offsets U(0, jitter) then their
    # signs; row r's block j is row r % 256, reversed for pop(). Rows go
    # to slots from 0, in turn.
    seed = np.random.SeedSequence(7, spawn_key=(11,))
    graces = Graces(0.5, 0.1, seed)
    tile = np.random.SeedSequence(7, spawn_key=(11, 1, 2))
    rng = np.random.Generator(np.random.PCG64(tile))
    offsets = rng.uniform(0.0, 0.1, 256 * 16)
    signs = np.where(rng.random(256 * 16) < 0.5, 1.0, -1.0)
    expected = (0.5 + signs * offsets).reshape(256, 16)[300 - 256]

    block = graces.block(300, 2)

    assert [graces.next_row(), graces.next_row()] == [0, 1]
    assert len(block) == 16
    np.testing.assert_array_equal(block[::-1], expected)
    other = Graces(0.5, 0.1, np.random.SeedSequence(7, spawn_key=(12,)))
    assert other.block(300, 2) != block


@given(
    st.lists(
        st.tuples(st.integers(0, 700), st.integers(0, 3)),
        min_size=1,
        max_size=40,
        unique=True,
    )
)
def test_ratios_asked_in_any_order_are_the_ratios_of_their_place(
    asks: list[tuple[int, int]],
) -> None:
    # whatever rows ask first, and however far each has gone, row r's
    # block k is the same, within [g - jitter, g + jitter]
    seed = np.random.SeedSequence(6, spawn_key=(11,))
    graces = Graces(0.5, 0.2, seed)

    for row, index in asks:
        alone = Graces(0.5, 0.2, seed).block(row, index)
        assert graces.block(row, index) == alone
        assert all(0.3 <= ratio <= 0.7 for ratio in alone)


def test_a_tile_of_ratios_is_dropped_once_its_rows_took_their_part() -> None:
    # 256 rows share a tile: it stays while one of them has not asked
    graces = Graces(0.5, 0.1, np.random.SeedSequence(5))

    for row in range(255):
        graces.block(row, 0)
    held = len(graces._tiles)
    graces.block(255, 0)

    assert (held, len(graces._tiles), len(graces._untaken)) == (1, 0, 0)


def test_ca_workers_leave_each_slots_renewal_points_alone(small, simulate):
    # g = 1 - (renew_at - installed) / (not_after - installed) for each
    # certificate; the CA's speed moves the installs, not the ratios
    def ratios(workers: int) -> dict[str, list[float]]:
        run = simulate(
            small(
                "pki.jitter=0.1",
                "pki.workload_ttl=1h",
                "ca.sign_time=2s",
                f"ca.workers={workers}",
                "traffic.rate=0",
                "duration=8h",
            )
        )
        rows = run.tables.rotations
        grace = 1 - (rows["renew_at_s"] - rows["installed_s"]) / (
            rows["not_after_s"] - rows["installed_s"]
        )
        return grace.groupby(rows["agent"]).agg(list).to_dict()

    one, four = ratios(1), ratios(4)

    assert one.keys() == four.keys() and len(one) > 10
    for agent, seen in one.items():
        count = min(len(seen), len(four[agent]))
        assert count >= 10
        np.testing.assert_allclose(seen[:count], four[agent][:count])


def test_lifetime_from_the_certificate_counts_from_not_before() -> None:
    # renew at NotBefore + (1 - g)(NotAfter - NotBefore): a leaf backdated
    # to -20 s, ending at 86,500 s, renews at -20 + 0.5 * 86,520; from
    # the agent's clock at install (100 s) it would be 100 + 0.5 * 86,400
    by_certificate = RenewalPolicy(lifetime_from="certificate")
    by_clock = RenewalPolicy(lifetime_from="agent-clock")

    assert by_certificate.renew_at(100.0, 86_500.0, 0.5, -20.0) == 43_240.0
    assert by_clock.renew_at(100.0, 86_500.0, 0.5, -20.0) == 43_300.0


def test_a_clamped_renewal_waits_within_its_bounds() -> None:
    # Linkerd: renew at 70% of the lifetime, the wait clamped to [10 s,
    # 24h] (docs/models.md): 0.7 * 12 s = 8.4 s waits 10 s, and 0.7 *
    # 200,000 s = 140,000 s waits 86,400 s; 0.7 * 1000 s is within
    policy = RenewalPolicy(clamp=(10.0, 86_400.0))

    assert policy.renew_at(0.0, 12.0, 0.3) == 10.0
    assert policy.renew_at(5.0, 200_005.0, 0.3) == 5.0 + 86_400.0
    assert policy.renew_at(0.0, 1000.0, 0.3) == pytest.approx(700.0)


def test_remaining_backoff_is_a_share_of_the_life_left_within_bounds() -> None:
    # kind remaining: 70% of the life left, clamped to [initial, max];
    # with no life left, or no certificate, the initial step (Backoff)
    backoff = Backoff(10.0, 86_400.0, 2.0, kind="remaining")

    assert backoff.delay(1, None, 1000.0) == pytest.approx(700.0)
    assert backoff.delay(1, None, 5.0) == 10.0
    assert backoff.delay(1, None, 10**6) == 86_400.0
    assert backoff.delay(3, None, None) == 10.0
    assert backoff.delay(1, None, -5.0) == 10.0


def test_renewal_planned_on_a_skewed_clock_is_recorded_in_true_time(
    small, simulate
):
    # node-0's clock runs 10 min ahead: its agents see 600 s less of
    # each lifetime, so they renew (1 - g)(NotAfter - installed - 600 s)
    # after installing, a time the table gives on the true clock
    run = simulate(
        small(
            "mesh.clock_skew.offsets=[{node: node-0, offset: 10m}]",
            "traffic.rate=0",
            "duration=6h",
        )
    )
    rows = run.tables.rotations
    ahead = rows[rows["node"] == "node-0"]
    wait = ahead["renew_at_s"] - ahead["installed_s"]

    assert len(ahead) > 2
    np.testing.assert_allclose(
        wait, 0.5 * (ahead["not_after_s"] - ahead["installed_s"] - 600.0)
    )


def test_backoff_jitter_scales_a_wait_by_one_plus_or_minus_up_to_it() -> None:
    # a wait of 40 s (third failure) times 1 + U(-0.2, 0.2): the ratio
    # lies in [0.8, 1.2] with mean 1 (standard error 0.2/sqrt(3 * 4000)
    # = 0.0018), half above 1, and reaches near both ends
    backoff = Backoff(initial_s=10.0, max_s=1000.0, multiplier=2.0, jitter=0.2)
    rng = np.random.default_rng(3)

    ratios = np.array([backoff.delay(3, rng) for _ in range(4000)]) / 40.0

    assert ratios.min() >= 0.8 and ratios.max() <= 1.2
    assert ratios.min() < 0.801 and ratios.max() > 1.199
    assert ratios.mean() == pytest.approx(1.0, abs=0.01)
    assert 0.45 < (ratios > 1.0).mean() < 0.55


def test_backoff_doubles_then_caps() -> None:
    backoff = Backoff(initial_s=1.0, max_s=60.0, multiplier=2.0)

    delays = [backoff.delay(n) for n in range(1, 9)]

    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]


def test_backoff_of_a_multiplier_past_any_float_is_the_cap() -> None:
    backoff = Backoff(initial_s=5.0, max_s=600.0, multiplier=1e308)

    delays = [backoff.delay(n) for n in (1, 2, 3, 40)]

    assert delays == [5.0, 600.0, 600.0, 600.0]


def test_fast_retries_never_wait_longer_than_the_cap() -> None:
    # backoff_max is the longest wait, quick retries included
    backoff = Backoff(
        initial_s=5.0, max_s=60.0, multiplier=2.0, fast_retries=40
    )

    delays = [backoff.delay(n) for n in range(1, 41)]

    assert delays[:10] == [0.1 * 2.0**k for k in range(10)]
    assert delays[10:] == [60.0] * 30
