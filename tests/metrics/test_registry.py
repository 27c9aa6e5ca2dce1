"""Tests of :mod:`gatekit.metrics.registry`: policy names, aliases and parameters of metrics."""

from __future__ import annotations

import numpy as np
import pytest

from gatekit.core.errors import NotComputable
from gatekit.metrics import MetricValue, default_registry
from tests.metrics.helpers import TIE_S, TIE_Y, clf_data

# --------------------------------------------------------------------------------------------------
# 3. Registry
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "canonical"), [
    ("roc_auc", "roc_auc"),
    ("auc_roc", "roc_auc"),
    ("auc", "roc_auc"),
    ("average_precision", "pr_auc"),
    ("brier", "brier_score"),
    ("r2_score", "r2"),
    ("fairness_demographic_parity_diff", "demographic_parity_difference"),
    ("fairness_equal_opportunity_diff", "equal_opportunity_difference"),
    ("fairness_equalized_odds_diff", "equalized_odds_difference"),
])
def test_resolve_aliases(name, canonical):
    res = default_registry().resolve(name)
    assert res is not None
    assert res.spec.name == canonical
    assert res.canonical == canonical
    assert res.name_params == {}


@pytest.mark.parametrize(("name", "spec", "threshold", "canonical"), [
    ("precision_at_0_5", "precision_at_T", 0.5, "precision_at_0_5"),
    ("precision_at_0_50", "precision_at_T", 0.5, "precision_at_0_5"),
    ("recall_at_0_35", "recall_at_T", 0.35, "recall_at_0_35"),
    ("f1_at_0_3", "f1_at_T", 0.3, "f1_at_0_3"),
    ("f1_at_1_0", "f1_at_T", 1.0, "f1_at_1_0"),
    ("recall_at_0_0", "recall_at_T", 0.0, "recall_at_0_0"),
])
def test_resolve_parametric(name, spec, threshold, canonical):
    res = default_registry().resolve(name)
    assert res is not None
    assert res.spec.name == spec
    assert res.name_params == {"threshold": threshold}
    assert res.canonical == canonical


@pytest.mark.parametrize("name", ["precision_at_0_5", "recall_at_0_35", "f1_at_0_05", "precision_at_0_0001",
                                  "recall_at_0_00001"])
def test_canonical_name_round_trips(name):
    res = default_registry().resolve(name)
    again = default_registry().resolve(res.canonical)
    assert again is not None, f"{name} -> canonical {res.canonical!r} does not resolve"
    assert again.name_params == res.name_params


@pytest.mark.parametrize("name", ["nope", "", "precision_at_1_5", "accuracy_at_0_5", "precision_at_0.5",
                                  "precision_at_5", "roc_auc_at_0_5", "precision_at_-0_5"])
def test_resolve_unknown_is_none(name):
    assert default_registry().resolve(name) is None


def test_suggest():
    r = default_registry()
    assert r.suggest("auc_rco") in {"auc_roc", "roc_auc"}
    assert r.suggest("precison_at_0_5") == "precision_at_0_5"
    assert r.resolve(r.suggest("precison_at_0_5")) is not None
    assert r.suggest("fairness_demographic_parity_dif") == "fairness_demographic_parity_diff"
    assert r.suggest("zzzzzz") is None


def test_register_duplicate_name_rejected():
    r = default_registry()
    spec = r.resolve("roc_auc").spec
    with pytest.raises(ValueError, match="already registered"):
        r.register(spec)


def test_default_registry_is_fresh_each_time():
    a, b = default_registry(), default_registry()
    spec = a.resolve("mae").spec
    from gatekit.metrics import MetricSpec

    a.register(MetricSpec("my_metric", "performance", "x", "test", spec.fn))
    assert a.resolve("my_metric") is not None
    assert b.resolve("my_metric") is None


def test_threshold_param_validator():
    validate = default_registry().resolve("precision_at_0_5").spec.params["threshold"]
    assert validate(0.3) == pytest.approx(0.3)
    for bad in (1.5, -0.1, "0.3", True):  # strict: YAML `yes` is a boolean, "0.3" a string
        with pytest.raises(ValueError):
            validate(bad)


def test_every_accepted_name_is_evaluable_from_its_name_alone():
    """A name ``resolve`` accepts must evaluate with only its name's parameters (value or NotComputable).

    Otherwise a policy that passed validation fails at run time with a TypeError.
    """
    r = default_registry()
    data = clf_data(TIE_Y, TIE_S, sensitive={"g": list("aabbab")})
    for name in r.names():
        res = r.resolve(name)
        if name.endswith("_at_T") or name.endswith("[class]"):
            assert res is None  # a placeholder: policies write precision_at_0_5, recall[class=fraud]
            res = r.resolve(name.replace("_at_T", "_at_0_5").replace("[class]", "[class=1]"))
        assert res is not None
        if res.spec.fn is None:
            continue
        try:
            mv = res.spec.fn(data, **res.name_params)
        except NotComputable:
            continue
        assert isinstance(mv, MetricValue), name
        assert np.isfinite(mv.value), name


# --------------------------------------------------------------------------------------------------
# Row counts of compact rows (EvalData.weights)
# --------------------------------------------------------------------------------------------------


def test_row_count_counts_each_row_its_weight_times() -> None:
    from gatekit.metrics.registry import row_count, row_weights

    plain = clf_data([1, 0, 1], [0.9, 0.2, 0.4])
    assert row_weights(plain) is None and row_count(plain) == 3 and row_count(plain, plain.y_true == 1) == 2
    compact = clf_data([1, 0, 1], [0.9, 0.2, 0.4], weights=np.array([4, 1, 2]))
    assert row_count(compact) == 7 and row_count(compact, compact.y_true == 1) == 6
    assert row_weights(clf_data([1, 0], [0.1, 0.2], weights=np.array([2.0, 3.0]))).tolist() == [2, 3]


@pytest.mark.parametrize(("weights", "match"), [
    (np.array([1.5, 1.0, 2.0]), "whole numbers"),
    (np.array([1.0, np.nan, 2.0]), "whole numbers"),
    (np.array([1, -1, 2]), "negative"),
    (np.array([1, 2]), "one count per row"),
])
def test_weights_that_are_not_counts_make_every_metric_not_computable(weights, match) -> None:
    data = clf_data([1, 0, 1], [0.9, 0.2, 0.4], weights=weights)
    for name in ("roc_auc", "accuracy", "precision_at_0_5", "log_loss"):
        res = default_registry().resolve(name)
        with pytest.raises(NotComputable, match=match):
            res.spec.fn(data, **res.name_params)
