"""The ``meshsim`` command line: parse options, call the library, show
the result. Each command lives in its own module and calls one plain
function that a notebook can call too.

Commands are imported only when run, so ``meshsim run`` does not pay for
the sweep machinery (Dask, SciPy) it never uses.
"""

from __future__ import annotations

import importlib

import click

from meshsim.cli.common import interrupted

__all__ = ["main"]

# Command name -> "module:attribute" of its click command.
_COMMANDS = {
    "validate": "meshsim.cli.run:validate",
    "run": "meshsim.cli.run:run",
    "profiles": "meshsim.cli.profiles:profiles",
    "sweep": "meshsim.cli.sweep:sweep",
    "report": "meshsim.cli.report:report",
    "validate-model": "meshsim.cli.validate_model:validate_model",
}


class _LazyGroup(click.Group):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_COMMANDS)

    def get_command(
        self, ctx: click.Context, cmd_name: str
    ) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attribute = target.split(":")
        try:
            command = getattr(importlib.import_module(module), attribute)
        except KeyboardInterrupt as stop:
            interrupted(stop, "interrupted; nothing written")
        assert isinstance(command, click.Command)
        return command


@click.group(
    cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(package_name="meshsim")
def main() -> None:
    """Simulate a service mesh's workload identities under attack."""
