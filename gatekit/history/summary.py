"""Per-gate summaries of recorded runs: counts, hit rate, trend and a sparkline (``gatekit history``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gatekit.core.decision import FAILED
from gatekit.history.runs import RunView

_SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float | None]) -> str:
    """Return one character per run, low to high (``·`` where the run has no value)."""
    finite = [v for v in values if v is not None]
    if not finite:
        return ""
    lo, hi = min(finite), max(finite)
    if hi == lo:
        return "".join("·" if v is None else _SPARK[3] for v in values)
    return "".join("·" if v is None else _SPARK[min(7, int((v - lo) / (hi - lo) * 8))] for v in values)


def trend(values: Sequence[float | None], op: str | None) -> dict[str, Any]:
    """Return the least-squares slope of the observed value per run (numpy.polyfit, degree 1) and what it means."""
    import numpy as np

    pts = [(i, v) for i, v in enumerate(values) if v is not None]
    out: dict[str, Any] = {"points": len(pts), "first": pts[0][1] if pts else None,
                           "last": pts[-1][1] if pts else None,
                           "min": min(v for _, v in pts) if pts else None,
                           "max": max(v for _, v in pts) if pts else None,
                           "slope_per_run": None, "direction": "unknown", "sparkline": sparkline(values)}
    if len(pts) < 3:
        return out  # two points are a difference, not a trend
    x = np.array([p[0] for p in pts], dtype=float)
    y = np.array([p[1] for p in pts], dtype=float)
    big = float(np.max(np.abs(y))) or 1.0  # fit on y / max|y|: values near 1e308 would overflow the sums
    with np.errstate(all="ignore"):
        slope = float(np.polyfit(x, y / big, 1)[0]) * big
    out["slope_per_run"] = slope
    with np.errstate(all="ignore"):
        scale = max(abs(float(np.mean(y / big))) * big, float(np.ptp(y / big)) * big, 1e-12)
    if abs(slope) * (x[-1] - x[0]) <= 1e-9 * scale:
        out["direction"], out["slope_per_run"] = "flat", 0.0  # least squares leaves 1e-16 on equal values
    elif op in (">=", ">", "<=", "<"):
        better = slope > 0 if op in (">=", ">") else slope < 0
        out["direction"] = "improving" if better else "worsening"
    else:
        out["direction"] = "rising" if slope > 0 else "falling"
    return out


def summarize(runs: Sequence[RunView]) -> dict[str, Any]:
    """Per-gate counts, hit rate and trend over recorded runs.

    Parameters
    ----------
    runs : sequence of RunView
        Oldest first (as :meth:`HistoryStore.runs` returns them).

    Returns
    -------
    dict
        ``runs`` (count), ``decisions`` (pass / warn / block counts), ``policies`` (names and versions
        seen), and ``gates``: one entry per check key in order of first appearance, with ``pass``, ``warn``,
        ``block`` and ``skipped`` counts (a failed, errored or not-computable check counts under its rule's
        severity), ``runs`` (runs the check appeared in), ``hit_rate`` = (warn + block) / runs, the
        ``observed`` values per run (None where absent or without a value), the latest ``op`` and
        ``threshold``, and ``trend`` (first, last, min, max, least-squares slope per run, direction
        relative to the rule's operator, sparkline).
    """
    gates: dict[str, dict[str, Any]] = {}
    decisions = {"pass": 0, "warn": 0, "block": 0}
    for idx, run in enumerate(runs):
        decisions[run.decision] = decisions.get(run.decision, 0) + 1
        for c in run.checks:
            g = gates.setdefault(c["key"], {"key": c["key"], "section": c["section"], "name": c["name"],
                                             "metric": c["metric"], "runs": 0, "pass": 0, "warn": 0, "block": 0,
                                             "skipped": 0, "observed": [None] * len(runs)})
            g["runs"] += 1
            g["op"], g["threshold"], g["on_fail"], g["rule"] = c["op"], c["threshold"], c["on_fail"], c.get("rule")
            if c["status"] == "pass":
                g["pass"] += 1
            elif c["status"] in FAILED:
                g[c["on_fail"]] += 1
            else:
                g["skipped"] += 1
            g["observed"][idx] = c["observed"]
    for g in gates.values():
        g["hit_rate"] = (g["warn"] + g["block"]) / g["runs"] if g["runs"] else None
        g["trend"] = trend(g["observed"], g["op"])
    return {"runs": len(runs), "decisions": decisions,
            "policies": sorted({f"{r.policy_name} v{r.policy_version}" for r in runs}),
            "first_run": runs[0].run_id if runs else None, "last_run": runs[-1].run_id if runs else None,
            "gates": list(gates.values())}
