"""The simulator reproduces the closed forms of its own model."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from meshsim.cli import main
from meshsim.validation import (
    Comparison,
    compare_all,
    erlang_c,
    pollaczek_khinchine,
)


def test_erlang_c_matches_a_hand_computed_value():
    # M/M/2 with a = 1: C = (1/2 / 0.5) / (1 + 1 + 1) = 1/3, so
    # Wq = C / (2 mu - lambda) = (1/3) / (1/60) = 20 s.
    assert erlang_c(2, 1 / 60, 1 / 60) == pytest.approx(20.0)


@pytest.mark.parametrize(
    ("servers", "arrivals"), [(1, 2.0), (2, 2.0)], ids=["past", "at"]
)
def test_erlang_c_refuses_a_saturated_queue(servers, arrivals):
    # a load of as many Erlangs as servers never empties the queue
    with pytest.raises(ValueError, match="saturates"):
        erlang_c(servers, arrivals, 1.0)


def test_a_comparison_passes_up_to_its_tolerance_and_no_further():
    def compared(simulated: float) -> Comparison:
        return Comparison(
            name="x",
            formula="f",
            expected=100.0,
            simulated=simulated,
            tolerance=0.03,
            unit="",
            why="",
        )

    assert compared(103.0).passed
    assert compared(97.0).passed
    assert not compared(103.1).passed


def test_pollaczek_khinchine_matches_a_hand_computed_value():
    # M/D/1 with s = 30 s and lambda = 1/60 per s: rho = 0.5, so
    # Wq = rho s / (2 (1 - rho)) = 15 / 1 = 15 s, half of M/M/1's 30 s.
    assert pollaczek_khinchine(1 / 60, 30.0) == pytest.approx(15.0)


def test_pollaczek_khinchine_refuses_a_saturated_queue():
    with pytest.raises(ValueError, match="saturates"):
        pollaczek_khinchine(1 / 30, 30.0)


def test_every_comparison_is_within_its_tolerance():
    comparisons = compare_all(seed=3, quick=True)

    assert {c.formula for c in comparisons} == {
        "N / (r T)",
        "S_node / (r T)",
        "T (1 - r/2) + 1 s",
        "T (1 - r)",
        "Erlang C",
        "Pollaczek-Khinchine",
    }
    for comparison in comparisons:
        assert comparison.passed, comparison
    # each tolerance as its reason gives it: counts on a schedule 3%; the
    # outage one backoff (5 s) and one bisection step ((3500 - 60)/2**10
    # s) of 1800 s; the queues 25% when quick
    tolerances = {c.formula: c.tolerance for c in comparisons}
    assert tolerances["N / (r T)"] == tolerances["S_node / (r T)"] == 0.03
    assert tolerances["T (1 - r)"] == pytest.approx((5 + 3440 / 1024) / 1800)
    assert tolerances["Erlang C"] == tolerances["Pollaczek-Khinchine"] == 0.25


def test_validate_model_command_prints_the_table():
    wide = {"COLUMNS": "200"}
    result = CliRunner(env=wide).invoke(main, ["validate-model", "--quick"])

    assert result.exit_code == 0, result.output
    assert "Erlang C" in result.output
    assert "T (1 - r/2) + 1 s" in result.output
