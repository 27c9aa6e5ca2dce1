"""Metrics files: observed metric values read from JSON.

A small JSON object of metric name -> number, read and checked against the metric registry
 (names resolved, values in range, duplicates refused).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatekit.core.errors import InputError, Problem, input_error
from gatekit.core.hashing import must_exist, record_file
from gatekit.metrics.registry import MetricRegistry

MAX_METRICS_BYTES = 10 * 1024 * 1024


@dataclass
class ObservedMetric:
    """A metric value read from a metrics file."""

    name: str
    value: float | None
    file: str


def load_observed(path: Path, registry: MetricRegistry, files: dict[str, dict[str, Any]],
                  info: dict[str, Any], role: str = "metrics") -> dict[str, ObservedMetric]:
    """Read a metrics JSON file: a flat object of metric name -> number (or null).

    An object with a ``"metrics"`` key holding that mapping is accepted too. Names are resolved with
    the registry (``auc_roc`` and ``roc_auc`` are the same metric); unknown names are listed in the
    report as unused. ``null`` and NaN mean "not computable".

    Raises
    ------
    InputError
        Missing file, invalid JSON (with line and column), a non-numeric value (naming its key).
    """
    must_exist(path, role)
    record_file(files, role, path)
    if path.stat().st_size > MAX_METRICS_BYTES:
        raise input_error(f"the metrics file is {path.stat().st_size:,} bytes; a metrics file is a small JSON "
                          f"object (limit {MAX_METRICS_BYTES:,} bytes)", str(path))
    duplicates: list[str] = []

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for k, v in pairs:
            if k in seen:
                duplicates.append(k)
            seen[k] = v
        return seen

    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"), object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as exc:
        raise InputError([Problem(f"invalid JSON: {exc.msg}", str(path), exc.lineno, exc.colno)]) from None
    except UnicodeDecodeError:
        raise input_error("not UTF-8 text", str(path)) from None
    except RecursionError:
        raise input_error("the JSON is nested too deeply; expected a flat object of metric names to numbers",
                          str(path)) from None
    except ValueError as exc:  # e.g. an integer literal with thousands of digits
        raise input_error(f"invalid JSON value: {exc}", str(path)) from None
    if duplicates:
        raise input_error(f"duplicate key(s) {sorted(set(duplicates))}: JSON parsers keep only one of them; "
                          "remove the others", str(path))
    if isinstance(data, dict) and isinstance(data.get("metrics"), dict):
        clash = [k for k in data if k != "metrics" and registry.resolve(k) is not None]
        if clash:
            raise input_error(f"metric(s) {clash} appear both at the top level and under 'metrics'; give each "
                              "metric once", str(path))
        data = data["metrics"]
    if not isinstance(data, dict):
        raise input_error("expected a JSON object mapping metric names to numbers, e.g. "
                          '{"auc_roc": 0.91, "precision_at_0_5": 0.76}', str(path))
    return observed_from_mapping(data, registry, str(path), info, role)


def observed_from_mapping(data: dict[str, Any], registry: MetricRegistry, source: str, info: dict[str, Any],
                          role: str = "metrics") -> dict[str, ObservedMetric]:
    """Check a mapping of metric name -> number and keep the metrics the registry knows.

    What :func:`load_observed` does once the JSON is read, shared with the other sources of metric values
    (an MLflow run, :mod:`gatekit.data.mlflow_runs`).

    Parameters
    ----------
    data : dict of str to object
        Metric name -> value as the source gives it (a number, or None for "not computable").
    registry : MetricRegistry
        Resolves the names (``auc_roc`` and ``roc_auc`` are the same metric).
    source : str
        How errors and the report name the source (a file path, ``mlflow:runs/<run id>``).
    info : dict
        The run's facts; the names the registry does not know are listed in it
        (``unused_metrics_in_file``, or ``unused_metrics_in_<role>_file``).
    role : str
        ``"metrics"`` (the candidate's) or ``"baseline_metrics"`` (production's).

    Returns
    -------
    dict of str to ObservedMetric
        By canonical metric name; the value is None when the source gives null, NaN or an infinity.

    Raises
    ------
    InputError
        A value that is not a number, a value outside the metric's range, two names of one metric: every
        problem, each naming ``source`` and the metric's name.
    """
    out: dict[str, ObservedMetric] = {}
    unused: list[str] = []
    problems: list[Problem] = []
    for name, value in data.items():
        if isinstance(value, bool) or not (value is None or isinstance(value, (int, float))):
            problems.append(Problem(f"value of {name!r} must be a number or null, not {value!r}", source,
                                    key=name))
            continue
        res = registry.resolve(name)
        if res is None:
            unused.append(name)
            continue
        try:
            v = None if value is None or (isinstance(value, float) and not math.isfinite(value)) else float(value)
        except OverflowError:
            problems.append(Problem(f"value of {name!r} is too large to be a metric", source, key=name))
            continue
        if v is not None and res.spec.out_of_bounds(v):
            lo, hi = res.spec.bounds
            rng = f"[{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"
            problems.append(Problem(f"{name!r} = {v:g} is outside the range of {res.canonical} {rng}"
                                    f"{' (a fraction, not percent)' if hi == 1 else ''}", source, key=name))
            continue
        if res.canonical in out:
            problems.append(Problem(f"{name!r} and {out[res.canonical].name!r} name the same metric", source,
                                    key=name))
            continue
        out[res.canonical] = ObservedMetric(name, v, source)
    if problems:
        raise InputError(problems)
    info["unused_metrics_in_file" if role == "metrics" else f"unused_metrics_in_{role}_file"] = unused
    return out
