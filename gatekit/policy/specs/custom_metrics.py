"""The ``custom_metrics:`` block: where the policy's own metrics come from (a folder, installed entry points).

It holds settings, not rules: the metrics it loads are used by name in ``metrics:``, ``gates:``, ``canary.rules``
and ``robustness.noise.metric`` like gatekit's own. The loader reads this block before it checks any metric name
(:mod:`gatekit.policy.custom_metrics`).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from gatekit.policy.specs.common import PathField, Spec


def _entry_point_names(v: list[str]) -> list[str]:
    for name in v:
        if not name.strip() or any(ord(ch) < 32 or ch.isspace() for ch in name):
            raise PydanticCustomError("entry_point", "an entry point name is one word such as net_benefit, not {v}",
                                      {"v": repr(name)})
    repeated = sorted({n for n in v if v.count(n) > 1})
    if repeated:
        raise PydanticCustomError("entry_point", "entry point(s) {names} listed twice", {"names": ", ".join(repeated)})
    return v


class CustomMetricsSpec(Spec):
    """Custom metrics this policy loads: Python functions declared with ``@gatekit.metric``.

    Nothing is imported unless the policy sets this block, and then only what it names. The metrics are loaded
    when the policy is (``gatekit validate`` included, since rules name them), for this policy only; their files
    and packages count in the run's reproducibility hash. A file that fails to import, a name gatekit already
    has, or a bad declaration makes the policy invalid (exit 2), naming the file and line.

    Parameters
    ----------
    metrics_dir : str, optional
        Folder of custom metric files, relative to the policy file: every ``*.py`` file in it (except ``_*.py``)
        is imported and each function it declares with ``@gatekit.metric`` becomes a metric.
    entry_points : list of str
        Installed entry points of the group ``gatekit.metrics`` to load, by entry point name (a package
        declares them under ``[project.entry-points."gatekit.metrics"]``); `gatekit metrics` lists the installed
        ones.
    """

    metrics_dir: PathField | None = None
    entry_points: Annotated[list[str], AfterValidator(_entry_point_names)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _something(self) -> CustomMetricsSpec:
        """Refuse an empty block: it asks for nothing, so say so instead of ignoring it."""
        if self.metrics_dir is None and not self.entry_points:
            raise PydanticCustomError("custom_metrics", "custom_metrics: names no metrics_dir and no entry_points; "
                                      "give one or remove the block", {})
        return self
