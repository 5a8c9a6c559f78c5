"""The `mars` command line; it sits on top of every other layer, and nothing in mars_core imports it."""

from mars_core.cli.app import app, main

__all__ = ["app", "main"]
