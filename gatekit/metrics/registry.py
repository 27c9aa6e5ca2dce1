"""Metric registry: policy names -> metric definitions.

A :class:`MetricRegistry` is an ordinary object (no global state). :func:`default_registry` builds one
holding gatekit's built-in metrics; callers may register more.

Names
-----
Canonical names follow the field's terms (``roc_auc``, ``demographic_parity_difference``); the seed
policy format's names (``auc_roc``, ``fairness_demographic_parity_diff``) are aliases of them.
Threshold metrics are parametric: ``precision_at_0_5`` is precision with positives predicted where
``score >= 0.5``; any ``<digits>_<digits>`` threshold in [0, 1] is accepted (``recall_at_0_35``).
Per-class metrics take the class in brackets: ``recall[class=fraud]`` is the ``recall[class]`` spec with
``class="fraud"`` (the label as text, optionally quoted; matched to the classes when the rule runs).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gatekit.core.errors import NotComputable


@dataclass(frozen=True)
class MetricValue:
    """A computed metric value and how it was obtained.

    Parameters
    ----------
    value : float
        The metric's value, finite.
    details : dict
        Definition used (formula, variant, threshold), counts and, for fairness metrics, per-group values.
    """

    value: float
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class EvalData:
    """Evaluation arrays shared read-only by all metric functions.

    Parameters
    ----------
    y_true : ndarray of shape (n_samples,) or None
        Target. For classification, 0/1 integers (1 = the positive label); for regression, floats.
    y_score : ndarray of shape (n_samples,) or None
        Predicted probability / score of the positive class (classification) or the forecast
        (regression).
    y_pred : ndarray of shape (n_samples,) or None
        Predicted labels 0/1 given directly (classification) or the forecast (regression), when no
        score is given.
    sensitive : pandas.DataFrame of shape (n_samples, n_sensitive) or None
        Sensitive feature columns for fairness metrics, as strings; missing values kept as NaN.
    task : {"classification", "multiclass", "regression"} or None
        Problem type, inferred from the target when not declared.
    decision_threshold : float
        Threshold turning scores into predicted labels (``score >= threshold`` is positive).
    strict : bool
        Strict mode: a missing sensitive value is an error instead of its own reported group.
    positive_label : object
        The target value mapped to 1 (for the report).
    sensitive_default : list of str or None
        Columns a fairness rule without its own ``sensitive`` parameter groups by (the run's
        ``--sensitive`` / ``inputs.sensitive``); None means every column of ``sensitive``.
    cache : dict
        Intermediate results shared between metrics (e.g. per-group confusion counts); the arrays
        themselves are never modified.
    baseline : EvalData or None
        The production (baseline) model's outputs on the same rows (same target and sensitive columns),
        when given: shadow metrics compare the two, baseline-relative rules compute the metric on both.
    classes : list or None
        Multiclass runs (``task="multiclass"``): the class labels in code order. ``y_true`` and ``y_pred`` then
        hold codes ``0..k-1`` into it and ``y_score`` is the probability matrix of shape (n_samples, k) whose
        column ``j`` is the probability of ``classes[j]`` (:mod:`gatekit.metrics.multiclass`).
    loss_sums : ndarray of shape (n_samples,) or None
        Multiclass rows an engine aggregated to the confusion matrix (no probability matrix): the sum of the
        per-row log losses ``-log clip(p_true)`` of the rows each compact row stands for.
    quantiles : dict of float to ndarray of shape (n_samples,), or None
        Regression runs with quantile forecasts (``inputs.quantiles``): the forecast of each quantile level
        ``q`` in (0, 1), keyed by ``q`` (pinball loss and interval coverage, :mod:`gatekit.metrics.regression`).
    train_target : ndarray of shape (n_train,), callable or None
        The training (reference) target in row order, or a zero-argument callable returning it (an engine reads
        it on first use): the in-sample series MASE scales by. Not rows of the evaluation: never resampled.
    probability_rows : EvalData or None
        With ``loss_sums`` (an engine's confusion cells): the same evaluation rows as one row per distinct (true
        class, probability vector, production's probability vector) with its count (``y_true``, ``y_score`` of
        shape (m, k), ``weights``; its ``baseline`` is production's rows when both models gave probabilities).
        The one-vs-rest and one-vs-one ROC AUCs are computed from them, and the intervals of log loss and the
        AUCs resample them (:func:`gatekit.metrics.multiclass.resampling_rows`).
    weights : ndarray of shape (n_samples,) or None
        How many evaluation rows each row stands for (positive integers), or None when every row is one
        row. An engine that aggregates the rows (``--engine duckdb``) gives one row per distinct combination
        of target, outputs and sensitive values with its count here; every metric equals its value on the
        rows the counts stand for (fairlearn and scikit-learn with ``sample_weight``; the bootstrap draws each
        row as the rows it stands for, within its class: :func:`gatekit.stats.intervals.counted_weight_batches`).
    segments : pandas.DataFrame of shape (n_samples, n_slice_columns) or None
        The raw values of the columns the policy's ``slices:`` rules slice by, one row per row (per compact row
        when the rows are compact), index 0..n-1 (:mod:`gatekit.data.slices`); None when no rule slices.
    compare_labels : ndarray of int or None
        Multiclass rows compared with another model's (a baseline-relative rule, a canary arm): the class codes
        the averaged label metrics average over, the same for both models and every bootstrap resample
        (:func:`gatekit.metrics.multiclass.compared_labels`); None: scikit-learn's default, the classes in the
        target or this model's predictions.
    latency_ms : ndarray of shape (n_samples,) or None
        A canary arm's served latency of each row in milliseconds (``canary.latency``; finite, >= 0), read by the
        served-latency metrics (:mod:`gatekit.metrics.latency`). Plain rows only: the latency metrics are
        resampled on the plain rows with their latencies (never gathered into counted rows); None when no latency
        was logged.
    """

    y_true: np.ndarray | None = None
    y_score: np.ndarray | None = None
    y_pred: np.ndarray | None = None
    sensitive: Any = None
    task: str | None = None
    decision_threshold: float = 0.5
    strict: bool = True
    positive_label: Any = None
    cache: dict[Any, Any] = field(default_factory=dict, repr=False)
    sensitive_default: list[str] | None = None
    baseline: EvalData | None = field(default=None, repr=False)
    weights: np.ndarray | None = field(default=None, repr=False)
    classes: list[Any] | None = None
    loss_sums: np.ndarray | None = field(default=None, repr=False)
    probability_rows: EvalData | None = field(default=None, repr=False)
    quantiles: dict[float, np.ndarray] | None = field(default=None, repr=False)
    train_target: Any = field(default=None, repr=False)
    segments: Any = field(default=None, repr=False)
    compare_labels: np.ndarray | None = field(default=None, repr=False)
    latency_ms: np.ndarray | None = field(default=None, repr=False)


MetricFn = Callable[..., MetricValue]


@dataclass(frozen=True)
class MetricSpec:
    """Definition of one named metric.

    Parameters
    ----------
    name : str
        Canonical name.
    section : str
        Report section (``performance``, ``fairness``, ``operational``, ``drift``).
    unit : str
        Unit of the value (``fraction``, ``%``, ``ms``, ...).
    description : str
        One line: what it measures and the formula's source.
    fn : callable or None
        ``fn(data: EvalData, **params) -> MetricValue``; raises :class:`NotComputable`.
        None for metrics gatekit does not compute yet: they can only be observed (``--metrics``).
    params : mapping of str to callable
        Allowed rule parameters and their validators (each returns the cleaned value or raises
        ``ValueError``).
    aliases : tuple of str
        Other accepted names.
    higher_is_better : bool or None
        Direction of the metric, recorded for tooling; decisions and margins follow the rule's operator.
    bounds : tuple of (float or None, float or None)
        The metric's range (inclusive); a metrics-file value outside it is refused as invalid input.
    label : str
        Plain-language name for people who do not read metric names (shown first in the HTML report).
    source : str or None
        Where a custom metric was defined (``file:line`` of its function, or ``entry point <name> (<distribution>
        <version>)``; :mod:`gatekit.metrics.custom`); None for gatekit's own metrics.
    """

    name: str
    section: str
    unit: str
    description: str
    fn: MetricFn | None = None
    params: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    higher_is_better: bool | None = None
    bounds: tuple[float | None, float | None] = (None, None)
    label: str = ""
    source: str | None = None

    def out_of_bounds(self, value: float) -> bool:
        """Return True when ``value`` lies outside :attr:`bounds`."""
        lo, hi = self.bounds
        return (lo is not None and value < lo) or (hi is not None and value > hi)


@dataclass(frozen=True)
class ResolvedMetric:
    """A policy name resolved to a spec, with parameters taken from the name itself."""

    spec: MetricSpec
    name_params: dict[str, Any]

    @property
    def canonical(self) -> str:
        """Canonical name including name parameters, e.g. ``precision_at_0_5``."""
        if "[" in self.spec.name and "class" in self.name_params:
            return f"{self.spec.name.split('[')[0]}[class={self.name_params['class']}]"
        if "threshold" in self.name_params:
            return f"{self.spec.name[: -len('_at_T')]}_at_{_threshold_token(self.name_params['threshold'])}"
        return self.spec.name


_AT_RE = re.compile(r"^(?P<base>[a-z0-9_]+?)_at_(?P<int>\d+)_(?P<frac>\d+)$")


BRACKET_RE = re.compile(r"^(?P<base>[a-z0-9_]+)\[(?P<key>[^=\]]*)=(?P<value>[^\]]*)\]$")
"""``recall[class=fraud]``: a metric with one name parameter in brackets."""


def bracket_problem(name: str, bases: list[str]) -> str | None:
    """Explain what is wrong with a bracketed metric name, or return None when ``name`` has no bracket.

    Parameters
    ----------
    name : str
        The name as written in the policy.
    bases : list of str
        The metrics taking a ``[class=<label>]`` parameter (``precision``, ``recall``, ``f1``).
    """
    if "[" not in name and "]" not in name:
        return None
    m = BRACKET_RE.match(name)
    form = "per-class metrics are written <metric>[class=<label>], e.g. recall[class=fraud]"
    if m is None:
        return f"{form}; {name!r} does not match that form"
    if m.group("base") not in bases:
        return f"{m.group('base')!r} has no per-class form (those that do: {', '.join(bases)}); {form}"
    if m.group("key").strip() != "class":
        return f"the bracket takes class=<label>, not {m.group('key').strip()!r}=; {form}"
    value = m.group("value").strip().strip("'\"")
    if not value:
        return f"the class label is empty; {form}"
    return None


def parse_bracket(name: str) -> tuple[str, str] | None:
    """Return ``(metric, class label)`` of ``recall[class=fraud]`` (quotes around the label dropped), or None."""
    m = BRACKET_RE.match(name)
    if m is None or m.group("key").strip() != "class":
        return None
    value = m.group("value").strip().strip("'\"").strip()
    return (m.group("base"), value) if value else None



def _threshold_token(t: float) -> str:
    """``0.5 -> "0_5"``, ``1e-05 -> "0_00001"`` (positional, never scientific notation)."""
    return np.format_float_positional(float(t), trim="0").replace(".", "_")


class MetricRegistry:
    """Name -> :class:`MetricSpec` lookup, with aliases, parametric names and suggestions."""

    def __init__(self) -> None:
        self._specs: dict[str, MetricSpec] = {}
        self._alias: dict[str, str] = {}

    def register(self, spec: MetricSpec) -> None:
        """Add ``spec``; raises ``ValueError`` if its name or an alias is already taken."""
        for n in (spec.name, *spec.aliases):
            if n in self._alias:
                raise ValueError(f"metric name {n!r} is already registered")
            self._alias[n] = spec.name
        self._specs[spec.name] = spec

    def copy(self) -> MetricRegistry:
        """Return a new registry holding the same specs (registering on it leaves this one as it is)."""
        out = MetricRegistry()
        out._specs = dict(self._specs)
        out._alias = dict(self._alias)
        return out

    def resolve(self, name: str) -> ResolvedMetric | None:
        """Resolve a policy name; None if unknown.

        ``precision_at_0_5`` resolves to the ``precision_at_T`` spec with threshold 0.5.
        """
        if name.endswith("_at_T"):
            return None  # a placeholder, not a name: write precision_at_0_5
        if "[" in name or "]" in name:  # recall[class=fraud]; the spec's own name recall[class] is a placeholder
            parsed = parse_bracket(name)
            if parsed is None or f"{parsed[0]}[class]" not in self._alias:
                return None
            return ResolvedMetric(self._specs[self._alias[f"{parsed[0]}[class]"]], {"class": parsed[1]})
        if name in self._alias:
            return ResolvedMetric(self._specs[self._alias[name]], {})
        m = _AT_RE.match(name)
        if m:
            base = m.group("base") + "_at_T"
            if base in self._alias:
                t = float(f"{m.group('int')}.{m.group('frac')}")
                if 0.0 <= t <= 1.0:
                    return ResolvedMetric(self._specs[self._alias[base]], {"threshold": t})
        return None

    def per_class(self) -> list[str]:
        """Return the metrics with a ``[class=<label>]`` form (``precision``, ``recall``, ``f1``)."""
        return sorted(n.split("[")[0] for n in self._specs if n.endswith("[class]"))

    def explain(self, name: str) -> str | None:
        """Say what is wrong with a malformed parametric name (``recall[cls=x]``), or None (just unknown)."""
        return bracket_problem(name, self.per_class())

    def names(self) -> list[str]:
        """All accepted names (canonical and aliases; parametric ones as ``*_at_T``)."""
        return sorted(self._alias)

    def specs(self) -> list[MetricSpec]:
        """All registered specs, in registration order."""
        return list(self._specs.values())

    def suggest(self, name: str) -> str | None:
        """Closest accepted name to a misspelt one (difflib ratio >= 0.6), or None."""
        candidates = [n.replace("_at_T", "_at_0_5") for n in self.names() if "[" not in n]
        best = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
        return best[0] if best else None


def row_weights(data: EvalData) -> np.ndarray | None:
    """Return ``data.weights`` as a checked int64 array, or None when every row is one row.

    Parameters
    ----------
    data : EvalData
        Evaluation rows; ``weights`` of shape (n_samples,) or None.

    Returns
    -------
    ndarray of int64, shape (n_samples,), or None

    Raises
    ------
    NotComputable
        The weights are not whole non-negative counts, or their length is not the number of rows: a count
        that is not a count cannot stand for rows, and no metric is computed from it.
    """
    if data.weights is None:
        return None
    w = np.asarray(data.weights)
    n = next((len(a) for a in (data.y_true, data.y_score, data.y_pred) if a is not None), len(w))
    if w.ndim != 1 or len(w) != n:
        raise NotComputable(f"the row counts (weights) have shape {w.shape}, not ({n},): one count per row")
    if w.dtype.kind not in "iub":
        wf = w.astype(float)
        if not (np.isfinite(wf).all() and (wf == np.round(wf)).all()):
            raise NotComputable("the row counts (weights) are not whole numbers: each must be the number of rows "
                                "a row stands for")
    w = w.astype(np.int64)
    if (w < 0).any():
        raise NotComputable("a row count (weight) is negative")
    return w


def row_count(data: EvalData, mask: np.ndarray | None = None) -> int:
    """Count the evaluation rows (those where ``mask`` is True), each row ``weights`` times.

    Parameters
    ----------
    data : EvalData
        Evaluation rows.
    mask : ndarray of bool, shape (n_samples,), optional
        Which rows to count; None counts all.

    Returns
    -------
    int
        ``sum(mask)`` without weights, ``sum(weights[mask])`` with them: the count on the expanded rows.
    """
    w = row_weights(data)
    if w is None:
        if mask is not None:
            return int(np.sum(mask))
        return len(next((a for a in (data.y_true, data.y_score, data.y_pred) if a is not None), ()))
    return int(w.sum() if mask is None else w[np.asarray(mask, dtype=bool)].sum())


def check_finite(value: float, what: str) -> float:
    """Return ``value`` as float or raise :class:`NotComputable` if it is NaN or infinite."""
    v = float(value)
    if not np.isfinite(v):
        raise NotComputable(f"{what} is not finite ({v})")
    return v
