"""Tests of :mod:`gatekit.sections.compatibility`: feature signatures (declared and read from real artifacts),
the data against the candidate's signature (pandera) and the model's format, on files written here by the
libraries themselves.

Expected outcomes are worked out by hand from the signatures and frames below.
"""

from __future__ import annotations

import json
import pickle
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

import gatekit
from gatekit.core.errors import InputError
from gatekit.core.results import CheckResult, Decision, OnFail, Status
from tests.helpers import REPO, run_cli
from tests.sections.helpers import by_name, csv

SEED3 = REPO / "policies" / "seed_example_3.yaml"
P, FL, ER, NC = Status.PASS, Status.FAIL, Status.ERROR, Status.NOT_COMPUTABLE

SEED3_MESSAGE = ("breaking change: new required feature discount_rate without default: the candidate takes it, "
                 "the expected signature does not have it")


def checks(report: Any) -> dict[str, CheckResult]:
    out = {c.name: c for c in report.checks if c.section == "compatibility"}
    assert len(out) == len([c for c in report.checks if c.section == "compatibility"])
    return out


def signature_policy(**fs: Any) -> dict[str, Any]:
    return {"version": 1, "compatibility": {"feature_signature": fs}}


def seed3() -> dict[str, Any]:
    return yaml.safe_load(SEED3.read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------------------------------
# Seed example 3 and declared signatures
# ------------------------------------------------------------------------------------------------------


def test_seed_example_3_blocks_on_the_cli(tmp_path: Path) -> None:
    res = run_cli("run", str(SEED3), "--out", str(tmp_path / "out"))
    assert res.returncode == 1, res.stdout + res.stderr
    report = json.loads((tmp_path / "out" / "gate_report.json").read_text(encoding="utf-8"))
    assert report["decision"] == "block"
    (check,) = [c for c in report["checks"] if c["name"] == "feature_signature"]
    assert check["status"] == "fail"
    assert check["message"] == SEED3_MESSAGE
    assert SEED3_MESSAGE in " ".join(res.stdout.split())


def test_seed_example_3_api_and_its_variants() -> None:
    base = seed3()
    report = gatekit.run(base)
    fs = checks(report)["feature_signature"]
    assert report.decision == Decision.BLOCK and fs.status == FL
    assert fs.message == SEED3_MESSAGE
    assert fs.observed == 1.0 and (fs.op, fs.threshold) == ("<=", 0.0)
    assert fs.details["breaking"] == [SEED3_MESSAGE]

    with_default = seed3()
    with_default["compatibility"]["feature_signature"]["defaults"] = {"discount_rate": 0.0}
    report = gatekit.run(with_default)
    fs = checks(report)["feature_signature"]
    assert fs.status == P and report.decision == Decision.PASS
    assert "discount_rate" in fs.message and "0.0" in fs.message

    strict = seed3()
    strict["compatibility"]["feature_signature"]["mode"] = "strict"
    strict["compatibility"]["feature_signature"]["defaults"] = {"discount_rate": 0.0}  # no help under strict
    fs = checks(gatekit.run(strict))["feature_signature"]
    assert fs.status == FL
    assert "new feature discount_rate" in fs.message and "strict" in fs.message


EXPECTED = {"item_id": "str", "price": "float", "stock": "int"}


@pytest.mark.parametrize(("mode", "candidate", "status", "needles"), [
    # the candidate no longer takes stock
    ("backward", {"item_id": "str", "price": "float"}, FL,
     ["feature stock removed: the expected signature has it, the candidate does not take it"]),
    ("strict", {"item_id": "str", "price": "float"}, FL,
     ["feature stock removed: the expected signature has it, the candidate does not take it"]),
    # float -> string is a type change in either mode
    ("backward", {"item_id": "str", "price": "str", "stock": "int"}, FL,
     ["type of price changed from float to string: the expected signature has float, the candidate takes "
      "string"]),
    # integer -> float: a widening under backward, a change under strict
    ("backward", {"item_id": "str", "price": "float", "stock": "float"}, P, ["integer -> float", "widening"]),
    ("strict", {"item_id": "str", "price": "float", "stock": "float"}, FL,
     ["type of stock changed from integer to float"]),
    # float -> integer narrows: never compatible
    ("backward", {"item_id": "str", "price": "int", "stock": "int"}, FL,
     ["type of price changed from float to integer"]),
    # the same signature in another order
    ("strict", {"stock": "int", "price": "float", "item_id": "str"}, P, ["different order"]),
])
def test_declared_signature_changes(mode: str, candidate: dict[str, str], status: Status,
                                    needles: list[str]) -> None:
    pol = signature_policy(mode=mode, expected=EXPECTED, candidate=candidate, validate_data=False)
    fs = checks(gatekit.run(pol))["feature_signature"]
    assert fs.status == status, fs.message
    for needle in needles:
        assert needle in fs.message, (needle, fs.message)


def test_feature_signature_off_plans_nothing() -> None:
    pol = {"version": 1, "compatibility": {"feature_signature": "off", "model_format": {"allowed": ["skops"]}}}
    report = gatekit.run(pol)
    assert set(checks(report)) == {"model_format"}


# ------------------------------------------------------------------------------------------------------
# Real artifacts, written once per module
# ------------------------------------------------------------------------------------------------------


TRAIN = pd.DataFrame({"price": [1.0, 2.5, 3.0, 4.5, 5.0, 6.5], "stock": [1, 2, 3, 4, 5, 6]})
LABELS = [0, 1, 0, 1, 0, 1]


# this module's artifacts (overrides the `art` fixture of tests/conftest.py, a signed pickle)
@pytest.fixture(scope="module")
def art(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import joblib
    import onnx
    import skops.io as sio
    from onnx import TensorProto, helper
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    d = tmp_path_factory.mktemp("compat_artifacts")
    out: dict[str, Path] = {"dir": d}
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(TRAIN, LABELS)
    assert list(pipe.feature_names_in_) == ["price", "stock"]

    out["skops"] = d / "pipe.skops"
    sio.dump(pipe, out["skops"])
    for proto in (2, 5):
        out[f"p{proto}"] = d / f"pipe_p{proto}.pkl"
        out[f"p{proto}"].write_bytes(pickle.dumps(pipe, protocol=proto))
    out["joblib"] = d / "pipe.joblib"
    joblib.dump(pipe, out["joblib"])
    out["pickle_named_onnx"] = d / "model.onnx"
    out["pickle_named_onnx"].write_bytes(pickle.dumps(pipe, protocol=4))
    out["skl2onnx"] = d / "lr.onnx"
    x32 = TRAIN.to_numpy(dtype="float32")
    out["skl2onnx"].write_bytes(to_onnx(LogisticRegression().fit(x32, LABELS), x32[:1]).SerializeToString())

    # one graph input per column, declared types: price float, stock int64, item_id string
    inputs = [helper.make_tensor_value_info("price", TensorProto.FLOAT, [None, 1]),
              helper.make_tensor_value_info("stock", TensorProto.INT64, [None, 1]),
              helper.make_tensor_value_info("item_id", TensorProto.STRING, [None, 1])]
    graph = helper.make_graph([helper.make_node("Identity", ["price"], ["score"])], "per_column", inputs,
                              [helper.make_tensor_value_info("score", TensorProto.FLOAT, [None, 1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    out["onnx_columns"] = d / "columns.onnx"
    out["onnx_columns"].write_bytes(model.SerializeToString())

    # an MLflow model directory: MLmodel beside the artifact, stock declared long
    mlflow_dir = d / "mlflow_model"
    mlflow_dir.mkdir()
    out["mlflow"] = mlflow_dir / "model.skops"
    sio.dump(pipe, out["mlflow"])
    (mlflow_dir / "MLmodel").write_text(textwrap.dedent("""\
        artifact_path: model
        flavors:
          python_function: {loader_module: mlflow.sklearn, python_version: 3.11.0}
        signature:
          inputs: '[{"type": "double", "name": "price", "required": true}, {"type": "long", "name": "stock",
            "required": true}]'
          outputs: '[{"type": "long", "required": true}]'
        """), encoding="utf-8")

    # production model on price, stock; candidate trained after stock was renamed stock_level
    out["prod"] = d / "production.skops"
    sio.dump(LogisticRegression().fit(TRAIN, LABELS), out["prod"])
    renamed = TRAIN.rename(columns={"stock": "stock_level"})
    out["cand_renamed"] = d / "candidate_renamed.skops"
    sio.dump(LogisticRegression().fit(renamed, LABELS), out["cand_renamed"])
    out["renamed_csv"] = d / "renamed.csv"
    renamed.to_csv(out["renamed_csv"], index=False)

    out["train_csv"] = d / "train.csv"
    TRAIN.to_csv(out["train_csv"], index=False)
    out["train_y_csv"] = d / "train_y.csv"
    TRAIN.assign(y=LABELS).to_csv(out["train_y_csv"], index=False)
    out["with_region_csv"] = d / "with_region.csv"
    TRAIN.assign(region=list("nsnsns")).to_csv(out["with_region_csv"], index=False)
    out["price_only_csv"] = d / "price_only.csv"
    TRAIN[["price"]].to_csv(out["price_only_csv"], index=False)
    out["items_csv"] = d / "items.csv"
    (d / "items.csv").write_text("item_id,price,stock\na,1.5,1\nb,2.0,2\nc,3.0,3\n", encoding="utf-8")
    out["float_stock_csv"] = d / "float_stock.csv"
    (d / "float_stock.csv").write_text("price,stock\n1.0,1.0\n2.5,2.0\n3.0,3.0\n", encoding="utf-8")
    return out


def test_candidate_from_a_skops_pipeline_compares_expected_types_with_the_data(art: dict[str, Path]) -> None:
    # scikit-learn records names only: the candidate's types stay unknown, and the expected types are compared
    # with what the evaluation data holds, said to be the data's
    pol = signature_policy(mode="strict", expected={"price": "float", "stock": "int"})
    c = checks(gatekit.run(pol, data=art["train_csv"], model=art["skops"]))
    fs = c["feature_signature"]
    assert fs.status == P, fs.message
    assert fs.details["candidate"] == {"price": None, "stock": None}
    assert fs.details["candidate_source"].endswith("(sklearn (types not recorded))")
    assert fs.details["types_not_recorded_by_candidate"] == ["price", "stock"]
    assert "the candidate does not record the type of price, stock: the evaluation data holds the expected type " \
           "(compared with the data, not with the candidate)" in fs.message
    rows = {r["name"]: (r["expected"], r["candidate"], r["data"], r["change"]) for r in fs.details["features"]}
    assert rows == {"price": ("float", None, "float", "same in the evaluation data"),
                    "stock": ("integer", None, "integer", "same in the evaluation data")}
    assert c["data_signature"].status == P
    assert "types are not checked: the candidate records none" in c["data_signature"].message


def test_candidate_from_an_onnx_graph_with_one_input_per_column(art: dict[str, Path]) -> None:
    pol = signature_policy(mode="strict", expected={"item_id": "string", "price": "float", "stock": "integer"})
    pol["compatibility"]["model_format"] = {"allowed": ["onnx"]}
    c = checks(gatekit.run(pol, data=art["items_csv"], model=art["onnx_columns"]))
    fs = c["feature_signature"]
    assert fs.status == P, fs.message
    assert fs.details["candidate"] == {"price": "float", "stock": "integer", "item_id": "string"}
    assert "(onnx)" in fs.details["candidate_source"]
    assert c["data_signature"].status == P
    assert c["model_format"].status == P


def test_onnx_with_one_matrix_input_has_no_named_features(art: dict[str, Path]) -> None:
    c = checks(gatekit.run(signature_policy(mode="strict"), data=art["train_csv"], model=art["skl2onnx"]))
    assert c["feature_signature"].status == NC
    assert "unnamed" in c["feature_signature"].message
    assert c["data_signature"].status == NC


def test_candidate_from_an_mlflow_mlmodel_beside_the_artifact(art: dict[str, Path]) -> None:
    # the data's stock column is float64; the MLmodel declares it long, and the MLmodel wins
    assert str(pd.read_csv(art["float_stock_csv"])["stock"].dtype) == "float64"
    pol = signature_policy(mode="strict", expected={"price": "float", "stock": "integer"})
    c = checks(gatekit.run(pol, data=art["float_stock_csv"], model=art["mlflow"]))
    fs = c["feature_signature"]
    assert fs.status == P, fs.message
    assert fs.details["candidate"] == {"price": "float", "stock": "integer"}
    assert "mlflow" in fs.details["candidate_source"]  # names from the artifact, types from its MLmodel


@pytest.mark.parametrize(("mode", "added"), [
    ("backward", "new required feature stock_level without default"),
    # scikit-learn records no types: the candidate's type is unknown (never the data's)
    ("strict", "new feature stock_level (type unknown): the candidate takes it, the expected signature does not "
               "have it (strict)"),
])
def test_expected_model_against_a_candidate_with_a_renamed_column(art: dict[str, Path], mode: str,
                                                                  added: str) -> None:
    pol = signature_policy(mode=mode, expected_model=str(art["prod"]))
    c = checks(gatekit.run(pol, data=art["renamed_csv"], model=art["cand_renamed"]))
    fs = c["feature_signature"]
    assert fs.status == FL
    assert "feature stock removed: the expected signature has it, the candidate does not take it" in fs.message
    assert added in fs.message
    assert len(fs.details["breaking"]) == 2 and fs.observed == 2.0
    assert set(fs.details["expected"]) == {"price", "stock"}
    assert "production model production.skops" in fs.details["expected_source"]


def test_expected_model_that_is_a_pickle_is_never_unpickled(art: dict[str, Path]) -> None:
    pol = signature_policy(mode="strict", expected_model=str(art["p5"]))
    fs = checks(gatekit.run(pol, data=art["train_csv"], model=art["skops"]))["feature_signature"]
    assert fs.status == NC and "never unpickles" in fs.message


@pytest.mark.parametrize(("name", "text"), [
    ("sig.yaml", "price: float\nstock_level: int\n"),
    ("sig.json", json.dumps({"features": [{"name": "price", "type": "double"},
                                          {"name": "stock_level", "type": "long"}]})),
])
def test_expected_file_as_yaml_mapping_or_json_feature_list(art: dict[str, Path], tmp_path: Path, name: str,
                                                            text: str) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    pol = signature_policy(mode="strict", expected_file=str(tmp_path / name))
    fs = checks(gatekit.run(pol, data=art["renamed_csv"], model=art["cand_renamed"]))["feature_signature"]
    assert fs.status == P, fs.message
    assert fs.details["expected"] == {"price": "float", "stock_level": "integer"}
    assert fs.details["expected_source"] == f"file {name}"


@pytest.mark.parametrize(("text", "needle"), [
    ("price: [float\n", "cannot read the signature file"),
    ("- price\n- stock_level\n", "expected a mapping"),
    ("price: decimal\n", "unknown type 'decimal'"),
])
def test_malformed_expected_file_is_not_computable_naming_the_file(art: dict[str, Path], tmp_path: Path,
                                                                   text: str, needle: str) -> None:
    (tmp_path / "broken_sig.yaml").write_text(text, encoding="utf-8")
    pol = signature_policy(mode="strict", expected_file=str(tmp_path / "broken_sig.yaml"))
    report = gatekit.run(pol, data=art["renamed_csv"], model=art["cand_renamed"])
    fs = checks(report)["feature_signature"]
    assert fs.status == NC
    assert "broken_sig.yaml" in fs.message and needle in fs.message
    assert report.decision == Decision.BLOCK  # strict: a block rule that is not a clean pass


def test_data_is_still_validated_when_only_the_expected_file_is_broken(art: dict[str, Path],
                                                                       tmp_path: Path) -> None:
    (tmp_path / "broken_sig.yaml").write_text("price: [float\n", encoding="utf-8")
    pol = signature_policy(mode="strict", expected_file=str(tmp_path / "broken_sig.yaml"))
    data_sig = checks(gatekit.run(pol, data=art["renamed_csv"], model=art["cand_renamed"]))["data_signature"]
    assert data_sig.status == P  # renamed.csv holds price and stock_level, what the candidate takes


# ------------------------------------------------------------------------------------------------------
# data_signature (pandera)
# ------------------------------------------------------------------------------------------------------


CANDIDATE = {"item_id": "str", "price": "float", "stock": "int", "discount_rate": "float"}


def _data_signature(tmp_path: Path, csv: str, **fs: Any) -> CheckResult:
    (tmp_path / "d.csv").write_text(csv, encoding="utf-8")
    pol = signature_policy(mode="backward", expected=EXPECTED, candidate=CANDIDATE, **fs)
    return checks(gatekit.run(pol, data=tmp_path / "d.csv"))["data_signature"]


def test_data_missing_a_candidate_feature(tmp_path: Path) -> None:
    # discount_rate has a default, stock has none and is missing
    ds = _data_signature(tmp_path, "item_id,price\na,1.5\nb,2.0\n", defaults={"discount_rate": 0.0})
    assert ds.status == FL
    assert "'stock' missing" in ds.message
    assert "discount_rate" not in ds.message
    assert ds.observed == 1.0 and ds.details["failure_count"] == 1


def test_data_with_a_wrong_logical_type(tmp_path: Path) -> None:
    # price holds text ("x"), so pandas reads it as object; stock has a missing value (float64, whole numbers)
    ds = _data_signature(tmp_path, "item_id,price,stock\na,1.5,1\nb,x,\nc,3.0,3\n",
                         defaults={"discount_rate": 0.0})
    assert ds.status == FL
    assert "'price'" in ds.message and "float" in ds.message
    assert [f["column"] for f in ds.details["failures"]] == ["price"]


def test_data_type_failure_names_the_observed_dtype(tmp_path: Path) -> None:
    ds = _data_signature(tmp_path, "item_id,price,stock\na,1.5,1\nb,x,2\n", defaults={"discount_rate": 0.0})
    assert ds.details["failures"][0]["failure"] == "object"


def test_feature_with_a_default_may_be_absent(tmp_path: Path) -> None:
    ds = _data_signature(tmp_path, "item_id,price,stock\na,1.5,1\nb,2.0,2\n", defaults={"discount_rate": 0.0})
    assert ds.status == P, ds.message
    without_default = _data_signature(tmp_path, "item_id,price,stock\na,1.5,1\nb,2.0,2\n")
    assert without_default.status == FL and "'discount_rate' missing" in without_default.message


# ------------------------------------------------------------------------------------------------------
# model_format
# ------------------------------------------------------------------------------------------------------


FORMAT_CASES = [
    ("skops", ["skops"], P),
    ("skl2onnx", ["skops"], FL),
    ("skl2onnx", ["onnx"], P),
    ("p2", ["pickle_v2"], P),
    ("p5", ["pickle_v2"], FL),
    ("p5", ["pickle"], P),
    ("p5", ["pickle_v5"], P),
    ("joblib", ["joblib"], P),
    ("joblib", ["onnx", "skops"], FL),
]


@pytest.mark.parametrize(("key", "allowed", "status"), FORMAT_CASES)
def test_model_format_on_real_files(art: dict[str, Path], key: str, allowed: list[str], status: Status) -> None:
    pol = {"version": 1, "compatibility": {"model_format": {"allowed": allowed}}}
    report = gatekit.run(pol, data=art["train_csv"], model=art[key], trust_model=True)
    mf = checks(report)["model_format"]
    assert mf.status == status, mf.message
    assert mf.on_fail == OnFail.BLOCK


def test_model_format_details_of_pickles(art: dict[str, Path]) -> None:
    import hashlib

    pol = {"version": 1, "compatibility": {"model_format": {"allowed": ["pickle_v2"]}}}
    sha = hashlib.sha256(art["p2"].read_bytes()).hexdigest()
    mf = checks(gatekit.run(pol, data=art["train_csv"], model=art["p2"], model_sha256=sha))["model_format"]
    assert mf.status == P
    assert mf.details["detected"] == "pickle" and mf.details["protocol"] == 2
    assert set(mf.details["satisfies"]) == {"pickle", "pickle_v2"}
    mf5 = checks(gatekit.run(pol, data=art["train_csv"], model=art["p5"], trust_model=True))["model_format"]
    assert mf5.status == FL and "protocol 5" in mf5.message


def test_pickle_named_onnx_fails_whatever_is_allowed(art: dict[str, Path]) -> None:
    pol = {"version": 1, "compatibility": {"model_format": {"allowed": ["pickle", "onnx"]}}}
    mf = checks(gatekit.run(pol, data=art["train_csv"], model=art["pickle_named_onnx"],
                            trust_model=True))["model_format"]
    assert mf.status == FL
    assert ".onnx" in mf.message and "pickle" in mf.message


def test_pickle_without_hash_or_trust_is_refused(art: dict[str, Path]) -> None:
    pol = {"version": 1, "compatibility": {"model_format": {"allowed": ["pickle"]}}}
    with pytest.raises(InputError, match="refusing to unpickle"):
        gatekit.run(pol, data=art["train_csv"], model=art["p5"])


def test_no_model_is_not_computable(art: dict[str, Path]) -> None:
    pol = {"version": 1, "compatibility": {"model_format": {"allowed": ["skops"]}}}
    report = gatekit.run(pol, data=art["train_csv"])
    mf = checks(report)["model_format"]
    assert mf.status == NC and "no model artifact" in mf.message
    assert report.decision == Decision.BLOCK


def test_onnx_model_is_scored_by_onnxruntime(art: dict[str, Path]) -> None:
    pol = {"version": 1, "compatibility": {"model_format": {"allowed": ["onnx"]}}}
    # without a target nothing is scored: the file is only inspected
    assert checks(gatekit.run(pol, data=art["train_y_csv"], model=art["skl2onnx"]))["model_format"].status == P
    # one matrix input names no columns: gatekit asks for them
    with pytest.raises(InputError, match=r"inputs\.features"):
        gatekit.run(pol, data=art["train_y_csv"], target="y", model=art["skl2onnx"])
    # with them, onnxruntime scores the rows: the same probabilities scikit-learn gives (float32 graph)
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    pol["metrics"] = [{"name": "auc_roc", "op": ">=", "value": 0.0}]
    report = gatekit.run(pol, data=art["train_y_csv"], target="y", model=art["skl2onnx"],
                         features=["price", "stock"])
    frame = pd.read_csv(art["train_y_csv"])
    x32 = TRAIN.to_numpy(dtype="float32")
    lr = LogisticRegression().fit(x32, LABELS)
    proba = lr.predict_proba(frame[["price", "stock"]].to_numpy(dtype="float32"))[:, 1]
    y = (frame["y"].astype(str) == str(lr.classes_[1])).astype(int)
    auc = next(c for c in report.checks if c.name == "auc_roc")
    assert auc.observed == pytest.approx(roc_auc_score(y, proba), abs=1e-6)


def test_onnx_model_next_to_a_score_column(art: dict[str, Path]) -> None:
    pol = {"version": 1, "compatibility": {"model_format": {"allowed": ["onnx"]}},
           "metrics": [{"name": "accuracy", "op": ">=", "value": 0.0}]}
    report = gatekit.run(pol, data=art["train_y_csv"], target="y", score="price", model=art["skl2onnx"])
    assert checks(report)["model_format"].status == P


# ------------------------------------------------------------------------------------------------------
# Shorthand: feature_signature: strict | compatible (expected = the evaluation data's columns)
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("shorthand", "mode"), [("strict", "strict"), ("compatible", "backward")])
def test_shorthand_with_exactly_the_models_columns(art: dict[str, Path], shorthand: str, mode: str) -> None:
    pol = {"version": 1, "compatibility": {"feature_signature": shorthand}}
    c = checks(gatekit.run(pol, data=art["train_csv"], model=art["skops"]))
    fs = c["feature_signature"]
    assert fs.status == P, fs.message
    assert fs.details["mode"] == mode and fs.message.startswith(f"{mode}:")
    assert fs.details["expected_source"].startswith("evaluation data columns")
    assert fs.details["expected"] == {"price": "float", "stock": "integer"}
    assert c["data_signature"].status == P


@pytest.mark.parametrize(("shorthand", "needle"), [
    ("strict", "new feature stock (type unknown): the candidate takes it, the evaluation data does not have it "
               "(strict)"),
    ("compatible", "new required feature stock without default: the candidate takes it, the evaluation data does "
                   "not have it"),
])
def test_shorthand_when_the_data_lacks_a_model_feature(art: dict[str, Path], shorthand: str, needle: str) -> None:
    pol = {"version": 1, "compatibility": {"feature_signature": shorthand}}
    c = checks(gatekit.run(pol, data=art["price_only_csv"], model=art["skops"]))
    assert c["feature_signature"].status == FL
    assert needle in c["feature_signature"].message
    assert c["data_signature"].status == FL and "'stock' missing" in c["data_signature"].message


@pytest.mark.parametrize("shorthand", ["strict", "compatible"])
def test_shorthand_when_the_data_has_a_column_the_model_does_not_take(art: dict[str, Path], shorthand: str) -> None:
    # region was added to the data, not removed from the model: the model's signature (price, stock) is
    # intact, and a data column it does not take is only noted
    pol = {"version": 1, "compatibility": {"feature_signature": shorthand}}
    report = gatekit.run(pol, data=art["with_region_csv"], model=art["skops"])
    fs = checks(report)["feature_signature"]
    assert fs.status == P, fs.message
    assert report.decision == Decision.PASS
    assert fs.details["breaking"] == [] and fs.observed == 0.0
    assert fs.details["notes"] == ["the evaluation data has 1 column(s) the candidate does not take, not part of "
                                   "its signature: region",
                                   "names only for price, stock: the candidate does not record input types "
                                   "(scikit-learn keeps names only), so the evaluation data's types are not "
                                   "compared with it"]
    assert "removed" not in fs.message
    rows = {r["name"]: (r["expected"], r["candidate"], r["change"], r["breaking"]) for r in fs.details["features"]}
    assert rows == {"price": ("float", None, "names only (type not recorded)", False),
                    "stock": ("integer", None, "names only (type not recorded)", False),
                    "region": ("string", None, "data only (not a feature)", False)}


def test_an_id_column_added_to_the_data_does_not_block_on_the_cli(art: dict[str, Path], tmp_path: Path) -> None:
    # the hostile review's case: one extra id column in the evaluation data, feature_signature: strict
    data = tmp_path / "with_id.csv"
    TRAIN.assign(patient_id=[f"p{i}" for i in range(6)]).to_csv(data, index=False)
    pol = tmp_path / "policy.yaml"
    pol.write_text("version: 1\ncompatibility: {feature_signature: strict}\n", encoding="utf-8")
    res = run_cli("run", str(pol), "--data", str(data), "--model", str(art["skops"]), "--out", str(tmp_path / "o"))
    assert res.returncode == 0, res.stdout + res.stderr
    report = json.loads((tmp_path / "o" / "gate_report.json").read_text(encoding="utf-8"))
    (fs,) = [c for c in report["checks"] if c["name"] == "feature_signature"]
    assert fs["status"] == "pass" and "patient_id removed" not in fs["message"]
    assert "patient_id" in fs["message"]  # the note names it, as a data column the model does not take


@pytest.mark.parametrize("shorthand", ["strict", "compatible"])
def test_shorthand_with_a_column_removed_from_the_data_that_the_model_needs(art: dict[str, Path],
                                                                            shorthand: str) -> None:
    # the data lost stock; the model takes it: the message says the model takes it and the data lacks it
    pol = {"version": 1, "compatibility": {"feature_signature": shorthand}}
    fs = checks(gatekit.run(pol, data=art["price_only_csv"], model=art["skops"]))["feature_signature"]
    assert fs.status == FL and fs.observed == 1.0
    (msg,) = fs.details["breaking"]
    assert "the candidate takes it, the evaluation data does not have it" in msg and "stock" in msg
    assert "removed" not in msg


@pytest.mark.parametrize(("shorthand", "csv_text", "status", "message"), [
    # the data holds stock as float, the model takes int64: never compatible
    ("strict", "item_id,price,stock\na,1.5,1.5\nb,2.0,2.5\n", FL,
     "breaking change: type of stock changed from float to integer: the evaluation data has float, the candidate "
     "takes integer"),
    ("compatible", "item_id,price,stock\na,1.5,1.5\nb,2.0,2.5\n", FL,
     "breaking change: type of stock changed from float to integer: the evaluation data has float, the candidate "
     "takes integer"),
    # the data holds price as integer, the model takes float: a change under strict, a widening under backward
    ("strict", "item_id,price,stock\na,1,1\nb,2,2\n", FL,
     "breaking change: type of price changed from integer to float: the evaluation data has integer, the "
     "candidate takes float"),
    ("compatible", "item_id,price,stock\na,1,1\nb,2,2\n", P,
     "price: integer -> float (a widening: the evaluation data has integer, the candidate takes float)"),
])
def test_shorthand_type_change_each_way(art: dict[str, Path], tmp_path: Path, shorthand: str, csv_text: str,
                                        status: Status, message: str) -> None:
    (tmp_path / "d.csv").write_text(csv_text, encoding="utf-8")
    pol = {"version": 1, "compatibility": {"feature_signature": shorthand}}
    fs = checks(gatekit.run(pol, data=tmp_path / "d.csv", model=art["onnx_columns"]))["feature_signature"]
    assert fs.status == status, fs.message
    assert fs.details["candidate"] == {"price": "float", "stock": "integer", "item_id": "string"}
    assert (fs.details["breaking"] if status == FL else fs.details["notes"]) == [message]


@pytest.mark.parametrize("shorthand", ["strict", "compatible"])
def test_the_sensitive_column_does_not_change_the_signature_check(art: dict[str, Path], tmp_path: Path,
                                                                   shorthand: str) -> None:
    # stock is both a model feature and a plausible sensitive column; region is a data-only column
    data = tmp_path / "d.csv"
    TRAIN.assign(region=list("nsnsns"), y=LABELS).to_csv(data, index=False)
    pol = {"version": 1, "compatibility": {"feature_signature": shorthand}}
    seen = []
    for sensitive in ([], ["stock"], ["region"], ["stock", "region"]):
        fs = checks(gatekit.run(pol, data=data, target="y", sensitive=sensitive,
                                model=art["skops"]))["feature_signature"]
        assert fs.status == P, (sensitive, fs.message)
        seen.append((fs.message, fs.details["expected"], fs.details["candidate"], fs.details["features"]))
    assert all(s == seen[0] for s in seen)
    assert seen[0][2] == {"price": None, "stock": None}  # scikit-learn records names only
    assert seen[0][1] == {"price": "float", "stock": "integer", "region": "string", "y": "integer"}


def test_signature_messages_name_both_sides_against_a_declared_signature() -> None:
    expected = {"a": "float", "b": "integer"}
    candidate = {"a": "integer", "c": "string"}
    from gatekit.sections.signatures import compare_signatures

    breaking, notes, unverified, _ = compare_signatures(expected, candidate, "backward", {})
    assert breaking == [
        "breaking change: feature b removed: the expected signature has it, the candidate does not take it",
        "breaking change: new required feature c without default: the candidate takes it, the expected signature "
        "does not have it",
        "breaking change: type of a changed from float to integer: the expected signature has float, the candidate "
        "takes integer",
    ]
    assert notes == [] and unverified == []
    # against the data, b is a data column the model does not take (a note) and c a feature the data lacks
    breaking, notes, _, _ = compare_signatures(expected, candidate, "strict", {}, "data")
    assert breaking == [
        "breaking change: new feature c (string): the candidate takes it, the evaluation data does not have it "
        "(strict)",
        "breaking change: type of a changed from float to integer: the evaluation data has float, the candidate "
        "takes integer",
    ]
    assert notes == ["the evaluation data has 1 column(s) the candidate does not take, not part of its signature: b"]
    with pytest.raises(ValueError, match="against"):
        compare_signatures(expected, candidate, "strict", {}, "model")


@pytest.mark.parametrize("shorthand", ["strict", "compatible"])
def test_shorthand_does_not_count_the_target_column(art: dict[str, Path], shorthand: str) -> None:
    pol = {"version": 1, "compatibility": {"feature_signature": shorthand}}
    report = gatekit.run(pol, data=art["train_y_csv"], target="y", model=art["skops"])
    assert checks(report)["feature_signature"].status == P


def test_integer_column_with_a_missing_value_keeps_its_type_in_signatures(art: dict[str, Path],
                                                                          tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("price,stock\n1.0,1\n2.5,\n3.0,3\n", encoding="utf-8")
    pol = signature_policy(mode="strict", expected={"price": "float", "stock": "int"})
    c = checks(gatekit.run(pol, data=tmp_path / "d.csv", model=art["skops"]))
    assert c["data_signature"].status == P  # pandera side: stock is an integer column
    assert c["feature_signature"].status == P, c["feature_signature"].message


def test_mlmodel_beside_the_artifact_must_describe_it(tmp_path: Path) -> None:
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0], "c": [0.5, 0.2, 0.1, 0.9]})
    model = LogisticRegression().fit(X, [0, 1, 0, 1])
    (tmp_path / "m").mkdir()
    sio.dump(model, tmp_path / "m" / "cand.skops")
    (tmp_path / "m" / "MLmodel").write_text("signature:\n  inputs: '[{\"name\": \"a\", \"type\": \"double\"}, "
                                            "{\"name\": \"b\", \"type\": \"double\"}]'\n")
    data = csv(tmp_path, {"a": [1.0], "b": [2.0], "c": [3.0]})
    pol = {"version": 1, "compatibility": {"feature_signature": {"mode": "backward",
                                                                 "expected": {"a": "float", "b": "float"}}}}
    c = by_name(gatekit.run(pol, data=data, model=tmp_path / "m" / "cand.skops"))
    assert c["feature_signature"].status == Status.NOT_COMPUTABLE
    assert "MLmodel" in c["feature_signature"].message
    (tmp_path / "m" / "MLmodel").unlink()
    declared = {"version": 1, "compatibility": {"feature_signature": {
        "mode": "backward", "expected": {"a": "float", "b": "float"}, "candidate": {"a": "float", "b": "float"}}}}
    c = by_name(gatekit.run(declared, data=data, model=tmp_path / "m" / "cand.skops"))
    assert c["feature_signature"].status == Status.NOT_COMPUTABLE  # the declaration may not hide the real c
    assert "feature_signature.candidate" in c["feature_signature"].message


def test_declared_candidate_types_are_checked_against_the_data(tmp_path: Path) -> None:
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    sio.dump(LogisticRegression().fit(X, [0, 1, 0, 1]), tmp_path / "m.skops")
    data = csv(tmp_path, {"a": [1.0], "b": [2.0]})
    pol = {"version": 1, "compatibility": {"feature_signature": {
        "mode": "strict", "expected": {"a": "string", "b": "string"}, "candidate": {"a": "string", "b": "string"}}}}
    c = by_name(gatekit.run(pol, data=data, model=tmp_path / "m.skops"))
    assert c["feature_signature"].status == Status.PASS  # the declaration gives the types sklearn lacks
    assert c["data_signature"].status == Status.FAIL  # ... and the data is checked against them, not itself


# ------------------------------------------------------------------------------------------------------
# A model given as a Python object
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "allowed", "status"), [
    ("pipe", ["sklearn"], P), ("pipe", ["skops", "onnx"], FL), ("session", ["onnx"], P), ("session", ["skops"], FL),
    ("plain", ["python-object"], P), ("plain", ["sklearn"], FL)])
def test_model_format_of_a_model_object_is_its_kind(art: dict[str, Path], kind: str, allowed: list[str],
                                                    status: Status) -> None:
    import onnxruntime as ort
    import skops.io as sio

    from gatekit.model.loading import NOT_A_FILE
    from tests.model.helpers import Plain

    model = {"pipe": lambda: sio.load(art["skops"]), "plain": Plain,
             "session": lambda: ort.InferenceSession(str(art["onnx_columns"]), providers=["CPUExecutionProvider"])}
    pol = {"version": 1, "compatibility": {"model_format": {"allowed": allowed}}}
    mf = checks(gatekit.run(pol, data=art["train_csv"], model=model[kind]()))["model_format"]
    assert mf.status == status, mf.message
    detected = {"pipe": "sklearn", "session": "onnx", "plain": "python-object"}[kind]
    assert mf.details["detected"] == detected and mf.details["file"] is None
    assert mf.message.startswith(f"{NOT_A_FILE}: a {detected} object")


def test_candidate_signature_of_model_objects_is_that_of_their_files(art: dict[str, Path]) -> None:
    import onnxruntime as ort
    import skops.io as sio

    pol = signature_policy(mode="strict", expected={"price": "float", "stock": "int"})
    by_file = checks(gatekit.run(pol, data=art["train_csv"], model=art["skops"]))["feature_signature"]
    by_object = checks(gatekit.run(pol, data=art["train_csv"], model=sio.load(art["skops"])))["feature_signature"]
    assert by_object.status == by_file.status == P
    assert by_object.details["candidate"] == by_file.details["candidate"]
    assert by_object.details["candidate_source"] == ("candidate model object sklearn.pipeline.Pipeline (sklearn "
                                                     "(types not recorded))")
    pol = signature_policy(mode="strict", expected={"item_id": "string", "price": "float", "stock": "integer"})
    session = ort.InferenceSession(art["onnx_columns"].read_bytes(), providers=["CPUExecutionProvider"])
    by_file = checks(gatekit.run(pol, data=art["items_csv"], model=art["onnx_columns"]))["feature_signature"]
    by_object = checks(gatekit.run(pol, data=art["items_csv"], model=session))["feature_signature"]
    assert by_object.status == by_file.status == P
    assert by_object.details["candidate"] == by_file.details["candidate"]


# ------------------------------------------------------------------------------------------------------
# The DuckDB engine: the same results as on the same rows in memory
# ------------------------------------------------------------------------------------------------------


def _typed_frame() -> pd.DataFrame:
    import numpy as np

    n = 8
    return pd.DataFrame({"i": np.arange(n), "f": np.linspace(0, 1, n), "fi": [1.0, np.nan, 3, 4, 5, 6, 7, 8],
                         "fa": [np.nan] * n, "s": ["a", None, "c", "d", "e", "f", "g", "h"], "se": [None] * n,
                         "b": [True, False] * 4, "t": pd.date_range("2024-01-01", periods=n),
                         "tz": pd.date_range("2024-01-01", periods=n, tz="UTC"),
                         "finf": [1.0, np.inf, 2, 3, 4, 5, 6, 7], "neg": [-2.0, -1, 0, 1, 2, 3, 4, np.nan]})


SIGNATURES = [
    {"i": "integer", "f": "integer", "fi": "integer", "fa": "float", "s": "string", "se": "string", "b": "boolean",
     "t": "datetime", "tz": "datetime", "finf": "integer", "neg": "integer", "absent": "float", "untyped": None},
    {"i": "string", "f": "float", "fi": "float", "fa": "integer", "s": "number", "se": "integer", "b": "integer",
     "t": "string", "tz": "number", "finf": "float", "neg": "number"},
]


@pytest.mark.filterwarnings("ignore:invalid value encountered in remainder")  # numpy's inf % 1, in pandas' path
def test_data_types_and_validation_on_duckdb_equal_pandas() -> None:
    import ibis

    from gatekit.data.logical_types import describe_column
    from gatekit.sections.signatures import describe_table, frame_types, validate_frame, validate_table

    df = _typed_frame()
    table = ibis.memtable(df)
    assert frame_types(table) == frame_types(df)
    assert frame_types(table)["fi"] == "integer" and frame_types(table)["se"] is None
    descs, rows = describe_table(table, list(df.columns), integral=True)
    assert rows == len(df)
    for c in df.columns:
        want = describe_column(df[c])
        assert {k: descs[c][k] for k in ("dtype", "logical", "non_null", "tz", "integral")} == {
            k: want[k] for k in ("dtype", "logical", "non_null", "tz", "integral")}, c
    for sig in SIGNATURES:
        for defaults in ({}, {"absent": 0.0}):
            expected = validate_frame(df, sig, defaults)
            assert validate_table(table, sig, defaults) == expected
            assert expected  # each signature has failures to compare


def _section_results(engine: str, df: pd.DataFrame, policy: dict[str, Any]) -> list[CheckResult]:
    import ibis

    from gatekit.data.inputs import RunInputs
    from gatekit.metrics import default_registry
    from gatekit.policy.loader import load_policy
    from gatekit.sections.base import RunContext
    from gatekit.sections.compatibility import CompatibilitySection

    registry = default_registry()
    inputs = (RunInputs(engine="duckdb", table=ibis.memtable(df)) if engine == "duckdb" else RunInputs(frame=df))
    return CompatibilitySection().run(RunContext(policy=load_policy(policy, registry), inputs=inputs,
                                                 registry=registry))


@pytest.mark.filterwarnings("ignore:invalid value encountered in remainder")
@pytest.mark.parametrize("fs", [
    {"mode": "strict"},  # the data's columns are the expected signature (frame_types)
    {"mode": "strict", "expected": {k: v for k, v in SIGNATURES[0].items() if v},
     "candidate": {k: v for k, v in SIGNATURES[0].items() if v}},
    {"mode": "backward", "expected": {"i": "integer"}, "candidate": SIGNATURES[1], "defaults": {"f": 0.0}},
    {"mode": "strict", "expected": {"fi": "integer", "s": "string"}, "candidate": {"fi": "integer", "s": "string"}},
])
def test_compatibility_section_on_duckdb_equals_pandas(fs: dict[str, Any]) -> None:
    df = _typed_frame()
    if "candidate" not in fs:
        fs = {**fs, "candidate": {c: t for c, t in SIGNATURES[0].items() if c in df.columns}}
    policy = signature_policy(**fs)
    on_pandas = _section_results("pandas", df, policy)
    on_duckdb = _section_results("duckdb", df, policy)
    assert [c.name for c in on_pandas] == ["feature_signature", "data_signature"]
    for a, b in zip(on_pandas, on_duckdb, strict=True):
        if a.name == "data_signature":
            assert a.details.pop("validator") == "pandera"
            assert b.details.pop("validator").startswith("pandera's checks computed as counts on the duckdb engine")
        assert a == b


# ------------------------------------------------------------------------------------------------------
# A model that records no input types: its types are never the data's
# ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def income_model(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A scikit-learn model fitted on float64 income, and data holding whole numbers (an int64 column)."""
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    d = tmp_path_factory.mktemp("income")
    X = pd.DataFrame({"income": [49200.0, 48700.0, 51000.0, 30500.0, 62000.0, 41000.0]})
    sio.dump(LogisticRegression().fit(X, [1, 0, 1, 0, 1, 0]), d / "inc.skops")
    (d / "inc_int.csv").write_text("income,y\n49200,1\n48700,0\n51000,1\n30500,0\n", encoding="utf-8")
    (d / "inc_float.csv").write_text("income,y\n49200.0,1\n48700.0,0\n51000.0,1\n30500.0,0\n", encoding="utf-8")
    return {"model": d / "inc.skops", "int": d / "inc_int.csv", "float": d / "inc_float.csv"}


@pytest.mark.parametrize("mode", ["strict", "backward"])
def test_the_datas_types_are_never_reported_as_the_candidates(income_model: dict[str, Path], mode: str) -> None:
    # the review's case: the candidate was fitted on float64 income and records no types; the data holds
    # whole numbers. The candidate takes nothing "integer": a type it does not record is not a change
    pol = signature_policy(mode=mode, expected={"income": "float"})
    for engine in (None, "duckdb"):
        fs = checks(gatekit.run(pol, data=income_model["int"], target="y", model=income_model["model"],
                                engine=engine))["feature_signature"]
        assert fs.status == NC, (engine, fs.message)
        assert fs.details["breaking"] == [] and fs.details["candidate"] == {"income": None}
        assert "the candidate takes" not in fs.message
        assert ("income: the candidate does not record its type; the expected signature has float, the evaluation "
                "data holds integer") in fs.message
        (row,) = fs.details["features"]
        assert (row["expected"], row["candidate"], row["data"], row["change"]) == ("float", None, "integer",
                                                                                     "type unknown")
    # the data holding the expected type: compared as the data's, and said to be
    fs = checks(gatekit.run(pol, data=income_model["float"], target="y",
                            model=income_model["model"]))["feature_signature"]
    assert fs.status == P, fs.message
    assert "compared with the data, not with the candidate" in fs.message


@pytest.mark.parametrize("shorthand", ["strict", "compatible"])
def test_shorthand_against_a_model_without_types_says_it_compared_names_only(income_model: dict[str, Path],
                                                                            shorthand: str) -> None:
    # income as integers in the data (the model was fitted on floats): the candidate-vs-data comparison cannot
    # see a type (scikit-learn records none), and the check says so instead of calling the types compatible
    pol = {"version": 1, "compatibility": {"feature_signature": shorthand}}
    for engine in (None, "duckdb"):
        c = checks(gatekit.run(pol, data=income_model["int"], target="y", model=income_model["model"],
                               engine=engine))
        fs = c["feature_signature"]
        assert fs.details["candidate"] == {"income": None}
        assert ("names only for income: the candidate does not record input types (scikit-learn keeps names only), "
                "so the evaluation data's types are not compared with it") in fs.message
        assert fs.details["types_not_recorded_by_candidate"] == ["income"]
        assert "their types are not checked" in c["data_signature"].message


def test_a_production_model_without_types_gets_none_from_the_reference(income_model: dict[str, Path],
                                                                      tmp_path: Path) -> None:
    # expected_model: a scikit-learn production model records no types either; the reference data's types
    # are not the production model's
    pol = signature_policy(mode="strict", expected_model=str(income_model["model"]))
    fs = checks(gatekit.run(pol, data=income_model["float"], target="y", reference=income_model["int"],
                            model=income_model["model"]))["feature_signature"]
    assert fs.details["expected"] == {"income": None}
    assert fs.details["expected_source"] == "production model inc.skops (sklearn (types not recorded))"
    assert fs.status == NC and "expected signature has" not in fs.message


# ------------------------------------------------------------------------------------------------------
# Signature files and MLmodel files are read with a policy's bounds (YAML aliases, size, depth)
# ------------------------------------------------------------------------------------------------------


def _alias_bomb(levels: int) -> str:
    parts = ['&a0 ["x","x","x","x","x","x","x","x","x","x"]']
    parts += [f"&a{i} [{','.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "[" + ", ".join(parts) + "]"


@pytest.mark.parametrize(("text", "needle"), [
    # the review's 431-byte file expands to 10**9 values; 10**6 here, a few MB if a regression expands it
    (f"price: {_alias_bomb(6)}\n", "expands to more than 100,000 values through YAML aliases"),
    ("price: &t [float, float]\nstock: *t\n", "a type must be a name such as float, not a list"),
    ("price: " + "[" * 80 + "]" * 80 + "\n", "nested more than 64 levels deep"),
    ("features: [{name: [a, b], type: float}]\n", "a feature name must be text"),
    ("price: &s '" + "f" * 5000 + "'\nstock: *s\n", "unknown type 'fffff"),
])
def test_expected_file_is_read_with_a_policys_bounds(art: dict[str, Path], tmp_path: Path, text: str,
                                                     needle: str) -> None:
    (tmp_path / "sig.yaml").write_text(text, encoding="utf-8")
    pol = signature_policy(mode="strict", expected_file=str(tmp_path / "sig.yaml"))
    report = gatekit.run(pol, data=art["renamed_csv"], model=art["cand_renamed"])
    fs = checks(report)["feature_signature"]
    assert fs.status == NC and "sig.yaml" in fs.message and needle in fs.message, fs.message
    assert len(fs.message) < 600
    assert report.decision == Decision.BLOCK


def test_an_mlmodel_alias_bomb_beside_the_model_is_not_computable_naming_it(art: dict[str, Path],
                                                                             tmp_path: Path) -> None:
    import shutil

    (tmp_path / "m").mkdir()
    shutil.copy(art["onnx_columns"], tmp_path / "m" / "model.onnx")
    (tmp_path / "m" / "MLmodel").write_text("signature:\n  inputs:\n    - type: tensor\n      name: t\n"
                                            f"      tensor-spec: {_alias_bomb(6)}\n", encoding="utf-8")
    pol = signature_policy(mode="strict", expected={"item_id": "string", "price": "float", "stock": "integer"})
    fs = checks(gatekit.run(pol, data=art["items_csv"], model=tmp_path / "m" / "model.onnx"))["feature_signature"]
    assert fs.status == NC and "MLmodel" in fs.message and "YAML aliases" in fs.message
    assert len(fs.message) < 600


def test_an_onnx_export_with_one_tensor_input_is_named_by_inputs_features(tmp_path: Path) -> None:
    """skl2onnx's to_onnx(model, X) makes one [N, n] input that names no column: inputs.features names them, the
    signature check runs on them (float columns, as the tensor's type), and every message fits the case."""
    import numpy as np
    import pandas as pd
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    import gatekit
    from gatekit.core.errors import InputError

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    frame["y"] = (frame["a"] + rng.normal(size=300) > 0).astype(int)
    sk = LogisticRegression().fit(frame[["a", "b"]].to_numpy(np.float32), frame["y"])
    model = tmp_path / "m.onnx"
    model.write_bytes(to_onnx(sk, frame[["a", "b"]].to_numpy(np.float32)[:1], options={"zipmap": False})
                      .SerializeToString())
    data = tmp_path / "d.csv"
    frame.to_csv(data, index=False)
    policy = {"version": 1, "name": "onnx", "metrics": [{"name": "auc_roc", "op": ">=", "value": 0.6}],
              "compatibility": {"feature_signature": {"mode": "strict", "expected": {"a": "float", "b": "float"}}}}
    with pytest.raises(InputError, match=r"ONNX.*one unnamed tensor.*--features"):
        gatekit.run(policy, data=data, target="y", model=model, trust_model=True)
    report = gatekit.run(policy, data=data, target="y", model=model, features=["a", "b"])
    sig = next(c for c in report.checks if c.name == "feature_signature")
    assert sig.status.value == "pass", sig.message
    report = gatekit.run({**policy, "compatibility": {"feature_signature": {
        "mode": "strict", "expected": {"a": "float", "b": "float", "c": "float"}}}},
        data=data.with_name("d.csv"), target="y", model=model, features=["a", "b"])
    sig = next(c for c in report.checks if c.name == "feature_signature")
    assert sig.status.value == "fail" and "c" in sig.message
