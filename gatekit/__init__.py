"""gatekit: a model quality gate for CI/CD pipelines.

Importing gatekit is cheap; heavy libraries are imported inside the functions that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatekit.core.version import __version__

if TYPE_CHECKING:
    from gatekit.report import Report


def run(policy: Any, **kwargs: Any) -> Report:
    """Run a policy and return the :class:`~gatekit.report.Report` (see :func:`gatekit.api.run`)."""
    from gatekit.api import run as _run

    return _run(policy, **kwargs)


__all__ = ["__version__", "run"]
