"""The public functions name a wrong argument instead of failing deep
inside: a TypeError or ValueError with the argument, the rule and the
value."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from meshsim.experiment import (
    DaskExecutor,
    LocalExecutor,
    load_sweep,
    parse_sweep,
    run_sweep,
)
from meshsim.runner import run_scenario
from meshsim.scenario import load_scenario, parse_scenario

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "scenarios" / "istio-sidecar.yaml"
SWEEP = REPO / "scenarios" / "sweeps" / "ttl-vs-fanout.yaml"


def test_a_file_descriptor_is_not_taken_for_a_scenario_file() -> None:
    # open() would read the descriptor and close it under its owner
    read, write = os.pipe()
    try:
        with pytest.raises(TypeError, match=r"^path: must be a str or "):
            load_scenario(read)  # type: ignore[arg-type]
        os.fstat(read)  # still open
    finally:
        os.close(read)
        os.close(write)


@pytest.mark.parametrize(
    ("call", "error", "says"),
    [
        (
            lambda: load_scenario(SCENARIO, "mesh.nodes=3"),
            TypeError,
            "overrides: must be a list or tuple of str (got str ",
        ),
        (
            lambda: load_scenario(SCENARIO, None),
            TypeError,
            "overrides: must be a list or tuple of str (got NoneType None)",
        ),
        (
            lambda: parse_scenario(b"name: x\nduration: 1h\n"),
            TypeError,
            "text: must be a str (got bytes ",
        ),
        (
            lambda: run_scenario(str(SCENARIO)),
            TypeError,
            "scenario: must be a Scenario (got str ",
        ),
        (
            lambda: load_sweep(SWEEP, replications="3"),
            TypeError,
            "replications: must be an int (got str '3')",
        ),
        (
            lambda: load_sweep(SWEEP, replications=True),
            TypeError,
            "replications: must be an int (got bool True)",
        ),
        (
            lambda: load_sweep(SWEEP, replications=0),
            ValueError,
            "replications: must be from 1 to ",
        ),
        (
            lambda: parse_sweep(None),
            TypeError,
            "text: must be a str (got NoneType None)",
        ),
        (
            lambda: run_scenario(load_scenario(SCENARIO), progress=5),
            TypeError,
            "progress: must be callable (got int 5)",
        ),
        (
            lambda: DaskExecutor(5),
            TypeError,
            "address: must be a str (got int 5)",
        ),
        (
            lambda: DaskExecutor(connect_timeout_s=-1),
            ValueError,
            "connect_timeout_s: must be a finite number of seconds above 0 "
            "(got -1)",
        ),
        (
            lambda: DaskExecutor(connect_timeout_s=float("nan")),
            ValueError,
            "connect_timeout_s: must be a finite number of seconds above 0 "
            "(got nan)",
        ),
        (
            lambda: load_sweep(" "),
            ValueError,
            "path: must name a file (got ' ')",
        ),
        (
            lambda: LocalExecutor(2.5),
            TypeError,
            "jobs: must be an int (got float 2.5)",
        ),
        (
            lambda: LocalExecutor(10**6),
            ValueError,
            "jobs: must be from 1 to 1024 (got 1000000)",
        ),
        (
            lambda: DaskExecutor(None, 0),
            ValueError,
            "jobs: must be from 1 to 1024 (got 0)",
        ),
    ],
)
def test_a_wrong_argument_is_named(
    call: Any, error: type[Exception], says: str
) -> None:
    with pytest.raises(error) as caught:
        call()
    assert str(caught.value).startswith(says)


def test_run_sweep_checks_its_arguments_before_writing(tmp_path: Path) -> None:
    sweep = load_sweep(SWEEP)
    out = tmp_path / "out"

    with pytest.raises(TypeError, match=r"^sweep: must be a Sweep"):
        run_sweep(str(SWEEP), out)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^executor: must be an Executor"):
        run_sweep(sweep, out, "serial")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^progress: must be callable"):
        run_sweep(sweep, out, progress=5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^out: must name a file"):
        run_sweep(sweep, "")
    assert not out.exists()
