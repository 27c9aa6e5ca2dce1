"""Tests of :mod:`gatekit.history.thresholds`: threshold calibration (``gatekit calibrate``).

Every expected value here was worked out by hand from the definitions in the module docstrings
(gatekit/history/thresholds.py: k = ceil(target * n); for ``>=`` the roundest number in (b, a] nearest a,
where a is the k-th largest value and b the next smaller distinct one; mirror images for the other
operators; when every value must pass, the free end is 5 % of the spread (or magnitude) beyond the extreme
value), never by calling the function under test. The working is in the comments next to each case.
"""

from __future__ import annotations

import json
import math
import operator
import os
import random
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from gatekit.core.results import CheckResult, OnFail, Status
from gatekit.history.runs import RunView
from gatekit.history.store import HistoryStore
from gatekit.history.thresholds import boundary, calibrate, propose_limit, roundest, rule_keys
from gatekit.policy import load_policy
from tests.helpers import _cli
from tests.history.helpers import (
    CALIB_AUCS,
    LATENCY_CHANGE,
    THROUGHPUT_CHANGE,
    _calibrate_json,
    _policy,
    _record,
    _report,
    _store_with_runs,
    _url,
)

OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}


def _passing(values: list[float], op: str, limit: float) -> int:
    """How many values pass ``value OP limit`` (plain Python comparison, independent of gatekit)."""
    return sum(OPS[op](v, limit) for v in values)


# --------------------------------------------------------------------------------------------------------------
# roundest
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("lo", "hi", "lo_open", "hi_open", "prefer_high", "expected"), [
    # (0.71, 0.72]: no integer, no one-decimal number (0.7 <= 0.71); two decimals nearest hi: 0.72
    (0.71, 0.72, True, False, True, 0.72),
    # [0.71, 0.72): 0.72 is excluded, the two-decimal number below it is 0.71 (closed end)
    (0.71, 0.72, False, True, True, 0.71),
    # (0.61, 0.75]: one decimal fits: 0.7 (the only one); fewer decimals beat closeness to hi
    (0.61, 0.75, True, False, True, 0.7),
    (0.61, 0.75, False, True, False, 0.7),
    # [1.2, 3.7]: integers 2 and 3 fit; nearest hi 3, nearest lo 2
    (1.2, 3.7, False, False, True, 3.0),
    (1.2, 3.7, False, False, False, 2.0),
    # (2, 3) open at both integers: one decimal, 2.9 nearest hi, 2.1 nearest lo
    (2.0, 3.0, True, True, True, 2.9),
    (2.0, 3.0, True, True, False, 2.1),
    # [2, 3] closed: the ends themselves
    (2.0, 3.0, False, False, True, 3.0),
    (2.0, 3.0, False, False, False, 2.0),
    # an interval around zero: 0 has no decimals
    (-0.3, 0.2, True, True, True, 0.0),
    (-0.3, 0.2, True, True, False, 0.0),
    # negative: (-0.0723, -0.0312]: no one-decimal number (-0.1 < lo, 0 > hi); two decimals: -0.04 .. -0.07
    (-0.0723, -0.0312, True, False, True, -0.04),
    (-0.0723, -0.0312, True, False, False, -0.07),
    # a single point
    (0.5, 0.5, False, False, True, 0.5),
    # integers all have 0 decimals: the one nearest the preferred end
    (987.5, 1012.25, False, False, True, 1012.0),
    (987.5, 1012.25, False, False, False, 988.0),
])
def test_roundest_hand_values(lo: float, hi: float, lo_open: bool, hi_open: bool, prefer_high: bool,
                              expected: float) -> None:
    got = roundest(lo, hi, lo_open=lo_open, hi_open=hi_open, prefer_high=prefer_high)
    assert got == expected
    assert (lo < got if lo_open else lo <= got) and (got < hi if hi_open else got <= hi)


def test_roundest_has_no_float_noise() -> None:
    # decimal arithmetic on shortest representations: 0.72 is the literal 0.72, not 0.7200000000000001
    got = roundest(0.715, 0.72, lo_open=True, hi_open=False, prefer_high=True)
    assert repr(got) == "0.72"
    got = roundest(0.3, 0.31, lo_open=True, hi_open=False, prefer_high=False)  # (0.3, 0.31]: 0.31
    assert repr(got) == "0.31"


@pytest.mark.parametrize(("lo", "hi", "lo_open", "hi_open"), [
    (0.5, 0.5, True, False), (0.5, 0.5, False, True), (0.5, 0.5, True, True), (0.6, 0.5, False, False),
])
def test_roundest_empty_interval_raises(lo: float, hi: float, lo_open: bool, hi_open: bool) -> None:
    with pytest.raises(ValueError, match="empty interval"):
        roundest(lo, hi, lo_open=lo_open, hi_open=hi_open, prefer_high=True)


# --------------------------------------------------------------------------------------------------------------
# propose_limit
# --------------------------------------------------------------------------------------------------------------


SEVENTIES = [0.74, 0.70, 0.79, 0.71, 0.76, 0.72, 0.78, 0.73, 0.77, 0.75]  # 0.70 .. 0.79, shuffled


@pytest.mark.parametrize(("values", "op", "target", "expected", "passing"), [
    # n = 10, target 0.8 -> k = 8.
    # >=: 8th largest a = 0.72, next smaller b = 0.71 -> (0.71, 0.72] -> 0.72; 0.72..0.79 pass (8)
    (SEVENTIES, ">=", 0.8, 0.72, 8),
    # > : [0.71, 0.72) -> 0.71; values > 0.71 are 0.72..0.79 (8)
    (SEVENTIES, ">", 0.8, 0.71, 8),
    # <=: 8th smallest a = 0.77, next larger b = 0.78 -> [0.77, 0.78) -> 0.77; 0.70..0.77 pass (8)
    (SEVENTIES, "<=", 0.8, 0.77, 8),
    # < : (0.77, 0.78] -> 0.78; values < 0.78 are 0.70..0.77 (8)
    (SEVENTIES, "<", 0.8, 0.78, 8),
    # target 0.1 -> k = 1: >= the largest, 0.79 (only it passes)
    (SEVENTIES, ">=", 0.1, 0.79, 1),
    # a wide gap: k = ceil(0.8 * 5) = 4
    # >=: a = 0.75, b = 0.61 -> (0.61, 0.75] holds 0.7 (one decimal) -> 0.7
    ([0.98, 0.61, 0.92, 0.75, 0.83], ">=", 0.8, 0.7, 4),
    # > : [0.61, 0.75) -> 0.7
    ([0.98, 0.61, 0.92, 0.75, 0.83], ">", 0.8, 0.7, 4),
    # <=: a = 0.92, b = 0.98 -> [0.92, 0.98): no one-decimal number (0.9 < a, 1.0 > b) -> 0.92
    ([0.98, 0.61, 0.92, 0.75, 0.83], "<=", 0.8, 0.92, 4),
    # < : (0.92, 0.98] -> two decimals nearest lo: 0.93
    ([0.98, 0.61, 0.92, 0.75, 0.83], "<", 0.8, 0.93, 4),
])
def test_propose_limit_known_answers(values: list[float], op: str, target: float, expected: float,
                                     passing: int) -> None:
    got = propose_limit(values, op, target)
    assert got == expected
    assert _passing(values, op, got) == passing
    assert passing == math.ceil(target * len(values))


TIES = [5, 3, 1, 8, 3, 6, 2, 7, 3, 4]  # sorted: 1 2 3 3 3 4 5 6 7 8


@pytest.mark.parametrize(("op", "target", "expected", "passing"), [
    # >=, k = 8: desc 8 7 6 5 4 3 3 3 2 1 -> a = 3 (8th), next distinct smaller b = 2 -> (2, 3] -> 3; 8 pass
    (">=", 0.8, 3.0, 8),
    # k = 7: a = 3 again (7th), b = 2 -> 3; the three 3s pass together: 8 pass, more than 7
    (">=", 0.7, 3.0, 8),
    # > , k = 7: [2, 3) -> 2; values > 2: 8
    (">", 0.7, 2.0, 8),
    # <=, k = 3: asc 1 2 3 3 3 ... a = 3 (3rd), next distinct larger b = 4 -> [3, 4) -> 3; 1 2 3 3 3 pass (5)
    ("<=", 0.3, 3.0, 5),
    # < , k = 3: (3, 4] -> 4; values < 4: 5
    ("<", 0.3, 4.0, 5),
])
def test_propose_limit_ties_at_the_boundary_pass_together(op: str, target: float, expected: float,
                                                          passing: int) -> None:
    got = propose_limit(TIES, op, target)
    assert got == expected
    assert _passing(TIES, op, got) == passing
    assert passing >= math.ceil(target * len(TIES))


@pytest.mark.parametrize(("values", "op", "expected"), [
    # all equal 0.5: spread 0 -> magnitude 0.5, free end 0.5 -+ 0.025
    ([0.5] * 5, ">=", 0.5),    # (0.475, 0.5] -> 0.5
    ([0.5] * 5, ">", 0.49),    # [0.475, 0.5): 0.4 < 0.475, so two decimals: 0.49
    ([0.5] * 5, "<=", 0.5),    # [0.5, 0.525) -> 0.5
    ([0.5] * 5, "<", 0.51),    # (0.5, 0.525] -> 0.51
    # all zero: spread 0 and magnitude 0 -> 1.0, free end -+ 0.05
    ([0.0] * 3, ">=", 0.0),    # (-0.05, 0] -> 0
    ([0.0] * 3, ">", -0.01),   # [-0.05, 0) -> -0.01
    ([0.0] * 3, "<=", 0.0),    # [0, 0.05) -> 0
    ([0.0] * 3, "<", 0.01),    # (0, 0.05] -> 0.01
])
def test_propose_limit_all_values_equal(values: list[float], op: str, expected: float) -> None:
    got = propose_limit(values, op, 0.8)
    assert got == expected
    assert _passing(values, op, got) == len(values)  # equal values pass together


@pytest.mark.parametrize(("values", "op", "expected"), [
    # target 1.0: k = n, the free end is 5 % of the spread beyond the extreme value
    # spread 2.0: >= -> (0.62 - 0.1, 0.62] = (0.52, 0.62] -> 0.6
    ([2.62, 0.62, 1.0], ">=", 0.6),
    # <= -> [2.62, 2.72) -> 2.7
    ([2.62, 0.62, 1.0], "<=", 2.7),
    # > -> [0.52, 0.62) -> 0.6;  < -> (2.62, 2.72] -> 2.7
    ([2.62, 0.62, 1.0], ">", 0.6),
    ([2.62, 0.62, 1.0], "<", 2.7),
    # 0.70..0.79: spread 0.09 -> (0.6955, 0.70] -> 0.7 and [0.79, 0.7945) -> 0.79
    (SEVENTIES, ">=", 0.7),
    (SEVENTIES, "<=", 0.79),
])
def test_propose_limit_target_one_lets_every_value_pass(values: list[float], op: str, expected: float) -> None:
    got = propose_limit(values, op, 1.0)
    assert got == expected
    assert _passing(values, op, got) == len(values)


@pytest.mark.parametrize(("op", "target", "expected"), [
    # n = 1: k = 1 whatever the target; free end 5 % of |0.83| = 0.0415
    (">=", 0.8, 0.8),    # (0.7885, 0.83] -> 0.8
    (">", 0.8, 0.8),     # [0.7885, 0.83) -> 0.8
    ("<=", 0.8, 0.83),   # [0.83, 0.8715): 0.9 is beyond -> 0.83
    ("<", 0.8, 0.84),    # (0.83, 0.8715] -> 0.84
    (">=", 0.01, 0.8),
    ("<=", 1.0, 0.83),
])
def test_propose_limit_single_run(op: str, target: float, expected: float) -> None:
    got = propose_limit([0.83], op, target)
    assert got == expected
    assert _passing([0.83], op, got) == 1


@pytest.mark.parametrize("op", [">=", ">", "<=", "<"])
@pytest.mark.parametrize("target", [0.05, 0.5, 0.8, 0.9, 1.0])
def test_propose_limit_gives_the_stated_pass_count(op: str, target: float) -> None:
    """On random histories (with ties): the limit passes exactly the values at least as good as the k-th."""
    rng = random.Random(20261130)
    for _ in range(40):
        n = rng.randint(1, 25)
        values = [round(rng.uniform(0.5, 1.0), rng.choice([1, 2, 3])) for _ in range(n)]
        k = math.ceil(target * n)
        high_good = op in (">=", ">")
        kth = sorted(values, reverse=high_good)[k - 1]
        at_least_as_good = sum(v >= kth for v in values) if high_good else sum(v <= kth for v in values)
        got = propose_limit(values, op, target)
        assert _passing(values, op, got) == at_least_as_good >= k, (values, op, target, got)
        worse = [v for v in values if (v < kth if high_good else v > kth)]
        if worse:  # the next worse value fails
            nxt = max(worse) if high_good else min(worse)
            assert not OPS[op](nxt, got), (values, op, target, got)


# --------------------------------------------------------------------------------------------------------------
# calibrate() on synthetic runs: relative rules, clamping, missing values, confidence rules
# --------------------------------------------------------------------------------------------------------------


def _view(i: int, checks: dict[str, float | None]) -> RunView:
    return RunView(run_id=f"r{i}", started_at=datetime(2026, 1, 1, tzinfo=timezone.utc), policy_name="unit",
                   policy_version="1", policy_sha256="0" * 64, decision="pass", reason="", enforcement="enforced",
                   model_sha256=None, data_sha256=None, legitimate=None,
                   checks=[{"key": k, "observed": v} for k, v in checks.items()])


@pytest.fixture
def unit_policy(tmp_path: Path) -> Any:
    (tmp_path / "base.json").write_text('{"throughput_rows_per_s": 1000, "latency_p95_ms": 50}', encoding="utf-8")
    p = tmp_path / "unit.yaml"
    p.write_text(
        "version: 1\nname: unit\ninputs:\n  baseline:\n    metrics: base.json\nmetrics:\n"
        "  - {name: throughput_rows_per_s, max_drop: 5}\n"
        "  - {name: auc_roc, op: '>=', value: 0.9, confidence: 0.95}\n"
        "  - {name: latency_p95_ms, max_increase: 3}\n"
        "  - {name: latency_p95_ms, within: 3}\n", encoding="utf-8")
    return load_policy(p)


THR = "operational/throughput_rows_per_s vs baseline/>="
AUC = "performance/auc_roc/>="
LAT = "operational/latency_p95_ms vs baseline/<="


def _views(**columns: list[float | None]) -> list[RunView]:
    keys = {"thr": THR, "auc": AUC, "lat": LAT}
    n = len(next(iter(columns.values())))
    return [_view(i, {keys[c]: vals[i] for c, vals in columns.items()}) for i in range(n)]


def test_rule_keys_name_the_checks(unit_policy: Any) -> None:
    assert rule_keys(unit_policy) == [THR, AUC, LAT, "operational/latency_p95_ms vs baseline/within"]


def test_calibrate_clamps_relative_limits_missing_values_and_confidence(unit_policy: Any) -> None:
    runs = _views(thr=[10.0, 20.0, 30.0, 40.0, -5.0], auc=[0.9, 0.95, None, 0.85, 0.8],
                  lat=[-1.0, -2.0, -3.0, -4.0, 2.0])
    thr, auc, lat, within = calibrate(unit_policy, runs, 0.8)
    # throughput changes, k = 4 of 5: desc 40 30 20 10 -5 -> a = 10, b = -5 -> (-5, 10] -> 10, i.e. max_drop
    # -10, which asks for an improvement: clamped to 0 (change >= 0: 4 of 5 pass); now (>= -5) all 5 pass
    assert (thr.field, thr.current, thr.proposed, thr.status) == ("max_drop", 5.0, 0.0, "proposed")
    assert "improvement" in thr.note
    assert (thr.current_pass_rate, thr.proposed_pass_rate) == (1.0, 0.8)
    # auc 0.9 0.95 0.85 0.8 and one run without a value: n = 4, k = 4, a = 0.8, free end 0.8 - 0.05 * 0.15
    # -> (0.7925, 0.8] -> 0.8; now (>= 0.9) 2 of 4 pass
    assert (auc.values, auc.missing, auc.proposed, auc.status) == (4, 1, 0.8, "proposed")
    assert (auc.current_pass_rate, auc.proposed_pass_rate) == (0.5, 1.0)
    assert "point values" in auc.note
    # latency changes, k = 4: asc -4 -3 -2 -1 2 -> a = -1, b = 2 -> [-1, 2) -> -1 as max_increase: clamped to 0
    # (change <= 0: 4 of 5); now (<= 3) all pass
    assert (lat.field, lat.proposed, lat.status) == ("max_increase", 0.0, "proposed") and "improvement" in lat.note
    assert (lat.current_pass_rate, lat.proposed_pass_rate) == (1.0, 0.8)
    # a two-sided `within` rule is not calibrated
    assert within.status == "skipped" and within.proposed is None and "within" in within.note


def test_calibrate_keeps_a_current_limit_that_already_passes_the_same_runs(tmp_path: Path) -> None:
    p = tmp_path / "keep.yaml"
    p.write_text("version: 1\nname: keep\nmetrics:\n  - {name: auc_roc, op: '>=', value: 0.715}\n", encoding="utf-8")
    lp = load_policy(p)
    runs = _views(auc=list(SEVENTIES))
    # target 0.8: the roundest limit would be 0.72, but the current 0.715 already passes the same 8 runs
    (auc,) = calibrate(lp, runs, 0.8)
    assert (auc.proposed, auc.status, auc.current_pass_rate, auc.proposed_pass_rate) == (0.715, "unchanged", 0.8,
                                                                                         0.8)
    # target 0.5: k = 5, a = 0.75, b = 0.74 -> 0.75; 0.715 passes 8, so the limit moves
    (auc,) = calibrate(lp, runs, 0.5)
    assert (auc.proposed, auc.status, auc.current_pass_rate, auc.proposed_pass_rate) == (0.75, "proposed", 0.8, 0.5)
    # an AUC of 1.0 four times and 0.5 once, k = 4: (0.5, 1] -> 1 would be the roundest, yet the current 0.715
    # passes the same four runs
    (auc,) = calibrate(lp, _views(auc=[1.0, 1.0, 0.5, 1.0, 1.0]), 0.8)
    assert (auc.proposed, auc.status) == (0.715, "unchanged")


def test_calibrate_reports_ties_and_few_runs(unit_policy: Any) -> None:
    # auc 0.1 .. 0.8 with three 0.3s, target 0.7: k = 7, a = 0.3, b = 0.2 -> 0.3; 8 of 10 pass (ties)
    runs = _views(auc=[0.5, 0.3, 0.1, 0.8, 0.3, 0.6, 0.2, 0.7, 0.3, 0.4])
    (auc,) = [p for p in calibrate(unit_policy, runs, 0.7) if p.key == AUC]
    assert (auc.proposed, auc.proposed_pass_rate) == (0.3, 0.8)
    assert "ties" in auc.note and "rough" not in auc.note
    (auc,) = [p for p in calibrate(unit_policy, runs[:3], 0.7) if p.key == AUC]
    assert "only 3 runs" in auc.note


def test_calibrate_note_matches_an_unchanged_clamped_limit(unit_policy: Any) -> None:
    # changes 10, 20, 30, k = 3: max_drop -10 -> clamped to 0, which passes all 3, as the current 5 does
    thr = calibrate(unit_policy, _views(thr=[10.0, 20.0, 30.0]), 0.8)[0]
    assert (thr.proposed, thr.status) == (5.0, "unchanged")
    assert "proposed 0 instead" not in thr.note


def test_calibrate_skips_a_superiority_rule(tmp_path: Path) -> None:
    # min_increase is the gain the candidate must show: past changes cannot set it as they set a tolerance
    (tmp_path / "base.json").write_text('{"auc_roc": 0.8}', encoding="utf-8")
    p = tmp_path / "sup.yaml"
    p.write_text("version: 1\nname: sup\ninputs:\n  baseline:\n    metrics: base.json\nmetrics:\n"
                 "  - {name: auc_roc, min_increase: 0.01}\n", encoding="utf-8")
    policy = load_policy(p)
    (key,) = rule_keys(policy)
    (sup,) = calibrate(policy, [_view(i, {key: v}) for i, v in enumerate([0.02, 0.03, -0.01])], 0.8)
    assert sup.status == "skipped" and sup.proposed is None and "superiority" in sup.note


def test_calibrate_rejects_a_target_outside_0_1(unit_policy: Any) -> None:
    for bad in (0.0, -0.5, 1.5):
        with pytest.raises(ValueError, match=r"\(0, 1\]"):
            calibrate(unit_policy, [_view(0, {AUC: 0.9})], bad)


def test_calibrate_skips_a_rule_without_values(unit_policy: Any) -> None:
    thr = calibrate(unit_policy, _views(auc=[0.9, 0.8]), 0.8)[0]
    assert thr.status == "skipped" and thr.proposed is None and (thr.values, thr.missing) == (0, 2)


# --------------------------------------------------------------------------------------------------------------
# End to end: runs recorded by `gatekit run`, then `gatekit calibrate` / `gatekit history`
# --------------------------------------------------------------------------------------------------------------


# The same text with the limits at the hand-computed proposals and the version bumped (written by hand).
CALIB_PROPOSED_BODY = """\
# Calibration test policy: this comment must survive.
version: 5
name: calib_e2e
inputs:
  baseline:
    metrics: base.json   # production's figures
metrics:
  # ranking quality
  - name: auc_roc
    op: ">="
    value: 0.72          # far too strict for this history
    on_fail: block
  - {name: log_loss, op: "<", value: 0.35, on_fail: warn}
  - name: throughput_rows_per_s
    max_drop: 9          # rows/s
  - {name: latency_p95_ms, max_increase: 2}   # ms
  - {name: throughput_rows_per_s, max_drop_pct: 1}
  - {name: latency_p95_ms, max_increase_pct: 4}
  - {name: mape, within: 3}
"""


def _by_rule(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["rule"]: r for r in doc["rules"]}


def test_calibrate_json_has_the_hand_computed_proposals(work: dict[str, Any]) -> None:
    original = work["policy"].read_bytes()
    doc = _calibrate_json(work["policy"], work["db"])
    assert doc["runs"] == 10 and doc["target_pass_rate"] == 0.8 and doc["not_written"] == []
    r = _by_rule(doc)
    # auc_roc >= : 0.70..0.79, k = 8 -> 0.72; at 0.90 none pass, at 0.72 eight
    assert {k: r["metrics[0]"][k] for k in ("field", "current", "proposed", "values", "missing", "current_pass_rate",
                                             "proposed_pass_rate", "status")} == {
        "field": "value", "current": 0.9, "proposed": 0.72, "values": 10, "missing": 0, "current_pass_rate": 0.0,
        "proposed_pass_rate": 0.8, "status": "proposed"}
    assert r["metrics[0]"]["key"] == "performance/auc_roc/>="
    # log_loss < : 0.20..0.38 step 0.02, k = 8: a = 0.34, b = 0.36 -> (0.34, 0.36] -> 0.35; now all pass (< 0.5)
    assert (r["metrics[1]"]["proposed"], r["metrics[1]"]["current_pass_rate"],
            r["metrics[1]"]["proposed_pass_rate"]) == (0.35, 1.0, 0.8)
    # throughput max_drop: changes sorted desc 5 4 2 0 -1 -3 -6 -8.25 -12.5 -20, k = 8: a = -8.25, b = -12.5
    # -> change >= limit in (-12.5, -8.25] -> -9 -> max_drop 9 (= -proposed change). Now (max_drop 5) 6 pass.
    thr = r["metrics[2]"]
    assert (thr["field"], thr["current"], thr["proposed"]) == ("max_drop", 5.0, 9.0)
    assert (thr["current_pass_rate"], thr["proposed_pass_rate"]) == (0.6, 0.8)
    assert thr["key"] == "operational/throughput_rows_per_s vs baseline/>="
    # latency max_increase: changes sorted 0 .25 .5 .75 1 1 1.5 2 3 4, k = 8: a = 2, b = 3 -> [2, 3) -> 2
    lat = r["metrics[3]"]
    assert (lat["field"], lat["current"], lat["proposed"]) == ("max_increase", 1.0, 2.0)
    assert (lat["current_pass_rate"], lat["proposed_pass_rate"]) == (0.6, 0.8)
    # percent changes 100 (c - b) / |b| of throughput: -1.25 -0.3 0.5 -0.825 0 -0.1 0.2 -2 0.4 -0.6, k = 8:
    # a = -0.825, b = -1.25 -> (-1.25, -0.825] -> -1 -> max_drop_pct 1; now (>= -0.5) 6 pass
    pct = r["metrics[4]"]
    assert (pct["field"], pct["current"], pct["proposed"]) == ("max_drop_pct", 0.5, 1.0)
    assert (pct["current_pass_rate"], pct["proposed_pass_rate"]) == (0.6, 0.8)
    assert pct["key"] == "operational/throughput_rows_per_s vs baseline/>=#2"  # the second rule of that key
    # latency percent changes (2 x the ms change): sorted 0 .5 1 1.5 2 2 3 4 6 8, k = 8: a = 4, b = 6 -> 4
    pct = r["metrics[5]"]
    assert (pct["field"], pct["current"], pct["proposed"]) == ("max_increase_pct", 2.0, 4.0)
    assert (pct["current_pass_rate"], pct["proposed_pass_rate"]) == (0.6, 0.8)
    # the two-sided within rule is reported as skipped
    assert r["metrics[6]"]["status"] == "skipped" and r["metrics[6]"]["proposed"] is None
    # the proposed pass counts, checked on the raw figures
    assert sum(a >= 0.72 for a in CALIB_AUCS) == 8
    assert sum(c >= -9 for c in THROUGHPUT_CHANGE) == 8 and sum(c <= 2 for c in LATENCY_CHANGE) == 8
    # the proposed file sits beside the policy; the original is untouched
    out = work["dir"] / "calib.proposed.yaml"
    assert Path(doc["proposed_file"]).resolve() == out.resolve()
    assert work["policy"].read_bytes() == original


def test_calibrate_writes_the_proposed_file_keeping_comments(work: dict[str, Any]) -> None:
    original = work["policy"].read_bytes()
    _calibrate_json(work["policy"], work["db"])
    text = (work["dir"] / "calib.proposed.yaml").read_text(encoding="utf-8")
    assert text.endswith(CALIB_PROPOSED_BODY)
    header = text[: -len(CALIB_PROPOSED_BODY)]
    assert header and all(line.startswith("#") for line in header.splitlines())
    assert work["policy"].read_bytes() == original
    # it is a valid policy of the same name, with its relative baseline path still resolving
    lp = load_policy(work["dir"] / "calib.proposed.yaml")
    assert lp.name == "calib_e2e" and lp.policy.version == 5
    assert [m.value if m.relative is None else m.relative[1] for m in lp.policy.metrics] == [0.72, 0.35, 9, 2, 1, 4, 3]


def test_calibrating_the_proposed_policy_changes_nothing(work: dict[str, Any]) -> None:
    _calibrate_json(work["policy"], work["db"])
    proposed = work["dir"] / "calib.proposed.yaml"
    doc = _calibrate_json(proposed, work["db"])
    assert [r["status"] for r in doc["rules"]] == ["unchanged"] * 6 + ["skipped"]
    assert doc["proposed_file"] is None
    assert not (work["dir"] / "calib.proposed.proposed.yaml").exists()


def test_calibrate_last_n(work: dict[str, Any]) -> None:
    r = _by_rule(_calibrate_json(work["policy"], work["db"], "--last", "5"))
    # last five runs: auc 0.72 0.78 0.74 0.73 0.76, k = 4: a = 0.73, b = 0.72 -> 0.73
    assert (r["metrics[0]"]["values"], r["metrics[0]"]["proposed"], r["metrics[0]"]["proposed_pass_rate"]) == (
        5, 0.73, 0.8)
    # throughput changes -1 2 -20 4 -6, k = 4: a = -6, b = -20 -> -6 -> max_drop 6
    assert r["metrics[2]"]["proposed"] == 6.0


def test_calibrate_target_pass_rate_and_out(work: dict[str, Any]) -> None:
    out = work["dir"] / "sub" / "tight.yaml"
    doc = _calibrate_json(work["policy"], work["db"], "--target-pass-rate", "1.0", "--out", out)
    r = _by_rule(doc)
    # target 1: auc >= min = 0.70 (free end 0.6955) -> 0.7; latency <= max change 4 (free end 4.2) -> 4
    assert r["metrics[0]"]["proposed"] == 0.7 and r["metrics[0]"]["proposed_pass_rate"] == 1.0
    assert r["metrics[3]"]["proposed"] == 4.0
    # throughput: changes >= -20, free end -20 - 0.05 * 25 = -21.25 -> (-21.25, -20] -> -20 -> max_drop 20
    assert r["metrics[2]"]["proposed"] == 20.0
    assert Path(doc["proposed_file"]).resolve() == out.resolve() and out.is_file()
    assert not (work["dir"] / "calib.proposed.yaml").exists()


def test_calibrate_refuses_to_overwrite_the_policy(work: dict[str, Any]) -> None:
    original = work["policy"].read_bytes()
    res = _cli("calibrate", "--policy", work["policy"], "--history", _url(work["db"]), "--out", work["policy"])
    assert res.exit_code == 2
    assert "never edits the original" in res.stderr
    assert work["policy"].read_bytes() == original
    # also when --out names it by another path
    res = _cli("calibrate", "--policy", work["policy"], "--history", _url(work["db"]),
               "--out", work["dir"] / "sub" / ".." / "calib.yaml")
    assert res.exit_code == 2 and work["policy"].read_bytes() == original


def test_calibrate_leaves_out_runs_marked_not_legitimate(work: dict[str, Any]) -> None:
    ids, url = work["ids"], _url(work["db"])
    res = _cli("history", "mark", ids[1], ids[3], "--not-legitimate", "--history", url)  # auc 0.71 and 0.70
    assert res.exit_code == 0, res.output
    assert "marked 2 runs not legitimate" in res.stdout
    doc = _calibrate_json(work["policy"], work["db"])
    r = _by_rule(doc)
    # eight runs left, auc 0.72..0.79, k = ceil(6.4) = 7: a = 0.73, b = 0.72 -> 0.73, 7 of 8 pass
    assert doc["runs"] == 8
    assert (r["metrics[0]"]["proposed"], r["metrics[0]"]["proposed_pass_rate"]) == (0.73, 7 / 8)
    # throughput changes without -3 and -8.25: 5 4 2 0 -1 -6 -12.5 -20, k = 7: a = -12.5, b = -20 -> -13
    assert r["metrics[2]"]["proposed"] == 13.0
    # marks show in the history
    hist = json.loads(_cli("history", "--policy", "calib_e2e", "--history", url, "--format", "json").stdout)
    marks = {run["run_id"]: run["legitimate"] for run in hist["policies"][0]["runs"]}
    assert marks[ids[1]] is False and marks[ids[3]] is False and marks[ids[0]] is None
    # --clear takes the mark off: all ten runs again
    assert _cli("history", "mark", ids[1], ids[3], "--clear", "--history", url).exit_code == 0
    doc = _calibrate_json(work["policy"], work["db"], "--force")  # the first proposal is replaced
    assert doc["runs"] == 10 and _by_rule(doc)["metrics[0]"]["proposed"] == 0.72


def test_calibrate_legitimate_only(work: dict[str, Any]) -> None:
    ids, url = work["ids"], _url(work["db"])
    res = _cli("calibrate", "--policy", work["policy"], "--history", url, "--legitimate-only")
    assert res.exit_code == 2 and "marked legitimate" in res.stderr  # nothing marked yet
    assert _cli("history", "mark", ids[0], ids[2], ids[4], "--legitimate", "--history", url).exit_code == 0
    assert _cli("history", "mark", ids[1], "--not-legitimate", "--history", url).exit_code == 0
    doc = _calibrate_json(work["policy"], work["db"], "--legitimate-only")
    # auc 0.75, 0.79, 0.77: k = 3, a = 0.75, free end 0.75 - 0.05 * 0.04 = 0.748 -> (0.748, 0.75] -> 0.75
    assert doc["runs"] == 3 and _by_rule(doc)["metrics[0]"]["proposed"] == 0.75
    # without the flag: every run not marked otherwise (9: the legitimate ones and the unmarked ones)
    assert _calibrate_json(work["policy"], work["db"], "--force")["runs"] == 9


EXT_BASE = """\
version: 1
name: base_rules
metrics:
  - {name: auc_roc, op: ">=", value: 0.9}
  - {name: log_loss, op: "<", value: 0.5}
"""
EXT_CHILD = """\
# child policy: overrides log_loss, inherits auc_roc
extends: base.yaml
version: 7
name: calib_child
metrics:
  - {name: log_loss, op: "<", value: 0.45, on_fail: warn}
"""


def test_calibrate_reports_an_inherited_rule_as_not_written(tmp_path: Path) -> None:
    base, child, db = tmp_path / "base.yaml", tmp_path / "child.yaml", tmp_path / "h.db"
    base.write_text(EXT_BASE, encoding="utf-8")
    child.write_text(EXT_CHILD, encoding="utf-8")
    base_bytes, child_bytes = base.read_bytes(), child.read_bytes()
    for i in range(5):  # auc 0.70..0.74, log_loss 0.20..0.28
        _record(child, {"auc_roc": [0.70, 0.71, 0.72, 0.73, 0.74][i], "log_loss": [0.20, 0.22, 0.24, 0.26, 0.28][i]},
                db, tmp_path / "runs" / str(i))
    doc = _calibrate_json(child, db)
    r = _by_rule(doc)
    # merged order: the base's auc rule, then the child's log_loss; k = 4 of 5
    # auc: a = 0.71, b = 0.70 -> 0.71;  log_loss <: a = 0.26, b = 0.28 -> (0.26, 0.28] -> 0.27
    assert (r["metrics[0]"]["label"], r["metrics[0]"]["proposed"]) == ("auc_roc >= 0.9", 0.71)
    assert (r["metrics[1]"]["label"], r["metrics[1]"]["proposed"]) == ("log_loss < 0.45", 0.27)
    assert len(doc["not_written"]) == 1
    assert doc["not_written"][0].startswith("auc_roc >= 0.9: inherited from a base policy")
    assert "value: 0.71" in doc["not_written"][0]
    text = (tmp_path / "child.proposed.yaml").read_text(encoding="utf-8")
    assert text.endswith(EXT_CHILD.replace("version: 7", "version: 8").replace("value: 0.45", "value: 0.27"))
    assert base.read_bytes() == base_bytes and child.read_bytes() == child_bytes
    assert not (tmp_path / "base.proposed.yaml").exists()
    lp = load_policy(tmp_path / "child.proposed.yaml")  # still extends base.yaml, beside it
    assert [(m.name, m.value) for m in lp.policy.metrics] == [("auc_roc", 0.9), ("log_loss", 0.27)]
    # the table form says so too
    res = _cli("calibrate", "--policy", child, "--history", _url(db), "--out", tmp_path / "again.yaml")
    assert res.exit_code == 0 and "not written: auc_roc >= 0.9: inherited from a base policy" in res.stdout


# --------------------------------------------------------------------------------------------------------------
# Bugs the helper found, fixed (kept as regression tests)
# --------------------------------------------------------------------------------------------------------------


def test_calibrate_writes_both_of_two_rules_on_the_same_metric_and_operator(tmp_path: Path) -> None:
    policy, db = tmp_path / "levels.yaml", tmp_path / "h.db"
    policy.write_text("version: 1\nname: levels\nmetrics:\n"
                      "  - {name: auc_roc, op: \">=\", value: 0.9, on_fail: warn}\n"
                      "  - {name: auc_roc, op: \">=\", value: 0.8, on_fail: block}\n", encoding="utf-8")
    for i, auc in enumerate([0.70, 0.71, 0.72, 0.73, 0.74]):
        _record(policy, {"auc_roc": auc}, db, tmp_path / "runs" / str(i))
    doc = _calibrate_json(policy, db)
    # both rules see auc 0.70..0.74; k = 4: a = 0.71, b = 0.70 -> 0.71 for each
    assert [r["proposed"] for r in doc["rules"]] == [0.71, 0.71]
    assert [r["key"] for r in doc["rules"]] == ["performance/auc_roc/>=", "performance/auc_roc/>=#2"]
    text = (tmp_path / "levels.proposed.yaml").read_text(encoding="utf-8")
    assert text.endswith("version: 2\nname: levels\nmetrics:\n"
                         "  - {name: auc_roc, op: \">=\", value: 0.71, on_fail: warn}\n"
                         "  - {name: auc_roc, op: \">=\", value: 0.71, on_fail: block}\n")


def test_calibrate_max_drop_on_noisy_changes_proposes_the_hand_value(tmp_path: Path) -> None:
    policy, db = tmp_path / "drop.yaml", tmp_path / "h.db"
    (tmp_path / "base.json").write_text('{"precision_at_0_5": 0.80}', encoding="utf-8")
    policy.write_text("version: 1\nname: drop\ninputs:\n  baseline:\n    metrics: base.json\nmetrics:\n"
                      "  - {name: precision_at_0_5, max_drop: 0.05}\n", encoding="utf-8")
    for i, p in enumerate([0.77, 0.79, 0.81, 0.83, 0.85]):
        _record(policy, {"precision_at_0_5": p}, db, tmp_path / "runs" / str(i))
    (rule,) = _calibrate_json(policy, db)["rules"]
    # changes -0.03 -0.01 +0.01 +0.03 +0.05; k = 4 of 5: the 4th largest change is -0.01, the next -0.03:
    # limit in (-0.03, -0.01] -> -0.01 -> max_drop 0.01; with it 4 of 5 runs pass (gatekit's own check
    # treats -0.010000000000000009 >= -0.01 as met)
    assert rule["proposed"] == 0.01
    assert rule["proposed_pass_rate"] == 0.8


def test_calibrate_strict_limit_passes_the_target_share_under_gatekits_comparison(tmp_path: Path) -> None:
    p = tmp_path / "strict.yaml"
    p.write_text("version: 1\nname: strict\nmetrics:\n  - {name: auc_roc, op: '>', value: 0.9}\n", encoding="utf-8")
    # 0.1 * 7 == 0.7000000000000001, as a value computed from data may be; k = 4 of 5: desc .95 .9 .8 .7(+) .65
    # -> a limit in [0.65, 0.7000000000000001) that lets the 4th value pass: 0.7 does not (it is "equal")
    runs = [_view(i, {"performance/auc_roc/>": v}) for i, v in enumerate([0.1 * 7, 0.65, 0.8, 0.9, 0.95])]
    (auc,) = calibrate(load_policy(p), runs, 0.8)
    assert auc.values == 5
    assert auc.proposed_pass_rate == 0.8
    assert 0.65 <= auc.proposed < 0.7


AUCS = [0.80, 0.81, 0.82, 0.83, 0.84, 0.85, 0.86, 0.87, 0.88, 0.89]


def test_calibrate_flow_style_and_odd_number_spellings(tmp_path: Path) -> None:
    policy = _policy(tmp_path, """\
        # keep me
        version: 3
        name: odd
        metrics:
          - {name: auc_roc, op: ">=", value: 9e-1, on_fail: block}
          - {name: log_loss, op: "<", value: .5, on_fail: warn}
          - {name: brier_score, within: 0.1}
        """)
    db = tmp_path / "h.db"
    with HistoryStore(_url(db)) as st:
        for i, a in enumerate(AUCS):
            r = _report(f"o{i}", f"2026-01-01T00:00:{i:02d}+00:00", [a], policy="odd")
            r.checks.append(CheckResult(name="log_loss", section="performance", metric="log_loss", status=Status.PASS,
                                        on_fail=OnFail.WARN, observed=0.3 + i / 100, op="<", threshold=0.5,
                                        message="m", details={"rule": "metrics[1]"}))
            st.record(r)
    res = _cli("calibrate", "--policy", policy, "--history", db, "--format", "json")
    assert res.exit_code == 0, res.output
    rules = {r["rule"]: r for r in json.loads(res.stdout)["rules"]}
    assert rules["metrics[0]"]["proposed"] == 0.82 and rules["metrics[1]"]["proposed"] == 0.38
    assert rules["metrics[2]"]["status"] == "skipped"
    out = tmp_path / "policy.proposed.yaml"
    text = out.read_text(encoding="utf-8")
    assert "# keep me" in text and "{name: auc_roc, op: \">=\", value: 0.82, on_fail: block}" in text
    assert load_policy(out).policy.version == 4
    diff = _cli("policy", "diff", policy, out)
    assert diff.exit_code == 0 and "0.9 → 0.82" in diff.output and "0.5 → 0.38" in diff.output


def test_calibrate_without_runs_or_values(tmp_path: Path) -> None:
    policy = _policy(tmp_path, 'version: 1\nname: none\nmetrics:\n  - {name: auc_roc, op: ">=", value: 0.9}\n')
    db = tmp_path / "h.db"
    _store_with_runs(db, "other", [0.9])
    res = _cli("calibrate", "--policy", policy, "--history", db)
    assert res.exit_code == 2 and "no recorded runs" in res.output
    _store_with_runs(db, "none", [None, None])  # never computable
    res = _cli("calibrate", "--policy", policy, "--history", db, "--format", "json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["proposed_file"] is None and doc["rules"][0]["status"] == "skipped"


def test_calibrate_never_writes_over_the_policy_through_a_hard_link(tmp_path: Path) -> None:
    policy = _policy(tmp_path, 'version: 1\nname: hl\nmetrics:\n  - {name: auc_roc, op: ">=", value: 0.99}\n')
    original = policy.read_bytes()
    os.link(policy, tmp_path / "hard.yaml")
    db = tmp_path / "h.db"
    _store_with_runs(db, "hl", AUCS)
    _cli("calibrate", "--policy", policy, "--history", db, "--out", tmp_path / "hard.yaml")
    assert policy.read_bytes() == original


def test_calibrate_with_a_yaml_anchor_writes_a_loadable_policy_or_refuses(tmp_path: Path) -> None:
    policy = _policy(tmp_path, """\
        version: 1
        name: anc
        metrics:
          - {name: auc_roc, op: ">=", value: &lim 0.99}
          - {name: accuracy, op: ">=", value: *lim}
        """)
    db = tmp_path / "h.db"
    with HistoryStore(_url(db)) as st:
        for i, a in enumerate(AUCS):
            r = _report(f"a{i}", f"2026-01-01T00:00:{i:02d}+00:00", [a], policy="anc")
            r.checks.append(CheckResult(name="accuracy", section="performance", metric="accuracy",
                                        status=Status.FAIL, on_fail=OnFail.BLOCK, observed=0.9 + i / 100, op=">=",
                                        threshold=0.99, message="m", details={"rule": "metrics[1]"}))
            st.record(r)
    res = _cli("calibrate", "--policy", policy, "--history", db)
    if res.exit_code == 0:
        load_policy(tmp_path / "policy.proposed.yaml")  # must not raise
    else:
        assert res.exit_code == 2


@pytest.mark.parametrize(("written", "bumped"), [("0x1F", 32), ("017", 16), ("0b11", 4)])
def test_calibrate_bumps_the_version_gatekit_read(tmp_path: Path, written: str, bumped: int) -> None:
    policy = _policy(tmp_path, f'version: {written}\nname: ver\nmetrics:\n  - {{name: auc_roc, op: ">=", '
                               'value: 0.99}\n')
    db = tmp_path / "h.db"
    _store_with_runs(db, "ver", AUCS)
    res = _cli("calibrate", "--policy", policy, "--history", db)
    assert res.exit_code == 0, res.output
    assert load_policy(tmp_path / "policy.proposed.yaml").policy.version == bumped


def test_calibrate_out_elsewhere_keeps_the_policy_runnable(tmp_path: Path) -> None:
    policy = _policy(tmp_path, """\
        version: 1
        name: rel
        inputs:
          baseline:
            metrics: base.json
        metrics:
          - {name: auc_roc, op: ">=", value: 0.99}
        """)
    (tmp_path / "base.json").write_text('{"auc_roc": 0.8}', encoding="utf-8")
    (tmp_path / "m.json").write_text('{"auc_roc": 0.85}', encoding="utf-8")
    db = tmp_path / "h.db"
    _store_with_runs(db, "rel", AUCS)
    out = tmp_path / "sub" / "proposed.yaml"
    res = _cli("calibrate", "--policy", policy, "--history", db, "--out", out)
    assert res.exit_code == 0, res.output
    warned = "relative" in res.output
    run = _cli("run", out, "--metrics", tmp_path / "m.json", "--no-history", "--out", tmp_path / "r", "-q")
    assert warned or run.exit_code != 2, run.output


def test_propose_limit_for_the_smallest_positive_value() -> None:
    limit = propose_limit([5e-324], ">=", 0.8)
    assert limit <= 5e-324


def test_propose_limit_for_huge_and_tiny_targets() -> None:
    values = [float(v) for v in range(1, 11)]
    assert propose_limit(values, ">=", 1.0) <= 1.0
    assert propose_limit(values, ">=", 0.01) == 10.0
    assert propose_limit([1e308, 1.5e308], "<=", 1.0) >= 1.5e308


# --------------------------------------------------------------------------------------------------------------
# --out never replaces a file the policy reads
# --------------------------------------------------------------------------------------------------------------


READS_EVERYTHING = """\
version: 1
extends: lib/mid.yaml
inputs: {data: d/eval.csv, target: y, model: m/model.skops, reference: d/ref.csv, baseline: {metrics: d/prod.json}}
artifact:
  signature: {file: m/model.sig, public_key: keys/pub.pem}
  metadata: {file: m/card.yaml, production_file: m/prod_card.yaml}
security: {licenses: {requirements: requirements.txt, deny: [GPL-3.0]}}
compatibility: {feature_signature: {mode: strict, expected_file: sig.yaml}}
data_quality: {suites: [suites/s.json], expectations_dir: exps}
canary: {data: d/canary.csv, target: y, score: score, rules: [{name: auc_roc, max_drop: 0.05}]}
operational: {latency_samples: d/lat.csv}
metrics:
  - {name: auc_roc, op: ">=", value: 0.5}
"""

# every file READS_EVERYTHING reads, by the role the refusal names (written out by hand from the policy above)
READ_ROLES = [
    ("p.yaml", "the policy itself"),
    ("lib/mid.yaml", "extends: base"),
    ("lib/base.yaml", "extends: base"),  # a base of the base
    ("d/eval.csv", "inputs.data"),
    ("m/model.skops", "inputs.model"),
    ("d/ref.csv", "inputs.reference"),
    ("d/prod.json", "inputs.baseline.metrics"),
    ("m/model.sig", "artifact.signature.file"),
    ("keys/pub.pem", "artifact.signature.public_key"),
    ("m/card.yaml", "artifact.metadata.file"),
    ("m/prod_card.yaml", "artifact.metadata.production_file"),
    ("requirements.txt", "security.licenses.requirements"),
    ("sig.yaml", "compatibility.feature_signature.expected_file"),
    ("suites/s.json", "data_quality.suites[0]"),
    ("d/canary.csv", "canary.data"),
    ("d/lat.csv", "operational.latency_samples"),
]


@pytest.fixture
def reads_everything(tmp_path: Path) -> Path:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "base.yaml").write_text("version: 1\n", encoding="utf-8")
    (tmp_path / "lib" / "mid.yaml").write_text("version: 1\nextends: base.yaml\n", encoding="utf-8")
    policy = tmp_path / "p.yaml"
    policy.write_text(READS_EVERYTHING, encoding="utf-8")
    return policy


@pytest.mark.parametrize(("rel", "role"), READ_ROLES)
def test_check_out_refuses_every_file_the_policy_reads(reads_everything: Path, rel: str, role: str) -> None:
    from gatekit.history.thresholds import check_out

    lp = load_policy(reads_everything)
    out = reads_everything.parent / rel
    with pytest.raises(ValueError) as info:
        check_out(lp, out)
    msg = str(info.value)
    if role == "the policy itself":
        assert msg == f"{out} is the policy itself; calibrate never edits the original: give another --out"
    else:
        assert msg == (f"{out} is {out.resolve()}, the policy's {role}; calibrate never overwrites a file it "
                       "reads: give another --out")
    # another spelling of the same path is the same file
    with pytest.raises(ValueError, match="give another --out"):
        check_out(lp, reads_everything.parent / "lib" / ".." / rel)


def test_files_read_lists_every_role(reads_everything: Path) -> None:
    from gatekit.history.thresholds import files_read

    root = reads_everything.parent.resolve()
    got = sorted((role, str(path.relative_to(root))) for role, path in files_read(load_policy(reads_everything)))
    assert got == sorted([(role, rel) for rel, role in READ_ROLES] +
                         [("data_quality.expectations_dir folder", "exps")])


def test_check_out_refuses_links_and_folders_the_policy_reads_and_allows_the_rest(reads_everything: Path) -> None:
    from gatekit.history.thresholds import check_out

    lp = load_policy(reads_everything)
    root = reads_everything.parent
    os.link(root / "lib" / "base.yaml", root / "hard_link.yaml")  # one inode, two names
    with pytest.raises(ValueError, match=r"hard_link\.yaml is .*base\.yaml, the policy's extends: base"):
        check_out(lp, root / "hard_link.yaml")
    (root / "sym.yaml").symlink_to(reads_everything)
    with pytest.raises(ValueError, match="is the policy itself"):
        check_out(lp, root / "sym.yaml")
    with pytest.raises(ValueError, match=r"is inside .*exps, the policy's data_quality.expectations_dir"):
        check_out(lp, root / "exps" / "proposed.yaml")
    with pytest.raises(ValueError, match=r"h\.db, the history store calibrate reads"):
        check_out(lp, root / "h.db", {"history store": root / "h.db"})
    assert check_out(lp, root / "p.proposed.yaml") == reads_everything
    assert check_out(lp, root / "lib" / "base.proposed.yaml") == reads_everything


def test_calibrate_refuses_an_out_the_policy_reads(work: dict[str, Any]) -> None:
    # calib.yaml reads base.json (inputs.baseline.metrics); make it extend lib/base.yaml, which extends core.yaml
    root = work["dir"]
    (root / "lib").mkdir()
    (root / "lib" / "core.yaml").write_text("version: 1\n", encoding="utf-8")
    (root / "lib" / "base.yaml").write_text("version: 1\nextends: core.yaml\n", encoding="utf-8")
    text = work["policy"].read_text(encoding="utf-8").replace("version: 4\n", "version: 4\nextends: lib/base.yaml\n")
    work["policy"].write_text(text, encoding="utf-8")
    before = {p: p.read_bytes() for p in (root / "base.json", root / "lib" / "core.yaml", root / "lib" / "base.yaml",
                                          work["policy"], work["db"])}
    for out, role in ((root / "lib" / "base.yaml", "extends: base"), (root / "lib" / "core.yaml", "extends: base"),
                      (root / "base.json", "inputs.baseline.metrics"), (work["db"], "history store")):
        res = _cli("calibrate", "--policy", work["policy"], "--history", _url(work["db"]), "--out", out)
        assert res.exit_code == 2, res.output
        assert role in " ".join(res.stderr.split()) and out.name in res.stderr
    assert {p: p.read_bytes() for p in before} == before
    assert sorted(p.name for p in root.iterdir()) == sorted(["base.json", "calib.yaml", "h.db", "lib"] +
                                                            [p.name for p in root.glob("h.db-*")])
    # a free name still works
    doc = _calibrate_json(work["policy"], work["db"], "--out", root / "lib" / "proposed.yaml")
    assert doc["proposed_file"] is not None and (root / "lib" / "proposed.yaml").is_file()


# ------------------------------------------------------------------------------------------------------------
# The proposed file: no text from a path or a store outside its comments; never over an existing file


INJECTIONS = ["x\nmode: warn_only\n#.yaml", "x\rmode: warn_only\r#.yaml", "x\u2028mode: warn_only\u2028#.yaml",
              "x\u0085mode: warn_only\u0085#.yaml", "y\x1b[2J\x1b]0;t\x07.yaml"]


@pytest.mark.parametrize("name", INJECTIONS)
def test_calibrate_refuses_an_out_or_policy_path_with_control_characters(tmp_path: Path, name: str) -> None:
    policy = _policy(tmp_path, 'version: 1\nname: inj\nmetrics:\n  - {name: auc_roc, op: ">=", value: 0.99}\n')
    db = tmp_path / "h.db"
    _store_with_runs(db, "inj", AUCS)
    res = _cli("calibrate", "--policy", policy, "--history", _url(db), "--out", tmp_path / name)
    assert res.exit_code == 2, res.output
    assert "--out" in res.stderr and "control character" in res.stderr and "\x1b" not in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["h.db", "policy.yaml"] +
                                                                [p.name for p in tmp_path.glob("h.db-*")])
    # a policy file with such a name: refused the same way, naming --policy (it would go in the header too)
    (tmp_path / name).write_bytes(policy.read_bytes())
    res = _cli("calibrate", "--policy", tmp_path / name, "--history", _url(db), "--out", tmp_path / "ok.yaml")
    assert res.exit_code == 2 and "--policy" in res.stderr, res.output
    assert not (tmp_path / "ok.yaml").exists()


def test_calibrate_header_comments_hold_hostile_run_ids_on_one_line(tmp_path: Path) -> None:
    policy = _policy(tmp_path, 'version: 1\nname: ids\nmetrics:\n  - {name: auc_roc, op: ">=", value: 0.99}\n')
    db = tmp_path / "h.db"
    ids = ["a\nmode: warn_only", "b", "c", "d\u2028mode: warn_only\u2029x: [", "e\x1b[2J\rmode: warn_only"]
    with HistoryStore(_url(db)) as st:
        for i, (rid, auc) in enumerate(zip(ids, AUCS[:len(ids)], strict=True)):
            st.record(_report(rid, f"2026-01-01T00:00:{i:02d}+00:00", [auc], policy="ids"))
    for last in ("5", "4"):  # the first and the last run id go into the header
        out = tmp_path / f"p{last}.yaml"
        res = _cli("calibrate", "--policy", policy, "--history", _url(db), "--last", last, "--out", out)
        assert res.exit_code == 0, res.output
        text = out.read_text(encoding="utf-8")
        header = text[:text.index("version:")]
        assert all(line.startswith("#") for line in header.splitlines()), header
        assert "\x1b" not in text and "\u2028" not in text and "\u2029" not in text and "\r" not in text
        lp = load_policy(out)
        assert lp.policy.version == 2 and lp.name == "ids"
        import yaml

        assert "mode" not in yaml.safe_load(text) and "x" not in yaml.safe_load(text)


def test_write_proposed_refuses_a_header_that_is_not_single_line_comments(tmp_path: Path) -> None:
    from gatekit.history.thresholds import comment_text, write_proposed

    policy = _policy(tmp_path, 'version: 1\nname: hdr\nmetrics:\n  - {name: auc_roc, op: ">=", value: 0.99}\n')
    lp = load_policy(policy)
    for header in ("# a\nmode: warn_only\n", "# a\u2028mode: warn_only\n", "# a \x1b[2J\n", "# a\r# b\n"):
        with pytest.raises(ValueError, match="comment lines of printable text"):
            write_proposed(lp, [], tmp_path / "out.yaml", header=header)
    assert not (tmp_path / "out.yaml").exists()
    assert comment_text("a\nb\u2028c\u2029d\x1b") == "a\\x0ab\\u2028c\\u2029d\\x1b"
    assert write_proposed(lp, [], tmp_path / "out.yaml", header=f"# {comment_text('x' + chr(10) + 'y')}\n") == []
    assert load_policy(tmp_path / "out.yaml").policy.version == 2


def test_calibrate_never_replaces_an_existing_file_without_force(tmp_path: Path) -> None:
    policy = _policy(tmp_path, 'version: 1\nname: ex\nmetrics:\n  - {name: auc_roc, op: ">=", value: 0.99}\n')
    db = tmp_path / "h.db"
    _store_with_runs(db, "ex", AUCS)
    mine = tmp_path / "notes.txt"
    mine.write_text("my notes\n", encoding="utf-8")
    res = _cli("calibrate", "--policy", policy, "--history", _url(db), "--out", mine)
    assert res.exit_code == 2 and "already exists" in res.stderr and "--force" in res.stderr, res.output
    assert mine.read_text(encoding="utf-8") == "my notes\n"
    # the default file too: a second calibrate keeps the first proposal unless told
    assert _cli("calibrate", "--policy", policy, "--history", _url(db)).exit_code == 0
    default = tmp_path / "policy.proposed.yaml"
    default.write_text("# edited by hand\n" + default.read_text(encoding="utf-8"), encoding="utf-8")
    res = _cli("calibrate", "--policy", policy, "--history", _url(db))
    assert res.exit_code == 2 and "--force" in res.stderr
    assert default.read_text(encoding="utf-8").startswith("# edited by hand\n")
    # a dangling symbolic link is a name taken as well
    link = tmp_path / "link.yaml"
    link.symlink_to(tmp_path / "nowhere.yaml")
    assert _cli("calibrate", "--policy", policy, "--history", _url(db), "--out", link).exit_code == 2
    assert not (tmp_path / "nowhere.yaml").exists()
    # --force replaces it
    res = _cli("calibrate", "--policy", policy, "--history", _url(db), "--out", mine, "--force")
    assert res.exit_code == 0, res.output
    assert load_policy(mine).policy.version == 2
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_write_proposed_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gatekit.history import thresholds
    from gatekit.history.thresholds import write_proposed

    policy = _policy(tmp_path, 'version: 1\nname: at\nmetrics:\n  - {name: auc_roc, op: ">=", value: 0.99}\n')
    lp = load_policy(policy)
    out = tmp_path / "out.yaml"
    out.write_text("old\n", encoding="utf-8")

    def crash(*args: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(thresholds.os, "replace", crash)
    monkeypatch.setattr(thresholds.os, "link", crash)
    with pytest.raises(OSError, match="disk full"):
        write_proposed(lp, [], out, header="# h\n", force=True)
    assert out.read_text(encoding="utf-8") == "old\n"  # never half-written or truncated
    with pytest.raises(OSError, match="disk full"):
        write_proposed(lp, [], tmp_path / "new.yaml", header="# h\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.yaml", "policy.yaml"]  # no temporary left
    monkeypatch.undo()
    with pytest.raises(FileExistsError):
        write_proposed(lp, [], out, header="# h\n")
    write_proposed(lp, [], out, header="# h\n", force=True)
    assert load_policy(out).policy.version == 2


@pytest.mark.parametrize("target", [0.05, 0.5, 0.8, 0.95, 1.0])
def test_the_boundary_is_numpys_inverted_cdf_quantile(target: float) -> None:
    import numpy as np

    rng = np.random.default_rng(11)
    for n in (1, 2, 7, 20, 33):
        values = [float(v) for v in np.round(rng.normal(size=n), 2)]  # ties included
        assert boundary(values, "<=", target) == np.quantile(values, target, method="inverted_cdf")
        assert boundary(values, "<", target) == np.quantile(values, target, method="inverted_cdf")
        assert boundary(values, ">=", target) == -np.quantile(-np.array(values), target, method="inverted_cdf")
        limit = propose_limit(values, ">=", target)  # the proposal passes the same runs as the boundary value
        edge = boundary(values, ">=", target)
        assert sum(v >= limit for v in values) == sum(v >= edge for v in values)
