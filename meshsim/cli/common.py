"""What every command shares: scenario loading, overrides, failing."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

from meshsim.scenario import Scenario, ScenarioError, load_scenario

__all__ = ["fail", "load_or_exit", "overrides_option"]

overrides_option = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a scenario key, e.g. --set mesh.workloads=20.",
)


def load_or_exit(path: Path, overrides: tuple[str, ...]) -> Scenario:
    """The scenario, or every problem of it on stderr and exit status 2."""
    try:
        return load_scenario(path, overrides)
    except ScenarioError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        sys.exit(2)


def fail(message: str) -> NoReturn:
    """One line on stderr, exit status 2."""
    click.echo(f"error: {message}", err=True)
    sys.exit(2)
