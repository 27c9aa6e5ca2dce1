"""Plain-words sentences for people who do not read the policy: what blocked or warned, and by how much.

One sentence per check, built from the check's structured fields (``observed``, ``op``, ``threshold``, the
metric's name, ``details["comparison"]`` with the baseline, ``details["interval"]``, a drift rule's feature
and method, a gate's conditions, a robustness probe's targets), never by rewording the raw ``message``. The
raw message is used only where the check carries no such structure (a data-quality or compatibility
sentence the adapter wrote for a person already, an error, a custom check).

The HTML banner, the Markdown summary and the terminal summary all read :func:`reason_sentence`; the HTML
list of what needs attention reads :func:`check_sentence`.
"""

from __future__ import annotations

import math
import re
from typing import Any

from gatekit.core.decision import effect
from gatekit.core.formatting import display_name, percent
from gatekit.core.results import CheckResult, Decision, GateReport, Status

METRIC_NAMES = {
    "roc_auc": "ROC AUC",
    "pr_auc": "average precision",
    "accuracy": "accuracy",
    "log_loss": "log loss",
    "brier_score": "Brier score",
    "rmse": "RMSE",
    "mae": "MAE",
    "r2": "R²",
    "mape": "MAPE",
    "smape": "sMAPE",
    "demographic_parity_difference": "demographic parity difference",
    "equal_opportunity_difference": "equal opportunity difference",
    "equalized_odds_difference": "equalized odds difference",
    "latency_mean_ms": "mean latency",
    "latency_p50_ms": "median latency",
    "latency_p95_ms": "95th-percentile latency",
    "latency_p99_ms": "99th-percentile latency",
    "batch_time_s": "batch scoring time",
    "throughput_rows_per_s": "throughput",
    "peak_memory_mb": "extra memory while scoring",
    "prediction_agreement_rate": "agreement with production's decisions",
    "mean_score_difference": "mean score difference from production",
    "abs_score_difference_p95": "95th-percentile score change from production",
    "score_distribution_ks": "score distribution shift from production (KS)",
    "psi_feature_drift": "largest input drift (PSI)",
    "drift_share": "share of drifted inputs",
}
"""Short names of the built-in metrics as a sentence uses them (the report's labels are longer descriptions)."""

METRIC_SECTIONS = ("performance", "fairness", "operational", "rollout")
"""Sections whose rules compare a metric with a limit: a check there without a metric name is still one."""

UNITS = {"ms": " ms", "%": " %", "s": " s", "MB": " MB", "rows/s": " rows/s"}
"""Units written after a figure; others (``fraction``, ``score unit``, ``target unit``) are left out."""

DRIFT_METHODS = {"psi": "PSI", "jensenshannon": "Jensen-Shannon distance", "wasserstein": "Wasserstein distance",
                 "ks": "KS test p-value", "chisquare": "chi-square test p-value"}
OUT_OF_RANGE_CASES = {"extreme": "extreme input values", "missing": "a missing value in one input",
                      "unseen_category": "a category never seen in training", "wrong_type": "a value of the wrong type"}
_THRESHOLD_METRIC = re.compile(r"^(precision|recall|f1)_at_(\d+)_(\d+)$")


def figure(x: float | None, digits: int = 3, signed: bool = False) -> str:
    """Write a figure for a sentence: ``digits`` significant digits, thousands separated, no exponent.

    Parameters
    ----------
    x : float or None
        The value (None reads ``n/a``; ``inf`` and ``nan`` as Python writes them).
    digits : int
        Significant digits kept (3 by default); whole numbers and numbers of 1,000 or more are written
        without decimals (``12,345``).
    signed : bool
        Write a ``+`` before a positive value (a change).

    Returns
    -------
    str
        ``0.0543``, ``0.8``, ``0.800`` (0.7997), ``12.3``, ``6,515``, ``-0.130``, ``+0.103``; below 0.0001 in
        scientific notation. Trailing zeros are dropped only where the value is exact (``0.8``).
    """
    if x is None:
        return "n/a"
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    sign = "+" if signed and x > 0 else ""
    a = abs(x)
    if a >= 1000 or (x == int(x) and a < 1e15):
        return f"{sign}{x:,.0f}"
    if a < 1e-4:
        return f"{sign}{x:.{digits}g}"
    decimals = max(0, digits - 1 - math.floor(math.log10(a)))
    text = f"{x:.{decimals}f}"
    if "." in text and float(text) == x:  # 0.8 reads "0.8"; 0.7997 reads "0.800", the zeros are digits kept
        text = text.rstrip("0").rstrip(".")
    return sign + text


def _pair(a: float, b: float, signed: bool = False) -> tuple[str, str]:
    """Write two figures with as many digits as it takes to tell them apart (0.79996 is not "0.8")."""
    for digits in range(3, 16):
        x, y = figure(a, digits, signed), figure(b, digits, signed)
        if a == b or not (math.isfinite(a) and math.isfinite(b)) or \
                float(x.replace(",", "")) != float(y.replace(",", "")):
            return x, y
    return repr(a), repr(b)


def metric_name(check: CheckResult) -> str:
    """Return the short name a sentence uses for the check's metric (``ROC AUC``), else the check's own name.

    ``precision_at_0_5`` reads ``precision at threshold 0.5``; an unknown metric its name with spaces.
    """
    m = check.metric
    if m in METRIC_NAMES:
        return METRIC_NAMES[m]
    if m:
        t = _THRESHOLD_METRIC.match(m)
        if t:
            return f"{t.group(1).replace('f1', 'F1')} at threshold {t.group(2)}.{t.group(3)}"
        return m.replace("_", " ")
    return display_name(check.name, check.details.get("params"))


def _unit(check: CheckResult) -> str:
    return UNITS.get(str(check.details.get("unit") or ""), "")


def against(observed: float, op: str, threshold: float, unit: str = "") -> str:
    """Say where a failing value stands against its limit: ``below the minimum of 0.8``.

    Parameters
    ----------
    observed, threshold : float
        The value and the rule's limit (only used to tell them apart in writing).
    op : {">=", ">", "<=", "<", "==", "!="}
        The rule's comparison.
    unit : str
        Written after the limit (`` ms``).
    """
    _, lim = _pair(observed, threshold)
    return {">=": f"below the minimum of {lim}{unit}", ">": f"not above {lim}{unit} as required",
            "<=": f"above the limit of {lim}{unit}", "<": f"not below {lim}{unit} as required",
            "==": f"not {lim}{unit} as required", "!=": f"equal to {lim}{unit}, which the rule forbids"}.get(
        op, f"against the rule {op} {lim}{unit}")


def _baseline(label: str) -> str:
    return "production" if label == "production" else f"the {label}"


def _interval_clause(check: CheckResult, limit: str, of_change: bool) -> str:
    """Why an interval-decided rule failed: the interval crosses the limit, or lies wholly past it."""
    iv = check.details.get("interval") or {}
    if check.details.get("decided_on") != "interval" or "low" not in iv or "high" not in iv:
        return ""
    conf = f"{percent(float(iv.get('confidence', 0.95)))}".replace("%", " %")
    what = "of the change " if of_change else ""
    lo, hi = figure(iv["low"], signed=of_change), figure(iv["high"], signed=of_change)
    outcome = check.details.get("outcome") or {}
    if outcome.get("result") == "disproven" or (not outcome and check.details.get("guardband") == "proven_harm"):
        return f"; the whole {conf} confidence interval {what}({lo} to {hi}) lies past the limit ({limit})"
    return (f"; its {conf} confidence interval {what}({lo} to {hi}) reaches past the limit ({limit}), and this "
            "rule needs the whole interval inside it")


def _comparison_sentence(check: CheckResult, cmp: dict[str, Any]) -> str | None:
    """Say how a rule against a baseline failed: which way the metric moved, from what to what, and the limit."""
    base, cand, obs = cmp.get("baseline"), cmp.get("candidate"), check.observed
    if obs is None or not isinstance(base, (int, float)) or not isinstance(cand, (int, float)):
        return None
    relative = cmp.get("statistic") == "relative_change_pct"
    unit = _unit(check)
    step = " %" if relative else unit
    if obs == 0:
        moved = "did not change"
    else:
        moved = f"{'rose' if obs > 0 else 'fell'} by {figure(abs(obs))}{step}"
    b, c = _pair(float(base), float(cand))
    rule = str(cmp.get("rule") or "")
    text = f"{metric_name(check)} {moved} against {_baseline(str(cmp.get('baseline_label') or 'production'))}, " \
           f"from {b}{unit} to {c}{unit}"
    clause = _interval_clause(check, rule, of_change=True)
    return text + (clause if clause else f" (limit: {rule})" if rule else "")


def _drift_sentence(check: CheckResult) -> str | None:
    d = check.details
    if check.observed is None or check.op is None or check.threshold is None or "feature" not in d:
        return None
    method = DRIFT_METHODS.get(str(d["method"]), str(d.get("label") or d["method"]))
    shown, _ = _pair(check.observed, check.threshold)
    return (f"the distribution of {d['feature']} shifted: {method} {shown}, "
            f"{against(check.observed, check.op, check.threshold)}")


def _probe_sentence(check: CheckResult) -> str | None:
    probes = check.details.get("probes")
    case = check.name.partition(".")[2]
    if not isinstance(probes, list) or not probes or not check.name.startswith("out_of_range."):
        return None
    failed = [p for p in probes if not p.get("ok")]
    if not failed:
        return None
    outcomes: dict[str, list[str]] = {}
    for p in failed:
        outcomes.setdefault(str(p.get("outcome")), []).append(str(p.get("target")))
    parts = []
    for outcome, targets in outcomes.items():
        shown = ", ".join(targets[:6]) + (f" and {len(targets) - 6} more" if len(targets) > 6 else "")
        parts.append(f"{outcome} for {shown}")
    return (f"the model failed {len(failed)} of {len(probes)} probes with "
            f"{OUT_OF_RANGE_CASES.get(case, case.replace('_', ' '))}: {'; '.join(parts)}")


def _gate_sentence(check: CheckResult) -> str | None:
    conds = check.details.get("conditions")
    if not isinstance(conds, list) or not conds:
        return None
    bad = [c for c in conds if c.get("result") is not True]
    if not bad:
        return None
    said = "; ".join(f"{c.get('condition')} is {'unknown' if c.get('result') is None else 'false'} "
                     f"({c.get('shown')})" for c in bad)
    return f"the gate {check.name} does not hold: {said}"


def _signature_sentence(check: CheckResult) -> str | None:
    """Say which inputs break a feature signature, grouped by how they changed (``removed``, ...)."""
    rows = check.details.get("features")
    if check.name != "feature_signature" or not isinstance(rows, list):
        return None
    changes: dict[str, list[str]] = {}
    for r in rows:
        if r.get("breaking"):
            changes.setdefault(str(r.get("change")), []).append(str(r.get("name")))
    n = sum(len(v) for v in changes.values())
    if not n:
        return None
    said = "; ".join(f"{', '.join(names)} ({change})" for change, names in changes.items())
    return f"{n} breaking change{'s' if n != 1 else ''} to the model's inputs: {said}"


def _noise_sentence(check: CheckResult) -> str | None:
    d = check.details
    if check.name != "noise.metric_drop" or check.observed is None or check.threshold is None or "metric" not in d:
        return None
    shown, lim = _pair(check.observed, check.threshold)
    return (f"with small random noise added to the inputs, {METRIC_NAMES.get(str(d['metric']), d['metric'])} "
            f"got worse by {shown} (limit {lim})")


def _inconclusive_sentence(check: CheckResult) -> str | None:
    """Say in plain words why a confidence rule decided nothing, and how many rows would settle it.

    Built from ``details["outcome"]`` (:mod:`gatekit.sections.comparison`; a slice rule's names its slice): "ROC AUC
    could not be decided: there are too few rows to tell which side of the limit (change at least -0.02) it is on;
    about 46,117 log rows would settle it", or, with rows enough, that the interval reaches both sides of the limit.
    None when the check has no such outcome.
    """
    d = check.details
    out = d.get("outcome") or {}
    result = out.get("result")
    if result not in ("inconclusive", "insufficient_data"):
        return None
    power = out.get("power") or {}
    unit = _unit(check)
    cmp = d.get("comparison") or {}
    if cmp.get("rule"):
        limit = str(cmp["rule"])
    elif d.get("form") == "max_drop" and check.threshold is not None:
        limit = f"at most {figure(check.threshold)}{unit} worse than the whole rows"
    elif check.op and check.threshold is not None:
        limit = f"{check.op} {figure(check.threshold)}{unit}"
    else:
        return None
    where = ""
    if out.get("slice") is not None:
        rows = power.get("rows")
        where = f" on the slice {out['slice']}" + (f" ({rows:,} rows)" if isinstance(rows, int) else "")
    head = f"{metric_name(check)}{where} could not be decided"
    if power.get("zero_width"):
        return (f"{head}: every resample of its rows gave the same value, so their uncertainty cannot be measured "
                f"(limit: {limit})")
    if result == "insufficient_data":
        text = f"{head}: there are too few rows to tell which side of the limit ({limit}) it is on"
        need = power.get("rows_needed")
        if isinstance(need, (int, float)) and math.isfinite(need):
            text += f"; about {math.ceil(need):,} {power.get('what_rows') or 'rows'} would settle it"
        return text
    iv = d.get("interval") or {}
    if "low" in iv and "high" in iv:
        conf = percent(float(iv.get("confidence", 0.95))).replace("%", " %")
        signed = bool(cmp.get("definition"))
        of = " of the drop from the whole rows" if d.get("form") == "max_drop" else ""
        shown = f"its {conf} confidence interval{of} ({figure(iv['low'], signed=signed)} to " \
                f"{figure(iv['high'], signed=signed)})"
        if power.get("disproven_alone"):  # past the limit, but within chance over the slices tested
            adj = d.get("multiplicity") or {}
            return (f"{head}: {shown} lies past the limit ({limit}), but with {adj.get('slices', 'several')} slices "
                    f"tested that is within chance ({str(power.get('multiplicity', 'holm')).capitalize()}: adjusted "
                    f"p {figure(power.get('p_harm_adjusted'))})")
        return f"{head}: {shown} reaches both sides of the limit ({limit})"
    return f"{head}: the data do not show which side of the limit ({limit}) it is on"


def check_sentence(check: CheckResult) -> str:
    """Say in plain words what one check found: why it failed, or why it could not be checked.

    Parameters
    ----------
    check : CheckResult
        Any check; the sentence is built from its structured fields where they exist:

        - a rule against a baseline (``details["comparison"]`` with ``baseline`` and ``candidate``): "demographic
          parity difference rose by 0.0543 against production, from 0.0178 to 0.0721 (limit: change within
          ±0.05)", with the confidence interval when the decision read it;
        - a drift rule (``details["feature"]``, ``details["method"]``): "the distribution of Temperature
          shifted: PSI 0.585, above the limit of 0.2";
        - a metric threshold: "R² is 0.786, below the minimum of 0.8";
        - an out-of-range probe, the noise probe, a composite gate, a feature signature: from their probes,
          conditions and features;
        - otherwise the adapter's message (data quality, compatibility, artifact, security, custom checks),
          after the column it is about when the message does not name it.

    Returns
    -------
    str
        One sentence without a final full stop, starting in lower case unless it starts with a name.
    """
    d = check.details
    if check.status == Status.PASS:
        return f"{metric_name(check)} passed"
    if check.status == Status.INCONCLUSIVE:
        return _inconclusive_sentence(check) or f"{metric_name(check)} is inconclusive: {check.message}"
    if check.status in (Status.ERROR, Status.NOT_COMPUTABLE, Status.SKIPPED):
        how = {Status.ERROR: "could not be checked (an error)", Status.NOT_COMPUTABLE: "could not be computed",
               Status.SKIPPED: "was skipped"}[check.status]
        return f"{metric_name(check)} {how}: {check.message}" if check.message else f"{metric_name(check)} {how}"
    cmp = d.get("comparison") or {}
    if check.section == "slices" and d.get("sentence"):
        return str(d["sentence"])  # names the slice that failed (gatekit.sections.slices)
    for build in (lambda: _comparison_sentence(check, cmp) if cmp.get("definition") else None,
                  lambda: _drift_sentence(check) if check.section == "drift" and "method" in d else None,
                  lambda: _probe_sentence(check), lambda: _noise_sentence(check), lambda: _gate_sentence(check),
                  lambda: _signature_sentence(check)):
        text = build()
        if text:
            return text
    if (check.metric or check.section in METRIC_SECTIONS) and check.observed is not None \
            and check.threshold is not None and check.op not in (None, "within"):
        unit = _unit(check)
        shown, _ = _pair(check.observed, check.threshold)
        text = f"{metric_name(check)} is {shown}{unit}, {against(check.observed, str(check.op), check.threshold, unit)}"
        return text + _interval_clause(check, f"{check.op} {figure(check.threshold)}{unit}", of_change=False)
    column = d.get("column")
    if check.message:
        if column is not None and f"'{column}'" not in check.message:
            return f"column {column}: {check.message}"
        return check.message
    return f"{display_name(check.name, d.get('params'))} failed"


def sentence_case(text: str) -> str:
    """Start a sentence with a capital when its first word is a plain lower-case word (``sMAPE`` stays)."""
    first = text.split(" ", 1)[0]
    return text[:1].upper() + text[1:] if first.isalpha() and first.islower() else text


def _more(n: int, verb: str) -> str:
    return f"; {n} more check{'s' if n != 1 else ''} {verb}{'s' if n == 1 else ''}" if n else ""


def reason_sentence(report: GateReport) -> str:
    """Say in plain words why the gate decided what it did: the first blocking (else warning) check.

    Blocking checks come first (real failures before checks that could not be evaluated), as in
    :func:`gatekit.core.decision.decide`; then "N more checks block / warn". Falls back to the report's own
    ``reason`` when it has no checks, or when the checks do not give the report's decision (a report built
    by hand with a decision of its own).

    Parameters
    ----------
    report : GateReport
        The run's report.

    Returns
    -------
    str
        "Blocked: demographic parity difference rose by 0.0543 against production, from 0.0178 to 0.0721
        (limit: change within ±0.05)."; "Passed with warnings: ..."; "Passed: all 94 checks passed.".
    """
    strict = bool((report.metadata.get("policy") or {}).get("strict", True))
    checks = report.checks
    if not checks:
        return report.reason
    effects = [effect(c, strict) for c in checks]
    blocking = sorted((c for c, e in zip(checks, effects, strict=True) if e == Decision.BLOCK),
                      key=lambda c: c.status != Status.FAIL)
    warning = sorted((c for c, e in zip(checks, effects, strict=True) if e == Decision.WARN),
                     key=lambda c: c.status != Status.FAIL)
    if blocking and report.decision == Decision.BLOCK:
        return f"Blocked: {check_sentence(blocking[0])}{_more(len(blocking) - 1, 'block')}."
    if warning and not blocking and report.decision == Decision.WARN:
        return f"Passed with warnings: {check_sentence(warning[0])}{_more(len(warning) - 1, 'warn')}."
    if not blocking and not warning and report.decision == Decision.PASS:
        return "Passed: the only check passed." if len(checks) == 1 else f"Passed: all {len(checks)} checks passed."
    return report.reason


__all__ = ["METRIC_NAMES", "against", "check_sentence", "figure", "metric_name", "reason_sentence", "sentence_case"]
