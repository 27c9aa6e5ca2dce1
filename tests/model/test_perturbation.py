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
from gatekit.model.perturbation import noise, out_of_range, training_ranges
from gatekit.model.serving import Runner
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


def _frames() -> tuple[pd.DataFrame, pd.DataFrame, Any]:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"a": rng.normal(size=120), "b": rng.integers(0, 9, 120), "c": rng.choice(["x", "y"], 120)})
    ref = pd.DataFrame({"a": rng.normal(2, 3, size=80), "b": rng.integers(-5, 5, 80), "c": ["x"] * 80})
    model = LogisticRegression().fit(frame[["a", "b"]], (frame.a > 0).astype(int))
    return frame, ref, Runner(model, ["a", "b"], "classification", 1)


def test_ranges_and_stds_given_from_elsewhere_give_the_same_probes() -> None:
    frame, ref, runner = _frames()
    ranges, note = training_ranges(frame, ref, ["a", "b"])
    assert ranges == {"a": (float(ref.a.min()), float(ref.a.max())), "b": (float(ref.b.min()), float(ref.b.max()))}
    assert note == ""
    assert training_ranges(frame, ref.assign(b="text"), ["a", "b"])[0]["b"] == (float(frame.b.min()),
                                                                              float(frame.b.max()))
    cases = ["extreme", "missing", "wrong_type"]
    own = out_of_range(runner, frame, ref, cases, 50, 10.0, 3)
    given = out_of_range(runner, frame, None, cases, 50, 10.0, 3, (ranges, note))
    assert [(r.case, r.probes, r.note) for r in own] == [(r.case, r.probes, r.note) for r in given]
    stds = {c: float(ref[c].std(ddof=1)) for c in ("a", "b")}
    a = noise(runner, frame, ref, 0.5, 3, 7, None, None, 0.5)
    b = noise(runner, frame, None, 0.5, 3, 7, None, None, 0.5, stds, {"a": "reference data", "b": "reference data"})
    assert a == b and a["stds"] == stds and a["std_note"] == ""


def test_each_feature_keeps_its_reference_std_and_the_fallbacks_are_named() -> None:
    # the reference lacks b: only b's std is the evaluation data's (it used to be every feature's), and
    # the details say so
    frame, ref, runner = _frames()
    res = noise(runner, frame, ref.drop(columns=["b"]), 0.5, 2, 7, None, None, 0.5)
    assert res["stds"] == {"a": float(ref.a.std(ddof=1)), "b": float(frame.b.std(ddof=1))}
    assert res["std_sources"] == {"a": "reference data", "b": "evaluation data"}
    assert res["std_note"] == "std from the evaluation data for b (absent from the reference data)"
    # text in the reference, and a single value there: the same, each reason named
    ref2 = ref.astype({"b": object})
    ref2.loc[0, "b"] = "text"
    res = noise(runner, frame, ref2, 0.5, 2, 7, None, None, 0.5)
    assert res["std_sources"] == {"a": "reference data", "b": "evaluation data"}
    assert res["std_note"] == "std from the evaluation data for b (not numeric in the reference data)"
    res = noise(runner, frame, ref.iloc[:1], 0.5, 2, 7, None, None, 0.5)
    assert res["std_sources"] == {"a": "evaluation data", "b": "evaluation data"}
    assert res["std_note"] == "std from the evaluation data for a, b (fewer than 2 values in the reference data)"
    res = noise(runner, frame, None, 0.5, 2, 7, None, None, 0.5)
    assert res["std_note"] == "no reference data (inputs.reference): every feature's std is the evaluation data's"


def test_a_feature_constant_in_the_reference_gets_no_noise_and_the_details_say_so() -> None:
    frame, ref, runner = _frames()
    res = noise(runner, frame, ref.assign(b=4), 0.5, 2, 7, None, None, 0.5)
    assert res["stds"]["b"] == 0.0 and res["stds"]["a"] == float(ref.a.std(ddof=1))
    assert res["no_noise"] == ["b"]
    assert res["std_note"] == "no noise on b (constant in the reference data: std 0)"
    # given from elsewhere (an engine's aggregates): the same note from the figures
    res = noise(runner, frame, None, 0.5, 2, 7, None, None, 0.5, {"a": 1.0, "b": 0.0},
                {"a": "reference data", "b": "evaluation data"})
    assert res["std_note"] == ("std from the evaluation data for b (not from the reference data); no noise on b "
                               "(constant in the evaluation data: std 0)")


def test_the_noise_checks_carry_the_std_note_in_their_details(art: dict[str, Any]) -> None:
    ref = pd.read_csv(art["data"]).drop(columns=["b"])
    ref.to_csv(art["dir"] / "ref_without_b.csv", index=False)
    report = gatekit.run({"version": 1, "inputs": {"data": str(art["data"]), "target": "y",
                                                    "model": str(art["model"]), "trust_model": True,
                                                    "reference": str(art["dir"] / "ref_without_b.csv")},
                          "robustness": {"noise": {"scale": 0.1, "max_flip_rate": 1.0}}})
    check = _check(report, "noise.flip_rate")
    assert check.details["std_sources"] == {"a": "reference data", "b": "evaluation data"}
    assert check.details["std_note"] == "std from the evaluation data for b (absent from the reference data)"
