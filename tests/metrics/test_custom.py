"""Tests of :mod:`gatekit.metrics.custom`: declaring, loading and running a user's own metric function.

Values are checked against the formula computed here with numpy; intervals against the interval gatekit computes for
a built-in metric defined identically (the Brier score), on the same resamples.
"""

from __future__ import annotations

import math
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gatekit
from gatekit.core.errors import NotComputable
from gatekit.metrics import EvalData, default_registry
from gatekit.metrics.custom import (
    ATTRIBUTE,
    extend_registry,
    installed_entry_points,
    load_entry_points,
    load_folder,
    run_declared,
    to_spec,
)
from tests.helpers import REPO
from tests.metrics.helpers import clf_data, compact_clf, expand

EXAMPLE = REPO / "examples" / "custom_metrics"


def net_benefit_by_hand(y: np.ndarray, s: np.ndarray, pt: float, w: np.ndarray | None = None) -> float:
    """Vickers & Elkin (2006): NB = TP/n - FP/n * pt/(1-pt), acting on the rows with score >= pt."""
    w = np.ones(len(y)) if w is None else np.asarray(w, dtype=float)
    act = s >= pt
    return float(w[act & (y == 1)].sum() / w.sum() - w[act & (y == 0)].sum() / w.sum() * pt / (1 - pt))


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def declared(text: str, tmp_path: Path) -> object:
    """The one declaration a metric file written from ``text`` holds."""
    loaded = load_folder(write(tmp_path / "m", "metric.py", text).parent)
    assert not loaded.errors, loaded.errors
    assert len(loaded.declared) == 1
    return loaded.declared[0][0]


BRIER = """
import numpy as np
import gatekit

@gatekit.metric(inputs=("y_true", "y_score"), tasks="classification", direction="lower", bounds=(0, 1))
def my_brier(y_true, y_score, sample_weight=None):
    '''Brier score: mean squared difference of probability and outcome (Brier 1950).'''
    return float(np.average((y_score - y_true) ** 2, weights=sample_weight))
"""

HIT_RATE = """
import numpy as np
import gatekit

@gatekit.metric(inputs=("y_true", "y_pred"), tasks=("classification", "multiclass"), direction="higher",
                description="Share of rows whose predicted class is the true one, without row counts.")
def plain_hit_rate(y_true, y_pred):
    return float(np.mean(y_true == y_pred))
"""


# --- the shipped example -----------------------------------------------------------------------------------------


def test_the_example_net_benefit_equals_the_formula_on_real_rows(hmda_clf) -> None:
    y, s, _ = hmda_clf
    loaded = load_folder(EXAMPLE)
    assert not loaded.errors and [d.name for d, _ in loaded.declared] == ["net_benefit"]
    decl = loaded.declared[0][0]
    spec = to_spec(decl, decl.where)
    for pt in (0.05, 0.1, 0.2, 0.5):
        got = spec.fn(EvalData(y_true=y, y_score=s, task="classification"), threshold_probability=pt)
        assert got.value == pytest.approx(net_benefit_by_hand(y, s, pt), rel=1e-12, abs=1e-15)
    # the function itself stays callable (the decorator returns it unchanged)
    assert decl.fn(y, s, threshold_probability=0.2) == pytest.approx(net_benefit_by_hand(y, s, 0.2), rel=1e-12)
    assert spec.higher_is_better is True and spec.bounds == (None, 1.0) and spec.section == "performance"
    assert "Vickers & Elkin 2006" in spec.description and spec.source == f"{EXAMPLE / 'net_benefit.py'}:{decl.line}"


def test_compact_rows_with_counts_give_the_value_of_the_rows_they_stand_for() -> None:
    decl = load_folder(EXAMPLE).declared[0][0]
    spec = to_spec(decl, decl.where)
    for seed in range(5):
        data = compact_clf(seed)
        rows = expand(data)
        got = spec.fn(data, threshold_probability=0.3).value
        assert got == spec.fn(rows, threshold_probability=0.3).value  # sums of whole counts: exactly equal
        assert got == pytest.approx(net_benefit_by_hand(rows.y_true, rows.y_score, 0.3), rel=1e-12, abs=1e-15)
        assert spec.fn(data, threshold_probability=0.3).details["row_counts"] == "passed as sample_weight"


def test_each_bootstrap_resample_is_the_metric_on_the_rows_it_draws(hmda_clf) -> None:
    from gatekit.metrics.custom import resample_values

    y, s, _ = hmda_clf
    decl = load_folder(EXAMPLE).declared[0][0]
    data = EvalData(y_true=y, y_score=s, task="classification")
    W = np.random.default_rng(7).multinomial(len(y), np.full(len(y), 1 / len(y)), size=30)
    W[0] = 0
    W[0, y == 0] = 1  # a resample without positives: the net benefit is -FP/n * pt/(1-pt), still defined
    got = resample_values(decl, data, W, {"threshold_probability": 0.2})
    rows = np.arange(len(y))
    want = [net_benefit_by_hand(y[np.repeat(rows, w)], s[np.repeat(rows, w)], 0.2) for w in W]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    W[1] = 0  # a resample with no rows: the function raises, that resample is NaN (the interval counts it)
    assert np.isnan(resample_values(decl, data, W[:2], {"threshold_probability": 0.2})[1])


def test_a_rule_must_give_the_required_threshold_and_a_valid_one(tmp_path: Path) -> None:
    from gatekit.core.errors import PolicyError
    from gatekit.policy import load_policy

    base = {"version": 1, "custom_metrics": {"metrics_dir": str(EXAMPLE)}}
    with pytest.raises(PolicyError, match=r"needs parameter\(s\) threshold_probability"):
        load_policy({**base, "metrics": [{"name": "net_benefit", "op": ">", "value": 0}]})
    with pytest.raises(PolicyError, match="strictly between 0 and 1"):
        load_policy({**base, "metrics": [{"name": "net_benefit", "op": ">", "value": 0,
                                          "params": {"threshold_probability": 1}}]})


# --- declaring -----------------------------------------------------------------------------------------------------


def _fresh():
    def fn(y_true, y_score, *, k=2, sample_weight=None):
        """Doc summary line."""
        return 0.0
    return fn


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"name": "Net-Benefit"}, "lower_snake_case"),
    ({"name": "recall_at_0_5"}, "reserved"),
    ({"inputs": ("y_true", "y_proba")}, "inputs must be one or more of"),
    ({"inputs": ()}, "inputs must be one or more of"),
    ({"inputs": ("y_true", "y_pred")}, "input 'y_pred' is not a parameter"),
    ({"tasks": "ranking"}, "tasks must be one or more of"),
    ({"direction": "up"}, "direction must be"),
    ({"params": {"j": int}}, "parameter 'j' is not a parameter"),
    ({"params": {"k": str}}, "default of parameter 'k'"),
    ({"params": {"k": dict}}, "its type must be"),
    ({"params": {"y_true": float}}, "must be an identifier other than"),
    ({"bounds": (1, 0)}, "bounds must be"),
])
def test_a_declaration_is_checked_against_the_function(kwargs: dict, match: str) -> None:
    decl = {"inputs": ("y_true", "y_score"), "tasks": "classification", **kwargs}
    with pytest.raises((ValueError, TypeError), match=match):
        gatekit.metric(**decl)(_fresh())


def test_a_declaration_records_what_it_needs_and_returns_the_function() -> None:
    fn = _fresh()
    out = gatekit.metric("my_metric", inputs=["y_true", "y_score"], tasks=["classification", "regression"],
                         unit="fraction", params={"k": int})(fn)
    assert out is fn
    decl = getattr(fn, ATTRIBUTE)
    assert (decl.name, decl.inputs, decl.tasks, decl.description, decl.sample_weight) == (
        "my_metric", ("y_true", "y_score"), ("classification", "regression"), "Doc summary line.", True)
    assert decl.params[0].text() == "k (integer, default 2)"
    with pytest.raises(ValueError, match="declared as a metric twice"):
        gatekit.metric(inputs=["y_true", "y_score"], tasks="regression")(fn)


def test_a_parameter_the_function_needs_must_be_an_input_or_declared_and_a_description_is_required() -> None:
    def needs_k(y_true, k):
        """Doc."""
        return 0.0

    with pytest.raises(ValueError, match="needs parameter 'k'"):
        gatekit.metric(inputs="y_true", tasks="regression")(needs_k)

    def undocumented(y_true):
        return 0.0

    with pytest.raises(ValueError, match="has no description"):
        gatekit.metric(inputs="y_true", tasks="regression")(undocumented)


# --- running: fail closed ------------------------------------------------------------------------------------------


def _run(tmp_path: Path, body: str, data: EvalData, inputs: str = '("y_true", "y_score")', **params):
    decl = declared(f"""
        import math
        import numpy as np
        import gatekit

        @gatekit.metric(inputs={inputs}, tasks="classification", description="A test metric.", bounds=(0, 1))
        def m(y_true=None, y_score=None, y_pred=None, sensitive=None, sample_weight=None):
            {body}
        """, tmp_path)
    return run_declared(decl, data, params)


DATA = clf_data([1, 0, 1, 0, 1], [0.9, 0.2, 0.6, 0.4, 0.3])


@pytest.mark.parametrize(("body", "reason"), [
    ("return 1 / 0", r"m raised ZeroDivisionError: division by zero \(.*metric\.py:7\)"),
    ("raise ValueError('only one class in this sample')", r"ValueError: only one class in this sample \(.*py:7\)"),
    ("return float('nan')", "returned nan, not a finite number"),
    ("return math.inf", "returned inf, not a finite number"),
    ("return 'high'", "returned str 'high', not a number"),
    ("return True", "returned bool True, not a number"),
    ("return None", "returned NoneType None, not a number"),
    ("return [0.5, 0.6]", "returned list"),
    ("return 1.5", r"returned 1.5, outside its declared bounds \[0, 1\]"),
    ("y_score[0] = 1.0", "read-only"),
    ("raise SystemExit(3)", "raised SystemExit"),
    ("return 10**400", "an integer too large for a number"),
])
def test_what_the_function_does_wrong_is_not_computable_with_its_message(tmp_path: Path, body: str,
                                                                         reason: str) -> None:
    before = DATA.y_score.copy()
    with pytest.raises(NotComputable, match=reason):
        _run(tmp_path, body, DATA)
    np.testing.assert_array_equal(DATA.y_score, before)  # the run's arrays are never written


def test_a_function_that_makes_its_input_writeable_changes_only_its_own_copy(tmp_path: Path) -> None:
    """A read-only view of the shared arrays could be made writeable again; the function gets a copy instead."""
    before = DATA.y_score.copy()
    body = "y_score.setflags(write=True); y_score[:] = 0.0; return 0.5"
    assert _run(tmp_path, body, DATA).value == 0.5
    np.testing.assert_array_equal(DATA.y_score, before)


def test_a_parameter_check_that_raises_anything_refuses_the_value_at_the_rule(tmp_path: Path) -> None:
    """A user's check raising KeyError (not the ValueError asked for) is a policy error (exit 2), not a crash."""
    from gatekit.core.errors import PolicyError
    from gatekit.policy import load_policy

    folder = write(tmp_path / "m", "picky.py", """
        import gatekit

        def picky(v):
            return {"a": 1.0}[v]

        @gatekit.metric(inputs=("y_true",), tasks="classification", description="A test metric.", params={"k": picky})
        def picky_metric(y_true, *, k, sample_weight=None):
            return 0.5
        """).parent
    policy = {"version": 1, "custom_metrics": {"metrics_dir": str(folder)},
              "metrics": [{"name": "picky_metric", "op": ">=", "value": 0, "params": {"k": "b"}}]}
    with pytest.raises(PolicyError, match="its check 'picky' raised KeyError"):
        load_policy(policy)
    policy["metrics"][0]["params"] = {"k": "a"}
    assert load_policy(policy).params[0] == {"k": 1.0}


def test_a_numpy_scalar_or_one_element_array_is_a_value(tmp_path: Path) -> None:
    assert _run(tmp_path, "return np.float32(0.25)", DATA).value == 0.25
    assert _run(tmp_path, "return np.array([0.5])", DATA).value == 0.5
    assert _run(tmp_path, "return 1", DATA).value == 1.0


def test_a_missing_input_is_not_computable_naming_it(tmp_path: Path) -> None:
    labels_only = clf_data([1, 0, 1], pred=[1, 0, 0])
    with pytest.raises(NotComputable, match=r"m needs y_score: .*only labels were given"):
        _run(tmp_path, "return 0.5", labels_only)
    no_target = EvalData(y_score=np.array([0.2, 0.8]), task="classification")
    with pytest.raises(NotComputable, match="m needs y_true: no target column"):
        _run(tmp_path, "return 0.5", no_target)
    with pytest.raises(NotComputable, match="m needs y_score: 1 of 3 score values are missing"):
        _run(tmp_path, "return 0.5", clf_data([1, 0, 1], [0.2, np.nan, 0.7]))
    with pytest.raises(NotComputable, match="m needs sensitive: no sensitive feature column"):
        _run(tmp_path, "return 0.5", DATA, inputs='("y_true", "sensitive")')


def test_y_pred_is_the_label_at_the_decision_threshold_and_sensitive_a_frame_of_text(tmp_path: Path) -> None:
    data = clf_data([1, 0, 1, 0], [0.9, 0.5, 0.45, 0.1], sensitive={"g": ["a", "b", "a", "b"]},
                    decision_threshold=0.45)
    got = _run(tmp_path, "return float(np.mean(y_pred == np.array([1, 1, 1, 0])) * (list(sensitive['g']) == "
                         "['a', 'b', 'a', 'b']))", data, inputs='("y_pred", "sensitive")')
    assert got.value == 1.0


def test_a_run_of_another_task_is_not_computable(tmp_path: Path) -> None:
    reg = EvalData(y_true=np.array([1.0, 2.0]), y_score=np.array([1.5, 2.5]), task="regression")
    with pytest.raises(NotComputable, match="m applies to classification runs; this run's task is regression"):
        _run(tmp_path, "return 0.5", reg)


def test_on_compact_rows_a_function_without_sample_weight_is_refused_saying_what_to_do(tmp_path: Path) -> None:
    decl = declared(HIT_RATE, tmp_path)
    data = compact_clf(0)
    with pytest.raises(NotComputable, match=r"takes no sample_weight parameter.*--engine pandas"):
        run_declared(decl, data, {})
    rows = expand(data)  # the same rows, one by one: computed
    yp = (rows.y_score >= 0.5).astype(int)
    assert run_declared(decl, rows, {}).value == pytest.approx(np.mean(rows.y_true == yp), rel=1e-12)


# --- loading -------------------------------------------------------------------------------------------------------


def test_a_folder_loads_each_file_reports_a_broken_one_with_its_line_and_leaves_no_trace(tmp_path: Path) -> None:
    folder = tmp_path / "metrics"
    write(folder, "brier.py", BRIER)
    write(folder, "broken.py", "import numpy as np\n\nvalue = undefined_name + 1\n")
    write(folder, "_helpers.py", "raise RuntimeError('never imported')\n")
    write(folder, "bad_decl.py", """
        import gatekit

        @gatekit.metric(inputs=("y_true",), tasks="classification", direction="sideways")
        def sideways(y_true):
            '''Doc.'''
            return 0.0
        """)
    modules = set(sys.modules)
    loaded = load_folder(folder)
    assert [d.name for d, _ in loaded.declared] == ["my_brier"]
    assert [(Path(e.file).name, e.line) for e in loaded.errors] == [("bad_decl.py", 3), ("broken.py", 3)]
    assert "NameError: name 'undefined_name' is not defined" in loaded.errors[1].message
    assert "direction must be 'higher', 'lower' or None" in loaded.errors[0].message
    assert [Path(f).name for f in loaded.files] == ["bad_decl.py", "brier.py", "broken.py"]
    assert not (folder / "__pycache__").exists()
    assert not [m for m in set(sys.modules) - modules if m.startswith("gatekit_metrics")]


def test_the_registry_is_copied_and_a_clash_with_a_name_or_alias_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write(folder, "a.py", """
        import gatekit

        @gatekit.metric(inputs="y_true", tasks="classification", description="Clash with an alias.")
        def auc(y_true):
            return 0.0

        @gatekit.metric("share", inputs="y_true", tasks="classification", description="A share.")
        def share(y_true):
            return float(y_true.mean())
        """)
    write(folder, "b.py", """
        import gatekit

        @gatekit.metric(inputs="y_true", tasks="classification", description="The same name again.")
        def share(y_true):
            return 0.0
        """)
    reg = default_registry()
    before = reg.names()
    new, errors = extend_registry(reg, load_folder(folder))
    assert reg.names() == before and reg.resolve("share") is None  # the given registry is left as it was
    assert new.resolve("share").spec.source.endswith("a.py:7")
    assert [(Path(e.file).name, e.line) for e in errors] == [("a.py", 3), ("b.py", 3)]
    assert "clashes with gatekit's metric 'roc_auc' ('auc' is one of its names)" in errors[0].message
    assert "clashes with the custom metric at" in errors[1].message and "a.py:7" in errors[1].message


# --- entry points: a real installed distribution -------------------------------------------------------------------


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An installed distribution ``gk-demo-metrics 1.2.3`` (a dist-info folder on sys.path) with two entry points of
    the group ``gatekit.metrics``: one naming a function, one naming a module, and one that fails to import."""
    site = tmp_path / "site"
    pkg = site / "gk_demo_metrics"
    write(pkg, "__init__.py", BRIER.replace("my_brier", "plugin_brier"))
    write(pkg, "more.py", """
        import numpy as np
        import gatekit

        @gatekit.metric(inputs=("y_true", "y_score"), tasks="classification", description="Mean score (test).")
        def mean_score(y_true, y_score, sample_weight=None):
            return float(np.average(y_score, weights=sample_weight))
        """)
    write(pkg, "broken.py", "import numpy\n\nraise ImportError('a dependency is missing')\n")
    info = site / "gk_demo_metrics-1.2.3.dist-info"
    write(info, "METADATA", "Metadata-Version: 2.1\nName: gk-demo-metrics\nVersion: 1.2.3\n")
    write(info, "entry_points.txt", "[gatekit.metrics]\nbrier = gk_demo_metrics:plugin_brier\n"
                                    "more = gk_demo_metrics.more\nbroken = gk_demo_metrics.broken:x\n")
    monkeypatch.syspath_prepend(str(site))
    yield site
    for name in [m for m in sys.modules if m.startswith("gk_demo_metrics")]:
        del sys.modules[name]


def test_entry_points_of_an_installed_distribution_load_by_name(plugin: Path) -> None:
    assert {"name": "brier", "value": "gk_demo_metrics:plugin_brier", "distribution": "gk-demo-metrics",
            "version": "1.2.3"} in installed_entry_points()
    loaded = load_entry_points(["brier", "more"])
    assert not loaded.errors
    assert [d.name for d, _ in loaded.declared] == ["plugin_brier", "mean_score"]
    assert loaded.declared[0][1].startswith("entry point brier = gk_demo_metrics:plugin_brier (gk-demo-metrics "
                                            "1.2.3), ")
    assert loaded.packages() == {"gk-demo-metrics": "1.2.3"}
    assert [e["file"] for e in loaded.entry_points] == [str(plugin / "gk_demo_metrics" / "__init__.py"),
                                                        str(plugin / "gk_demo_metrics" / "more.py")]


def test_an_entry_point_that_is_missing_or_fails_to_import_is_an_error_with_its_file(plugin: Path) -> None:
    loaded = load_entry_points(["brierr", "broken"])
    assert not loaded.declared
    assert "no installed entry point 'brierr' in the group 'gatekit.metrics' (installed: " in loaded.errors[0].message
    assert "brier, broken, more" in loaded.errors[0].message
    assert "failed to load: ImportError: a dependency is missing" in loaded.errors[1].message
    assert (Path(loaded.errors[1].file).name, loaded.errors[1].line) == ("broken.py", 3)


def test_a_policy_runs_an_entry_point_metric_and_its_package_counts_in_the_hash(plugin: Path) -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    s = np.clip(0.3 * y + rng.uniform(0, 0.7, 300), 0, 1)
    frame = pd.DataFrame({"y": y, "s": s})
    policy = {"version": 1, "custom_metrics": {"entry_points": ["brier"]},
              "metrics": [{"name": "plugin_brier", "op": "<=", "value": 0.3}]}
    report = gatekit.run(policy, data=frame, target="y", score="s")
    assert report.checks[0].observed == pytest.approx(np.mean((s - y) ** 2), rel=1e-12)
    parts = report.metadata["reproducibility"]["components"]
    assert parts["packages"] == {"gk-demo-metrics": "1.2.3"}
    assert parts["files"]["custom_metrics_entry_point_brier"] is not None
    assert report.metadata["custom_metrics"]["entry_points"][0]["distribution"] == "gk-demo-metrics"


# --- in rules: absolute, with confidence, relative to production, on every engine -----------------------------------


@pytest.fixture
def brier_dir(tmp_path: Path) -> Path:
    write(tmp_path / "metrics", "brier.py", BRIER)
    write(tmp_path / "metrics", "hit_rate.py", HIT_RATE)
    return tmp_path / "metrics"


@pytest.fixture
def scored(tmp_path: Path, hmda_clf) -> Path:
    y, s, _ = hmda_clf
    base = np.clip(s + np.random.default_rng(1).normal(0, 0.08, len(s)), 0, 1).round(3)
    path = tmp_path / "scored.csv"
    pd.DataFrame({"y": y, "s": s.round(3), "b": base}).to_csv(path, index=False)
    return path


def _interval(check) -> tuple[float, float]:
    iv = check.details["interval"]
    return iv["low"], iv["high"]


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_a_confidence_interval_equals_the_built_in_metric_s_when_defined_identically(brier_dir: Path, scored: Path,
                                                                                    engine: str) -> None:
    rules = [{"name": n, "op": "<=", "value": 0.2, "confidence": 0.95, "resamples": 500}
             for n in ("brier_score", "my_brier")]
    policy = {"version": 1, "custom_metrics": {"metrics_dir": str(brier_dir)}, "metrics": rules}
    builtin, custom = gatekit.run(policy, data=scored, target="y", score="s", engine=engine).checks
    frame = pd.read_csv(scored)
    assert custom.observed == pytest.approx(np.mean((frame.s - frame.y) ** 2), rel=1e-12)
    assert custom.observed == pytest.approx(builtin.observed, rel=1e-12)
    assert _interval(custom) == pytest.approx(_interval(builtin), rel=1e-12)
    assert custom.details["interval"]["resampling"] == builtin.details["interval"]["resampling"]
    assert custom.status == builtin.status


def test_a_rule_relative_to_production_computes_the_metric_on_both_models(brier_dir: Path, scored: Path) -> None:
    rules = [{"name": n, "max_increase": 0.01, **extra} for n in ("brier_score", "my_brier")
             for extra in ({}, {"confidence": 0.9, "resamples": 400})]
    policy = {"version": 1, "custom_metrics": {"metrics_dir": str(brier_dir)}, "metrics": rules}
    checks = gatekit.run(policy, data=scored, target="y", score="s", baseline_score="b").checks
    frame = pd.read_csv(scored)
    cand, base = np.mean((frame.s - frame.y) ** 2), np.mean((frame.b - frame.y) ** 2)
    for check in checks:
        comp = check.details["comparison"]
        assert (comp["candidate"], comp["baseline"]) == (pytest.approx(cand, rel=1e-12), pytest.approx(base, rel=1e-12))
        assert check.observed == pytest.approx(cand - base, rel=1e-9)
    assert checks[3].details["interval"]["paired"] is True
    assert _interval(checks[3]) == pytest.approx(_interval(checks[1]), rel=1e-12)
    assert [c.status for c in checks[2:]] == [c.status for c in checks[:2]]


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_the_engines_compute_what_pandas_does_or_refuse_a_metric_without_sample_weight(
        scored: Path, engine: str, request: pytest.FixtureRequest, brier_dir: Path) -> None:
    if engine == "spark":
        request.getfixturevalue("spark")
    rules = [{"name": "net_benefit", "params": {"threshold_probability": pt}, "op": ">", "value": -1}
             for pt in (0.1, 0.25)]
    rules += [{"name": "my_brier", "op": "<=", "value": 0.2}, {"name": "plain_hit_rate", "op": ">=", "value": 0.5}]
    folder = brier_dir  # a copy of the example beside the test metrics: nothing is written into the repository
    (folder / "net_benefit.py").write_text((EXAMPLE / "net_benefit.py").read_text(encoding="utf-8"), encoding="utf-8")
    policy = {"version": 1, "custom_metrics": {"metrics_dir": str(folder)}, "metrics": rules}
    runs = {e: gatekit.run(policy, data=scored, target="y", score="s", engine=e) for e in ("pandas", engine)}
    assert runs[engine].metadata["engine"]["name"] == engine
    frame = pd.read_csv(scored)
    y, s = frame.y.to_numpy(), frame.s.to_numpy()
    want = [net_benefit_by_hand(y, s, 0.1), net_benefit_by_hand(y, s, 0.25), np.mean((s - y) ** 2),
            np.mean(y == (s >= 0.5))]
    pandas_checks, engine_checks = runs["pandas"].checks, runs[engine].checks
    for check, value in zip(pandas_checks, want, strict=True):
        assert check.status.value == "pass" and check.observed == pytest.approx(value, rel=1e-12)
    assert [c.observed for c in engine_checks[:2]] == [c.observed for c in pandas_checks[:2]]  # counts: exact
    assert engine_checks[2].observed == pytest.approx(pandas_checks[2].observed, rel=1e-12)
    refused = engine_checks[3]
    assert refused.status.value == "not_computable" and refused.observed is None
    assert "takes no sample_weight parameter" in refused.message and "--engine pandas" in refused.message
    assert "hit_rate.py" in refused.message


def test_a_multiclass_run_hands_class_codes_and_the_probability_matrix(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write(folder, "top.py", """
        import numpy as np
        import gatekit

        @gatekit.metric(inputs=("y_true", "y_score"), tasks="multiclass", description="Mean probability of the "
                        "true class.")
        def true_class_probability(y_true, y_score, sample_weight=None):
            return float(np.average(y_score[np.arange(len(y_true)), y_true], weights=sample_weight))
        """)
    rng = np.random.default_rng(5)
    p = rng.dirichlet([2, 2, 2], 120)
    y = rng.integers(0, 3, 120)
    frame = pd.DataFrame({"y": np.array(["a", "b", "c"])[y], "p_a": p[:, 0], "p_b": p[:, 1], "p_c": p[:, 2]})
    policy = {"version": 1, "custom_metrics": {"metrics_dir": str(folder)},
              "metrics": [{"name": "true_class_probability", "op": ">=", "value": 0.1}]}
    check = gatekit.run(policy, data=frame, target="y", score="p_*", task="multiclass").checks[0]
    assert check.observed == pytest.approx(np.mean(p[np.arange(120), y]), rel=1e-12)
    assert math.isfinite(check.observed)
