"""Tests of :mod:`gatekit.metrics.multiclass`: every multiclass metric equals scikit-learn on the same rows (plain,
with counts as ``sample_weight``, and on a binary target), the per-class names resolve, and the bootstrap kernels
equal the metric on each resample.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
import sklearn.metrics as skm

from gatekit.core.errors import NotComputable
from gatekit.metrics import EvalData, default_registry
from gatekit.metrics.weighted import take, weighted_values, with_counts

REG = default_registry()
CLASSES = ["cat", "dog", "fraud", "owl"]
LARGEST_DIFF: dict[str, float] = {}


def _rows(n: int = 400, seed: int = 7, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """A 4-class target and a probability matrix that ranks it imperfectly (rounded: tied scores)."""
    rng = np.random.default_rng(seed)
    y = rng.choice(k, size=n, p=[0.4, 0.3, 0.2, 0.1][:k] / np.sum([0.4, 0.3, 0.2, 0.1][:k]))
    logits = rng.normal(size=(n, k)) + 1.3 * np.eye(k)[y]
    p = np.exp(logits)
    p = np.round(p / p.sum(axis=1, keepdims=True), 3)
    p[:, -1] = 1 - p[:, :-1].sum(axis=1)  # rows sum to 1 exactly after rounding
    return y, p


def _data(y: np.ndarray, p: np.ndarray, weights: np.ndarray | None = None) -> EvalData:
    return EvalData(y_true=y, y_score=p, task="multiclass", classes=CLASSES[: p.shape[1]], weights=weights)


def _sk_values(y: np.ndarray, p: np.ndarray, w: np.ndarray | None) -> dict[str, float]:
    """The reference values, from scikit-learn (one-vs-one by hand only for weights: sklearn's takes none)."""
    yp = p.argmax(axis=1)
    out = {
        "accuracy": skm.accuracy_score(y, yp, sample_weight=w),
        "balanced_accuracy": skm.balanced_accuracy_score(y, yp, sample_weight=w),
        "log_loss": skm.log_loss(y, p, labels=list(range(p.shape[1])), sample_weight=w),
        "roc_auc_ovr": skm.roc_auc_score(y, p, multi_class="ovr", average="macro", sample_weight=w),
        "roc_auc_ovr_weighted": skm.roc_auc_score(y, p, multi_class="ovr", average="weighted", sample_weight=w),
    }
    if w is None:
        out["roc_auc_ovo"] = skm.roc_auc_score(y, p, multi_class="ovo", average="macro")
        out["roc_auc_ovo_weighted"] = skm.roc_auc_score(y, p, multi_class="ovo", average="weighted")
    for avg in ("macro", "micro", "weighted"):
        out[f"precision_{avg}"] = skm.precision_score(y, yp, average=avg, sample_weight=w, zero_division=0)
        out[f"recall_{avg}"] = skm.recall_score(y, yp, average=avg, sample_weight=w, zero_division=0)
        out[f"f1_{avg}"] = skm.f1_score(y, yp, average=avg, sample_weight=w, zero_division=0)
    for c, name in enumerate(CLASSES[: p.shape[1]]):
        out[f"precision[class={name}]"] = skm.precision_score(y, yp, labels=[c], average=None, sample_weight=w)[0]
        out[f"recall[class={name}]"] = skm.recall_score(y, yp, labels=[c], average=None, sample_weight=w)[0]
        out[f"f1[class={name}]"] = skm.f1_score(y, yp, labels=[c], average=None, sample_weight=w)[0]
    return out


def _value(name: str, data: EvalData) -> float:
    res = REG.resolve(name)
    assert res is not None, name
    assert res.spec.fn is not None
    return res.spec.fn(data, **res.name_params).value


def _record(name: str, diff: float) -> None:
    base = name.split("[")[0] + ("[class]" if "[" in name else "")
    LARGEST_DIFF[base] = max(LARGEST_DIFF.get(base, 0.0), diff)


def test_every_metric_equals_scikit_learn_on_plain_rows() -> None:
    y, p = _rows()
    data = _data(y, p)
    for name, expected in _sk_values(y, p, None).items():
        got = _value(name, data)
        assert got == pytest.approx(expected, abs=1e-12), name
        _record(name, abs(got - expected))


def test_counts_as_sample_weight_equal_the_expanded_rows_and_scikit_learn() -> None:
    y, p = _rows(n=150, seed=11)
    w = np.random.default_rng(2).integers(1, 5, size=len(y))
    compact = _data(y, p, weights=w)
    expanded = _data(np.repeat(y, w), np.repeat(p, w, axis=0))
    ref = _sk_values(y, p, w)
    for name in _sk_values(y[:60], p[:60], None):  # every name, one-vs-one included
        got = _value(name, compact)
        assert got == pytest.approx(_value(name, expanded), abs=1e-12), name
        if name in ref:
            assert got == pytest.approx(ref[name], abs=1e-12), name
            _record(name, abs(got - ref[name]))
    # one-vs-one with counts, against scikit-learn on the expanded rows (it takes no sample_weight)
    for avg, name in (("macro", "roc_auc_ovo"), ("weighted", "roc_auc_ovo_weighted")):
        expected = skm.roc_auc_score(np.repeat(y, w), np.repeat(p, w, axis=0), multi_class="ovo", average=avg)
        assert _value(name, compact) == pytest.approx(expected, abs=1e-12)


def test_hand_and_till_by_hand_on_three_rows_per_class() -> None:
    # 3 classes, 2 rows each; the one-vs-one AUC by hand: pairs (0,1), (0,2), (1,2)
    y = np.array([0, 0, 1, 1, 2, 2])
    p = np.array([[.7, .2, .1], [.3, .4, .3], [.2, .6, .2], [.5, .3, .2], [.1, .1, .8], [.4, .2, .4]])
    data = _data(y, p)
    # pair (0,1): col 0 ranks class-0 rows {.7,.3} over class-1 rows {.2,.5}: 3 of 4 -> .75; col 1 ranks
    # class-1 {.6,.3} over class-0 {.2,.4}: 3 of 4 (.3 < .4, .6 > both, .3 > .2) -> .75; mean .75
    # pair (0,2): col 0 {.7,.3} vs {.1,.4}: .7>both, .3>.1 -> 3/4; col 2 {.8,.4} vs {.1,.3}: 4/4; mean .875
    # pair (1,2): col 1 {.6,.3} vs {.1,.2}: 4/4; col 2 {.8,.4} vs {.2,.2}: 4/4; mean 1
    assert _value("roc_auc_ovo", data) == pytest.approx((0.75 + 0.875 + 1.0) / 3)
    assert _value("roc_auc_ovo", data) == pytest.approx(skm.roc_auc_score(y, p, multi_class="ovo"))


def test_binary_target_gives_the_same_values_as_scikit_learn() -> None:
    rng = np.random.default_rng(5)
    y = (rng.random(200) < 0.3).astype(int)
    s = np.clip(0.3 + 0.3 * y + 0.25 * rng.standard_normal(200), 0, 1)
    data = EvalData(y_true=y, y_score=s, task="classification", positive_label="yes")
    yp = (s >= 0.5).astype(int)
    assert _value("balanced_accuracy", data) == pytest.approx(skm.balanced_accuracy_score(y, yp))
    for avg in ("macro", "micro", "weighted"):
        assert _value(f"f1_{avg}", data) == pytest.approx(skm.f1_score(y, yp, average=avg))
    assert _value("recall[class=yes]", data) == pytest.approx(skm.recall_score(y, yp))
    with pytest.raises(NotComputable, match="only the positive label"):
        _value("recall[class=no]", data)


def test_undefined_cases_are_not_computable_and_zero_division_is_recorded() -> None:
    y = np.array([0, 0, 1, 1, 2, 2])
    p = np.tile([0.6, 0.3, 0.1], (6, 1))  # always predicts class 0
    data = _data(y, p)
    with pytest.raises(NotComputable, match="never predicted"):
        _value("precision[class=dog]", data)
    v = REG.resolve("precision_macro").spec.fn(data)  # type: ignore[union-attr,misc]
    assert v.value == pytest.approx(skm.precision_score(y, p.argmax(1), average="macro", zero_division=0))
    assert v.details["never_predicted"] == ["dog", "fraud"]
    with pytest.raises(NotComputable, match=r"not a class of the target.*cat"):
        _value("recall[class=zebra]", data)
    one_missing = _data(np.array([0, 0, 1, 1]), p[:4])
    with pytest.raises(NotComputable, match="fraud"):
        _value("roc_auc_ovr", one_missing)  # class 'fraud' has no row: its one-vs-rest AUC is undefined
    assert _value("roc_auc_ovo", one_missing) == pytest.approx(0.5)  # one pair, all scores tied
    labels_only = EvalData(y_true=y, y_pred=np.array([0, 1, 1, 1, 2, 0]), task="multiclass", classes=CLASSES[:3])
    assert _value("accuracy", labels_only) == pytest.approx(4 / 6)
    with pytest.raises(NotComputable, match="class probabilities"):
        _value("roc_auc_ovr", labels_only)
    with pytest.raises(NotComputable, match="multiclass"):
        _value("roc_auc", data)  # the binary AUC says which names to use


def test_engine_loss_sums_give_log_loss_and_refuse_aucs() -> None:
    y, p = _rows(n=120, seed=3)
    eps = np.finfo(float).eps
    loss = -np.log(np.clip(p[np.arange(len(y)), y], eps, 1 - eps))
    yp = p.argmax(axis=1)
    cells = sorted(set(zip(y.tolist(), yp.tolist(), strict=True)))
    cy = np.array([a for a, _ in cells])
    cp = np.array([b for _, b in cells])
    counts = np.array([int(np.sum((y == a) & (yp == b))) for a, b in cells])
    sums = np.array([float(loss[(y == a) & (yp == b)].sum()) for a, b in cells])
    data = EvalData(y_true=cy, y_pred=cp, task="multiclass", classes=CLASSES, weights=counts, loss_sums=sums)
    assert _value("log_loss", data) == pytest.approx(skm.log_loss(y, p), abs=1e-12)
    assert _value("f1_macro", data) == pytest.approx(skm.f1_score(y, yp, average="macro"), abs=1e-12)
    with pytest.raises(NotComputable, match="confusion matrix"):
        _value("roc_auc_ovo", data)


def test_engine_cells_with_probability_rows_give_the_aucs_and_resample_them() -> None:
    """Cells (for the label metrics and log loss) plus the distinct probability rows (for the AUCs and the
    intervals of log loss and the AUCs), as an engine delivers them."""
    from gatekit.metrics.multiclass import resampling_rows

    y, p = _rows(n=200, seed=5)
    y, p = np.r_[y, y[:60]], np.r_[p, p[:60]]  # repeated rows: one compact row each
    eps = np.finfo(float).eps
    loss = -np.log(np.clip(p[np.arange(len(y)), y], eps, 1 - eps))
    yp = p.argmax(axis=1)
    cells = sorted(set(zip(y.tolist(), yp.tolist(), strict=True)))
    cy, cp = np.array([a for a, _ in cells]), np.array([b for _, b in cells])
    in_cell = [(y == a) & (yp == b) for a, b in cells]
    data = EvalData(y_true=cy, y_pred=cp, task="multiclass", classes=CLASSES, loss_sums=np.array(
        [loss[m].sum() for m in in_cell]), weights=np.array([int(m.sum()) for m in in_cell]))
    distinct, inverse = np.unique(np.column_stack([y, p]), axis=0, return_inverse=True)
    rows = EvalData(y_true=distinct[:, 0].astype(int), y_score=distinct[:, 1:], task="multiclass", classes=CLASSES,
                    weights=np.bincount(inverse.ravel()))
    assert len(distinct) <= 200 < len(y)
    with pytest.raises(NotComputable, match="probability rows are not kept"):
        weighted_values(REG.resolve("log_loss"), data, np.ones((2, len(cy))), {})  # type: ignore[arg-type]
    data.probability_rows = rows
    for name in ("roc_auc_ovr", "roc_auc_ovr_weighted"):
        assert _value(name, data) == pytest.approx(_sk_values(y, p, None)[name], abs=1e-12), name
    assert _value("roc_auc_ovo", data) == pytest.approx(skm.roc_auc_score(y, p, multi_class="ovo"), abs=1e-12)
    assert resampling_rows("log_loss", data) == (rows, None)
    assert resampling_rows("roc_auc_ovo", data)[0] is rows
    cells = resampling_rows("f1_macro", data)[0]  # the label metrics resample the cells: what they read of them
    assert (cells.y_true.tolist(), cells.y_pred.tolist(), cells.weights.tolist()) == (
        data.y_true.tolist(), data.y_pred.tolist(), data.weights.tolist())
    assert cells.y_score is None and cells.loss_sums is None and cells.probability_rows is None
    assert take(data, np.array([0, 1])).probability_rows is None  # a subset's rows are not the whole's
    paired = EvalData(y_true=cy, y_pred=cp, task="multiclass", classes=CLASSES, weights=data.weights)
    data.baseline = paired
    with pytest.raises(NotComputable, match="labels only"):
        resampling_rows("log_loss", data, paired, paired=True)
    W = np.random.default_rng(2).multinomial(rows.weights.sum(), rows.weights / rows.weights.sum(), size=5)
    got = weighted_values(REG.resolve("log_loss"), rows, W, {})  # type: ignore[arg-type]
    for r in range(5):
        assert got[r] == pytest.approx(skm.log_loss(rows.y_true, rows.y_score, sample_weight=W[r],
                                                    labels=[0, 1, 2, 3]), abs=1e-12)


def test_per_class_names_resolve_and_bad_forms_are_explained() -> None:
    res = REG.resolve("recall[class=fraud]")
    assert res is not None and res.canonical == "recall[class=fraud]" and res.name_params == {"class": "fraud"}
    assert REG.resolve("f1[class='a b']").name_params == {"class": "a b"}  # type: ignore[union-attr]
    assert REG.resolve("recall[class]") is None  # the placeholder is not a name
    assert "class=<label>" in (REG.explain("recall[cls=fraud]") or "")
    assert "no per-class form" in (REG.explain("roc_auc[class=fraud]") or "")
    assert "empty" in (REG.explain("recall[class=]") or "")
    assert REG.explain("recall_macro") is None


def test_kernels_equal_the_metric_on_each_resample() -> None:
    y, p = _rows(n=80, seed=13)
    data = _data(y, p)
    rng = np.random.default_rng(0)
    W = rng.multinomial(80, np.ones(80) / 80, size=6)
    names = ["accuracy", "balanced_accuracy", "log_loss", "roc_auc_ovr", "roc_auc_ovr_weighted", "roc_auc_ovo",
             "roc_auc_ovo_weighted", "recall[class=owl]", "precision[class=cat]", "f1[class=dog]",
             *(f"{m}_{a}" for m in ("precision", "recall", "f1") for a in ("macro", "micro", "weighted"))]
    for name in names:
        res = REG.resolve(name)
        assert res is not None
        got = weighted_values(res, data, W, dict(res.name_params))
        for r in range(W.shape[0]):
            rows = take(data, np.repeat(np.arange(80), W[r]))
            assert got[r] == pytest.approx(_value(name, rows), abs=1e-10), (name, r)
            assert got[r] == pytest.approx(_value(name, with_counts(data, W[r])), abs=1e-10), (name, r)


def test_pairs_in_details_name_the_classes() -> None:
    y, p = _rows(n=100, seed=1, k=3)
    v = REG.resolve("roc_auc_ovo").spec.fn(_data(y, p))  # type: ignore[union-attr,misc]
    assert set(v.details["pairs"]) == {f"{a} vs {b}" for a, b in combinations(CLASSES[:3], 2)}


def test_zz_report_largest_differences(capsys: pytest.CaptureFixture[str]) -> None:
    """Print the largest difference from scikit-learn per metric (for the closing note)."""
    with capsys.disabled():
        for name, diff in sorted(LARGEST_DIFF.items()):
            print(f"\n{name}: largest |gatekit - sklearn| = {diff:.3g}", end="")


def test_compared_labels_fix_the_averaged_class_set_on_the_value_and_every_resample() -> None:
    """Two models compared: both average over the target's classes and both models' predicted classes.

    Class 3 is never a target; only the baseline predicts it. The candidate's f1_macro, recall_macro and
    precision_macro, on the rows and on each resample (rows drawn with repeats), equal scikit-learn's with
    ``labels=[0, 1, 2, 3]``; without a comparison scikit-learn's default labels apply.
    """
    from gatekit.metrics.multiclass import compared_labels

    rng = np.random.default_rng(5)
    y = rng.choice(3, 300)
    cand = np.where(rng.random(300) < 0.7, y, (y + 1) % 3)
    base = np.where(rng.random(300) < 0.9, y, (y + 1) % 3)
    base[:5] = 3
    def labels_only(p: np.ndarray) -> EvalData:
        return EvalData(y_true=y, y_pred=p.astype(float), task="multiclass", classes=CLASSES[:4])
    c, b = labels_only(cand), labels_only(base)
    labels = compared_labels(c, b)
    assert labels is not None and labels.tolist() == [0, 1, 2, 3]
    c.compare_labels, b_fixed = labels, labels_only(base)
    b_fixed.compare_labels = labels
    W = rng.multinomial(300, np.full(300, 1 / 300), size=20)
    for name, fn in (("f1_macro", skm.f1_score), ("recall_macro", skm.recall_score),
                     ("precision_macro", skm.precision_score)):
        res = REG.resolve(name)
        assert _value(name, c) == pytest.approx(fn(y, cand, labels=[0, 1, 2, 3], average="macro", zero_division=0))
        assert _value(name, b_fixed) == pytest.approx(fn(y, base, labels=[0, 1, 2, 3], average="macro",
                                                         zero_division=0))
        assert _value(name, labels_only(cand)) == pytest.approx(fn(y, cand, average="macro", zero_division=0))
        got = weighted_values(res, c, W, {})  # type: ignore[arg-type]
        want = [fn(np.repeat(y, w), np.repeat(cand, w), labels=[0, 1, 2, 3], average="macro", zero_division=0)
                for w in W]
        assert got == pytest.approx(want, abs=1e-12), name
    assert REG.resolve("f1_macro").spec.fn(c).details["labels"] == CLASSES[:4]  # type: ignore[union-attr]
