"""Tests of :mod:`gatekit.model.loading`: a pickle is never unpickled without a verified hash, signature
or trust; skops' type allow-list.
"""

from __future__ import annotations

import hashlib
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
import skops.io as sio
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import roc_auc_score

import gatekit
from gatekit.core.errors import InputError
from gatekit.core.results import Decision
from gatekit.data.inputs import InputOptions
from gatekit.model.formats import onnx_signature
from gatekit.model.loading import NOT_A_FILE, OBJECT_TRUST_NOTE, object_kind, skops_content_sha256
from gatekit.model.onnx import OnnxModel
from gatekit.model.scoring import make_runner
from tests.data.helpers import _policy
from tests.model.helpers import Plain, _load, _runner
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


# ------------------------------------------------------------------------- archives are bounded before inflating

def _skops_bomb(path: Path, fitted: LogisticRegression, npy_bytes: int, level: int = 6) -> Path:
    """A real skops file plus one ``.npy`` entry of ``npy_bytes`` zeros, deflated as it is streamed in."""
    import io
    import zipfile

    import numpy as np
    from numpy.lib import format as npy

    real = zipfile.ZipFile(io.BytesIO(sio.dumps(fitted)))
    chunk = b"\0" * (8 * 1024**2)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        for info in real.infolist():
            z.writestr(info.filename, real.read(info))
        with z.open("bomb.npy", "w", force_zip64=True) as f:
            header = io.BytesIO()
            npy.write_array_header_1_0(header, {"descr": np.dtype("<f8").str, "fortran_order": False,
                                                "shape": (npy_bytes // 8,)})
            f.write(header.getvalue())
            for _ in range(npy_bytes // len(chunk)):
                f.write(chunk)
    return path


def _load_measured(path: Path) -> tuple[BaseException, float, int]:
    """Load ``path`` as the run's model; return the error, the seconds and the peak traced memory."""
    import time
    import tracemalloc

    from gatekit.model.loading import load_model

    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(InputError) as exc:
        load_model(path, None, True, {})
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return exc.value, seconds, peak


def test_a_skops_zip_bomb_is_refused_before_it_is_inflated(tmp_path, hmda, fitted) -> None:
    from gatekit.model.loading import MAX_RATIO

    bomb = _skops_bomb(tmp_path / "bomb.skops", fitted, 256 * 1024**2)  # 256 MiB of zeros
    size = bomb.stat().st_size
    assert size < 2 * 1024**2  # small on disk
    err, seconds, peak = _load_measured(bomb)
    text = str(err)
    assert str(bomb) in text and "MAX_RATIO" in text and f"above the limit of {MAX_RATIO}-fold" in text
    assert err.problems[0].key == "model"
    # nothing was inflated: a directory read, not 256 MiB of zeros
    assert seconds < 2 and peak < 4 * size + 32 * 1024**2, (seconds, peak)
    _, data = hmda
    proc = subprocess.run([sys.executable, "-m", "gatekit", "run", str(_policy(tmp_path)), "--data", str(data),
                           "--target", "deny", "--model", str(bomb), "--trust-model", "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "bomb.skops" in proc.stderr and "MAX_RATIO" in proc.stderr, proc.stderr


@pytest.mark.slow
def test_the_reviews_skops_bomb_of_2_5_gb_is_refused_fast(tmp_path, fitted) -> None:
    from gatekit.model.loading import MAX_ENTRY_BYTES

    bomb = _skops_bomb(tmp_path / "bomb.skops", fitted, 2_500_000_000 // (8 * 1024**2) * 8 * 1024**2)
    size = bomb.stat().st_size
    assert size < 4 * 1024**2
    err, seconds, peak = _load_measured(bomb)
    assert "MAX_ENTRY_BYTES" in str(err) and f"{MAX_ENTRY_BYTES:,} bytes" in str(err)
    assert seconds < 2 and peak < 4 * size + 32 * 1024**2, (seconds, peak)


def test_an_npy_header_claiming_more_than_its_entry_holds_is_refused(tmp_path, fitted) -> None:
    import io
    import zipfile

    from numpy.lib import format as npy

    header = io.BytesIO()
    npy.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**10,)})
    path = tmp_path / "liar.skops"
    real = zipfile.ZipFile(io.BytesIO(sio.dumps(fitted)))
    with zipfile.ZipFile(path, "w") as z:
        for info in real.infolist():
            z.writestr(info.filename, real.read(info))
        z.writestr("liar.npy", header.getvalue() + b"\0" * 64)
    err, _, _ = _load_measured(path)
    assert "claims 80,000,000,000 bytes" in str(err) and str(path) in str(err)


def test_real_skops_models_are_within_the_bounds(tmp_path, fitted) -> None:
    import zipfile

    from sklearn.ensemble import RandomForestClassifier

    from gatekit.model.loading import check_zip_bounds, load_skops

    X = pd.DataFrame({"a": range(400), "b": [i % 7 for i in range(400)]})
    forest = RandomForestClassifier(n_estimators=30, random_state=0).fit(X, X["a"] % 2)
    for model, compression in ((fitted, zipfile.ZIP_STORED), (forest, zipfile.ZIP_DEFLATED)):
        raw = sio.dumps(model, compression=compression)
        check_zip_bounds(raw)
        assert type(load_skops(raw, allow_untrusted=True)) is type(model)
    demo = sorted(Path(__file__).resolve().parents[2].glob("reports/demo/artifacts/*.skops"))
    for path in demo:
        check_zip_bounds(path.read_bytes(), str(path))


def test_a_compressed_joblib_bomb_is_refused_before_joblib_inflates_it(tmp_path) -> None:
    import zlib

    from gatekit.model.formats import detect_format

    comp = zlib.compressobj(6)
    parts = [comp.compress(pickle.dumps(1, protocol=4))]
    chunk = b"\0" * (8 * 1024**2)
    parts += [comp.compress(chunk) for _ in range(32)]  # 256 MiB after the pickle
    parts.append(comp.flush())
    path = tmp_path / "bomb.joblib"
    path.write_bytes(b"".join(parts))
    assert detect_format(path.read_bytes()).details.get("compression") == "zlib"
    err, seconds, peak = _load_measured(path)
    assert "MAX_RATIO" in str(err) and "zlib stream" in str(err) and str(path) in str(err)
    # at most MAX_RATIO times the file inflated, in 1 MiB chunks that are dropped
    assert seconds < 2 and peak < 64 * 1024**2, (seconds, peak)


def test_an_honest_compressed_joblib_model_loads(tmp_path, fitted) -> None:
    from gatekit.model.loading import load_model

    for compress in (("zlib", 3), ("gzip", 3), ("bz2", 3), ("xz", 3)):
        path = tmp_path / f"m.{compress[0]}.joblib"
        joblib.dump(fitted, path, compress=compress)
        model = load_model(path, None, True, {})
        assert model.coef_.tolist() == fitted.coef_.tolist()


# ---- models given as Python objects: no file, no bytes; scored as the same model saved to a file


def test_a_pipeline_object_scores_as_its_skops_file(onnx_models: dict[str, Any], tmp_path: Path) -> None:
    df, pipe = onnx_models["frame"], onnx_models["pipe"]
    sio.dump(pipe, tmp_path / "m.skops")
    from_file, _, _ = _load(tmp_path / "m.skops")
    obj, run, files = _load(pipe)
    assert obj is pipe and files == {}  # nothing read, nothing recorded as a file
    assert (run.model_path, run.model_bytes) == (None, None)
    assert run.model_format.format == "sklearn" and run.model_format.is_object
    rec = run.info["model_object"]
    assert rec["class"] == "sklearn.pipeline.Pipeline" and rec["kind"] == "sklearn"
    import sklearn

    assert (rec["library"], rec["library_version"]) == ("sklearn", sklearn.__version__)
    assert rec["trust"] == OBJECT_TRUST_NOTE
    # the content hash is the same for the object and its skops round trip (ids and zip times are not in it)
    assert rec["content_sha256"] == skops_content_sha256(sio.load(tmp_path / "m.skops"))
    assert rec["content_sha256"] != hashlib.sha256((tmp_path / "m.skops").read_bytes()).hexdigest()
    expected = _runner(from_file, df)(df[["x1", "x2", "g"]])
    assert np.array_equal(_runner(obj, df)(df[["x1", "x2", "g"]]), expected)
    assert np.array_equal(expected, pipe.predict_proba(df[["x1", "x2", "g"]])[:, 1])


def test_another_fitted_model_has_another_content_hash(onnx_models: dict[str, Any]) -> None:
    df = onnx_models["frame"]
    a = LogisticRegression().fit(df[["x1", "x2"]], df.y)
    b = LogisticRegression(C=0.01).fit(df[["x1", "x2"]], df.y)
    assert skops_content_sha256(a) != skops_content_sha256(b)
    assert skops_content_sha256(a) == skops_content_sha256(sio.loads(sio.dumps(a)))


@pytest.mark.parametrize("kind", ["zipmap", "tensor", "matrix", "regressor"])
@pytest.mark.parametrize("made_from", ["bytes", "path"])
def test_an_onnx_session_scores_as_its_file(onnx_models: dict[str, Any], kind: str, made_from: str) -> None:
    df, path = onnx_models["frame"], onnx_models["files"][kind]
    raw = path.read_bytes()
    session = ort.InferenceSession(raw if made_from == "bytes" else str(path), providers=["CPUExecutionProvider"])
    from_file, _, _ = _load(path)
    obj, run, _ = _load(session)
    assert isinstance(obj, OnnxModel) and obj.session is session
    assert run.model_format.format == "onnx" and run.model_format.is_object
    rec = run.info["model_object"]
    assert rec["class"] == "onnxruntime.capi.onnxruntime_inference_collection.InferenceSession"
    assert rec["content_sha256"] == hashlib.sha256(raw).hexdigest() and rec["library"] == "onnxruntime"
    assert obj.classes_ == from_file.classes_
    assert obj.input_signature() == onnx_signature(raw)
    assert obj.metadata()["producer"] == "skl2onnx"
    features = ["x1", "x2"] if kind in ("matrix", "regressor") else ["x1", "x2", "g"]
    if kind == "regressor":
        opts = InputOptions(features=features)
        a = make_runner(obj, df, opts, "regression", None, "d.csv")(df[features])
        b = make_runner(from_file, df, opts, "regression", None, "d.csv")(df[features])
    else:
        positive = 1 if kind == "matrix" else "yes"
        opts = InputOptions(features=features)
        a = make_runner(obj, df, opts, "classification", positive, "d.csv")(df[features])
        b = make_runner(from_file, df, opts, "classification", positive, "d.csv")(df[features])
    assert np.array_equal(a, b)


def test_a_session_whose_bytes_are_gone_is_not_hashable(onnx_models: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "gone.onnx"
    path.write_bytes(onnx_models["files"]["zipmap"].read_bytes())
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    path.unlink()
    obj, run, _ = _load(session)
    rec = run.info["model_object"]
    assert rec["content_sha256"] is None and rec["content_hash"].startswith("not hashable: ")
    # class labels come from the ZipMap output once it scored; the signature from onnxruntime's inputs
    df = onnx_models["frame"]
    assert obj.input_signature().features is not None
    obj.predict_proba(df[["x1", "x2", "g"]].head(2))
    assert obj.classes_ == ["no", "yes"]


def test_a_plain_object_with_predict_proba(onnx_models: dict[str, Any]) -> None:
    df = onnx_models["frame"]
    obj, run, _ = _load(Plain())
    rec = run.info["model_object"]
    assert run.model_format.format == "python-object" and rec["kind"] == "python-object"
    assert rec["class"] == "tests.model.helpers.Plain" and rec["content_sha256"] is None
    assert rec["content_hash"].startswith("not hashable")
    runner = _runner(obj, df)
    assert runner.kind == "python-object" and runner.features == ["x1", "x2"]
    assert np.array_equal(runner(df[["x1", "x2"]]), Plain().predict_proba(df)[:, 1])


def test_objects_that_cannot_be_gated_are_refused(onnx_models: dict[str, Any]) -> None:
    df = onnx_models["frame"]
    with pytest.raises(InputError, match="pins a model file's sha256"):
        _load(onnx_models["pipe"], sha="0" * 64)
    with pytest.raises(InputError, match="not fitted"):
        _load(LogisticRegression())
    with pytest.raises(InputError, match="neither predict_proba nor predict"):
        _load(object())

    class NoClasses:
        feature_names_in_ = np.array(["x1"], dtype=object)

        def predict_proba(self, X: Any) -> np.ndarray:
            return np.column_stack([np.zeros(len(X)), np.ones(len(X))])

    obj, _, _ = _load(NoClasses())
    with pytest.raises(InputError, match="does not record its classes"):
        _runner(obj, df)


def test_object_kinds() -> None:
    assert object_kind(LinearRegression()) == "sklearn" and object_kind(Plain()) == "python-object"
    assert NOT_A_FILE == "the model was given as a Python object, not a file"


def test_a_run_with_a_model_object_scores_as_with_its_file(onnx_models: dict[str, Any], tmp_path: Path) -> None:
    df, pipe = onnx_models["frame"], onnx_models["pipe"]
    sio.dump(pipe, tmp_path / "m.skops")
    policy = {"version": 1, "metrics": [{"name": "auc_roc", "op": ">=", "value": 0.5}]}
    expected = roc_auc_score((df.y == "yes").astype(int), pipe.predict_proba(df[["x1", "x2", "g"]])[:, 1])
    by_file = gatekit.run(policy, data=onnx_models["data"], target="y", model=tmp_path / "m.skops")
    by_object = gatekit.run(policy, data=onnx_models["data"], target="y", model=pipe)
    assert by_file.checks[0].observed == pytest.approx(expected, abs=1e-12)
    assert by_object.checks[0].observed == by_file.checks[0].observed
    assert by_object.metadata["inputs"]["model_object"]["class"] == "sklearn.pipeline.Pipeline"
    assert "model" not in by_object.metadata["inputs"]["files"]


def test_a_run_with_a_baseline_session_compares_as_with_its_file(onnx_models: dict[str, Any],
                                                                   tmp_path: Path) -> None:
    pipe = onnx_models["pipe"]
    sio.dump(pipe, tmp_path / "m.skops")
    policy = {"version": 1, "metrics": [{"name": "auc_roc", "max_drop": 0.5}]}
    by_file = gatekit.run(policy, data=onnx_models["data"], target="y", model=tmp_path / "m.skops",
                          baseline_model=onnx_models["files"]["zipmap"])
    session = ort.InferenceSession(onnx_models["files"]["zipmap"].read_bytes(), providers=["CPUExecutionProvider"])
    by_object = gatekit.run(policy, data=onnx_models["data"], target="y", model=pipe, baseline_model=session)
    assert [c.observed for c in by_object.checks] == [c.observed for c in by_file.checks]
    assert by_object.metadata["inputs"]["baseline_model_object"]["kind"] == "onnx"
