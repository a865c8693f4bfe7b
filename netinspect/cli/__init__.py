"""The ``netinspect`` command: Typer commands over the typed API (``netinspect.api``)."""

from netinspect.cli.app import app, main

__all__ = ["app", "main"]
