"""Self-contained HTML report (jinja2, autoescaped; no scripts, no network, no CDN)."""

from __future__ import annotations

from typing import Any

from gatekit.core.formatting import fmt
from gatekit.core.results import GateReport
from gatekit.sections.registry import default_sections

MAX_GROUPS_SHOWN = 200



def _margin_bar(c: dict[str, Any]) -> dict[str, Any] | None:
    m, t = c.get("margin"), c.get("threshold")
    if m is None or t is None:
        return None
    scale = abs(t) if t else 1.0
    width = min(50.0, 50.0 * abs(m) / scale) if scale else 0.0
    return {"width": round(max(width, 1.0), 1), "positive": m >= 0, "text": f"{'+' if m >= 0 else ''}{fmt(m)}"}


def _interval_chart(c: dict[str, Any]) -> dict[str, Any] | None:
    """SVG geometry of a confidence interval against the rule's limits (point, interval, limit lines)."""
    iv = (c.get("details") or {}).get("interval")
    conds = ((c.get("details") or {}).get("comparison") or {}).get("conditions") or []
    if not iv or c.get("observed") is None:
        return None
    limits = [float(t) for _, t in conds]
    values = [iv["low"], iv["high"], float(c["observed"]), *limits]
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.08 or 1.0
    lo, hi = lo - pad, hi + pad

    def x(v: float) -> float:
        return round(4 + 152 * (v - lo) / (hi - lo), 1)

    return {"low": x(iv["low"]), "high": x(iv["high"]), "point": x(float(c["observed"])),
            "limits": [x(t) for t in limits], "confidence": f"{iv['confidence']:.0%}",
            "text": f"[{fmt(iv['low'])}, {fmt(iv['high'])}]", "method": iv.get("method", "")}


def _roc_chart(meta: dict[str, Any]) -> dict[str, Any] | None:
    """SVG geometry of the ROC curves (candidate, and production when scored on the same rows)."""
    roc = (meta.get("charts") or {}).get("roc") or {}
    curves = []
    for key, label, color in (("baseline", "production", "#8c959f"), ("candidate", "candidate", "#0969da")):
        c = roc.get(key)
        if not c:
            continue
        pts = " ".join(f"{40 + 240 * x:.1f},{270 - 240 * y:.1f}" for x, y in zip(c["fpr"], c["tpr"], strict=True))
        curves.append({"key": key, "label": label, "color": color, "points": pts, "auc": c.get("auc"),
                       "rows": c.get("rows")})
    return {"curves": curves} if curves else None


def _histogram(h: dict[str, Any], width: float, height: float) -> list[dict[str, float]]:
    edges, counts = h["edges_ms"], h["counts"]
    top = max(counts) or 1
    lo, hi = edges[0], edges[-1]
    span = (hi - lo) or 1.0
    return [{"x": round(50 + width * (edges[i] - lo) / span, 1),
             "w": round(max(width * (edges[i + 1] - edges[i]) / span - 1, 0.5), 1),
             "h": round(height * n / top, 1), "y": round(20 + height - height * n / top, 1), "n": n,
             "lo": edges[i], "hi": edges[i + 1]} for i, n in enumerate(counts)]


def _latency_chart(checks: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Histogram of the candidate's single-row latencies, with its p50 / p95 / p99 marked."""
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
    if not hist or not hist.get("counts"):
        return None
    lo, hi = hist["edges_ms"][0], hist["edges_ms"][-1]
    span = (hi - lo) or 1.0
    return {"bars": _histogram(hist, 680, 150), "lo": fmt(lo), "hi": fmt(hi), "n": sum(hist["counts"]),
            "marks": [{"label": k, "value": fmt(v), "x": round(50 + 680 * (v - lo) / span, 1)}
                      for k, v in dict(marks).items() if lo <= v <= hi]}


def _fairness_chart(check: dict[str, Any]) -> list[dict[str, Any]]:
    """Bars of each group's selection rate (and true / false positive rates where defined), 0..100 %."""
    rows = []
    for g, v in (check["details"].get("by_group") or {}).items():
        bars = []
        for key, label, color in (("selection_rate", "selection", "#0969da"),
                                  ("true_positive_rate", "TPR", "#1a7f37"),
                                  ("false_positive_rate", "FPR", "#9a6700")):
            val = v.get(key)
            if val is not None:
                bars.append({"label": label, "color": color, "w": round(400 * float(val), 1),
                             "text": f"{100 * float(val):.1f} %"})
        rows.append({"group": g, "bars": bars})
    return rows


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
    for i, c in enumerate(data["checks"]):
        c["anchor"] = f"check-{i + 1}"
    attention = _attention(data["checks"], titles)
    for s in names:
        rows = [c for c in data["checks"] if c["section"] == s]
        if not rows:
            continue
        for c in rows:
            c["bar"] = _margin_bar(c)
            c["interval_chart"] = _interval_chart(c)
        sections.append({"key": s, "title": str(titles.get(s) or s.replace("_", " ").title()), "checks": rows})
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
                                                     attention=attention,
                                                     custom=custom, signature=_signature_table(data["checks"]),
                                                     dq_matrix=_column_matrix(data["checks"]),
                                                     drift_bars=_drift_chart(data["checks"]),
                                                     roc_chart=_roc_chart(data["metadata"]),
                                                     latency_chart=_latency_chart(data["checks"]),
                                                     attachments=data["metadata"].get("attachments") or {})


NEEDS_ATTENTION = ("fail", "error", "not_computable")
"""Statuses listed first in the report: what blocked or warned, and what could not be checked."""


def _attention(checks: list[dict[str, Any]], titles: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the checks that need a look, blocking ones first, each with its section's title and anchor."""
    rows = [c for c in checks if c.get("status") in NEEDS_ATTENTION]
    rows.sort(key=lambda c: (c.get("on_fail") != "block", c.get("status") != "fail"))  # stable: report order kept
    return [{"anchor": c["anchor"], "name": (c.get("details") or {}).get("label") or c["name"],
             "section": str(titles.get(c["section"]) or c["section"].replace("_", " ").title()),
             "status": c["status"], "on_fail": c.get("on_fail"), "message": c.get("message") or ""}
            for c in rows]


def _drift_chart(checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Bars of each feature's drift relative to its limit (score / threshold; threshold / p for p-values).

    1 is the limit: a bar past the marked line is drift. Capped at 3 so one wild feature does not flatten
    the others; the score itself is printed beside each bar.
    """
    bars = []
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
        bars.append({"feature": d.get("feature", c["name"]), "method": d["method"], "score": fmt(score),
                     "limit": fmt(limit), "status": c["status"], "width": round(100 * ratio / 3, 1),
                     "past": ratio > 1})
    return bars


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
    return {"rules": used, "rows": [{"column": col, "cells": cells} for col, cells in rows.items()]}


def _signature_table(checks: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Rows feature / expected type / candidate type / change, as the feature_signature check classified them."""
    c = next((c for c in checks if c["section"] == "compatibility" and c["name"] == "feature_signature"
              and "features" in c["details"]), None)
    if c is None:
        return None
    d = c["details"]
    rows = [{**r, "expected": r["expected"] or ("—" if r["name"] not in d["expected"] else "unknown"),
             "candidate": r["candidate"] or ("—" if r["name"] not in d["candidate"] else "unknown")}
            for r in d["features"]]
    return {"mode": d["mode"], "expected_source": d.get("expected_source"),
            "candidate_source": d.get("candidate_source"), "rows": rows}
