"""``python -m meshsim``: the same as the ``meshsim`` command."""

from meshsim.cli import entry

entry()
