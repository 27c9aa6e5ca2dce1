"""Tests of :mod:`gatekit.sections.artifact`: sha256, detached Ed25519 signatures, model-card fields
and versions.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

import gatekit
from gatekit.core.errors import InputError
from gatekit.core.results import Decision, Status
from gatekit.sections.artifact import read_metadata
from tests.helpers import _check
from tests.sections.helpers import _policy


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


def test_a_yaml_alias_bomb_card_is_refused(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    card = tmp_path / "card.yaml"
    card.write_text("\n".join(lines) + "\nname: x\nversion: 2.0.0\n")
    with pytest.raises(ValueError):
        read_metadata(card)


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


def test_rules_on_the_file_are_not_computable_for_a_model_object(files: dict[str, Any]) -> None:
    import pickle

    from gatekit.model.loading import NOT_A_FILE

    model = pickle.loads(files["model"].read_bytes())  # the fitted model the signed file holds, in memory
    digest = hashlib.sha256(files["model"].read_bytes()).hexdigest()
    meta = {"file": str(files["card"]), "required_fields": ["name", "version"]}
    pol = _policy(files, sha256=digest, signature={"file": str(files["sig"]), "public_key": str(files["pem"])},
                  metadata=meta)
    report = gatekit.run(pol, model=model)
    for name in ("model_sha256", "model_signature"):
        check = _check(report, name)
        assert check.status == Status.NOT_COMPUTABLE, check.message  # never a pass, even with a matching file
        assert check.message.startswith(f"{NOT_A_FILE} (sklearn.linear_model._logistic.LogisticRegression)")
        assert check.details["reason"] == NOT_A_FILE
        assert check.details["model_object"]["kind"] == "sklearn"
    assert _check(report, "metadata.required_fields").status == Status.PASS  # the card is a file: read as usual
    assert _check(report, "auc_roc").status == Status.PASS  # the object scored
    assert report.decision == Decision.BLOCK  # strict: a block rule not computable blocks
