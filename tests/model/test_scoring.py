"""Tests of :mod:`gatekit.model.scoring`: the model's classes and the positive label."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

import gatekit
from gatekit.core.errors import InputError
from tests.data.helpers import _rules_file
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
