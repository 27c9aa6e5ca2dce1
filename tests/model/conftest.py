"""Fixtures of the model tests: ONNX models converted from scikit-learn ones."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from skl2onnx import convert_sklearn, to_onnx
from skl2onnx.common.data_types import FloatTensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


@pytest.fixture(scope="module")
def onnx_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    rng = np.random.default_rng(31)
    n = 300
    raw = pd.DataFrame({"x1": np.round(rng.standard_normal(n), 4), "x2": np.round(rng.standard_normal(n), 4),
                        "g": rng.choice(["a", "b", "c"], n)})
    raw["y"] = np.where(raw.x1 - 0.5 * raw.x2 + 0.8 * (raw.g == "a") + rng.standard_normal(n) > 0.2, "yes", "no")
    raw["y01"] = (raw.y == "yes").astype(int)  # the labels the int-label models are trained on
    raw["t"] = np.round(2.0 * raw.x1 - raw.x2 + 0.3 * rng.standard_normal(n) + 5, 4)
    root = tmp_path_factory.mktemp("onnx")
    raw.to_csv(root / "data.csv", index=False)
    df = pd.read_csv(root / "data.csv")  # fitted on what gatekit reads
    pipe = Pipeline([("ct", ColumnTransformer([("num", StandardScaler(), ["x1", "x2"]),
                                               ("cat", OneHotEncoder(), ["g"])])),
                     ("lr", LogisticRegression())]).fit(df[["x1", "x2", "g"]], df.y)
    per_column = [("x1", FloatTensorType([None, 1])), ("x2", FloatTensorType([None, 1])),
                  ("g", StringTensorType([None, 1]))]
    graphs = {"zipmap": convert_sklearn(pipe, initial_types=per_column),
              "tensor": convert_sklearn(pipe, initial_types=per_column, options={id(pipe): {"zipmap": False}})}
    Xm = df[["x1", "x2"]].to_numpy(np.float32)
    matrix_clf = LogisticRegression().fit(Xm, df.y01)
    graphs["matrix"] = to_onnx(matrix_clf, Xm[:1])
    reg = LinearRegression().fit(Xm, df.t)
    graphs["regressor"] = to_onnx(reg, Xm[:1])
    files = {}
    for name, graph in graphs.items():
        files[name] = root / f"{name}.onnx"
        files[name].write_bytes(graph.SerializeToString())
    return {"root": root, "frame": df, "data": root / "data.csv", "pipe": pipe, "matrix_clf": matrix_clf,
            "reg": reg, "files": files}
