"""Tests of :mod:`gatekit.model.perturbation`: the noise and out-of-range probes of the robustness
section.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import gatekit
from gatekit.core.results import Status
from tests.helpers import _check
from tests.model.helpers import _pickled


class NanUnderNoise:
    """A classifier scoring 0.2 on integer inputs (the clean rows) and NaN on anything else (noise)."""

    classes_ = np.array([0, 1])
    feature_names_in_ = np.array(["a", "b"], dtype=object)

    def predict_proba(self, X: Any) -> np.ndarray:
        a = np.asarray(X["a"], dtype=float)
        p = np.where(a == np.round(a), 0.2, np.nan)
        return np.column_stack([1 - p, p])


class Constant:
    """A classifier scoring 0.2 whatever it is given (NaN included)."""

    classes_ = np.array([0, 1])
    feature_names_in_ = np.array(["a", "b"], dtype=object)

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.tile([0.8, 0.2], (len(X), 1))


def test_nan_scores_under_noise_do_not_pass_the_flip_rate(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    pd.DataFrame({"a": rng.integers(0, 50, 200).astype(float), "b": rng.integers(0, 3, 200)}).to_csv(
        tmp_path / "d.csv", index=False)
    model = _pickled(tmp_path, NanUnderNoise(), "nan.pkl")
    report = gatekit.run({"version": 1, "inputs": {"data": str(tmp_path / "d.csv"), "model": str(model),
                                                    "trust_model": True},
                          "robustness": {"noise": {"scale": 0.1, "max_flip_rate": 0.02}}})
    assert _check(report, "noise.flip_rate").status != Status.PASS


def test_noise_with_an_undefined_std_is_not_a_pass(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("a,b\n3.0,1\n")
    model = _pickled(tmp_path, Constant(), "const.pkl")
    report = gatekit.run({"version": 1, "inputs": {"data": str(tmp_path / "d.csv"), "model": str(model),
                                                    "trust_model": True},
                          "robustness": {"noise": {"scale": 0.1, "max_flip_rate": 0.0}}})
    assert _check(report, "noise.flip_rate").status != Status.PASS


def test_flip_rate_does_not_depend_on_an_unrequested_metric(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    pd.DataFrame({"a": rng.integers(0, 50, 100).astype(float), "b": rng.integers(0, 3, 100), "y": 0}).to_csv(
        tmp_path / "d.csv", index=False)
    model = _pickled(tmp_path, Constant(), "const.pkl")
    report = gatekit.run({"version": 1, "inputs": {"data": str(tmp_path / "d.csv"), "target": "y",
                                                    "positive_label": 1, "model": str(model), "trust_model": True},
                          "robustness": {"noise": {"scale": 0.1, "max_flip_rate": 0.02}}})
    assert _check(report, "noise.flip_rate").status == Status.PASS


def test_a_text_value_in_the_reference_does_not_take_every_probe_down(art: dict[str, Any]) -> None:
    ref = pd.read_csv(art["data"]).astype({"a": object})
    ref.loc[0, "a"] = "xyz"
    ref.to_csv(art["dir"] / "ref.csv", index=False)
    report = gatekit.run({"version": 1, "inputs": {"data": str(art["data"]), "target": "y",
                                                    "model": str(art["model"]), "trust_model": True,
                                                    "reference": str(art["dir"] / "ref.csv")},
                          "robustness": {"out_of_range": {"cases": ["extreme", "missing"]}}})
    assert _check(report, "out_of_range.missing").status != Status.ERROR
    assert "ref.csv" in _check(report, "out_of_range.extreme").message
