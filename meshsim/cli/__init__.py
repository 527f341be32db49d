"""The ``meshsim`` command line: parse options, call the library, show
the result. Each command lives in its own module and calls one plain
function that a notebook can call too."""

from __future__ import annotations

import click

from meshsim.cli.profiles import profiles
from meshsim.cli.report import report
from meshsim.cli.run import run, validate
from meshsim.cli.sweep import sweep
from meshsim.cli.validate_model import validate_model

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="meshsim")
def main() -> None:
    """Simulate a service mesh's workload identities under attack."""


main.add_command(validate)
main.add_command(run)
main.add_command(profiles)
main.add_command(sweep)
main.add_command(report)
main.add_command(validate_model)
