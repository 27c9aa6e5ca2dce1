"""Helpers of the model tests."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gatekit.core.results import GateReport
from gatekit.data.inputs import InputOptions, RunInputs
from gatekit.model.loading import load_model
from gatekit.model.scoring import make_runner


# a signed pickle, its key and a marker pickle
def _pickled(tmp_path: Path, obj: Any, name: str) -> Path:
    p = tmp_path / name
    p.write_bytes(pickle.dumps(obj))
    return p


def _checks(report: GateReport) -> dict[str, Any]:
    out = {c.name: c for c in report.checks}
    assert len(out) == len(report.checks), [c.name for c in report.checks]
    return out


# models given as Python objects
class Plain:
    """A model that is no estimator: predict_proba from a fixed linear score, its classes recorded."""

    classes_ = np.array(["no", "yes"])
    feature_names_in_ = np.array(["x1", "x2"], dtype=object)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = 1 / (1 + np.exp(-(0.8 * X["x1"].to_numpy() - 0.3 * X["x2"].to_numpy())))
        return np.column_stack([1 - p, p])


def _load(source: Any, **kw: Any) -> tuple[Any, RunInputs, dict[str, Any]]:
    run = RunInputs()
    files: dict[str, dict[str, Any]] = {}
    model = load_model(source, kw.pop("sha", None), False, files, run, **kw)
    return model, run, files


def _runner(model: Any, frame: pd.DataFrame, features: list[str] | None = None) -> Any:
    return make_runner(model, frame, InputOptions(features=features), "classification", "yes", "d.csv")
