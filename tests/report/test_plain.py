"""Tests of :mod:`gatekit.report.plain`: the sentence a stakeholder reads, against sentences written by hand.

The checks are the demo's own (values copied from the demo's ``gate_report.json``: ``seed_mini_challenge``'s
parity rule against production, ``seed_project_2``'s canary AUC rule, ``demand_forecast``'s R² and drift,
``loan_serving``'s out-of-range probe, ``loan_approval_v2``'s missing column), rebuilt as CheckResults.
"""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from gatekit.core.results import CheckResult, Decision
from gatekit.report import Report
from gatekit.report.markdown import render_markdown
from gatekit.report.plain import check_sentence, figure, reason_sentence, sentence_case
from gatekit.report.terminal import print_summary
from tests.report.helpers import BLK, NC, WRN, F, P, meta, mixed_report

PARITY = CheckResult(
    "demographic_parity_difference vs baseline", "fairness", F, BLK, 0.05430282811433772, "within", 0.05,
    "demographic_parity_difference change +0.0543 (candidate 0.07208 vs production 0.01777) does not meet change "
    "within ±0.05", metric="demographic_parity_difference",
    details={"unit": "fraction", "decided_on": "point", "comparison": {
        "candidate": 0.07207521419364624, "baseline": 0.017772386079308516, "baseline_label": "production",
        "rule": "change within ±0.05", "conditions": [[">=", -0.05], ["<=", 0.05]], "statistic": "change",
        "definition": "candidate - baseline", "change": 0.05430282811433772}})
CANARY = CheckResult(
    "auc_roc canary vs production", "rollout", F, WRN, -0.008139887938421464, ">=", -0.02, "(raw)", metric="roc_auc",
    details={"unit": "fraction", "decided_on": "interval", "guardband": "proven_safe",
             "interval": {"low": -0.1301, "high": 0.1033, "confidence": 0.95},
             "comparison": {"candidate": 0.7997037524687294, "baseline": 0.8078436404071508,
                            "baseline_label": "production arm", "rule": "drop at most 0.02",
                            "statistic": "change", "definition": "candidate - baseline"}})
R2 = CheckResult("r2", "performance", F, WRN, 0.7862834419965116, ">=", 0.8, "r2 = 0.7863 does not meet >= 0.8",
                 metric="r2", details={"unit": "fraction"})
PSI = CheckResult("Temperature.psi", "drift", F, WRN, 0.5852633073143562, "<=", 0.2, "PSI 0.5853 exceeds <= 0.2",
                  details={"feature": "Temperature", "method": "psi", "label": "PSI"})
PROBES = CheckResult(
    "out_of_range.missing", "robustness", F, WRN, 6.0, "<=", 0.0, "6 of 12 probe(s) failed: ...",
    details={"rows": 200, "probes": [
        *({"target": t, "ok": False, "outcome": "200 of 200 scores are not finite"}
          for t in ("pirat", "hirat", "lvrat", "chist", "mhist", "unemp")),
        *({"target": t, "ok": True, "outcome": "200 finite scores in [0, 1]"}
          for t in ("phist", "selfemp", "insurance", "condomin", "single", "hschool"))]})
MISSING = CheckResult("pirat.present", "data_quality", F, BLK, None, None, None,
                      "required column 'pirat' is missing from the data",
                      details={"column": "pirat", "rule": "present"})
RANGE = CheckResult("income.range", "data_quality", F, BLK, 0.02, "<=", 0.0,
                    "2 of 100 non-null values (2 %) are outside [0, 3]; at most 0 % allowed",
                    details={"column": "income", "rule": "range"})
GATE = CheckResult("model_performance", "gates", F, BLK, None, None, None, "(raw)", details={
    "require": "auc_roc >= 0.80 AND recall_at_0_5 >= 0.50", "conditions": [
        {"condition": "auc_roc >= 0.8", "result": True, "shown": "auc_roc = 0.8138"},
        {"condition": "recall_at_0_5 >= 0.5", "result": False, "shown": "recall_at_0_5 = 0.3059"}]})
SIGNATURE = CheckResult("feature_signature", "compatibility", F, BLK, 3.0, "<=", 0.0, "(raw)", details={
    "mode": "backward", "features": [
        {"name": "pirat", "change": "removed", "breaking": True},
        {"name": "hirat", "change": "same", "breaking": False},
        {"name": "payment_income_ratio", "change": "new, no default", "breaking": True},
        {"name": "other_debt_ratio", "change": "new, no default", "breaking": True}]})
NOT_COMPUTABLE = CheckResult("fairness_demographic_parity_diff", "fairness", NC, BLK, None, "<=", 0.1,
                             "only one group in afam", metric="demographic_parity_difference")
LATENCY = CheckResult("latency_p95_ms", "operational", F, BLK, 6.5, "<=", 5.0, "(raw)", metric="latency_p95_ms",
                      details={"unit": "ms"})


@pytest.mark.parametrize(("check", "sentence"), [
    (PARITY, "demographic parity difference rose by 0.0543 against production, from 0.0178 to 0.0721 "
             "(limit: change within ±0.05)"),
    (CANARY, "ROC AUC fell by 0.00814 against the production arm, from 0.808 to 0.800; its 95 % confidence "
             "interval of the change (-0.130 to +0.103) reaches past the limit (drop at most 0.02), and this rule "
             "needs the whole interval inside it"),
    (R2, "R² is 0.786, below the minimum of 0.8"),
    (LATENCY, "95th-percentile latency is 6.5 ms, above the limit of 5 ms"),
    (PSI, "the distribution of Temperature shifted: PSI 0.585, above the limit of 0.2"),
    (PROBES, "the model failed 6 of 12 probes with a missing value in one input: 200 of 200 scores are not finite "
             "for pirat, hirat, lvrat, chist, mhist, unemp"),
    (MISSING, "required column 'pirat' is missing from the data"),  # the adapter's sentence names the column
    (RANGE, "column income: 2 of 100 non-null values (2 %) are outside [0, 3]; at most 0 % allowed"),
    (GATE, "the gate model_performance does not hold: recall_at_0_5 >= 0.5 is false (recall_at_0_5 = 0.3059)"),
    (SIGNATURE, "3 breaking changes to the model's inputs: pirat (removed); payment_income_ratio, other_debt_ratio "
                "(new, no default)"),
    (NOT_COMPUTABLE, "demographic parity difference could not be computed: only one group in afam"),
])
def test_each_check_reads_as_a_sentence_built_from_its_fields(check: CheckResult, sentence: str) -> None:
    assert check_sentence(check) == sentence


def test_a_proven_harm_rule_says_the_whole_interval_is_past_the_limit() -> None:
    check = CheckResult("auc_roc vs baseline", "performance", F, BLK, -0.05, ">=", -0.02, "(raw)", metric="roc_auc",
                        details={"decided_on": "interval", "guardband": "proven_harm",
                                 "interval": {"low": -0.08, "high": -0.03, "confidence": 0.9},
                                 "comparison": {"candidate": 0.75, "baseline": 0.8, "baseline_label": "production",
                                                "rule": "drop at most 0.02", "statistic": "change",
                                                "definition": "candidate - baseline"}})
    assert check_sentence(check) == ("ROC AUC fell by 0.05 against production, from 0.8 to 0.75; the whole 90 % "
                                     "confidence interval of the change (-0.08 to -0.03) lies past the limit (drop "
                                     "at most 0.02)")


def test_a_disproven_non_inferiority_rule_says_the_whole_interval_is_past_the_limit() -> None:
    # a mode decides like proven_safe, but a failing status now means disproven: the whole interval is past it
    check = CheckResult("auc_roc vs baseline", "performance", F, BLK, -0.05, ">=", -0.02, "(raw)", metric="roc_auc",
                        details={"decided_on": "interval", "guardband": "proven_safe",
                                 "outcome": {"result": "disproven", "mode": "non_inferiority"},
                                 "interval": {"low": -0.08, "high": -0.03, "confidence": 0.9},
                                 "comparison": {"candidate": 0.75, "baseline": 0.8, "baseline_label": "production",
                                                "rule": "drop at most 0.02", "statistic": "change",
                                                "definition": "candidate - baseline"}})
    assert check_sentence(check).endswith("the whole 90 % confidence interval of the change (-0.08 to -0.03) lies "
                                          "past the limit (drop at most 0.02)")


def test_a_relative_change_reads_in_percent() -> None:
    check = CheckResult("latency_p95_ms vs baseline", "operational", F, WRN, 25.0, "<=", 10.0, "(raw)",
                        metric="latency_p95_ms",
                        details={"unit": "ms", "comparison": {
                            "candidate": 5.0, "baseline": 4.0, "baseline_label": "production",
                            "rule": "increase at most 10 %", "statistic": "relative_change_pct",
                            "definition": "100 * (candidate - baseline) / |baseline|"}})
    assert check_sentence(check) == ("95th-percentile latency rose by 25 % against production, from 4 ms to 5 ms "
                                     "(limit: increase at most 10 %)")


@pytest.mark.parametrize(("value", "text"), [
    (0.05430282811433772, "0.0543"), (0.8, "0.8"), (0.7997037524687294, "0.800"), (6515.3, "6,515"),
    (12, "12"), (-0.1301, "-0.130"), (0.000012345, "1.23e-05"), (None, "n/a"), (float("inf"), "inf")])
def test_figures_keep_three_significant_digits(value: float | None, text: str) -> None:
    assert figure(value) == text
    assert figure(0.1033, signed=True) == "+0.103"


def test_a_value_next_to_its_limit_keeps_the_digits_that_tell_them_apart() -> None:
    check = CheckResult("auc_roc", "performance", F, BLK, 0.79996, ">=", 0.8, "(raw)", metric="roc_auc")
    assert check_sentence(check) == "ROC AUC is 0.79996, below the minimum of 0.8"


def test_the_reason_names_the_first_blocking_check_and_counts_the_rest() -> None:
    report = Report(Decision.BLOCK, "(raw)", [R2, RANGE, PARITY, MISSING], meta())
    # blocking: RANGE, PARITY, MISSING (report order; all fail); R2 only warns
    assert reason_sentence(report) == ("Blocked: column income: 2 of 100 non-null values (2 %) are outside [0, 3]; "
                                       "at most 0 % allowed; 2 more checks block.")
    report = Report(Decision.BLOCK, "(raw)", [NOT_COMPUTABLE, P_AUC, PARITY], meta())
    # a real failure is named before a rule that could not be computed
    assert reason_sentence(report) == ("Blocked: demographic parity difference rose by 0.0543 against production, "
                                       "from 0.0178 to 0.0721 (limit: change within ±0.05); 1 more check blocks.")


P_AUC = CheckResult("auc_roc", "performance", P, BLK, 0.9, ">=", 0.8, "ok", metric="roc_auc")


def test_the_reason_of_a_warning_and_of_a_pass() -> None:
    assert reason_sentence(Report(Decision.WARN, "(raw)", [P_AUC, R2, PSI], meta())) == \
        "Passed with warnings: R² is 0.786, below the minimum of 0.8; 1 more check warns."
    assert reason_sentence(Report(Decision.PASS, "(raw)", [P_AUC, P_AUC], meta())) == "Passed: all 2 checks passed."
    # non-strict: a block rule that could not be computed only warns
    assert reason_sentence(Report(Decision.WARN, "(raw)", [NOT_COMPUTABLE], meta(strict=False))) == \
        "Passed with warnings: demographic parity difference could not be computed: only one group in afam."


def test_the_raw_reason_stays_where_the_checks_do_not_give_the_decision() -> None:
    assert reason_sentence(Report(Decision.BLOCK, "Blocked: the policy has no rules.", [], meta())) == \
        "Blocked: the policy has no rules."
    assert reason_sentence(Report(Decision.PASS, "hand-written", [R2], meta())) == "hand-written"


def test_sentence_case_leaves_names_that_start_in_lower_case() -> None:
    assert sentence_case("the gate x does not hold") == "The gate x does not hold"
    assert sentence_case("sMAPE is 14, above the limit of 12") == "sMAPE is 14, above the limit of 12"
    assert sentence_case("ROC AUC fell") == "ROC AUC fell"


def test_markdown_and_terminal_say_the_same_plain_sentence() -> None:
    report = Report(Decision.BLOCK, "Blocked: demographic_parity_difference vs baseline failed (raw).", [PARITY],
                    meta())
    said = ("Blocked: demographic parity difference rose by 0.0543 against production, from 0.0178 to 0.0721 "
            "(limit: change within ±0.05).")
    assert said in render_markdown(report).split("\n")  # nothing in it needs a Markdown escape
    buf = io.StringIO()
    print_summary(report, {}, Console(file=buf, width=300, color_system=None))
    assert said in buf.getvalue().split("\n")
    assert "vs baseline failed" not in render_markdown(report).split("\n")[2]


def test_the_mixed_report_reads_in_plain_words() -> None:
    # precision_at_0_5 is a performance rule without a metric name: still a metric against its limit
    assert reason_sentence(mixed_report()) == ("Blocked: precision_at_0_5 is 0.7, below the minimum of 0.75; 3 more "
                                               "checks block.")
    assert reason_sentence(mixed_report(strict=False)) == "Blocked: precision_at_0_5 is 0.7, below the minimum of 0.75."


def _undecided(result: str, **outcome: object) -> CheckResult:
    from gatekit.core.results import OnFail, Status

    power = {"rows": 714, "rows_needed": 46116.2, "what_rows": "log rows", **outcome}
    return CheckResult(name="auc_roc canary vs production", section="rollout", status=Status.INCONCLUSIVE,
                       on_fail=OnFail.WARN, metric="roc_auc", observed=-0.00814, message="jargon",
                       details={"comparison": {"definition": "change", "rule": "drop at most 0.02", "baseline": 0.8078,
                                               "candidate": 0.7997},
                                "interval": {"low": -0.1198, "high": 0.1051, "confidence": 0.95},
                                "outcome": {"result": result, "power": power}})


def test_an_undecided_rule_says_in_plain_words_why_and_how_many_rows_would_settle_it() -> None:
    assert check_sentence(_undecided("insufficient_data")) == (
        "ROC AUC could not be decided: there are too few rows to tell which side of the limit (drop at most 0.02) it "
        "is on; about 46,117 log rows would settle it")  # ceil(46,116.2)
    assert check_sentence(_undecided("inconclusive")) == (
        "ROC AUC could not be decided: its 95 % confidence interval (-0.120 to +0.105) reaches both sides of the limit "
        "(drop at most 0.02)")
    assert "every resample of its rows gave the same value" in check_sentence(
        _undecided("insufficient_data", zero_width=True))
    # a slice rule names its slice and its rows, and its max_drop limit in words
    from gatekit.core.results import OnFail, Status

    sl = CheckResult(name="accuracy by seg", section="slices", status=Status.INCONCLUSIVE, on_fail=OnFail.BLOCK,
                     metric="accuracy", op="<=", threshold=0.05, observed=0.046, message="jargon",
                     details={"form": "max_drop", "outcome": {"result": "insufficient_data", "slice": "S",
                                                              "power": {"rows": 40, "rows_needed": 404.2,
                                                                        "what_rows": "slice rows"}}})
    assert check_sentence(sl) == ("accuracy on the slice S (40 rows) could not be decided: there are too few rows to "
                                  "tell which side of the limit (at most 0.05 worse than the whole rows) it is on; "
                                  "about 405 slice rows would settle it")
