"""``meshsim validate-model``: the simulator against its closed forms."""

from __future__ import annotations

import sys

import click
from rich.table import Table

from meshsim.cli.common import (
    Count,
    OneLineCommand,
    guarded,
    table_console,
)
from meshsim.scenario.schema import MAX_SEED
from meshsim.validation import compare_all

__all__ = ["validate_model"]


@click.command("validate-model", cls=OneLineCommand)
@click.option(
    "--seed",
    type=Count(0, MAX_SEED),
    default=1,
    show_default=True,
)
@click.option("--quick", is_flag=True, help="Smaller runs, wider tolerance.")
@guarded
def validate_model(seed: int, quick: bool) -> None:
    """Compare simulated figures with the model's closed forms."""
    comparisons = compare_all(seed, quick)
    table = Table(title="meshsim against its closed forms")
    for column in ("figure", "formula", "expected", "simulated", "error"):
        table.add_column(
            column,
            justify="left" if column in ("figure", "formula") else "right",
        )
    table.add_column("tolerance", justify="right")
    table.add_column("pass")
    table.add_column("tolerance because")
    for c in comparisons:
        table.add_row(
            c.name,
            c.formula,
            f"{c.expected:.4g} {c.unit}",
            f"{c.simulated:.4g} {c.unit}",
            f"{c.error:.1%}",
            f"{c.tolerance:.1%}",
            "yes" if c.passed else "NO",
            c.why,
        )
    table_console().print(table)
    if not all(c.passed for c in comparisons):
        sys.exit(1)
