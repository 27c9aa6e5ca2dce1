"""gatekit's version: one place, read by the package, the reports and ``--version``."""

__version__ = "0.1.0"
