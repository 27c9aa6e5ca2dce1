"""``python -m gatekit`` runs the CLI."""

from gatekit.cli import entry

entry()
