"""Self-contained HTML report (jinja2, autoescaped; no scripts, no network, no CDN)."""

from __future__ import annotations

import math
from typing import Any

from gatekit.core.decision import effect
from gatekit.core.formatting import fmt, percent
from gatekit.core.results import GateReport
from gatekit.report.charts import Axis, use_log_scale
from gatekit.report.confusion import html_table as confusion_table
from gatekit.report.families import html_tables as family_tables
from gatekit.report.plain import check_sentence, figure, reason_sentence, sentence_case
from gatekit.sections.registry import default_sections

MAX_GROUPS_SHOWN = 200



def _margin_bar(c: dict[str, Any]) -> dict[str, Any] | None:
    """Return the Margin cell: the signed distance from the limit, and which figure it is measured from.

    A rule decided on an interval measures its margin from a bound (:func:`gatekit.sections.comparison
    .decide_interval`): the best bound under ``proven_harm``, the worst under ``proven_safe`` and the modes. The cell
    says so (``bound``), and a positive margin on a check that did not pass is drawn neutral (``held``), not green:
    "+0.012 inside the limit" beside a block read as a pass.
    """
    m, t = c.get("margin"), c.get("threshold")
    if m is None or t is None:
        return None
    scale = abs(t) if t else 1.0
    width = min(50.0, 50.0 * abs(m) / scale) if scale else 0.0
    d = c.get("details") or {}
    bound = None
    if d.get("decided_on") == "interval":
        framing = (d.get("outcome") or {}).get("mode") or d.get("guardband")
        bound = "of the interval's best bound" if framing == "proven_harm" else "of the interval's worst bound"
    return {"width": round(max(width, 1.0), 1), "positive": m >= 0, "text": f"{'+' if m >= 0 else ''}{fmt(m)}",
            "bound": bound, "held": m >= 0 and c.get("status") not in (None, "pass")}


def _interval_chart(c: dict[str, Any]) -> dict[str, Any] | None:
    """SVG geometry of a confidence interval against the rule's limits (point, interval, limit lines)."""
    iv = (c.get("details") or {}).get("interval")
    conds = ((c.get("details") or {}).get("comparison") or {}).get("conditions") or []
    if not isinstance(iv, dict) or c.get("observed") is None:
        return None
    if not all(isinstance(iv.get(k), (int, float)) and math.isfinite(iv[k]) for k in ("low", "high")):
        return None  # an interval of another shape (or an open side) is told in words, not drawn
    limits = [float(t) for _, t in conds]
    values = [iv["low"], iv["high"], float(c["observed"]), *limits]
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.08 or 1.0
    lo, hi = lo - pad, hi + pad

    def x(v: float) -> float:
        return round(4 + 152 * (v - lo) / (hi - lo), 1)

    return {"low": x(iv["low"]), "high": x(iv["high"]), "point": x(float(c["observed"])),
            "limits": [x(t) for t in limits], "confidence": f"{percent(iv['confidence'])}",
            "text": f"[{fmt(iv['low'])}, {fmt(iv['high'])}]", "method": iv.get("method", "")}


CHART_WIDTH = 400
"""Width of every chart's SVG viewBox, in user units: a phone's width, so its text is not scaled down there."""
CHART_FONT = 13
"""Font size of every text in a chart, in user units."""
MIN_FONT_PX = 11
"""Smallest font size a chart's text may be drawn at, in CSS px: a chart narrower than it allows scrolls sideways
in its own box instead of shrinking further."""
MAX_SCALE = 1.1
"""Widest a chart is drawn, as a multiple of its viewBox (its text then 14.3 px)."""


def _box(height: float, width: float = CHART_WIDTH) -> dict[str, Any]:
    """Return the SVG's viewBox and its CSS width limits: never drawn below MIN_FONT_PX text, nor above MAX_SCALE."""
    return {"w": width, "h": round(height, 1), "min_width": math.ceil(width * MIN_FONT_PX / CHART_FONT),
            "max_width": round(width * MAX_SCALE)}


def _roc_chart(meta: dict[str, Any]) -> dict[str, Any] | None:
    """SVG geometry of the ROC curves (candidate, and production when scored on the same rows).

    The plot is a 300 x 300 square (x 56..356, y 12..312); the legend sits below it, one line per curve.
    """
    roc = (meta.get("charts") or {}).get("roc") or {}
    curves: list[dict[str, Any]] = []
    for key, label, color in (("baseline", "production", "#8c959f"), ("candidate", "candidate", "#0969da")):
        c = roc.get(key)
        if not c:
            continue
        pts = " ".join(f"{56 + 300 * x:.1f},{312 - 300 * y:.1f}" for x, y in zip(c["fpr"], c["tpr"], strict=True))
        curves.append({"key": key, "label": label, "color": color, "points": pts, "auc": c.get("auc"),
                       "rows": c.get("rows"), "y": 376 + 22 * len(curves)})
    if not curves:
        return None
    return {"curves": curves, "box": _box(curves[-1]["y"] + 12)}


CALIBRATION_METRICS = ("expected_calibration_error", "max_calibration_error")


def _reliability_chart(meta: dict[str, Any], checks: list[dict[str, Any]]) -> dict[str, Any] | None:
    """SVG geometry of the candidate's reliability diagram: observed positive rate against mean probability per bin.

    The binning is the first ECE / MCE rule's (its ``details``), else the run's default table (15 equal-width
    bins, :func:`gatekit.report.charts.reliability`). The plot is a 300 x 300 square (x 56..356, y 12..312) with
    the diagonal of a calibrated model: per non-empty bin a bar from its edges up to its observed rate and a
    dot at (mean probability, observed rate). Below it, a strip of bars gives each bin's row count.
    """
    table, source = None, None
    for c in checks:
        if c.get("metric") in CALIBRATION_METRICS:
            d = c.get("details") or {}
            d = d if isinstance(d.get("bins"), list) else (d.get("candidate_details") or {})
            if isinstance(d.get("bins"), list) and d["bins"]:
                table, source = d, c["name"]
                break
    if table is None:
        table = (meta.get("charts") or {}).get("reliability")
    if not table or not table.get("bins"):
        return None

    def x(v: float) -> float:
        return round(56 + 300 * min(max(float(v), 0.0), 1.0), 1)

    def y(v: float) -> float:
        return round(312 - 300 * min(max(float(v), 0.0), 1.0), 1)

    top = max(b["count"] for b in table["bins"])
    bars = []
    for b in table["bins"]:
        x0, x1 = x(b["lo"]), x(b["hi"])
        h = round(44 * b["count"] / top, 1)
        bars.append({"x": x0, "w": max(round(x1 - x0 - 1, 1), 0.5), "y": y(b["accuracy"]),
                     "h": round(312 - y(b["accuracy"]), 1), "cx": x(b["confidence"]), "count": b["count"],
                     "count_y": round(424 - h, 1), "count_h": max(h, 0.5), "lo": b["lo"], "hi": b["hi"],
                     "confidence": b["confidence"], "accuracy": b["accuracy"]})
    strategy = "equal-width" if table.get("strategy") == "uniform" else "equal-mass"
    n_used = table.get("n_bins_used", len(table.get("edges", [])) - 1)
    return {"bars": bars, "top": top, "n": table.get("n"), "ece": table.get("ece"), "mce": table.get("mce"),
            "binning": f"{n_used} {strategy} bins", "source": source, "box": _box(470),
            "top_label": str(table.get("form", "")).startswith("top-label")}


def _latency_chart(checks: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Histogram of the candidate's single-row latencies, with its p50 / p95 / p99 marked.

    Each axis is logarithmic when its values span more than two decades (:func:`charts.use_log_scale`: the
    bin edges for the time axis, the non-zero counts for the count axis), with a labelled tick per power of
    ten, and says so in its title.
    """
    hist, marks = None, []
    for c in checks:
        if not str(c.get("metric") or "").startswith("latency_"):
            continue
        d = c.get("details") or {}
        h = d.get("histogram") or (d.get("candidate_details") or {}).get("histogram")
        if h and hist is None:
            hist = h
        if not h or h != hist:  # another model's samples (a load test, production) are not on this chart
            continue
        label = c["metric"].replace("latency_", "").replace("_ms", "")
        cmp = d.get("comparison") or {}
        value = cmp.get("candidate") if cmp else c.get("observed")  # a comparison's observed is the change
        if isinstance(value, (int, float)):
            marks.append((label, float(value)))
    if not hist or not hist.get("counts") or not any(hist["counts"]):
        return None
    edges, counts = [float(e) for e in hist["edges_ms"]], [int(n) for n in hist["counts"]]
    lo, hi = edges[0], edges[-1]
    if not hi > lo:
        hi = lo + 1.0
    shown = [(k, v) for k, v in dict(marks).items() if lo <= v <= hi]
    top_y = 24 + 15 * len(shown) + 8
    bottom = top_y + 150
    x_log = use_log_scale([lo, hi])
    x = Axis(lo, hi, 56, 392, log=x_log)
    nonzero = [n for n in counts if n > 0]
    y_log = use_log_scale([float(n) for n in nonzero])
    y = Axis(min(nonzero) / 2, max(nonzero), bottom, top_y, log=True) if y_log else \
        Axis(0, max(nonzero), bottom, top_y)
    bars = []
    for i, n in enumerate(counts):
        if n <= 0:
            continue
        x0, x1, y0 = x(edges[i]), x(edges[i + 1]), y(n)
        bars.append({"x": x0, "w": round(max(x1 - x0 - 1, 0.8), 1), "y": y0, "h": round(bottom - y0, 1), "n": n,
                     "lo": edges[i], "hi": edges[i + 1]})
    return {"bars": bars, "n": sum(counts), "box": _box(bottom + 62), "bottom": bottom, "top": top_y,
            "x_log": x_log, "y_log": y_log, "x0": 56, "x1": 392,
            "x_ticks": [{"x": x(t), "text": figure(t, 4)} for t in x.ticks(4)],
            "y_ticks": [{"y": y(t), "text": f"{t:,.0f}"} for t in y.ticks(3) if t == int(t)],
            "marks": [{"label": k, "value": fmt(v), "x": x(v), "y": 24 + 15 * (i + 1),
                       "anchor": "end" if x(v) > 300 else "start"} for i, (k, v) in enumerate(shown)]}


def _residual_chart(meta: dict[str, Any]) -> dict[str, Any] | None:
    """Histogram of the residuals ``actual - forecast`` over every evaluation row (:func:`charts.forecast`).

    Bars from x 56 to 392 between the residuals' 0.5th and 99.5th percentiles (the rows beyond are counted in
    the caption, not drawn), counts up from y 182 to 24; a dashed line marks a residual of 0 when it is in range.
    """
    res = ((meta.get("charts") or {}).get("forecast") or {}).get("residuals")
    if not res or not any(res.get("counts") or []):
        return None
    edges, counts = [float(e) for e in res["edges"]], [int(n) for n in res["counts"]]
    bottom, top = 182, 24
    x = Axis(edges[0], edges[-1], 56, 392)
    y = Axis(0, max(counts), bottom, top)
    bars = [{"x": x(edges[i]), "w": round(max(x(edges[i + 1]) - x(edges[i]) - 1, 0.8), 1), "y": y(n),
             "h": round(bottom - y(n), 1), "n": n, "lo": edges[i], "hi": edges[i + 1]}
            for i, n in enumerate(counts) if n > 0]
    return {"bars": bars, "n": res["n"], "below": res["below"], "above": res["above"], "mean": fmt(res["mean"]),
            "bottom": bottom, "x0": 56, "x1": 392, "box": _box(bottom + 62),
            "zero": x(0.0) if edges[0] < 0 < edges[-1] else None,
            "x_ticks": [{"x": x(t), "text": figure(t, 4)} for t in x.ticks(4)],
            "y_ticks": [{"y": y(t), "text": f"{t:,.0f}"} for t in y.ticks(3) if t == int(t)]}


def _scatter_chart(meta: dict[str, Any]) -> dict[str, Any] | None:
    """Forecast against actual for a sample of the rows (:func:`charts.forecast`), with the line forecast = actual.

    One square plot (x 64..364, y 12..312) on the same scale for both axes, so a point's distance from the
    diagonal is its error.
    """
    sc = ((meta.get("charts") or {}).get("forecast") or {}).get("scatter")
    if not sc or not sc.get("actual"):
        return None
    values = [float(v) for v in (*sc["actual"], *sc["forecast"])]
    lo, hi = min(values), max(values)
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    ticks = Axis(lo, hi, 0, 1).ticks(4)
    lo, hi = min(lo, ticks[0]), max(hi, ticks[-1])
    x, y = Axis(lo, hi, 64, 364), Axis(lo, hi, 312, 12)
    points = [(x(a), y(f)) for a, f in zip(sc["actual"], sc["forecast"], strict=True)]
    return {"points": points, "n": sc["n"], "shown": sc["shown"], "box": _box(360), "sampled": sc["shown"] < sc["n"],
            "diag": (x(lo), y(lo), x(hi), y(hi)),
            "ticks": [{"x": x(t), "y": y(t), "text": figure(t, 4)} for t in ticks]}


FAIRNESS_BAR = 230
"""Length of a 100 % bar in the rates-by-group chart, in user units (its text follows it)."""


def _fairness_chart(check: dict[str, Any]) -> dict[str, Any] | None:
    """Bars of each group's selection rate (and true / false positive rates where defined), 0..100 %.

    One block per group: its name on a line, then one bar per rate with the rate written after it.
    """
    rows, y = [], 4.0
    for g, v in (check["details"].get("by_group") or {}).items():
        bars: list[dict[str, Any]] = []
        for key, label, color in (("selection_rate", "selection", "#0969da"),
                                  ("true_positive_rate", "TPR", "#1a7f37"),
                                  ("false_positive_rate", "FPR", "#9a6700")):
            val = v.get(key)
            if val is not None:
                w = round(FAIRNESS_BAR * float(val), 1)
                bars.append({"label": label, "color": color, "w": max(w, 0.5), "y": round(y + 22 + 18 * len(bars), 1),
                             "text": f"{100 * float(val):.1f} %"})
        rows.append({"group": g, "y": round(y + 15, 1), "bars": bars})
        y += 22 + 18 * len(bars) + 10
    return {"rows": rows, "box": _box(y), "bar": FAIRNESS_BAR} if rows else None


def render_html(report: GateReport) -> str:
    """Render the report as one HTML page.

    Parameters
    ----------
    report : GateReport
        The run's report.

    Returns
    -------
    str
        A complete HTML document. Every value from the policy or the data is escaped by jinja2's
        autoescape; the page loads nothing from the network.
    """
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("gatekit.report", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["num"] = fmt
    env.filters["pct"] = lambda x: "n/a" if x is None else f"{100 * x:.1f} %"
    env.filters["level"] = lambda x: percent(float(x)).replace("%", " %")  # 0.999: "99.9 %", never "100 %"
    env.filters["sentence_case"] = sentence_case
    data = report.to_dict()
    meta = data["metadata"]  # a report built by hand may lack what a run records
    meta.setdefault("inputs", {}).setdefault("files", {})
    meta.setdefault("policy", {}).setdefault("resolved", {})
    meta.setdefault("libraries", {})
    sections: list[dict[str, Any]] = []
    titles = meta.get("report_groups")  # the run's registry; a hand-built report has none: the built-ins
    if not isinstance(titles, dict):
        registry = default_sections()
        titles = {g: registry.group_title(g) for g in registry.group_order}
    names = [*titles, *sorted({c["section"] for c in data["checks"]} - set(titles))]
    strict = bool(meta["policy"].get("strict", True))
    for i, (c, check) in enumerate(zip(data["checks"], report.checks, strict=True)):
        c["anchor"] = f"check-{i + 1}"
        c["effect"] = effect(check, strict).value
        c["sentence"] = check_sentence(check) if c["effect"] != "pass" else ""
    attention = _attention(data["checks"], titles)
    for s in names:
        rows = [c for c in data["checks"] if c["section"] == s]
        if not rows:
            continue
        for c in rows:
            c["bar"] = _margin_bar(c)
            c["interval_chart"] = _interval_chart(c)
        # what did not pass stays in view; the passing checks fold under "N passed" (printing unfolds them)
        sections.append({"key": s, "title": str(titles.get(s) or s.replace("_", " ").title()), "checks": rows,
                         "open": [c for c in rows if c["status"] != "pass"],
                         "passed": [c for c in rows if c["status"] == "pass"]})
    fairness: list[dict[str, Any]] = []
    for c in data["checks"]:
        groups = c["details"].get("by_group")
        cand = c["details"].get("candidate_details") or {}
        if not groups and cand.get("by_group"):  # a rule against production: draw the candidate's groups
            groups = cand["by_group"]
            c = {**c, "name": f"{c['name']} (candidate)", "details": {**c["details"], **cand}}
        if not groups:
            continue
        key = (tuple(c["details"].get("sensitive_columns", [])), c["details"].get("threshold"), repr(groups))
        if len(groups) > MAX_GROUPS_SHOWN:
            c = {**c, "details": {**c["details"], "by_group": dict(list(groups.items())[:MAX_GROUPS_SHOWN]),
                                  "groups_not_shown": len(groups) - MAX_GROUPS_SHOWN}}
        for f in fairness:
            if f["key"] == key:
                f["names"].append(c["name"])
                break
        else:
            fairness.append({"key": key, "check": c, "names": [c["name"]], "chart": _fairness_chart(c)})
    custom = (data["metadata"].get("sections") or {}).get("data_quality")
    if custom:
        custom = {**custom.get("custom_expectations", {}), "rows": custom.get("rows")}
    inputs = data["metadata"].get("inputs", {})
    target, positive = inputs.get("target"), inputs.get("positive_label")
    pos_name = f"{target} = {positive}" if target and positive is not None else "positive"
    return env.get_template("report.html.j2").render(r=data, sections=sections, fairness=fairness, pos_name=pos_name,
                                                     attention=attention, reason=reason_sentence(report),
                                                     custom=custom, signature=_signature_table(data["checks"]),
                                                     dq_matrix=_column_matrix(data["checks"]),
                                                     drift_bars=_drift_chart(data["checks"]),
                                                     confusion=confusion_table(data["metadata"]),
                                                     families=family_tables(data["metadata"]),
                                                     roc_chart=_roc_chart(data["metadata"]),
                                                     reliability_chart=_reliability_chart(data["metadata"],
                                                                                          data["checks"]),
                                                     latency_chart=_latency_chart(data["checks"]),
                                                     residual_chart=_residual_chart(data["metadata"]),
                                                     scatter_chart=_scatter_chart(data["metadata"]),
                                                     attachments=data["metadata"].get("attachments") or {})


def _attention(checks: list[dict[str, Any]], titles: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Return the checks that did not pass, by what they do to the decision: ``block`` first, then ``warn``.

    Within each, real failures come before checks that could not be evaluated (report order kept
    otherwise), as :func:`gatekit.core.decision.decide` picks its reason. Each has its section's title, its
    row's anchor and its plain-words sentence (:func:`gatekit.report.plain.check_sentence`).
    """
    out: dict[str, list[dict[str, Any]]] = {"block": [], "warn": []}
    for c in sorted((c for c in checks if c["effect"] != "pass"), key=lambda c: c["status"] != "fail"):
        out[c["effect"]].append({"anchor": c["anchor"], "name": _check_title(c),
                                 "section": str(titles.get(c["section"]) or c["section"].replace("_", " ").title()),
                                 "status": c["status"], "on_fail": c.get("on_fail"), "effect": c["effect"],
                                 "sentence": c["sentence"]})
    return out


def _check_title(c: dict[str, Any]) -> str:
    """Return a check's title in words: its label, with the feature a drift label is about (``PSI of Temperature``).

    A check without a label is titled by its name.
    """
    d = c.get("details") or {}
    label, feature = d.get("label"), d.get("feature")
    if label and feature is not None and c["section"] == "drift" and str(feature) not in str(label):
        return f"{label} of {feature}"
    return str(label or c["name"])


DRIFT_SHORT = {"psi": "PSI", "jensenshannon": "JS distance", "wasserstein": "Wasserstein", "ks": "KS p",
               "chisquare": "chi-square p"}
DRIFT_ROW = 44
"""Height of one feature in the drift chart: its name and score on a line, its bar below."""


def _drift_chart(checks: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Bars of each feature's drift relative to its limit (score / threshold; threshold / p for p-values).

    1 is the limit: a bar past the marked line is drift. Capped at 3 so one wild feature does not flatten
    the others; the score itself is printed above each bar, after the feature's name. ``width`` is the bar's
    share of the chart (0..100, 100 = 3 times the limit).
    """
    bars: list[dict[str, Any]] = []
    for c in checks:
        d = c["details"]
        if c["section"] != "drift" or "method" not in d or c["observed"] is None or not c["threshold"]:
            continue
        score, limit = float(c["observed"]), float(c["threshold"])
        if d["method"] in ("ks", "chisquare"):
            ratio = limit / score if score > 0 else 3.0
        else:
            ratio = score / limit
        ratio = min(ratio, 3.0)
        width = round(100 * ratio / 3, 1)
        y = 6 + DRIFT_ROW * len(bars)
        bars.append({"feature": str(d.get("feature", c["name"])), "method": DRIFT_SHORT.get(d["method"], d["method"]),
                     "score": fmt(score),
                     "limit": fmt(limit), "status": c["status"], "width": width, "past": ratio > 1,
                     "text_y": y + 14, "bar_y": y + 21, "bar_w": round(max(3.92 * width, 0.5), 1)})
    if not bars:
        return None
    n = len(bars)
    return {"bars": bars, "box": _box(6 + DRIFT_ROW * n + 20), "limit_x": 4 + 392 / 3, "bottom": 6 + DRIFT_ROW * n}


DQ_RULES = ("present", "type", "max_null_fraction", "range", "allowed", "distinct", "unseen_share", "unique")


def _column_matrix(checks: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Data-quality column rules as a grid: one row per column, one cell per rule kind (status + message)."""
    rows: dict[str, dict[str, Any]] = {}
    for c in checks:
        rule, col = c["details"].get("rule"), c["details"].get("column")
        if c["section"] != "data_quality" or rule not in DQ_RULES or col is None:
            continue
        rows.setdefault(col, {})[rule] = {"status": c["status"], "message": c["message"]}
    if not rows:
        return None
    used = [r for r in DQ_RULES if any(r in cells for cells in rows.values())]
    not_passed = sum(cell["status"] != "pass" for cells in rows.values() for cell in cells.values())
    return {"rules": used, "rows": [{"column": col, "cells": cells} for col, cells in rows.items()],
            "not_passed": not_passed}


def _signature_table(checks: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Rows feature / expected type / candidate type / change, as the feature_signature check classified them.

    Breaking changes first, then the others in the check's order; ``breaking`` counts them.
    """
    c = next((c for c in checks if c["section"] == "compatibility" and c["name"] == "feature_signature"
              and "features" in c["details"]), None)
    if c is None:
        return None
    d = c["details"]
    rows = [{**r, "expected": r["expected"] or ("—" if r["name"] not in d["expected"] else "unknown"),
             "candidate": r["candidate"] or ("—" if r["name"] not in d["candidate"] else "unknown")}
            for r in sorted(d["features"], key=lambda r: not r.get("breaking"))]  # breaking changes first
    return {"mode": d["mode"], "expected_source": d.get("expected_source"),
            "candidate_source": d.get("candidate_source"), "rows": rows,
            "breaking": sum(bool(r.get("breaking")) for r in rows)}
