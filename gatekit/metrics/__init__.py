"""Named metrics: the registry that maps policy metric names to their definitions.

Use :func:`default_registry` to get a fresh registry; nothing is registered at import time.
"""

from gatekit.metrics.catalog import default_registry
from gatekit.metrics.registry import EvalData, MetricRegistry, MetricSpec, MetricValue

__all__ = ["EvalData", "MetricRegistry", "MetricSpec", "MetricValue", "default_registry"]
