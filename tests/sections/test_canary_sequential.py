"""Tests of :mod:`gatekit.sections.canary_sequential`: ``canary.sequential``, an anytime-valid canary.

The confidence sequences are recomputed here from the log itself: the rows sorted by their arrival time, each arm's
per-row values built by hand (``(score >= 0.5) == y`` for accuracy, ``(score - y)^2`` for the Brier score), paired
by a plain loop, and passed to :mod:`gatekit.stats.sequential`'s functions directly. The look counting of AUC
rules runs through real SQLite and PostgreSQL stores (``eval "$(scripts/start_test_postgres.sh)"``; PostgreSQL is
skipped without a server). ``python -m tests.sections.test_canary_sequential`` prints the simulation table of the
module docstring (paired vs one sequence per arm).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import gatekit
from gatekit.api import validate
from gatekit.core.errors import PolicyError
from gatekit.core.results import Decision, OnFail, Status
from gatekit.sections.canary_sequential import _vector_stop, betting_looks, first_stop, look_number, sequence
from gatekit.stats.sequential import betting_cs, normal_mixture_cs
from tests.history.helpers import store_urls


def make_log(path: Path, n: int, harm: float, seed: int, share: float = 0.3, shuffle: bool = True) -> pd.DataFrame:
    """Write a canary log of ``n`` rows: production right 80 % of the time, the candidate ``80 % - harm``.

    Rows carry an ISO arrival time ``served_at``; with ``shuffle`` the file's rows are out of arrival order.
    Returns the log in arrival order.
    """
    rng = np.random.default_rng(seed)
    arm = np.where(rng.random(n) < share, "candidate", "production")
    y = (rng.random(n) < 0.3).astype(int)
    right = rng.random(n) < np.where(arm == "candidate", 0.8 - harm, 0.8)
    hi, lo = rng.uniform(0.5, 0.99, n).round(4), rng.uniform(0.01, 0.4999, n).round(4)
    score = np.where(right == (y == 1), hi, lo)
    t0 = pd.Timestamp("2026-03-01T00:00:00Z")
    served = [(t0 + pd.Timedelta(seconds=int(i))).isoformat() for i in range(n)]
    frame = pd.DataFrame({"served_at": served, "arm": arm, "y": y, "score": score})
    out = frame.sample(frac=1, random_state=seed) if shuffle else frame
    out.to_csv(path, index=False)
    return frame


def policy(path: Path, rules: list[dict[str, Any]], **seq: Any) -> dict[str, Any]:
    return {"version": 1, "name": seq.pop("name", "seq_canary"),
            "canary": {"data": str(path), "target": "y", "score": "score",
                       "sequential": {"order_by": "served_at", **seq}, "rules": rules}}


def arm_values(frame: pd.DataFrame, arm: str, metric: str) -> np.ndarray:
    rows = frame[frame.arm == arm]
    if metric == "accuracy":
        return ((rows.score >= 0.5).astype(int) == rows.y).to_numpy(dtype=float)
    return ((rows.score - rows.y) ** 2).to_numpy(dtype=float)


def hand_pairs(frame: pd.DataFrame, metric: str) -> tuple[np.ndarray, list[int]]:
    """Differences of the i-th candidate and i-th production row, and the log row at which each pair completes."""
    return paired(frame, arm_values(frame, "candidate", metric), arm_values(frame, "production", metric))


def paired(frame: pd.DataFrame, c: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """``c[i] - b[i]`` for the pairs of the two arms' values in log order, and the log row completing each pair."""
    k = min(c.size, b.size)
    done, nc, nb = [], 0, 0
    for t, a in enumerate(frame.arm, start=1):
        nc, nb = nc + (a == "candidate"), nb + (a == "production")
        if min(nc, nb) > len(done):
            done.append(t)
    return c[:k] - b[:k], done


def only(report: Any, i: int = 0) -> Any:
    return [c for c in report.checks if c.section == "rollout"][i]


@pytest.fixture
def harmful(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    path = tmp_path / "harm.csv"
    return path, make_log(path, 3000, harm=0.15, seed=1)


def test_the_sequence_is_normal_mixture_on_the_pairs_built_by_hand(harmful: tuple[Path, pd.DataFrame]) -> None:
    path, frame = harmful
    report = gatekit.run(policy(path, [{"name": "accuracy", "max_drop": 0.02, "confidence": 0.95}],
                                method="normal_mixture"))
    check = only(report)
    d, done = hand_pairs(frame, "accuracy")
    cs = normal_mixture_cs(d, 0.95, n_opt=1000, min_off_mode=30)
    seq = check.details["sequential"]
    assert seq["pairs"] == d.size and seq["rows"] == 3000 and seq["method"] == "normal_mixture"
    assert seq["cs"] == pytest.approx([cs.low[-1], cs.high[-1]], abs=1e-12)
    assert seq["estimate"] == pytest.approx(d.mean(), abs=1e-12)
    # early stop on the true harm: the first pair count whose sequence lies below -0.02, as log rows
    first = cs.first_exclusion(-0.02, "below")
    assert first is not None and cs.first_exclusion(-0.02, "above") is None
    assert seq["stopped_at"]["pairs"] == first + 1 and seq["stopped_at"]["rows"] == done[first]
    assert seq["stopped_at"]["result"] == "disproven" and seq["stopped_at"]["rows"] < 3000
    assert seq["stopped_at"]["cs"] == pytest.approx([cs.low[first], cs.high[first]], abs=1e-12)
    assert check.status == Status.FAIL and check.on_fail == OnFail.BLOCK and report.decision == Decision.BLOCK
    c, b = arm_values(frame, "candidate", "accuracy"), arm_values(frame, "production", "accuracy")
    # observed and the message's head are the estimate the sequence is centred on (the mean paired difference);
    # the whole arms' change (production has surplus rows) is shown after it
    assert check.observed == pytest.approx(d.mean(), abs=1e-12)
    assert check.details["comparison"]["change"] == pytest.approx(c.mean() - b.mean(), abs=1e-12)
    assert abs(d.mean() - (c.mean() - b.mean())) > 1e-3
    assert check.message.startswith(f"accuracy mean paired difference {d.mean():+.4g} (candidate minus production, "
                                    f"{d.size} pairs of rows in arrival order; whole arms: canary {c.mean():.4g} vs "
                                    f"production {b.mean():.4g}, change {c.mean() - b.mean():+.4g})")
    out = check.details["outcome"]
    assert out["result"] == "disproven" and out["p_harm"] is None and "anytime-valid" in out["mode_details"]
    assert f"harm proven at row {done[first]}" in check.message
    assert seq["look"] is None  # no history: per-row rules are decided anyway


def test_the_log_is_read_in_arrival_order(harmful: tuple[Path, pd.DataFrame], tmp_path: Path) -> None:
    path, frame = harmful
    ordered = tmp_path / "ordered.csv"
    frame.assign(served_at=range(len(frame))).to_csv(ordered, index=False)  # numbers sort as numbers too
    rules = [{"name": "brier_score", "max_increase": 0.02, "confidence": 0.9}]
    a = only(gatekit.run(policy(path, rules, method="normal_mixture"))).details["sequential"]
    b = only(gatekit.run(policy(ordered, rules, method="normal_mixture"))).details["sequential"]
    d, _ = hand_pairs(frame, "brier_score")
    cs = normal_mixture_cs(d, 0.9, n_opt=1000, min_off_mode=30)
    assert a["cs"] == b["cs"] == pytest.approx([cs.low[-1], cs.high[-1]], abs=1e-12)
    assert a["stopped_at"] == b["stopped_at"]


def test_betting_is_the_hedged_capital_sequence_on_the_pairs(tmp_path: Path) -> None:
    path = tmp_path / "small.csv"
    frame = make_log(path, 1200, harm=0.0, seed=4, share=0.5)
    check = only(gatekit.run(policy(path, [{"name": "accuracy", "max_drop": 0.05, "confidence": 0.9}],
                                    method="betting")))
    d, done = hand_pairs(frame, "accuracy")
    assert d.size < 1000  # every pair is a look
    cs = betting_cs(d, -1.0, 1.0, 0.9)
    seq = check.details["sequential"]
    assert seq["cs"] == pytest.approx([cs.low[-1], cs.high[-1]], abs=1e-12)
    i_safe = cs.first_exclusion(-0.05, "above")  # the whole sequence above -0.05: safety proven
    if i_safe is None:
        assert seq["stopped_at"] is None
    else:
        assert seq["stopped_at"]["rows"] == done[i_safe] and seq["stopped_at"]["result"] == "proven"
        assert check.status == Status.PASS


def test_a_short_log_is_insufficient_data_with_the_rules_severity(tmp_path: Path) -> None:
    # 300 rows, 90 pairs: the betting sequence (the default for accuracy and Brier) is far wider than the margin 0.02,
    # so the rows could not prove it even at an estimate of 0: insufficient_data, never a silent pass
    path = tmp_path / "short.csv"
    frame = make_log(path, 300, harm=0.0, seed=5)
    rules = [{"name": "accuracy", "max_drop": 0.02, "confidence": 0.95},                      # default: on_fail
             {"name": "accuracy", "max_drop": 0.02, "confidence": 0.95, "mode": "non_inferiority",
              "on_fail": "warn"},
             {"name": "brier_score", "max_increase": 0.02, "confidence": 0.95, "insufficient_data": "pass"}]
    report = gatekit.run(policy(path, rules))
    harm, safe, lenient = (only(report, i) for i in range(3))
    d, _ = hand_pairs(frame, "accuracy")
    cs = betting_cs(d, -1.0, 1.0, 0.95, looks=betting_looks(d.size))
    assert harm.details["sequential"]["method"] == "betting" and harm.details["sequential"]["method_given"] is None
    assert harm.details["sequential"]["cs"] == pytest.approx([cs.low[-1], cs.high[-1]], abs=1e-12)
    assert (cs.high[-1] - cs.low[-1]) / 2 > 0.02
    for c in (harm, safe, lenient):
        assert c.details["sequential"]["stopped_at"] is None and c.details["outcome"]["result"] == "insufficient_data"
        assert "more than the margin 0.02" in c.message and "keep collecting" in c.message
        assert c.details["outcome"]["power"]["what_rows"] == "canary log rows"
    assert harm.status == Status.INCONCLUSIVE and harm.on_fail == OnFail.BLOCK
    assert safe.status == Status.INCONCLUSIVE and safe.on_fail == OnFail.WARN
    assert lenient.status == Status.PASS
    assert report.decision == Decision.BLOCK


def test_a_sequence_narrower_than_the_margin_that_straddles_it_is_inconclusive(tmp_path: Path) -> None:
    path = tmp_path / "mid.csv"
    make_log(path, 8000, harm=0.05, seed=6, share=0.5)  # true change on the limit -0.05
    rules = [{"name": "accuracy", "max_drop": 0.05, "confidence": 0.95},                      # proven_harm: pass
             {"name": "accuracy", "max_drop": 0.05, "confidence": 0.95, "mode": "non_inferiority",
              "on_fail": "warn"},
             {"name": "accuracy", "max_drop": 0.05, "confidence": 0.95, "inconclusive": "block", "on_fail": "warn"}]
    report = gatekit.run(policy(path, rules))
    harm, safe, strict = (only(report, i) for i in range(3))
    for c in (harm, safe, strict):
        low, high = c.details["sequential"]["cs"]
        assert low < -0.05 < high and (high - low) / 2 < 0.05
        assert c.details["outcome"]["result"] == "inconclusive" and "inconclusive: keep collecting" in c.message
    assert harm.status == Status.PASS
    assert safe.status == Status.INCONCLUSIVE and safe.on_fail == OnFail.WARN
    assert strict.status == Status.INCONCLUSIVE and strict.on_fail == OnFail.BLOCK


def write_pairs(path: Path, candidate: list[int], production: list[int]) -> None:
    """A log alternating candidate and production rows (``t`` their order); the score is right where ``1``."""
    rows = []
    for i, (c, b) in enumerate(zip(candidate, production, strict=True)):
        rows.append({"t": 2 * i, "arm": "candidate", "y": 0, "score": 0.1 if c else 0.9})
        rows.append({"t": 2 * i + 1, "arm": "production", "y": 0, "score": 0.1 if b else 0.9})
    pd.DataFrame(rows).to_csv(path, index=False)


def seq_policy(path: Path, rule: dict[str, Any], **seq: Any) -> dict[str, Any]:
    return {"version": 1, "canary": {"data": str(path), "target": "y", "score": "score",
                                     "sequential": {"order_by": "t", **seq}, "rules": [rule]}}


@pytest.mark.parametrize(("candidate", "production", "why"), [
    ([0] * 60, [1] * 60, "no spread: all 60 pairs have the same difference (-1)"),           # the reviewer's can_bad
    ([0] * 5, [1] * 5, "too few pairs: the normal mixture needs at least 30 pairs, and there are 5"),  # can_tiny
    ([1] * 38 + [0] * 2, [1] * 40, "only 2 of 40 pairs differ from the most common difference"),
])
def test_a_normal_mixture_without_bounds_is_insufficient_data_never_a_pass(
        tmp_path: Path, candidate: list[int], production: list[int], why: str) -> None:
    path = tmp_path / "log.csv"
    write_pairs(path, candidate, production)
    rule = {"name": "accuracy", "max_drop": 0.02, "confidence": 0.95}
    check = only(gatekit.run(seq_policy(path, rule, method="normal_mixture")))
    assert check.details["sequential"]["cs"] == [None, None]
    assert check.details["outcome"]["result"] == "insufficient_data" and why in check.message
    assert check.status == Status.INCONCLUSIVE and check.on_fail == OnFail.BLOCK  # default: the rule's on_fail
    assert "needs 30 pairs)" not in check.message  # the old message, untrue with 60 pairs
    lenient = only(gatekit.run(seq_policy(path, {**rule, "insufficient_data": "warn"}, method="normal_mixture")))
    assert lenient.status == Status.INCONCLUSIVE and lenient.on_fail == OnFail.WARN


@pytest.mark.parametrize("method", ["normal_mixture", "betting"])
def test_an_empty_running_intersection_is_not_computable(tmp_path: Path, method: str) -> None:
    # the reviewer's can66bad: both arms right for a while (safety "proven"), then the candidate fails every row
    # (harm "proven"): the pairs are not exchangeable, and neither stop may stand
    path = tmp_path / "drift.csv"
    rng = np.random.default_rng(66)
    early = 150
    cand = [int(v) for v in rng.random(early) < 0.97] + [0] * 220
    prod = [int(v) for v in rng.random(early) < 0.97] + [1] * 220
    write_pairs(path, cand, prod)
    check = only(gatekit.run(seq_policy(path, {"name": "accuracy", "max_drop": 0.05, "confidence": 0.95,
                                               "mode": "non_inferiority"}, method=method)))
    seq = check.details["sequential"]
    d = np.array(cand, dtype=float) - np.array(prod, dtype=float)
    cs = (normal_mixture_cs(d, 0.95, n_opt=1000, min_off_mode=30) if method == "normal_mixture"
          else betting_cs(d, -1.0, 1.0, 0.95, looks=betting_looks(d.size)))
    e = cs.details["empty_from_look"]
    assert e is not None and cs.low[e] > cs.high[e]  # the reference sequence crossed itself
    assert check.status == Status.NOT_COMPUTABLE and check.on_fail == OnFail.BLOCK
    assert seq["empty_from_rows"] == 2 * int(cs.looks[e]) and "became empty at log row" in check.message
    assert "not exchangeable" in check.message and "never a pass" in check.message
    low, high = seq["cs_before_empty"]
    assert "cs" not in seq and "interval" not in check.details and "outcome" not in check.details
    assert [low, high] == pytest.approx([cs.low[e - 1], cs.high[e - 1]], abs=1e-12)
    assert low <= high  # never an interval with low > high


def test_an_early_safety_stop_the_later_rows_contradict_is_not_computable(tmp_path: Path) -> None:
    # the second review's can_seq: the candidate is as good as production for 150 pairs (safety shown early),
    # then right 85 % of the time against 95 %, yet the betting sequence's bounds never cross; the estimate over
    # all pairs (-0.089) breaks the 0.05 margin, so the early stop cannot stand
    path = tmp_path / "late_harm.csv"
    rng = np.random.default_rng(150)
    cand = [1] * 150 + [int(v) for v in rng.random(850) < 0.85]
    prod = [1] * 150 + [int(v) for v in rng.random(850) < 0.95]
    write_pairs(path, cand, prod)
    rule = {"name": "accuracy", "max_drop": 0.05, "confidence": 0.95}
    check = only(gatekit.run(seq_policy(path, rule)))
    d = np.array(cand, dtype=float) - np.array(prod, dtype=float)
    cs = betting_cs(d, -1.0, 1.0, 0.95, looks=betting_looks(d.size))
    stop = next(i for i in range(cs.looks.size) if cs.low[i] >= -0.05)  # safety shown early, by hand
    assert cs.details["empty_from_look"] is None and d.mean() < -0.05  # bounds never crossed; estimate past the limit
    assert check.status == Status.NOT_COMPUTABLE and check.on_fail == OnFail.BLOCK
    assert f"safety was shown after {int(cs.looks[stop]):,} of 1,000 pairs" in check.message
    assert "contradict" in check.message and "never a pass" in check.message
    assert check.observed == pytest.approx(d.mean(), abs=1e-12)


def test_too_few_pairs_have_no_bounds_yet(tmp_path: Path) -> None:
    from gatekit.history.sequential import looks_rows
    from gatekit.history.store import HistoryStore

    path = tmp_path / "tiny.csv"
    frame = make_log(path, 60, harm=0.0, seed=3)
    d, _ = hand_pairs(frame, "accuracy")
    assert d.size < 30  # the normal mixture's min_rows
    url = f"sqlite:///{tmp_path / 'h.db'}"
    check = only(gatekit.run(policy(path, [{"name": "accuracy", "max_drop": 0.02, "confidence": 0.95}],
                                    method="normal_mixture"), history=url))
    assert check.details["sequential"]["cs"] == [None, None] and check.details["sequential"]["stopped_at"] is None
    assert (f"no bounds yet; limit drop at most 0.02: insufficient data (too few pairs: the normal mixture needs at "
            f"least 30 pairs, and there are {d.size})") in check.message
    assert check.status == Status.INCONCLUSIVE and check.on_fail == OnFail.BLOCK
    with HistoryStore(url) as store:
        (row,) = looks_rows(store.runs())
    assert row[2:6] == ["1", "60", "no bounds yet", "insufficient_data"]


def test_a_long_log_without_difference_proves_safety(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    frame = make_log(path, 20000, harm=0.0, seed=6, share=0.5)
    check = only(gatekit.run(policy(path, [{"name": "accuracy", "within": 0.03, "confidence": 0.95}],
                                    method="normal_mixture")))
    d, done = hand_pairs(frame, "accuracy")
    cs = normal_mixture_cs(d, 0.95, n_opt=1000, min_off_mode=30)
    inside = np.flatnonzero((cs.low >= -0.03) & (cs.high <= 0.03))  # TOST: the whole sequence inside the band
    assert inside.size and check.details["sequential"]["stopped_at"]["rows"] == done[inside[0]]
    assert check.status == Status.PASS and "safety proven" in check.message


def test_stop_rules_agree_with_the_plain_loop() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        d = rng.normal(rng.normal(0, 0.1), 0.5, 400)
        cs = normal_mixture_cs(d, 0.95, n_opt=200)
        conds = [[(">=", -0.05)], [("<=", 0.05)], [(">=", -0.05), ("<=", 0.05)], [(">", 0.0)]][rng.integers(4)]
        assert _vector_stop(cs.low, cs.high, conds) == first_stop(cs.low, cs.high, conds)


def test_betting_looks_and_look_numbers() -> None:
    assert betting_looks(10).tolist() == list(range(1, 11))
    lk = betting_looks(5000)
    assert lk[:1000].tolist() == list(range(1, 1001)) and lk[-1] == 5000
    assert np.all(np.diff(lk[1000:]) <= np.ceil(lk[1000:-1] * 0.0101))  # 1 % apart
    prev = [{"log_sha256": "a", "cs": [0, 1]}, {"log_sha256": "a", "cs": [0, 1]}, {"log_sha256": "b", "cs": [0, 1]}]
    assert look_number(prev, "c") == 3 and look_number(prev, "a") == 1 and look_number(prev, "b") == 2
    assert look_number([], "a") == 1
    # looks that read no interval (too few rows for a p99, say) spent nothing: not counted
    early = [{"log_sha256": "x", "cs": None}, {"log_sha256": "y", "cs": None}]
    assert look_number(early, "z") == 1 and look_number([*early, *prev], "c") == 3


@pytest.mark.parametrize(("rule", "seq", "match"), [
    ({"name": "f1_at_0_5", "max_drop": 0.02, "confidence": 0.95}, {}, r"canary.rules\[0\] \(f1_at_0.5\).*not one"),
    ({"name": "accuracy", "max_drop": 0.02}, {}, "give the rule a confidence"),
    ({"name": "accuracy", "max_drop_pct": 2, "confidence": 0.95}, {}, "use max_drop"),
    ({"name": "log_loss", "max_increase": 0.02, "confidence": 0.95}, {"method": "betting"}, "unbounded"),
    ({"name": "auc_roc", "max_drop": 0.02, "confidence": 0.95}, {}, "declare canary.sequential.max_looks"),
    ({"name": "accuracy", "max_drop": 0.02, "confidence": 0.95}, {"method": "sprt"}, "normal_mixture"),
])
def test_load_errors_name_the_rule_and_the_choices(tmp_path: Path, rule: dict[str, Any], seq: dict[str, Any],
                                                   match: str) -> None:
    with pytest.raises(PolicyError, match=match) as err:
        validate(policy(tmp_path / "log.csv", [rule], **seq))
    if "not one" in match:
        assert "accuracy, brier_score, log_loss, mae" in str(err.value) and "roc_auc, pr_auc" in str(err.value)


def test_a_bad_order_column_is_an_input_error(tmp_path: Path) -> None:
    from tests.helpers import _cli

    path = tmp_path / "log.csv"
    make_log(path, 400, 0.0, 7).assign(served_at="soon").to_csv(path, index=False)
    pol = tmp_path / "p.yaml"
    pol.write_text("version: 1\ncanary:\n  data: log.csv\n  target: y\n  score: score\n  sequential: {order_by: "
                   "served_at}\n  rules:\n    - {name: accuracy, max_drop: 0.02, confidence: 0.95}\n",
                   encoding="utf-8")
    res = _cli("run", pol, "--out", tmp_path / "out", "--history", "off")
    assert res.exit_code == 2 and "served_at" in res.output and "date-times" in res.output
    pol.write_text(pol.read_text(encoding="utf-8").replace("served_at", "arrived"), encoding="utf-8")
    res = _cli("run", pol, "--out", tmp_path / "out", "--history", "off")
    assert res.exit_code == 2 and "canary.sequential.order_by: arrival order column 'arrived' not found" in res.output
    assert "order_by: order_by" not in res.output  # the key once, not twice


# ------------------------------------------------------------------------- AUC: Bonferroni over looks (history)

@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from store_urls(request.param, tmp_path)


def test_auc_looks_are_counted_in_the_history(tmp_path: Path, url: str) -> None:
    full = make_log(tmp_path / "all.csv", 1500, harm=0.0, seed=8, shuffle=False)
    path = tmp_path / "log.csv"
    rules = [{"name": "auc_roc", "max_drop": 0.05, "confidence": 0.95, "resamples": 500},
             {"name": "accuracy", "max_drop": 0.05, "confidence": 0.95}]
    pol = policy(path, rules, max_looks=3, name="auc_looks")
    seen = []
    for rows in (500, 1000, 1000, 1500, 1500):  # the log grows; a run on the same log is the same look
        full.iloc[:rows].to_csv(path, index=False)
        report = gatekit.run(pol, history=url)
        auc, acc = only(report, 0), only(report, 1)
        seen.append((auc.details["sequential"]["look"], acc.details["sequential"]["look"]))
        per_look = 1 - 0.05 / 3
        assert auc.details["sequential"]["confidence_per_look"] == pytest.approx(per_look)
        # the interval is today's unpaired bootstrap at the corrected confidence
        # from ceil(20 x 3 / 0.05) = 1,200 resamples (raised from the rule's 500: 10 replicates beyond each bound)
        assert auc.details["sequential"]["resamples"] == 1200 and auc.details["sequential"]["resamples_given"] == 500
        fixed = gatekit.run({"version": 1, "canary": {"data": str(path), "target": "y", "score": "score", "rules": [
            {"name": "auc_roc", "max_drop": 0.05, "confidence": per_look, "resamples": 1200}]}})
        iv = only(fixed).details["interval"]
        assert auc.details["sequential"]["cs"] == pytest.approx([iv["low"], iv["high"]], abs=1e-12)
        assert auc.message.startswith(f"look {seen[-1][0]} of at most 3")
    assert seen == [(1, 1), (2, 2), (2, 2), (3, 3), (3, 3)]
    earlier = acc.details["sequential"]["looks"]
    assert [lk["rows"] for lk in earlier] == [500, 1000, 1000, 1500]
    assert all(isinstance(lk["cs"], list) and len(lk["cs"]) == 2 for lk in earlier)
    full.to_csv(path, index=False)  # a fourth distinct log: past max_looks
    full.iloc[:1400].to_csv(path, index=False)
    auc = only(gatekit.run(pol, history=url), 0)
    assert auc.status == Status.NOT_COMPUTABLE and "past max_looks 3" in auc.message
    # the looks table of `gatekit history`
    from gatekit.history.sequential import looks_markdown, looks_rows
    from gatekit.history.store import HistoryStore

    with HistoryStore(url) as store:
        runs = store.runs(policy="auc_looks")
    rows = looks_rows(runs)
    assert [r[2] for r in rows if r[1] == "canary.rules[1] accuracy"] == ["1", "2", "2", "3", "3", "4"]
    assert [r[3] for r in rows if r[1] == "canary.rules[0] roc_auc"] == ["500", "1000", "1000", "1500", "1500",
                                                                         "1400"]
    assert "| rollout | rule | look | rows | confidence sequence | outcome | run |" in "\n".join(looks_markdown(runs))


def test_auc_looks_are_counted_by_metric_and_rollout_not_by_rule_position(tmp_path: Path) -> None:
    # the reviewer's p_auc then p_auc_re: two looks at the AUC rule as canary.rules[0], then a rule inserted before
    # it; the third distinct log is look 3 (past max_looks 2), not "look 1 of at most 2" again
    full = make_log(tmp_path / "all.csv", 1500, harm=0.0, seed=8, shuffle=False)
    path = tmp_path / "log.csv"
    url = f"sqlite:///{tmp_path / 'h.db'}"
    auc = {"name": "auc_roc", "max_drop": 0.05, "confidence": 0.95, "resamples": 200}
    looks = []
    for rows, rules in ((500, [auc]), (1000, [auc]),
                        (1500, [{"name": "accuracy", "max_drop": 0.2, "confidence": 0.95}, auc])):
        full.iloc[:rows].to_csv(path, index=False)
        report = gatekit.run(policy(path, rules, max_looks=2, name="auc_insert"), history=url)
        check = next(c for c in report.checks if c.metric == "roc_auc")
        looks.append(check.details["sequential"]["look"])
    assert looks == [1, 2, 3]
    assert check.status == Status.NOT_COMPUTABLE and "look 3 is past max_looks 2" in check.message
    # two AUC rules of one canary read the same looks: both are look 1 on a new rollout, then look 2
    two = [{**auc, "on_fail": "warn"}, {"name": "auc_roc", "within": 0.1, "confidence": 0.95, "resamples": 200}]
    for rows, want in ((500, 1), (1000, 2)):
        full.iloc[:rows].to_csv(path, index=False)
        report = gatekit.run(policy(path, two, max_looks=2, name="auc_insert", rollout="second"), history=url)
        assert [c.details["sequential"]["look"] for c in report.checks if c.section == "rollout"] == [want, want]


def test_auc_look_resamples_leave_ten_beyond_each_bound(tmp_path: Path) -> None:
    from gatekit.core.formatting import percent
    from gatekit.policy.specs.canary import largest_max_looks, look_resamples

    assert look_resamples(0.95, 30) == 12_000 and look_resamples(0.95, 2) == 2000  # ceil(20 K / 0.05), >= 2,000
    assert look_resamples(0.95, 30, 20_000) == 20_000 and look_resamples(0.99, 3) == 6000
    assert largest_max_looks(0.95) == 250 and largest_max_looks(0.99) == 50  # 20 K / (1 - c) <= 100,000
    assert look_resamples(0.95, 250) == 100_000 and look_resamples(0.95, 251) > 100_000
    # 1 - 0.05 / 300 = 0.99983: never printed "100%"
    assert percent(1 - 0.05 / 300) == "99.983%" and percent(0.95) == "95%" and percent(1 - 0.05 / 30) == "99.83%"
    assert percent(1 - 0.05 / 10_000) == "99.9995%" and percent(0.975) == "97.5%"
    path = tmp_path / "log.csv"
    make_log(path, 600, harm=0.0, seed=9)
    url = f"sqlite:///{tmp_path / 'h.db'}"
    check = only(gatekit.run(policy(path, [{"name": "auc_roc", "max_drop": 0.05, "confidence": 0.95}],
                                    max_looks=30), history=url))
    seq = check.details["sequential"]
    assert seq["resamples"] == 12_000 and seq["resamples_given"] == 2000
    assert check.details["interval"]["resamples"] == 12_000
    assert check.message.startswith("look 1 of at most 30 (Bonferroni, 99.83% per look, 12,000 bootstrap resamples "
                                    "(raised from 2,000))") and "100%" not in check.message
    # the reviewer's max_looks 10,000 (4,000,000 resamples) is refused at load, naming the largest that fits
    with pytest.raises(PolicyError, match=r"max_looks 10000 is too many.*4,000,000 resamples.*max_looks 250 or fewer"):
        validate(policy(path, [{"name": "auc_roc", "max_drop": 0.05, "confidence": 0.95}], max_looks=10_000))
    validate(policy(path, [{"name": "auc_roc", "max_drop": 0.05, "confidence": 0.95}], max_looks=250))
    with pytest.raises(PolicyError, match="max_looks 50 or fewer"):
        validate(policy(path, [{"name": "auc_roc", "max_drop": 0.05, "confidence": 0.99}], max_looks=51))


def test_auc_without_history_is_not_computable(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    make_log(path, 600, harm=0.0, seed=9)
    check = only(gatekit.run(policy(path, [{"name": "auc_roc", "max_drop": 0.05, "confidence": 0.95}], max_looks=5)))
    assert check.status == Status.NOT_COMPUTABLE
    assert "needs the run history" in check.message and "history is off" in check.message


# ------------------------------------------------------------------------------------------ served latency


def latency_log(path: Path, n: int, slower_ms: float, seed: int) -> pd.DataFrame:
    """A 50/50 log in arrival order ``t``, latencies lognormal around 40 ms, the candidate's ``slower_ms`` slower."""
    rng = np.random.default_rng(seed)
    arm = np.where(rng.random(n) < 0.5, "candidate", "production")
    y = (rng.random(n) < 0.3).astype(int)
    score = rng.uniform(0.01, 0.99, n).round(4)
    lat = (rng.lognormal(np.log(40), 0.4, n) + np.where(arm == "candidate", slower_ms, 0.0)).round(3)
    frame = pd.DataFrame({"served_at": np.arange(n), "arm": arm, "y": y, "score": score, "lat": lat})
    frame.sample(frac=1, random_state=seed).to_csv(path, index=False)  # the file out of arrival order
    return frame


def latency_pairs(frame: pd.DataFrame) -> tuple[np.ndarray, list[int]]:
    """The i-th candidate latency minus the i-th production latency, and the log row completing each pair."""
    return paired(frame, frame.loc[frame.arm == "candidate", "lat"].to_numpy(dtype=float),
                  frame.loc[frame.arm == "production", "lat"].to_numpy(dtype=float))


def test_a_slow_candidate_is_stopped_early_on_the_normal_mixture_of_its_latency_pairs(tmp_path: Path) -> None:
    path = tmp_path / "slow.csv"
    frame = latency_log(path, 3000, slower_ms=30.0, seed=21)
    pol = policy(path, [{"name": "latency_mean_ms", "max_increase": 10, "confidence": 0.95}])
    pol["canary"]["latency"] = "lat"
    report = gatekit.run(pol)
    check = only(report)
    d, done = latency_pairs(frame)
    cs = normal_mixture_cs(d, 0.95, n_opt=1000, min_rows=30, min_off_mode=30)
    seq = check.details["sequential"]
    assert seq["method"] == "normal_mixture" and seq["method_given"] is None  # unbounded: never betting
    assert seq["per_row"] == "the row's served latency (ms)" and seq["pairs"] == d.size
    assert seq["cs"] == pytest.approx([cs.low[-1], cs.high[-1]], rel=1e-12)
    assert check.observed == pytest.approx(d.mean(), rel=1e-12)
    first = cs.first_exclusion(10.0, "above")  # the whole sequence above +10 ms: harm proven
    assert first is not None and cs.first_exclusion(10.0, "below") is None
    assert seq["stopped_at"] == {"rows": done[first], "pairs": first + 1, "result": "disproven",
                                 "cs": pytest.approx([cs.low[first], cs.high[first]], rel=1e-12)}
    assert done[first] < 300  # about 60 pairs of 1,500: stopped early
    assert check.status == Status.FAIL and report.decision == Decision.BLOCK
    assert f"harm proven at row {done[first]}" in check.message and "limit increase at most 10 ms" in check.message


def test_an_equally_fast_candidate_proves_safety_or_stays_inconclusive(tmp_path: Path) -> None:
    path = tmp_path / "same.csv"
    frame = latency_log(path, 6000, slower_ms=0.0, seed=22)
    pol = policy(path, [{"name": "latency_mean_ms", "max_increase": 5, "confidence": 0.95, "mode": "non_inferiority"}])
    pol["canary"]["latency"] = "lat"
    check = only(gatekit.run(pol))
    d, done = latency_pairs(frame)
    cs = normal_mixture_cs(d, 0.95, n_opt=1000, min_rows=30, min_off_mode=30)
    safe = cs.first_exclusion(5.0, "below")  # the whole sequence below +5 ms: safety proven
    assert cs.first_exclusion(5.0, "above") is None  # never harm
    result = check.details["outcome"]["result"]
    assert result in ("proven", "inconclusive")
    if safe is None:
        assert result == "inconclusive" and check.details["sequential"]["stopped_at"] is None
    else:
        assert result == "proven" and check.status == Status.PASS
        assert check.details["sequential"]["stopped_at"]["rows"] == done[safe]
        assert f"safety proven at row {done[safe]}" in check.message


def test_latency_under_sequential_load_errors(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    rule = {"name": "latency_mean_ms", "max_increase": 5, "confidence": 0.95}
    pol = policy(path, [rule], method="betting")
    pol["canary"]["latency"] = "lat"
    with pytest.raises(PolicyError, match=r"canary.rules\[0\] \(latency_mean_ms\): method betting needs per-row "
                                          r"values with known bounds .*latency_mean_ms is unbounded: use method: "
                                          r"normal_mixture"):
        validate(pol)
    pol = policy(path, [{**rule, "name": "latency_p95_ms"}])
    pol["canary"]["latency"] = "lat"
    with pytest.raises(PolicyError, match=r"latency_p95_ms is not a mean of rows.*declare canary\.sequential"):
        validate(pol)
    with pytest.raises(PolicyError, match=r"canary.latency: <column>"):
        validate(policy(path, [rule]))


def test_a_latency_percentile_is_bonferroni_over_the_looks(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    latency_log(path, 1200, slower_ms=5.0, seed=23)
    url = f"sqlite:///{tmp_path / 'h.db'}"
    rule = {"name": "latency_p95_ms", "max_increase": 20, "confidence": 0.9}
    pol = policy(path, [rule], max_looks=4, name="lat_looks")
    pol["canary"]["latency"] = "lat"
    check = only(gatekit.run(pol, history=url))
    seq = check.details["sequential"]
    per_look = 1 - 0.1 / 4
    assert seq["method"] == "bonferroni" and seq["look"] == 1 and seq["confidence_per_look"] == pytest.approx(per_look)
    assert seq["resamples"] == 2000  # ceil(20 x 4 / 0.1) = 800 < 2,000
    fixed = {"version": 1, "canary": {"data": str(path), "target": "y", "score": "score", "latency": "lat",
                                      "rules": [{**rule, "confidence": per_look, "resamples": 2000}]}}
    iv = only(gatekit.run(fixed)).details["interval"]
    assert seq["cs"] == pytest.approx([iv["low"], iv["high"]], abs=1e-12)
    assert check.message.startswith("look 1 of at most 4 (Bonferroni, 97.5% per look)")
    assert check.details["outcome"]["result"] == ("proven" if iv["high"] <= 20 else "inconclusive")
    # without the history its looks cannot be counted: not computable, never a pass
    check = only(gatekit.run(pol))
    assert check.status == Status.NOT_COMPUTABLE and "needs the run history" in check.message


def test_looks_on_too_few_rows_for_the_percentile_do_not_spend_the_budget(tmp_path: Path) -> None:
    # p95 needs 400 rows per arm (20 / 0.05): two early logs (300 rows: about 90 candidate) decide nothing, so the
    # first look that reads an interval is still look 1 of 2
    url = f"sqlite:///{tmp_path / 'h.db'}"
    rule = {"name": "latency_p95_ms", "max_increase": 20, "confidence": 0.9}
    for n, seed in ((300, 1), (320, 2)):
        early = tmp_path / f"early_{n}.csv"
        latency_log(early, n, slower_ms=5.0, seed=seed)
        pol = policy(early, [rule], max_looks=2, name="lat_budget")
        pol["canary"]["latency"] = "lat"
        pol["canary"]["min_rows_per_arm"] = 2
        check = only(gatekit.run(pol, history=url))
        assert check.status == Status.NOT_COMPUTABLE and "cs" not in check.details["sequential"]
    path = tmp_path / "log.csv"
    latency_log(path, 3000, slower_ms=5.0, seed=3)
    pol = policy(path, [rule], max_looks=2, name="lat_budget")
    pol["canary"]["latency"] = "lat"
    check = only(gatekit.run(pol, history=url))
    assert check.details["sequential"]["look"] == 1 and check.status != Status.NOT_COMPUTABLE


# ------------------------------------------------------------------------------------------ simulation

def simulate(reps: int, n: int, harm: float, limit: float, seed: int, share: float = 0.3,
             looks: int = 30) -> dict[str, Any]:
    """False (or true) harm stops of paired and per-arm normal mixture sequences and of a fixed-n interval.

    Production is right with probability 0.8, the candidate ``0.8 - harm``; the rule is ``change >= limit`` at 95 %.
    The sequences are read at every row (which covers any 30 looks); the fixed-n Wald interval of the unpaired
    difference at ``looks`` evenly spaced looks. Returns the stop rates and the median log rows to the first stop.
    """
    from statistics import NormalDist

    rng = np.random.default_rng(seed)
    conds = [(">=", limit)]
    q = NormalDist().inv_cdf(0.975)
    grid = np.linspace(n / looks, n, looks).astype(int)
    stops: dict[str, list[float]] = {"paired": [], "per_arm": [], "fixed_n": []}
    for _ in range(reps):
        z = rng.random(n) < share
        y = (rng.random(n) < np.where(z, 0.8 - harm, 0.8)).astype(float)
        c, b = y[z], y[~z]
        k = min(c.size, b.size)
        cs = sequence(c[:k] - b[:k], "normal_mixture", 0.95, 1000, None)
        done = np.searchsorted(np.minimum(np.cumsum(z), np.cumsum(~z)), np.arange(1, k + 1)) + 1
        i, res = _vector_stop(cs.low, cs.high, conds)
        stops["paired"].append(done[i] if res == "disproven" else np.inf)
        arm = [normal_mixture_cs(a, 0.975, n_opt=1000) for a in (c, b)]  # alpha / 2 each (union bound)
        at_c, at_b = np.cumsum(z), np.cumsum(~z)
        ok = (at_c > 0) & (at_b > 0)
        low = np.where(ok, arm[0].low[np.maximum(at_c - 1, 0)] - arm[1].high[np.maximum(at_b - 1, 0)], -np.inf)
        high = np.where(ok, arm[0].high[np.maximum(at_c - 1, 0)] - arm[1].low[np.maximum(at_b - 1, 0)], np.inf)
        j, res = _vector_stop(np.maximum.accumulate(low), np.minimum.accumulate(high), conds)
        stops["per_arm"].append(j + 1 if res == "disproven" else np.inf)
        hit = np.inf
        for t in grid:
            cc, bb = y[:t][z[:t]], y[:t][~z[:t]]
            se = np.sqrt(cc.var(ddof=1) / cc.size + bb.var(ddof=1) / bb.size)
            if cc.mean() - bb.mean() + q * se < limit:
                hit = t
                break
        stops["fixed_n"].append(hit)
    return {k: {"stop_rate": float(np.mean(np.isfinite(v))), "median_rows": float(np.median(v))}
            for k, v in stops.items()}


@pytest.mark.slow
def test_no_true_difference_never_stops_for_harm_more_than_nominally() -> None:
    # 400 canaries of 3,000 rows whose true change sits on the limit (the worst case for a false "harm"): a
    # one-sided decision at 95 % may err in at most 2.5 %; the bound 4.5 % is 2.5 % plus 2.6 binomial standard
    # errors of 400 draws (a false failure of this test has probability under 0.5 %). Measured (seed 11): 0.75 %
    # paired, 0.75 % per arm, 14.3 % fixed-n; with a true change of -0.10 the median stop is 1,664 vs 2,598 rows.
    out = simulate(400, 3000, harm=0.02, limit=-0.02, seed=11)
    assert out["paired"]["stop_rate"] <= 0.045 and out["per_arm"]["stop_rate"] <= 0.045
    assert out["fixed_n"]["stop_rate"] > 0.045  # the fixed-n interval looked at 30 times inflates
    harm = simulate(200, 6000, harm=0.10, limit=-0.02, seed=12)
    assert harm["paired"]["stop_rate"] >= 0.95
    assert harm["paired"]["median_rows"] < harm["per_arm"]["median_rows"]  # why gatekit pairs


def false_safety(reps: int, method: str, seed: int = 0) -> float:
    """Share of rollouts in which a sequence claims safety when the true change sits on the limit.

    The hostile review's ``sim.py``: candidate accuracy 0.94, production 0.99, ``max_drop: 0.05`` at 95 %, 3,000
    pairs read at every look; the true change -0.05 is the limit, so "safety proven" is an error that a one-sided
    decision allows in at most 2.5 % of rollouts. ``normal_mixture``: :func:`sequence` (what the canary reads);
    ``betting``: the lower betting process at the limit itself, at every pair
    (:func:`gatekit.stats.sequential.betting_log_capital`; safety is proven at a pair exactly when it reaches
    ``log(2 / alpha)``), a superset of the canary's looks and so an upper bound on its false safety.
    """
    from gatekit.stats.sequential import betting_log_capital

    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(reps):
        c = (rng.random(3000) < 0.94).astype(float)
        b = (rng.random(3000) < 0.99).astype(float)
        if method == "betting":
            up, _ = betting_log_capital(c - b, -0.05, -1.0, 1.0, 0.95)
            hits += bool(np.any(up >= np.log(2 / 0.05)))
        else:
            cs = sequence(c - b, method, 0.95, 1000, (0.0, 1.0))
            hits += _vector_stop(cs.low, cs.high, [(">=", -0.05)])[1] == "proven"
    return hits / reps


@pytest.mark.slow
def test_high_accuracy_false_safety_stays_at_its_level() -> None:
    # Before the fix the normal mixture estimated its spread from the first one or two discordant pairs and claimed
    # safety in 48 of 1,000 rollouts (4.8 %, seed 0) at a promised 2.5 %. With no bounds before 30 pairs that
    # differ from the most common difference: 15 of 1,000 (1.5 %). Betting, now the default for accuracy, at every
    # pair: 16 of 1,000 (1.6 %). Bound for both, 1,000 rollouts each: 2.5 % + 2.6 binomial standard errors of 1,000
    # draws = 3.8 % (the old 4.8 % fails it; a false failure of this test has probability under 0.5 % each).
    assert false_safety(1000, "normal_mixture") <= 0.038
    assert false_safety(1000, "betting") <= 0.038


if __name__ == "__main__":
    for title, args in (("true change on the limit (-0.02), 30/70", dict(reps=1000, n=3000, harm=0.02, limit=-0.02)),
                        ("no change, limit 0, 30/70", dict(reps=1000, n=3000, harm=0.0, limit=0.0)),
                        ("harm -0.10, limit -0.02, 30/70", dict(reps=500, n=6000, harm=0.10, limit=-0.02)),
                        ("harm -0.10, limit -0.02, 50/50", dict(reps=500, n=6000, harm=0.10, limit=-0.02,
                                                                share=0.5))):
        print(title, simulate(seed=1, **args))  # type: ignore[arg-type]
