"""Multiclass classification metrics (scikit-learn), scored from a probability matrix or predicted labels.

Conventions pinned here (recorded in each value's ``details``):

- A multiclass run (``EvalData.task == "multiclass"``) holds the target as class codes ``0..k-1`` into
  ``EvalData.classes`` (the class order), the scores as a probability matrix of shape (n, k) whose column ``j``
  is the probability of ``classes[j]``, or predicted labels as codes.
- The predicted class of a row is the column of its largest probability (``argmax``; a tie goes to the first
  class in ``classes`` order, as ``numpy.argmax`` and scikit-learn's ``predict`` of a probabilistic classifier).
- The averaged label metrics (``precision_macro``, ``recall_weighted``, ...) follow scikit-learn's
  ``precision_recall_fscore_support`` over the labels present in the target or the predictions, with
  ``zero_division=0``: a class never predicted counts as precision 0 (and one absent from the target as recall
  0); the classes concerned are listed in ``details``. Zero is the value a gate cannot pass with, so the
  convention never flatters a model. When two models are compared (a baseline-relative rule on the same rows, a
  canary's arms), both average over one class set instead: the target's classes and both models' predicted
  classes (:func:`compared_labels`, ``details["labels"]``), on the point value and every resample, so a class
  only one model predicts is a zero term for both. The per-class rules (``recall[class=fraud]``) are instead
  not computable when their class's value is 0 / 0, as the binary ``precision_at_T`` is.
- The same metrics also run on a binary target (classes: the positive label's complement, then the positive
  label, or 0 and 1 when no positive label is recorded; the predicted class from ``score >=
  decision_threshold``), so ``balanced_accuracy`` and ``f1_macro`` mean the same on a 2-class problem as in
  scikit-learn; a per-class rule there names the positive label.
- Compact rows (``EvalData.weights``) are passed as ``sample_weight``. Rows an engine aggregated to the
  confusion matrix carry no probability matrix: log loss then comes from ``EvalData.loss_sums`` (the per-row
  losses summed where the rows are), and the ROC AUCs from ``EvalData.probability_rows`` (the distinct (true
  class, probability vector) rows with their counts: the same rank statistics).
- Confidence intervals: the stratified bootstrap of counted rows (each counted row drawn as the rows it stands
  for, class sizes fixed; :func:`gatekit.stats.intervals.counted_weight_batches`), on the rows an engine holds
  for the metric (:func:`resampling_rows`): the confusion cells for the label metrics, the probability rows
  for log loss and the AUCs. pandas' rows are viewed and gathered the same way
  (:func:`gatekit.metrics.weighted.counted_rows`), so pandas, DuckDB and Spark give the same interval, to the
  digit, for the same seed; each interval records its scheme in ``details["resampling"]``.

Sources: scikit-learn ``accuracy_score``, ``balanced_accuracy_score`` (Brodersen et al. 2010),
``precision_recall_fscore_support``, ``log_loss``, ``roc_auc_score`` with ``multi_class="ovr"`` (Provost &
Domingos 2000) and ``multi_class="ovo"`` (Hand & Till 2001).
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np

from gatekit.core.errors import NotComputable
from gatekit.core.labels import norm_label
from gatekit.metrics.registry import EvalData, MetricSpec, MetricValue, check_finite, row_count, row_weights

PROBA_SUM_TOL = 1e-3
"""Largest ``|sum of a row's probabilities - 1|`` accepted (rounded CSV figures); never renormalised."""

AVERAGES = ("macro", "micro", "weighted")
AUC_AVERAGES = ("macro", "weighted")

ENGINE_ROWS_NOTE = ("the engine aggregated the rows to the confusion matrix (target x predicted class), which "
                    "has no per-row probabilities")

PROBABILITY_METRICS = ("log_loss", "roc_auc_ovr", "roc_auc_ovr_weighted", "roc_auc_ovo", "roc_auc_ovo_weighted")
"""Multiclass metrics read from the probability matrix: on an engine's confusion cells, their intervals
resample ``EvalData.probability_rows`` (:func:`resampling_rows`)."""


def is_multiclass(data: EvalData) -> bool:
    """Return True when ``data`` holds a multiclass target (codes into ``data.classes``)."""
    return data.task == "multiclass"


def class_names(data: EvalData) -> list[Any]:
    """Return the class labels in code order: ``data.classes`` (multiclass), else ``[not <positive>, <positive>]``."""
    if is_multiclass(data):
        return list(data.classes or [])
    pos = data.positive_label
    return [0, 1] if pos is None else [f"not {pos}", pos]


def class_target(data: EvalData) -> np.ndarray:
    """Return the target as class codes, shape (n_rows,).

    Raises
    ------
    NotComputable
        No target, a regression run, or no rows.
    """
    if data.y_true is None:
        raise NotComputable("no target column: give --target (or inputs.target) with the evaluation data")
    if data.task == "regression":
        raise NotComputable("needs a class target; the target is numeric with many values (regression); if its "
                            "values are class codes, set task: multiclass (--task multiclass)")
    if len(data.y_true) == 0 or row_count(data) == 0:
        raise NotComputable("the evaluation data has no rows")
    return np.asarray(data.y_true).astype(np.int64)


def proba_matrix(data: EvalData, metric: str) -> np.ndarray:
    """Return the probability matrix, shape (n_rows, n_classes), columns in :func:`class_names` order.

    Raises
    ------
    NotComputable
        Only labels were given (or the engine aggregated the rows to counts), or a probability is missing.
    """
    s = data.y_score
    if s is None:
        if data.loss_sums is not None or data.probability_rows is not None:
            raise NotComputable(f"{metric} needs each row's class probabilities; {ENGINE_ROWS_NOTE}: compute it "
                                "with --engine pandas (inputs.engine: pandas)")
        raise NotComputable(f"{metric} needs class probabilities (score columns or a model's predict_proba); only "
                            "labels were given")
    s = np.asarray(s, dtype=float)
    if s.ndim == 1:  # binary: the positive class's probability
        s = np.column_stack([1.0 - s, s])
    w = row_weights(data)
    bad = ~np.isfinite(s).all(axis=1)
    n_bad = int(bad.sum()) if w is None else int(w[bad].sum())
    if n_bad:
        raise NotComputable(f"{n_bad} rows have a missing or non-finite probability", {"n_missing_score": n_bad})
    if s.min() < 0 or s.max() > 1:
        raise NotComputable(f"{metric} needs probabilities in [0, 1]; they range {s.min():.4g} to {s.max():.4g}")
    return s


def predicted_classes(data: EvalData) -> tuple[np.ndarray, dict[str, Any]]:
    """Predicted class codes, shape (n_rows,), and the rule that produced them.

    Raises
    ------
    NotComputable
        No score and no prediction, or a missing value.
    """
    if data.y_score is not None:
        if is_multiclass(data):
            return np.argmax(proba_matrix(data, "the predicted class"), axis=1), {
                "rule": "argmax of the class probabilities (ties: first class in order)"}
        from gatekit.metrics.classification import predicted_labels

        yp, rule = predicted_labels(data, None)
        return yp.astype(np.int64), rule
    if data.y_pred is not None:
        p = np.asarray(data.y_pred, dtype=float)
        w = row_weights(data)
        bad = ~np.isfinite(p)
        if bad.any():
            n_bad = int(bad.sum()) if w is None else int(w[bad].sum())
            raise NotComputable(f"{n_bad} predicted labels are missing", {"n_missing_prediction": n_bad})
        return p.astype(np.int64), {"rule": "prediction column used as is"}
    raise NotComputable("needs class probabilities, a prediction column or a model")


def _labels_present(y: np.ndarray, yp: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    keep = np.ones(len(y), dtype=bool) if w is None else w > 0
    return np.union1d(y[keep], yp[keep])


COMPARED_METRICS = tuple(f"{w}_{a}" for w in ("precision", "recall", "f1") for a in AVERAGES)
"""Metrics whose label set depends on the model's predictions: a comparison fixes it (:func:`compared_labels`).
``balanced_accuracy`` averages over the target's classes only, so it needs no such fix."""


def compared_labels(cand: EvalData, base: EvalData) -> np.ndarray | None:
    """Return the class codes two compared models' averaged metrics average over.

    The union of both sides' target classes and both models' predicted classes (rows of count 0 left out), so
    that both averages have the same terms: a class only one model predicts counts as a zero term for both.

    Parameters
    ----------
    cand, base : EvalData
        The candidate's and the baseline's multiclass rows (the same rows, or a canary's two arms).

    Returns
    -------
    ndarray of int or None
        Sorted class codes; None when either side has no target or no predicted classes (the metric then says
        why it is not computable).
    """
    parts = []
    for d in (cand, base):
        try:
            parts.append(_labels_present(class_target(d), predicted_classes(d)[0], row_weights(d)))
        except NotComputable:
            return None
    return np.union1d(*parts).astype(np.int64)


def _names(data: EvalData, codes: Any) -> list[str]:
    names = class_names(data)
    return [str(names[int(c)]) if 0 <= int(c) < len(names) else str(int(c)) for c in codes]


def accuracy(data: EvalData) -> MetricValue:
    """Share of rows whose predicted class is the true class. Source: ``sklearn.metrics.accuracy_score``."""
    from sklearn.metrics import accuracy_score

    y = class_target(data)
    yp, rule = predicted_classes(data)
    v = float(accuracy_score(y, yp, sample_weight=row_weights(data)))
    return MetricValue(v, {"n": row_count(data), "classes": len(class_names(data)), **rule})


def balanced_accuracy(data: EvalData) -> MetricValue:
    """Mean over the target's classes of each class's recall (Brodersen et al. 2010).

    Source: ``sklearn.metrics.balanced_accuracy_score`` (``adjusted=False``); classes only predicted, never
    true, do not enter the mean.
    """
    from sklearn.metrics import balanced_accuracy_score

    y = class_target(data)
    yp, rule = predicted_classes(data)
    w = row_weights(data)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "y_pred contains classes not in y_true": documented above
        v = check_finite(balanced_accuracy_score(y, yp, sample_weight=w), "balanced_accuracy")
    return MetricValue(v, {"n": row_count(data), **rule, "definition": "mean recall over the target's classes"})


def _averaged(data: EvalData, which: str, average: str) -> MetricValue:
    from sklearn.metrics import precision_recall_fscore_support

    y = class_target(data)
    yp, rule = predicted_classes(data)
    w = row_weights(data)
    fixed = data.compare_labels is not None
    labels = np.asarray(data.compare_labels) if fixed else _labels_present(y, yp, w)
    p, r, f, support = precision_recall_fscore_support(y, yp, labels=labels, average=None, sample_weight=w,
                                                       zero_division=0)
    pp, rr, ff, _ = precision_recall_fscore_support(y, yp, labels=labels, average=average, sample_weight=w,
                                                    zero_division=0)
    value = {"precision": pp, "recall": rr, "f1": ff}[which]
    per_class = {"precision": p, "recall": r, "f1": f}[which]
    pred_counts = np.array([row_count(data, yp == c) for c in labels])
    names = _names(data, labels)
    details: dict[str, Any] = {
        "n": row_count(data), "average": average, **rule,
        "per_class": dict(zip(names, [float(x) for x in per_class], strict=True)),
        "support": dict(zip(names, [round(float(s)) for s in support], strict=True)),
        "definition": f"sklearn precision_recall_fscore_support(average={average!r}, zero_division=0)",
        "labels": names,
        "label_set": ("the target's classes and both compared models' predicted classes" if fixed else
                      "the classes in the target or this model's predictions (scikit-learn's default)"),
    }
    never_predicted = [n for n, c in zip(names, pred_counts, strict=True) if c == 0]
    never_true = [n for n, s in zip(names, support, strict=True) if s == 0]
    if never_predicted and which != "recall":
        details["never_predicted"] = never_predicted
    if never_true and which != "precision":
        details["not_in_target"] = never_true
    return MetricValue(check_finite(value, f"{which}_{average}"), details)


def log_loss(data: EvalData) -> MetricValue:
    """Mean negative log-likelihood of the true class (natural log), probabilities clipped to [eps, 1 - eps].

    ``-mean(log clip(p[i, y_i]))``, as ``sklearn.metrics.log_loss`` computes it (which does not renormalise
    rows either; gatekit refuses rows whose probabilities do not sum to 1 when it loads them). On rows an
    engine aggregated (``loss_sums``), the per-row losses were summed where the rows are: the same sum.
    """
    y = class_target(data)
    w = row_weights(data)
    eps = np.finfo(float).eps
    n = row_count(data)
    if data.y_score is None and data.loss_sums is not None:
        total = float(np.sum(np.asarray(data.loss_sums, dtype=float)))
        return MetricValue(check_finite(total / n, "log_loss"), {
            "n": n, "definition": "natural log, probabilities clipped to [eps, 1-eps]",
            "computed": "per-row losses summed on the engine"})
    s = proba_matrix(data, "log_loss")
    p = np.clip(s[np.arange(len(y)), y], eps, 1 - eps)
    loss = -np.log(p)
    v = float(np.sum(loss) / len(y)) if w is None else float(np.sum(loss * w) / w.sum())
    return MetricValue(check_finite(v, "log_loss"), {"n": n, "classes": s.shape[1],
                                                     "definition": "natural log, probabilities clipped to "
                                                                   "[eps, 1-eps]"})


def _binary_auc(y: np.ndarray, s: np.ndarray, w: np.ndarray | None) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s, sample_weight=w))


def _column(data: EvalData, j: int, metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Return probability column ``j``'s scores, the true class codes and the counts.

    From the rows (plain or compact), or the engine's distinct probability rows with their counts
    (``EvalData.probability_rows``).
    """
    rows = data.probability_rows if data.y_score is None and data.probability_rows is not None else data
    return proba_matrix(rows, metric)[:, j], class_target(rows), row_weights(rows)


def _n_columns(data: EvalData, metric: str) -> int:
    rows = data.probability_rows if data.y_score is None and data.probability_rows is not None else data
    return int(proba_matrix(rows, metric).shape[1])


def ovr_auc(data: EvalData, average: str = "macro") -> MetricValue:
    """One-vs-rest ROC AUC: each class's AUC against all others, averaged.

    ``macro`` averages the classes equally, ``weighted`` by the class's share of the rows.

    Source: ``sklearn.metrics.roc_auc_score(multi_class="ovr")`` (Provost & Domingos 2000). Not computable when
    a class of the probability matrix has no rows in the target (its one-vs-rest AUC is undefined). On an
    engine's rows, each class's AUC comes from the distinct (probability, true class) counts of its column: the
    same rank statistic (the counts of its distinct (true class, probability vector) rows).
    """
    metric = f"roc_auc_ovr{'_weighted' if average == 'weighted' else ''}"
    y = class_target(data)
    k = _n_columns(data, metric)
    counts = np.array([row_count(data, y == c) for c in range(k)], dtype=float)
    n = float(counts.sum())
    missing = [str(class_names(data)[c]) for c in range(k) if counts[c] == 0 or counts[c] == n]
    if missing:
        raise NotComputable(f"one-vs-rest ROC AUC needs rows of every class and of the others; class(es) {missing} "
                            "have none (or are every row)", {"n": int(n)})
    aucs = []
    for c in range(k):
        s, yy, w = _column(data, c, metric)
        aucs.append(_binary_auc((yy == c).astype(int), s, w))
    v = float(np.average(aucs, weights=counts if average == "weighted" else None))
    return MetricValue(check_finite(v, metric), {
        "n": int(n), "average": average, "per_class": dict(zip(_names(data, range(k)), map(float, aucs), strict=True)),
        "definition": f"sklearn roc_auc_score(multi_class='ovr', average={average!r})"})


def ovo_auc(data: EvalData, average: str = "macro") -> MetricValue:
    """One-vs-one ROC AUC (Hand & Till 2001), averaged over the pairs of classes present in the target.

    A pair's value is the mean of its two AUCs (each class's column scoring it against the other, on the pair's
    rows); ``weighted`` weights each pair by its share of the rows.

    Source: ``sklearn.metrics.roc_auc_score(multi_class="ovo")``, computed pair by pair here because
    scikit-learn's one-vs-one takes no ``sample_weight`` (compact rows carry counts); equal to it on plain rows.
    """
    metric = f"roc_auc_ovo{'_weighted' if average == 'weighted' else ''}"
    y = class_target(data)
    k = _n_columns(data, metric)
    size = np.array([row_count(data, y == c) for c in range(k)], dtype=float)
    present = [c for c in range(k) if size[c] > 0]
    if len(present) < 2:
        raise NotComputable("one-vs-one ROC AUC needs at least two classes in the target", {"n": row_count(data)})
    cols = {c: _column(data, c, metric) for c in present}

    def auc(a: int, b: int) -> float:  # column a scoring class a against class b, on their rows
        s, yy, w = cols[a]
        mask = (yy == a) | (yy == b)
        return _binary_auc((yy[mask] == a).astype(int), s[mask], None if w is None else w[mask])

    scores, prevalence, pairs = [], [], {}
    for a, b in combinations(present, 2):
        both = (auc(a, b) + auc(b, a)) / 2
        scores.append(both)
        prevalence.append((size[a] + size[b]) / size.sum())
        names = _names(data, (a, b))
        pairs[f"{names[0]} vs {names[1]}"] = both
    v = float(np.average(scores, weights=prevalence if average == "weighted" else None))
    return MetricValue(check_finite(v, metric), {
        "n": row_count(data), "average": average, "pairs": pairs,
        "definition": f"Hand & Till (2001) one-vs-one, as sklearn roc_auc_score(multi_class='ovo', "
                      f"average={average!r})"})


def class_code(data: EvalData, label: Any) -> int:
    """Return the code of class ``label`` (compared in :func:`gatekit.core.labels.norm_label` form).

    Raises
    ------
    NotComputable
        ``label`` is not one of the run's classes (the message lists them).
    """
    names = class_names(data) if is_multiclass(data) else [class_names(data)[1]]
    want = norm_label(label)
    hits = [i for i, c in enumerate(names) if norm_label(c) == want]
    if not hits:
        hint = "" if is_multiclass(data) else (" (on a binary target only the positive label has a per-class rule; "
                                               "use recall_at_0_5 and the like)")
        raise NotComputable(f"class {label!r} is not a class of the target; the classes are "
                            f"{[str(c) for c in names]}{hint}", {"classes": [str(c) for c in names]})
    return hits[0] if is_multiclass(data) else 1


def _class_counts(data: EvalData, label: Any) -> tuple[int, int, int, dict[str, Any]]:
    y = class_target(data)
    c = class_code(data, label)
    yp, rule = predicted_classes(data)
    tp = row_count(data, (yp == c) & (y == c))
    fp = row_count(data, (yp == c) & (y != c))
    fn = row_count(data, (yp != c) & (y == c))
    return tp, fp, fn, {"class": str(label), **rule, "tp": tp, "fp": fp, "fn": fn, "n": row_count(data)}


def class_precision(data: EvalData, **params: Any) -> MetricValue:
    """Precision of one class ``TP / (TP + FP)``, the class against all others.

    Not computable when the class is never predicted (TP + FP = 0). Equal to
    ``sklearn.metrics.precision_score(y, y_pred, labels=[c], average=None)``.
    """
    tp, fp, _fn, d = _class_counts(data, params["class"])
    if tp + fp == 0:
        raise NotComputable(f"class {params['class']!r} is never predicted (TP + FP = 0): its precision is undefined",
                            d)
    return MetricValue(tp / (tp + fp), d)


def class_recall(data: EvalData, **params: Any) -> MetricValue:
    """Recall of one class ``TP / (TP + FN)``: of its rows, the share predicted as it.

    Not computable when the target has no row of the class (TP + FN = 0).
    """
    tp, _fp, fn, d = _class_counts(data, params["class"])
    if tp + fn == 0:
        raise NotComputable(f"the target has no row of class {params['class']!r} (TP + FN = 0): its recall is "
                            "undefined", d)
    return MetricValue(tp / (tp + fn), d)


def class_f1(data: EvalData, **params: Any) -> MetricValue:
    """F1 of one class ``2 TP / (2 TP + FP + FN)``; not computable when its precision or recall is undefined."""
    tp, fp, fn, d = _class_counts(data, params["class"])
    if tp + fp == 0:
        raise NotComputable(f"class {params['class']!r} is never predicted: its precision (and F1) is undefined", d)
    if tp + fn == 0:
        raise NotComputable(f"the target has no row of class {params['class']!r}: its recall (and F1) is "
                            "undefined", d)
    return MetricValue(2 * tp / (2 * tp + fp + fn), d)


def class_param(v: Any) -> str:
    """Validate a per-class rule's class label: a non-empty scalar (kept as text).

    Raises
    ------
    ValueError
        Empty, or not a scalar.
    """
    if isinstance(v, (list, dict, tuple, set)) or v is None:
        raise ValueError("class must be one class label, e.g. recall[class=fraud]")
    t = str(v).strip()
    if not t:
        raise ValueError("class must not be empty: write recall[class=<label>]")
    return t


def for_multiclass(binary: Any, multi: Any) -> Any:
    """Return a metric function computing ``multi`` on a multiclass target and ``binary`` otherwise.

    The catalog registers ``accuracy`` and ``log_loss`` this way: one name, the definition that fits the target.
    """
    import functools

    @functools.wraps(binary)
    def fn(data: EvalData, **params: Any) -> MetricValue:
        return multi(data, **params) if is_multiclass(data) else binary(data, **params)

    return fn


def _averaged_fn(which: str, average: str) -> Any:
    def fn(data: EvalData) -> MetricValue:
        return _averaged(data, which, average)

    fn.__name__ = f"{which}_{average}"
    fn.__doc__ = (f"{which.capitalize()} averaged over classes ({average}); sklearn "
                  f"precision_recall_fscore_support(average={average!r}, zero_division=0).")
    return fn


def _auc_fn(kind: str, average: str) -> Any:
    def fn(data: EvalData) -> MetricValue:
        return ovr_auc(data, average) if kind == "ovr" else ovo_auc(data, average)

    fn.__name__ = f"roc_auc_{kind}_{average}"
    fn.__doc__ = f"ROC AUC {kind} ({average})."
    return fn


_AVG_TEXT = {"macro": "unweighted mean over classes", "micro": "from the pooled counts (= accuracy for one label "
             "per row)", "weighted": "mean over classes weighted by their rows"}
_WHAT = {"precision": "Precision TP/(TP+FP)", "recall": "Recall TP/(TP+FN)", "f1": "F1 2TP/(2TP+FP+FN)"}

SPECS = (
    MetricSpec("balanced_accuracy", "performance", "fraction",
               "Mean recall over the target's classes (sklearn balanced_accuracy_score); binary or multiclass.",
               balanced_accuracy, higher_is_better=True, bounds=(0, 1)),
    *(MetricSpec(f"{which}_{avg}", "performance", "fraction",
                 f"{_WHAT[which]} per class, {_AVG_TEXT[avg]} (sklearn average={avg!r}, zero_division=0); "
                 "predicted class = argmax of the probabilities.",
                 _averaged_fn(which, avg), higher_is_better=True, bounds=(0, 1))
      for which in ("precision", "recall", "f1") for avg in AVERAGES),
    MetricSpec("roc_auc_ovr", "performance", "fraction",
               "One-vs-rest ROC AUC, macro average (sklearn roc_auc_score multi_class='ovr').",
               _auc_fn("ovr", "macro"), higher_is_better=True, bounds=(0, 1)),
    MetricSpec("roc_auc_ovr_weighted", "performance", "fraction",
               "One-vs-rest ROC AUC, weighted by class rows (sklearn multi_class='ovr', average='weighted').",
               _auc_fn("ovr", "weighted"), higher_is_better=True, bounds=(0, 1)),
    MetricSpec("roc_auc_ovo", "performance", "fraction",
               "One-vs-one ROC AUC, macro average (Hand & Till 2001; sklearn multi_class='ovo').",
               _auc_fn("ovo", "macro"), higher_is_better=True, bounds=(0, 1)),
    MetricSpec("roc_auc_ovo_weighted", "performance", "fraction",
               "One-vs-one ROC AUC weighted by pair prevalence (sklearn multi_class='ovo', average='weighted').",
               _auc_fn("ovo", "weighted"), higher_is_better=True, bounds=(0, 1)),
    MetricSpec("precision[class]", "performance", "fraction",
               "Precision of one class TP/(TP+FP), the class against the others: precision[class=<label>].",
               class_precision, params={"class": class_param}, higher_is_better=True, bounds=(0, 1)),
    MetricSpec("recall[class]", "performance", "fraction",
               "Recall of one class TP/(TP+FN): recall[class=<label>].",
               class_recall, params={"class": class_param}, higher_is_better=True, bounds=(0, 1)),
    MetricSpec("f1[class]", "performance", "fraction",
               "F1 of one class 2TP/(2TP+FP+FN): f1[class=<label>].",
               class_f1, params={"class": class_param}, higher_is_better=True, bounds=(0, 1)),
)
"""Multiclass metric specs; ``accuracy`` and ``log_loss`` (in :mod:`gatekit.metrics.classification`) dispatch
here for a multiclass target."""

PER_CLASS = ("precision", "recall", "f1")
"""Metrics with a ``[class=<label>]`` form."""


LABEL_METRICS = ("accuracy", "balanced_accuracy",
                 *(f"{w}_{a}" for w in ("precision", "recall", "f1") for a in AVERAGES),
                 "precision[class]", "recall[class]", "f1[class]")
"""Multiclass metrics read from the target and the predicted classes only: their intervals resample the rows as
confusion cells (:func:`resampling_rows`)."""


def _probability_view(data: EvalData) -> EvalData:
    """Return ``data`` as an engine's probability rows hold it: target codes, probability matrix and counts."""
    return EvalData(task="multiclass", decision_threshold=data.decision_threshold, strict=data.strict,
                    classes=data.classes, y_true=data.y_true, y_score=data.y_score, weights=data.weights)


def _cell_view(data: EvalData, predicted: np.ndarray) -> EvalData:
    """Return ``data`` as an engine's confusion cells hold it: target, predicted classes, sensitive, slice values."""
    from dataclasses import replace

    return replace(data, y_score=None, y_pred=predicted.astype(float), cache={}, baseline=None, loss_sums=None,
                   probability_rows=None, quantiles=None)


def _view(metric: str, data: EvalData) -> EvalData | None:
    """Return the rows an engine resamples for ``metric``, viewed from rows with probabilities (None: as they are).

    Probability metrics: the probability rows (target, candidate's and production's matrices). Label metrics: the
    confusion cells (target, candidate's and production's predicted classes, sensitive and slice values).
    """
    key = ("resampling_view", metric in PROBABILITY_METRICS)
    if key in data.cache:
        return data.cache[key]
    view: EvalData | None = None
    base = data.baseline
    if metric in PROBABILITY_METRICS:
        view = _probability_view(data)
        if base is not None and base.y_score is not None:
            view.baseline = _probability_view(base)
    else:
        try:
            view = _cell_view(data, predicted_classes(data)[0])
        except NotComputable:
            view = None  # the kernels say why (a missing probability, no prediction)
        if view is not None and base is not None:
            try:
                view.baseline = _cell_view(base, predicted_classes(base)[0])
            except NotComputable:
                pass  # production gave no usable output (an engine's cells then hold none either)
    data.cache[key] = view
    return view


def resampling_rows(metric: str, data: EvalData, baseline: EvalData | None = None,
                    paired: bool = True) -> tuple[EvalData, EvalData | None]:
    """Return the rows a bootstrap interval of multiclass ``metric`` resamples: the rows an engine holds for it.

    An engine's multiclass rows are confusion cells (target class, predicted class, production's predicted
    class, sensitive and slice values; no probability matrix) with ``probability_rows``: the same evaluation
    rows as counts per distinct (true class, probability vector[, production's vector]). Log loss and the ROC
    AUCs (:data:`PROBABILITY_METRICS`) are resampled on the probability rows, the label metrics
    (:data:`LABEL_METRICS`) on the cells. Rows with a probability matrix (pandas, a canary's arms) are viewed the
    same way, so that, gathered into counted rows (:func:`gatekit.metrics.weighted.counted_rows`), pandas' rows
    and an engine's are the same counted rows and a seeded bootstrap draws the same resamples on every engine.
    Each view holds everything its metrics read, so the metric is unchanged.

    Parameters
    ----------
    metric : str
        The metric's spec name (``log_loss``, ``roc_auc_ovr``, ``f1_macro``, ``recall[class]``, ...).
    data : EvalData
        The candidate's rows.
    baseline : EvalData, optional
        Production's rows (``data.baseline`` when ``paired``), or None.
    paired : bool
        The baseline scored the same rows (a paired interval draws both together).

    Returns
    -------
    rows, baseline_rows : EvalData, EvalData or None
        ``data`` and ``baseline`` unchanged for a target that is not multiclass or another metric; else the
        view of each (for a paired baseline, the view's own baseline: drawn with the candidate's rows).

    Raises
    ------
    NotComputable
        A paired baseline that gave labels only for a probability metric (its probability rows do not exist).
    """
    if data.task != "multiclass" or metric not in (*PROBABILITY_METRICS, *LABEL_METRICS):
        return data, baseline
    engine_rows = data.y_score is None and data.probability_rows is not None
    if metric in PROBABILITY_METRICS and engine_rows:
        rows = data.probability_rows
    elif metric in PROBABILITY_METRICS and data.y_score is None:
        return data, baseline  # labels only, or cells without probability rows: the kernels say why
    else:
        rows = _view(metric, data)
    if rows is None:
        return data, baseline
    if baseline is None:
        return rows, None
    if paired:
        if rows.baseline is None:
            if metric in PROBABILITY_METRICS:
                raise NotComputable(f"a paired interval for {metric} needs both models' probabilities; the "
                                    "production model gave labels only")
            return rows, baseline
        return rows, rows.baseline
    if metric in PROBABILITY_METRICS and baseline.y_score is None:
        return rows, baseline
    other = _view(metric, baseline)
    return rows, baseline if other is None else other


# --- bootstrap kernels: the metric on many resamples at once (gatekit.metrics.weighted's contract) ---------------

def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def _onehots(data: EvalData) -> tuple[np.ndarray, np.ndarray]:
    y = class_target(data)
    yp = predicted_classes(data)[0]
    k = max(len(class_names(data)), int(max(y.max(initial=0), yp.max(initial=0))) + 1)
    return np.eye(k)[y], np.eye(k)[yp]


def _cells(data: EvalData, W: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per (resample, class): true positives, rows of the class, rows predicted as the class."""
    Y, P = _onehots(data)
    Wf = np.asarray(W, dtype=float)
    return Wf @ (Y * P), Wf @ Y, Wf @ P


def k_accuracy(data: EvalData, W: np.ndarray) -> np.ndarray:
    """Accuracy on each resample: ``sum_c TP_c / rows``."""
    tp, true_n, _ = _cells(data, W)
    return _ratio(tp.sum(axis=1), true_n.sum(axis=1))


def k_balanced_accuracy(data: EvalData, W: np.ndarray) -> np.ndarray:
    """Mean recall over the classes present in each resample's target."""
    tp, true_n, _ = _cells(data, W)
    with np.errstate(invalid="ignore"):
        return np.nanmean(_ratio(tp, true_n), axis=1) if tp.size else np.array([])


def _kernel_averaged(which: str, average: str) -> Any:
    def kernel(data: EvalData, W: np.ndarray) -> np.ndarray:
        tp, true_n, pred_n = _cells(data, W)
        if data.compare_labels is not None:  # a comparison: the same labels on every resample
            present = np.zeros(tp.shape, dtype=bool)
            present[:, np.asarray(data.compare_labels, dtype=np.int64)] = True
        else:
            present = (true_n > 0) | (pred_n > 0)  # the labels scikit-learn averages over, per resample
        if average == "micro":
            p = _ratio(tp.sum(axis=1), pred_n.sum(axis=1))
            r = _ratio(tp.sum(axis=1), true_n.sum(axis=1))
            f = _ratio(2 * tp.sum(axis=1), pred_n.sum(axis=1) + true_n.sum(axis=1))
            return {"precision": p, "recall": r, "f1": f}[which]
        per = {"precision": _ratio(tp, pred_n), "recall": _ratio(tp, true_n),
               "f1": _ratio(2 * tp, pred_n + true_n)}[which]
        per = np.where(present, np.nan_to_num(per, nan=0.0), 0.0)  # zero_division=0
        wts = present * (true_n if average == "weighted" else 1.0)
        return _ratio((per * wts).sum(axis=1), wts.sum(axis=1))

    return kernel


def _kernel_class(which: str) -> Any:
    def kernel(data: EvalData, W: np.ndarray, **params: Any) -> np.ndarray:
        c = class_code(data, params["class"])
        tp, true_n, pred_n = _cells(data, W)
        p, r = _ratio(tp[:, c], pred_n[:, c]), _ratio(tp[:, c], true_n[:, c])
        f = np.where((pred_n[:, c] > 0) & (true_n[:, c] > 0), _ratio(2 * tp[:, c], pred_n[:, c] + true_n[:, c]),
                     np.nan)
        return {"precision": p, "recall": r, "f1": f}[which]

    return kernel


def k_log_loss(data: EvalData, W: np.ndarray) -> np.ndarray:
    """Mean per-row log loss on each resample.

    Raises
    ------
    NotComputable
        Confusion cells without their probability rows (:func:`resampling_rows` gives the rows when the engine
        kept them): the losses of a cell's rows are only known as a sum, and resampling needs each one.
    """
    if data.y_score is None and data.loss_sums is not None:
        raise NotComputable(f"an interval for log_loss needs each row's loss; {ENGINE_ROWS_NOTE} and its "
                            "probability rows are not kept for these rows: use --engine pandas for this rule, or "
                            "drop confidence")
    y = class_target(data)
    s = proba_matrix(data, "log_loss")
    eps = np.finfo(float).eps
    loss = -np.log(np.clip(s[np.arange(len(y)), y], eps, 1 - eps))
    Wf = np.asarray(W, dtype=float)
    return _ratio(Wf @ loss, Wf.sum(axis=1))


def _kernel_auc(kind: str, average: str) -> Any:
    def kernel(data: EvalData, W: np.ndarray) -> np.ndarray:
        from gatekit.stats.intervals import weighted_aucs

        if data.y_score is None and (data.loss_sums is not None or data.probability_rows is not None):
            raise NotComputable(f"an interval for roc_auc_{kind} needs each row's probabilities; {ENGINE_ROWS_NOTE} "
                                "and its probability rows are not kept for these rows: use --engine pandas for this "
                                "rule, or drop confidence")
        y = class_target(data)
        s = proba_matrix(data, f"roc_auc_{kind}")
        Wf = np.asarray(W, dtype=float)
        k = s.shape[1]
        size = np.stack([Wf @ (y == c) for c in range(k)], axis=1)  # rows of each class per resample
        with np.errstate(invalid="ignore", divide="ignore"):
            if kind == "ovr":
                aucs = np.stack([weighted_aucs((y == c).astype(int), s[:, c], Wf) for c in range(k)], axis=1)
                total = size.sum(axis=1, keepdims=True)
                undefined = ((size == 0) | (size == total)).any(axis=1)  # as ovr_auc: every class must have rows
                wts = size if average == "weighted" else np.ones_like(size)
                out = _ratio((aucs * wts).sum(axis=1), wts.sum(axis=1))
                return np.where(undefined, np.nan, out)
            pair_auc, pair_w = [], []
            for a, b in combinations(range(k), 2):
                mask = (y == a) | (y == b)
                if not mask.any():
                    continue
                Wm = Wf[:, mask]
                both = (weighted_aucs((y[mask] == a).astype(int), s[mask, a], Wm)
                        + weighted_aucs((y[mask] == b).astype(int), s[mask, b], Wm)) / 2
                present = (size[:, a] > 0) & (size[:, b] > 0)  # a pair counts when both classes are drawn
                pair_auc.append(np.where(present, both, 0.0))
                pair_w.append(present * (Wm.sum(axis=1) if average == "weighted" else 1.0))
            if not pair_auc:
                return np.full(Wf.shape[0], np.nan)
            A, P = np.stack(pair_auc, axis=1), np.stack(pair_w, axis=1)
            return _ratio((A * P).sum(axis=1), P.sum(axis=1))

    return kernel


KERNELS: dict[str, Any] = {
    "balanced_accuracy": k_balanced_accuracy,
    **{f"{w}_{a}": _kernel_averaged(w, a) for w in ("precision", "recall", "f1") for a in AVERAGES},
    **{f"{w}[class]": _kernel_class(w) for w in PER_CLASS},
    "roc_auc_ovr": _kernel_auc("ovr", "macro"),
    "roc_auc_ovr_weighted": _kernel_auc("ovr", "weighted"),
    "roc_auc_ovo": _kernel_auc("ovo", "macro"),
    "roc_auc_ovo_weighted": _kernel_auc("ovo", "weighted"),
}
"""Spec name -> ``kernel(data, W, **params) -> ndarray of shape (resamples,)``; ``accuracy`` and ``log_loss``
reach :func:`k_accuracy` and :func:`k_log_loss` through :mod:`gatekit.metrics.weighted` for a multiclass target."""
