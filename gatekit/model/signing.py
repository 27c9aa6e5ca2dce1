"""Detached Ed25519 signatures over model files (RFC 8032), verified with the ``cryptography`` package.

A signature file holds the 64-byte signature raw, or as base64 or hex text. A public key is a PEM
``PUBLIC KEY`` (SubjectPublicKeyInfo) file, or the raw 32-byte key as base64 or hex text. Signing, for
a release job (documented in README)::

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    key = Ed25519PrivateKey.generate()
    Path("model.onnx.sig").write_bytes(key.sign(Path("model.onnx").read_bytes()))
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from pathlib import Path
from typing import Any


def _decode(raw: bytes, size: int) -> bytes | None:
    """``raw`` as ``size`` bytes: itself, or decoded from hex or base64 text; None if it is neither."""
    if len(raw) == size:
        return raw
    text = raw.strip()
    try:
        out = binascii.unhexlify(text)
        if len(out) == size:
            return out
    except (binascii.Error, ValueError):
        pass
    try:
        out = base64.b64decode(text, validate=True)
        if len(out) == size:
            return out
    except (binascii.Error, ValueError):
        pass
    return None


def load_public_key(path: Path) -> Any:
    """Read an Ed25519 public key (PEM, or 32 raw bytes as base64 / hex text).

    Raises
    ------
    ValueError
        The file is not an Ed25519 public key (the message says what it is).
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    raw = path.read_bytes()
    if b"-----BEGIN" in raw:
        try:
            key = load_pem_public_key(raw)
        except Exception as exc:  # noqa: BLE001 - UnsupportedAlgorithm, ValueError: all mean "not this key"
            raise ValueError(f"not a readable PEM public key ({type(exc).__name__}: {exc})") from None
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(f"the PEM key is {type(key).__name__}, not an Ed25519 public key")
        return key
    data = _decode(raw, 32)
    if data is None:
        raise ValueError("not an Ed25519 public key: expected a PEM file or 32 bytes as base64 or hex")
    return Ed25519PublicKey.from_public_bytes(data)


def verify_file(content: bytes, signature_path: Path, public_key_path: Path) -> dict[str, Any]:
    """Verify a detached Ed25519 signature over ``content`` (the model file's bytes, as hashed).

    Parameters
    ----------
    content : bytes
        The signed file's bytes.
    signature_path, public_key_path : pathlib.Path
        The signature and the signer's public key.

    Returns
    -------
    dict
        ``{"verified": bool, "reason": str, "signature": path, "public_key": path,
        "public_key_sha256": hex or None}``. Never raises for a bad or missing file: that is the
        finding, reported by the artifact section.
    """
    from cryptography.exceptions import InvalidSignature

    out: dict[str, Any] = {"verified": False, "signature": str(signature_path), "public_key": str(public_key_path),
                           "public_key_sha256": None, "algorithm": "Ed25519 (RFC 8032), detached"}
    for what, p in (("signature", signature_path), ("public key", public_key_path)):
        if not p.is_file():
            out["reason"] = f"the {what} file {p} does not exist"
            return out
    try:
        key = load_public_key(public_key_path)
    except ValueError as exc:
        out["reason"] = f"{public_key_path}: {exc}"
        return out
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    out["public_key_sha256"] = hashlib.sha256(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()
    sig = _decode(signature_path.read_bytes(), 64)
    if sig is None:
        out["reason"] = f"{signature_path}: not an Ed25519 signature (expected 64 bytes, raw or as base64 / hex)"
        return out
    try:
        key.verify(sig, content)
    except InvalidSignature:
        out["reason"] = ("the signature does not match the file: it was not signed with this key, or the file "
                         "changed after signing")
        return out
    out["verified"] = True
    out["reason"] = "the signature verifies with the given public key"
    return out
