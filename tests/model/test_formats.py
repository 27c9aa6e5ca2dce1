"""Format detection and input signatures on real artifacts written by pickle, joblib, skops, skl2onnx and onnx."""

from __future__ import annotations

import io
import json
import pickle
import random
import zipfile

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from gatekit.model.formats import (
    KNOWN_FORMAT_NAMES,
    OBJECT_KINDS,
    Feature,
    FormatInfo,
    detect_format,
    extension_conflict,
    mlflow_signature,
    onnx_signature,
    session_signature,
    sklearn_signature,
)

COLUMNS = ["age", "income", "tenure"]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.normal(size=(40, 3)), columns=COLUMNS)


@pytest.fixture(scope="module")
def model(frame: pd.DataFrame) -> LogisticRegression:
    return LogisticRegression().fit(frame, (frame["age"] > 0).astype(int))


def _joblib_bytes(obj: object, tmp_path, **kwargs) -> bytes:
    path = tmp_path / "model.joblib"
    joblib.dump(obj, path, **kwargs)
    return path.read_bytes()


def test_known_format_names() -> None:
    # files' formats, then the kinds of a model given as a Python object
    assert set(KNOWN_FORMAT_NAMES) == ({"onnx", "skops", "joblib", "pickle"} | {f"pickle_v{p}" for p in range(6)}
                                       | {"sklearn", "python-object"})


@pytest.mark.parametrize("protocol", [0, 1, 2, 3, 4, 5])
def test_pickle_protocols(model, protocol: int) -> None:
    info = detect_format(pickle.dumps(model, protocol=protocol))
    assert (info.format, info.protocol) == ("pickle", protocol)
    assert info.names() == {"pickle", f"pickle_v{protocol}"}


def test_joblib_uncompressed_default_protocol(model, tmp_path) -> None:
    info = detect_format(_joblib_bytes(model, tmp_path))
    assert (info.format, info.protocol, info.details["compression"]) == ("joblib", pickle.DEFAULT_PROTOCOL, None)
    assert info.names() == {"joblib"}


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_joblib_uncompressed_protocols(model, tmp_path, protocol: int) -> None:
    info = detect_format(_joblib_bytes(model, tmp_path, protocol=protocol))
    assert (info.format, info.protocol) == ("joblib", protocol)


def test_joblib_of_plain_python_object_is_a_pickle(tmp_path) -> None:
    raw = _joblib_bytes({"threshold": 0.5, "labels": ["a", "b"]}, tmp_path)
    info = detect_format(raw)
    assert info.format == "pickle"  # no numpy array, so nothing tells it from pickle.dump
    assert extension_conflict("model.joblib", info) is None


@pytest.mark.parametrize(("compress", "method"), [
    (3, "zlib"), (("zlib", 3), "zlib"), (("gzip", 3), "gzip"), (("bz2", 3), "bz2"), (("xz", 3), "xz"),
    (("lzma", 3), "lzma"),
])
def test_joblib_compressed(model, tmp_path, compress, method: str) -> None:
    info = detect_format(_joblib_bytes(model, tmp_path, compress=compress, protocol=4))
    assert info.format == "joblib"
    assert info.protocol is None
    assert info.details == {"compression": method, "pickle_protocol": 4}
    assert info.names() == {"joblib"}


def test_skops(model) -> None:
    import skops.io as sio

    raw = sio.dumps(model)
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        written_protocol = json.loads(archive.read("schema.json"))["protocol"]
        entries = len(archive.namelist())
    info = detect_format(raw)
    assert info.format == "skops"
    assert info.details == {"protocol": written_protocol, "files": entries}
    assert isinstance(info.details["protocol"], int)
    assert info.names() == {"skops"}


def test_onnx_from_skl2onnx_single_tensor(model, frame) -> None:
    from skl2onnx import to_onnx

    raw = to_onnx(model, frame[:1].to_numpy().astype(np.float32)).SerializeToString()
    info = detect_format(raw)
    assert info.format == "onnx"
    assert info.details["producer"].startswith("skl2onnx")
    assert info.details["ir_version"] > 0 and "ai.onnx" in info.details["opset"]
    assert info.names() == {"onnx"}
    sig = onnx_signature(raw)
    assert sig.source == "onnx" and sig.features is None
    assert len(sig.tensor_inputs) == 1
    assert sig.tensor_inputs[0]["shape"] == [None, len(COLUMNS)]
    assert sig.tensor_inputs[0]["type"] == "float"
    assert any("unnamed" in note and str(len(COLUMNS)) in note for note in sig.notes)


def test_onnx_one_input_per_column_skl2onnx() -> None:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, Int64TensorType
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "b": [0, 1, 0, 1, 1, 0]})
    pipe = make_pipeline(ColumnTransformer([("a", StandardScaler(), ["a"]), ("b", "passthrough", ["b"])]),
                         LogisticRegression()).fit(data, [0, 0, 1, 1, 1, 0])
    raw = convert_sklearn(pipe, initial_types=[("a", FloatTensorType([None, 1])),
                                               ("b", Int64TensorType([None, 1]))]).SerializeToString()
    assert detect_format(raw).format == "onnx"
    sig = onnx_signature(raw)
    assert sig.features == [Feature("a", "float"), Feature("b", "integer")]
    assert [t["shape"] for t in sig.tensor_inputs] == [[None, 1], [None, 1]]


def _tiny_onnx(initializer: bool = False) -> bytes:
    from onnx import TensorProto, helper

    inputs = [helper.make_tensor_value_info("a", TensorProto.FLOAT, [None, 1]),
              helper.make_tensor_value_info("b", TensorProto.INT64, [None]),
              helper.make_tensor_value_info("flag", TensorProto.BOOL, [None, 1]),
              helper.make_tensor_value_info("city", TensorProto.STRING, [None, 1])]
    inits = []
    if initializer:  # IR < 4 lists initializers among the graph inputs too
        inputs.append(helper.make_tensor_value_info("w", TensorProto.FLOAT, [1]))
        inits.append(helper.make_tensor("w", TensorProto.FLOAT, [1], [2.0]))
    nodes = [helper.make_node("Cast", ["b"], ["bf"], to=TensorProto.FLOAT),
             helper.make_node("Add", ["a", "bf"], ["y"])]
    graph = helper.make_graph(nodes, "tiny", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              initializer=inits)
    return helper.make_model(graph, producer_name="gatekit-test").SerializeToString()


@pytest.mark.parametrize("initializer", [False, True])
def test_onnx_helper_graph_types(initializer: bool) -> None:
    raw = _tiny_onnx(initializer)
    info = detect_format(raw)
    assert info.format == "onnx" and info.details["producer"] == "gatekit-test"
    sig = onnx_signature(raw)
    assert sig.features == [Feature("a", "float"), Feature("b", "integer"), Feature("flag", "boolean"),
                            Feature("city", "string")]
    assert "w" not in [t["name"] for t in sig.tensor_inputs]


@pytest.mark.parametrize("initializer", [False, True])
def test_a_session_lists_the_inputs_the_graph_declares(initializer: bool) -> None:
    import onnxruntime as ort

    raw = _tiny_onnx(initializer)
    session = ort.InferenceSession(raw, providers=["CPUExecutionProvider"])
    sig = session_signature([(i.name, i.type, i.shape) for i in session.get_inputs()])
    assert sig == onnx_signature(raw)  # onnxruntime's view of the graph and the graph itself agree


def test_format_info_of_a_model_object() -> None:
    info = FormatInfo("sklearn", None, {"given_as": "python object"})
    assert info.is_object and info.names() == {"sklearn"}
    assert not FormatInfo("onnx").is_object
    assert set(OBJECT_KINDS) <= set(KNOWN_FORMAT_NAMES) | {"onnx"}


def test_onnx_signature_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="not an ONNX model"):
        onnx_signature(b"\xff\xff\xff\xff not protobuf")


def test_pickle_named_onnx_conflicts(model, tmp_path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(pickle.dumps(model, protocol=4))
    info = detect_format(path.read_bytes())
    assert (info.format, info.protocol) == ("pickle", 4)
    message = extension_conflict(path, info)
    assert message is not None and ".onnx" in message and "pickle" in message and "protocol 4" in message


def test_extension_agreement_and_unknown_extensions(model, tmp_path) -> None:
    pkl = detect_format(pickle.dumps(model, protocol=5))
    assert extension_conflict("m.pkl", pkl) is None
    assert extension_conflict("m.PICKLE", pkl) is None
    assert extension_conflict("m.joblib", pkl) is None
    assert extension_conflict("m.bin", pkl) is None
    assert extension_conflict("model", pkl) is None
    assert "skops" in extension_conflict("m.skops", pkl)
    compressed = detect_format(_joblib_bytes(model, tmp_path, compress=3))
    assert extension_conflict("m.joblib", compressed) is None
    assert extension_conflict("m.pkl", compressed) is None  # joblib dumps are commonly named .pkl
    message = extension_conflict("m.onnx", compressed)
    assert message is not None and ".onnx" in message and "joblib" in message and "zlib" in message
    assert extension_conflict("m.onnx", detect_format(b"")) is None  # unknown content: its reason says more


def test_sklearn_signature_dataframe(model) -> None:
    sig = sklearn_signature(model)
    assert sig is not None and sig.source == "sklearn"
    assert sig.features == [Feature(c, None) for c in COLUMNS]
    assert sig.tensor_inputs == []


def test_sklearn_signature_numpy_and_unfitted(frame) -> None:
    fitted = LogisticRegression().fit(frame.to_numpy(), (frame["age"] > 0).astype(int))
    sig = sklearn_signature(fitted)
    assert sig is not None and sig.features is None
    assert any(str(len(COLUMNS)) in note for note in sig.notes)
    assert sklearn_signature(LogisticRegression()) is None
    assert sklearn_signature(object()) is None


MLMODEL = """\
artifact_path: model
flavors:
  python_function:
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.sklearn
    model_path: model.pkl
    predict_fn: predict
    python_version: 3.11.9
  sklearn:
    code: null
    pickled_model: model.pkl
    serialization_format: cloudpickle
    sklearn_version: 1.5.1
mlflow_version: 2.16.2
model_size_bytes: 1024
model_uuid: 6d3f0a0e1c3c4c5f9b3e2f7a8d9c0b1a
run_id: 1c2b3a4d5e6f
signature:
  inputs: '{inputs}'
  outputs: '[{{"type": "long", "required": true}}]'
  params: null
utc_time_created: '2024-09-10 12:00:00.000000'
"""


def _write_mlmodel(directory, inputs: list[dict]) -> None:
    (directory / "MLmodel").write_text(MLMODEL.format(inputs=json.dumps(inputs)), encoding="utf-8")


def test_mlflow_column_signature(tmp_path) -> None:
    _write_mlmodel(tmp_path, [
        {"type": "double", "name": "x", "required": True}, {"type": "long", "name": "n", "required": True},
        {"type": "string", "name": "city", "required": False}, {"type": "boolean", "name": "flag"},
        {"type": "datetime", "name": "ts", "required": True}, {"type": "binary", "name": "blob", "required": True},
        {"type": "float", "name": "f"}, {"type": "integer", "name": "i"},
    ])
    expected = [Feature("x", "float"), Feature("n", "integer"), Feature("city", "string", required=False),
                Feature("flag", "boolean"), Feature("ts", "datetime"), Feature("blob", None), Feature("f", "float"),
                Feature("i", "integer")]
    sig = mlflow_signature(tmp_path)  # the model directory
    assert sig is not None and sig.source == "mlflow" and sig.features == expected
    (tmp_path / "model.pkl").write_bytes(b"")
    beside = mlflow_signature(tmp_path / "model.pkl")  # an artifact with MLmodel beside it
    assert beside is not None and beside.features == expected


def test_mlflow_tensor_signature(tmp_path) -> None:
    _write_mlmodel(tmp_path, [{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}}])
    sig = mlflow_signature(tmp_path)
    assert sig is not None and sig.features is None and any("tensor" in note for note in sig.notes)


@pytest.mark.parametrize("text", [
    "signature: [unclosed\n",
    "signature:\n  inputs: '[{\"type\": \"double\", \"name\": '\n",
    "signature:\n  inputs: '{\"type\": \"double\"}'\n",
    "signature:\n  inputs: '[{\"name\": \"x\"}]'\n",
    "signature: just a string\n",
    "signature:\n  inputs: '[{\"type\": [1], \"name\": \"x\"}]'\n",
    "- a list\n- not a mapping\n",
])
def test_mlflow_malformed(tmp_path, text: str) -> None:
    (tmp_path / "MLmodel").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="MLmodel"):
        mlflow_signature(tmp_path)


def _alias_bomb(levels: int) -> str:
    """A flow list whose YAML aliases expand to 10**levels leaves ("x"): a few hundred bytes of text."""
    parts = ['&a0 ["x","x","x","x","x","x","x","x","x","x"]']
    parts += [f"&a{i} [{','.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "[" + ", ".join(parts) + "]"


def test_mlflow_alias_bomb_is_refused_without_expanding_it(tmp_path) -> None:
    # the review's MLmodel: 497 bytes whose tensor-spec expands to 10**9 values; here 10**6 (a few MB if it were
    # turned into text, as the note's f-string did) so that a regression fails the test instead of the machine
    (tmp_path / "MLmodel").write_text("signature:\n  inputs:\n    - type: tensor\n      name: t\n"
                                      f"      tensor-spec: {_alias_bomb(6)}\n", encoding="utf-8")
    assert (tmp_path / "MLmodel").stat().st_size < 600
    with pytest.raises(ValueError, match="MLmodel") as err:
        mlflow_signature(tmp_path / "model.onnx")
    assert "expands to more than 100,000 values through YAML aliases" in str(err.value)
    assert len(str(err.value)) < 400


def test_mlflow_recursive_alias_deep_nesting_and_size_are_refused(tmp_path) -> None:
    for text, needle in [("signature: &s {inputs: *s}\n", "refers to itself"),
                         ("signature: " + "[" * 100 + "]" * 100 + "\n", "nested more than 64 levels"),
                         ("signature: {inputs: '" + "x" * (1024 * 1024) + "'}\n", "bytes (limit 1,048,576 bytes)")]:
        (tmp_path / "MLmodel").write_text(text, encoding="utf-8")
        with pytest.raises(ValueError, match="MLmodel") as err:
            mlflow_signature(tmp_path)
        assert needle in str(err.value) and len(str(err.value)) < 400


def test_mlflow_notes_show_user_values_bounded(tmp_path) -> None:
    # within the limits (200 aliases of one 2,000-character string) the note must still not spell them all out
    long = "y" * 2000
    (tmp_path / "MLmodel").write_text(
        "signature:\n  inputs:\n    - type: tensor\n      name: t\n"
        f"      tensor-spec: {{dtype: &s '{long}', shape: [{', '.join(['*s'] * 200)}]}}\n", encoding="utf-8")
    sig = mlflow_signature(tmp_path)
    assert sig is not None and sig.features is None
    (note,) = sig.notes
    assert note.startswith("tensor-based signature, columns are unnamed (t: {") and len(note) < 300
    _write_mlmodel(tmp_path, [{"type": "decimal" * 500, "name": "n" * 5000}] * 50)
    sig = mlflow_signature(tmp_path)
    assert sig is not None and len(sig.notes) == 11 and all(len(n) < 300 for n in sig.notes)
    assert sig.notes[-1] == "and 40 more columns whose MLflow type maps to no logical type"


def test_short_never_turns_a_whole_structure_into_text() -> None:
    from gatekit.model.formats import short

    shared = ["x" * 10_000] * 10_000  # 100 MB as text, one list in memory
    assert len(short([shared] * 10_000)) <= 80
    assert short("a\nb   c") == "a b c" and short("z" * 500, 20) == "z" * 17 + "..."


def test_mlflow_absent_or_without_signature(tmp_path) -> None:
    assert mlflow_signature(tmp_path) is None
    assert mlflow_signature(tmp_path / "model.pkl") is None
    (tmp_path / "MLmodel").write_text("artifact_path: model\nflavors: {}\n", encoding="utf-8")
    assert mlflow_signature(tmp_path) is None


def _plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data.csv", "a,b\n1,2\n")
    return buffer.getvalue()


@pytest.mark.parametrize(("raw", "reason"), [
    (b"", "empty"),
    (random.Random(0).randbytes(1000), "not a pickle"),
    (b"hello,world\n", "not a pickle"),
    (_plain_zip(), "schema.json"),
    (b"\x78this is not zlib data", "not a pickle"),
])
def test_unknown_inputs(raw: bytes, reason: str) -> None:
    info = detect_format(raw)
    assert info.format == "unknown" and reason in info.details["reason"]
    assert info.names() == set()


def test_random_bytes_never_onnx_or_crash() -> None:
    rng = random.Random(0)
    for _ in range(300):
        info = detect_format(rng.randbytes(rng.randint(1, 4000)))
        assert isinstance(info, FormatInfo) and info.format != "onnx"


def test_truncated_pickles_do_not_raise(model, tmp_path) -> None:
    raw = pickle.dumps(model, protocol=4)
    info = detect_format(raw[:10])
    assert (info.format, info.protocol) == ("pickle", 4)
    for cut in (1, 2, 3, 50, len(raw) // 2):
        assert isinstance(detect_format(raw[:cut]), FormatInfo)
    compressed = _joblib_bytes(model, tmp_path, compress=3)
    for cut in (1, 2, 20):
        assert isinstance(detect_format(compressed[:cut]), FormatInfo)
