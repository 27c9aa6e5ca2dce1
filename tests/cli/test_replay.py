"""Tests of :mod:`gatekit.cli.replay`: the options, output and exit codes of ``gatekit replay``, on the ten runs of
the calibration store (tests/conftest.py ``store``: recorded by ``gatekit run``).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from tests.helpers import _cli
from tests.history.helpers import CALIB_AUCS, CALIB_POLICY, LATENCY_CHANGE, THROUGHPUT_CHANGE, _url

LOOSE = CALIB_POLICY.replace("value: 0.90          # far too strict for this history", "value: 0.5")


def _replay(work: dict[str, Any], text: str, *extra: str, code: int = 0) -> dict[str, Any]:
    policy = work["dir"] / "new.yaml"
    policy.write_text(text, encoding="utf-8")
    res = _cli("replay", policy, "--history", _url(work["db"]), "--format", "json", *extra)
    assert res.exit_code == code, res.output
    return json.loads(res.stdout)


def test_a_loosened_limit_unblocks_the_runs_the_other_rules_pass(work: dict[str, Any]) -> None:
    doc = _replay(work, LOOSE)
    # then: every run blocked on auc_roc >= 0.90; now the drop and increase rules decide (by hand: throughput
    # change >= -5 rows/s and latency change <= 1 ms, the same runs for their percent forms at 1000 and 50)
    passing = [i for i in range(10) if THROUGHPUT_CHANGE[i] >= -5 and LATENCY_CHANGE[i] <= 1]
    assert passing == [1, 6, 8]
    assert [r["decision_then"] for r in doc["runs"]] == ["block"] * 10
    assert [r["run_id"] for r in doc["runs"] if r["decision_now"] == "pass"] == [work["ids"][i] for i in passing]
    assert doc["summary"] == {"runs": 10, "changed": 3, "newly_blocked": 0, "no_longer_blocked": 3, "incomplete": 0}
    for r in doc["runs"]:
        assert r["changed_rules"] == ["auc_roc >= 0.5"]  # fail -> pass in every run
        (auc,) = [x for x in r["rules"] if x["label"] == "auc_roc >= 0.5"]
        assert auc["then"] == "fail" and auc["now"] == "pass"
    assert [r["rules"][0]["observed"] for r in doc["runs"]] == CALIB_AUCS
    assert doc["selection"] == {"policy_name": "calib_e2e", "model_name": None, "last": 10}


def test_fail_on_change_exits_1_only_when_a_decision_changes(work: dict[str, Any]) -> None:
    _replay(work, LOOSE, "--fail-on-change", code=1)
    assert _replay(work, CALIB_POLICY, "--fail-on-change")["summary"]["changed"] == 0


def test_the_table_says_then_and_now(work: dict[str, Any]) -> None:
    policy = work["dir"] / "new.yaml"
    policy.write_text(LOOSE, encoding="utf-8")
    res = _cli("replay", policy, "--history", _url(work["db"]), "--last", "4")
    assert res.exit_code == 0, res.output
    assert "decision then" in res.stdout and "decision now" in res.stdout
    assert "auc_roc >= 0.5: fail -> pass" in res.stdout
    assert "replay of calib_e2e on 4 runs of policy 'calib_e2e'" in res.stdout
    assert "2 of 4 runs decided differently: 0 newly blocked, 2 no longer blocked, 0 incomplete" in res.stdout
    assert all(i in res.stdout for i in work["ids"][-4:]) and work["ids"][0] not in res.stdout


def test_runs_are_chosen_by_policy_or_model_name(work: dict[str, Any]) -> None:
    renamed = LOOSE.replace("name: calib_e2e", "name: renamed")
    assert _replay(work, renamed, "--model-name", "calib_e2e")["summary"]["runs"] == 10
    assert _replay(work, renamed, "--policy-name", "calib_e2e", "--last", "3")["summary"]["runs"] == 3
    policy = work["dir"] / "new.yaml"
    res = _cli("replay", policy, "--history", _url(work["db"]))
    assert res.exit_code == 2 and "no recorded runs of policy 'renamed'" in res.stderr


def test_suggested_limits_say_they_are_a_quantile_of_past_runs(work: dict[str, Any]) -> None:
    doc = _replay(work, CALIB_POLICY, "--suggest-limits", "--false-block-rate", "0.2")
    s = doc["suggested_limits"]
    assert s["reference_runs"] == 10 and "none being marked legitimate" in s["reference"]
    assert "empirical quantile" in s["definition"]
    (auc,) = [r for r in s["rules"] if r["label"] == "auc_roc >= 0.9"]
    assert auc["quantile"] == -np.quantile(-np.array(CALIB_AUCS), 0.8, method="inverted_cdf")
    assert sum(a < auc["proposed"] for a in CALIB_AUCS) <= 2
    policy = work["dir"] / "new.yaml"
    res = _cli("replay", policy, "--history", _url(work["db"]), "--suggest-limits")
    assert res.exit_code == 0, res.output
    assert "empirical quantile of each rule's recorded values in 10 runs" in res.stdout


def test_bad_usage_exits_2(work: dict[str, Any]) -> None:
    policy = work["dir"] / "new.yaml"
    policy.write_text(CALIB_POLICY, encoding="utf-8")
    res = _cli("replay", policy, "--history", _url(work["db"]), "--format", "xml")
    assert res.exit_code == 2 and "--format must be table or json" in res.stderr
    bad = work["dir"] / "bad.yaml"
    bad.write_text("version: 1\nmetrics:\n  - {name: auc_roc, op: '>>', value: 1}\n", encoding="utf-8")
    res = _cli("replay", bad, "--history", _url(work["db"]))
    assert res.exit_code == 2 and "invalid policy" in res.stderr
    res = _cli("replay", policy, "--history", _url(work["dir"] / "none.db"))
    assert res.exit_code == 2 and "no such file" in res.stderr


def test_a_rule_never_observed_makes_the_replay_incomplete(work: dict[str, Any]) -> None:
    policy = work["dir"] / "new.yaml"
    policy.write_text(LOOSE + '  - {name: brier_score, op: "<=", value: 0.2, on_fail: warn}\n', encoding="utf-8")
    res = _cli("replay", policy, "--history", _url(work["db"]), "--last", "3", "--fail-on-change")
    assert res.exit_code == 1, res.output  # incomplete may be a change: fail closed
    assert "incomplete (at least pass)" in res.stdout and "incomplete (at least block)" not in res.stdout
    assert "not replayable: brier_score <= 0.2: the run has no check of brier_score: no stored observation" \
        in res.stdout
    # runs 7 and 9 block on their drop and increase rules whatever brier_score says; run 8 would pass the rest
    assert "1 of 3 runs decided differently: 0 newly blocked, 0 no longer blocked, 1 incomplete" in res.stdout


def _strict_json(text: str) -> dict[str, Any]:
    """Parse JSON as a strict reader does: Infinity and NaN are not JSON."""
    def refuse(name: str) -> None:
        raise ValueError(f"not JSON: {name}")
    return json.loads(text, parse_constant=refuse)


def test_a_tampered_store_gives_valid_json_and_no_pass(work: dict[str, Any]) -> None:
    import sqlite3

    with sqlite3.connect(work["db"]) as conn:  # auc_roc stored as Infinity in half the runs, "abc" in the others
        ids = [r[0] for r in conn.execute("SELECT run_id FROM gatekit_runs WHERE policy_name = 'calib_e2e'")]
        for run_id, value in zip(ids, ["Infinity", '"abc"'] * 5, strict=True):
            (raw,) = conn.execute("SELECT observation_json FROM gatekit_checks WHERE run_id = ? AND metric = "
                                  "'roc_auc'", (run_id,)).fetchone()
            obs = json.loads(raw)
            obs["candidate"] = "@"
            conn.execute("UPDATE gatekit_checks SET observation_json = ? WHERE run_id = ? AND metric = 'roc_auc'",
                         (json.dumps(obs).replace('"@"', value), run_id))
    policy = work["dir"] / "new.yaml"
    policy.write_text(LOOSE, encoding="utf-8")
    res = _cli("replay", policy, "--history", _url(work["db"]), "--format", "json")
    assert res.exit_code == 0, res.output
    doc = _strict_json(res.stdout)
    assert len(doc["runs"]) == 10
    for r in doc["runs"]:
        (auc,) = [x for x in r["rules"] if x["label"] == "auc_roc >= 0.5"]
        assert auc["now"] == "not_replayable" and "the stored observation is malformed" in auc["note"]
        assert "candidate" in auc["note"] and r["decision_now"] in ("incomplete", "block")


def test_a_stored_policy_that_is_not_a_mapping_is_not_replayable(work: dict[str, Any]) -> None:
    import sqlite3

    with sqlite3.connect(work["db"]) as conn:
        conn.execute("UPDATE gatekit_runs SET policy_json = '[]'")
    doc = _replay(work, LOOSE, "--last", "2")
    for r in doc["runs"]:
        assert r["decision_now"] == "incomplete" and r["carried_over"] == 0
        assert all(x["now"] == "not_replayable" and "stored policy is malformed" in x["note"] for x in r["rules"])


def test_the_json_output_writes_no_infinity() -> None:
    from gatekit.cli.replay import _finite

    assert _finite({"a": [1.0, float("inf"), {"b": float("-inf")}], "c": float("nan"), "d": "x"}) == \
        {"a": [1.0, None, {"b": None}], "c": None, "d": "x"}
