"""Adversarial tests of the operational, artifact, security, robustness and reproducibility features.

The tests under "problems found" pinned problems an adversarial pass found (they were strict xfails
and pass since the fixes). The others guard behaviour that was already right and must stay right
(pickles never unpickled without a verified hash / signature / trust, keys that are not
Ed25519 public keys refused with a reason, too few latency samples never a number, file:line errors
in the new sections, strict JSON).
"""

from __future__ import annotations

import base64
import hashlib
import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from cryptography.hazmat.primitives.asymmetric import ed448, rsa, x25519
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

import gatekit
from gatekit.cli import app
from gatekit.core.errors import InputError, PolicyError
from gatekit.core.reproducibility import verify
from gatekit.core.results import Decision, Status
from gatekit.model.serving import load_samples
from gatekit.model.signing import verify_file
from gatekit.sections.artifact import read_metadata
from gatekit.validators.licenses import check, decide, requirement_names
from tests.conftest import REPO, write_policy

# ---------------------------------------------------------------------------------------------------
# models and files


class _Marker:
    """Unpickling this writes a marker file: proof that a pickle was loaded."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path(self.marker).write_text, ("unpickled",))


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


@pytest.fixture
def art(tmp_path: Path) -> dict[str, Any]:
    """Evaluation data, a logistic-regression pickle, its Ed25519 signature and public key, a marker pickle."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.integers(0, 50, 120).astype(float), "b": rng.integers(0, 3, 120)})
    y = (X.a + rng.normal(0, 10, 120) > 25).astype(int)
    f: dict[str, Any] = {"dir": tmp_path, "data": tmp_path / "d.csv", "model": tmp_path / "m.pkl",
                         "sig": tmp_path / "m.pkl.sig", "pub": tmp_path / "pub.pem", "evil": tmp_path / "evil.pkl",
                         "marker": tmp_path / "MARKER"}
    X.assign(y=y).to_csv(f["data"], index=False)
    f["model"].write_bytes(pickle.dumps(LogisticRegression().fit(X, y)))
    key = Ed25519PrivateKey.generate()
    f["key"] = key
    f["sig"].write_bytes(key.sign(f["model"].read_bytes()))
    f["pub"].write_bytes(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    f["evil"].write_bytes(pickle.dumps(_Marker(str(f["marker"]))))
    return f


def _check(report: Any, name: str) -> Any:
    return next(c for c in report.checks if c.name == name)


def _pickled(tmp_path: Path, obj: Any, name: str) -> Path:
    p = tmp_path / name
    p.write_bytes(pickle.dumps(obj))
    return p


# ---------------------------------------------------------------------------------------------------
# guards: behaviour that is right


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


def test_keys_that_are_not_ed25519_public_keys_are_refused_with_a_reason(art: dict[str, Any]) -> None:
    k = art["key"]
    keys = {
        "rsa": rsa.generate_private_key(65537, 2048).public_key().public_bytes(Encoding.PEM,
                                                                               PublicFormat.SubjectPublicKeyInfo),
        "private": k.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()),
        "ed448": ed448.Ed448PrivateKey.generate().public_key().public_bytes(Encoding.PEM,
                                                                           PublicFormat.SubjectPublicKeyInfo),
        "x25519": x25519.X25519PrivateKey.generate().public_key().public_bytes(Encoding.PEM,
                                                                              PublicFormat.SubjectPublicKeyInfo),
        "garbage_pem": b"-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n",
        "binary": bytes(range(256)),
    }
    content = art["model"].read_bytes()
    for name, raw in keys.items():
        p = art["dir"] / f"key_{name}"
        p.write_bytes(raw)
        res = verify_file(content, art["sig"], p)
        assert res["verified"] is False and res["reason"], name
    # and the signature is not fooled by the public key given as the signature
    assert verify_file(content, art["pub"], art["pub"])["verified"] is False


def test_p50_from_one_request_is_not_computable_and_blocks(art: dict[str, Any]) -> None:
    report = gatekit.run({"version": 1, "inputs": {"data": str(art["data"]), "target": "y",
                                                    "model": str(art["model"]), "trust_model": True},
                          "operational": {"requests": 1, "warmup": 500},
                          "metrics": [{"name": "latency_p50_ms", "op": "<=", "value": 1000}]})
    c = _check(report, "latency_p50_ms")
    assert c.status == Status.NOT_COMPUTABLE and "40 samples" in c.message
    assert report.decision == Decision.BLOCK


def test_validate_names_file_line_and_key_for_typos_in_the_new_sections(tmp_path: Path) -> None:
    p = write_policy(tmp_path, """
        version: 1
        operational: {request: 400}
        artifact:
          signatur: {file: a, public_key: b}
        robustness:
          out_of_range: {cases: [extremes]}
        security:
          licenses: {allow: [MIT], requirement: r.txt}
        metrics: [{name: auc_roc, op: ">=", value: 0.5}]
    """)
    res = CliRunner().invoke(app, ["validate", str(p)])
    assert res.exit_code == 2
    for frag in ("policy.yaml:2:", "'requests'", "policy.yaml:4:", "'signature'", "policy.yaml:6:",
                 "'extremes'", "policy.yaml:8:", "'requirements'"):
        assert frag in res.output, frag


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_regressor_giving_infinite_errors_still_writes_strict_schema_valid_json(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")

    data = tmp_path / "d.csv"
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(300, 50, 80), "b": rng.normal(size=80)})
    X.assign(r=rng.normal(size=80)).to_csv(data, index=False)
    from sklearn.linear_model import LinearRegression

    reg = LinearRegression().fit(X, np.exp(X.a / 2))  # huge, overflowing forecasts under noise
    model = _pickled(tmp_path, reg, "reg.pkl")
    report = gatekit.run({"version": 1, "inputs": {"data": str(data), "target": "r", "task": "regression",
                                                    "model": str(model), "trust_model": True},
                          "robustness": {"noise": {"scale": 5, "max_metric_drop": 0.1},
                                         "out_of_range": {"cases": ["extreme"], "extreme_factor": 1e300}},
                          "metrics": [{"name": "rmse", "op": "<=", "value": 1}]}, out=tmp_path / "out")
    assert report.decision == Decision.BLOCK
    doc = json.loads((tmp_path / "out" / "gate_report.json").read_text(), parse_constant=pytest.fail)
    schema = json.loads((REPO / "gatekit/report/schema/gate_report.v1.schema.json").read_text())
    jsonschema.validate(doc, schema)


@pytest.mark.parametrize(("candidate", "production", "status"), [
    ("v1.3", "1.2", Status.PASS), ("1.2.3-rc.1", "1.2.2", Status.PASS), ("1.0.0-alpha.beta", "0.9", Status.FAIL),
])
def test_version_spellings(art: dict[str, Any], candidate: str, production: str, status: Status) -> None:
    (art["dir"] / "card.yaml").write_text(f"name: m\nversion: '{candidate}'\n")
    report = gatekit.run({"version": 1, "inputs": {"model": str(art["model"]), "trust_model": True},
                          "artifact": {"metadata": {"file": str(art["dir"] / "card.yaml"),
                                                    "greater_than_production": True,
                                                    "production_version": production}}})
    assert _check(report, "metadata.version").status == status


def test_verify_after_the_files_moved_is_not_reproducible_and_names_them(art: dict[str, Any]) -> None:
    out = art["dir"] / "out"
    gatekit.run({"version": 1, "inputs": {"data": str(art["data"]), "target": "y", "model": str(art["model"]),
                                          "trust_model": True},
                 "metrics": [{"name": "auc_roc", "op": ">=", "value": 0.5}]}, out=out)
    art["data"].rename(art["dir"] / "moved.csv")
    res = CliRunner().invoke(app, ["verify", str(out / "gate_report.json")])
    assert res.exit_code == 1 and "NOT reproducible" in res.output and "data:" in res.output


def test_a_card_number_stored_as_a_float_is_found_and_not_shown(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("acct,x\n4.111111111111111e15,1\n1.5,2\n")
    report = gatekit.run({"version": 1, "inputs": {"data": str(tmp_path / "d.csv")},
                          "security": {"pii": {"scan": ["data"]}}})
    c = _check(report, "pii.data")
    assert c.status == Status.FAIL and c.details["by_kind"] == {"card": 1}
    assert "4111111111111111" not in report.to_json()


# ---------------------------------------------------------------------------------------------------
# problems found (fixed): reproducibility


def test_verify_notices_a_changed_model_card(art: dict[str, Any]) -> None:
    card = art["dir"] / "card.yaml"
    card.write_text("name: m\nversion: 2.0.0\nowner: team\n")
    policy = write_policy(art["dir"], """
        version: 1
        inputs: {model: m.pkl, trust_model: true}
        artifact:
          metadata: {file: card.yaml, required_fields: [name, version, owner]}
    """)
    first = gatekit.run(policy, out=art["dir"] / "out")
    assert first.decision == Decision.PASS
    card.write_text("name: m\nversion: 2.0.0\n")  # owner removed: a re-run blocks
    assert gatekit.run(policy).decision == Decision.BLOCK
    assert verify(art["dir"] / "out" / "gate_report.json")["match"] is False


def test_reproducibility_records_the_libraries_the_new_sections_run_on() -> None:
    from gatekit.core.reproducibility import library_versions

    assert {"onnxruntime", "cryptography", "python-stdnum"} <= set(library_versions())


def test_verify_on_a_tampered_report_or_a_folder_is_exit_2(art: dict[str, Any]) -> None:
    out = art["dir"] / "out"
    gatekit.run({"version": 1, "inputs": {"data": str(art["data"]), "target": "y", "model": str(art["model"]),
                                          "trust_model": True},
                 "metrics": [{"name": "auc_roc", "op": ">=", "value": 0.5}]}, out=out)
    good = json.loads((out / "gate_report.json").read_text())
    edits = [lambda m: m["reproducibility"].pop("components"), lambda m: m.update(policy="p.yaml"),
             lambda m: m["inputs"].update(files=[1, 2])]
    for i, edit in enumerate(edits):
        doc = json.loads(json.dumps(good))
        edit(doc["metadata"])
        p = art["dir"] / f"tampered{i}.json"
        p.write_text(json.dumps(doc))
        assert CliRunner().invoke(app, ["verify", str(p)]).exit_code == 2, i
    assert CliRunner().invoke(app, ["verify", str(art["dir"])]).exit_code == 2


def test_verify_from_another_folder_after_relative_inputs(art: dict[str, Any], tmp_path_factory: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    policy = write_policy(art["dir"], "version: 1\nmetrics: [{name: auc_roc, op: '>=', value: 0.5}]\n")
    monkeypatch.chdir(art["dir"])
    gatekit.run(policy.name, data="d.csv", target="y", model="m.pkl", trust_model=True, out="out")
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    assert verify(art["dir"] / "out" / "gate_report.json")["match"] is True


# ---------------------------------------------------------------------------------------------------
# problems found (fixed): licences (fail open)


def test_spdx_expressions_with_parentheses() -> None:
    allow, deny = ["MIT", "Apache-2.0", "BSD-*"], ["GPL-*", "AGPL-*"]
    assert decide("GPL-3.0-only AND (MIT OR Apache-2.0)", allow, deny, False)[0] == "denied"
    assert decide("(MIT OR Apache-2.0) AND GPL-3.0-only", allow, deny, False)[0] == "denied"
    assert decide("(MIT OR Apache-2.0) AND Unicode-DFS-2016", allow, deny, False)[0] == "not_allowed"


def test_deny_lists_catch_gpl_family_licences_however_written() -> None:
    deny = ["GPL-*", "LGPL-*", "AGPL-*"]
    for lic in ("LGPL", "GPLv3", "GNU General Public License (GPL)", "AGPLv3"):
        assert decide(lic, [], deny, False)[0] != "allowed", lic
    (rec,) = check(["python-stdnum"], [], deny, False)
    assert rec["status"] != "allowed"


def test_requirements_includes_are_followed_or_refused(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("python-stdnum\n")
    req = tmp_path / "req.txt"
    req.write_text("-r base.txt\n-e git+https://example.com/gplthing.git#egg=gplthing\nnumpy\n")
    try:
        names = requirement_names(req)
    except InputError:
        return  # refusing what it cannot check is fine
    assert "python-stdnum" in names and "gplthing" in names


def test_a_binary_requirements_file_is_one_clear_licence_error(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("a,b\n1,2\n3,4\n")
    (tmp_path / "req.txt").write_bytes(b"\xff\xfe\x00binary")
    report = gatekit.run({"version": 1, "inputs": {"data": str(tmp_path / "d.csv")},
                          "security": {"pii": {"scan": ["data"]},
                                       "licenses": {"requirements": str(tmp_path / "req.txt"), "allow": ["MIT"]}}})
    assert _check(report, "pii.data").status == Status.PASS
    lic = _check(report, "license_compliance")
    assert lic.status in (Status.ERROR, Status.FAIL) and "req.txt" in lic.message


# ---------------------------------------------------------------------------------------------------
# problems found (fixed): personal data in reports, and scans of nothing


def test_personal_data_in_model_card_keys_is_not_echoed(art: dict[str, Any]) -> None:
    card = art["dir"] / "card.yaml"
    card.write_text('name: m\ncontacts:\n  "+44 20 7946 0958": {phone: "+44 20 7946 0958"}\n')
    report = gatekit.run({"version": 1, "inputs": {"model": str(art["model"]), "trust_model": True},
                          "security": {"pii": {"scan": ["metadata"], "metadata_files": [str(card)]}}})
    assert _check(report, "pii.metadata").status == Status.FAIL
    assert "7946" not in report.to_json()


def test_personal_data_in_model_card_keys_is_found(art: dict[str, Any]) -> None:
    card = art["dir"] / "card.yaml"
    card.write_text("name: m\nreviewers:\n  jane.doe@example.com: lead\n")
    report = gatekit.run({"version": 1, "inputs": {"model": str(art["model"]), "trust_model": True},
                          "security": {"pii": {"scan": ["metadata"], "metadata_files": [str(card)]}}})
    assert _check(report, "pii.metadata").status == Status.FAIL


def test_personal_data_in_a_header_row_is_not_echoed(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("jane.doe@example.com,0.5\nbob@example.org,0.2\nx,0.9\n")
    report = gatekit.run({"version": 1, "inputs": {"data": str(tmp_path / "d.csv")},
                          "security": {"pii": {"scan": ["data"]}}})
    assert "jane.doe" not in report.to_json()


def test_the_shipped_pii_expectation_does_not_show_the_values(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("notes,a\nplease call jane.doe@example.com,1\nok,2\nfine,3\n")
    report = gatekit.run({"version": 1, "inputs": {"data": str(tmp_path / "d.csv")},
                          "data_quality": {"expectations_dir": str(REPO / "expectations"), "expectations": [
                              {"type": "expect_column_values_to_not_contain_pii",
                               "kwargs": {"column": "notes", "kinds": ["email"]}}]}})
    assert report.decision == Decision.BLOCK
    assert "jane.doe" not in report.to_json()


@pytest.mark.parametrize("case", ["no_columns", "no_rows"])
def test_pii_data_on_nothing_is_not_a_pass(tmp_path: Path, case: str) -> None:
    (tmp_path / "d.csv").write_text("email,a\n" + ("jane.doe@example.com,1\n" if case == "no_columns" else ""))
    pii: dict[str, Any] = {"scan": ["data"], **({"columns": []} if case == "no_columns" else {})}
    policy = {"version": 1, "inputs": {"data": str(tmp_path / "d.csv")}, "security": {"pii": pii}}
    if case == "no_columns":  # an empty list of columns is refused when the policy is loaded
        with pytest.raises(PolicyError, match="columns"):
            gatekit.run(policy)
        return
    assert _check(gatekit.run(policy), "pii.data").status != Status.PASS


def test_a_yaml_alias_bomb_card_is_refused(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    card = tmp_path / "card.yaml"
    card.write_text("\n".join(lines) + "\nname: x\nversion: 2.0.0\n")
    with pytest.raises(ValueError):
        read_metadata(card)


# ---------------------------------------------------------------------------------------------------
# problems found (fixed): artifact section


def test_an_unknown_key_algorithm_is_a_failed_signature_not_a_crash(art: dict[str, Any]) -> None:
    der = bytearray(art["key"].public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo))
    i = der.find(bytes([6, 3, 0x2B, 0x65, 0x70]))  # the Ed25519 OID 1.3.101.112 -> 1.3.101.127
    der[i + 4] = 0x7F
    key = art["dir"] / "odd.pem"
    key.write_bytes(b"-----BEGIN PUBLIC KEY-----\n" + base64.encodebytes(bytes(der)) + b"-----END PUBLIC KEY-----\n")
    res = verify_file(art["model"].read_bytes(), art["sig"], key)
    assert res["verified"] is False and "odd.pem" in res["reason"]


def test_a_card_version_read_as_a_float_does_not_pass_a_downgrade(art: dict[str, Any]) -> None:
    (art["dir"] / "card.yaml").write_text("name: m\nversion: 1.9\n")
    (art["dir"] / "prod.yaml").write_text("version: 1.10\n")
    report = gatekit.run({"version": 1, "inputs": {"model": str(art["model"]), "trust_model": True},
                          "artifact": {"metadata": {"file": str(art["dir"] / "card.yaml"),
                                                    "greater_than_production": True,
                                                    "production_file": str(art["dir"] / "prod.yaml")}}})
    assert _check(report, "metadata.version").status != Status.PASS


def test_a_deeply_nested_card_does_not_take_the_signature_check_down(art: dict[str, Any]) -> None:
    card = art["dir"] / "card.yaml"
    card.write_text("name: x\nversion: 2.0.0\nk: " + "[" * 5000 + "]" * 5000 + "\n")
    report = gatekit.run({"version": 1, "inputs": {"model": str(art["model"])},
                          "artifact": {"signature": {"file": str(art["sig"]), "public_key": str(art["pub"])},
                                       "metadata": {"file": str(card), "required_fields": ["name"]}}})
    assert _check(report, "model_signature").status == Status.PASS
    fields = _check(report, "metadata.required_fields")
    assert fields.status == Status.FAIL and "card.yaml" in fields.message


def test_a_failed_signature_is_named_when_the_model_is_refused(art: dict[str, Any]) -> None:
    bad = art["dir"] / "bad.sig"
    bad.write_bytes(art["key"].sign(b"another file"))
    with pytest.raises(InputError) as exc:
        gatekit.run({"version": 1, "inputs": {"model": str(art["model"])},
                     "artifact": {"signature": {"file": str(bad), "public_key": str(art["pub"])}}})
    assert "signature" in str(exc.value) and "does not match" in str(exc.value)


# ---------------------------------------------------------------------------------------------------
# problems found (fixed): operational figures


def test_a_model_that_cannot_run_does_not_pass_on_declared_figures(art: dict[str, Any]) -> None:
    pd.read_csv(art["data"])[["a", "y"]].to_csv(art["dir"] / "no_b.csv", index=False)
    (art["dir"] / "m.json").write_text('{"latency_p95_ms": 3, "throughput_rows_per_s": 1e9}')
    report = gatekit.run({"version": 1, "inputs": {"data": str(art["dir"] / "no_b.csv"), "target": "y",
                                                    "model": str(art["model"]), "trust_model": True,
                                                    "metrics": str(art["dir"] / "m.json")},
                          "metrics": [{"name": "latency_p95_ms", "op": "<=", "value": 50},
                                      {"name": "throughput_rows_per_s", "op": ">=", "value": 1000}]})
    assert report.decision == Decision.BLOCK


def test_latency_increase_needs_figures_of_one_kind(art: dict[str, Any]) -> None:
    (art["dir"] / "prod_lt.json").write_text(json.dumps({"latency_ms": [50.0 + i / 1000 for i in range(500)]}))
    report = gatekit.run({"version": 1, "inputs": {"data": str(art["data"]), "target": "y",
                                                    "model": str(art["model"]), "trust_model": True,
                                                    "baseline": {"model": str(art["model"]), "trust_model": True}},
                          "operational": {"baseline_latency_samples": str(art["dir"] / "prod_lt.json")},
                          "metrics": [{"name": "latency_p95_ms", "max_increase": 0}]})
    assert _check(report, "latency_p95_ms vs baseline").status != Status.PASS


def test_bad_latency_samples_files_are_input_errors(tmp_path: Path) -> None:
    files = {"binary.json": bytes(range(256)) * 4,
             "bigint.json": ('{"latency_ms": [' + "9" * 5000 + "]}").encode(),
             "deep.json": ("[" * 100000 + "]" * 100000).encode()}
    for name, raw in files.items():
        p = tmp_path / name
        p.write_bytes(raw)
        with pytest.raises(InputError):
            load_samples(p)


# ---------------------------------------------------------------------------------------------------
# problems found (fixed): robustness


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

