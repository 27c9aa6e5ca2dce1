"""Tests of :mod:`gatekit.model.loading`: a pickle is never unpickled without a verified hash, signature
or trust; skops' type allow-list.
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
import pytest
import skops.io as sio
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

import gatekit
from gatekit.core.errors import InputError
from gatekit.core.results import Decision
from tests.data.helpers import _policy
from tests.sections.helpers import _rel

FEATURES = ["pirat", "hirat", "lvrat", "chist", "mhist", "unemp"]


@pytest.fixture
def fitted(hmda: tuple[pd.DataFrame, Path]) -> LogisticRegression:
    df, _ = hmda
    return LogisticRegression(max_iter=1000).fit(df[FEATURES], df["deny"])


def _auc_direct(model: object, df: pd.DataFrame) -> float:
    proba = model.predict_proba(df[FEATURES])[:, list(model.classes_).index("yes")]
    return roc_auc_score((df["deny"] == "yes").astype(int), proba)


def test_joblib_model_is_not_unpickled_without_hash_or_trust(tmp_path, hmda, fitted) -> None:
    df, data = hmda
    mpath = tmp_path / "m.joblib"
    joblib.dump(fitted, mpath)
    with pytest.raises(InputError) as exc:
        gatekit.run(_policy(tmp_path), data=data, target="deny", model=mpath)
    assert "refusing to unpickle" in str(exc.value)
    digest = hashlib.sha256(mpath.read_bytes()).hexdigest()
    assert digest in str(exc.value)  # tells the user the value to pin

    report = gatekit.run(_policy(tmp_path), data=data, target="deny", model=mpath, model_sha256=digest)
    assert report.checks[0].observed == pytest.approx(_auc_direct(fitted, df), abs=1e-12)
    assert report.metadata["inputs"]["files"]["model"]["sha256"] == digest
    assert report.metadata["inputs"]["files"]["model"]["verified_sha256"] is True

    report = gatekit.run(_policy(tmp_path), data=data, target="deny", model=mpath, trust_model=True)
    assert report.checks[0].status.value == "pass"


def test_model_hash_mismatch_is_refused_even_for_skops(tmp_path, hmda, fitted) -> None:
    _, data = hmda
    mpath = tmp_path / "m.skops"
    sio.dump(fitted, mpath)
    with pytest.raises(InputError, match="does not match"):
        gatekit.run(_policy(tmp_path), data=data, target="deny", model=mpath, model_sha256="0" * 64)


def test_skops_default_trusted_types_load_and_score(tmp_path, hmda, fitted) -> None:
    df, data = hmda
    mpath = tmp_path / "m.skops"
    sio.dump(fitted, mpath)
    report = gatekit.run(_policy(tmp_path), data=data, target="deny", model=mpath)
    assert report.checks[0].observed == pytest.approx(_auc_direct(fitted, df), abs=1e-12)
    assert report.metadata["inputs"]["positive_label"] == "yes"


def test_skops_with_untrusted_types_needs_hash_or_trust(tmp_path, hmda) -> None:
    df, data = hmda
    model = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(df[FEATURES], df["deny"])
    mpath = tmp_path / "hgb.skops"
    sio.dump(model, mpath)
    assert sio.get_untrusted_types(file=mpath)  # the premise of the test
    with pytest.raises(InputError, match="does not trust"):
        gatekit.run(_policy(tmp_path), data=data, target="deny", model=mpath)
    report = gatekit.run(_policy(tmp_path), data=data, target="deny", model=mpath, trust_model=True)
    assert report.checks[0].observed == pytest.approx(_auc_direct(model, df), abs=1e-12)


def test_unsupported_model_format(tmp_path, hmda) -> None:
    _, data = hmda
    m = tmp_path / "m.onnx"
    m.write_bytes(b"x")
    with pytest.raises(InputError, match="unsupported model format"):
        gatekit.run(_policy(tmp_path), data=data, target="deny", model=m)


def test_a_marker_pickle_is_never_unpickled_on_any_path(art: dict[str, Any]) -> None:
    d, evil, good = art["dir"], str(art["evil"]), str(art["model"])
    other_sha = hashlib.sha256(art["model"].read_bytes()).hexdigest()
    base = {"version": 1, "metrics": [{"name": "auc_roc", "op": ">=", "value": 0.5}]}
    inputs = {"data": str(art["data"]), "target": "y"}
    empty = d / "empty.sig"
    empty.write_bytes(b"")
    cases: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({**base, "inputs": {**inputs, "model": evil}}, {}),
        ({**base, "inputs": {**inputs, "model": evil}, "artifact": {"sha256": other_sha}}, {}),
        ({**base, "inputs": {**inputs, "model": evil},
          "artifact": {"signature": {"file": str(art["sig"]), "public_key": str(art["pub"])}}}, {}),
        ({**base, "inputs": {**inputs, "model": evil},
          "artifact": {"signature": {"file": str(empty), "public_key": str(art["pub"]), "required": False}}}, {}),
        ({**base, "inputs": {**inputs, "model": evil},
          "artifact": {"signature": {"file": str(art["pub"]), "public_key": str(art["pub"])}}}, {}),
        ({**base, "inputs": {**inputs, "model": good, "trust_model": True}}, {"model": evil}),
        ({**base, "inputs": {**inputs, "model": good, "model_sha256": other_sha}}, {"model": evil,
                                                                                   "model_sha256": other_sha}),
        ({**base, "inputs": {**inputs, "model": good, "trust_model": True, "baseline": {"model": evil}}}, {}),
        ({**base, "inputs": {**inputs, "model": good, "trust_model": True,
                             "baseline": {"model": good, "trust_model": True}}}, {"baseline_model": evil}),
        ({**base, "inputs": {**inputs, "model": good, "trust_model": True},
          "compatibility": {"feature_signature": {"expected_model": evil}}}, {}),
    ]
    for policy, overrides in cases:
        try:
            report = gatekit.run(policy, **overrides)
        except InputError:
            pass
        else:
            assert report.decision == Decision.BLOCK, policy
        assert not art["marker"].exists(), (policy, overrides)


def test_a_failed_signature_is_named_when_the_model_is_refused(art: dict[str, Any]) -> None:
    bad = art["dir"] / "bad.sig"
    bad.write_bytes(art["key"].sign(b"another file"))
    with pytest.raises(InputError) as exc:
        gatekit.run({"version": 1, "inputs": {"model": str(art["model"])},
                     "artifact": {"signature": {"file": str(bad), "public_key": str(art["pub"])}}})
    assert "signature" in str(exc.value) and "does not match" in str(exc.value)


def test_unhashed_pickle_baseline_is_never_unpickled(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    (tmp_path / "prod.pkl").write_bytes(pickle.dumps(Evil()))
    pol = _rel(tmp_path, "- {name: auc_roc, max_drop: 0.02}")
    with pytest.raises(InputError, match="refusing to unpickle"):
        gatekit.run(pol, baseline_model=str(tmp_path / "prod.pkl"))
    assert not marker.exists()
