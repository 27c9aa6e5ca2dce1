"""Tests of :mod:`gatekit.policy.draft`: profiling reference rows and drafting a policy that validates.

Expected ranges, sets and null limits are computed here from the rows with pandas and the formulas the module
states (width margin, outward rounding at three significant digits of the width, never below 0 where no negative
value was seen; null share x (1 + margin) rounded up to two significant digits).
"""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from gatekit.core.errors import InputError
from gatekit.core.results import CheckResult, GateReport, OnFail, Status
from gatekit.policy import load_policy
from gatekit.policy.draft import (
    DraftSettings,
    Entry,
    Flow,
    Item,
    Measured,
    document,
    draft_policy,
    metric_candidates,
    metric_limit,
    null_limit,
    probe_policy,
    profile_frame,
    read_probe,
    render,
    round_significant,
    target_facts,
    widened_range,
)
from tests.helpers import REPO

HMDA = REPO / "data" / "hmda" / "hmda.csv"


def _hmda() -> pd.DataFrame:
    return pd.read_csv(HMDA)


def _settings(**kw: object) -> DraftSettings:
    base: dict[str, object] = {"name": "t", "data": "rows.csv", "data_label": "rows.csv"}
    base.update(kw)
    return DraftSettings(**base)  # type: ignore[arg-type]


def _expected_range(lo: float, hi: float, margin: float, integer: bool) -> tuple[float, float]:
    """The stated rule, computed independently with Decimal: widen by margin x width, floor/ceil at the step."""
    width = hi - lo
    exp = math.floor(math.log10(width)) - 2
    if integer:
        exp = max(exp, 0)
    step = Decimal(10) ** exp
    new_lo = max(lo - margin * width, 0.0) if lo >= 0 else lo - margin * width
    new_hi = hi + margin * width
    return (float((Decimal(repr(new_lo)) / step).to_integral_value("ROUND_FLOOR") * step),
            float((Decimal(repr(new_hi)) / step).to_integral_value("ROUND_CEILING") * step))


def test_hmda_profile_matches_pandas() -> None:
    df = _hmda()
    profiles = {p.name: p for p in profile_frame(df, target="deny", sensitive=["afam"])}
    assert list(profiles) == list(df.columns)
    assert profiles["deny"].role == "target" and profiles["afam"].role == "sensitive"
    for col in ("pirat", "hirat", "lvrat", "unemp"):
        assert profiles[col].logical == "float"
        assert (profiles[col].minimum, profiles[col].maximum) == (df[col].min(), df[col].max())
    for col in ("chist", "mhist"):
        assert profiles[col].logical == "integer"
    for col in ("deny", "phist", "selfemp", "insurance", "condomin", "afam", "single", "hschool"):
        assert profiles[col].logical == "string"
        assert list(profiles[col].values or ()) == sorted(df[col].dropna().unique())
    assert all(p.nulls == int(df[p.name].isna().sum()) for p in profiles.values())


@pytest.mark.parametrize("margin", [0.0, 0.1, 0.25])
def test_drafted_ranges_sets_and_nulls_follow_the_stated_rules(margin: float) -> None:
    df = _hmda()
    draft = draft_policy(profile_frame(df, target="deny", sensitive=["afam"]),
                         _settings(target="deny", task="classification", positive_label="yes", sensitive=("afam",),
                                   margin=margin))
    cols = draft.document["data_quality"]["columns"]
    for col in ("pirat", "hirat", "lvrat", "unemp", "chist", "mhist"):
        integer = col in ("chist", "mhist")
        lo, hi = _expected_range(float(df[col].min()), float(df[col].max()), margin, integer)
        assert (cols[col]["min"], cols[col]["max"]) == pytest.approx((lo, hi), abs=1e-12), col
        assert cols[col]["min"] <= df[col].min() and cols[col]["max"] >= df[col].max()
        assert cols[col]["type"] == ("integer" if integer else "float")
        assert cols[col]["max_null_fraction"] == 0
    for col in ("deny", "phist", "afam"):
        assert cols[col]["allowed"] == sorted(df[col].unique().tolist())
    # hand-computed: pirat spans 0 .. 3 -> [0 - 0.3 clamped to 0, 3 + 0.3] at margin 0.1
    if margin == 0.1:
        assert (cols["pirat"]["min"], cols["pirat"]["max"]) == (0, 3.3)
        assert (cols["chist"]["min"], cols["chist"]["max"]) == (0, 7)  # 1 - 0.5 -> 0, 6 + 0.5 -> 7
    assert yaml.safe_load(draft.text) == draft.document


def test_null_limits_and_a_column_with_gaps() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=100)
    x[:7] = np.nan
    codes = pd.Series(rng.integers(1, 50, size=100), dtype=float)
    codes[:3] = np.nan  # an integer column with gaps, as read from CSV
    df = pd.DataFrame({"x": x, "code": codes, "full": np.arange(100.0) / 3})
    cols = draft_policy(profile_frame(df), _settings()).document["data_quality"]["columns"]
    assert cols["x"]["max_null_fraction"] == 0.077  # 7 / 100 x 1.1
    assert cols["code"]["max_null_fraction"] == 0.033  # 3 / 100 x 1.1
    assert cols["code"]["type"] == "integer"
    assert cols["full"]["max_null_fraction"] == 0
    lo, hi = _expected_range(float(np.nanmin(x)), float(np.nanmax(x)), 0.1, False)
    assert (cols["x"]["min"], cols["x"]["max"]) == pytest.approx((lo, hi))
    assert cols["x"]["min"] < np.nanmin(x)  # a negative range is widened below its minimum
    assert null_limit(0.0, 0.1) == 0 and null_limit(0.95, 0.1) == 1.0


def test_identifiers_free_text_and_personal_data_are_never_written() -> None:
    rng = np.random.default_rng(1)
    n = 60
    emails = [f"person{i}@example.com" for i in range(5)]
    df = pd.DataFrame({
        "request_id": [f"REQ-{i:05d}" for i in range(n)],           # unique: an identifier
        "email": [emails[i % 5] for i in range(n)],                  # five values, but personal data
        "note": [f"free text number {i % 40}" for i in range(n)],   # 40 values in 60 rows: mostly unique
        "remark": [("a long remark that goes on and on " * 3) + str(i % 3) for i in range(n)],  # free text
        "card_no": [4111111111111111 + 0 * i for i in range(n)],     # a (test) card number, Luhn-valid
        "colour": rng.choice(["red", "green", "blue"], size=n),
        "jane.doe@example.com": rng.normal(size=n),                   # a header that is personal data
    })
    draft = draft_policy(profile_frame(df, max_categories=40), _settings())
    cols = draft.document["data_quality"]["columns"]
    assert cols["request_id"] == {"type": "string", "unique": True, "max_null_fraction": 0}
    assert not any("allowed" in cols[c] for c in ("email", "note", "remark"))
    assert "min" not in cols["card_no"] and "max" not in cols["card_no"]
    assert cols["colour"]["allowed"] == ["blue", "green", "red"]
    assert "jane.doe" not in draft.text and "person0" not in draft.text and "REQ-0" not in draft.text
    assert "4111" not in draft.text and "free text number" not in draft.text and "on and on" not in draft.text
    line = next(ln for ln in draft.text.splitlines() if ln.strip().startswith("email:"))
    assert "personal data found (email in 60 rows)" in line


def test_yaml_round_trip_of_awkward_names_and_values() -> None:
    entries = [Entry("version", 1, before=["a header", "#", "words " * 60]),
               Entry("columns", [Entry(name, Flow({"allowed": ["yes", "no", "1.0", "null", "a: b", "é"],
                                                   "min": 0.00001, "max": 1e6}), comment="c\nd")
                                 for name in ("yes", "a: b", "#hash", "Größe", "1")]),
               Entry("rules", [Item({"op": ">=", "value": 0.77}, comment="now 0.8"),
                               Item({"op": "<=", "value": 1}, commented=True)]),
               Entry("off", Flow({"k": 1}), commented=True)]
    text = "\n".join(render(entries)) + "\n"
    doc = yaml.safe_load(text)
    assert doc == document(entries)
    assert doc["columns"]["a: b"]["allowed"] == ["yes", "no", "1.0", "null", "a: b", "é"]
    assert doc["columns"]["yes"]["min"] == 0.00001 and doc["rules"] == [{"op": ">=", "value": 0.77}]
    assert "off" not in doc and "# 'off': {k: 1}" in text  # quoted: YAML 1.1 reads a bare off as false
    assert all(len(line) <= 120 for line in text.splitlines())


def test_rounding_helpers() -> None:
    assert round_significant(0.7731, down=True) == 0.77
    assert round_significant(0.0945, down=False) == 0.095
    assert round_significant(-0.0123, down=True) == -0.013
    assert metric_limit(0.8138, True, 0.05) == 0.77       # 0.8138 x 0.95 = 0.7731 -> 0.77
    assert metric_limit(0.07715, False, 0.05) == 0.082    # 0.07715 x 1.05 = 0.0810 -> 0.082
    assert metric_limit(-0.2, True, 0.05) == -0.21        # a negative R²: the limit lies below it
    assert metric_limit(0.999, True, 0.0, (0, 1)) == 0.99
    assert widened_range(5.0, 5.0, 0.1, False) == (4.5, 5.5)   # a constant: margin x |value|
    assert widened_range(0.0, 1.0, 0.1, True) == (0, 2)       # integers: whole limits, never below 0


def test_target_facts() -> None:
    df = _hmda()
    assert target_facts(df, "deny", None, None, "f.csv") == ("classification", "yes")
    assert target_facts(df, "pirat", None, None, "f.csv") == ("regression", None)
    binary = pd.DataFrame({"y": [0, 1, 1, 0]})
    assert target_facts(binary, "y", None, None, "f.csv") == ("classification", 1)
    with pytest.raises(InputError, match="not a value of target 'deny'"):
        target_facts(df, "deny", None, "maybe", "f.csv")
    with pytest.raises(InputError, match="not numeric"):
        target_facts(df, "deny", "regression", None, "f.csv")
    three = pd.DataFrame({"y": ["a", "b", "c", "a"]})
    assert target_facts(three, "y", None, None, "f.csv") == ("multiclass", None)
    assert target_facts(three, "y", "classification", None, "f.csv") == ("multiclass", None)
    with pytest.raises(InputError, match="3 classes"):
        target_facts(three, "y", None, "a", "f.csv")  # a positive label is binary only


def test_metric_candidates_by_task() -> None:
    cls = _settings(target="y", task="classification", model="m.skops", sensitive=("g", "h"))
    names = [n for n, _ in metric_candidates(cls)]
    assert names[:5] == ["auc_roc", "pr_auc", "precision_at_0_5", "recall_at_0_5", "brier_score"]
    assert [p for _, p in metric_candidates(cls)][5:] == [{"sensitive": "g"}] * 3 + [{"sensitive": "h"}] * 3
    labels = _settings(target="y", task="classification", prediction="p")
    assert [n for n, _ in metric_candidates(labels)] == ["accuracy", "precision_at_0_5", "recall_at_0_5", "f1_at_0_5"]
    reg = _settings(target="y", task="regression", prediction="p", sensitive=("g",))
    assert [n for n, _ in metric_candidates(reg)] == ["rmse", "mae", "r2", "mape", "smape"]
    assert metric_candidates(_settings(target="y", task="classification")) == []
    mc = _settings(target="y", task="multiclass", score="score_*", sensitive=("g",))
    assert metric_candidates(mc) == [("accuracy", {}), ("balanced_accuracy", {}), ("roc_auc_ovr", {}),
                                     ("f1_macro", {})]  # no fairness rule: binary only
    mcl = _settings(target="y", task="multiclass", prediction="p")
    assert [n for n, _ in metric_candidates(mcl)] == ["accuracy", "balanced_accuracy", "f1_macro"]
    assert probe_policy(profile_frame(_hmda()), _settings(target="deny", task="classification")) is None


def test_metric_rules_from_measured_values_and_uncomputable_ones_commented() -> None:
    settings = _settings(target="y", task="regression", prediction="f")
    measured = Measured(metrics={0: (0.3076, "ok"), 1: (0.2157, "ok"), 2: (0.7863, "ok"),
                                 3: (None, "the target has 4 zero values; MAPE is undefined"), 4: (4.867, "ok")},
                        rows=100)
    df = pd.DataFrame({"y": np.linspace(0, 3, 100), "f": np.linspace(0, 3, 100)})
    draft = draft_policy(profile_frame(df, target="y", prediction="f"), settings, measured)
    rules = draft.document["metrics"]
    assert [(r["name"], r["op"], r["value"]) for r in rules] == [
        ("rmse", "<=", 0.33), ("mae", "<=", 0.23), ("r2", ">=", 0.74), ("smape", "<=", 5.2)]
    assert all(r["on_fail"] == "warn" for r in rules)
    assert "# - {name: mape" in draft.text and "MAPE is undefined" in draft.text
    assert any("mape" in n for n in draft.notes)
    assert "# now 0.3076" in draft.text


def test_fairness_limit_is_the_usual_one_unless_the_model_is_above_it() -> None:
    settings = _settings(target="y", task="classification", score="s", sensitive=("g",))
    measured = Measured(metrics={i: (0.5, "ok") for i in range(5)} | {5: (0.04, "ok"), 6: (0.14, "ok"),
                                                                       7: (None, "group 'b' has no positives")})
    df = pd.DataFrame({"y": [0, 1] * 20, "s": np.linspace(0, 1, 40), "g": ["a", "b"] * 20})
    draft = draft_policy(profile_frame(df, target="y", score="s", sensitive=["g"]), settings, measured)
    fair = [r for r in draft.document["metrics"] if r["name"].startswith("fairness")]
    assert [(r["name"], r["value"], r["params"]) for r in fair] == [
        ("fairness_demographic_parity_diff", 0.1, {"sensitive": "g"}),
        ("fairness_equal_opportunity_diff", 0.15, {"sensitive": "g"})]  # 0.14 x 1.05 = 0.147 -> 0.15
    assert "ABOVE the usual 0.1" in draft.text


def test_read_probe_collects_values_by_rule() -> None:
    checks = [
        CheckResult(name="auc_roc", section="performance", status=Status.PASS, on_fail=OnFail.WARN, observed=0.81,
                    details={"rule": "metrics[0]"}),
        CheckResult(name="mape", section="performance", status=Status.NOT_COMPUTABLE, on_fail=OnFail.WARN,
                    message="zero actuals", details={"rule": "metrics[1]"}),
        CheckResult(name="x.psi", section="drift", status=Status.FAIL, on_fail=OnFail.WARN, observed=0.3),
        CheckResult(name="x.leakage", section="drift", status=Status.PASS, on_fail=OnFail.WARN, observed=0.6),
        CheckResult(name="feature_signature", section="compatibility", status=Status.PASS, on_fail=OnFail.WARN,
                    details={"candidate": {"x": None, "k": "string"}}),
        CheckResult(name="model_format", section="compatibility", status=Status.FAIL, on_fail=OnFail.WARN,
                    details={"detected": "skops"}),
    ]
    report = GateReport(decision="warn", reason="", checks=checks, metadata={"inputs": {"data": {"rows": 12}}})
    m = read_probe(report)
    assert m.metrics == {0: (0.81, ""), 1: (None, "zero actuals")}
    assert (m.psi, m.leakage, m.rows) == ({"x": 0.3}, {"x": 0.6}, 12)
    assert (m.model_features, m.model_types, m.model_format) == (["x", "k"], {"x": None, "k": "string"}, "skops")


def test_drafts_validate_with_the_project_loader(tmp_path: Path) -> None:
    df = _hmda()
    profiles = profile_frame(df, target="deny", sensitive=["afam"])
    measured = Measured(metrics={i: (0.5, "ok") for i in range(8)}, psi={"pirat": 0.01},
                        model_features=["pirat", "chist", "phist"], model_types={}, model_format="skops")
    variants = [
        _settings(target="deny", task="classification", positive_label="yes", sensitive=("afam",)),
        _settings(target="deny", task="classification", positive_label="yes", sensitive=("afam",), model="m.skops",
                  current="cur.csv", current_label="cur.csv"),
        _settings(),
    ]
    for i, s in enumerate(variants):
        draft = draft_policy(profiles, s, measured if s.model else None)
        path = tmp_path / f"p{i}.yaml"
        path.write_text(draft.text, encoding="utf-8")
        lp = load_policy(path)
        assert lp.policy.mode == "warn_only"
        assert lp.policy.data_quality is not None and lp.policy.data_quality.on_fail == OnFail.WARN
        assert all(r.on_fail == OnFail.WARN for r in lp.policy.metrics)
        assert yaml.safe_load(draft.text) == draft.document
    lp = load_policy(tmp_path / "p1.yaml")
    assert lp.policy.drift is not None and lp.policy.drift.features == ["pirat", "chist", "phist"]
    assert lp.policy.drift.categorical_features == ["chist"]
    assert lp.policy.compatibility is not None and lp.policy.compatibility.model_format is not None
    fs = lp.policy.compatibility.feature_signature
    assert fs is not None and fs.expected == {"pirat": "float", "chist": "integer", "phist": "string"}
    assert load_policy(tmp_path / "p0.yaml").policy.drift is None  # no current rows: drift is commented out


def test_a_draft_of_typed_columns_runs_and_passes_on_its_rows(tmp_path: Path) -> None:
    import gatekit

    n = 200
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"ts": pd.date_range("2024-01-01", periods=n, freq="h"),
                       "tsz": pd.date_range("2024-01-01", periods=n, freq="h", tz="Europe/Berlin"),
                       "flag": rng.random(n) > 0.5, "cat": pd.Categorical(rng.choice(["a", "b"], n)),
                       "empty": pd.Series([None] * n, dtype=float), "const": [3.0] * n,
                       "big": rng.normal(1e9, 1e8, n), "tiny": rng.normal(0, 1e-6, n)})
    df.to_parquet(tmp_path / "rows.parquet")
    draft = draft_policy(profile_frame(df), _settings(data="rows.parquet", data_label="rows.parquet"))
    cols = draft.document["data_quality"]["columns"]
    assert cols["ts"] == {"type": "datetime", "timezone": "naive", "max_null_fraction": 0}
    assert cols["tsz"]["timezone"] == "Europe/Berlin" and cols["flag"]["type"] == "boolean"
    assert cols["cat"] == {"type": "string", "allowed": ["a", "b"], "max_null_fraction": 0}
    assert cols["empty"] == {"max_null_fraction": 1}  # every value null: no type can be told
    assert (cols["const"]["min"], cols["const"]["max"]) == (2.7, 3.3)  # a constant: 3 -/+ 0.1 x 3
    lo, hi = _expected_range(float(df["tiny"].min()), float(df["tiny"].max()), 0.1, False)
    assert (cols["tiny"]["min"], cols["tiny"]["max"]) == pytest.approx((lo, hi), rel=1e-12)
    path = tmp_path / "gatekit.yaml"
    path.write_text(draft.text, encoding="utf-8")
    report = gatekit.run(path)
    assert report.decision.value == "pass", [(c.name, c.message) for c in report.checks if c.status.value != "pass"]


def test_reasons_quoting_data_values_are_never_copied_into_the_draft() -> None:
    settings = _settings(target="y", task="classification", score="s", sensitive=("g",))
    reason = "group(s) bob@corp.com, 'x@y.org' have no positive labels; the rate is undefined there"
    measured = Measured(metrics={i: (0.5, "ok") for i in range(6)} | {6: (None, reason),
                                                                       7: (None, "class 'ann@corp.com' is missing")})
    df = pd.DataFrame({"y": [0, 1] * 20, "s": np.linspace(0, 1, 40), "g": ["a", "b"] * 20})
    draft = draft_policy(profile_frame(df, target="y", score="s", sensitive=["g"]), settings, measured)
    shown = draft.text + "\n".join(draft.notes)
    assert "corp.com" not in shown and "x@y.org" not in shown
    assert "some group(s) have no positive labels" in draft.text  # the kind of reason stays


def test_a_limit_at_the_metrics_bound_is_written_commented(tmp_path: Path) -> None:
    # sMAPE (range [0, 200]) measured at 195: 195 x 1.05 = 204.75, capped at the bound 200, a rule no value fails
    settings = _settings(target="y", task="regression", prediction="f")
    measured = Measured(metrics={0: (1.0, "ok"), 1: (1.0, "ok"), 2: (0.5, "ok"), 3: (10.0, "ok"), 4: (195.0, "ok")})
    df = pd.DataFrame({"y": np.linspace(1, 3, 50), "f": np.linspace(1, 3, 50)})
    draft = draft_policy(profile_frame(df, target="y", prediction="f"), settings, measured)
    assert [r["name"] for r in draft.document["metrics"]] == ["rmse", "mae", "r2", "mape"]
    line = next(ln for ln in draft.text.splitlines() if "name: smape" in ln)
    assert line.lstrip().startswith("# - {name: smape") and "can never fail" in line
    assert any("smape" in n and "bound 200" in n for n in draft.notes)
    # every rule not computable: the whole block is commented out, and the draft still validates
    none = Measured(metrics={i: (None, "1 of 50 forecast values are missing or not finite") for i in range(5)})
    draft = draft_policy(profile_frame(df, target="y", prediction="f"), settings, none)
    assert "metrics" not in draft.document and "\n# metrics:" in draft.text
    (tmp_path / "p.yaml").write_text(draft.text, encoding="utf-8")
    assert load_policy(tmp_path / "p.yaml").policy.metrics == []


def test_text_that_reads_as_a_number_and_line_breaks_are_quoted(tmp_path: Path) -> None:
    from gatekit.core.yaml_limits import PolicyYamlLoader

    values = ["1e3", "0x10", "010", "1_000", ".5", "-.inf", "+12", "1:30", "a\nb", "tab\there", "x\u2028y", "ok"]
    entries = [Entry("columns", [Entry("new\nline: col", Flow({"allowed": values}))])]
    text = "\n".join(render(entries)) + "\n"
    for loader in (yaml.SafeLoader, PolicyYamlLoader):
        doc = yaml.load(text, Loader=loader)
        assert doc == {"columns": {"new\nline: col": {"allowed": values}}}, loader
    assert len(text.splitlines()) == 3  # no literal line break: `columns:`, the key, its (long) flow value


def test_ranges_near_the_largest_float_are_left_out() -> None:
    with pytest.raises(ValueError, match="overflows"):
        widened_range(-1e308, 1e308, 0.1, False)
    with pytest.raises(ValueError, match="overflows"):
        widened_range(0.0, 1.7e308, 0.1, False)  # 1.7e308 + 0.17e308 > 1.797e308
    df = pd.DataFrame({"a": [1e308, -1e308, 0.0], "b": [1.0, 2.0, 3.0]})
    draft = draft_policy(profile_frame(df), _settings())
    cols = draft.document["data_quality"]["columns"]
    assert cols["a"] == {"type": "float", "max_null_fraction": 0}
    assert (cols["b"]["min"], cols["b"]["max"]) == (0.8, 3.2)  # 1 .. 3 widened by 0.1 x 2


def test_only_0_and_1_make_a_flag() -> None:
    df = pd.DataFrame({"f": [0, 1] * 10, "two": [3, 7] * 10, "one": [1] * 20})
    by = {p.name: p for p in profile_frame(df)}
    assert by["f"].values == (0, 1) and "flag" in by["f"].note
    assert by["two"].values is None and (by["two"].minimum, by["two"].maximum) == (3.0, 7.0)
    assert "flag" not in by["two"].note
    assert by["one"].values == (1,)


def test_max_categories_bounds_the_allowed_set() -> None:
    df = pd.DataFrame({"c": list("abcde") * 10})
    assert profile_frame(df, max_categories=5)[0].values == tuple("abcde")
    few = profile_frame(df, max_categories=4)[0]
    assert few.values is None and "more than 4" in few.note


def test_per_column_rules_are_capped_below_the_loaders_size_limit(tmp_path: Path) -> None:
    from gatekit.policy.draft import MAX_DRAFT_COLUMNS

    n = MAX_DRAFT_COLUMNS + 200
    df = pd.DataFrame(np.arange(3 * n, dtype=float).reshape(3, n), columns=[f"c{i}" for i in range(n)])
    df["y"] = [0, 1, 0]
    draft = draft_policy(profile_frame(df, target="y"), _settings(target="y", task="classification",
                                                                   positive_label=1))
    cols = draft.document["data_quality"]["columns"]
    assert len(cols) == MAX_DRAFT_COLUMNS and "y" in cols and f"c{MAX_DRAFT_COLUMNS - 2}" in cols
    assert "201 more columns have no rule" in draft.text  # 1,201 features, 999 kept beside the target
    (tmp_path / "p.yaml").write_text(draft.text, encoding="utf-8")
    assert load_policy(tmp_path / "p.yaml").policy.data_quality is not None
