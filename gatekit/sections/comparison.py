"""Baseline-relative rules and confidence-bound decisions: the one place that compares with a baseline.

Definitions (recorded in every check's ``details``):

- change = candidate - baseline, in the metric's unit;
- relative change = 100 * (candidate - baseline) / |baseline|, in percent; a baseline of 0 makes it
  not computable (no sign convention can rescue a division by zero);
- ``max_drop: d`` holds when change >= -d; ``max_increase: d`` when change <= d; ``within: d`` when
  -d <= change <= d (the ``_pct`` forms on the relative change).

With ``confidence: c`` the decision reads a two-sided ``c`` confidence interval of the statistic
(change, relative change, or the metric itself for an absolute rule) instead of its point value:

- ``proven_harm``: the rule fails only when the whole interval lies on the failing side of a limit:
  the data prove, at that confidence, that the limit is broken; an interval that straddles the limit
  passes (inconclusive is not harm);
- ``proven_safe``: the rule passes only when the whole interval lies on the passing side: the data
  prove the limit holds; an interval that straddles it fails (inconclusive is not safety).

Interval methods: a percentile bootstrap (Efron & Tibshirani 1993, ch. 13) over evaluation rows,
stratified by class, paired when the baseline scored the same rows, unpaired (each arm resampled on its
own) for a canary; or DeLong's variance for ROC AUC (DeLong et al. 1988).

Compact rows (``EvalData.weights``, the DuckDB and Spark engines' one row per distinct combination with its
count): DeLong is computed on the counts (equal to DeLong on the expanded rows). The bootstrap first gathers
the rows into counted rows in a canonical order (:func:`gatekit.metrics.weighted.counted_rows`; pandas' plain
rows too, and an engine's multiclass rows as the cells or probability rows its metric reads,
:func:`gatekit.metrics.multiclass.resampling_rows`), then draws the stratified multinomial bootstrap of counted
rows (each counted row drawn as the rows it stands for, class sizes fixed;
:func:`gatekit.stats.intervals.counted_weight_batches`). The same evaluation rows therefore give the same
counted rows, the same resamples and the same interval on pandas, DuckDB and Spark for the same seed; the
interval's ``resampling`` detail says so. A custom metric whose function takes no ``sample_weight`` (pandas only)
is resampled on the plain rows, with the same distribution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from gatekit.core.compare import compare
from gatekit.core.decision import margin as signed_margin
from gatekit.core.errors import NotComputable
from gatekit.core.formatting import fmt, fmt_pair, percent
from gatekit.core.results import CheckResult, OnFail, RuleKey, Status
from gatekit.metrics.registry import EvalData, ResolvedMetric, row_count, row_weights
from gatekit.policy.specs import MetricRule
from gatekit.sections.base import STATE_STATUS, Observation
from gatekit.stats.intervals import (
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    Interval,
    bootstrap_statistic,
    delong_difference,
    delong_variance,
)


@dataclass
class Side:
    """One model's value of a metric and, when it came from rows, those rows (for the interval).

    Parameters
    ----------
    obs : Observation
        The metric's value or why there is none.
    rows : EvalData or None
        The evaluation rows the value was computed from; None for a metrics-file value.
    label : str
        How the report names this side (``candidate``, ``production``, ``canary arm``).
    """

    obs: Observation
    rows: EvalData | None
    label: str


def conditions(rule: MetricRule) -> list[tuple[str, float]]:
    """Return the rule as conditions ``statistic OP limit`` that must all hold.

    ``max_drop: d`` -> ``[(">=", -d)]``; ``max_increase: d`` -> ``[("<=", d)]``; ``within: d`` ->
    ``[(">=", -d), ("<=", d)]``; ``min_increase: g`` -> ``[(">", g)]``; ``min_decrease: g`` ->
    ``[("<", -g)]``; an absolute rule -> ``[(op, value)]``.
    """
    rel = rule.relative
    if rel is None:
        assert rule.op is not None and rule.value is not None
        return [(rule.op, rule.value)]
    key, d = rel
    if key.startswith("max_drop"):
        return [(">=", -d)]
    if key.startswith("max_increase"):
        return [("<=", d)]
    if key.startswith("min_increase"):
        return [(">", d)]
    if key.startswith("min_decrease"):
        return [("<", -d)]
    return [(">=", -d), ("<=", d)]


def decide_interval(low: float, high: float, conds: list[tuple[str, float]], guardband: str) -> tuple[bool, float]:
    """Decide the conditions on an interval ``[low, high]`` under a guardband mode.

    Parameters
    ----------
    low, high : float
        Interval bounds.
    conds : list of (op, limit)
        One-sided conditions (``>=``, ``>``, ``<=``, ``<``) that must all hold.
    guardband : {"proven_harm", "proven_safe"}
        See the module docstring.

    Returns
    -------
    passed : bool
    margin : float
        Signed distance of the deciding bound from the nearest limit, positive on the passing side: for
        ``proven_safe`` the worst bound's distance inside the limit; for ``proven_harm`` the best bound's.
    """
    margins = []
    for op, t in conds:
        worst = low if op in (">=", ">") else high   # the bound that must still meet the limit to prove safety
        best = high if op in (">=", ">") else low    # the bound that must break the limit to prove harm
        bound = worst if guardband == "proven_safe" else best
        margins.append((compare(bound, op, t), signed_margin(bound, op, t)))
    passed = all(ok for ok, _ in margins)
    return passed, float(min(m for _, m in margins if m is not None))


OUTCOMES = ("proven", "disproven", "inconclusive", "insufficient_data")
"""The outcomes of a rule decided on an interval (see :func:`interval_outcome`)."""


def interval_outcome(low: float, high: float, conds: list[tuple[str, float]]) -> str:
    """Return what an interval shows about conditions that must all hold.

    Parameters
    ----------
    low, high : float
        Interval bounds.
    conds : list of (op, limit)
        One-sided conditions (:func:`conditions`).

    Returns
    -------
    {"proven", "disproven", "inconclusive"}
        ``proven``: the interval's worst bound meets every limit (the limits hold at the interval's
        confidence; ``guardband: proven_safe`` passes exactly then); ``disproven``: the best bound breaks
        some limit (``proven_harm`` fails exactly then); otherwise ``inconclusive`` (it straddles a limit).
        For ``within`` (two conditions) ``proven`` is the two one-sided tests of Schuirmann (1987).
    """
    if decide_interval(low, high, conds, "proven_safe")[0]:
        return "proven"
    if not decide_interval(low, high, conds, "proven_harm")[0]:
        return "disproven"
    return "inconclusive"


def outcome_status(result: str, severity: dict[str, str], on_fail: OnFail) -> tuple[Status, OnFail]:
    """Return the status and severity of a check from its outcome and the policy's severities.

    Parameters
    ----------
    result : {"proven", "disproven", "inconclusive", "insufficient_data"}
        The outcome (:func:`interval_outcome`, then the power judgement of :func:`power_figures`).
    severity : dict
        ``{"inconclusive": s, "insufficient_data": s}`` with ``s`` in ``block``, ``warn``, ``pass``
        (:meth:`gatekit.policy.specs.MetricRule.severities`).
    on_fail : OnFail
        The rule's severity (a disproven rule fails with it).

    Returns
    -------
    status : Status
        ``pass`` (proven, or an inconclusive outcome the policy counts as a pass), ``fail`` (disproven) or
        ``inconclusive``.
    on_fail : OnFail
        The rule's severity, or for ``inconclusive`` the severity the policy set for that outcome.

    Raises
    ------
    ValueError
        An unknown outcome.
    """
    if result == "proven":
        return Status.PASS, on_fail
    if result == "disproven":
        return Status.FAIL, on_fail
    if result not in ("inconclusive", "insufficient_data"):
        raise ValueError(f"unknown outcome {result!r}")
    sev = severity[result]
    return (Status.PASS, on_fail) if sev == "pass" else (Status.INCONCLUSIVE, OnFail(sev))


def _p_values(iv: Interval, conds: list[tuple[str, float]]) -> tuple[float | None, float | None]:
    """One-sided p-values of "a limit is broken" (the smallest) and "every limit holds" (the largest; TOST).

    Each is the inverse of the interval's bound (:func:`gatekit.stats.multiplicity.interval_p_value`):
    ``p_safe <= (1 - c) / 2`` exactly when the outcome is ``proven``, ``p_harm`` likewise for ``disproven``.
    The limit is moved by :func:`gatekit.core.compare.compare`'s floating-point tolerance toward the side that
    the comparison counts as equal (a bound of -0.050000000000000044 meets ``>= -0.05`` there, so its p-value
    must too). None when the interval kept neither its standard error nor its replicates.
    """
    from gatekit.core.compare import tolerance as tol
    from gatekit.stats.multiplicity import interval_p_value

    try:
        # safety: ">=" counts the near-equal band as meeting (limit - tol); ">" counts it as failing (+ tol)
        safe = [interval_p_value(iv, t - tol(t) if op in (">=", "<") else t + tol(t),
                                 "greater" if op in (">=", ">") else "less", strict=op in (">", "<"))
                for op, t in conds]
        # harm: ">=" is broken strictly below the band (limit - tol); ">" already at the band (+ tol)
        harm = [interval_p_value(iv, t - tol(t) if op in (">=", "<") else t + tol(t),
                                 "less" if op in (">=", ">") else "greater", strict=op in (">=", "<="))
                for op, t in conds]
    except ValueError:
        return None, None
    return float(min(harm)), float(max(safe))


def power_figures(rule: MetricRule, iv: Interval, conds: list[tuple[str, float]], rows: int, what_rows: str,
                  ) -> dict[str, Any]:
    """Return the power of a confidence rule: the smallest effect its rows can show and the rows its margin needs.

    Parameters
    ----------
    rule : MetricRule
        The rule (``confidence``, ``power``; its margin is ``d`` of ``max_drop``, ``max_increase``,
        ``within`` and their ``_pct`` forms).
    iv : Interval
        The rule's interval.
    conds : list of (op, limit)
        Its conditions.
    rows : int
        Rows the interval was computed from (both arms of a canary).
    what_rows : str
        How the report names those rows (``evaluation rows``, ``log rows``).

    Returns
    -------
    dict
        :func:`interval_power` at the rule's ``confidence`` and ``power`` (default 0.8), with the rule's margin.
    """
    assert rule.confidence is not None
    rel = rule.relative
    has_margin = rel is not None and rel[0].removesuffix("_pct") in ("max_drop", "max_increase", "within")
    margin = rel[1] if rel is not None and has_margin else None
    return interval_power(iv, conds, rows, what_rows, confidence=rule.confidence, target=rule.power or 0.8,
                          margin=margin)


def interval_power(iv: Interval, conds: list[tuple[str, float]], rows: int, what_rows: str, *, confidence: float,
                   target: float, margin: float | None) -> dict[str, Any]:
    """Return the power figures of an interval-decided rule: the smallest effect its rows can show, the rows needed.

    The rule-independent core of :func:`power_figures` (a slice rule calls it with its own margin).

    Parameters
    ----------
    iv : Interval
        The interval the rule read.
    conds : list of (op, limit)
        Its conditions (two: ``within``).
    rows : int
        Rows the interval was computed from.
    what_rows : str
        How the report names those rows (``evaluation rows``, ``log rows``, ``slice rows``).
    confidence : float
        Two-sided level of the interval.
    target : float
        Target power.
    margin : float or None
        The rule's margin ``d`` (``max_drop`` and the like); None for a rule without one.

    Returns
    -------
    dict
        ``target`` (power), ``se`` (DeLong's, or the normal spread of the percentile interval:
        ``(high - low) / (2 z_{1 - alpha})``), ``mde`` (``(z_{1 - alpha} + z_{power}) se``, Chow, Shao & Wang,
        *Sample Size Calculations in Clinical Research*, 2008, ch. 3; for ``within`` the two one-sided tests at
        a true change of 0 need ``z_{(1 + power) / 2}``), ``effect`` (the margin ``d``; without one, the
        distance of the estimate from the nearest limit), ``effect_is_margin``, ``rows``, ``rows_needed``
        (``rows (mde / effect)^2``, standard errors shrinking as ``1 / sqrt(rows)`` at the same class and arm
        shares), ``power_at_effect`` and ``what_rows``. ``se`` and what follows from it are None for a
        zero-width interval.
    """
    from gatekit.stats.power import minimum_detectable_effect, power_at, rows_needed, se_from_interval

    out: dict[str, Any] = {"target": target, "se": None, "mde": None, "effect": None, "effect_is_margin": False,
                           "rows": rows, "rows_needed": None, "power_at_effect": None, "what_rows": what_rows,
                           "two_sided": len(conds) == 2}
    se = iv.details.get("se")
    if se is None and iv.high > iv.low:
        se = se_from_interval(iv.low, iv.high, confidence)
    if se is None or not (math.isfinite(se) and se > 0):
        return out
    two_sided = len(conds) == 2
    mde = minimum_detectable_effect(se, confidence, (1 + target) / 2 if two_sided else target)
    if margin is not None:  # a margin of 0 too: no finite number of rows shows it (rows_needed stays None)
        effect, is_margin = float(margin), True
    else:
        effect, is_margin = min(abs(iv.estimate - t) for _, t in conds), False
    out.update({"se": float(se), "mde": float(mde), "effect": float(effect), "effect_is_margin": is_margin})
    if effect > 0:
        need = rows_needed(se, rows, effect, confidence, (1 + target) / 2 if two_sided else target) \
            if rows > 0 else None
        # an effect such as 1e-300 needs more rows than a float holds: none, as for a margin of 0
        out["rows_needed"] = need if need is not None and math.isfinite(need) else None
        one = power_at(effect, se, confidence)
        # within: both one-sided tests must reject at a true change of 0, P = 1 - 2 (1 - one) (Schuirmann 1987)
        out["power_at_effect"] = max(0.0, 2 * one - 1) if two_sided else one
    return out


def classify(rule: MetricRule, iv: Interval, conds: list[tuple[str, float]], rows: int, what_rows: str,
             ) -> tuple[str, dict[str, Any]]:
    """Return a confidence rule's outcome on its interval, and its power figures.

    Parameters
    ----------
    rule, iv, conds, rows, what_rows
        As :func:`power_figures`.

    Returns
    -------
    result : str
        :func:`judge_outcome` of the interval and the power figures.
    power : dict
        :func:`power_figures`.
    """
    power = power_figures(rule, iv, conds, rows, what_rows)
    return judge_outcome(iv, conds, power), power


def judge_outcome(iv: Interval, conds: list[tuple[str, float]], power: dict[str, Any]) -> str:
    """Return the outcome of an interval given its power figures (marks ``power["zero_width"]`` when it applies).

    Parameters
    ----------
    iv : Interval
        The interval.
    conds : list of (op, limit)
        The conditions.
    power : dict
        :func:`interval_power` of that interval (modified: ``zero_width``).

    Returns
    -------
    str
        :func:`interval_outcome`, except that an ``inconclusive`` interval of a rule with a margin ``d >= 0``
        (``max_drop``, ``max_increase``, ``within`` and their ``_pct`` forms; a slice rule's ``max_drop``) whose
        minimum detectable effect exceeds ``d`` is ``insufficient_data``: the rows could not have shown the margin
        at the rule's confidence and power, so "not proven" says nothing about the model. A bootstrap interval of
        zero width (every resample gave the same value, up to :func:`gatekit.core.compare.tolerance` of its
        bounds) is ``insufficient_data`` unless its one value breaks a limit, which is ``disproven``
        (``power["zero_width"]`` in both cases; see the note).

    Notes
    -----
    A zero-width interval means the bootstrap could not see the rows' uncertainty (a class-stratified resample of
    rows whose predictions are constant within each class gives the same accuracy every time; 20 of 20 correct
    reads [1, 1], though the exact 95 % lower bound is 0.83). It cannot prove a limit holds, so it never passes as
    ``proven``; but a value that breaks the limit on every resample is not let through as undecided either: it
    fails (fail closed; a policy that prices ``insufficient_data`` as ``pass`` must not pass a model whose recall
    is 0 on 4,000 rows).
    """
    from gatekit.core.compare import tolerance

    result = interval_outcome(iv.low, iv.high, conds)
    if iv.method != "delong" and not iv.high - iv.low > tolerance(max(abs(iv.low), abs(iv.high))):
        power["zero_width"] = True
        return "disproven" if result == "disproven" else "insufficient_data"
    if result == "inconclusive" and power["effect_is_margin"] and power["mde"] is not None \
            and power["mde"] > power["effect"]:
        result = "insufficient_data"
    return result


def _strata(data: EvalData) -> np.ndarray:
    """Class of each row (classification), else one stratum; one stratum too when there is no target."""
    if data.y_true is not None and data.task == "multiclass" and data.classes:
        return np.array([str(c) for c in data.classes])[data.y_true.astype(int)]  # named: messages say "Tabl"
    if data.y_true is not None and data.task == "classification":
        return data.y_true.astype(int)
    rows = next(a for a in (data.y_true, data.y_score, data.y_pred) if a is not None)
    return np.zeros(len(rows), dtype=int)


def _paired_counts(cand: EvalData, base: EvalData) -> np.ndarray | None:
    """Return the row counts both sides of a paired comparison share (None: plain rows).

    Raises
    ------
    NotComputable
        The two sides' rows carry different counts: they are not the same rows, so no paired interval.
    """
    wc, wb = row_weights(cand), row_weights(base)
    if (wc is None) != (wb is None) or (wc is not None and wb is not None and not np.array_equal(wc, wb)):
        raise NotComputable("the candidate's and the production model's rows carry different row counts, so they "
                            "are not the same rows: no paired interval")
    return wc


def _counted(res: ResolvedMetric, cand: EvalData, base: EvalData | None,
             paired: bool) -> tuple[EvalData, EvalData | None]:
    """Return the candidate's and the baseline's rows gathered into counted rows (:func:`counted_rows`).

    A paired baseline is gathered with the candidate's rows (the same counted rows for both); an unpaired one
    (a canary's production arm) on its own. Rows stay as they are for a custom metric whose function takes no
    ``sample_weight`` (it cannot run on counted rows; it is pandas-only), and for a metric whose function says
    ``plain_rows`` (a canary's served latencies, :mod:`gatekit.metrics.latency`: counted rows do not carry them;
    its ``rows_note`` is recorded as the interval's ``rows``).

    Raises
    ------
    NotComputable
        A paired baseline whose rows carry other counts than the candidate's (:func:`_paired_counts`).
    """
    from dataclasses import replace

    from gatekit.metrics.custom import ATTRIBUTE
    from gatekit.metrics.weighted import counted_rows

    if base is not None and paired:
        _paired_counts(cand, base)  # the same rows, before they are gathered
    decl = getattr(res.spec.fn, ATTRIBUTE, None)
    if (decl is not None and not decl.sample_weight) or getattr(res.spec.fn, "plain_rows", False):
        return cand, base
    if base is None or not paired:
        return counted_rows(cand), None if base is None else counted_rows(base)
    joint = counted_rows(cand if base is cand.baseline else replace(cand, baseline=base, cache={}))
    return joint, joint.baseline


def _statistic(key: str | None, c: Any, b: Any) -> Any:
    """Return the rule's statistic from candidate and baseline values (arrays or floats)."""
    if key is None:
        return c
    if key.endswith("_pct"):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(np.abs(b) > 0, 100.0 * (c - b) / np.where(np.abs(b) > 0, np.abs(b), 1), np.nan)
    return c - b


def interval_for(rule: MetricRule, res: ResolvedMetric, params: dict[str, Any], cand: Side, base: Side | None,
                 paired: bool, estimate: float) -> Interval:
    """Confidence interval of the rule's statistic.

    Parameters
    ----------
    rule : MetricRule
        With ``confidence`` set.
    res : ResolvedMetric
        The metric.
    params : dict
        Its parameters (name parameters included).
    cand, base : Side
        Candidate and baseline (None for an absolute rule).
    paired : bool
        Candidate and baseline rows are the same rows (shadow / same holdout); False for canary arms.
    estimate : float
        The statistic's point value.

    Returns
    -------
    Interval

    Raises
    ------
    NotComputable
        A side has no rows to resample (a metrics-file value), too many undefined resamples, or DeLong's
        variance is undefined.
    """
    from gatekit.metrics.weighted import weighted_values

    assert rule.confidence is not None
    key = rule.relative[0] if rule.relative else None
    if cand.rows is None:
        raise NotComputable(f"the {cand.label}'s {res.canonical} comes from a metrics file: an interval needs the "
                            "evaluation rows (drop confidence for this rule, or give data)")
    base_rows = base.rows if base is not None else None
    base_value = base.obs.value if base is not None else None
    if rule.interval == "delong":
        y = cand.rows.y_true
        w = row_weights(cand.rows)
        if cand.rows.y_score is None:
            raise NotComputable("DeLong's interval needs the candidate's scores")
        if base is not None and base_rows is not None and paired:
            if base_rows.y_score is None:
                raise NotComputable("DeLong's paired interval needs the production model's scores")
            iv = delong_difference(y, cand.rows.y_score, base_rows.y_score, rule.confidence,
                                   weights=_paired_counts(cand.rows, base_rows))
            iv.details["paired"] = True
            if w is not None:
                iv.details["rows"] = "compact rows weighted by their counts (equal to DeLong on the rows)"
            return iv
        n_pos = 0 if y is None else int(np.sum(y == 1)) if w is None else int(w[y == 1].sum())
        n_all = 0 if y is None else len(y) if w is None else int(w.sum())
        if y is None or n_pos < 2 or n_all - n_pos < 2:
            raise NotComputable(f"DeLong's variance needs at least 2 rows of each class ({n_pos} positive, "
                                f"{n_all - n_pos} negative)")
        with np.errstate(all="ignore"):
            var = delong_variance(y, cand.rows.y_score, weights=w)
        if not var > 0:
            raise NotComputable("DeLong's variance of the AUC is zero (perfectly separated scores)")
        z = NormalDist().inv_cdf(0.5 + rule.confidence / 2)
        half = z * math.sqrt(var)
        c = estimate if base_value is None else estimate + base_value
        details = {"se": math.sqrt(var), "z": z, "baseline_fixed": base_value is not None}
        shift = 0.0 if base_value is None else base_value
        return Interval(estimate, c - half - shift, c + half - shift, rule.confidence, "delong", details)
    from gatekit.metrics.multiclass import resampling_rows

    resamples = rule.resamples or DEFAULT_RESAMPLES
    seed = DEFAULT_SEED if rule.seed is None else rule.seed
    # multiclass: the rows an engine resamples (probability rows for log loss and the AUCs, else the cells)
    cand_rows, base_rows = resampling_rows(res.spec.name, cand.rows, base_rows, paired)
    # the same counted rows in the same order on every engine (W then holds each counted row's multiplicity, its
    # count included: weighted_values' contract), so the same seed draws the same resamples everywhere
    cand_rows, base_rows = _counted(res, cand_rows, base_rows, paired)
    counts: list[np.ndarray | None] = [row_weights(cand_rows)]
    if base is None:
        def stat(ws: list[np.ndarray]) -> np.ndarray:
            return weighted_values(res, cand_rows, ws[0], params)
        strata = [_strata(cand_rows)]
        how = "bootstrap of the candidate's metric"
    elif base_rows is None:
        fixed = float(base_value)  # type: ignore[arg-type]

        def stat(ws: list[np.ndarray]) -> np.ndarray:
            return _statistic(key, weighted_values(res, cand_rows, ws[0], params), fixed)
        strata = [_strata(cand_rows)]
        how = "bootstrap of the candidate's metric; the baseline value (metrics file) is taken as fixed"
    elif paired:
        counts = [_paired_counts(cand_rows, base_rows)]

        def stat(ws: list[np.ndarray]) -> np.ndarray:
            return _statistic(key, weighted_values(res, cand_rows, ws[0], params),
                              weighted_values(res, base_rows, ws[0], params))
        strata = [_strata(cand_rows)]
        how = "paired bootstrap: the same resampled rows for both models"
    else:
        counts.append(row_weights(base_rows))

        def stat(ws: list[np.ndarray]) -> np.ndarray:
            return _statistic(key, weighted_values(res, cand_rows, ws[0], params),
                              weighted_values(res, base_rows, ws[1], params))
        strata = [_strata(cand_rows), _strata(base_rows)]
        how = "unpaired bootstrap: each arm resampled on its own"
    iv = bootstrap_statistic(stat, strata, estimate, rule.confidence, resamples, seed, counts=counts)
    multinomial = iv.details.get("resampling") == "stratified_multinomial"
    classified = cand_rows.task in ("classification", "multiclass")
    iv.details.update({"scheme": how, "stratified": bool(multinomial and classified
                                                          and cand_rows.y_true is not None),
                       "paired": bool(base is not None and base_rows is not None and paired)})
    note = getattr(res.spec.fn, "rows_note", None)
    if note:  # a metric resampled on plain rows says which (a canary's served latencies)
        iv.details["rows"] = note
    return iv


def _limit_text(rule: MetricRule, metric_unit: str | None = None) -> str:
    shown_unit = f" {metric_unit}" if metric_unit in ("%", "ms") else ""
    rel = rule.relative
    if rel is None:
        return f"{rule.op} {fmt(rule.value)}{shown_unit}"
    key, d = rel
    unit = " %" if key.endswith("_pct") else shown_unit
    what = {"max_drop": "drop", "max_increase": "increase", "within": "change", "min_increase": "increase",
            "min_decrease": "decrease"}[key.removesuffix("_pct")]
    bound = "at most" if key.startswith("max") else "more than" if key.startswith("min") else "within ±"
    return f"{what} {bound}{'' if bound.endswith('±') else ' '}{fmt(d)}{unit}"


def like_for_like(res: ResolvedMetric, params: dict[str, Any], cand: Side, base: Side,
                  paired: bool) -> tuple[Side, Side]:
    """Return both sides of a multiclass averaged metric recomputed over one class set (else as they are).

    A macro average over the classes in the target or one model's predictions (scikit-learn's default) gives a
    model that predicts a class absent from the target an extra zero term the other model's average lacks, so
    the two values would average different classes. For :data:`gatekit.metrics.multiclass.COMPARED_METRICS`
    both models' rows get the same ``compare_labels`` (:func:`gatekit.metrics.multiclass.compared_labels`):
    their values, and every bootstrap resample of their interval, average over the target's classes and both
    models' predicted classes. The rows are kept in the candidate rows' cache, so rules on the same metric
    share them (and their interval).

    Parameters
    ----------
    res : ResolvedMetric
        The metric.
    params : dict
        Its parameters.
    cand, base : Side
        The candidate's and the baseline's values and rows.
    paired : bool
        The baseline scored the candidate's rows (``base.rows`` is ``cand.rows.baseline``).

    Returns
    -------
    cand, base : Side
        Recomputed sides (their ``rows`` carry ``compare_labels``), or the given ones for another metric, a
        non-multiclass target, a side without rows or a side whose value is not computable.
    """
    from dataclasses import replace

    from gatekit.metrics.multiclass import COMPARED_METRICS, compared_labels
    from gatekit.sections.base import RunContext

    cr, br = cand.rows, base.rows
    if (res.spec.name not in COMPARED_METRICS or res.spec.fn is None or cr is None or br is None
            or cr.task != "multiclass" or br.task != "multiclass" or cand.obs.state != "ok"
            or base.obs.state != "ok"):
        return cand, base
    ckey = ("compared_rows", id(br))
    if ckey not in cr.cache:
        labels = compared_labels(cr, br)
        if labels is None:
            return cand, base
        b_rows = replace(br, compare_labels=labels, cache={})
        c_rows = replace(cr, compare_labels=labels, cache={}, baseline=b_rows if paired else cr.baseline)
        cr.cache[ckey] = (br, c_rows, b_rows)  # br kept alive: its id stays this key's
    _, c_rows, b_rows = cr.cache[ckey]
    return (Side(RunContext.from_rows(res.spec.fn, c_rows, params), c_rows, cand.label),
            Side(RunContext.from_rows(res.spec.fn, b_rows, params), b_rows, base.label))


def evaluate_rule(rule: MetricRule, res: ResolvedMetric, params: dict[str, Any], cand: Side, base: Side | None,
                  *, paired: bool, section: str, name: str, base_details: dict[str, Any],
                  intervals: dict[Any, Any] | None = None, evidence: dict[int, Any] | None = None) -> CheckResult:
    """Evaluate one rule that is baseline-relative or has ``confidence``; return its check.

    Parameters
    ----------
    rule : MetricRule
        The rule.
    res : ResolvedMetric
        Its metric.
    params : dict
        The metric's parameters (cleaned by the loader).
    cand : Side
        The candidate's value (and rows).
    base : Side or None
        The baseline's; None for an absolute rule.
    paired : bool
        Both values come from the same rows.
    section : str
        Report section of the check.
    name : str
        Check name.
    base_details : dict
        Details every check of this rule carries (unit, params, label, description).
    intervals : dict, optional
        The run's interval cache: rules that differ only in guardband or severity share one interval.
    evidence : dict, optional
        Receives the check's :class:`Interval` under ``id(check)`` (the run's ``RunContext.evidence``), for
        steps that adjust p-values or widen intervals over several rules.

    Returns
    -------
    CheckResult
        ``observed`` is the statistic's point value (change, relative change in %, or the metric);
        ``details["comparison"]`` has candidate, baseline, change, relative change, conditions;
        ``details["interval"]`` the interval (estimate, low, high, confidence, method, resamples, seed);
        ``details["outcome"]`` what the interval shows (``proven``, ``disproven``, ``inconclusive`` or
        ``insufficient_data``), the rule's framing, the one-sided p-values of harm and safety, the
        severities and the power figures (:func:`power_figures`). The status follows the outcome
        (:func:`outcome_status`).
        Fail closed: a value that cannot be computed on either side, a zero baseline under a percent
        rule, or an interval that cannot be computed is ``not_computable`` (``error`` if it raised).
    """
    key = rule.relative[0] if rule.relative else None
    if key is not None and base is not None:
        cand, base = like_for_like(res, params, cand, base, paired)
    conds = conditions(rule)
    op, threshold = conds[0] if len(conds) == 1 else ("within", conds[1][1])
    common: RuleKey = dict(name=name, section=section, on_fail=rule.on_fail, metric=res.canonical,
                           source=cand.obs.source, op=op, threshold=threshold)
    details: dict[str, Any] = {**base_details, "candidate_details": cand.obs.details}
    if cand.obs.state != "ok" or cand.obs.value is None:
        return CheckResult(status=STATE_STATUS.get(cand.obs.state, Status.NOT_COMPUTABLE),
                           message=f"{cand.label}: {cand.obs.reason}", details=details, **common)
    c = float(cand.obs.value)
    limit_text = _limit_text(rule, base_details.get("unit"))
    comparison: dict[str, Any] = {"candidate": c, "rule": limit_text, "conditions": conds,
                                  "statistic": "value" if key is None else
                                  ("relative_change_pct" if key.endswith("_pct") else "change"),
                                  "definition": None if key is None else
                                  ("100 * (candidate - baseline) / |baseline|" if key.endswith("_pct")
                                   else "candidate - baseline")}
    details["comparison"] = comparison
    if key is not None:
        if base is None or base.obs.state != "ok" or base.obs.value is None:
            why = base.obs.reason if base is not None else "no baseline was given"
            state = base.obs.state if base is not None else "not_computable"
            details["baseline_details"] = base.obs.details if base is not None else {}
            return CheckResult(status=STATE_STATUS.get(state, Status.NOT_COMPUTABLE),
                               message=f"{rule.name}: {base.label if base else 'baseline'}: {why}", details=details,
                               **common)
        b = float(base.obs.value)
        details["baseline_details"] = base.obs.details
        comparison.update({"baseline": b, "baseline_source": base.obs.source, "baseline_label": base.label,
                           "change": c - b, "relative_change_pct": 100 * (c - b) / abs(b) if b else None})
        if key.endswith("_pct") and b == 0:
            return CheckResult(status=Status.NOT_COMPUTABLE, details=details,
                               message=f"{rule.name}: the baseline is 0, so a change in percent of it is not "
                                       "defined; use the absolute form", **common)
        stat = float(_statistic(key, c, b))
        if not math.isfinite(stat):
            return CheckResult(status=Status.NOT_COMPUTABLE, details=details,
                               message=f"{rule.name}: the change is not finite ({stat}) for candidate {fmt(c)} "
                                       f"vs baseline {fmt(b)}", **common)
    else:
        stat = c
    unit = " %" if key and key.endswith("_pct") else (f" {base_details.get('unit')}"
                                                       if base_details.get("unit") in ("%", "ms") else "")
    if key is None:
        head = f"{rule.name} = {fmt(c)}"
    else:
        what = "relative change" if key.endswith("_pct") else "change"
        head = (f"{rule.name} {what} {stat:+.4g}{unit} ({cand.label} {fmt(c)} vs {comparison['baseline_label']} "
                f"{fmt(comparison['baseline'])})")
    if rule.confidence is None:
        passed = all(compare(stat, op, t) for op, t in conds)
        margin = min(m for op, t in conds if (m := signed_margin(stat, op, t)) is not None)
        details["decided_on"] = "point"
        msg = f"{head} {'meets' if passed else 'does not meet'} {limit_text}"
        return CheckResult(status=Status.PASS if passed else Status.FAIL, observed=stat, margin=margin,
                           message=msg, details=details, **common)
    ikey = (id(cand.rows), id(base.rows) if base is not None else None, res.canonical,
            tuple(sorted((k, repr(v)) for k, v in params.items())), key, rule.confidence, rule.interval,
            rule.resamples, rule.seed, paired, None if base is None or base.rows is not None else base.obs.value)
    try:
        if intervals is not None and ikey in intervals:
            iv = intervals[ikey]
            if isinstance(iv, Exception):
                raise iv
        else:
            try:
                iv = interval_for(rule, res, params, cand, base, paired, stat)
            except NotComputable as exc:
                if intervals is not None:
                    intervals[ikey] = exc
                raise
            if intervals is not None:
                intervals[ikey] = iv
    except NotComputable as exc:
        details["interval_error"] = exc.details
        return CheckResult(status=Status.NOT_COMPUTABLE, observed=stat, details=details,
                           message=f"{head}; no {percent(rule.confidence)} interval: {exc.reason}", **common)
    except Exception as exc:  # noqa: BLE001 - one rule's failure must not stop the others
        return CheckResult(status=Status.ERROR, observed=stat, details=details,
                           message=f"{head}; the interval failed: {type(exc).__name__}: {exc}", **common)
    hypothesis = rule.hypothesis
    decide_as = "proven_harm" if hypothesis == "proven_harm" else "proven_safe"
    _, margin = decide_interval(iv.low, iv.high, conds, decide_as)
    details["interval"] = {"estimate": iv.estimate, "low": iv.low, "high": iv.high, "confidence": iv.confidence,
                           "method": iv.method, **iv.details}
    details["guardband"] = decide_as
    details["decided_on"] = "interval"
    unpaired = base is not None and base.rows is not None and not paired
    assert cand.rows is not None  # interval_for read them
    arms = {"candidate": row_count(cand.rows),
            "baseline": row_count(base.rows) if unpaired and base is not None and base.rows is not None else 0}
    result, power = classify(rule, iv, conds, arms["candidate"] + arms["baseline"],
                             "log rows" if unpaired else "evaluation rows")
    if unpaired:
        power["arms"] = arms
    # a zero-width interval is no evidence either way: no p-value (a family counts it in m as p = 1)
    p_harm, p_safe = (None, None) if power.get("zero_width") else _p_values(iv, conds)
    severity = rule.severities()
    status, on_fail = outcome_status(result, severity, rule.on_fail)
    details["outcome"] = {"result": result, "mode": hypothesis, "confidence": rule.confidence,
                          "alpha": (1 - rule.confidence) / 2, "p_harm": p_harm, "p_safe": p_safe,
                          "severity": severity, "on_fail": rule.on_fail.value, "power": power}
    method = {"delong": "DeLong", "bootstrap_percentile": "bootstrap"}[iv.method]
    if iv.method == "bootstrap_percentile":
        method += f", {iv.details['resamples']} resamples, seed {iv.details['seed']}"
    point_passes = all(compare(stat, op, t) for op, t in conds)
    verdict = outcome_text(result, hypothesis, severity, power, unit, rule.confidence)
    if (status == Status.PASS) != point_passes:
        verdict += f"; the point value alone would {'pass' if point_passes else 'fail'}"
    bound = (lambda v: f"{v:+.4g}") if key else (lambda v: fmt_pair(v, conds[0][1])[0])
    msg = (f"{head}, {percent(iv.confidence)} CI [{bound(iv.low)}, {bound(iv.high)}]{unit} ({method}); limit "
           f"{limit_text}: {verdict}")
    common["on_fail"] = on_fail
    check = CheckResult(status=status, observed=stat, margin=margin, message=msg, details=details, **common)
    if evidence is not None:
        evidence[id(check)] = iv
    return check


MODE_TEXT = {
    "proven_harm": "fails only if the whole interval breaks the limit",
    "proven_safe": "passes only if the whole interval meets the limit",
    "non_inferiority": "passes when the interval proves the limit holds",
    "equivalence": "two one-sided tests: passes when the interval lies inside the band",
    "superiority": "passes when the interval proves the gain",
}


def outcome_text(result: str, hypothesis: str, severity: dict[str, str], power: dict[str, Any], unit: str,
                 confidence: float) -> str:
    """Return the verdict sentence of an interval-decided rule: its outcome, what it costs, and its power.

    Parameters
    ----------
    result : str
        One of :data:`OUTCOMES`.
    hypothesis : str
        The rule's framing (:attr:`gatekit.policy.specs.MetricRule.hypothesis`).
    severity : dict
        Severities of the inconclusive outcomes.
    power : dict
        :func:`power_figures`.
    unit : str
        Unit suffix of the statistic (``" %"``, ``" ms"`` or ``""``).
    confidence : float
        The rule's confidence.

    Returns
    -------
    str
    """
    frame = f"({hypothesis}: {MODE_TEXT[hypothesis]})"
    if result == "proven":
        return f"passes, proven {frame}"
    if result == "disproven" and power.get("zero_width"):
        return (f"fails, every resample gave the same value and it breaks the limit (a zero-width interval cannot "
                f"measure the rows' uncertainty; a value beyond the limit on every resample is not let through) "
                f"{frame}")
    if result == "disproven":
        return f"fails, the whole interval breaks the limit {frame}"
    rows = f"{power['rows']:,} {power['what_rows']}"
    if power.get("arms"):
        rows += f" ({power['arms']['candidate']:,} candidate, {power['arms']['baseline']:,} production)"
    sev = severity[result] if result in severity else "block"
    cost = "; the policy counts it as a pass" if sev == "pass" else f"; the policy makes it a {sev}"
    if power.get("zero_width"):
        return (f"insufficient data, the interval has zero width: every resample of the {rows} gave the same value, "
                f"so the bootstrap cannot measure their uncertainty {frame}{cost}")
    if result == "insufficient_data":
        text = f"insufficient data, the interval straddles the limit and {rows} cannot show the margin {frame}"
    else:
        text = f"inconclusive, the interval straddles the limit {frame}"
    if power.get("mde") is not None:
        they = "they" if result == "insufficient_data" else rows
        level = f"at {percent(confidence)} with {percent(power['target'])} power"
        if power.get("two_sided"):  # within: the band two one-sided tests prove at a true change of 0
            text += (f"; the narrowest band {they} can prove {level} (at a true change of 0) is "
                     f"±{power['mde']:.4g}{unit}")
        else:
            text += f"; the smallest effect {they} can show {level} is {power['mde']:.4g}{unit}"
        if power.get("rows_needed") is not None:
            at = " at this split" if power.get("arms") else ""
            if power["effect_is_margin"]:
                text += (f"; showing the margin ({power['effect']:.4g}{unit}) needs about "
                         f"{math.ceil(power['rows_needed']):,} {power['what_rows']}{at}")
            else:
                text += (f"; if the observed value were the true one, about {math.ceil(power['rows_needed']):,} "
                         f"{power['what_rows']}{at} would resolve its distance from the limit "
                         f"({power['effect']:.4g}{unit})")
    return text + cost
