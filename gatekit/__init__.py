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


def metric(name: str | None = None, **declaration: Any) -> Any:
    """Declare a function as a custom metric: ``@gatekit.metric(...)`` (see :func:`gatekit.metrics.custom.metric`).

    Only records the declaration on the function; a policy loads it explicitly (``custom_metrics:``).
    """
    from gatekit.metrics.custom import metric as _metric

    return _metric(name, **declaration)


__all__ = ["__version__", "metric", "run"]
