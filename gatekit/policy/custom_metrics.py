"""Read a policy's ``custom_metrics:`` block and load what it names, before any metric name is checked.

The block is validated on its own first (:class:`~gatekit.policy.specs.custom_metrics.CustomMetricsSpec`; a
malformed block is reported by the whole policy's validation, and loads nothing). Then the folder
(``metrics_dir``, relative to the policy file) and the entry points it lists are imported
(:mod:`gatekit.metrics.custom`) and the metric registry is copied with their metrics added: the policy's rules are
checked against that copy, and the run computes with it. Every load problem (a missing folder, a file that fails
to import, a clash with a built-in name, an entry point that is not installed) becomes a :class:`Problem` naming
the file and line at fault, or the policy key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gatekit.core.errors import Problem
from gatekit.metrics.custom import CustomMetrics, extend_registry, load_entry_points, load_folder
from gatekit.metrics.registry import MetricRegistry
from gatekit.policy.source import Path_, where
from gatekit.policy.specs.custom_metrics import CustomMetricsSpec

KEY = "custom_metrics"


def load_custom_metrics(raw: Any, base: Path, pos: dict[Path_, tuple[int, int]], file: str,
                        registry: MetricRegistry) -> tuple[MetricRegistry, CustomMetrics | None, list[Problem]]:
    """Load the custom metrics a policy's ``custom_metrics:`` block names.

    Parameters
    ----------
    raw : object
        The block as written (a mapping when valid).
    base : pathlib.Path
        The folder ``metrics_dir`` is relative to (the policy file's; the current folder for a mapping).
    pos : dict
        Key path -> (line, column) of the policy file, for messages.
    file : str
        The policy file's name, for messages.
    registry : MetricRegistry
        The registry to extend (left unchanged).

    Returns
    -------
    registry : MetricRegistry
        A copy of ``registry`` with the custom metrics, or ``registry`` itself when the block is malformed.
    custom : CustomMetrics or None
        What was loaded (None when the block is malformed).
    problems : list of Problem
        Each load problem, with the file and line at fault (the metric file, or the policy's key).
    """
    try:
        spec = CustomMetricsSpec.model_validate(raw)
    except ValidationError:
        return registry, None, []  # reported with the rest of the policy's keys
    problems: list[Problem] = []
    custom = CustomMetrics()
    if spec.metrics_dir is not None:
        folder = (base / spec.metrics_dir).resolve()
        line, col = where((KEY, "metrics_dir"), pos)
        if not folder.is_dir():
            what = "does not exist" if not folder.exists() else "is not a folder"
            problems.append(Problem(f"the custom metrics folder {spec.metrics_dir!r} ({folder}) {what}; metrics_dir is "
                                    "relative to the policy file", file, line, col, f"{KEY}.metrics_dir"))
        else:
            loaded = load_folder(folder)
            if not loaded.declared and not loaded.errors:
                problems.append(Problem(f"the custom metrics folder {folder} declares no metric: no function in its "
                                        "*.py files (other than _*.py) is decorated with @gatekit.metric", file, line,
                                        col, f"{KEY}.metrics_dir"))
            custom.merge(loaded)
    if spec.entry_points:
        custom.merge(load_entry_points(spec.entry_points))
    registry, clashes = extend_registry(registry, custom)
    for err in [*custom.errors, *clashes]:
        line, col = where((KEY, err.origin), pos)
        loaded_by = f" (loaded by {KEY}.{err.origin}, {file}" + (f":{line})" if line is not None else ")")
        if err.file is not None:
            problems.append(Problem(err.message + loaded_by, err.file, err.line, None, None))
        else:
            problems.append(Problem(err.message, file, line, col, f"{KEY}.{err.origin}"))
    return registry, custom, problems
