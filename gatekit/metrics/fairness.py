"""Group fairness metrics on fairlearn's ``MetricFrame``, with undefined cases made explicit.

fairlearn returns a difference of 0.0 for a single group and a true positive rate of 0.0 for a group
with no positive labels, silently. gatekit checks those cases first and reports them as not computable.

Predicted labels come from ``score >= threshold`` (the rule's ``threshold`` parameter, else the
policy's ``decision_threshold``, default 0.5). With several sensitive columns, groups are their
intersections (fairlearn's behaviour for a DataFrame of sensitive features).

Compact rows (``EvalData.weights``: one row per distinct combination with its count) enter the per-group
confusion cells with their counts, so rates and every count in ``details`` equal those on the rows the
counts stand for.

Every group is listed in ``details["by_group"]``, and with several sensitive columns every combination of
their values (the Cartesian product of the values seen), an empty one with ``count`` 0 and no rates. A
group with fewer rows than the rule's ``min_group_size`` (default :data:`DEFAULT_MIN_GROUP_SIZE`) is
reported and not counted: the between-group figures are taken over the other groups, or the rule is not
computable when ``small_groups: block``. Each group's rates carry a Wilson score interval
(:data:`RATE_CONFIDENCE`).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from gatekit.core.errors import NotComputable
from gatekit.metrics.classification import binary_target, predicted_labels, threshold_param
from gatekit.metrics.registry import EvalData, MetricSpec, MetricValue, row_count, row_weights

MISSING_GROUP = "(missing)"
MAX_GROUPS = 1000  # fairlearn's MetricFrame costs ~6 ms per group; 1,000 groups is ~6 s
DEFAULT_MIN_GROUP_SIZE = 30
"""Rows a group needs to be counted (rule parameter ``min_group_size``). At n = 30 the 95 % Wilson interval
of a rate near 0.5 is already about +-0.17 wide, so a gap measured on a smaller group is mostly noise; 30 is
also the usual large-sample rule of thumb for a proportion's normal approximation."""
SMALL_GROUPS = ("exclude", "block")
"""``small_groups``: a group under ``min_group_size`` is reported and not counted (``exclude``, default), or makes
the rule not computable, which fails closed (``block``)."""
RATE_CONFIDENCE = 0.95
"""Confidence of the per-group Wilson score intervals."""


def _missing_label(sf: Any) -> str:
    """``(missing)``, or a variant of it that no real value of ``sf`` uses (so groups never merge)."""
    label = MISSING_GROUP
    values = {str(v) for c in sf.columns for v in sf[c].dropna().unique()}
    while label in values:
        label = f"({label})"
    return label


def sensitive_groups(data: EvalData, columns: list[str] | None) -> tuple[Any, int]:
    """Return the sensitive columns a rule groups by, as text, and how many rows had a missing value.

    Rows are counted with their counts (``EvalData.weights``) when the rows are compact.
    """
    if data.sensitive is None or len(data.sensitive.columns) == 0:
        raise NotComputable("no sensitive feature column: give --sensitive (or inputs.sensitive)")
    sf = data.sensitive
    if not columns and data.sensitive_default is not None:
        if not data.sensitive_default:
            raise NotComputable("no sensitive feature column for this rule: give --sensitive (or "
                                "inputs.sensitive), or params: {sensitive: <column>}")
        columns = data.sensitive_default
    if columns:
        unknown = [c for c in columns if c not in sf.columns]
        if unknown:
            raise NotComputable(f"sensitive column(s) {unknown} not among the inputs' {list(sf.columns)}")
        sf = sf[columns]
    missing = sf.isna().any(axis=1)
    if missing.any():
        n = row_count(data, missing.to_numpy())
        cols = [c for c in sf.columns if sf[c].isna().any()]
        if data.strict:
            raise ValueError(
                f"{n} rows have a missing sensitive value in {cols}; strict mode refuses to drop or guess "
                "them: fill them (e.g. with 'unknown') or set strict: false to report them as their own group"
            )
        return sf.astype(object).fillna(_missing_label(sf)).astype(str), n
    return sf.astype(str), 0


def _frame(data: EvalData, threshold: float | None, columns: list[str] | None) -> dict[str, Any]:
    """Per-group counts and rates, computed once per (threshold, columns) and shared by the three metrics.

    The rows are first reduced to their distinct (group, y_true, y_pred) cells with a count each (the sum
    of the rows' counts when the rows are compact, ``EvalData.weights``);
    fairlearn's ``MetricFrame`` then computes ``selection_rate``, ``true_positive_rate`` and
    ``false_positive_rate`` on those cells weighted by the counts. The rates are ratios of weighted
    counts, so this is exactly fairlearn's value on the full rows, at a cost independent of n
    (fairlearn on 1M rows takes ~16 s per MetricFrame here; the reduction takes well under 1 s).
    """
    key = ("fairness_frame", threshold if threshold is not None else data.decision_threshold,
           tuple(columns or ()))
    if key not in data.cache:
        try:
            data.cache[key] = _build_frame(data, threshold, columns)
        except NotComputable as exc:
            data.cache[key] = exc
    hit = data.cache[key]
    if isinstance(hit, NotComputable):
        raise NotComputable(hit.reason, dict(hit.details))
    return dict(hit)


def _build_frame(data: EvalData, threshold: float | None, columns: list[str] | None) -> dict[str, Any]:
    import pandas as pd
    from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate

    y = binary_target(data)
    yp, rule = predicted_labels(data, threshold)
    sf, n_missing = sensitive_groups(data, columns)
    cols = [str(c) for c in sf.columns]
    scols = [f"s{i}" for i in range(len(cols))]  # positional names: a sensitive column may be called "y"
    w = row_weights(data)
    rows = pd.DataFrame({**{s: sf.iloc[:, i].to_numpy() for i, s in enumerate(scols)},
                         "y": y.astype(int), "yp": yp.astype(int)})
    if w is None:
        cells = rows.groupby([*scols, "y", "yp"], sort=True, observed=True).size().rename("n").reset_index()
    else:  # compact rows: a cell holds the sum of its rows' counts; a cell of count 0 has no rows
        cells = (rows.assign(n=w).groupby([*scols, "y", "yp"], sort=True, observed=True)["n"].sum()
                 .reset_index())
        cells = cells[cells["n"] > 0].reset_index(drop=True)
        if cells.empty:
            raise NotComputable("the evaluation data has no rows")
    values = [sorted(cells[c].unique()) for c in scols]
    n_groups = int(np.prod([len(v) for v in values]))  # every combination is listed, an empty one too
    if n_groups > MAX_GROUPS:
        what = "sensitive feature" if len(cols) == 1 else "combinations of the sensitive features"
        raise NotComputable(
            f"the {what} {cols} give {n_groups:,} groups (limit {MAX_GROUPS:,}); between-group "
            "differences over so many small groups measure noise, and an identifier column is a likely "
            "mistake: bin the attribute into meaningful groups (inputs.sensitive_bins)",
            {"n_groups": n_groups, "sensitive_columns": cols})
    sens = cells[scols].set_axis(cols, axis=1)
    rates = {"selection_rate": selection_rate, "true_positive_rate": true_positive_rate,
             "false_positive_rate": false_positive_rate}
    weight = cells["n"].to_numpy(dtype=np.int64)
    mf = MetricFrame(
        metrics=rates,
        y_true=cells["y"].to_numpy(),
        y_pred=cells["yp"].to_numpy(),
        sensitive_features=sens if len(cols) > 1 else sens.iloc[:, 0],
        sample_params={m: {"sample_weight": weight} for m in rates},
    )
    counts = (cells.assign(pos=cells["n"] * cells["y"], sel=cells["n"] * cells["yp"],
                           tp=cells["n"] * cells["y"] * cells["yp"], fp=cells["n"] * (1 - cells["y"]) * cells["yp"])
              .groupby(scols)[["n", "pos", "sel", "tp", "fp"]].sum())
    index = {(k if isinstance(k, tuple) else (k,)): v for k, v in
             zip(counts.index, counts.itertuples(index=False, name=None), strict=True)}
    by_rate = {(tuple(map(str, k)) if isinstance(k, tuple) else (str(k),)): row
               for k, row in mf.by_group.iterrows()}
    keys = list(itertools.product(*values))
    names = _group_names(keys, cols)
    by_group: dict[str, dict[str, Any]] = {}
    for key in keys:
        g = names[key]
        if key not in index:  # a combination of several sensitive columns that has no rows: listed, never dropped
            by_group[g] = {"count": 0, "n_positive": 0, "n_negative": 0, "selection_rate": None,
                           "true_positive_rate": None, "false_positive_rate": None,
                           "selection_rate_interval": None, "true_positive_rate_interval": None,
                           "false_positive_rate_interval": None,
                           "note": "no rows have this combination: its rates are not computable"}
            continue
        row = by_rate[key]
        n_all, n_pos, n_sel, n_tp, n_fp = (int(x) for x in index[key])
        n_neg = n_all - n_pos
        by_group[g] = {
            "count": n_all,
            "n_positive": n_pos,
            "n_negative": n_neg,
            "selection_rate": float(row["selection_rate"]),
            "true_positive_rate": float(row["true_positive_rate"]) if n_pos else None,
            "false_positive_rate": float(row["false_positive_rate"]) if n_neg else None,
            "selection_rate_interval": wilson_interval(n_sel, n_all),
            "true_positive_rate_interval": wilson_interval(n_tp, n_pos),
            "false_positive_rate_interval": wilson_interval(n_fp, n_neg),
        }
    return {**rule, "sensitive_columns": cols, "by_group": by_group, "n_missing_sensitive": n_missing,
            "rate_intervals": {"method": "Wilson score interval (Wilson 1927), scipy.stats.binomtest", "confidence":
                         RATE_CONFIDENCE, "of": "each group's selection, true positive and false positive rate"},
            "method": "fairlearn MetricFrame on (group, y_true, y_pred) cells weighted by their counts"}


def wilson_interval(k: int, n: int, confidence: float = RATE_CONFIDENCE) -> list[float] | None:
    """Return the Wilson score interval ``[low, high]`` of a proportion ``k / n``, or None when ``n`` is 0.

    Parameters
    ----------
    k, n : int
        Successes and trials (whole counts, ``0 <= k <= n``).
    confidence : float
        Two-sided confidence level in (0, 1).

    Returns
    -------
    list of two floats in [0, 1], or None

    Notes
    -----
    Wilson, E. B. (1927), "Probable inference, the law of succession, and statistical inference", JASA 22:
    ``(p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)``; computed by ``scipy.stats.binomtest``'s
    ``proportion_ci(method="wilson")``. Unlike the normal (Wald) interval it stays inside [0, 1] and is not
    zero-width at ``k = 0`` or ``k = n``.
    """
    if n <= 0:
        return None
    from scipy.stats import binomtest

    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return [float(max(0.0, ci.low)), float(min(1.0, ci.high))]


def counted_groups(details: dict[str, Any], min_group_size: int | None = None,
                   small_groups: str | None = None) -> dict[str, Any]:
    """Mark each group counted or not (``min_group_size``) and return the details with the counted groups.

    Parameters
    ----------
    details : dict
        From the per-group frame (``by_group`` holds every group, empty ones included).
    min_group_size : int, optional
        Rows a group needs to be counted; default :data:`DEFAULT_MIN_GROUP_SIZE`.
    small_groups : {"exclude", "block"}, optional
        ``exclude`` (default): a smaller group is reported with ``counted: false`` and left out of the
        between-group figures; ``block``: its presence makes the rule not computable (which fails closed).

    Returns
    -------
    dict
        A copy of ``details`` with ``counted`` and, for a group left out, ``note`` on each group, and
        ``min_group_size``, ``small_groups``, ``groups_not_counted``; the key ``_counted`` holds the counted
        groups (removed before the details are reported).

    Raises
    ------
    NotComputable
        ``small_groups: block`` and a group is too small, or fewer than two groups are counted.
    """
    size = DEFAULT_MIN_GROUP_SIZE if min_group_size is None else int(min_group_size)
    mode = small_groups or "exclude"
    d = {**details, "by_group": {g: dict(v) for g, v in details["by_group"].items()},
         "min_group_size": size, "small_groups": mode}
    small = []
    for g, v in d["by_group"].items():
        v["counted"] = v["count"] >= size
        if not v["counted"]:
            small.append(g)
            why = "no rows" if v["count"] == 0 else f"{v['count']} rows"
            v["note"] = f"{why} (< min_group_size {size}): reported, not counted"
    d["groups_not_counted"] = small
    counted = {g: v for g, v in d["by_group"].items() if v["counted"]}
    if small and mode == "block":
        listed = ", ".join(f"{g} (n={d['by_group'][g]['count']})" for g in small[:10])
        raise NotComputable(
            f"{len(small)} group(s) have fewer than {size} rows: {listed}{', ...' if len(small) > 10 else ''}; "
            "the policy says small groups block (small_groups: block): collect more rows, merge groups "
            "(inputs.sensitive_bins), or set small_groups: exclude to report them without counting them", d)
    if len(counted) < 2:
        if len(d["by_group"]) < 2:
            raise NotComputable(
                f"the sensitive feature has a single group ({', '.join(d['by_group'])}); a between-group "
                "difference needs at least two", d)
        raise NotComputable(
            f"only {len(counted)} of {len(d['by_group'])} groups have at least min_group_size {size} rows "
            f"(counted: {', '.join(counted) or 'none'}); a between-group figure needs two: collect more rows "
            "or lower min_group_size in the rule's params", d)
    d["_counted"] = counted
    return d


def _finish(d: dict[str, Any]) -> dict[str, Any]:
    d.pop("_counted", None)
    return d


def _group_names(keys: list[tuple[str, ...]], cols: list[str]) -> dict[tuple[str, ...], str]:
    """Readable, unique group names: ``yes`` for one column, ``afam=yes, single=no`` for several.

    Values are quoted (``a='p, q'``) when the plain form would make two groups look the same.
    """
    if len(cols) == 1:
        return {k: k[0] for k in keys}
    plain = {k: ", ".join(f"{c}={v}" for c, v in zip(cols, k, strict=True)) for k in keys}
    if len(set(plain.values())) == len(keys):
        return plain
    return {k: ", ".join(f"{c}={v!r}" for c, v in zip(cols, k, strict=True)) for k in keys}


def _require(details: dict[str, Any], field: str, what: str) -> None:
    bad = [g for g, v in details["_counted"].items() if v[field] == 0]
    if bad:
        raise NotComputable(f"group(s) {', '.join(bad)} have no {what}; the rate is undefined there",
                            _finish(details))


def _between(values: list[float]) -> float:
    return float(max(values) - min(values))


def _trivial_note(details: dict[str, Any]) -> dict[str, Any]:
    rates = {v["selection_rate"] for v in details["_counted"].values()}
    if rates <= {0.0} or rates <= {1.0}:
        who = "no one" if rates <= {0.0} else "everyone"
        details["note"] = (f"the model predicts positive for {who} in every group, so the differences are 0 "
                           "trivially; check precision/recall too")
    return _finish(details)


def _groups_of(data: EvalData, threshold: float | None, sensitive: list[str] | None,
               min_group_size: int | None, small_groups: str | None) -> dict[str, Any]:
    return counted_groups(_frame(data, threshold, sensitive), min_group_size, small_groups)


def demographic_parity_difference(data: EvalData, threshold: float | None = None,
                                  sensitive: list[str] | None = None, min_group_size: int | None = None,
                                  small_groups: str | None = None) -> MetricValue:
    """Largest difference in selection rate ``P(y_pred = 1 | group)`` between the counted groups.

    Source: fairlearn ``demographic_parity_difference`` (method ``between_groups``); Agarwal et al.
    (2018), "A Reductions Approach to Fair Classification". Fraction in [0, 1]. Groups under
    ``min_group_size`` rows are reported and not counted (:func:`counted_groups`).
    """
    d = _groups_of(data, threshold, sensitive, min_group_size, small_groups)
    return MetricValue(_between([v["selection_rate"] for v in d["_counted"].values()]), _trivial_note(d))


def disparate_impact_ratio(data: EvalData, threshold: float | None = None,
                           sensitive: list[str] | None = None, min_group_size: int | None = None,
                           small_groups: str | None = None) -> MetricValue:
    """Lowest group selection rate divided by the highest, over the counted groups.

    The four-fifths rule of the US Uniform Guidelines on Employee Selection Procedures (29 CFR 1607.4(D)):
    a selection rate under 4/5 (0.8) of the highest group's is evidence of adverse impact, so a rule reads
    ``>= 0.8``. Equals fairlearn's ``demographic_parity_ratio`` (method ``between_groups``) on the counted
    groups. Fraction in [0, 1]; 1 is equal selection rates.

    Raises
    ------
    NotComputable
        As :func:`counted_groups`; or no counted group has a positive prediction (the ratio is 0/0).
    """
    d = _groups_of(data, threshold, sensitive, min_group_size, small_groups)
    rates = [v["selection_rate"] for v in d["_counted"].values()]
    lo, hi = min(rates), max(rates)
    if hi == 0:
        raise NotComputable("no counted group has a positive prediction, so the ratio of selection rates is 0/0",
                            _finish(d))
    low = min(d["_counted"], key=lambda g: d["_counted"][g]["selection_rate"])
    high = max(d["_counted"], key=lambda g: d["_counted"][g]["selection_rate"])
    d["lowest_group"], d["highest_group"] = low, high
    d["formula"] = "min over groups of selection rate / max over groups of selection rate (four-fifths rule)"
    return MetricValue(float(lo / hi), _trivial_note(d))


def equal_opportunity_difference(data: EvalData, threshold: float | None = None,
                                 sensitive: list[str] | None = None, min_group_size: int | None = None,
                                 small_groups: str | None = None) -> MetricValue:
    """Largest difference in true positive rate between groups (Hardt et al. 2016, equal opportunity).

    Source: fairlearn ``equal_opportunity_difference``. Not computable when a counted group has no positive
    labels (its TPR is 0/0; fairlearn would report 0.0).
    """
    d = _groups_of(data, threshold, sensitive, min_group_size, small_groups)
    _require(d, "n_positive", "positive labels")
    return MetricValue(_between([v["true_positive_rate"] for v in d["_counted"].values()]), _trivial_note(d))


def equalized_odds_difference(data: EvalData, threshold: float | None = None,
                              sensitive: list[str] | None = None, min_group_size: int | None = None,
                              small_groups: str | None = None) -> MetricValue:
    """Larger of the between-group TPR and FPR differences (Hardt et al. 2016, equalized odds).

    Source: fairlearn ``equalized_odds_difference`` (``agg="worst_case"``). Not computable when a
    counted group has no positive or no negative labels.
    """
    d = _groups_of(data, threshold, sensitive, min_group_size, small_groups)
    _require(d, "n_positive", "positive labels")
    _require(d, "n_negative", "negative labels")
    tpr = _between([v["true_positive_rate"] for v in d["_counted"].values()])
    fpr = _between([v["false_positive_rate"] for v in d["_counted"].values()])
    d["tpr_difference"], d["fpr_difference"] = tpr, fpr
    return MetricValue(max(tpr, fpr), _trivial_note(d))


def _columns(v: Any) -> list[str]:
    if isinstance(v, str):
        return [v]
    if isinstance(v, list) and v and all(isinstance(x, str) for x in v):
        return list(dict.fromkeys(v))  # [a, a] is one column
    raise ValueError("sensitive must be a column name or a non-empty list of column names")


def _min_group_size(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError("min_group_size must be a whole number of rows, at least 1 (e.g. 30)")
    return int(v)


def _small_groups(v: Any) -> str:
    if v not in SMALL_GROUPS:
        raise ValueError("small_groups must be exclude (report a group under min_group_size without counting it) "
                         "or block (its presence makes the rule not computable)")
    return str(v)


_PARAMS = {"threshold": threshold_param, "sensitive": _columns, "min_group_size": _min_group_size,
           "small_groups": _small_groups}

SPECS = (
    MetricSpec("demographic_parity_difference", "fairness", "fraction",
               "Max minus min selection rate across groups (fairlearn).", demographic_parity_difference,
               params=_PARAMS, aliases=("fairness_demographic_parity_diff",), higher_is_better=False, bounds=(0, 1)),
    MetricSpec("disparate_impact_ratio", "fairness", "fraction",
               "Min over max selection rate across groups: the four-fifths rule, 29 CFR 1607.4(D) (fairlearn "
               "demographic_parity_ratio).", disparate_impact_ratio,
               params=_PARAMS, aliases=("demographic_parity_ratio",), higher_is_better=True, bounds=(0, 1)),
    MetricSpec("equal_opportunity_difference", "fairness", "fraction",
               "Max minus min true positive rate across groups (fairlearn).", equal_opportunity_difference,
               params=_PARAMS, aliases=("fairness_equal_opportunity_diff",), higher_is_better=False, bounds=(0, 1)),
    MetricSpec("equalized_odds_difference", "fairness", "fraction",
               "Max of TPR and FPR between-group differences (fairlearn).", equalized_odds_difference,
               params=_PARAMS, aliases=("fairness_equalized_odds_diff",), higher_is_better=False, bounds=(0, 1)),
)
