"""Tests of :mod:`gatekit.history.replay`: a changed policy replayed on runs recorded by ``gatekit.run`` in SQLite
and a real PostgreSQL server (``eval "$(scripts/start_test_postgres.sh)"``; skipped without one).

Expected decisions are computed here independently: AUCs with scikit-learn, changes and interval bounds by hand,
limits as numpy quantiles.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import gatekit
from gatekit.history.replay import INCOMPLETE, NOT_REPLAYABLE, replay, suggest_limits, summary
from gatekit.history.store import HistoryStore
from gatekit.policy import load_policy
from tests.history.helpers import store_urls

BASE_AUC = 0.78
V1 = """\
version: 1
name: replayed
inputs:
  target: y
  baseline: {metrics: base.json}
metrics:
  - {name: auc_roc, op: ">=", value: 0.55}
  - {name: auc_roc, op: ">=", value: 0.55, confidence: 0.9, resamples: 200, on_fail: warn}
  - {name: auc_roc, max_drop: 0.30}
data_quality:
  row_count: {min: 10}
"""
SEPARATIONS = [0.4, 0.7, 1.0, 1.3, 1.7, 2.2]


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from store_urls(request.param, tmp_path)


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """400 evaluation rows with six score columns of rising quality, and the base metrics file."""
    root = tmp_path_factory.mktemp("replay")
    rng = np.random.default_rng(7)
    y = (rng.random(400) < 0.4).astype(int)
    frame = pd.DataFrame({"y": y})
    for k, sep in enumerate(SEPARATIONS):
        frame[f"s{k}"] = 1 / (1 + np.exp(-(sep * (2 * y - 1) + rng.normal(size=400))))
    frame.to_csv(root / "d.csv", index=False)
    (root / "base.json").write_text(json.dumps({"auc_roc": BASE_AUC}), encoding="utf-8")
    aucs = [float(roc_auc_score(y, frame[f"s{k}"])) for k in range(len(SEPARATIONS))]
    return {"root": root, "data": root / "d.csv", "aucs": aucs}


def _policy(root: Path, text: str, name: str) -> Path:
    p = root / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def _record_all(rows: dict[str, Any], url: str) -> list[Any]:
    """Run V1 once per score column into the store; return the live reports, oldest first."""
    policy = _policy(rows["root"], V1, "v1.yaml")
    return [gatekit.run(policy, data=rows["data"], score=f"s{k}", history=url) for k in range(len(SEPARATIONS))]


def _replayed(rows: dict[str, Any], url: str, text: str) -> list[Any]:
    lp = load_policy(_policy(rows["root"], text, "v2.yaml"))
    with HistoryStore(url, create=False) as st:
        return replay(lp, st.runs(policy="replayed"))


def test_a_tightened_limit_blocks_exactly_the_runs_below_it(rows: dict[str, Any], url: str) -> None:
    reports = _record_all(rows, url)
    assert [r.metadata["history"]["recorded"] for r in reports] == [True] * len(reports)
    aucs = rows["aucs"]
    limit = float(np.median(aucs))  # half the recorded models fall below it
    replays = _replayed(rows, url, V1.replace('{name: auc_roc, op: ">=", value: 0.55}',
                                              f'{{name: auc_roc, op: ">=", value: {limit!r}}}'))
    assert [r.decision_then for r in replays] == [r.decision.value for r in reports]
    for r, auc, live in zip(replays, aucs, reports, strict=True):
        tightened = r.rules[0]
        assert tightened.observed == pytest.approx(auc, abs=1e-12)
        assert tightened.now == ("pass" if auc >= limit else "fail")
        assert tightened.changed == (auc < limit)
        assert r.decision_now == ("block" if auc < limit else live.decision.value)
        assert r.changed_rules == ([tightened.label] if auc < limit else [])
        assert r.carried_over == 1 and r.not_replayable == []  # data_quality's row count, as recorded
    s = summary(replays)
    assert s["newly_blocked"] == sum(a < limit and live.decision.value != "block" for a, live in zip(aucs, reports,
                                                                                                    strict=True))
    assert s["newly_blocked"] == 3 and s["incomplete"] == 0


def test_an_interval_rule_replays_on_the_stored_interval(rows: dict[str, Any], url: str) -> None:
    reports = _record_all(rows, url)
    lows = [next(c for c in r.checks if c.details.get("decided_on") == "interval").details["interval"]["low"]
            for r in reports]
    limit = float(np.median(lows))
    text = V1.replace("value: 0.55, confidence: 0.9", f"value: {limit!r}, confidence: 0.9")
    for r, low in zip(_replayed(rows, url, text), lows, strict=True):
        rule = r.rules[1]
        assert rule.interval is not None and rule.interval[0] == low
        # proven_safe: the lower bound must meet the limit; a lower bound under it leaves the rule inconclusive
        # (the upper bound is above the limit), which costs the rule's own severity
        high = rule.interval[1]
        assert rule.now == ("pass" if low >= limit else "fail" if high < limit else "inconclusive")
    # another confidence level was never computed: not replayable, never a pass
    text = V1.replace("confidence: 0.9", "confidence: 0.95")
    for r in _replayed(rows, url, text):
        assert r.rules[1].now == NOT_REPLAYABLE and "90%" in r.rules[1].note and "95%" in r.rules[1].note
        assert r.decision_now in (INCOMPLETE, "block")


def test_a_rule_in_a_testing_family_is_not_replayable(rows: dict[str, Any], url: str) -> None:
    # a family decides its members on adjusted p-values, which a stored interval cannot give: never a pass
    _record_all(rows, url)
    text = V1 + "families:\n  - {name: all_confidence, method: holm}\n"
    for r in _replayed(rows, url, text):
        assert r.rules[1].now == NOT_REPLAYABLE and "all_confidence" in r.rules[1].note
        assert r.rules[0].now != NOT_REPLAYABLE  # a point rule is outside every family


def test_the_severity_of_an_inconclusive_outcome_replays(rows: dict[str, Any], url: str) -> None:
    # the policy now counts an interval straddling the limit as a pass: replay reads the outcome from the stored
    # interval (rule 1 is absolute: no margin, so never "insufficient data") and applies the new severity
    reports = _record_all(rows, url)
    text = V1.replace("confidence: 0.9, resamples: 200, on_fail: warn",
                      "confidence: 0.9, resamples: 200, on_fail: warn, inconclusive: pass")
    for r, live in zip(_replayed(rows, url, text), reports, strict=True):
        iv = next(c for c in live.checks if c.details.get("decided_on") == "interval").details["interval"]
        now = r.rules[1].now
        assert now == ("fail" if iv["high"] < 0.55 else "pass"), (iv, now)  # inconclusive counts as a pass here


def test_a_relative_rule_replays_on_the_recorded_values(rows: dict[str, Any], url: str) -> None:
    _record_all(rows, url)
    drop = 0.05
    text = V1.replace("max_drop: 0.30", f"max_drop: {drop}")
    for r, auc in zip(_replayed(rows, url, text), rows["aucs"], strict=True):
        rule = r.rules[2]
        assert rule.observed == pytest.approx(auc - BASE_AUC, abs=1e-12)
        assert rule.now == ("pass" if auc - BASE_AUC >= -drop else "fail")


def test_a_rule_without_a_stored_observation_is_not_replayable(rows: dict[str, Any], url: str) -> None:
    reports = _record_all(rows, url)
    limit = float(np.median(rows["aucs"]))
    text = V1.replace('{name: auc_roc, op: ">=", value: 0.55}', f'{{name: auc_roc, op: ">=", value: {limit!r}}}') \
        .replace("data_quality:", '  - {name: brier_score, op: "<=", value: 0.5}\ndata_quality:')
    replays = _replayed(rows, url, text)
    for r, auc, live in zip(replays, rows["aucs"], reports, strict=True):
        new = r.rules[3]
        assert new.now == NOT_REPLAYABLE and new.then is None and not new.changed
        assert "no stored observation" in new.note
        if auc < limit:  # a block is certain whatever the rule not replayed would say
            assert r.decision_now == "block" and r.at_least is None
        else:
            assert r.decision_now == INCOMPLETE and r.at_least == live.decision.value
        assert r.changed and "brier_score" in r.not_replayable[0]
    assert summary(replays)["incomplete"] == sum(a >= limit for a in rows["aucs"])


def test_another_section_changed_is_not_replayable(rows: dict[str, Any], url: str) -> None:
    _record_all(rows, url)
    for r in _replayed(rows, url, V1.replace("row_count: {min: 10}", "row_count: {min: 1000}")):
        assert r.carried_over == 0 and any(w.startswith("data_quality:") for w in r.not_replayable)
        assert r.decision_now in (INCOMPLETE, "block")
        assert all(rule.now != NOT_REPLAYABLE for rule in r.rules)  # the metric rules still replay


def test_a_new_decision_threshold_stops_computed_metrics_replaying(rows: dict[str, Any], url: str) -> None:
    _record_all(rows, url)
    for r in _replayed(rows, url, V1.replace("inputs:", "decision_threshold: 0.7\ninputs:")):
        assert all(rule.now == NOT_REPLAYABLE and "decision_threshold" in rule.note for rule in r.rules)
        assert r.decision_now == INCOMPLETE


def test_runs_recorded_before_history_schema_3_are_not_replayable(rows: dict[str, Any], url: str) -> None:
    from sqlalchemy import text

    _record_all(rows, url)
    with HistoryStore(url) as st, st.engine.begin() as conn:  # as a store written by gatekit before replay
        conn.execute(text("UPDATE gatekit_checks SET observation_json = NULL"))
        conn.execute(text("UPDATE gatekit_runs SET policy_json = NULL"))
    for r in _replayed(rows, url, V1):
        assert r.decision_now == INCOMPLETE and r.at_least is None and r.carried_over == 0
        assert all(rule.now == NOT_REPLAYABLE and "schema 3" in rule.note for rule in r.rules)


def test_the_same_policy_replays_to_the_recorded_decisions(rows: dict[str, Any], url: str) -> None:
    reports = _record_all(rows, url)
    replays = _replayed(rows, url, V1)
    assert [r.decision_now for r in replays] == [r.decision.value for r in reports]
    assert summary(replays)["changed"] == 0
    for r, live in zip(replays, reports, strict=True):  # each rule as the live run decided it
        live_status = [c.status.value for c in live.checks if str(c.details.get("rule") or "").startswith("metrics[")]
        assert [rule.now for rule in r.rules] == live_status == [rule.then for rule in r.rules]


# suggested limits: numpy quantiles of the recorded values
AUCS = [0.81, 0.74, 0.9, 0.77, 0.86, 0.7, 0.83, 0.79, 0.88, 0.72, 0.84, 0.76, 0.91, 0.73, 0.8, 0.87, 0.75, 0.82, 0.78,
        0.85]
LOSSES = [0.31, 0.44, 0.27, 0.39, 0.35, 0.5, 0.29, 0.41, 0.33, 0.47, 0.3, 0.42, 0.26, 0.46, 0.36, 0.28, 0.43, 0.34,
          0.4, 0.32]
SUGGEST = """\
version: 1
name: suggested
metrics:
  - {name: auc_roc, op: ">=", value: 0.85}
  - {name: log_loss, op: "<=", value: 0.3, on_fail: warn}
"""


def _record_figures(tmp_path: Path, url: str) -> tuple[Path, list[str]]:
    policy = _policy(tmp_path, SUGGEST, "suggested.yaml")
    ids = []
    for i, (a, ll) in enumerate(zip(AUCS, LOSSES, strict=True)):
        m = tmp_path / f"m{i}.json"
        m.write_text(json.dumps({"auc_roc": a, "log_loss": ll}), encoding="utf-8")
        ids.append(gatekit.run(policy, metrics=m, history=url).metadata["run_id"])
    return policy, ids


@pytest.mark.parametrize("rate", [0.0, 0.05, 0.1, 0.25])
def test_suggested_limits_are_numpy_quantiles_of_the_recorded_values(tmp_path: Path, url: str, rate: float) -> None:
    policy, _ = _record_figures(tmp_path, url)
    with HistoryStore(url) as st:
        runs = st.runs(policy="suggested", last=50)
    auc, loss = suggest_limits(load_policy(policy), runs, rate)
    # at most floor(rate * n) of the n runs blocked: the inverse empirical distribution at 1 - rate
    assert auc.quantile == -np.quantile(-np.array(AUCS), 1 - rate, method="inverted_cdf")
    assert loss.quantile == np.quantile(LOSSES, 1 - rate, method="inverted_cdf")
    for p, values, passes in ((auc, AUCS, lambda v, t: v >= t), (loss, LOSSES, lambda v, t: v <= t)):
        limit = p.proposed
        blocked = sum(not passes(v, limit) for v in values)
        assert blocked <= int(np.floor(rate * len(values)))
        assert blocked == sum(not passes(v, p.quantile) for v in values)  # the round limit blocks the same runs
        assert p.proposed_pass_rate == pytest.approx(1 - blocked / len(values))


def test_suggested_limits_use_the_runs_marked_legitimate(tmp_path: Path, url: str) -> None:
    from gatekit.cli.replay import _reference

    policy, ids = _record_figures(tmp_path, url)
    with HistoryStore(url) as st:
        st.mark(ids[:10], True)
        runs = st.runs(policy="suggested", last=50)
    reference, why = _reference(runs)
    assert [r.run_id for r in reference] == ids[:10] and "marked legitimate" in why
    (auc, _) = suggest_limits(load_policy(policy), reference, 0.1)
    assert auc.quantile == -np.quantile(-np.array(AUCS[:10]), 0.9, method="inverted_cdf")
    with pytest.raises(ValueError, match="false-block rate"):
        suggest_limits(load_policy(policy), reference, 1.0)


# an operational figure measured in rounds: a check as gatekit.sections.operational_rules makes it, recorded as is
def _rounds_run(url: str, low: float, high: float) -> None:
    from gatekit.core.results import CheckResult, Decision, GateReport, OnFail, Status

    lp = load_policy({"version": 1, "name": "ops", "metrics": [{"name": "latency_p95_ms", "op": "<=", "value": 20}]})
    details = {"rule": "metrics[0]", "params": {}, "decided_on": "interval", "verdict": "pass",
               "decision": "three ways on the interval of the median of the rounds", "guardband": "proven_safe",
               "comparison": {"statistic": "value", "candidate": 12.0, "definition": None},
               "interval": {"estimate": 12.0, "low": low, "high": high, "confidence": 0.9375, "confidence_asked": 0.9,
                            "method": "order_statistic_median", "rounds": 5}}
    check = CheckResult(name="latency_p95_ms", section="operational", status=Status.PASS, on_fail=OnFail.BLOCK,
                        observed=12.0, op="<=", threshold=20, metric="latency_p95_ms", source="computed",
                        details=details)
    meta = {"run_id": f"ops-{low}", "started_at": "2026-01-01T00:00:00+00:00",
            "policy": {"name": "ops", "version": 1, "sha256": "a" * 64,
                       "resolved": lp.policy.model_dump(mode="json", exclude_none=True)},
            "inputs": {"files": {}}}
    with HistoryStore(url) as st:
        st.record(GateReport(decision=Decision.PASS, reason="r", checks=[check], metadata=meta))


@pytest.mark.parametrize(("limit", "now"), [(14, "pass"), (12.5, "not_computable"), (10, "fail")])
def test_a_figure_measured_in_rounds_is_decided_three_ways(url: str, limit: float, now: str) -> None:
    _rounds_run(url, 11.0, 13.0)
    lp = load_policy({"version": 1, "name": "ops", "metrics": [{"name": "latency_p95_ms", "op": "<=", "value": limit}]})
    with HistoryStore(url) as st:
        (r,) = replay(lp, st.runs())
    assert r.rules[0].now == now and r.rules[0].interval == [11.0, 13.0]
    assert r.decision_now == {"pass": "pass", "not_computable": "block", "fail": "block"}[now]  # strict
    other = load_policy({"version": 1, "name": "ops", "operational": {"confidence": 0.99, "rounds": 8},
                         "metrics": [{"name": "latency_p95_ms", "op": "<=", "value": limit}]})
    with HistoryStore(url) as st:
        (r,) = replay(other, st.runs())
    assert r.rules[0].now == NOT_REPLAYABLE and "operational" in r.rules[0].note


def test_an_infinite_bin_edge_compares_equal_to_its_stored_form(url: str) -> None:
    from gatekit.core.results import CheckResult, Decision, GateReport, OnFail, Status

    spec = {"version": 1, "name": "binned", "metrics": [{"name": "auc_roc", "op": ">=", "value": 0.7}],
            "slices": [{"metric": "auc_roc", "by": "g", "op": ">=", "value": 0.6, "bins": {"g": [0, 1, float("inf")]}}]}
    lp = load_policy(spec)
    checks = [CheckResult(name="auc_roc", section="performance", status=Status.PASS, on_fail=OnFail.BLOCK,
                          observed=0.8, op=">=", threshold=0.7, metric="roc_auc", source="metrics_file",
                          details={"rule": "metrics[0]", "params": {}}),
              CheckResult(name="auc_roc by g", section="slices", status=Status.FAIL, on_fail=OnFail.BLOCK,
                          observed=0.5, op=">=", threshold=0.6, details={"rule": "slices[0]"})]
    meta = {"run_id": "binned-1", "started_at": "2026-01-01T00:00:00+00:00", "inputs": {"files": {}},
            "policy": {"name": "binned", "version": 1, "sha256": "b" * 64,
                       "resolved": lp.policy.model_dump(mode="json", exclude_none=True)}}
    with HistoryStore(url) as st:
        st.record(GateReport(decision=Decision.BLOCK, reason="r", checks=checks, metadata=meta))
        (run,) = st.runs()
    assert run.policy is not None and run.policy["slices"][0]["bins"]["g"] == [0, 1, "Infinity"]
    (r,) = replay(lp, [run])
    assert r.not_replayable == [] and r.carried_over == 1 and r.decision_now == "block"  # the slice, as recorded
    spec["slices"][0]["bins"]["g"] = [0, 1, 2]
    (r,) = replay(load_policy(spec), [run])
    assert r.decision_now == INCOMPLETE and r.not_replayable[0].startswith("slices:")


# what changes the computation makes the run's observations and checks not replayable (fail closed)
@pytest.mark.parametrize(("old", "new", "key"), [
    ("inputs:", "decision_threshold: 0.7\ninputs:", "decision_threshold"),
    ("  target: y\n", "  target: y\n  positive_label: 0\n", "inputs.positive_label"),
    ("  target: y\n", "  target: y\n  score: s3\n", "inputs.score"),
    ("  target: y\n", "  target: y\n  sensitive: [s0]\n", "inputs.sensitive"),
    ("  target: y\n", "  target: y\n  task: regression\n", "inputs.task"),
])
def test_changed_inputs_stop_every_rule_and_carried_check_replaying(rows: dict[str, Any], url: str, old: str,
                                                                     new: str, key: str) -> None:
    _record_all(rows, url)
    assert old in V1
    for r in _replayed(rows, url, V1.replace(old, new)):
        assert all(rule.now == NOT_REPLAYABLE and f"inputs changed ({key})" in rule.note for rule in r.rules)
        assert r.carried_over == 0  # data_quality's row count was computed under the other inputs too
        assert any(w.startswith("the run's other checks: the inputs changed") and key in w for w in r.not_replayable)
        assert r.decision_now == INCOMPLETE and r.at_least is None


def test_where_the_inputs_are_is_not_what_was_computed(rows: dict[str, Any], url: str) -> None:
    reports = _record_all(rows, url)
    moved = V1.replace("  target: y\n", "  target: y\n  data: elsewhere.csv\n  engine: duckdb\n")
    replays = _replayed(rows, url, moved)
    assert [r.decision_now for r in replays] == [r.decision.value for r in reports]
    assert all(r.carried_over == 1 and r.not_replayable == [] for r in replays)


def _tamper(url: str, edit: Any, interval: bool = False) -> int:
    """Rewrite each stored observation of auc_roc (with an interval, or without) through ``edit``; return how many."""
    from sqlalchemy import text

    n = 0
    with HistoryStore(url) as st, st.engine.begin() as conn:
        for run_id, key, raw in conn.execute(text("SELECT run_id, key, observation_json FROM gatekit_checks "
                                                  "WHERE observation_json IS NOT NULL")).all():
            obs = json.loads(raw)
            if obs.get("candidate") is None or isinstance(obs.get("interval"), dict) != interval:
                continue
            edit(obs)
            conn.execute(text("UPDATE gatekit_checks SET observation_json = :o WHERE run_id = :r AND key = :k"),
                         {"o": json.dumps(obs), "r": run_id, "k": key})
            n += 1
    return n


@pytest.mark.parametrize(("edit", "interval", "field"), [
    (lambda o: o.update(candidate=True), False, "candidate"),
    (lambda o: o.update(candidate=float("inf")), False, "candidate"),
    (lambda o: o.update(candidate="abc"), False, "candidate"),
    (lambda o: o.update(baseline=float("-inf")), False, "baseline"),
    (lambda o: o["interval"].update(low=1.5), True, "interval low > high"),
    (lambda o: o["interval"].update(low=float("inf"), high=float("inf")), True, "interval.low"),
    (lambda o: o["interval"].update(high=False), True, "interval.high"),
])
def test_a_malformed_stored_observation_is_not_replayable(rows: dict[str, Any], url: str, edit: Any,
                                                          interval: bool, field: str) -> None:
    _record_all(rows, url)
    assert _tamper(url, edit, interval) >= len(SEPARATIONS)
    for r in _replayed(rows, url, V1):
        for rule in r.rules:  # every auc_roc rule reads every stored auc_roc observation of the run
            assert rule.now == NOT_REPLAYABLE and "the stored observation is malformed" in rule.note
            assert field in rule.note
        assert r.decision_now == INCOMPLETE and r.at_least == "pass"  # only the row count replayed: it passes


def test_a_malformed_stored_policy_or_check_is_not_replayable(rows: dict[str, Any], url: str) -> None:
    from sqlalchemy import text

    _record_all(rows, url)
    with HistoryStore(url) as st, st.engine.begin() as conn:
        conn.execute(text("UPDATE gatekit_checks SET status = 'bogus' WHERE section = 'data_quality'"))
    for r in _replayed(rows, url, V1):
        assert r.carried_over == 0 and any("a stored check is malformed" in w for w in r.not_replayable)
        assert all(rule.now != NOT_REPLAYABLE for rule in r.rules)
    with HistoryStore(url) as st, st.engine.begin() as conn:
        conn.execute(text("UPDATE gatekit_runs SET policy_json = '[]'"))
    for r in _replayed(rows, url, V1):
        assert all(rule.now == NOT_REPLAYABLE and "stored policy is malformed" in rule.note for rule in r.rules)
        assert r.decision_now == INCOMPLETE and r.carried_over == 0


CUSTOM = """\
import numpy as np
import gatekit


@gatekit.metric(name="hit_rate", inputs=("y_true", "y_pred"), tasks="classification", direction="higher",
                description="share of rows predicted right")
def hit_rate(y_true, y_pred, sample_weight=None):
    w = np.ones(len(y_true)) if sample_weight is None else sample_weight
    return float((w * (y_true == y_pred)).sum() / w.sum())
"""


def test_edited_custom_metric_code_is_not_replayable(rows: dict[str, Any], url: str, tmp_path: Path) -> None:
    (tmp_path / "cm").mkdir()
    code = tmp_path / "cm" / "m.py"
    code.write_text(CUSTOM, encoding="utf-8")
    text = ("version: 1\nname: custom\ninputs: {target: y, score: s2}\ncustom_metrics: {metrics_dir: cm}\n"
            "metrics:\n  - {name: hit_rate, op: '>=', value: 0.5}\n")
    policy = _policy(tmp_path, text, "c.yaml")
    live = gatekit.run(policy, data=rows["data"], history=url)
    frame = pd.read_csv(rows["data"])
    hits = float(((frame["s2"] >= 0.5).astype(int) == frame["y"]).mean())
    with HistoryStore(url, create=False) as st:
        (run,) = st.runs(policy="custom")
    (r,) = replay(load_policy(policy), [run])  # the same code: replays the recorded value
    assert r.rules[0].observed == pytest.approx(hits, abs=1e-12) and r.decision_now == live.decision.value
    code.write_text(CUSTOM.replace("y_true == y_pred", "y_true != y_pred"), encoding="utf-8")
    (r,) = replay(load_policy(policy), [run])
    assert r.rules[0].now == NOT_REPLAYABLE and "custom metric code differs" in r.rules[0].note
    assert "custom_metrics_file_0" in r.rules[0].note and r.decision_now == INCOMPLETE
    run.files = {k: v for k, v in run.files.items() if not k.startswith("custom_metrics_")}  # never recorded
    (r,) = replay(load_policy(policy), [run])
    assert r.rules[0].now == NOT_REPLAYABLE and "recorded no hash" in r.rules[0].note


def test_a_sequential_rule_is_not_replayable_even_beside_a_stored_bootstrap(tmp_path: Path, url: str) -> None:
    # the run stored a bootstrap interval of the accuracy change at 95 %; a rule with interval: sequential decides
    # on the first row at which its confidence sequence left the limit, which no stored interval gives: never a pass
    rng = np.random.default_rng(3)
    y = (rng.random(300) < 0.4).astype(int)
    frame = pd.DataFrame({"y": y, "s": np.clip(0.4 + 0.3 * (2 * y - 1) + rng.normal(0, 0.3, 300), 0, 1),
                          "b": np.clip(0.4 + 0.3 * (2 * y - 1) + rng.normal(0, 0.3, 300), 0, 1)})
    frame.to_csv(tmp_path / "d.csv", index=False)
    head = ("version: 1\nname: seq_replay\ninputs: {data: d.csv, target: y, score: s, baseline: {score: b}}\n"
            "metrics:\n  - {name: accuracy, max_drop: 0.05, confidence: 0.95")
    gatekit.run(_policy(tmp_path, head + "}\n", "v1.yaml"), history=url)  # default resamples and seed
    lp = load_policy(_policy(tmp_path, head + ", interval: sequential}\n", "v2.yaml"))
    with HistoryStore(url, create=False) as st:
        (r,) = replay(lp, st.runs(policy="seq_replay"))
    assert r.rules[0].now == NOT_REPLAYABLE and "confidence sequence" in r.rules[0].note
    assert r.decision_now == INCOMPLETE
    with HistoryStore(url, create=False) as st:  # the stored bootstrap interval itself replays the bootstrap rule
        (again,) = replay(load_policy(tmp_path / "v1.yaml"), st.runs(policy="seq_replay"))
    assert again.rules[0].now in ("pass", "fail", "inconclusive")
