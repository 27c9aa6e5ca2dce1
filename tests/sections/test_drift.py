"""Tests of :mod:`gatekit.sections.drift`: the drift section's checks, methods and severities.

Expected values come from a formula written here with plain Python loops, from scipy / scikit-learn,
or from evidently's own Report called directly on the same frames, never from gatekit's code.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from scipy.spatial import distance

import gatekit
from gatekit.core.results import Status
from tests.helpers import run_cli, write_json, write_policy
from tests.sections.helpers import by_name
from tests.stats.helpers import NO_HTML, frames, independent_categorical_psi, independent_numerical_psi, run_drift


def evidently_values(ref: pd.DataFrame, cur: pd.DataFrame, numerical: list[str], categorical: list[str],
                     wanted: list[tuple[str, str]]) -> dict[tuple[str, str], float]:
    """evidently's ValueDrift, called directly: (column, method) -> value."""
    import warnings

    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift

    dd = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snap = Report([ValueDrift(column=col, method=m) for col, m in wanted]).run(
            Dataset.from_pandas(cur, data_definition=dd), Dataset.from_pandas(ref, data_definition=dd))
    out = {}
    for m in snap.dict()["metrics"]:
        out[(m["config"]["column"], m["config"]["method"])] = float(m["value"])
    return out


def evidently_fill_zeroes(p: np.ndarray) -> np.ndarray:
    """evidently's empty-bin fill (legacy stattests/utils.py get_binned_data, feel_zeroes=True)."""
    low = min(p[p != 0])
    return np.where(p == 0, low / 10**6 if low <= 0.0001 else 0.0001, p)


N_RE = re.compile(r"n = [\d,]+ reference vs [\d,]+ current")


# --------------------------------------------------------------- an all-missing column and the aggregates


AGG_RULES = [{"name": "psi_feature_drift", "op": "<=", "value": 0.2},
             {"name": "drift_share", "op": "<=", "value": 0.5}]


@pytest.fixture(scope="module")
def nan_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(2)
    ref = pd.DataFrame({"x": [np.nan] * 100, "y": rng.normal(size=100)})
    cur = pd.DataFrame({"x": [np.nan] * 100, "y": rng.normal(size=100)})
    return ref, cur


def test_an_all_missing_column_is_not_computable_and_the_aggregates_fail_closed(
        tmp_path: Path, nan_frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ref, cur = nan_frames
    c = by_name(run_drift(tmp_path, ref, cur, NO_HTML, AGG_RULES))
    assert c["x.psi"].status == Status.NOT_COMPUTABLE
    assert "missing" in c["x.psi"].message and c["x.psi"].observed is None
    back_r, back_c = pd.read_csv(tmp_path / "ref.csv"), pd.read_csv(tmp_path / "cur.csv")
    expected_y, _, _, _ = independent_numerical_psi(back_r["y"].tolist(), back_c["y"].tolist())
    assert c["y.psi"].observed == pytest.approx(expected_y, abs=1e-12)
    for name in ("psi_feature_drift", "drift_share"):
        assert c[name].status == Status.NOT_COMPUTABLE, c[name].message
        assert "x" in c[name].message and c[name].observed is None


def test_the_aggregates_over_the_listed_features_equal_that_feature(
        tmp_path: Path, nan_frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ref, cur = nan_frames
    c = by_name(run_drift(tmp_path, ref, cur, {**NO_HTML, "features": ["y"]}, AGG_RULES))
    assert "x.psi" not in c
    back_r, back_c = pd.read_csv(tmp_path / "ref.csv"), pd.read_csv(tmp_path / "cur.csv")
    expected_y, _, _, _ = independent_numerical_psi(back_r["y"].tolist(), back_c["y"].tolist())
    top = c["psi_feature_drift"]
    assert top.status in (Status.PASS, Status.FAIL)
    assert top.observed == pytest.approx(expected_y, abs=1e-12)
    assert top.observed == c["y.psi"].observed
    assert top.details["feature"] == "y"
    assert c["drift_share"].observed == (1.0 if expected_y > 0.2 else 0.0)


# -------------------------------------------------------------------- evidently-computed methods


EV_N = 300


@pytest.fixture(scope="module")
def ev(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One gatekit run per PSI binning on the same frames, and evidently's Report called directly."""
    rng = np.random.default_rng(11)
    ref = pd.DataFrame({"a": rng.normal(0, 1, EV_N), "b": rng.normal(0, 1, EV_N), "j": rng.normal(0, 1, EV_N),
                        "k": rng.choice(list("abcd"), EV_N, p=[.4, .3, .2, .1]),
                        "m": rng.choice(list("xyz"), EV_N, p=[.5, .3, .2])})
    cur = pd.DataFrame({"a": rng.normal(0.2, 1, EV_N), "b": rng.normal(0.3, 1.5, EV_N),
                        "j": rng.normal(0.5, 1, EV_N),
                        "k": rng.choice(list("abcd"), EV_N, p=[.25, .25, .25, .25]),
                        "m": rng.choice(list("xyz"), EV_N, p=[.45, .35, .2])})
    folder = tmp_path_factory.mktemp("ev")
    r, c = frames(folder, ref, cur)
    methods = {"a": "ks", "b": "wasserstein", "j": "jensenshannon", "k": "jensenshannon", "m": "chisquare"}
    pol = {"version": 1, "drift": {**NO_HTML, "columns": {col: {"method": m} for col, m in methods.items()}}}
    report = gatekit.run(pol, data=c, reference=r)
    pol_psi = {"version": 1, "drift": {**NO_HTML, "psi": {"binning": "evidently"}}}
    report_psi = gatekit.run(pol_psi, data=c, reference=r)
    back_r, back_c = pd.read_csv(r), pd.read_csv(c)
    wanted = [*methods.items(), *((col, "psi") for col in methods)]
    direct = evidently_values(back_r, back_c, ["a", "b", "j"], ["k", "m"], wanted)
    return {"ref": back_r, "cur": back_c, "checks": by_name(report), "psi_checks": by_name(report_psi),
            "direct": direct}


def test_ks_is_scipys_two_sample_p_value(ev: dict[str, Any]) -> None:
    c = ev["checks"]["a.ks"]
    expected = scipy.stats.ks_2samp(ev["ref"]["a"].to_numpy(), ev["cur"]["a"].to_numpy()).pvalue
    assert c.observed == pytest.approx(expected, abs=1e-12)
    assert c.op == ">=" and c.threshold == 0.05 and c.details["engine"] == "evidently"
    assert c.details["p_value"] == c.observed
    assert N_RE.search(c.message) and f"n = {EV_N} reference vs {EV_N} current" in c.message
    assert c.status == (Status.PASS if expected >= 0.05 else Status.FAIL)


def test_wasserstein_is_scipys_distance_over_the_reference_population_std(ev: dict[str, Any]) -> None:
    # evidently: stats.wasserstein_distance(ref, cur) / max(np.std(ref), 0.001), np.std with ddof=0
    ref, cur = ev["ref"]["b"].to_numpy(), ev["cur"]["b"].to_numpy()
    expected = scipy.stats.wasserstein_distance(ref, cur) / max(float(np.std(ref)), 0.001)
    c = ev["checks"]["b.wasserstein"]
    assert c.observed == pytest.approx(expected, abs=1e-12)
    assert c.observed != pytest.approx(scipy.stats.wasserstein_distance(ref, cur) / np.std(ref, ddof=1), abs=1e-9)
    assert c.op == "<=" and c.threshold == 0.1 and N_RE.search(c.message)
    assert c.status == (Status.PASS if expected <= 0.1 else Status.FAIL)


def test_jensenshannon_equals_evidently_and_scipy_on_its_bins(ev: dict[str, Any]) -> None:
    ref, cur = ev["ref"], ev["cur"]
    # numerical (> 20 distinct values): Sturges equal-width bins over reference and current together,
    # no empty-bin fill, natural-log distance (so at most sqrt(ln 2), not 1)
    edges = np.histogram_bin_edges(np.concatenate([ref["j"].to_numpy(), cur["j"].to_numpy()]), bins="sturges")
    rp = np.histogram(ref["j"], edges)[0] / len(ref)
    cp = np.histogram(cur["j"], edges)[0] / len(cur)
    num = ev["checks"]["j.jensenshannon"]
    assert num.observed == pytest.approx(ev["direct"][("j", "jensenshannon")], abs=1e-12)
    assert num.observed == pytest.approx(float(distance.jensenshannon(rp, cp)), abs=1e-12)
    # categorical: one bin per category
    cats = sorted(set(ref["k"]) | set(cur["k"]))
    rk = [int((ref["k"] == k).sum()) / len(ref) for k in cats]
    ck = [int((cur["k"] == k).sum()) / len(cur) for k in cats]
    cat = ev["checks"]["k.jensenshannon"]
    assert cat.observed == pytest.approx(ev["direct"][("k", "jensenshannon")], abs=1e-12)
    assert cat.observed == pytest.approx(float(distance.jensenshannon(rk, ck)), abs=1e-12)
    for c in (num, cat):
        assert c.op == "<=" and c.threshold == 0.1 and N_RE.search(c.message)


def test_chisquare_equals_evidently_and_scipy(ev: dict[str, Any]) -> None:
    ref, cur = ev["ref"]["m"], ev["cur"]["m"]
    cats = sorted(set(ref) | set(cur))
    f_obs = [int((cur == k).sum()) for k in cats]
    f_exp = [int((ref == k).sum()) * len(cur) / len(ref) for k in cats]  # reference counts scaled to n_current
    c = ev["checks"]["m.chisquare"]
    assert c.observed == pytest.approx(ev["direct"][("m", "chisquare")], abs=1e-12)
    assert c.observed == pytest.approx(scipy.stats.chisquare(f_obs, f_exp).pvalue, abs=1e-12)
    assert c.op == ">=" and c.threshold == 0.05
    assert f"n = {EV_N} reference vs {EV_N} current" in c.message and "p = " in c.message


def test_evidently_psi_binning_equals_evidently_called_directly(ev: dict[str, Any]) -> None:
    ref, cur = ev["ref"], ev["cur"]
    for col in ("a", "b", "j", "k", "m"):
        c = ev["psi_checks"][f"{col}.psi"]
        assert c.details["engine"] == "evidently", col
        assert c.observed == pytest.approx(ev["direct"][(col, "psi")], abs=1e-12), col
        assert "equal-width" in c.details["binning"]
    # and evidently's definition, written out: Sturges bins over both samples, (r - c) ln(r / c), empty
    # shares filled with 1e-4 (numerical columns with > 20 distinct values)
    edges = np.histogram_bin_edges(np.concatenate([ref["a"].to_numpy(), cur["a"].to_numpy()]), bins="sturges")
    rp = evidently_fill_zeroes(np.histogram(ref["a"], edges)[0] / len(ref))
    cp = evidently_fill_zeroes(np.histogram(cur["a"], edges)[0] / len(cur))
    assert ev["psi_checks"]["a.psi"].observed == pytest.approx(float(np.sum((rp - cp) * np.log(rp / cp))), abs=1e-12)
    # it is not gatekit's textbook PSI
    ours, _, _, _ = independent_numerical_psi(ref["a"].tolist(), cur["a"].tolist())
    assert ev["psi_checks"]["a.psi"].observed != pytest.approx(ours, abs=1e-6)


def test_evidently_binning_does_not_hide_a_feature_from_psi_feature_drift(tmp_path: Path) -> None:
    rng = np.random.default_rng(21)
    ref = pd.DataFrame({"y": rng.normal(0, 1, 200), "w": rng.normal(0, 1, 200)})
    cur = pd.DataFrame({"y": rng.normal(3, 1, 200), "w": rng.normal(0, 1, 200)})  # y drifts hard
    c = by_name(run_drift(tmp_path, ref, cur, {**NO_HTML, "psi": {"binning": "evidently"},
                                               "columns": {"y": {"method": "ks"}}},
                          [{"name": "psi_feature_drift", "op": "<=", "value": 0.2}]))
    assert c["y.ks"].status == Status.FAIL  # the section sees the drift
    top = c["psi_feature_drift"]
    # either y's PSI is part of the maximum, or the maximum says it lacks y: never a pass without it
    assert top.status != Status.PASS, (top.observed, top.details)


# ----------------------------------------------------------------- overrides, column types, policy errors


@pytest.fixture(scope="module")
def typed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    rng = np.random.default_rng(1)
    n = 200
    ref = pd.DataFrame({"y": rng.normal(size=n), "w": rng.normal(size=n), "cat": rng.choice(list("abc"), n),
                        "code": rng.integers(1, 7, n)})
    cur = pd.DataFrame({"y": rng.normal(0.3, 1, n), "w": rng.normal(size=n), "cat": rng.choice(list("abc"), n),
                        "code": rng.integers(1, 7, n)})
    folder = tmp_path_factory.mktemp("typed")
    r, c = frames(folder, ref, cur)
    pol = {"version": 1, "drift": {**NO_HTML, "numerical": {"method": "wasserstein", "threshold": 0.3},
                                   "categorical": {"method": "chisquare"},
                                   "columns": {"y": {"method": "ks", "on_fail": "block"}}}}
    return {"r": r, "c": c, "report": gatekit.run(pol, data=c, reference=r)}


def test_per_type_defaults_and_column_overrides_pick_method_and_severity(typed: dict[str, Any]) -> None:
    c = by_name(typed["report"])
    assert set(c) == {"y.ks", "w.wasserstein", "cat.chisquare", "code.wasserstein"}
    assert c["y.ks"].on_fail.value == "block" and c["y.ks"].op == ">="
    assert c["w.wasserstein"].threshold == 0.3 and c["w.wasserstein"].on_fail.value == "warn"
    assert c["code.wasserstein"].threshold == 0.3  # an integer column is numerical by default
    assert c["cat.chisquare"].threshold == 0.05 and c["cat.chisquare"].op == ">="
    ref, cur = pd.read_csv(typed["r"]), pd.read_csv(typed["c"])
    assert c["y.ks"].observed == pytest.approx(scipy.stats.ks_2samp(ref["y"], cur["y"]).pvalue, abs=1e-12)
    info = typed["report"].metadata["sections"]["drift"]
    assert info["numerical"] == ["y", "w", "code"] and info["categorical"] == ["cat"]


def test_a_method_override_does_not_inherit_another_methods_threshold(typed: dict[str, Any]) -> None:
    assert by_name(typed["report"])["y.ks"].threshold == 0.05


@pytest.mark.parametrize(("lists", "kind"), [({"numerical_features": ["code"]}, "numerical"),
                                             ({"categorical_features": ["code"]}, "categorical")])
def test_type_lists_decide_an_integer_columns_kind(tmp_path: Path, lists: dict[str, list[str]], kind: str) -> None:
    rng = np.random.default_rng(8)
    ref = pd.DataFrame({"code": rng.integers(1, 5, 150)})
    cur = pd.DataFrame({"code": rng.integers(1, 5, 150)})
    report = run_drift(tmp_path, ref, cur, {**NO_HTML, **lists})
    info = report.metadata["sections"]["drift"]
    assert info[kind] == ["code"]
    assert info["numerical" if kind == "categorical" else "categorical"] == []
    c = by_name(report)["code.psi"]
    assert c.details["kind"] == kind
    back_r, back_c = pd.read_csv(tmp_path / "ref.csv"), pd.read_csv(tmp_path / "cur.csv")
    if kind == "categorical":
        assert c.details["categories"] == ["1", "2", "3", "4"]
        expected = independent_categorical_psi(back_r["code"].tolist(), back_c["code"].tolist())
    else:
        expected, _, _, _ = independent_numerical_psi(back_r["code"].tolist(), back_c["code"].tolist())
    assert c.observed == pytest.approx(expected, abs=1e-12)


def test_a_method_that_does_not_suit_a_column_is_that_columns_not_computable(typed: dict[str, Any]) -> None:
    pol = {"version": 1, "drift": {**NO_HTML, "method": "ks"}}
    c = by_name(gatekit.run(pol, data=typed["c"], reference=typed["r"]))
    assert c["cat.ks"].status == Status.NOT_COMPUTABLE
    assert "ks does not apply to categorical column 'cat'" in c["cat.ks"].message
    ref, cur = pd.read_csv(typed["r"]), pd.read_csv(typed["c"])
    for col in ("y", "w", "code"):
        assert c[f"{col}.ks"].status in (Status.PASS, Status.FAIL)
        assert c[f"{col}.ks"].observed == pytest.approx(scipy.stats.ks_2samp(ref[col], cur[col]).pvalue, abs=1e-12)


def test_one_unusable_column_does_not_sink_the_other_features(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({"x": np.arange(50), "z": rng.normal(size=50)})
    cur = pd.DataFrame({"x": ["a"] * 50, "z": rng.normal(size=50)})
    c = by_name(run_drift(tmp_path, ref, cur, NO_HTML))
    assert c["x.psi"].status in (Status.NOT_COMPUTABLE, Status.ERROR)
    assert c["z.psi"].status in (Status.PASS, Status.FAIL)


def test_no_target_makes_every_leakage_check_not_computable(leak: dict[str, Any]) -> None:
    checks = [c for c in leak["no_target"].values() if c.name.endswith(".leakage")]
    assert {c.name for c in checks} == {f"{f}.leakage" for f in ("t", "leak", "anti", "rnd", "txt", "sparse")}
    for c in checks:
        assert c.status == Status.NOT_COMPUTABLE and "no target" in c.message


# ------------------------------------------------------------------------------ evidently's HTML, chart


def _small() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(5)
    ref = pd.DataFrame({"u": rng.normal(size=60), "s": rng.choice(list("pq"), 60), "e": [np.nan] * 60})
    cur = pd.DataFrame({"u": rng.normal(1, 1, 60), "s": rng.choice(list("pq"), 60), "e": [np.nan] * 60})
    return ref, cur


def test_evidently_html_is_opt_in_and_linked_when_asked_for(tmp_path: Path) -> None:
    ref, cur = _small()
    default = run_drift(tmp_path, ref, cur, {}, out=tmp_path / "default")
    assert not (tmp_path / "default" / "evidently_drift.html").exists()  # opt-in: not written by default
    assert default.metadata["sections"]["drift"]["evidently_report"] is False
    out = tmp_path / "out"
    report = run_drift(tmp_path, ref, cur, {"evidently_report": True}, out=out)
    assert (out / "evidently_drift.html").is_file()
    assert (out / "evidently_drift.html").stat().st_size > 1000
    assert report.metadata["attachments"] == {"evidently_drift.html": "evidently_drift.html"}
    assert report.metadata["sections"]["drift"]["evidently_report"] is True
    html = (out / "gate_report.html").read_text(encoding="utf-8")
    assert 'href="evidently_drift.html"' in html
    scored = [c for c in report.checks if c.observed is not None]
    assert {c.name for c in scored} == {"u.psi", "s.psi"}  # e is all missing: no score, no bar
    assert html.count('class="drift-bar"') == len(scored)


def test_no_evidently_html_when_turned_off(tmp_path: Path) -> None:
    ref, cur = _small()
    out = tmp_path / "out"
    report = run_drift(tmp_path, ref, cur, NO_HTML, out=out)
    assert not (out / "evidently_drift.html").exists()
    assert "attachments" not in report.metadata
    html = (out / "gate_report.html").read_text(encoding="utf-8")
    assert "evidently_drift.html" not in html
    assert html.count('class="drift-bar"') == 2


# ------------------------------------------------------------------- missing reference, CLI exit codes


def test_no_reference_is_one_not_computable_drift_check(tmp_path: Path) -> None:
    cur = tmp_path / "cur.csv"
    pd.DataFrame({"u": [1.0, 2.0, 3.0]}).to_csv(cur, index=False)
    report = gatekit.run({"version": 1, "drift": {}}, data=cur)
    assert [c.name for c in report.checks] == ["drift"]
    c = report.checks[0]
    assert c.status == Status.NOT_COMPUTABLE and c.section == "drift"
    assert "no reference data" in c.message


@pytest.mark.parametrize(("on_fail", "code"), [("block", 1), ("warn", 0)])
def test_cli_exit_code_of_a_drift_failure(tmp_path: Path, on_fail: str, code: int) -> None:
    rng = np.random.default_rng(4)
    r, c = frames(tmp_path, pd.DataFrame({"u": rng.normal(size=100)}), pd.DataFrame({"u": rng.normal(4, 1, 100)}))
    pol = write_policy(tmp_path, f"""
        version: 1
        drift:
          on_fail: {on_fail}
          evidently_report: false
        """)
    proc = run_cli("run", str(pol), "--data", str(c), "--reference", str(r), "--out", str(tmp_path / "out"),
                   cwd=tmp_path)
    assert proc.returncode == code, proc.stderr
    checks = {x["name"]: x for x in json.loads((tmp_path / "out" / "gate_report.json").read_text())["checks"]}
    assert checks["u.psi"]["status"] == "fail" and checks["u.psi"]["on_fail"] == on_fail


# --------------------------------------------------------------------- the data beats a metrics file


def test_a_metrics_file_psi_is_ignored_when_the_data_is_given(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    ref = pd.DataFrame({"u": rng.normal(size=150), "v": rng.normal(size=150)})
    cur = pd.DataFrame({"u": rng.normal(1, 1, 150), "v": rng.normal(size=150)})
    metrics = write_json(tmp_path, {"psi_feature_drift": 0.01})
    c = by_name(run_drift(tmp_path, ref, cur, NO_HTML, [{"name": "psi_feature_drift", "op": "<=", "value": 0.2}],
                          metrics=metrics))["psi_feature_drift"]
    back_r, back_c = pd.read_csv(tmp_path / "ref.csv"), pd.read_csv(tmp_path / "cur.csv")
    per = {f: independent_numerical_psi(back_r[f].tolist(), back_c[f].tolist())[0] for f in ("u", "v")}
    assert c.source == "computed"
    assert c.observed == pytest.approx(max(per.values()), abs=1e-12) and c.details["feature"] == "u"
    assert c.status == Status.FAIL  # the file's 0.01 would have passed
    assert c.details["metrics_file_value"] == 0.01


def test_a_metrics_file_psi_does_not_fill_in_a_not_computable_aggregate(
        tmp_path: Path, nan_frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ref, cur = nan_frames
    metrics = write_json(tmp_path, {"psi_feature_drift": 0.01})
    c = by_name(run_drift(tmp_path, ref, cur, NO_HTML, AGG_RULES[:1], metrics=metrics))["psi_feature_drift"]
    assert c.status == Status.NOT_COMPUTABLE and c.observed is None
    assert c.details["metrics_file_value"] == 0.01 and "metrics_file_ignored" in c.details


def test_a_columns_rule_for_no_compared_column_is_not_a_silent_pass(tmp_path: Path) -> None:
    ref = pd.DataFrame({"y": np.linspace(0, 1, 60)})
    c = by_name(run_drift(tmp_path, ref.iloc[::-1], ref.copy(), {**NO_HTML, "columns": {"yy": {"on_fail": "block"}}}))
    assert c["yy.drift"].status == Status.NOT_COMPUTABLE and c["yy.drift"].on_fail.value == "block"
    assert "'yy'" in c["yy.drift"].message


def test_a_non_psi_rule_shows_the_psi_that_psi_feature_drift_counts(tmp_path: Path) -> None:
    ref = pd.DataFrame({"r": ["a"] * 50 + ["b"] * 50})
    cur = pd.DataFrame({"r": ["a"] * 50 + ["west"] * 50})
    c = by_name(run_drift(tmp_path, ref, cur, {**NO_HTML, "columns": {"r": {"method": "chisquare"}}}, AGG_RULES))
    assert c["r.chisquare"].details["psi"] == pytest.approx(c["psi_feature_drift"].observed)
    assert "PSI" in c["r.chisquare"].message and "'west'" in c["r.chisquare"].message


def test_hostile_column_names_reach_evidently_under_an_alias(tmp_path: Path) -> None:
    name = "</script><img src=x onerror=alert(7)>"
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({name: rng.normal(size=100), "ok": rng.normal(size=100)})
    report = run_drift(tmp_path, ref.iloc[::-1], ref.copy(), {"evidently_report": True}, out=tmp_path / "out")
    html = (tmp_path / "out" / "evidently_drift.html").read_text()
    assert name not in html and "onerror=alert(7)" not in html
    assert by_name(report)[f"{name}.psi"].status == Status.PASS


@pytest.mark.parametrize("collide", ["gatekit_column_0", "gatekit_column_2"])  # a<b: 0, c>d: 2 before
def test_a_real_column_named_like_an_alias_keeps_both_columns_apart(tmp_path: Path, collide: str) -> None:
    # before: "a<b" went to evidently as gatekit_column_0, the name of the real column beside it: both errored
    # ("Grouper ... not 1-dimensional")
    rng = np.random.default_rng(12)
    ref = pd.DataFrame({"a<b": rng.normal(0, 1, 300), collide: rng.normal(0, 1, 300), "c>d": rng.normal(0, 1, 300)})
    cur = pd.DataFrame({"a<b": rng.normal(5, 1, 300), collide: rng.normal(0, 1, 300), "c>d": rng.normal(1, 1, 300)})
    report = run_drift(tmp_path, ref, cur, {**NO_HTML, "numerical": {"method": "wasserstein", "threshold": 0.1}})
    c = by_name(report)
    back_r, back_c = pd.read_csv(tmp_path / "ref.csv"), pd.read_csv(tmp_path / "cur.csv")
    for col in ("a<b", collide, "c>d"):
        check = c[f"{col}.wasserstein"]
        assert check.status in (Status.PASS, Status.FAIL), check.message
        r, k = back_r[col].to_numpy(), back_c[col].to_numpy()
        assert check.observed == pytest.approx(scipy.stats.wasserstein_distance(r, k) / np.std(r), rel=1e-9)


def test_evidently_aliases_are_unique_against_every_real_column() -> None:
    from gatekit.sections.drift_evidently import evidently_aliases

    got = evidently_aliases(["a<b", "gatekit_column_0", "x/y", "ok"],
                            ["a<b", "gatekit_column_0", "x/y", "ok", "gatekit_column_1", "gatekit_column_2"])
    assert got == {"a<b": "gatekit_column_3", "gatekit_column_0": "gatekit_column_0", "x/y": "gatekit_column_4",
                   "ok": "ok"}


# --------------------------------------------- output roles and id-like columns are not the model's features


def _roles_frames(tmp_path: Path) -> tuple[Path, Path, Any]:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(5)
    n = 600

    def side(start: int) -> pd.DataFrame:
        a, b = rng.normal(size=n), rng.normal(size=n)
        y = (a + rng.normal(0, 1, n) > 0).astype(int)
        return pd.DataFrame({"row_id": np.arange(start, start + n), "a": a, "b": b, "y": y,
                             "s2": np.clip(0.7 * y + 0.3 * rng.random(n), 0, 1)})
    ref, cur = side(1), side(n + 1)
    model = LogisticRegression().fit(ref[["a", "b"]], ref["y"])
    r, c = tmp_path / "ref.csv", tmp_path / "cur.csv"
    ref.to_csv(r, index=False)
    cur.to_csv(c, index=False)
    return r, c, model


def test_the_production_score_is_not_a_feature_nor_scanned_for_leakage(tmp_path: Path) -> None:
    r, c, model = _roles_frames(tmp_path)
    pol = {"version": 1, "drift": {**NO_HTML, "leakage": {"auc": 0.75, "on_fail": "block"}},
           "metrics": [{"name": "psi_feature_drift", "op": "<=", "value": 0.2, "on_fail": "warn"}]}
    # the baseline score given on the command line's way (not in the policy): s2 is still an output role
    report = gatekit.run(pol, data=c, reference=r, target="y", model=model, baseline_score="s2")
    checks = by_name(report)
    # before: s2.leakage blocked (the production score predicts the target) and s2 / row_id were compared
    assert not any(name.startswith(("s2.", "row_id.", "y.")) for name in checks)
    assert {"a.psi", "b.psi", "a.leakage", "b.leakage"} <= set(checks)
    assert checks["a.psi"].details["not_compared"] == {"row_id": "not compared: not a model feature",
                                                       "y": "not compared: the target column, not a feature",
                                                       "s2": "not compared: the baseline score column, not a feature"}
    assert checks["a.psi"].details["features_from"] == "the model's features"
    assert checks["psi_feature_drift"].details["feature"] in ("a", "b")
    assert "row_id: not a model feature" in checks["psi_feature_drift"].message


def test_an_id_column_is_compared_without_a_model_but_never_an_output_role(tmp_path: Path) -> None:
    r, c, _ = _roles_frames(tmp_path)
    pol = {"version": 1, "drift": NO_HTML}
    report = gatekit.run(pol, data=c, reference=r, target="y", score="s2")
    checks = by_name(report)
    assert {"row_id.psi", "a.psi", "b.psi"} <= set(checks) and "s2.psi" not in checks and "y.psi" not in checks
    assert checks["row_id.psi"].status == Status.FAIL  # 1..600 against 601..1200: every value beyond the range
    assert "100.0 % of the current values (0 below, 600 above)" in checks["row_id.psi"].message


# ------------------------------------------------------------- a feature dropped from the current data


def test_a_reference_column_dropped_from_the_current_data_is_a_failing_check_naming_it(tmp_path: Path) -> None:
    rng = np.random.default_rng(41)
    ref = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    cur = ref[["a"]].copy()
    report = run_drift(tmp_path, ref, cur, {**NO_HTML, "on_fail": "block"}, AGG_RULES)
    c = by_name(report)
    assert c["b.psi"].status == Status.NOT_COMPUTABLE and c["b.psi"].on_fail.value == "block"
    assert "'b' is missing from the current data" in c["b.psi"].message
    assert c["a.psi"].status == Status.PASS
    # the aggregates cannot pretend b was compared
    for agg in ("psi_feature_drift", "drift_share"):
        assert c[agg].status == Status.NOT_COMPUTABLE and "b" in c[agg].message
    assert report.decision.value == "block"


def test_a_dropped_column_is_never_better_than_an_all_missing_one(tmp_path: Path) -> None:
    ref = pd.DataFrame({"a": np.arange(100.0), "b": np.arange(100.0)})
    dropped = by_name(run_drift(tmp_path / "d", ref, ref[["a"]].copy(), NO_HTML))["b.psi"]
    blank = by_name(run_drift(tmp_path / "n", ref, ref.assign(b=np.nan), NO_HTML))["b.psi"]
    assert dropped.status == blank.status == Status.NOT_COMPUTABLE
    assert dropped.on_fail == blank.on_fail


@pytest.mark.parametrize(("side", "listed"), [("current", ["a", "b"]), ("reference", ["a", "c"]),
                                              ("reference and the current", ["a", "zz"])])
def test_a_listed_feature_missing_from_either_side_is_not_computable(tmp_path: Path, side: str,
                                                                    listed: list[str]) -> None:
    rng = np.random.default_rng(42)
    ref = pd.DataFrame({"a": rng.normal(size=100), "b": rng.normal(size=100)})
    cur = pd.DataFrame({"a": rng.normal(size=100), "c": rng.normal(size=100)})
    c = by_name(run_drift(tmp_path, ref, cur, {**NO_HTML, "features": listed}))
    missing = listed[1]
    assert c[f"{missing}.psi"].status == Status.NOT_COMPUTABLE
    assert f"{missing!r} is missing from the {side} data" in c[f"{missing}.psi"].message


def test_a_columns_rule_for_a_dropped_column_applies_its_own_severity(tmp_path: Path) -> None:
    rng = np.random.default_rng(43)
    ref = pd.DataFrame({"a": rng.normal(size=100), "b": rng.normal(size=100)})
    report = run_drift(tmp_path, ref, ref[["a"]].copy(), {**NO_HTML, "columns": {"b": {"on_fail": "block"}}})
    c = by_name(report)["b.psi"]
    assert c.status == Status.NOT_COMPUTABLE and c.on_fail.value == "block"
    assert report.decision.value == "block"


@pytest.mark.parametrize("key", ["numerical_features", "categorical_features"])
def test_a_declared_kind_for_an_absent_column_is_not_a_silent_pass(tmp_path: Path, key: str) -> None:
    rng = np.random.default_rng(44)
    ref = pd.DataFrame({"a": rng.normal(size=100)})
    c = by_name(run_drift(tmp_path, ref.iloc[::-1], ref.copy(), {**NO_HTML, key: ["gone"]}, AGG_RULES))
    assert c["gone.drift"].status == Status.NOT_COMPUTABLE and "'gone'" in c["gone.drift"].message
    assert c["drift_share"].status == Status.NOT_COMPUTABLE


def test_a_leakage_feature_dropped_from_the_current_data_is_not_computable(tmp_path: Path) -> None:
    rng = np.random.default_rng(45)
    t = rng.integers(0, 2, 200)
    ref = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200), "t": t})
    cur = ref[["a", "t"]].copy()
    c = by_name(run_drift(tmp_path, ref, cur, {**NO_HTML, "leakage": {}}, target="t"))
    assert c["b.leakage"].status == Status.NOT_COMPUTABLE and "'b'" in c["b.leakage"].message
    assert c["b.psi"].status == Status.NOT_COMPUTABLE


# ---------------------------------------------------------- a NaN from evidently is not a measurement


def test_jensenshannon_nan_from_rounding_is_recomputed_as_about_zero(tmp_path: Path) -> None:
    ref = pd.DataFrame({"b": ["a"] * 4547 + ["b"] * 4546})
    cur = pd.DataFrame({"b": ["a"] * 4548 + ["b"] * 4547})
    # evidently itself returns NaN here (scipy's square root of a divergence rounded below 0)
    assert np.isnan(evidently_values(ref, cur, [], ["b"], [("b", "jensenshannon")])[("b", "jensenshannon")])
    report = run_drift(tmp_path, ref, cur, {**NO_HTML, "method": "jensenshannon"}, AGG_RULES)
    c = by_name(report)
    js = c["b.jensenshannon"]
    # by hand: shares p, q; the divergence is below 1e-15, so the distance is below 1e-7
    p = np.array([4547, 4546]) / 9093
    q = np.array([4548, 4547]) / 9095
    m = (p + q) / 2
    div = sum(0.5 * (pi * np.log(pi / mi) + qi * np.log(qi / mi)) for pi, qi, mi in zip(p, q, m, strict=True))
    assert abs(div) < 1e-15
    assert js.status == Status.PASS and 0.0 <= js.observed < 1e-7
    assert "recomputed" in js.message and "nan" in js.details["note"]
    assert c["drift_share"].observed == 0.0 and c["drift_share"].status == Status.PASS


def test_jensenshannon_recomputation_equals_evidently_where_evidently_gives_a_number() -> None:
    from gatekit.sections.drift_evidently import evidently_js_recompute as _evidently_js_recompute

    rng = np.random.default_rng(46)
    ref = pd.DataFrame({"x": rng.normal(size=300), "c": rng.choice(list("pqr"), 300)})
    cur = pd.DataFrame({"x": rng.normal(0.3, 1, 250), "c": rng.choice(list("pqrs"), 250)})
    cur.loc[:9, "x"] = np.nan  # left out, as evidently does
    want = evidently_values(ref, cur, ["x"], ["c"], [("x", "jensenshannon"), ("c", "jensenshannon")])
    assert _evidently_js_recompute(ref["x"], cur["x"], "numerical") == pytest.approx(want[("x", "jensenshannon")],
                                                                                     abs=1e-12)
    assert _evidently_js_recompute(ref["c"], cur["c"], "categorical") == pytest.approx(
        want[("c", "jensenshannon")], abs=1e-12)


def test_a_chisquare_nan_is_not_computable_with_its_reason_never_drift(tmp_path: Path) -> None:
    ref = pd.DataFrame({"c": ["a"] * 50})
    cur = pd.DataFrame({"c": ["a"] * 60})
    assert np.isnan(evidently_values(ref, cur, [], ["c"], [("c", "chisquare")])[("c", "chisquare")])
    c = by_name(run_drift(tmp_path, ref, cur, {**NO_HTML, "method": "chisquare"}, AGG_RULES))
    assert c["c.chisquare"].status == Status.NOT_COMPUTABLE and c["c.chisquare"].observed is None
    assert "nan" in c["c.chisquare"].message and "at least 2 categories" in c["c.chisquare"].message
    assert "drift detected" not in c["c.chisquare"].message
    assert c["drift_share"].status == Status.NOT_COMPUTABLE  # never counted as drifted, nor as compared


# ------------------------------------------------------------------ evidently's page and markup


XSS = "</script><script>document.title='PWNED'</script>"


def test_a_hostile_category_value_stops_evidentlys_page_and_says_why(tmp_path: Path) -> None:
    rng = np.random.default_rng(47)
    ref = pd.DataFrame({"u": rng.normal(size=80), "s": rng.choice(["p", XSS], 80)})
    cur = pd.DataFrame({"u": rng.normal(size=80), "s": rng.choice(["p", XSS], 80)})
    out = tmp_path / "out"
    report = run_drift(tmp_path, ref, cur, {"evidently_report": True}, out=out)
    assert not (out / "evidently_drift.html").exists()
    assert "attachments" not in report.metadata
    info = report.metadata["sections"]["drift"]
    assert info["evidently_report"] is False and "'s'" in info["evidently_report_refused"]
    page = (out / "gate_report.html").read_text(encoding="utf-8")
    assert "evidently_drift.html" not in page and "<script>document.title" not in page
    assert by_name(report)["s.psi"].status == Status.PASS  # the drift itself is still measured


def test_a_hostile_column_name_gives_a_page_without_the_injected_script(tmp_path: Path) -> None:
    rng = np.random.default_rng(48)
    ref = pd.DataFrame({XSS: rng.normal(size=80), "s": rng.choice(list("pq"), 80)})
    cur = pd.DataFrame({XSS: rng.normal(size=80), "s": rng.choice(list("pq"), 80)})
    out = tmp_path / "out"
    run_drift(tmp_path, ref, cur, {"evidently_report": True}, out=out)
    for page in out.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "<script>document.title" not in text and "PWNED'</script>" not in text, page.name
