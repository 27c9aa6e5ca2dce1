"""evidently 0.7 in the drift section: the methods gatekit does not compute itself, and evidently's HTML page.

Every column is declared to evidently (never inferred); a non-finite value from evidently is explained
(Jensen-Shannon's rounding below zero is recomputed from evidently's own bins) or not computable, never drift;
evidently's page is written only when no column name or category could inject markup into it.
"""

from __future__ import annotations

import math
import os
from typing import Any

from gatekit.core.errors import NotComputable
from gatekit.policy.specs import (
    DriftSpec,
)
from gatekit.sections.drift_common import EVIDENTLY_REPORT_MAX_ROWS, METHOD_LABEL, Feature
from gatekit.stats.drift import (
    jensenshannon_from_shares,
)


def want_evidently_report(spec: DriftSpec, ref_rows: int, cur_rows: int) -> bool:
    """Tell whether evidently's HTML page is wanted (``auto``: only up to EVIDENTLY_REPORT_MAX_ROWS rows a side)."""
    if spec.evidently_report == "auto":
        return max(ref_rows, cur_rows) <= EVIDENTLY_REPORT_MAX_ROWS
    return bool(spec.evidently_report)


def safe_name(name: str) -> bool:
    """Tell whether a column name or category can be written into evidently's page without markup risk."""
    return name.isprintable() and not any(ch in name for ch in "<>&\"'`\\/")


def unsafe_markup(features: list[Feature], ref: Any, cur: Any) -> str | None:
    """Name a category value that could inject markup into evidently's HTML page (None: every value is safe).

    evidently writes category values raw into a ``<script>`` block of its page; column names go to it
    under an alias, but values cannot be renamed without changing what the page shows.
    """
    for f in features:
        if f.kind != "categorical":
            continue
        for side in (ref, cur):
            for v in side[f.name].dropna().unique():
                if not safe_name(str(v)):
                    return f"column {f.name!r} holds the category {str(v)[:60]!r}"
    return None


def evidently_js_recompute(ref: Any, cur: Any, kind: str | None) -> float:
    """Recompute evidently 0.7's Jensen-Shannon distance rounding-safe from its own binned shares.

    evidently (``legacy/calculations/stattests/jensenshannon.py``) drops missing and infinite values,
    bins with ``get_binned_data(..., feel_zeroes=False)`` (Sturges bins over both sides for a numerical
    column with more than 20 distinct reference values, else one bin per value) and calls
    :func:`scipy.spatial.distance.jensenshannon` (base e), which gives NaN when rounding leaves the
    divergence a hair below 0; :func:`gatekit.stats.drift.jensenshannon_from_shares` is the same
    definition with that rounding clamped.
    """
    import numpy as np
    from evidently.legacy.calculations.stattests.utils import get_binned_data
    from evidently.legacy.core import ColumnType

    r = ref.replace([-np.inf, np.inf], np.nan).dropna()
    c = cur.replace([-np.inf, np.inf], np.nan).dropna()
    ctype = ColumnType.Numerical if kind == "numerical" else ColumnType.Categorical
    rp, cp = get_binned_data(r, c, ctype, 30, False)
    return jensenshannon_from_shares(np.asarray(rp), np.asarray(cp))


def explain_non_finite(method: str, value: float, ref: Any, cur: Any, kind: str | None) -> str:
    """Why evidently's value is not a number, in words a person can act on."""
    constant = method == "wasserstein" and kind == "numerical" and float(ref.dropna().std()) == 0.0
    n_cats = (len(set(ref.dropna().astype(str)) | set(cur.dropna().astype(str))) if method == "chisquare"
              else None)
    return explain_non_finite_counts(method, value, kind, constant, n_cats)


def explain_non_finite_counts(method: str, value: float, kind: str | None, constant_reference: bool,
                              n_categories: int | None) -> str:
    """:func:`explain_non_finite` from what an engine counted.

    Parameters
    ----------
    method : str
        The drift method.
    value : float
        The non-finite value.
    kind : str or None
        The column's kind.
    constant_reference : bool
        Whether every reference value is the same (Wasserstein's norm is 0).
    n_categories : int or None
        Categories on both sides together, compared as text (chi-square).
    """
    base = f"evidently's {METHOD_LABEL.get(method, method)} is {value!r}, which is not a measurement"
    if method == "wasserstein" and kind == "numerical" and constant_reference:
        return base + ": the normed Wasserstein distance divides by the reference's standard deviation, " \
                      "which is 0 (a constant reference); use method psi or ks for this column"
    if method == "chisquare" and n_categories is not None and n_categories < 2:
        return base + f": the chi-square test needs at least 2 categories and this column has {n_categories} " \
                      "on both sides together (0 degrees of freedom); use method psi or jensenshannon for it"
    return base + "; this column is not compared (use another method for it, or report the data to gatekit)"


JS_ROUNDING_NOTE = ("evidently's Jensen-Shannon distance was {value!r} (rounding below 0 under the square root); "
                    "recomputed from evidently's own bins with the divergence clamped at 0")
"""The note a Jensen-Shannon distance recomputed after scipy's NaN carries (both engines)."""


def evidently_aliases(names: list[str], columns: list[str]) -> dict[str, str]:
    """Return the name evidently gets for each compared column: its own when safe, else ``gatekit_column_<i>``.

    An alias is unique against every real column name of either side and every other name given to evidently
    (a real column named ``gatekit_column_0`` keeps its name, and the alias moves on to a free one), so two
    columns never reach evidently under one name.

    Parameters
    ----------
    names : list of str
        The compared columns, in order.
    columns : list of str
        Every column of the reference and the current data.
    """
    taken = set(columns) | {n for n in names if safe_name(n)}
    alias: dict[str, str] = {}
    i = 0
    for name in names:
        if safe_name(name):
            alias[name] = name
            continue
        while f"gatekit_column_{i}" in taken:
            i += 1
        alias[name] = f"gatekit_column_{i}"
        taken.add(alias[name])
    return alias


def run_evidently(features: list[Feature], ref: Any, cur: Any, spec: DriftSpec, report: bool,
                   not_finite: dict[str, str] | None = None,
                   notes: dict[str, str] | None = None) -> tuple[dict[str, float], dict[str, str], Any]:
    """Run evidently's ValueDrift on the features that need it (and on every feature when its HTML is wanted).

    Returns values by feature name, errors by feature name, and a renderer of evidently's HTML (or None).
    A NaN or infinite value from evidently is never a value: a Jensen-Shannon NaN from rounding is
    recomputed (the reason goes to ``notes``), any other goes to ``not_finite`` with the reason.
    """
    not_finite = {} if not_finite is None else not_finite
    notes = {} if notes is None else notes
    need = [f for f in features if f.problem is None and (f.engine == "evidently" or report)]
    # with evidently's PSI binning, psi_feature_drift needs evidently's PSI of every feature, whatever its method
    extra_psi = [f for f in need if spec.psi.binning == "evidently" and f.method != "psi"]
    if not need:
        return {}, {}, None
    os.environ.setdefault("DO_NOT_TRACK", "1")
    import warnings

    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift

    # evidently writes column names raw into a <script> block of its HTML: a name with markup characters
    # goes to it under an alias (gatekit_column_<i>), so its report can never run code from the header
    alias = evidently_aliases([f.name for f in need], [*map(str, ref.columns), *map(str, cur.columns)])
    names = [f.name for f in need]
    definition = DataDefinition(numerical_columns=[alias[f.name] for f in need if f.kind == "numerical"],
                                categorical_columns=[alias[f.name] for f in need if f.kind == "categorical"])
    metrics = [ValueDrift(column=alias[f.name], method=f.method if f.engine == "evidently" else "psi",
                          threshold=f.threshold) for f in need]
    metrics += [ValueDrift(column=alias[f.name], method="psi") for f in extra_psi]
    cur, ref = cur[names].rename(columns=alias), ref[names].rename(columns=alias)
    by_key = {f.name: f for f in need} | {f"{f.name}#psi": f for f in extra_psi}
    names = [alias[n] for n in names]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scipy's divide-by-zero notes on empty bins: the values stand
            snapshot = Report(metrics).run(Dataset.from_pandas(cur[names], data_definition=definition),
                                           Dataset.from_pandas(ref[names], data_definition=definition))
        results = snapshot.dict()["metrics"]
    except Exception as exc:  # noqa: BLE001 - evidently failing is each of its features' error
        msg = f"evidently failed: {type(exc).__name__}: {exc}"
        return {}, {f.name: msg for f in need if f.engine == "evidently"}, None
    values: dict[str, float] = {}
    errors: dict[str, str] = {}
    keys = [f.name if f.engine == "evidently" else None for f in need] + [f"{f.name}#psi" for f in extra_psi]
    for key, res in zip(keys, results, strict=True):
        if key is None:
            continue
        try:
            v = float(res["value"])
        except (TypeError, ValueError, KeyError):
            errors[key] = f"evidently returned no value ({res.get('value')!r})"
            continue
        if math.isfinite(v):
            values[key] = v
            continue
        f = by_key[key]
        method = "psi" if key.endswith("#psi") else f.method
        r_col, c_col = ref[alias[f.name]], cur[alias[f.name]]
        if method == "jensenshannon":
            try:
                values[key] = evidently_js_recompute(r_col, c_col, f.kind)
                notes[key] = JS_ROUNDING_NOTE.format(value=v)
                continue
            except NotComputable as exc:
                not_finite[key] = f"evidently's Jensen-Shannon distance is {v!r}: {exc.reason}"
                continue
        not_finite[key] = explain_non_finite(method, v, r_col, c_col, f.kind)
    html = (lambda: snapshot.get_html_str(as_iframe=False)) if report else None
    return values, errors, html
