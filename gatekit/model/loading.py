"""Loading model files safely: sha256 pinning, signatures, trust, and skops' type allow-list.

The format is detected from the file's content (never its extension); pickle and joblib content is
only unpickled when its hash or signature is verified or the user vouches for it. Nothing here
imports :mod:`gatekit.data` (the run's file records are passed in).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from gatekit.core.errors import input_error
from gatekit.core.hashing import must_exist, record_file


class UntrustedTypes(Exception):
    """A skops file holds types outside skops' default allow-list (``types``: their names)."""

    def __init__(self, types: list[str]) -> None:
        super().__init__(", ".join(types))
        self.types = types


def load_skops(raw: bytes, allow_untrusted: bool) -> Any:
    """Load a skops file's bytes through skops' type allow-list.

    Parameters
    ----------
    raw : bytes
        The file's content.
    allow_untrusted : bool
        Load types outside skops' default allow-list too (the file's hash was verified, or the user
        vouches for it).

    Returns
    -------
    object
        The model.

    Raises
    ------
    UntrustedTypes
        The file holds types outside the allow-list and ``allow_untrusted`` is false.
    Exception
        Whatever skops raises for a malformed file (callers turn it into their own error).
    """
    import skops.io as sio

    untrusted = sio.get_untrusted_types(data=raw)
    if untrusted and not allow_untrusted:
        raise UntrustedTypes(list(untrusted))
    return sio.loads(raw, trusted=untrusted or None)


def load_model(path: Path, expected_sha256: str | None, trust: bool, files: dict[str, dict[str, Any]],
               run: Any = None, baseline: bool = False, signature: tuple[Path, Path] | None = None,
               artifact_sha256: str | None = None) -> Any:
    """Load a scikit-learn model artifact safely, by the format its content has (never its extension).

    The file is read into memory once; the hash is taken of those bytes, the format is detected from them
    (:func:`gatekit.model.formats.detect_format`) and the model is loaded from the same bytes, so the file
    cannot be swapped between the check and the load. skops files are loaded with skops' type
    allow-list: types skops does not trust by default are refused unless ``expected_sha256`` matches or
    ``trust`` is set. pickle / joblib content (arbitrary code on load) is never unpickled unless
    ``expected_sha256`` matches or ``trust`` is set, whatever the file is called. ONNX files are
    loaded into onnxruntime (no Python code runs from them): the return value is an
    :class:`gatekit.model.onnx.OnnxModel`.

    Parameters
    ----------
    path : pathlib.Path
        The model file.
    expected_sha256 : str or None
        64 hex digits.
    trust : bool
        The user vouches for the file.
    files : dict
        The run's file records (role ``model`` is added).
    run : gatekit.data.inputs.RunInputs, optional
        Receives ``model_path``, ``model_bytes`` and ``model_format``.
    baseline : bool
        The file is the production (baseline) model: messages name the ``baseline`` keys and flags.
    signature : tuple of (pathlib.Path, pathlib.Path), optional
        A detached Ed25519 signature and the public key (``artifact.signature``); verified over the
        bytes read, recorded in ``files["model"]["signature"]``; a verified signature allows unpickling.
    artifact_sha256 : str, optional
        ``artifact.sha256``: a match allows unpickling; a mismatch is recorded for the artifact check.

    Raises
    ------
    InputError
        Missing file, malformed or mismatched hash, untrusted content, unknown format or a load failure.
    """
    import io

    from gatekit.model.formats import detect_format

    sha_key = ("inputs.baseline.model_sha256 (--baseline-model-sha256)" if baseline
               else "inputs.model_sha256 (--model-sha256)")
    trust_key = ("baseline.trust_model: true (--baseline-trust-model)" if baseline
                 else "trust_model: true (--trust-model)")
    must_exist(path, "production model" if baseline else "model")
    if expected_sha256 is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", expected_sha256):
        raise input_error(f"model_sha256 must be 64 hexadecimal characters, not {expected_sha256!r}", str(path),
                          key="model_sha256")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise input_error(f"cannot read the model file: {exc.strerror}", str(path)) from None
    digest = record_file(files, "model", path, raw)
    fmt = detect_format(raw)
    files["model"]["format"] = fmt.format
    if run is not None:
        run.model_path, run.model_bytes, run.model_format = path, raw, fmt
    verified = False
    if signature is not None:
        from gatekit.model.signing import verify_file

        files["model"]["signature"] = verify_file(raw, *signature)
        verified = files["model"]["signature"]["verified"]
    if artifact_sha256 is not None and digest == artifact_sha256.lower():
        verified = True
    if expected_sha256:
        if digest != expected_sha256.lower():
            raise input_error(f"model sha256 {digest} does not match the expected {expected_sha256.lower()} "
                              f"({sha_key}); the file is not the artifact that hash names", str(path),
                              key="model_sha256")
        verified = True
    files["model"]["verified_sha256"] = bool(expected_sha256) and verified
    files["model"]["verified"] = verified
    if fmt.format == "onnx":
        from gatekit.model.onnx import OnnxModel

        try:
            return OnnxModel(raw)
        except Exception as exc:  # noqa: BLE001 - a graph onnxruntime refuses is an input problem
            raise input_error(f"cannot load the ONNX model: {exc}", str(path), key="model") from None
    sig_failed = ""
    if signature is not None and not files["model"]["signature"]["verified"]:
        sig_failed = f"its signature did not verify ({files['model']['signature']['reason']}), so "
    if fmt.format == "skops":
        try:
            return load_skops(raw, allow_untrusted=verified or trust)
        except UntrustedTypes as exc:
            raise input_error(
                f"{sig_failed}the skops file holds types skops does not trust by default: {exc.types}; set "
                f"{sha_key} to the sha256 your training job recorded, or {trust_key} if you vouch for it",
                str(path), key="model") from None
        except Exception as exc:  # noqa: BLE001 - any load failure is an input problem
            raise input_error(f"cannot load the skops model: {exc}", str(path)) from None
    if fmt.format not in ("pickle", "joblib"):
        why = fmt.details.get("reason", "")
        raise input_error(f"unsupported model format ({why}); gatekit loads skops, ONNX, joblib and pickle "
                          "files", str(path), key="model")
    if not (verified or trust):
        raise input_error(
            f"{sig_failed}refusing to unpickle {path.name} (its content is {fmt.format}): pickle/joblib files run "
            "arbitrary "
            f"code when loaded. {'' if baseline else 'Sign it (artifact.signature) or '}pin the sha256 your training "
            f"job recorded for the artifact in {sha_key}; this "
            f"file's is {digest}, which proves nothing about where it came from. Or set {trust_key} if you "
            "vouch for it; better, save the model with skops",
            str(path), key="model")
    import joblib

    try:
        return joblib.load(io.BytesIO(raw))
    except Exception as exc:  # noqa: BLE001
        raise input_error(f"cannot load the model: {exc}", str(path)) from None
