"""``meshsim profiles``: every profile's defaults with their sources."""

from __future__ import annotations

import click
from rich.table import Table

from meshsim.cli.common import (
    OneLineCommand,
    fail,
    guarded,
    table_console,
)
from meshsim.scenario.profiles import PROFILE_SETTINGS

__all__ = ["profiles"]


@click.command(cls=OneLineCommand)
@click.argument("name", required=False, metavar="[PROFILE]")
@guarded
def profiles(name: str | None) -> None:
    """Print the defaults a profile sets, each with where it comes from.

    Without PROFILE, every profile is printed."""
    if name is not None and name not in PROFILE_SETTINGS:
        known = ", ".join(PROFILE_SETTINGS)
        fail(f"profile: {name!r} is not one of {known}")
    console = table_console()
    for profile, settings in PROFILE_SETTINGS.items():
        if name is not None and profile != name:
            continue
        table = Table(title=f"profile: {profile}", title_justify="left")
        table.add_column("key")
        table.add_column("value")
        table.add_column("source")
        for setting in settings:
            table.add_row(setting.key, _text(setting.value), setting.source)
        console.print(table)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items())
    return str(value)
