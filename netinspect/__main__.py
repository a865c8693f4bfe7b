"""``python -m netinspect``: the same as the ``netinspect`` command."""

from netinspect.cli import main

main()
