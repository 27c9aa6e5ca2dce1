"""Tests of :mod:`gatekit.report.confusion`: the confusion matrix in the JSON, HTML and Markdown reports.

Expected matrices come from ``sklearn.metrics.confusion_matrix`` on the same rows (with ``sample_weight`` for
an engine's compact rows), predicted by thresholding the model's own ``predict_proba`` or by its ``predict``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix as sk_confusion

import gatekit
from gatekit.metrics.registry import EvalData
from gatekit.report.confusion import confusion_matrix, html_table, markdown_lines

FEATURES = ["x1", "x2"]


@pytest.fixture(scope="module")
def rows() -> dict[str, Any]:
    rng = np.random.default_rng(12)
    n = 800
    df = pd.DataFrame({"x1": np.round(rng.normal(size=n), 1), "x2": np.round(rng.normal(size=n), 1)})
    df["y"] = np.where(rng.random(n) < 1 / (1 + np.exp(-(df.x1 - df.x2))), "approved", "rejected")
    z = np.stack([df.x1, df.x2, -df.x1], axis=1) + rng.gumbel(size=(n, 3))
    df["kind"] = np.array(["ash", "birch", "cedar"])[z.argmax(1)]
    train, hold = df.iloc[:400], df.iloc[400:].reset_index(drop=True)
    return {"hold": hold, "binary": LogisticRegression().fit(train[FEATURES], train.y),
            "multi": LogisticRegression().fit(train[FEATURES], train.kind)}


def _run(rows: dict[str, Any], engine: str, model: str, target: str, **kw: Any) -> Any:
    pol = {"version": 1, "decision_threshold": kw.pop("threshold", 0.5),
           "metrics": [{"name": "accuracy", "op": ">=", "value": 0.1}]}
    return gatekit.run(pol, data=rows["hold"], model=rows[model], target=target, engine=engine, history=False, **kw)


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
@pytest.mark.parametrize("threshold", [0.5, 0.3])
def test_binary_matrix_is_sklearns_at_the_decision_threshold(rows: dict[str, Any], engine: str,
                                                             threshold: float) -> None:
    report = _run(rows, engine, "binary", "y", positive_label="approved", threshold=threshold)
    cm = report.metadata["charts"]["confusion"]
    hold, m = rows["hold"], rows["binary"]
    score = m.predict_proba(hold[FEATURES])[:, list(m.classes_).index("approved")]
    pred = np.where(score >= threshold, "approved", "rejected")
    expected = sk_confusion(hold.y, pred, labels=["rejected", "approved"])
    assert cm["labels"] == ["rejected", "approved"] and cm["counts"] == expected.tolist()
    assert cm["shares"] == [(row / row.sum()).tolist() for row in expected]
    assert cm["n"] == len(hold) and cm["threshold"] == threshold
    assert cm["true_totals"] == expected.sum(axis=1).tolist()
    assert cm["predicted_totals"] == expected.sum(axis=0).tolist()


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_multiclass_matrix_is_sklearns_on_the_argmax(rows: dict[str, Any], engine: str) -> None:
    cm = _run(rows, engine, "multi", "kind").metadata["charts"]["confusion"]
    hold, m = rows["hold"], rows["multi"]
    pred = m.classes_[m.predict_proba(hold[FEATURES]).argmax(1)]
    assert cm["labels"] == ["ash", "birch", "cedar"]
    assert cm["counts"] == sk_confusion(hold.kind, pred, labels=cm["labels"]).tolist()
    assert cm["predicted_by"] == "the class of largest probability" and cm["threshold"] is None


def test_a_prediction_column_is_counted_as_given(rows: dict[str, Any]) -> None:
    hold = rows["hold"].assign(pred=rows["multi"].predict(rows["hold"][FEATURES]))
    pol = {"version": 1, "metrics": [{"name": "accuracy", "op": ">=", "value": 0.1}]}
    cm = gatekit.run(pol, data=hold, prediction="pred", target="kind", history=False).metadata["charts"]["confusion"]
    assert cm["counts"] == sk_confusion(hold.kind, hold.pred, labels=cm["labels"]).tolist()
    assert cm["predicted_by"] == "the prediction column"


def test_compact_rows_count_as_the_rows_they_stand_for() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(2000) < 0.4).astype(int)
    s = np.round(rng.random(2000) * (0.5 + y), 1)
    compact = pd.DataFrame({"y": y, "s": s}).value_counts().reset_index()
    data = EvalData(task="classification", y_true=compact["y"].to_numpy(), y_score=compact["s"].to_numpy(),
                    weights=compact["count"].to_numpy(), decision_threshold=0.5, positive_label=1)
    cm = confusion_matrix(data, {"positive_label": 1, "negative_label": 0})
    assert cm is not None
    expected = sk_confusion(y, (s >= 0.5).astype(int), labels=[0, 1])
    assert cm["counts"] == expected.tolist()
    weighted = sk_confusion(compact["y"], (compact["s"] >= 0.5).astype(int), labels=[0, 1],
                            sample_weight=compact["count"])
    assert cm["counts"] == weighted.tolist() and cm["labels"] == ["0", "1"]


def test_no_matrix_for_regression_non_finite_scores_or_no_output() -> None:
    assert confusion_matrix(EvalData(task="regression", y_true=np.ones(3), y_score=np.ones(3))) is None
    bad = EvalData(task="classification", y_true=np.array([0, 1]), y_score=np.array([0.2, np.nan]), positive_label=1)
    assert confusion_matrix(bad) is None
    assert confusion_matrix(EvalData(task="classification", y_true=np.array([0, 1]), positive_label=1)) is None
    one = confusion_matrix(EvalData(task="classification", y_true=np.array([1, 1]), y_score=np.array([0.2, 0.9]),
                                    positive_label="yes"))
    assert one is not None and one["labels"] == ["not yes", "yes"] and one["shares"][0] is None


def test_the_reports_show_it_and_the_json_schema_describes_it(rows: dict[str, Any], tmp_path: Path) -> None:
    import jsonschema

    from gatekit.report import SCHEMA_PATH

    report = _run(rows, "pandas", "binary", "y", positive_label="approved", out=tmp_path,
                  formats=["json", "html", "markdown"])
    cm = report.metadata["charts"]["confusion"]
    doc = json.loads((tmp_path / "gate_report.json").read_text())
    jsonschema.validate(doc, json.loads(SCHEMA_PATH.read_text()))
    assert doc["metadata"]["charts"]["confusion"] == cm
    broken = json.loads(json.dumps(doc))
    broken["metadata"]["charts"]["confusion"]["labels"] = ["only one"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, json.loads(SCHEMA_PATH.read_text()))
    page = (tmp_path / "gate_report.html").read_text()
    assert page.count('class="num confusion-cell"') == 4 and 'id="confusion-matrix"' in page
    for n in np.asarray(cm["counts"]).ravel():
        assert f">{n:,}<br>" in page
    md = (tmp_path / "gate_report.md").read_text()
    r0 = cm["counts"][0]
    assert f"| rejected | {r0[0]:,} ({100 * cm['shares'][0][0]:.1f} %) | {r0[1]:,} (" in md
    assert "Confusion matrix: 400 evaluation rows; predicted class: approved where the score ≥ 0.5" in md


def test_many_classes_are_left_to_the_json() -> None:
    k = 40
    cm = {"labels": [f"c{i}" for i in range(k)], "counts": np.eye(k, dtype=int).tolist(),
          "shares": np.eye(k).tolist(), "true_totals": [1] * k, "predicted_totals": [1] * k, "n": k,
          "predicted_by": "the class of largest probability", "threshold": None}
    assert html_table({"charts": {"confusion": cm}})["too_many"] == k
    assert "40 classes" in "\n".join(markdown_lines({"charts": {"confusion": cm}}, str))


def test_labels_are_escaped_in_the_markdown() -> None:
    cm = {"labels": ["<b>x</b>", "a|b"], "counts": [[1, 0], [0, 1]], "shares": [[1.0, 0.0], [0.0, 1.0]],
          "true_totals": [1, 1], "predicted_totals": [1, 1], "n": 2, "predicted_by": "the prediction column",
          "threshold": None}
    from gatekit.report.markdown import md_text

    text = "\n".join(markdown_lines({"charts": {"confusion": cm}}, md_text))
    assert "<b>x</b>" not in text and "a|b" not in text
