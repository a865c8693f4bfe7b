"""The ``netinspect`` command: Typer commands over the typed API (``netinspect.api``).

``app`` holds the Typer app and ``main``; ``options`` parses what users type into the API's
values; ``output`` writes results and reports failures; ``commands`` holds one short
function per subcommand (imported here, which registers them)."""

from netinspect.cli import commands as _commands  # noqa: F401  # registers the subcommands
from netinspect.cli.app import app, main

__all__ = ["app", "main"]
