"""The artifact section: sha256, detached Ed25519 signatures, model-card fields and versions."""

from __future__ import annotations

import base64
import hashlib
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sklearn.linear_model import LogisticRegression

import gatekit
from gatekit.core.errors import InputError, PolicyError
from gatekit.core.results import Decision, Status
from gatekit.model.signing import verify_file
from gatekit.policy.loader import load_policy


class _Boom:
    """Unpickling this writes a marker file: proof that a pickle was (or was not) loaded."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path(self.marker).write_text, ("unpickled",))


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    X = pd.DataFrame({"a": np.arange(60.0), "b": np.arange(60.0) % 3})
    y = (X.a > 30).astype(int)
    out = {"data": tmp_path / "d.csv", "model": tmp_path / "m.pkl", "sig": tmp_path / "m.pkl.sig",
           "pem": tmp_path / "pub.pem", "card": tmp_path / "card.yaml", "prod_card": tmp_path / "prod.yaml"}
    X.assign(y=y).to_csv(out["data"], index=False)
    out["model"].write_bytes(pickle.dumps(LogisticRegression().fit(X, y)))
    key = Ed25519PrivateKey.generate()
    out["sig"].write_bytes(key.sign(out["model"].read_bytes()))
    out["pem"].write_bytes(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    out["raw_pub"] = tmp_path / "pub.b64"
    out["raw_pub"].write_text(base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode())
    out["card"].write_text("name: m\nversion: 2.1.0\nowner: team\ntraining:\n  data_sha256: abc\nintended_use: ''\n")
    out["prod_card"].write_text('{"version": "2.0.10"}')
    out["key"] = key  # type: ignore[assignment]
    return out


def _policy(f: dict[str, Any], **artifact: Any) -> dict[str, Any]:
    return {"version": 1, "inputs": {"data": str(f["data"]), "target": "y", "model": str(f["model"])},
            "artifact": artifact, "metrics": [{"name": "auc_roc", "op": ">=", "value": 0.5}]}


def _check(report: Any, name: str) -> Any:
    return next(c for c in report.checks if c.name == name)


def test_sha256_matches_and_mismatches(files: dict[str, Any]) -> None:
    digest = hashlib.sha256(files["model"].read_bytes()).hexdigest()
    ok = gatekit.run(_policy(files, sha256=digest))  # a matching artifact.sha256 also allows the unpickling
    assert _check(ok, "model_sha256").status == Status.PASS and ok.decision == Decision.PASS
    wrong = "0" * 64
    pol = _policy(files, sha256=wrong)
    with pytest.raises(InputError, match="refusing to unpickle"):  # no verification left: never unpickled
        gatekit.run(pol)
    report = gatekit.run(pol, trust_model=True)
    check = _check(report, "model_sha256")
    assert check.status == Status.FAIL and digest in check.message and report.decision == Decision.BLOCK


@pytest.mark.parametrize("key", ["pem", "raw_pub"])
def test_signature_verifies_and_allows_the_pickle(files: dict[str, Any], key: str) -> None:
    report = gatekit.run(_policy(files, signature={"file": str(files["sig"]), "public_key": str(files[key])}))
    check = _check(report, "model_signature")
    assert check.status == Status.PASS and check.details["verified"] is True
    raw = files["key"].public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert check.details["public_key_sha256"] == hashlib.sha256(raw).hexdigest()
    assert _check(report, "auc_roc").status == Status.PASS  # the model was loaded and scored


def test_signature_as_base64_text_verifies(files: dict[str, Any], tmp_path: Path) -> None:
    sig = tmp_path / "sig.b64"
    sig.write_text(base64.b64encode(files["sig"].read_bytes()).decode() + "\n")
    assert verify_file(files["model"].read_bytes(), sig, files["pem"])["verified"] is True
    assert verify_file(files["model"].read_bytes(), sig, files["raw_pub"])["verified"] is True


def test_tampered_pickle_fails_its_signature_and_is_never_unpickled(files: dict[str, Any], tmp_path: Path) -> None:
    marker = tmp_path / "pwned.txt"
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps(_Boom(str(marker))))
    pol = _policy(files, signature={"file": str(files["sig"]), "public_key": str(files["pem"])})
    with pytest.raises(InputError, match="refusing to unpickle"):
        gatekit.run(pol, model=str(evil))
    assert not marker.exists()
    # one flipped byte in the signed file: the signature no longer verifies
    content = bytearray(files["model"].read_bytes())
    content[len(content) // 2] ^= 0x01
    assert verify_file(bytes(content), files["sig"], files["pem"])["verified"] is False


def test_wrong_key_missing_or_garbled_signature_fail_and_block(files: dict[str, Any], tmp_path: Path) -> None:
    other = tmp_path / "other.pem"
    other.write_bytes(Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.PEM,
                                                                            PublicFormat.SubjectPublicKeyInfo))
    garbled = tmp_path / "garbled.sig"
    garbled.write_text("not a signature")
    cases = [(files["sig"], other, "does not match"), (tmp_path / "nope.sig", files["pem"], "does not exist"),
             (garbled, files["pem"], "64 bytes")]
    for sig, pub, why in cases:
        report = gatekit.run(_policy(files, signature={"file": str(sig), "public_key": str(pub)}), trust_model=True)
        check = _check(report, "model_signature")
        assert check.status == Status.FAIL and why in check.message, check.message
        assert report.decision == Decision.BLOCK


def test_a_signature_that_is_not_required_only_warns(files: dict[str, Any], tmp_path: Path) -> None:
    pol = _policy(files, signature={"file": str(tmp_path / "nope.sig"), "public_key": str(files["pem"]),
                                    "required": False})
    report = gatekit.run(pol, trust_model=True)
    check = _check(report, "model_signature")
    assert check.status == Status.FAIL and check.on_fail.value == "warn" and report.decision == Decision.WARN


def test_metadata_fields_and_version(files: dict[str, Any]) -> None:
    meta = {"file": str(files["card"]), "required_fields": ["name", "version", "owner", "training.data_sha256",
                                                            "intended_use", "license"],
            "greater_than_production": True, "production_file": str(files["prod_card"])}
    report = gatekit.run(_policy(files, metadata=meta), trust_model=True)
    fields = _check(report, "metadata.required_fields")
    # intended_use is empty and license absent; the dotted training.data_sha256 is found
    assert fields.status == Status.FAIL and fields.observed == 2
    assert fields.details["missing"] == ["intended_use", "license"]
    version = _check(report, "metadata.version")
    assert version.status == Status.PASS  # 2.1.0 > 2.0.10 (numeric, not text, ordering)
    assert version.details == {"candidate": "2.1.0", "production": "2.0.10", "production_source":
                               str(files["prod_card"].resolve()), "ordering": "PEP 440 (packaging.version)"}


@pytest.mark.parametrize(("candidate", "production", "status"), [
    ("2.1.0", "2.1.0", Status.FAIL), ("2.0.9", "2.0.10", Status.FAIL), ("10.0.0", "9.9.9", Status.PASS),
    ("banana", "1.0.0", Status.FAIL), ("1.0.0", "banana", Status.NOT_COMPUTABLE),
])
def test_version_ordering(files: dict[str, Any], tmp_path: Path, candidate: str, production: str,
                          status: Status) -> None:
    card = tmp_path / "c.yaml"
    card.write_text(f"version: '{candidate}'\n")
    meta = {"file": str(card), "greater_than_production": True, "production_version": production}
    check = _check(gatekit.run(_policy(files, metadata=meta), trust_model=True), "metadata.version")
    assert check.status == status, check.message


def test_missing_or_malformed_metadata_fails_closed(files: dict[str, Any], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    for path, why in ((tmp_path / "none.yaml", "does not exist"), (bad, "not valid YAML")):
        meta = {"file": str(path), "required_fields": ["name"], "greater_than_production": True,
                "production_version": "1.0"}
        report = gatekit.run(_policy(files, metadata=meta), trust_model=True)
        assert _check(report, "metadata.required_fields").status == Status.FAIL
        assert why in _check(report, "metadata.required_fields").message
        assert _check(report, "metadata.version").status == Status.NOT_COMPUTABLE
        assert report.decision == Decision.BLOCK


def test_artifact_rules_need_no_evaluation_data(files: dict[str, Any]) -> None:
    pol = {"version": 1, "inputs": {"model": str(files["model"])},
           "artifact": {"signature": {"file": str(files["sig"]), "public_key": str(files["pem"])}}}
    report = gatekit.run(pol)
    assert _check(report, "model_signature").status == Status.PASS and report.decision == Decision.PASS


def test_policy_validation() -> None:
    with pytest.raises(PolicyError, match="production_file or production_version"):
        load_policy({"version": 1, "artifact": {"metadata": {"file": "c.yaml", "greater_than_production": True}}})
    with pytest.raises(PolicyError, match="sha256"):
        load_policy({"version": 1, "artifact": {"sha256": "xyz"}})
