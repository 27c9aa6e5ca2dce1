"""Tests of :mod:`gatekit.sections.shadow_sequential`: ``interval: sequential`` on a shadow evaluation.

The confidence sequences are recomputed here from the generated shadow file itself: the rows sorted by their
arrival time with pandas, each model's per-row values built with numpy (``(score >= 0.5) == y`` for accuracy,
checked against scikit-learn's ``accuracy_score``; ``(score - y)^2`` for the Brier score; ``1{same label}``
and ``s_c - s_b`` for the shadow metrics), and passed to :mod:`gatekit.stats.sequential`'s functions directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm

import gatekit
from gatekit.api import validate
from gatekit.core.errors import PolicyError
from gatekit.core.results import Decision, OnFail, Status
from gatekit.stats.sequential import betting_cs, normal_mixture_cs


def make_shadow(path: Path, n: int, harm: float, seed: int, shuffle: bool = True) -> pd.DataFrame:
    """Write a shadow file of ``n`` rows both models scored: production right 80 % of the time, the candidate
    ``80 % - harm`` (independently per row).

    Rows carry an ISO arrival time ``served_at``; with ``shuffle`` the file's rows are out of arrival order.
    Returns the rows in arrival order.
    """
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)

    def scores(p_right: float) -> np.ndarray:
        right = rng.random(n) < p_right
        hi, lo = rng.uniform(0.5, 0.99, n).round(4), rng.uniform(0.01, 0.4999, n).round(4)
        return np.where(right == (y == 1), hi, lo)

    t0 = pd.Timestamp("2026-03-01T00:00:00Z")
    served = [(t0 + pd.Timedelta(seconds=int(i))).isoformat() for i in range(n)]
    frame = pd.DataFrame({"served_at": served, "y": y, "score": scores(0.8 - harm), "prod": scores(0.8)})
    out = frame.sample(frac=1, random_state=seed) if shuffle else frame
    out.to_csv(path, index=False)
    return frame


NM = {"order_by": "served_at", "method": "normal_mixture"}
"""``inputs.sequential`` for the normal mixture (the default is betting for bounded values)."""


def policy(path: Path, rules: list[dict[str, Any]], **inputs: Any) -> dict[str, Any]:
    rules = [{"confidence": 0.95, "interval": "sequential", **r} for r in rules]
    return {"version": 1, "name": "seq_shadow",
            "inputs": {"data": str(path), "target": "y", "score": "score", "baseline": {"score": "prod"},
                       "sequential": {"order_by": "served_at"}, **inputs}, "metrics": rules}


def per_row(frame: pd.DataFrame, metric: str) -> np.ndarray:
    """Candidate minus production per-row values, in the frame's order."""
    if metric == "accuracy":
        c = ((frame.score >= 0.5).astype(int) == frame.y).to_numpy(dtype=float)
        b = ((frame["prod"] >= 0.5).astype(int) == frame.y).to_numpy(dtype=float)
        assert c.mean() == pytest.approx(skm.accuracy_score(frame.y, frame.score >= 0.5), abs=1e-15)
        return c - b
    c, b = ((frame.score - frame.y) ** 2).to_numpy(), ((frame["prod"] - frame.y) ** 2).to_numpy()
    assert c.mean() == pytest.approx(skm.brier_score_loss(frame.y, frame.score), abs=1e-15)
    return c - b


@pytest.fixture
def harmful(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    path = tmp_path / "harm.csv"
    return path, make_shadow(path, 3000, harm=0.15, seed=1)


def test_a_strong_harm_stops_early_on_the_sequence_of_the_hand_differences(
        harmful: tuple[Path, pd.DataFrame]) -> None:
    path, frame = harmful
    report = gatekit.run(policy(path, [{"name": "accuracy", "max_drop": 0.02}], sequential=NM))
    (check,) = report.checks
    d = per_row(frame, "accuracy")
    cs = normal_mixture_cs(d, 0.95, n_opt=1000, min_off_mode=30)
    seq = check.details["sequential"]
    assert seq["rows"] == 3000 and seq["method"] == "normal_mixture" and seq["order_by"] == "served_at"
    assert seq["cs"] == pytest.approx([cs.low[-1], cs.high[-1]], abs=1e-12)
    assert seq["estimate"] == pytest.approx(d.mean(), abs=1e-12) == check.observed
    first = cs.first_exclusion(-0.02, "below")  # harm proven: the whole sequence below -0.02
    assert first is not None and cs.first_exclusion(-0.02, "above") is None
    assert seq["stopped_at"]["rows"] == first + 1 < 3000 and seq["stopped_at"]["result"] == "disproven"
    assert seq["stopped_at"]["cs"] == pytest.approx([cs.low[first], cs.high[first]], abs=1e-12)
    assert check.status == Status.FAIL and check.on_fail == OnFail.BLOCK and report.decision == Decision.BLOCK
    assert f"harm proven at row {first + 1:,}" in check.message
    out = check.details["outcome"]
    assert out["result"] == "disproven" and out["p_harm"] is None and out["p_safe"] is None
    assert out["mode"] == "proven_harm" and "anytime-valid" in out["mode_details"]
    iv = check.details["interval"]
    assert iv["method"] == "confidence_sequence" and iv["low"] == seq["cs"][0] and iv["confidence"] == 0.95
    cmp = check.details["comparison"]
    assert cmp["candidate"] - cmp["baseline"] == pytest.approx(d.mean(), abs=1e-12)
    assert check.details["rule"] == "metrics[0]"
    # the head names the estimate the sequence is centred on: the mean of the per-row differences
    assert check.message.startswith(f"accuracy mean per-row difference {d.mean():+.4g} (candidate minus production "
                                    "on the same rows: candidate ")


def test_the_rows_are_read_in_arrival_order(harmful: tuple[Path, pd.DataFrame], tmp_path: Path) -> None:
    path, frame = harmful
    ordered = tmp_path / "ordered.csv"
    frame.to_csv(ordered, index=False)
    rules = [{"name": "brier_score", "max_increase": 0.02, "confidence": 0.9}]
    shuffled = gatekit.run(policy(path, rules, sequential=NM)).checks[0].details["sequential"]
    file_order = gatekit.run(policy(ordered, rules, sequential={"method": "normal_mixture"})
                             ).checks[0].details["sequential"]
    cs = normal_mixture_cs(per_row(frame, "brier_score"), 0.9, n_opt=1000, min_off_mode=30)
    assert shuffled["cs"] == file_order["cs"] == pytest.approx([cs.low[-1], cs.high[-1]], abs=1e-12)
    assert shuffled["stopped_at"] == file_order["stopped_at"] and file_order["order_by"] is None
    # the shuffled file read in its own order gives another sequence (the order matters)
    raw = gatekit.run(policy(path, rules, sequential={"n_opt": 1000, "method": "normal_mixture"})
                      ).checks[0].details["sequential"]
    assert raw["cs"] != shuffled["cs"]


def test_betting_is_the_hedged_capital_sequence_of_the_differences(tmp_path: Path) -> None:
    path = tmp_path / "small.csv"
    frame = make_shadow(path, 900, harm=0.0, seed=4)
    check = gatekit.run(policy(path, [{"name": "accuracy", "within": 0.1, "confidence": 0.9}],
                               sequential={"order_by": "served_at", "method": "betting"})).checks[0]
    d = per_row(frame, "accuracy")
    cs = betting_cs(d, -1.0, 1.0, 0.9)  # every row a look under 1,000 rows
    seq = check.details["sequential"]
    assert seq["method"] == "betting" and seq["cs"] == pytest.approx([cs.low[-1], cs.high[-1]], abs=1e-12)
    inside = np.flatnonzero((cs.low >= -0.1) & (cs.high <= 0.1))  # TOST: the whole sequence inside the band
    if inside.size:
        assert seq["stopped_at"]["rows"] == inside[0] + 1 and check.status == Status.PASS
    else:
        assert seq["stopped_at"] is None


def test_shadow_metrics_take_their_per_row_values(harmful: tuple[Path, pd.DataFrame]) -> None:
    path, frame = harmful
    rules = [{"name": "prediction_agreement_rate", "op": ">=", "value": 0.9},
             {"name": "mean_score_difference", "op": "<=", "value": 0.05, "on_fail": "warn"},
             {"name": "prediction_agreement_rate", "op": ">=", "value": 0.5, "params": {"threshold": 0.3}}]
    report = gatekit.run(policy(path, rules, sequential=NM))
    agree, diff, low_t = report.checks
    a = ((frame.score >= 0.5) == (frame["prod"] >= 0.5)).to_numpy(dtype=float)
    s = (frame.score - frame["prod"]).to_numpy()
    a3 = ((frame.score >= 0.3) == (frame["prod"] >= 0.3)).to_numpy(dtype=float)
    for check, x in ((agree, a), (diff, s), (low_t, a3)):
        cs = normal_mixture_cs(x, 0.95, n_opt=1000, min_off_mode=30)
        seq = check.details["sequential"]
        assert check.observed == pytest.approx(x.mean(), abs=1e-12)
        assert seq["cs"] == pytest.approx([cs.low[-1], cs.high[-1]], abs=1e-12)
        assert check.details["comparison"]["statistic"] == "value" and check.details["outcome"]["mode"] == \
            "proven_safe"
    first = normal_mixture_cs(a, 0.95, n_opt=1000, min_off_mode=30).first_exclusion(0.9, "below")
    assert first is not None and agree.details["sequential"]["stopped_at"]["rows"] == first + 1
    assert agree.status == Status.FAIL
    # the mean score difference: proven <= 0.05 at the first row whose upper bound is at most 0.05
    cs = normal_mixture_cs(s, 0.95, n_opt=1000, min_off_mode=30)
    harm, safe = np.flatnonzero(cs.low > 0.05), np.flatnonzero(cs.high <= 0.05)
    stop = diff.details["sequential"]["stopped_at"]
    if not harm.size and not safe.size:
        assert stop is None and diff.status == Status.INCONCLUSIVE and diff.on_fail == OnFail.WARN
    else:
        i = min(harm[0] if harm.size else 10**9, safe[0] if safe.size else 10**9)
        assert stop["rows"] == i + 1 and stop["result"] == ("proven" if safe.size and i == safe[0] else "disproven")


def test_no_true_difference_on_few_rows_is_insufficient_data_with_the_rules_severity(tmp_path: Path) -> None:
    # 600 rows: the betting sequence (the default for accuracy and Brier) is wider than the margin 0.02, so these
    # rows could not prove it even at an estimate of 0: insufficient_data (default: the rule's on_fail), never a
    # silent pass under proven_harm
    path = tmp_path / "null.csv"
    frame = make_shadow(path, 600, harm=0.0, seed=5)
    rules = [{"name": "accuracy", "max_drop": 0.02},
             {"name": "accuracy", "max_drop": 0.02, "mode": "non_inferiority", "on_fail": "warn"},
             {"name": "brier_score", "max_increase": 0.02, "insufficient_data": "pass"}]
    report = gatekit.run(policy(path, rules))
    harm, safe, lenient = report.checks
    from gatekit.sections.canary_sequential import betting_looks

    d = per_row(frame, "accuracy")
    cs = betting_cs(d, -1.0, 1.0, 0.95, looks=betting_looks(d.size))
    assert harm.details["sequential"]["method"] == "betting"
    assert harm.details["sequential"]["cs"] == pytest.approx([cs.low[-1], cs.high[-1]], abs=1e-12)
    assert cs.first_exclusion(-0.02, "either") is None and (cs.high[-1] - cs.low[-1]) / 2 > 0.02
    for c in (harm, safe, lenient):
        assert c.details["sequential"]["stopped_at"] is None
        assert c.details["outcome"]["result"] == "insufficient_data" and "more than the margin 0.02" in c.message
        assert "keep collecting rows" in c.message and c.details["outcome"]["power"]["what_rows"] == "evaluation rows"
    assert harm.status == Status.INCONCLUSIVE and harm.on_fail == OnFail.BLOCK
    assert safe.status == Status.INCONCLUSIVE and safe.on_fail == OnFail.WARN
    assert lenient.status == Status.PASS
    assert report.decision == Decision.BLOCK


def test_the_default_method_is_betting_for_bounded_values_and_the_normal_mixture_otherwise(
        harmful: tuple[Path, pd.DataFrame]) -> None:
    path, _ = harmful
    rules = [{"name": "accuracy", "max_drop": 0.02}, {"name": "log_loss", "max_increase": 0.02},
             {"name": "mean_score_difference", "op": "<=", "value": 0.05}]
    methods = [c.details["sequential"]["method"] for c in gatekit.run(policy(path, rules)).checks]
    assert methods == ["betting", "normal_mixture", "betting"]


def test_a_constant_difference_has_no_bounds_and_is_insufficient_data(tmp_path: Path) -> None:
    # every row: the candidate wrong, production right (the reviewer's can_bad as a shadow); zero spread
    path = tmp_path / "const.csv"
    pd.DataFrame({"y": [0] * 60, "score": [0.9] * 60, "prod": [0.1] * 60}).to_csv(path, index=False)
    pol = policy(path, [{"name": "accuracy", "max_drop": 0.02}], sequential={"method": "normal_mixture"})
    (check,) = gatekit.run(pol).checks
    assert check.details["sequential"]["cs"] == [None, None]
    assert check.details["outcome"]["result"] == "insufficient_data"
    assert "no spread: all 60 rows have the same difference (-1)" in check.message
    assert check.status == Status.INCONCLUSIVE and check.on_fail == OnFail.BLOCK


def test_an_empty_running_intersection_is_not_computable(tmp_path: Path) -> None:
    # both models right on the first 150 rows (about), then the candidate wrong on every row: not exchangeable
    path = tmp_path / "drift.csv"
    rng = np.random.default_rng(66)
    right_c = np.r_[rng.random(150) < 0.97, np.zeros(220, dtype=bool)]
    right_b = np.r_[rng.random(150) < 0.97, np.ones(220, dtype=bool)]
    pd.DataFrame({"y": 0, "score": np.where(right_c, 0.1, 0.9), "prod": np.where(right_b, 0.1, 0.9)}).to_csv(
        path, index=False)
    pol = policy(path, [{"name": "accuracy", "max_drop": 0.05, "mode": "non_inferiority"}], sequential={})
    (check,) = gatekit.run(pol).checks
    from gatekit.sections.canary_sequential import betting_looks

    d = right_c.astype(float) - right_b.astype(float)
    cs = betting_cs(d, -1.0, 1.0, 0.95, looks=betting_looks(d.size))
    e = cs.details["empty_from_look"]
    assert e is not None
    seq = check.details["sequential"]
    assert check.status == Status.NOT_COMPUTABLE and seq["empty_from_rows"] == int(cs.looks[e])
    assert "became empty at row" in check.message and "never a pass" in check.message
    assert seq["cs_before_empty"] == pytest.approx([cs.low[e - 1], cs.high[e - 1]], abs=1e-12)
    assert seq["cs_before_empty"][0] <= seq["cs_before_empty"][1] and "interval" not in check.details


def test_no_true_difference_rarely_stops_for_harm() -> None:
    # 200 null shadows of 2,000 rows with the true change exactly on the limit -0.02: the sequence read at every
    # row stops for harm in at most the one-sided 2.5 % (+ Monte Carlo error: 2.5 % + 3 sd of 200 runs = 5.8 %)
    from gatekit.sections.canary_sequential import _vector_stop

    rng = np.random.default_rng(11)
    stops = 0
    for _ in range(200):
        c = (rng.random(2000) < 0.78).astype(float)
        b = (rng.random(2000) < 0.80).astype(float)
        cs = normal_mixture_cs(c - b, 0.95, n_opt=1000)
        stops += _vector_stop(cs.low, cs.high, [(">=", -0.02)])[1] == "disproven"
    assert stops / 200 <= 0.058


def test_a_metrics_file_baseline_has_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    make_shadow(path, 200, 0.0, 2)
    (tmp_path / "base.json").write_text('{"accuracy": 0.8}', encoding="utf-8")
    pol = policy(path, [{"name": "accuracy", "max_drop": 0.02}], baseline={"metrics": str(tmp_path / "base.json")})
    (check,) = gatekit.run(pol).checks
    assert check.status == Status.NOT_COMPUTABLE and "production's output on the same rows" in check.message


def test_duckdb_gathers_the_rows_so_the_rule_is_not_computable(harmful: tuple[Path, pd.DataFrame]) -> None:
    path, _ = harmful
    report = gatekit.run(policy(path, [{"name": "accuracy", "max_drop": 0.02}], engine="duckdb"))
    (check,) = report.checks
    assert check.status == Status.NOT_COMPUTABLE and "--engine pandas" in check.message and "duckdb" in check.message
    assert report.decision == Decision.BLOCK  # strict: a blocking rule that cannot be decided blocks


@pytest.mark.parametrize(("rule", "inputs", "match"), [
    ({"name": "f1_at_0_5", "max_drop": 0.02}, {}, r"f1_at_T with max_drop is not one"),
    ({"name": "auc_roc", "op": ">=", "value": 0.7}, {}, r"roc_auc with op/value \(>= 0.7\) is not one"),
    ({"name": "accuracy", "op": ">=", "value": 0.7}, {}, "accuracy with op/value"),
    ({"name": "prediction_agreement_rate", "max_drop": 0.02}, {}, "prediction_agreement_rate with max_drop"),
    ({"name": "accuracy", "max_drop_pct": 2}, {}, "use max_drop"),
    ({"name": "accuracy", "max_drop": 0.02, "resamples": 500}, {}, "resamples and seed"),
    ({"name": "log_loss", "max_increase": 0.02}, {"sequential": {"method": "betting"}}, "unbounded"),
    ({"name": "accuracy", "max_drop": 0.02, "interval": "bootstrap"}, {"sequential": {}}, "no metrics: rule has it"),
    ({"name": "accuracy", "max_drop": 0.02}, {"sequential": {"method": "sprt"}}, "normal_mixture"),
])
def test_load_errors_name_the_rule_and_the_choices(tmp_path: Path, rule: dict[str, Any], inputs: dict[str, Any],
                                                   match: str) -> None:
    with pytest.raises(PolicyError, match=match) as err:
        validate(policy(tmp_path / "s.csv", [rule], **inputs))
    if "is not one" in match:
        text = str(err.value)
        assert "metrics[0]" in text or "metrics.0" in text or "line" in text
        assert "accuracy, brier_score, log_loss, mae" in text
        assert "prediction_agreement_rate or mean_score_difference" in text


def test_a_canary_rule_cannot_ask_for_it(tmp_path: Path) -> None:
    pol = {"version": 1, "canary": {"data": str(tmp_path / "log.csv"), "target": "y", "score": "score",
                                    "rules": [{"name": "accuracy", "max_drop": 0.02, "confidence": 0.95,
                                               "interval": "sequential"}]}}
    with pytest.raises(PolicyError, match=r"canary\.sequential"):
        validate(pol)


def test_a_bad_order_column_is_an_input_error(tmp_path: Path) -> None:
    from tests.helpers import _cli

    path = tmp_path / "s.csv"
    make_shadow(path, 300, 0.0, 7).assign(served_at="soon").to_csv(path, index=False)
    pol = tmp_path / "p.yaml"
    pol.write_text("version: 1\ninputs:\n  data: s.csv\n  target: y\n  score: score\n  baseline: {score: prod}\n"
                   "  sequential: {order_by: served_at}\nmetrics:\n  - {name: accuracy, max_drop: 0.02, "
                   "confidence: 0.95, interval: sequential}\n", encoding="utf-8")
    res = _cli("run", pol, "--out", tmp_path / "out", "--history", "off")
    assert res.exit_code == 2 and "served_at" in res.output and "date-times" in res.output
    pol.write_text(pol.read_text(encoding="utf-8").replace("order_by: served_at", "order_by: arrived"),
                   encoding="utf-8")
    res = _cli("run", pol, "--out", tmp_path / "out", "--history", "off")
    assert res.exit_code == 2 and "arrived" in res.output
