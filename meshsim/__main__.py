"""``python -m meshsim``: the same as the ``meshsim`` command."""

from meshsim.launch import main

main()
