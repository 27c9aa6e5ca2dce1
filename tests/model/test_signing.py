"""Tests of :mod:`gatekit.model.signing`: detached Ed25519 signatures over model files."""

from __future__ import annotations

import base64
import pickle
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed448, rsa, x25519
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

import gatekit
from gatekit.core.errors import InputError
from gatekit.model.signing import verify_file
from tests.sections.helpers import _policy


class _Boom:
    """Unpickling this writes a marker file: proof that a pickle was (or was not) loaded."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path(self.marker).write_text, ("unpickled",))


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


def test_an_unknown_key_algorithm_is_a_failed_signature_not_a_crash(art: dict[str, Any]) -> None:
    der = bytearray(art["key"].public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo))
    i = der.find(bytes([6, 3, 0x2B, 0x65, 0x70]))  # the Ed25519 OID 1.3.101.112 -> 1.3.101.127
    der[i + 4] = 0x7F
    key = art["dir"] / "odd.pem"
    key.write_bytes(b"-----BEGIN PUBLIC KEY-----\n" + base64.encodebytes(bytes(der)) + b"-----END PUBLIC KEY-----\n")
    res = verify_file(art["model"].read_bytes(), art["sig"], key)
    assert res["verified"] is False and "odd.pem" in res["reason"]
