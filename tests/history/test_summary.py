"""Tests of :mod:`gatekit.history.summary`: counts, hit rate and trend of each gate across runs."""

from __future__ import annotations

from typing import Any

import pytest

from gatekit.history.summary import trend
from tests.history.helpers import _gates, _history_json

# --------------------------------------------------------------------------------------------------------------
# gatekit history
# --------------------------------------------------------------------------------------------------------------


def test_trend_slope_by_hand() -> None:
    # x = 0..3, y = 1..4: Sxy = 2.25 + 0.25 + 0.25 + 2.25 = 5, Sxx = 5 -> slope 1
    t = trend([1, 2, 3, 4], ">=")
    assert t["slope_per_run"] == pytest.approx(1.0) and t["direction"] == "improving"
    assert (t["points"], t["first"], t["last"], t["min"], t["max"]) == (4, 1, 4, 1, 4)
    assert trend([1, 2, 3, 4], "<=")["direction"] == "worsening"
    assert trend([4, 3, 2, 1], "<")["direction"] == "improving"
    assert trend([4, 3, 2, 1], ">")["direction"] == "worsening"
    assert trend([1, 2, 3, 4], None)["direction"] == "rising"
    # a gap keeps the run index: x = 0, 2, 3, y = 1, 3, 4 -> Sxy = Sxx = 42/9 -> slope 1
    assert trend([1, None, 3, 4], ">=")["slope_per_run"] == pytest.approx(1.0)
    # equal values are flat; two points are no trend
    assert (trend([0.3] * 4, "<")["direction"], trend([0.3] * 4, "<")["slope_per_run"]) == ("flat", 0.0)
    assert (trend([1, 2], ">=")["direction"], trend([1, 2], ">=")["slope_per_run"]) == ("unknown", None)


def test_history_json_counts_hit_rate_and_trend(store: dict[str, Any]) -> None:
    doc = _history_json(store["db"], "--policy", "trend_demo")
    (entry,) = doc["policies"]
    s = entry["summary"]
    # decisions: run 1 pass; run 2 warn (auc 0.80 < 0.82, warn); run 3 pass; run 4 block (latency 4 > 3)
    assert s["runs"] == 4 and s["decisions"] == {"pass": 2, "warn": 1, "block": 1}
    assert [r["run_id"] for r in entry["runs"]] == store["trend_ids"]
    assert [r["decision"] for r in entry["runs"]] == ["pass", "warn", "pass", "block"]
    g = _gates(doc, "trend_demo")
    lat = g["operational/latency_p95_ms/<="]
    assert (lat["runs"], lat["pass"], lat["warn"], lat["block"], lat["hit_rate"]) == (4, 3, 0, 1, 0.25)
    assert lat["observed"] == [1, 2, 3, 4]
    # slope of 1, 2, 3, 4 per run = 1 (hand: Sxy / Sxx = 5 / 5); rising latency under <= is worsening
    assert lat["trend"]["slope_per_run"] == pytest.approx(1.0) and lat["trend"]["direction"] == "worsening"
    auc = g["performance/auc_roc/>="]
    assert (auc["pass"], auc["warn"], auc["block"], auc["hit_rate"]) == (3, 1, 0, 0.25)
    # y = .90 .80 .85 .95, mean .875: Sxy = -1.5*.025 - .5*-.075 + .5*-.025 + 1.5*.075 = 0.1, Sxx = 5 -> 0.02
    assert auc["trend"]["slope_per_run"] == pytest.approx(0.02) and auc["trend"]["direction"] == "improving"
    ll = g["performance/log_loss/<"]
    assert (ll["pass"], ll["hit_rate"], ll["trend"]["direction"], ll["trend"]["slope_per_run"]) == (4, 0.0, "flat", 0)
    brier = g["performance/brier_score/<="]
    # y = .25 .20 .15 .10: Sxy = -1.5*.075 - .5*.025 + .5*-.025 + 1.5*-.075 = -0.25 -> slope -0.05, improving
    assert brier["trend"]["slope_per_run"] == pytest.approx(-0.05) and brier["trend"]["direction"] == "improving"


def test_the_trend_of_huge_values_is_not_flat() -> None:
    assert trend([1e308, 0.0, 1.7e308, 1e308], "<=")["direction"] != "flat"
