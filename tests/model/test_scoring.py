"""Tests of :mod:`gatekit.model.scoring`: the model's classes and the positive label; scoring in batches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

import gatekit
from gatekit.core.errors import InputError
from gatekit.data.inputs import InputOptions
from gatekit.model.onnx import OnnxModel
from gatekit.model.scoring import arrow_frames, score_batches, score_stream
from tests.data.helpers import _rules_file
from tests.model.helpers import Plain, _runner
from tests.sections.helpers import _eval_frame, _rel


def test_model_positive_class_follows_the_label_or_is_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=300)
    y01 = (x + rng.normal(scale=0.5, size=300) > 0).astype(int)
    model = LogisticRegression().fit(pd.DataFrame({"x": x}), y01)
    sio.dump(model, tmp_path / "m.skops")
    proba = model.predict_proba(pd.DataFrame({"x": x}))
    auc = "  - {name: auc_roc, op: '>=', value: 0.5}\n"

    pd.DataFrame({"x": x, "t": y01}).to_csv(tmp_path / "d.csv", index=False)
    # positive label 0: the column of class 0, judged against t == 0 (computed directly)
    r = gatekit.run(_rules_file(tmp_path, auc), data=tmp_path / "d.csv", target="t", model=tmp_path / "m.skops",
                    positive_label="0.0")
    assert r.checks[0].observed == pytest.approx(roc_auc_score(1 - y01, proba[:, 0]))

    pd.DataFrame({"x": x, "t": np.where(y01 == 1, "yes", "no")}).to_csv(tmp_path / "yn.csv", index=False)
    with pytest.raises(InputError, match="not one of the model's classes"):
        gatekit.run(_rules_file(tmp_path, auc), data=tmp_path / "yn.csv", target="t", model=tmp_path / "m.skops",
                    positive_label="no")


def test_baseline_model_on_other_labels_is_refused(tmp_path: Path) -> None:
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    frame = _eval_frame()
    model = LogisticRegression().fit(frame[["x1", "x2"]], (frame.y == "yes").astype(int))
    sio.dump(model, tmp_path / "prod01.skops")
    pol = _rel(tmp_path, "- {name: auc_roc, max_drop: 0.02}", frame)
    with pytest.raises(InputError, match="not one of the model's classes"):
        gatekit.run(pol, baseline_model=str(tmp_path / "prod01.skops"))


@pytest.mark.parametrize("kind", ["pipe", "onnx", "plain"])
def test_scoring_in_batches_equals_scoring_at_once(onnx_models: dict[str, Any], kind: str) -> None:
    df = onnx_models["frame"]
    model = {"pipe": onnx_models["pipe"], "plain": Plain(),
             "onnx": OnnxModel(onnx_models["files"]["zipmap"].read_bytes())}[kind]
    runner = _runner(model, df)
    at_once = runner(df[runner.features])
    chunks = [df.iloc[i:i + 37] for i in range(0, len(df), 37)]
    parts = list(score_batches(runner, iter(chunks)))
    assert [len(p) for p in parts] == [len(c) for c in chunks]
    assert np.allclose(np.concatenate(parts), at_once, rtol=0, atol=1e-12)
    # record batches from Arrow (what an engine streams), converted one at a time
    batches = pa.Table.from_pandas(df[runner.features], preserve_index=False).to_batches(max_chunksize=50)
    streamed = np.concatenate(list(score_batches(runner, arrow_frames(batches))))
    assert np.allclose(streamed, at_once, rtol=0, atol=1e-12)
    info: dict[str, Any] = {}
    scores, bound = score_stream(model, list(df.columns), lambda cols: (df[cols].iloc[i:i + 64]
                                                                        for i in range(0, len(df), 64)),
                                 InputOptions(), "classification", "yes", "d.csv", info)
    assert bound.features == runner.features and np.allclose(scores, at_once, rtol=0, atol=1e-12)
    assert info["model"]["scored"] == "in record batches"


def test_a_batch_missing_features_or_failing_says_so(onnx_models: dict[str, Any]) -> None:
    df = onnx_models["frame"]
    runner = _runner(onnx_models["pipe"], df)
    with pytest.raises(InputError, match="missing from the data"):
        list(score_batches(runner, iter([df[["x1", "x2"]]])))
    bad = df[["x1", "x2", "g"]].copy()
    bad["x1"] = "text"
    with pytest.raises(InputError, match=r"rows 0 to 299"):
        list(score_batches(runner, iter([bad])))


def test_make_runner_reads_only_column_names(onnx_models: dict[str, Any]) -> None:
    import ibis

    df = onnx_models["frame"]
    table = ibis.memtable(df)
    by_table = _runner(onnx_models["pipe"], table)
    assert by_table.features == _runner(onnx_models["pipe"], list(df.columns)).features == ["x1", "x2", "g"]
    with pytest.raises(InputError, match="missing from the data"):
        _runner(onnx_models["pipe"], table.select("x1"))
