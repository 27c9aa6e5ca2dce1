"""Tests of :mod:`gatekit.sections.drift_counts`: the drift section on DuckDB equals the pandas path.

Each case runs the drift section twice on the same rows: on pandas (gatekit's PSI, evidently for the other
methods) and on DuckDB (ibis memtables; counts from the engine). Statuses, messages and details must be the
same (the DuckDB checks carry one more detail, ``data_engine``), observed values equal to 1e-9; KS and
Wasserstein are also checked against scipy directly, and the leakage scan's exact scores against
scikit-learn.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from sklearn.metrics import roc_auc_score

import gatekit.sections.drift_counts as dc
from gatekit.core.results import CheckResult, Status
from gatekit.data.inputs import RunInputs
from gatekit.metrics.catalog import default_registry
from gatekit.metrics.registry import EvalData
from gatekit.policy.loader import load_policy
from gatekit.sections.base import RunContext
from gatekit.sections.drift import compute_drift

N = 400


def _ctx(policy: dict[str, Any], ref: pd.DataFrame, cur: pd.DataFrame, engine: str,
         info: dict[str, Any] | None = None, eval_data: EvalData | None = None) -> RunContext:
    import ibis

    registry = default_registry()
    lp = load_policy(policy, registry)
    if engine == "pandas":
        inputs = RunInputs(frame=cur, reference=ref, info=info or {}, eval_data=eval_data)
    elif engine == "spark":
        from gatekit.data import engine as eng

        con = eng.connection_for([], "spark")
        inputs = RunInputs(engine="spark", table=eng.open_table(eng.source_of(cur, "data"), con, "data"),
                           reference_table=eng.open_table(eng.source_of(ref, "reference"), con, "reference"),
                           info=info or {}, eval_data=eval_data)
    else:
        inputs = RunInputs(engine="duckdb", table=ibis.memtable(cur), reference_table=ibis.memtable(ref),
                           info=info or {}, eval_data=eval_data)
    return RunContext(policy=lp, inputs=inputs, registry=registry)


def _both(policy: dict[str, Any], ref: pd.DataFrame, cur: pd.DataFrame, engine: str = "duckdb",
          **kw: Any) -> tuple[Any, Any]:
    return (compute_drift(_ctx(policy, ref, cur, "pandas", **kw)),
            compute_drift(_ctx(policy, ref, cur, engine, **kw)))


def _assert_same(p: CheckResult, d: CheckResult, exact: bool = True) -> None:
    assert d.name == p.name and d.status == p.status, (p.name, p.status, d.status, p.message, d.message)
    if p.observed is None:
        assert d.observed is None
    else:
        assert d.observed == pytest.approx(p.observed, abs=1e-9, rel=1e-9), p.name
    assert d.message == p.message
    assert d.details.get("data_engine") in ("duckdb", "spark")
    pd_details = dict(p.details)
    du_details = {k: v for k, v in d.details.items() if k != "data_engine"}
    for key in ("p_value", "psi", "psi_without_drift_expected"):  # floats: compared to 1e-9 like observed
        if key in pd_details:
            assert du_details.pop(key) == pytest.approx(pd_details.pop(key), abs=1e-9, rel=1e-9)
    assert du_details == pd_details


def _assert_outcomes_equal(pandas_out: Any, duck_out: Any) -> None:
    p = {c.name: c for c in pandas_out.checks}
    d = {c.name: c for c in duck_out.checks}
    assert sorted(p) == sorted(d)
    for name in p:
        _assert_same(p[name], d[name])
    assert pandas_out.psi.keys() == duck_out.psi.keys()
    for k, v in pandas_out.psi.items():
        assert duck_out.psi[k] == pytest.approx(v, abs=1e-9, rel=1e-9)
    assert pandas_out.psi_missing.keys() == duck_out.psi_missing.keys()
    assert pandas_out.not_compared.keys() == duck_out.not_compared.keys()
    assert (pandas_out.drifted, pandas_out.compared) == (duck_out.drifted, duck_out.compared)


def _frame(rng: np.random.Generator, shift: float, n: int = N) -> pd.DataFrame:
    """Every column kind: continuous, tied, discrete float, integer, boolean, categorical with a rare and
    (current only) an unseen category, all-null, and missing values."""
    d = pd.DataFrame({
        "cont": rng.normal(shift, 1, n),
        "ties": np.round(rng.exponential(1 + shift, n), 1),
        "disc": rng.integers(0, 5 + int(shift > 0), n).astype(float),
        "int": rng.integers(0, 40, n),
        "flag": rng.random(n) < 0.3 + shift / 3,
        "cat": rng.choice(["a", "b", "c", "rare"] + (["new"] if shift else []), n,
                          p=[0.4, 0.3, 0.25, 0.05] if not shift else [0.35, 0.3, 0.25, 0.05, 0.05]),
        "allnull": np.nan,
    })
    d.loc[rng.random(n) < 0.05, "cont"] = np.nan
    d.loc[rng.random(n) < 0.1, "cat"] = None
    return d


@pytest.fixture(scope="module")
def kinds() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(3)
    ref, cur = _frame(rng, 0.0), _frame(rng, 0.4)
    ref["only_ref"] = 1.0  # a column missing from the current data
    cur["only_cur"] = "x"
    return ref, cur


METHODS = {
    "psi": {},
    "ks_wasserstein_js_chi": {"cont": "ks", "ties": "wasserstein", "int": "jensenshannon", "disc": "ks",
                              "flag": "jensenshannon", "cat": "chisquare"},
    "js_numeric_wasserstein_int": {"cont": "jensenshannon", "ties": "jensenshannon", "int": "wasserstein",
                                   "disc": "wasserstein", "cat": "jensenshannon"},
}


@pytest.mark.parametrize("small", [True, False], ids=["value-counts", "arrays-and-histogram"])
@pytest.mark.parametrize("methods", sorted(METHODS))
def test_every_method_and_column_kind_equals_the_pandas_path(kinds: tuple[pd.DataFrame, pd.DataFrame],
                                                             methods: str, small: bool,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    if not small:  # every numerical column through an array of its values and DuckDB's histogram, not value counts
        monkeypatch.setattr(dc, "SMALL_DISTINCT", 3)
    ref, cur = kinds
    policy = {"version": 1, "drift": {"evidently_report": False,
                                      "columns": {k: {"method": m} for k, m in METHODS[methods].items()}}}
    p, d = _both(policy, ref, cur)
    _assert_outcomes_equal(p, d)
    names = {c.name for c in d.checks}
    assert "allnull.psi" in names and "only_ref.psi" in names
    assert d.info["engine"] == "duckdb"


@pytest.mark.parametrize("small", [True, False], ids=["value-counts", "arrays-and-histogram"])
def test_evidently_psi_binning_equals_the_pandas_path(kinds: tuple[pd.DataFrame, pd.DataFrame], small: bool,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    if not small:
        monkeypatch.setattr(dc, "SMALL_DISTINCT", 3)
    ref, cur = kinds
    policy = {"version": 1, "drift": {"evidently_report": False, "psi": {"binning": "evidently"},
                                      "columns": {"cont": {"method": "ks"}, "cat": {"method": "chisquare"}}}}
    p, d = _both(policy, ref, cur)
    _assert_outcomes_equal(p, d)
    assert d.psi.keys() >= {"cont", "ties", "int", "cat"}  # evidently's PSI beside ks / chi-square too


def test_psi_details_equal_the_pandas_path_bin_for_bin(kinds: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ref, cur = kinds
    p, d = _both({"version": 1, "drift": {"evidently_report": False}}, ref, cur)
    pc, dc_ = {c.name: c for c in p.checks}, {c.name: c for c in d.checks}
    for name in ("cont.psi", "ties.psi", "disc.psi", "int.psi", "flag.psi", "cat.psi"):
        for key in ("bins", "categories", "reference_counts", "current_counts", "unseen_categories", "values"):
            assert dc_[name].details.get(key) == pc[name].details.get(key), (name, key)
    assert dc_["disc.psi"].details["unseen_categories"] == [5.0]
    assert dc_["cat.psi"].details["unseen_categories"] == ["new"]
    assert "rare" in dc_["cat.psi"].details["categories"]


def test_ks_and_wasserstein_on_duckdb_equal_scipy(kinds: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ref, cur = kinds
    policy = {"version": 1, "drift": {"evidently_report": False,
                                      "columns": {"cont": {"method": "ks"}, "ties": {"method": "wasserstein"}}}}
    d = {c.name: c for c in compute_drift(_ctx(policy, ref, cur, "duckdb")).checks}
    r, c = ref["cont"].dropna().to_numpy(), cur["cont"].dropna().to_numpy()
    assert d["cont.ks"].observed == pytest.approx(scipy.stats.ks_2samp(r, c).pvalue, rel=1e-12, abs=1e-300)
    r, c = ref["ties"].to_numpy(), cur["ties"].to_numpy()
    expected = scipy.stats.wasserstein_distance(r, c) / max(float(np.std(r)), 0.001)
    assert d["ties.wasserstein"].observed == pytest.approx(expected, rel=1e-12)


def test_ks_asymptotic_branch_equals_scipy() -> None:
    """Above 10,000 values a side scipy switches to Smirnov's asymptotic distribution; so must the counts."""
    rng = np.random.default_rng(8)
    ref = pd.DataFrame({"x": np.round(rng.normal(0, 1, 12_000), 2)})
    cur = pd.DataFrame({"x": np.round(rng.normal(0.03, 1, 11_000), 2)})
    policy = {"version": 1, "drift": {"evidently_report": False, "columns": {"x": {"method": "ks"}}}}
    d = {c.name: c for c in compute_drift(_ctx(policy, ref, cur, "duckdb")).checks}
    expected = scipy.stats.ks_2samp(ref["x"].to_numpy(), cur["x"].to_numpy()).pvalue
    assert d["x.ks"].observed == pytest.approx(expected, rel=1e-9)


def test_infinite_values_and_a_constant_reference_fail_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(4)
    ref = pd.DataFrame({"inf": rng.normal(size=200), "const": 1.0, "dominant": np.r_[np.zeros(190),
                                                                                    1 + rng.random(10)]})
    cur = pd.DataFrame({"inf": rng.normal(size=200), "const": rng.normal(size=200),
                        "dominant": rng.normal(size=200)})
    ref.loc[3, "inf"] = np.inf
    for small in (True, False):
        if not small:
            monkeypatch.setattr(dc, "SMALL_DISTINCT", 3)
        p, d = _both({"version": 1, "drift": {"evidently_report": False}}, ref, cur)
        _assert_outcomes_equal(p, d)
        checks = {c.name: c for c in d.checks}
        assert all(checks[n].status == Status.NOT_COMPUTABLE for n in ("inf.psi", "const.psi", "dominant.psi"))
        assert "quantiles collapse" in checks["dominant.psi"].message


@pytest.mark.parametrize("method", ["psi", "ks", "wasserstein", "jensenshannon"])
def test_infinite_values_are_never_left_out_unseen_by_any_method(method: str) -> None:
    """evidently drops infinite values silently: 30 % of them in the current data used to pass KS (p = 0.67)."""
    rng = np.random.default_rng(12)
    ref = pd.DataFrame({"x": rng.normal(size=1000), "ok": rng.normal(size=1000)})
    cur = pd.DataFrame({"x": rng.normal(size=1000), "ok": rng.normal(size=1000)})
    cur.loc[:299, "x"] = np.inf
    cur.loc[300, "x"] = -np.inf
    policy = {"version": 1, "drift": {"evidently_report": False, "numerical": {"method": method}}}
    p, d = _both(policy, ref, cur)
    _assert_outcomes_equal(p, d)
    for out in (p, d):
        checks = {c.name: c for c in out.checks}
        bad = checks[f"x.{method}"]
        assert bad.status == Status.NOT_COMPUTABLE
        assert "holds infinite values (0 in the reference, 301 in the current data)" in bad.message
        assert checks[f"ok.{method}"].status in (Status.PASS, Status.FAIL)  # the finite column is still compared


def test_a_hostile_category_and_a_single_category_chisquare_alike() -> None:
    rng = np.random.default_rng(6)
    ref = pd.DataFrame({"one": ["a"] * 100, "many": rng.choice(list("xyz"), 100)})
    cur = pd.DataFrame({"one": ["a"] * 100, "many": rng.choice(list("xyz"), 100)})
    policy = {"version": 1, "drift": {"evidently_report": False,
                                      "columns": {"one": {"method": "chisquare"}, "many": {"method": "chisquare"}}}}
    p, d = _both(policy, ref, cur)
    _assert_outcomes_equal(p, d)
    assert {c.name: c for c in d.checks}["one.chisquare"].status == Status.NOT_COMPUTABLE


def test_evidently_page_is_not_written_on_duckdb_and_it_says_so(kinds: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ref, cur = kinds
    d = compute_drift(_ctx({"version": 1, "drift": {"evidently_report": True, "features": ["cont", "cat"]}},
                           ref, cur, "duckdb"))
    assert d.evidently_html is None and d.info["evidently_report"] is False
    assert "not written on the DuckDB engine" in d.info["evidently_report_refused"]
    off = compute_drift(_ctx({"version": 1, "drift": {"evidently_report": False, "features": ["cont"]}},
                             ref, cur, "duckdb"))
    assert "evidently_report_refused" not in off.info


def test_unseen_values_beyond_the_cap_are_counted_in_the_message(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(9)
    ref = pd.DataFrame({"code": rng.integers(0, 4, 300).astype(float)})
    cur = pd.DataFrame({"code": np.r_[rng.integers(0, 4, 270), np.arange(10, 40)].astype(float)})
    p, _ = _both({"version": 1, "drift": {"evidently_report": False}}, ref, cur)
    monkeypatch.setattr(dc, "SMALL_DISTINCT", 20)  # the current side's 34 values are not read one by one
    monkeypatch.setattr(dc, "UNSEEN_CAP", 12)
    d = compute_drift(_ctx({"version": 1, "drift": {"evidently_report": False}}, ref, cur, "duckdb"))
    pc, dc_ = p.checks[0], d.checks[0]
    assert dc_.message == pc.message and "and 20 more" in dc_.message
    assert dc_.details["unseen_categories"] == pc.details["unseen_categories"][:12]
    assert dc_.observed == pytest.approx(pc.observed, abs=1e-12)


def test_counts_below_edges_are_exact_at_and_next_to_the_edges() -> None:
    import math

    import ibis

    rng = np.random.default_rng(1)
    edges = np.unique(np.round(rng.normal(size=12), 3))
    # values on each edge, one double below and one above it, and values in between
    near = np.concatenate([edges, [math.nextafter(e, -math.inf) for e in edges],
                           [math.nextafter(e, math.inf) for e in edges], rng.normal(size=500)])
    t = ibis.memtable(pd.DataFrame({"v": near}))
    got = dc.counts_below(t, {"v": (True, edges)})["v"]
    assert got.tolist() == [int((near < e).sum()) for e in edges]
    got = dc.counts_below(t, {"v": (True, edges)}, last_inclusive=True)["v"]
    assert got[-1] == int((near <= edges[-1]).sum())


# ------------------------------------------------------------------------------------- leakage scan


@pytest.fixture(scope="module")
def leak_frames() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(5)
    n = 600
    y = rng.integers(0, 2, n)
    cur = pd.DataFrame({"y": y, "rand": rng.normal(size=n), "leak": y + rng.normal(0, 0.3, n),
                        "catleak": np.where(y == 1, "p", "n"), "idlike": [f"id{i}" for i in range(n)],
                        "few": np.r_[rng.normal(size=20), np.full(n - 20, np.nan)]})
    cur.loc[(y == 1) & (rng.random(n) < 0.6), "rand"] = np.nan
    return cur, y


def _leak(frame: pd.DataFrame, y: np.ndarray, engine: str, task: str = "classification") -> dict[str, CheckResult]:
    ed = EvalData(task=task, y_true=y.astype(int) if task == "classification" else y.astype(float))
    ed.positive_label = 1 if task == "classification" else None
    ctx = _ctx({"version": 1, "drift": {"evidently_report": False, "leakage": {}}}, frame.iloc[::-1], frame, engine,
               info={"target": "y"}, eval_data=ed)
    return {c.name: c for c in compute_drift(ctx).checks if c.name.endswith(".leakage")}


def test_leakage_scores_are_equal_on_both_engines(leak_frames: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, y = leak_frames
    p, d = _leak(frame, y, "pandas"), _leak(frame, y, "duckdb")
    # rand: the gaps leak (missing on 60 % of the positives): the indicator's AUC, exact
    miss = frame["rand"].isna().to_numpy().astype(float)
    auc = roc_auc_score(y, miss)
    assert d["rand.leakage"].details["scored"] == "missing"
    assert d["rand.leakage"].details["missing_indicator_score"] == pytest.approx(max(auc, 1 - auc), abs=1e-12)
    assert d["rand.leakage"].observed == pytest.approx(p["rand.leakage"].observed, abs=1e-12)
    # leak: monotone in the target: the raw value's AUC, exact
    auc = roc_auc_score(y, frame["leak"])
    assert d["leak.leakage"].observed == pytest.approx(max(auc, 1 - auc), abs=1e-12)
    assert d["leak.leakage"].status == p["leak.leakage"].status == Status.FAIL
    for name in ("rand", "leak", "catleak", "idlike", "few"):
        assert d[f"{name}.leakage"].status == p[f"{name}.leakage"].status, name
        assert d[f"{name}.leakage"].details["data_engine"] == "duckdb"
    # encoded scores: the same folds on both engines (gatekit.stats.leakage.fold_of), so the same scores
    assert d["catleak.leakage"].observed == pytest.approx(1.0)
    assert d["idlike.leakage"].observed < 0.6
    for name in ("rand", "leak", "catleak", "idlike"):
        assert d[f"{name}.leakage"].observed == pytest.approx(p[f"{name}.leakage"].observed, rel=1e-12), name
    assert d["few.leakage"].message == p["few.leakage"].message  # too few pairs: not evaluated alike


def test_leakage_auc_from_grouped_counts_equals_sklearn_with_ties() -> None:
    import ibis

    rng = np.random.default_rng(12)
    x = rng.integers(0, 7, 500).astype(float)
    y = (rng.random(500) < 0.2 + x / 10).astype(int)
    t = ibis.memtable(pd.DataFrame({"x": x, "y": y}))
    from gatekit.stats.leakage import auc_from_sums

    assert auc_from_sums(*dc._grouped_auc(t, t.x, t.y)) == pytest.approx(roc_auc_score(y, x), abs=1e-12)


def test_a_regression_target_scores_alike_on_both_engines(leak_frames: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, _ = leak_frames
    y = np.random.default_rng(0).normal(size=len(frame))
    f = frame.assign(y=y)
    p, d = _leak(f, y, "pandas", task="regression"), _leak(f, y, "duckdb", task="regression")
    assert sorted(p) == sorted(d)
    for name in p:
        assert (d[name].status, d[name].observed, d[name].message) == (p[name].status, p[name].observed,
                                                                       p[name].message), name
    assert any(c.status == Status.PASS for c in d.values())
    assert "read the feature and the target into memory" in d["leak.leakage"].details["engine_note"]


# ------------------------------------------- discrete values the reference lacks, values beyond its range


@pytest.fixture(scope="module")
def sentinel() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A 0/1 flag replaced by -999 / 999, a code recoded (1 -> -100, 3 -> 300), a 0.1 / 0.2 / 0.3 grid shifted
    by 1e-4, and a continuous column with current values beyond the reference's range on both sides."""
    rng = np.random.default_rng(21)
    n = 500
    ref = pd.DataFrame({"flag": rng.integers(0, 2, n), "code": rng.integers(1, 4, n),
                        "grid": rng.choice([0.1, 0.2, 0.3], n), "cont": rng.uniform(0, 1, n)})
    code = rng.integers(1, 4, n)
    cur = pd.DataFrame({"flag": np.where(rng.integers(0, 2, n) == 0, -999, 999),
                        "code": np.select([code == 1, code == 3], [-100, 300], code),
                        "grid": rng.choice([0.1, 0.2, 0.3], n) + 1e-4,
                        "cont": np.r_[rng.uniform(0, 1, n - 30), rng.uniform(-3, -1, 10), rng.uniform(2, 4, 20)]})
    return ref, cur


@pytest.mark.parametrize("small", [True, False], ids=["value-counts", "arrays-and-histogram"])
def test_sentinels_and_values_beyond_the_range_equal_the_pandas_path(sentinel: tuple[pd.DataFrame, pd.DataFrame],
                                                                     small: bool,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    if not small:  # the current side through DuckDB's histogram and the unseen-values query
        monkeypatch.setattr(dc, "SMALL_DISTINCT", 1)
    ref, cur = sentinel
    policy = {"version": 1, "drift": {"evidently_report": False}}
    p, d = _both(policy, ref, cur)
    _assert_outcomes_equal(p, d)
    checks = {c.name: c for c in d.checks}
    for name in ("flag", "code"):  # before: counted with the nearest reference value, PSI 0
        assert checks[f"{name}.psi"].status == Status.FAIL and checks[f"{name}.psi"].observed > 5
        assert checks[f"{name}.psi"].details["bins"][-1] == "not in the reference"
    assert checks["flag.psi"].details["current_counts"] == [0, 0, 500]
    assert checks["code.psi"].details["unseen_categories"] == [-100.0, 300.0]
    assert checks["grid.psi"].details["unseen_categories"] == [] and checks["grid.psi"].observed < 0.05
    out = checks["cont.psi"].details["outside_reference_range"]
    assert (out["below"], out["above"]) == (10, 20) and out["share"] == pytest.approx(30 / 500)
    assert "lie outside the reference's range" in checks["cont.psi"].message


# ----------------------------------------------------- output roles and the model's features are not features


@pytest.fixture(scope="module")
def roles() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(22)
    n = 300

    def side(start: int) -> pd.DataFrame:
        y = rng.integers(0, 2, n)
        return pd.DataFrame({"row_id": np.arange(start, start + n), "a": rng.normal(size=n), "b": rng.normal(size=n),
                             "y": y, "s": np.clip(0.5 * y + rng.random(n) * 0.5, 0, 1),
                             "s2": np.clip(0.6 * y + rng.random(n) * 0.4, 0, 1)})
    return side(1), side(n + 1)


def test_output_roles_are_not_features_on_both_engines(roles: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ref, cur = roles
    ed = EvalData(task="classification", y_true=cur["y"].to_numpy())
    ed.positive_label = 1
    info = {"target": "y", "score": "s", "baseline": {"source": "score column 's2'", "paired": True}}
    policy = {"version": 1, "drift": {"evidently_report": False, "leakage": {}}}
    p, d = _both(policy, ref, cur, info=info, eval_data=ed)
    for out in (p, d):
        names = {c.name for c in out.checks}
        # before: s2 (the production model's score) was compared and scanned as a leaky feature
        assert not names & {"y.psi", "s.psi", "s2.psi", "s2.leakage", "s.leakage"}
        assert {"row_id.psi", "a.psi", "b.psi"} <= names  # no model: every other column is compared
        assert out.skipped == {"y": "not compared: the target column, not a feature",
                               "s": "not compared: the score column, not a feature",
                               "s2": "not compared: the baseline score column, not a feature"}
        assert out.info["not_compared"] == out.skipped
        assert all(c.details["not_compared"] == out.skipped for c in out.checks)
    pc, dc_ = {c.name: c for c in p.checks}, {c.name: c for c in d.checks}
    for name in ("row_id.psi", "a.psi", "b.psi"):
        _assert_same(pc[name], dc_[name])


def test_the_models_features_are_the_default_features_on_both_engines(roles: tuple[pd.DataFrame, pd.DataFrame]
                                                                        ) -> None:
    from types import SimpleNamespace

    from gatekit.sections.drift import aggregate

    ref, cur = roles
    outs = []
    for engine in ("pandas", "duckdb"):
        ctx = _ctx({"version": 1, "drift": {"evidently_report": False}}, ref, cur, engine,
                   info={"target": "y", "score": "s"})
        ctx.inputs.runner = SimpleNamespace(features=["a", "b"])
        outs.append(compute_drift(ctx))
    _assert_outcomes_equal(*outs)
    for out in outs:
        # before: row_id (1..300 against 301..600) was compared and its PSI was the largest
        assert sorted(c.name for c in out.checks) == ["a.psi", "b.psi"]
        assert out.skipped == {"row_id": "not compared: not a model feature",
                               "y": "not compared: the target column, not a feature",
                               "s": "not compared: the score column, not a feature",
                               "s2": "not compared: not a model feature"}
        assert out.info["features_from"] == "the model's features"
        value, details = aggregate(out, "psi_feature_drift")
        assert details["feature"] in ("a", "b") and value == max(out.psi.values())
        assert "row_id, s2: not a model feature" in details["note"]
        assert details["not_compared"]["row_id"] == "not compared: not a model feature"
        _, details = aggregate(out, "drift_share")
        assert details["compared"] == 2 and "row_id" in details["not_compared"]


def _many_values(rng: np.random.Generator, n: int, shift: float = 0.0) -> pd.DataFrame:
    """Columns with many distinct values: continuous, heavy ties at the quantiles (a value held by 30 % of the
    rows, rounded values), sorted rows (a block sample misplaces the brackets), integers, missing values."""
    tied = np.round(rng.lognormal(shift, 1, n), 2)
    tied[rng.random(n) < 0.3] = 1.0
    d = pd.DataFrame({"cont": rng.normal(shift, 1, n), "tied": tied,
                      "sorted": np.sort(rng.exponential(1 + shift, n)), "int": rng.integers(0, 5_000, n)})
    d.loc[rng.random(n) < 0.05, "cont"] = np.nan
    return d


@pytest.mark.parametrize("case", ["sample", "misleading-sample", "full-segments", "no-sample"])
def test_reference_order_statistics_equal_numpy_sort(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import ibis

    from gatekit.stats.drift import linear_quantile_positions, reference_bins

    rng = np.random.default_rng(11)
    frame = _many_values(rng, 6_000)
    t = ibis.memtable(frame)
    names = list(frame.columns)
    values = {c: frame[c].dropna().to_numpy(dtype=float) for c in names}
    n = {c: len(v) for c, v in values.items()}
    samples = {c: v[rng.random(len(v)) < 0.1] for c, v in values.items()}
    if case == "misleading-sample":  # brackets above every value: one segment too full to read, the engine's search
        samples = {c: v + 10 * np.abs(v).max() for c, v in samples.items()}
        monkeypatch.setattr(dc, "WINDOW_ROWS", 1_000)
    elif case == "full-segments":  # segments too full to read: the engine's order statistics
        monkeypatch.setattr(dc, "WINDOW_ROWS", 3)
    elif case == "no-sample":  # one segment, the whole column (small enough to read)
        samples = {c: np.zeros(0) for c in names}
    ranks = {c: sorted({0, n[c] - 1, *rng.integers(0, n[c], 12).tolist(),
                        *linear_quantile_positions(n[c], np.arange(1, 10) / 10)[0].tolist()}) for c in names}
    import gatekit.data.engine as engine

    searched: list[str] = []
    exact = engine.order_statistics
    monkeypatch.setattr(engine, "order_statistics", lambda tb, c, ks: searched.append(c) or exact(tb, c, ks))
    got, windows, ranges = dc.reference_order_statistics(t, ranks, {c: c == "cont" for c in names}, n, samples)
    # the brackets find every rank from a sample of the column; else the engine's exact search does
    assert sorted(searched) == ([] if case in ("sample", "no-sample") else sorted(names))
    for c in names:
        s = np.sort(values[c])
        assert got[c] == {k: float(s[k]) for k in ranks[c]}, c
        assert ranges[c] == (s[0], s[-1])
        for x in s[:: 97]:  # what the read segments tell is exact
            below = windows[c].count_below(float(x))
            assert below is None or below == int((s < x).sum())
            near = windows[c].largest_below(float(x))
            less = s[s < x]
            assert near is None or (np.isnan(near) if len(less) == 0 else near == less[-1])
    bins = dc.large_reference_bins(t, names, {c: c == "cont" for c in names}, n, samples, 10)
    for c in names:
        kind, edges, counts, distinct = reference_bins(np.sort(values[c]), 10)
        assert kind == "numerical"
        np.testing.assert_array_equal(bins[c][0], edges)  # bit for bit: numpy's quantile from order statistics
        np.testing.assert_array_equal(bins[c][1], counts)
        assert list(bins[c][2]) == [distinct[0], distinct[-1]]


@pytest.mark.parametrize("sample_rows", [10**6, 1_500], ids=["whole-table", "block-sample"])
def test_many_distinct_values_through_order_statistics_equal_the_pandas_path(sample_rows: int,
                                                                            monkeypatch: pytest.MonkeyPatch
                                                                            ) -> None:
    monkeypatch.setattr(dc, "SMALL_DISTINCT", 40)  # every column above has more: the order-statistics route
    monkeypatch.setattr(dc, "SAMPLE_ROWS", sample_rows)
    rng = np.random.default_rng(12)
    ref, cur = _many_values(rng, 8_000), _many_values(rng, 6_000, shift=0.2)
    p, d = _both({"version": 1, "drift": {"evidently_report": False}}, ref, cur)
    _assert_outcomes_equal(p, d)
    assert {c.name for c in d.checks if c.details.get("kind") == "numerical"} >= {"cont.psi", "tied.psi",
                                                                               "sorted.psi", "int.psi"}
    for c in d.checks:
        assert c.details.get("binning", "").startswith("10 reference-quantile bins"), c.name


@pytest.mark.parametrize("small", [True, False], ids=["value-counts", "arrays-and-histogram"])
def test_every_method_and_column_kind_on_spark_equals_the_pandas_path(kinds: tuple[pd.DataFrame, pd.DataFrame],
                                                                      small: bool, spark,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The same counts on Spark: value counts, histograms binned on the executors, KS and Wasserstein."""
    if not small:
        monkeypatch.setattr(dc, "SMALL_DISTINCT", 3)
    ref, cur = kinds
    for methods in sorted(METHODS):
        policy = {"version": 1, "drift": {"evidently_report": False,
                                          "columns": {k: {"method": m} for k, m in METHODS[methods].items()}}}
        p, d = _both(policy, ref, cur, engine="spark")
        _assert_outcomes_equal(p, d)
        assert d.info["engine"] == "spark"


def test_order_statistics_and_leakage_on_spark_equal_the_pandas_path(leak_frames: tuple[pd.DataFrame, np.ndarray],
                                                                     spark, monkeypatch: pytest.MonkeyPatch) -> None:
    """Exact reference quantiles (brackets counted on the executors) and the leakage folds by row position."""
    monkeypatch.setattr(dc, "SMALL_DISTINCT", 40)
    monkeypatch.setattr(dc, "SAMPLE_ROWS", 1_500)
    rng = np.random.default_rng(12)
    ref, cur = _many_values(rng, 8_000), _many_values(rng, 6_000, shift=0.2)
    p, d = _both({"version": 1, "drift": {"evidently_report": False}}, ref, cur, engine="spark")
    _assert_outcomes_equal(p, d)
    frame, y = leak_frames
    pl, sl = _leak(frame, y, "pandas"), _leak(frame, y, "spark")
    for name in ("rand", "leak", "catleak", "idlike", "few"):
        assert sl[f"{name}.leakage"].status == pl[f"{name}.leakage"].status, name
        if pl[f"{name}.leakage"].observed is not None:
            assert sl[f"{name}.leakage"].observed == pytest.approx(pl[f"{name}.leakage"].observed, rel=1e-12), name
    assert sl["catleak.leakage"].details["data_engine"] == "spark"



def test_decile_encodings_cut_at_pandas_edges_on_shuffled_real_rows() -> None:
    """pandas.qcut's edges, bit for bit: DuckDB's own quantile differs in the last bit and moved HMDA rows on an
    edge to the next decile (pirat: 0.6506 against pandas' 0.6525 on these shuffles, before the fix)."""
    import ibis

    from tests.helpers import REPO

    frame = pd.read_csv(REPO / "data" / "hmda" / "hmda.csv")
    frame["y"] = (frame.pop("deny") == "yes").astype(int)
    for seed in (2, 5):
        shuffled = frame.sample(frac=1, random_state=seed).reset_index(drop=True)
        y = shuffled["y"].to_numpy()
        p, d = _leak(shuffled, y, "pandas"), _leak(shuffled, y, "duckdb")
        for name, check in p.items():
            assert d[name].status == check.status, (seed, name)
            if check.observed is not None:
                assert d[name].observed == pytest.approx(check.observed, rel=1e-12, abs=0), (seed, name)
    x = frame["pirat"].to_numpy()
    got = dc._decile_edges(ibis.memtable(frame), "pirat", ibis.memtable(frame)["pirat"].cast("float64"), len(x))
    want = pd.qcut(x, 10, retbins=True, duplicates="drop")[1]
    assert np.array_equal(np.unique(got), want)
