"""Adversarial tests of the rollout features: baseline-relative rules, confidence intervals, shadow metrics
and the canary section.

The tests under "problems found" pinned problems found on the earlier code (they were ``xfail`` and
passing once fixed); the others guard behaviour that is already right.
"""

from __future__ import annotations

import json
import math
import pickle
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gatekit
from gatekit.core.errors import InputError, PolicyError
from gatekit.core.results import Status
from gatekit.policy import load_policy
from tests.conftest import run_cli

# --------------------------------------------------------------------------------------------- helpers


def _policy(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return p


def _eval_frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Labelled rows with a candidate score ``cs``, a production score ``bs`` and yes/no labels for both."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(y, 1.0)
    cs = 1 / (1 + np.exp(-(x - 0.5) * 1.5))
    bs = 1 / (1 + np.exp(-(x - 0.5) * 1.2 + rng.normal(0, 0.3, n)))
    return pd.DataFrame({"y": np.where(y == 1, "yes", "no"), "x1": x, "x2": rng.normal(0, 1, n),
                         "g": rng.choice(["a", "b"], n), "cs": cs, "bs": bs,
                         "cp": np.where(cs >= 0.5, "yes", "no"), "bp": np.where(bs >= 0.5, "yes", "no")})


def _canary_frame(n_candidate: int, n_production: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_candidate + n_production
    y = rng.integers(0, 2, n)
    score = 1 / (1 + np.exp(-rng.normal(y * 1.5 - 0.75, 1)))
    arm = np.array(["candidate"] * n_candidate + ["production"] * n_production)
    return pd.DataFrame({"arm": arm, "y": y, "score": score, "g": rng.choice(["a", "b"], n)})


REL_POLICY = """
version: 1
strict: true
inputs:
  data: d.csv
  target: y
  positive_label: "yes"
  score: cs
  baseline: {score: bs}
metrics:
"""

CANARY_POLICY = """
version: 1
strict: true
canary:
  data: c.csv
  target: y
  score: score
  sensitive: g
  rules:
"""


def _rel(tmp_path: Path, rules: str, frame: pd.DataFrame | None = None) -> Path:
    (frame if frame is not None else _eval_frame()).to_csv(tmp_path / "d.csv", index=False)
    return _policy(tmp_path, REL_POLICY + textwrap.indent(textwrap.dedent(rules).strip("\n"), "  ") + "\n")


def _canary(tmp_path: Path, rules: str, frame: pd.DataFrame, extra: str = "") -> Path:
    frame.to_csv(tmp_path / "c.csv", index=False)
    text = CANARY_POLICY + textwrap.indent(textwrap.dedent(rules).strip("\n"), "    ") + "\n"
    if extra:
        text = text.replace("  rules:\n", textwrap.indent(textwrap.dedent(extra).strip("\n"), "  ") + "\n  rules:\n")
    return _policy(tmp_path, text)


def _check(report: gatekit.GateReport, name: str, index: int = 0) -> object:
    return [c for c in report.checks if c.name == name][index]


# ============================================================================ problems found (now fixed)


def test_canary_interval_with_large_unequal_arms(tmp_path: Path) -> None:
    pol = _canary(tmp_path, "- {name: auc_roc, max_drop: 0.05, confidence: 0.95, resamples: 300}",
                  _canary_frame(16_000, 17_000))
    check = _check(gatekit.run(pol), "auc_roc canary vs production")
    assert check.status == Status.PASS, check.message
    assert "interval" in check.details


def test_shadow_without_labels_reads_text_baseline_predictions(tmp_path: Path) -> None:
    frame = _eval_frame()
    frame.to_csv(tmp_path / "d.csv", index=False)
    pol = _policy(tmp_path, """
        version: 1
        inputs:
          data: d.csv
          score: cs
          baseline: {prediction: bp}
        metrics:
          - {name: prediction_agreement_rate, op: ">=", value: 0.0}
        """)
    truth = float(((frame.cs >= 0.5) == (frame.bp == "yes")).mean())
    try:
        report = gatekit.run(pol)
    except InputError:
        return  # refusing the unknown positive label is acceptable too
    check = _check(report, "prediction_agreement_rate")
    assert check.observed == pytest.approx(truth), check.message


def test_canary_positive_label_matching_no_outcome_is_refused(tmp_path: Path) -> None:
    pol = _canary(tmp_path, """
        - {name: accuracy, max_drop: 0.05}
        - {name: demographic_parity_difference, within: 0.1}
        """, _canary_frame(300, 300), extra='positive_label: "yes"')
    with pytest.raises(InputError, match="positive"):
        gatekit.run(pol)


def test_canary_rows_in_neither_arm_are_not_dropped_silently(tmp_path: Path) -> None:
    frame = _canary_frame(300, 300).astype({"arm": object})
    frame.loc[[3, 4], "arm"] = [None, "shadow"]
    pol = _canary(tmp_path, "- {name: auc_roc, max_drop: 0.5}", frame)
    try:
        report = gatekit.run(pol)
    except InputError as exc:
        assert "arm" in str(exc)
        return
    shown = report.reason + " ".join(c.message for c in report.checks)
    assert "neither" in shown or "2 rows" in shown, shown


def test_canary_log_without_canary_section_is_refused(tmp_path: Path) -> None:
    _canary_frame(300, 300).to_csv(tmp_path / "c.csv", index=False)
    pol = _rel(tmp_path, "- {name: auc_roc, max_drop: 0.5}")
    with pytest.raises(InputError, match="canary"):
        gatekit.run(pol, canary_data=str(tmp_path / "c.csv"))


def test_canary_fairness_group_absent_from_one_arm_is_not_a_pass(tmp_path: Path) -> None:
    frame = _canary_frame(400, 400)
    prod_rows = frame.index[frame.arm == "production"][:30]
    frame.loc[prod_rows, "g"] = "c"
    frame.loc[prod_rows, "score"] = 0.99  # group c: everyone selected in the production arm
    pol = _canary(tmp_path, "- {name: demographic_parity_difference, max_increase: 0.05}", frame)
    check = _check(gatekit.run(pol), "demographic_parity_difference canary vs production")
    assert check.status != Status.PASS, check.message


def test_bootstrap_cannot_prove_safety_from_a_single_positive(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    y = np.zeros(300, dtype=int)
    y[0] = 1
    s = rng.random(300) * 0.5
    s[0] = 0.99
    pd.DataFrame({"y": y, "s": s}).to_csv(tmp_path / "d.csv", index=False)
    pol = _policy(tmp_path, """
        version: 1
        inputs: {data: d.csv, target: y, score: s}
        metrics:
          - {name: recall_at_0_5, op: ">=", value: 0.95, confidence: 0.95, guardband: proven_safe}
        """)
    check = _check(gatekit.run(pol), "recall_at_0_5")
    assert check.status != Status.PASS, check.message


def test_relative_change_overflow_is_not_a_pass(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text('{"latency_p95_ms": 1e308}')
    (tmp_path / "b.json").write_text('{"latency_p95_ms": 1e-300}')
    pol = _policy(tmp_path, """
        version: 1
        inputs: {metrics: c.json, baseline: {metrics: b.json}}
        metrics:
          - {name: latency_p95_ms, max_drop_pct: 10}
        """)
    check = _check(gatekit.run(pol), "latency_p95_ms vs baseline")
    assert check.status != Status.PASS or (check.observed is not None and math.isfinite(check.observed))


@pytest.mark.parametrize("kind", ["no_feature_names", "pickle"])
def test_baseline_model_refusals_name_the_baseline_remedy(tmp_path: Path, kind: str) -> None:
    from sklearn.linear_model import LogisticRegression

    frame = _eval_frame()
    pol = _rel(tmp_path, "- {name: auc_roc, max_drop: 0.5}", frame)
    if kind == "pickle":
        model = LogisticRegression().fit(frame[["x1", "x2"]], frame["y"])
        (tmp_path / "prod.pkl").write_bytes(pickle.dumps(model))
        with pytest.raises(InputError) as err:
            gatekit.run(pol, baseline_model=str(tmp_path / "prod.pkl"))
        assert "--baseline-model-sha256" in str(err.value) or "baseline.model_sha256" in str(err.value)
        return
    import skops.io as sio

    model = LogisticRegression().fit(frame[["x1", "x2"]].to_numpy(), frame["y"])
    sio.dump(model, tmp_path / "prod.skops")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            report = gatekit.run(pol, baseline_model=str(tmp_path / "prod.skops"), features=["x1", "x2"])
        except InputError as exc:
            assert "baseline" in str(exc) or "production" in str(exc), str(exc)
            assert "inputs.features" not in str(exc), str(exc)
            return
    assert _check(report, "auc_roc vs baseline").status == Status.PASS


def test_delong_single_auc_with_one_positive_says_why(tmp_path: Path) -> None:
    frame = _eval_frame()
    frame = pd.concat([frame[frame.y == "yes"].head(1), frame[frame.y == "no"].head(40)])
    frame.to_csv(tmp_path / "d.csv", index=False)
    pol = _policy(tmp_path, """
        version: 1
        inputs: {data: d.csv, target: y, positive_label: "yes", score: cs}
        metrics:
          - {name: auc_roc, op: ">=", value: 0.5, confidence: 0.95, interval: delong}
        """)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check = _check(gatekit.run(pol), "auc_roc")
    assert check.status == Status.NOT_COMPUTABLE
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert "separated" not in check.message, check.message


# ============================================================================== behaviour that holds


def test_non_finite_baseline_score_blocks_every_rule_that_needs_it(tmp_path: Path) -> None:
    for bad in (float("nan"), float("inf")):
        frame = _eval_frame()
        frame.loc[5, "bs"] = bad
        pol = _rel(tmp_path, """
            - {name: auc_roc, max_drop: 0.02, confidence: 0.95}
            - {name: prediction_agreement_rate, op: ">=", value: 0.5}
            - {name: abs_score_difference_p95, op: "<=", value: 0.5}
            """, frame)
        report = gatekit.run(pol)
        assert report.decision.value == "block"
        assert all(c.status == Status.NOT_COMPUTABLE for c in report.checks)
        assert all("missing or not finite" in c.message for c in report.checks)
        json.loads(report.to_json(), parse_constant=lambda c: pytest.fail(f"{c} in the JSON report"))


def test_text_in_baseline_score_column_is_an_input_error(tmp_path: Path) -> None:
    frame = _eval_frame().astype({"bs": object})
    frame.loc[5, "bs"] = "high"
    pol = _rel(tmp_path, "- {name: auc_roc, max_drop: 0.02}", frame)
    with pytest.raises(InputError, match="baseline score column 'bs' is not numeric"):
        gatekit.run(pol)


def test_baseline_score_out_of_range_blocks_threshold_rules_only(tmp_path: Path) -> None:
    frame = _eval_frame()
    frame.loc[5, "bs"] = 1.7
    pol = _rel(tmp_path, """
        - {name: auc_roc, max_drop: 0.05}
        - {name: precision_at_0_5, max_drop: 0.05}
        """, frame)
    report = gatekit.run(pol)
    assert [c.status for c in report.checks] == [Status.PASS, Status.NOT_COMPUTABLE]
    assert "probabilities in [0, 1]" in report.checks[1].message
    assert report.decision.value == "block"


def test_unhashed_pickle_baseline_is_never_unpickled(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    (tmp_path / "prod.pkl").write_bytes(pickle.dumps(Evil()))
    pol = _rel(tmp_path, "- {name: auc_roc, max_drop: 0.02}")
    with pytest.raises(InputError, match="refusing to unpickle"):
        gatekit.run(pol, baseline_model=str(tmp_path / "prod.pkl"))
    assert not marker.exists()


def test_baseline_model_on_other_labels_is_refused(tmp_path: Path) -> None:
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    frame = _eval_frame()
    model = LogisticRegression().fit(frame[["x1", "x2"]], (frame.y == "yes").astype(int))
    sio.dump(model, tmp_path / "prod01.skops")
    pol = _rel(tmp_path, "- {name: auc_roc, max_drop: 0.02}", frame)
    with pytest.raises(InputError, match="not one of the model's classes"):
        gatekit.run(pol, baseline_model=str(tmp_path / "prod01.skops"))


def test_baseline_model_missing_features_is_an_error_per_rule(tmp_path: Path) -> None:
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    frame = _eval_frame()
    other = frame.rename(columns={"x1": "feat_a"})
    sio.dump(LogisticRegression().fit(other[["feat_a", "x2"]], other["y"]), tmp_path / "prod.skops")
    pol = _rel(tmp_path, """
        - {name: auc_roc, max_drop: 0.02}
        - {name: brier_score, max_increase: 0.02}
        """, frame)
    report = gatekit.run(pol, baseline_model=str(tmp_path / "prod.skops"))
    assert [c.status for c in report.checks] == [Status.ERROR, Status.ERROR]
    assert "feat_a" in report.checks[0].message and report.decision.value == "block"


LATENCY_POLICY = """
version: 1
inputs: {metrics: c.json, baseline: {metrics: b.json}}
metrics:
  - {name: latency_p95_ms, max_increase: 20}
"""


def test_bad_baseline_metrics_file_is_an_input_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text('{"latency_p95_ms": 40}')
    pol = _policy(tmp_path, LATENCY_POLICY)
    for content, expected in [('{"latency_p95_ms": 30, "latency_p95_ms": 10}', "duplicate key"),
                              ('{"latency_p95_ms": "30"}', "must be a number or null"),
                              ('{"latency_p95_ms": -5}', "outside the range"),
                              ('{"latency_p95_ms": true}', "must be a number or null"),
                              ('{"auc_roc": 1.5}', "a fraction, not percent")]:
        (tmp_path / "b.json").write_text(content)
        with pytest.raises(InputError, match=expected) as err:
            gatekit.run(pol)
        assert "b.json" in str(err.value)


def test_missing_baseline_value_blocks(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text('{"latency_p95_ms": 40}')
    pol = _policy(tmp_path, LATENCY_POLICY)
    for content in ('{"latency_p95_ms": null}', '{"latency_p95_ms": NaN}', "{}"):
        (tmp_path / "b.json").write_text(content)
        report = gatekit.run(pol)
        assert report.checks[0].status == Status.NOT_COMPUTABLE and report.decision.value == "block", content


def test_percent_rule_on_zero_baseline_and_confidence_on_file_metric_are_not_computable(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text('{"latency_p95_ms": 40, "auc_roc": 0.8}')
    (tmp_path / "b.json").write_text('{"latency_p95_ms": 30, "auc_roc": 0}')
    pol = _policy(tmp_path, """
        version: 1
        inputs: {metrics: c.json, baseline: {metrics: b.json}}
        metrics:
          - {name: auc_roc, max_drop_pct: 2}
          - {name: latency_p95_ms, max_increase: 20}
        """)
    report = gatekit.run(pol)
    assert [c.status for c in report.checks] == [Status.NOT_COMPUTABLE, Status.PASS]
    assert "baseline is 0" in report.checks[0].message
    assert report.decision.value == "block"
    # a metric read from a metrics file has no rows to resample: confidence on it is refused at load time
    bad = _policy(tmp_path, """
        version: 1
        inputs: {metrics: c.json, baseline: {metrics: b.json}}
        metrics:
          - {name: latency_p95_ms, max_increase: 20, confidence: 0.95}
        """, name="bad.yaml")
    with pytest.raises(PolicyError, match="no confidence interval"):
        load_policy(bad)


@pytest.mark.parametrize(("rule", "expected"), [
    ("{name: auc_roc, max_dropp: 0.02}", "did you mean 'max_drop'"),
    ("{name: auc_roc, max_drop: 0.02, confidence: 0.95, guardband: proven_harmful}", "proven_harm"),
    ("{name: auc_roc, max_drop: -0.02}", "greater than or equal to 0"),
    ("{name: auc_roc, max_drop: 0.02, confidence: 0.5}", "greater than 0.5"),
    ("{name: auc_roc, max_drop: 0.02, confidence: 1}", "less than 1"),
    ("{name: auc_roc, max_drop: 0.02, confidence: '0.95'}", "valid number"),
    ("{name: auc_roc, max_drop: 0.02, confidence: 0.95, resamples: 10}", "greater than or equal to 200"),
    ("{name: auc_roc, max_drop: 0.02, confidence: 0.95, seed: -1}", "greater than or equal to 0"),
    ("{name: auc_roc, max_drop: .nan}", "finite"),
    ("{name: precision_at_0_5, max_drop: 0.1, confidence: 0.9, interval: delong}", "DeLong"),
])
def test_policy_typos_in_new_keys_name_file_and_line(tmp_path: Path, rule: str, expected: str) -> None:
    p = _policy(tmp_path, f"version: 1\nmetrics:\n  - {rule}\n")
    with pytest.raises(PolicyError, match=expected) as err:
        load_policy(p)
    assert f"{p.name}:3:" in str(err.value)


def test_empty_canary_rules_are_refused_with_line(tmp_path: Path) -> None:
    p = _policy(tmp_path, "version: 1\ncanary: {data: c.csv, target: y, score: s, rules: []}\n")
    with pytest.raises(PolicyError, match=r"canary\.rules") as err:
        load_policy(p)
    assert f"{p.name}:2:" in str(err.value)


def test_cli_two_baseline_outputs_and_missing_canary_log_exit_2(tmp_path: Path) -> None:
    pol = _rel(tmp_path, "- {name: auc_roc, max_drop: 0.02}")
    proc = run_cli("run", str(pol), "--baseline-score", "bs", "--baseline-model", "x.skops",
                   "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "give only one of --baseline-score" in proc.stderr
    cpol = _canary(tmp_path, "- {name: auc_roc, max_drop: 0.02}", _canary_frame(150, 150))
    proc = run_cli("run", str(cpol), "--canary-log", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "canary log file not found" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_canary_small_arm_and_one_class_arm_block(tmp_path: Path) -> None:
    pol = _canary(tmp_path, "- {name: auc_roc, max_drop: 0.05, confidence: 0.95}", _canary_frame(50, 300))
    report = gatekit.run(pol)
    assert report.checks[0].status == Status.NOT_COMPUTABLE and "too few rows" in report.checks[0].message
    assert report.decision.value == "block"
    frame = _canary_frame(200, 200)
    frame.loc[frame.arm == "candidate", "y"] = 0
    report = gatekit.run(_canary(tmp_path, "- {name: auc_roc, max_drop: 0.05, confidence: 0.95}", frame))
    assert report.checks[0].status == Status.NOT_COMPUTABLE and "single class" in report.checks[0].message


@pytest.mark.parametrize(("change", "expected"), [
    ("nan_outcome", "have no outcome"),
    ("text_score", "is not numeric"),
    ("int_arms", "no row has arm = 'candidate'"),
    ("missing_arm", "no row has arm = 'production'"),
])
def test_canary_bad_log_is_an_input_error(tmp_path: Path, change: str, expected: str) -> None:
    frame = _canary_frame(150, 150)
    if change == "nan_outcome":
        frame = frame.astype({"y": float})
        frame.loc[7, "y"] = np.nan
    elif change == "text_score":
        frame = frame.astype({"score": object})
        frame.loc[7, "score"] = "n/a?"
    elif change == "int_arms":
        frame["arm"] = (frame.arm == "candidate").astype(int)
    else:
        frame.loc[frame.arm == "production", "arm"] = "prod"
    pol = _canary(tmp_path, "- {name: auc_roc, max_drop: 0.05}", frame)
    with pytest.raises(InputError, match=expected) as err:
        gatekit.run(pol)
    assert "c.csv" in str(err.value)


def test_canary_quoted_integer_arms_work(tmp_path: Path) -> None:
    frame = _canary_frame(200, 200)
    frame["arm"] = (frame.arm == "candidate").astype(int)
    pol = _canary(tmp_path, "- {name: auc_roc, max_drop: 0.5, confidence: 0.95, resamples: 200}", frame,
                  extra='candidate_arm: "1"\nbaseline_arm: "0"')
    report = gatekit.run(pol)
    assert report.checks[0].status == Status.PASS
    assert report.checks[0].details["canary"]["rows_candidate"] == 200


def test_interval_json_is_valid_and_records_method(tmp_path: Path) -> None:
    pol = _rel(tmp_path, """
        - {name: auc_roc, max_drop: 0.02, confidence: 0.95}
        - {name: auc_roc, within: 0, confidence: 0.9, guardband: proven_safe}
        - {name: demographic_parity_difference, within: 0.05, confidence: 0.95, resamples: 200, params: {sensitive: g}}
        """)
    report = gatekit.run(pol)
    data = json.loads(report.to_json(), parse_constant=lambda c: pytest.fail(f"{c} in the JSON report"))
    first = data["checks"][0]["details"]["interval"]
    assert first["method"] == "bootstrap_percentile" and first["resamples"] == 2000 and first["paired"] is True
    assert data["checks"][1]["status"] == "fail"  # a non-zero change cannot be proven within 0
