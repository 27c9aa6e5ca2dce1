"""Tests of :mod:`gatekit.data.sensitive`: a continuous sensitive column is refused unless the policy bins it.

Expected groups and rates are computed here with numpy / pandas (``pandas.cut`` for the bins) and fairlearn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fairlearn import metrics as flm

import gatekit
from gatekit.core.errors import InputError, PolicyError
from gatekit.data.sensitive import MAX_NUMERIC_GROUPS, bin_labels, check_bins, sensitive_frame

EDGES = [0, 25, 40, 65, float("inf")]


def _frame(n: int = 3000, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 90, n).astype(float) + rng.random(n).round(1)
    s = np.clip(rng.random(n) + (age < 40) * 0.15, 0, 1)
    y = (rng.random(n) < s).astype(int)
    g = rng.choice(["f", "m"], n)
    h = rng.choice(["x", "y", "z"], n)
    h[(g == "f") & (h == "z")] = "x"  # no row is f & z: an empty intersection
    return pd.DataFrame({"y": y, "s": s, "age": age, "g": g, "h": h})


def _policy(tmp_path: Path, data: Path, bins: str | None, rules: str) -> Path:
    p = tmp_path / "p.yaml"
    inputs = f"{{data: {data.name}, target: y, score: s, sensitive: [age]" + (
        f", sensitive_bins: {bins}}}" if bins else "}")
    p.write_text(f"version: 1\ninputs: {inputs}\nmetrics:\n{rules}")
    return p


def test_bin_labels_are_left_closed() -> None:
    assert bin_labels([0, 25, 40.5, float("inf")]) == ["[0, 25)", "[25, 40.5)", "[40.5, inf)"]


@pytest.mark.parametrize("bad", [[1], [0, 0], [3, 2, 1], ["a", 2], [0, float("nan")], "quantiles", [True, 2]])
def test_bad_bins_are_refused(bad: Any) -> None:
    with pytest.raises(ValueError):
        check_bins(bad)


def test_continuous_column_is_refused_naming_it_and_how_to_bin() -> None:
    f = _frame(200)
    with pytest.raises(InputError) as exc:
        sensitive_frame(f, ["age"], {}, "d.csv")
    msg = str(exc.value)
    assert "'age'" in msg and "distinct values" in msg and "inputs.sensitive_bins" in msg and "d.csv" in msg


def test_numeric_codes_up_to_the_limit_are_groups_and_categories_keeps_more() -> None:
    f = pd.DataFrame({"code": np.arange(200) % MAX_NUMERIC_GROUPS, "many": np.arange(200) % 50,
                      "flag": np.arange(200) % 2 == 0})
    out = sensitive_frame(f, ["code", "flag"], {}, None)  # 20 distinct codes and a boolean: groups as they are
    assert out["code"].nunique() == MAX_NUMERIC_GROUPS and set(out["flag"]) == {"True", "False"}
    with pytest.raises(InputError, match="50 distinct values"):
        sensitive_frame(f, ["many"], {}, None)
    assert sensitive_frame(f, ["many"], {"many": "categories"}, None)["many"].nunique() == 50


def test_bins_give_the_groups_pandas_cut_gives() -> None:
    f = _frame(500)
    f.loc[[3, 7], "age"] = np.nan
    out = sensitive_frame(f, ["age"], {"age": check_bins(EDGES)}, None)
    expected = pd.cut(f["age"], EDGES, right=False, labels=bin_labels(EDGES)).astype(object)
    assert out["age"].isna().sum() == 2  # missing stays missing (strict mode refuses it, else "(missing)")
    assert (out["age"].dropna() == expected.dropna().astype(str)).all()


def test_values_outside_the_bins_are_refused() -> None:
    f = _frame(100)
    with pytest.raises(InputError, match="outside its bins \\[20, 65\\)"):
        sensitive_frame(f, ["age"], {"age": [20.0, 40.0, 65.0]}, None)


def test_bins_on_text_or_on_a_column_that_is_not_sensitive_are_refused() -> None:
    f = _frame(100)
    with pytest.raises(InputError, match="not numbers"):
        sensitive_frame(f, ["g"], {"g": [0.0, 1.0]}, None)
    with pytest.raises(InputError, match="not sensitive columns"):
        sensitive_frame(f, ["g"], {"age": [0.0, 1.0]}, None)


def test_policy_refuses_bad_bins_at_load(tmp_path: Path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text("version: 1\ninputs: {sensitive: [age], sensitive_bins: {age: [40, 25]}}\nmetrics:\n"
                 "  - {name: disparate_impact_ratio, op: '>=', value: 0.8}\n")
    with pytest.raises(PolicyError, match="increase strictly"):
        gatekit.run(p, data=tmp_path / "none.csv")


DIR = "  - {name: disparate_impact_ratio, op: '>=', value: 0.8}\n"
DPD_GH = ("  - {name: demographic_parity_difference, op: '<=', value: 0.2, "
          "params: {sensitive: [g, h], min_group_size: 30}}\n")


def _expected(f: pd.DataFrame) -> tuple[float, float]:
    """The disparate impact ratio over the age bins and the DPD over g x h (f & z is empty), by fairlearn."""
    yp = (f["s"] >= 0.5).astype(int)
    bins = pd.cut(f["age"], EDGES, right=False).astype(str)
    return (flm.demographic_parity_ratio(f["y"], yp, sensitive_features=bins),
            flm.demographic_parity_difference(f["y"], yp, sensitive_features=f[["g", "h"]]))


def test_run_with_continuous_column_refused_and_binned_computed(tmp_path: Path) -> None:
    f = _frame()
    f.to_parquet(tmp_path / "d.parquet")
    with pytest.raises(InputError, match="sensitive column 'age' is numeric"):
        gatekit.run(_policy(tmp_path, tmp_path / "d.parquet", None, DIR))
    r = gatekit.run(_policy(tmp_path, tmp_path / "d.parquet", "{age: [0, 25, 40, 65, .inf]}", DIR + DPD_GH))
    dir_ref, dpd_ref = _expected(f)
    assert abs(r.checks[0].observed - dir_ref) <= 1e-12
    assert list(r.checks[0].details["by_group"]) == bin_labels(EDGES)
    assert abs(r.checks[1].observed - dpd_ref) <= 1e-12
    assert r.checks[1].details["by_group"]["g=f, h=z"]["count"] == 0  # the empty intersection is listed
    assert r.checks[1].details["groups_not_counted"] == ["g=f, h=z"]


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_engines_bin_and_refuse_as_pandas(tmp_path: Path, engine: str, request: pytest.FixtureRequest) -> None:
    if engine == "spark":
        request.getfixturevalue("spark")
    f = _frame()
    f.to_parquet(tmp_path / "d.parquet")
    with pytest.raises(InputError, match="sensitive column 'age' is numeric"):
        gatekit.run(_policy(tmp_path, tmp_path / "d.parquet", None, DIR), engine=engine)
    pol = _policy(tmp_path, tmp_path / "d.parquet", "{age: [0, 25, 40, 65, .inf]}", DIR + DPD_GH)
    on_engine, on_pandas = gatekit.run(pol, engine=engine), gatekit.run(pol, engine="pandas")
    for a, b in zip(on_engine.checks, on_pandas.checks, strict=True):
        assert a.observed == pytest.approx(b.observed, abs=1e-12)
        assert a.details["by_group"] == b.details["by_group"]
