"""gatekit: a model quality gate for CI/CD pipelines.

Importing gatekit is cheap; heavy libraries are imported inside the functions that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from gatekit.core.results import GateReport


def run(policy: Any, **kwargs: Any) -> GateReport:
    """Run a policy and return the :class:`~gatekit.core.results.GateReport` (see :func:`gatekit.api.run`)."""
    from gatekit.api import run as _run

    return _run(policy, **kwargs)


__all__ = ["__version__", "run"]
