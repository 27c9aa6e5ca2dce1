"""``python -m gatekit.cli`` runs the CLI, as ``python -m gatekit`` does."""

from gatekit.cli import entry

entry()
