"""Loading model files safely: sha256 pinning, signatures, trust, and skops' type allow-list.

The format is detected from the file's content (never its extension); pickle and joblib content is
only unpickled when its hash or signature is verified or the user vouches for it. A model given as a
Python object (``gatekit.run(policy, model=fitted)``) is used as it is (:func:`load_model_object`): the
caller's process already holds it, so nothing is loaded and the file rules do not apply. Nothing here
imports :mod:`gatekit.data` (the run's file records are passed in).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from gatekit.core.errors import InputError, input_error
from gatekit.core.formatting import printable
from gatekit.core.hashing import must_exist, record_file

MAX_INFLATED_BYTES = 2 * 1024**3
"""Largest total a model archive may inflate to (2 GiB): a skops zip's entries together, or a compressed
joblib stream. The demo's models inflate to 0.1-2.1 MB; a model above this is beyond what a CI gate loads."""
MAX_ENTRY_BYTES = 1024**3
"""Largest single entry of a skops zip, inflated (1 GiB); numpy arrays are its largest entries."""
MAX_RATIO = 200
"""Largest compression ratio (inflated / stored bytes) of an archive, and of any skops entry that inflates
to more than :data:`RATIO_FLOOR` bytes. skops stores its entries uncompressed by default (ratio 1, as the
demo's models); deflated float arrays compress about 1.1-3x. A zip bomb's entry inflates 1000x or more."""
RATIO_FLOOR = 1024**2
"""Entries smaller than this (1 MiB inflated) may have any ratio: a small schema.json of repeated keys can
compress 100x and costs nothing to read."""
_CHUNK = 1024**2


class UntrustedTypes(Exception):
    """A skops file holds types outside skops' default allow-list (``types``: their names)."""

    def __init__(self, types: list[str]) -> None:
        super().__init__(", ".join(types))
        self.types = types


def _too_big(what: str, size: int, limit: int, file: str | None, key: str | None) -> Exception:
    return input_error(f"refusing to load the model: {what} inflates to {size:,} bytes, above the limit of "
                       f"{limit:,} bytes ({limit / 1024**3:g} GiB; gatekit.model.loading.{key}); an archive that "
                       "inflates this much is a decompression bomb or far larger than a model gatekit gates",
                       file, key="model")


def _ratio_error(what: str, size: int, stored: int, file: str | None) -> Exception:
    return input_error(f"refusing to load the model: {what} inflates {size / max(stored, 1):,.0f}-fold ({stored:,} -> "
                       f"{size:,} bytes), above the limit of {MAX_RATIO}-fold (gatekit.model.loading.MAX_RATIO): a "
                       "decompression bomb, not a model", file, key="model")


def check_zip_bounds(raw: bytes, file: str | None = None) -> None:
    """Refuse a skops zip that would inflate too far, reading only its directory (nothing is inflated).

    Checks each entry's declared inflated size against :data:`MAX_ENTRY_BYTES`, their total against
    :data:`MAX_INFLATED_BYTES`, and the compression ratio of the archive and of each entry above
    :data:`RATIO_FLOOR` against :data:`MAX_RATIO`. The declared sizes bound what is read: Python's
    ``zipfile`` (which skops reads with) stops an entry at its declared size. A ``.npy`` entry's header is
    read too (a few hundred bytes): an array whose header claims more bytes than the entry holds would
    make numpy allocate the claimed size before reading.

    Parameters
    ----------
    raw : bytes
        The file's content (a zip archive).
    file : str, optional
        The file's path, for the message.

    Raises
    ------
    InputError
        An entry, the total or a ratio is above its limit (the message names the file and the limit).
    """
    import io
    import zipfile

    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise input_error(f"cannot read the skops model: not a readable zip archive ({exc})", file, key="model") \
            from None
    with archive:
        infos = archive.infolist()
        total = 0
        for info in infos:
            name = printable(info.filename)
            if info.file_size > MAX_ENTRY_BYTES:
                raise _too_big(f"its entry {name!r}", info.file_size, MAX_ENTRY_BYTES, file, "MAX_ENTRY_BYTES")
            if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise _ratio_error(f"its entry {name!r}", info.file_size, info.compress_size, file)
            total += info.file_size
            if total > MAX_INFLATED_BYTES:
                raise _too_big(f"the archive ({len(infos)} entries)", total, MAX_INFLATED_BYTES, file,
                               "MAX_INFLATED_BYTES")
        if total > RATIO_FLOOR and total > MAX_RATIO * max(len(raw), 1):
            raise _ratio_error("the archive", total, len(raw), file)
        for info in infos:
            if info.filename.endswith(".npy"):
                claimed = _npy_bytes(archive, info)
                if claimed is not None and claimed > info.file_size:
                    raise input_error(f"refusing to load the model: the array {printable(info.filename)!r} claims "
                                      f"{claimed:,} bytes in a {info.file_size:,}-byte entry (numpy would allocate "
                                      "the claim before reading): a malformed or hostile file", file, key="model")


def _npy_bytes(archive: Any, info: Any) -> int | None:
    """Return the bytes a ``.npy`` entry's header says its array holds; None when it cannot tell (object arrays)."""
    import math

    import numpy as np
    from numpy.lib import format as npy

    try:
        with archive.open(info) as f:
            version = npy.read_magic(f)
            reader = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
            shape, _, dtype = reader(f, max_header_size=10_000) if version in ((1, 0), (2, 0)) else (None, 0, None)
    except Exception:  # noqa: BLE001 - not a .npy numpy reads this way: skops / numpy report it on load
        return None
    if shape is None or dtype is None or np.dtype(dtype).hasobject:
        return None
    return math.prod(shape) * np.dtype(dtype).itemsize


def check_stream_bounds(method: str, raw: bytes, file: str | None = None) -> None:
    """Refuse a compressed joblib stream that inflates too far, inflating it in 1 MiB chunks that are dropped.

    Stops as soon as the output passes :data:`MAX_INFLATED_BYTES` or :data:`MAX_RATIO` times the stored
    size (so a bomb costs at most that much work and one chunk of memory).

    Parameters
    ----------
    method : str
        The compression :func:`gatekit.model.formats.detect_format` found (zlib, gzip, bz2, xz, lzma, lz4).
    raw : bytes
        The file's content.
    file : str, optional
        The file's path, for the message.

    Raises
    ------
    InputError
        The stream inflates beyond a limit.
    """
    import bz2
    import lzma
    import zlib

    limit = min(MAX_INFLATED_BYTES, max(MAX_RATIO * len(raw), RATIO_FLOOR))
    dec: Any
    if method in ("zlib", "gzip"):
        dec = zlib.decompressobj(zlib.MAX_WBITS | (16 if method == "gzip" else 0))
    elif method == "bz2":
        dec = bz2.BZ2Decompressor()
    elif method in ("xz", "lzma"):
        dec = lzma.LZMADecompressor(format=lzma.FORMAT_XZ if method == "xz" else lzma.FORMAT_ALONE)
    else:
        try:
            import lz4.frame
        except ImportError:
            return  # joblib cannot read it either: its own error follows
        dec = lz4.frame.LZ4FrameDecompressor()
    total = 0
    data = raw
    try:
        while True:
            out = dec.decompress(data, _CHUNK)
            total += len(out)
            if total > limit:
                if limit == MAX_INFLATED_BYTES:
                    raise _too_big(f"its {method} stream", total, MAX_INFLATED_BYTES, file, "MAX_INFLATED_BYTES")
                raise _ratio_error(f"its {method} stream", total, len(raw), file)
            if method in ("zlib", "gzip"):  # zlib keeps unread input aside; the others keep it inside
                data = dec.unconsumed_tail
                if dec.eof or (not data and len(out) < _CHUNK):
                    return
            else:
                data = b""
                if dec.eof or (dec.needs_input and len(out) < _CHUNK):
                    return
    except (zlib.error, OSError, EOFError, ValueError, RuntimeError):
        return  # a corrupt stream: joblib's load reports it


def load_skops(raw: bytes, allow_untrusted: bool, file: str | None = None) -> Any:
    """Load a skops file's bytes through skops' type allow-list, once its zip is bounded.

    Parameters
    ----------
    raw : bytes
        The file's content.
    allow_untrusted : bool
        Load types outside skops' default allow-list too (the file's hash was verified, or the user
        vouches for it).
    file : str, optional
        The file's path, for messages.

    Returns
    -------
    object
        The model.

    Raises
    ------
    InputError
        The zip would inflate beyond :data:`MAX_INFLATED_BYTES`, :data:`MAX_ENTRY_BYTES` or
        :data:`MAX_RATIO` (:func:`check_zip_bounds`); nothing was inflated.
    UntrustedTypes
        The file holds types outside the allow-list and ``allow_untrusted`` is false.
    Exception
        Whatever skops raises for a malformed file (callers turn it into their own error).
    """
    import skops.io as sio

    check_zip_bounds(raw, file)  # before skops reads anything: its type scan reads schema.json too

    untrusted = sio.get_untrusted_types(data=raw)
    if untrusted and not allow_untrusted:
        raise UntrustedTypes(list(untrusted))
    return sio.loads(raw, trusted=untrusted or None)


OBJECT_TRUST_NOTE = ("not applicable: the model was given as a Python object that the calling process already "
                     "holds, so gatekit loaded (unpickled) nothing; the rules that guard loading a file (model_sha256, "
                     "trust_model, skops' type allow-list, pickles never loaded unverified) do not apply")
"""What the report says about trust for a model given as a Python object."""
NOT_A_FILE = "the model was given as a Python object, not a file"
"""The reason a rule on the model file's bytes (sha256, signature, size) is not computable for an object."""


def is_model_file(source: Any) -> bool:
    """Return True when ``source`` names a model file (a path or a string), False for an in-memory model object."""
    return isinstance(source, (str, os.PathLike))


def _is_session(obj: Any) -> bool:
    """Tell an onnxruntime ``InferenceSession`` (by its class: onnxruntime is not imported for other objects)."""
    return any(c.__module__.startswith("onnxruntime") and c.__name__ == "InferenceSession" for c in type(obj).__mro__)


def object_kind(obj: Any) -> str:
    """Return the kind of an in-memory model: what a policy's ``model_format.allowed`` matches for it.

    ``"onnx"`` for an onnxruntime ``InferenceSession`` (or gatekit's :class:`~gatekit.model.onnx.OnnxModel`),
    ``"sklearn"`` for an estimator or pipeline whose class comes from scikit-learn (``sklearn.*``), else
    ``"python-object"`` (any other object with ``predict_proba`` / ``predict``, including third-party
    estimators that follow scikit-learn's API).
    """
    from gatekit.model.onnx import OnnxModel

    if isinstance(obj, OnnxModel) or _is_session(obj):
        return "onnx"
    if type(obj).__module__.split(".")[0] == "sklearn":
        return "sklearn"
    return "python-object"


def skops_content_sha256(obj: Any) -> str:
    """Return a content hash of a scikit-learn object: sha256 of its skops serialization, made canonical.

    ``skops.io.dumps`` names its array entries and its shared-object references by ``id()`` (memory
    addresses) and stamps the zip with the time, so its bytes differ from run to run. The hash is taken
    over ``schema.json`` with every ``__id__`` replaced by its order of first appearance and every
    ``file`` reference replaced by the sha256 of that entry's content, serialized with sorted keys: equal
    for the same fitted object in any process (same scikit-learn, numpy and skops versions). It is not
    the sha256 of a ``.skops`` file.

    Raises
    ------
    Exception
        Whatever skops raises for an object it cannot serialize.
    """
    import hashlib
    import io
    import json
    import zipfile

    import skops.io as sio

    raw = sio.dumps(obj)
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        entries = {n: hashlib.sha256(archive.read(n)).hexdigest() for n in archive.namelist() if n != "schema.json"}
        schema = json.loads(archive.read("schema.json"))
    ids: dict[Any, int] = {}

    def canon(node: Any) -> Any:
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            for k, v in node.items():
                if k == "__id__":
                    out[k] = ids.setdefault(v, len(ids))
                elif k == "file" and isinstance(v, str) and v in entries:
                    out[k] = entries[v]
                else:
                    out[k] = canon(v)
            return out
        if isinstance(node, list):
            return [canon(v) for v in node]
        return node

    text = json.dumps(canon(schema), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _session_bytes(session: Any) -> tuple[bytes | None, str]:
    """Return the model bytes an onnxruntime session was created from, and where they came from (or why not)."""
    raw = getattr(session, "_model_bytes", None)
    if isinstance(raw, bytes) and raw:
        return raw, "the bytes the InferenceSession was created from"
    path = getattr(session, "_model_path", None)
    if isinstance(path, str) and path:
        try:
            return Path(path).read_bytes(), (f"the file {path} the InferenceSession was created from, read when "
                                             "gatekit ran (the session holds no copy of it)")
        except OSError as exc:
            return None, f"the InferenceSession was created from {path}, which cannot be read now ({exc.strerror})"
    return None, "onnxruntime does not expose the model bytes of this InferenceSession"


def describe_model_object(obj: Any) -> dict[str, Any]:
    """Describe an in-memory model for the report: class path, kind, library and version, content hash.

    Parameters
    ----------
    obj : object
        The fitted model (or an onnxruntime ``InferenceSession``).

    Returns
    -------
    dict
        ``given_as`` (``"python object"``), ``class`` (e.g. ``sklearn.pipeline.Pipeline``), ``kind``
        (:func:`object_kind`), ``library`` and ``library_version`` (the top-level package of the class and
        its ``__version__``), ``content_sha256`` (:func:`skops_content_sha256` for a scikit-learn object, the
        sha256 of an ONNX session's model bytes) with ``content_hash`` saying how it was taken, or None with
        ``content_hash`` saying why not ("not hashable: ..."), and ``trust`` (:data:`OBJECT_TRUST_NOTE`).
    """
    import hashlib
    import sys

    from gatekit.model.onnx import OnnxModel

    inner = obj.session if isinstance(obj, OnnxModel) else obj
    cls = type(inner)
    top = cls.__module__.split(".")[0]
    version = getattr(sys.modules.get(top), "__version__", None)
    kind = object_kind(obj)
    out: dict[str, Any] = {"given_as": "python object", "class": f"{cls.__module__}.{cls.__qualname__}",
                           "kind": kind, "library": top, "library_version": None if version is None else str(version),
                           "content_sha256": None, "content_hash": None, "trust": OBJECT_TRUST_NOTE}
    if kind == "onnx":
        raw, where = _session_bytes(inner) if _is_session(inner) else (None, "no session")
        if raw is not None:
            out["content_sha256"] = hashlib.sha256(raw).hexdigest()
            out["content_hash"] = f"sha256 of {where}"
            out["bytes"] = len(raw)
        else:
            out["content_hash"] = f"not hashable: {where}"
    elif kind == "sklearn":
        try:
            out["content_sha256"] = skops_content_sha256(inner)
            out["content_hash"] = ("sha256 of its skops serialization, canonical (array entries by content, object "
                                   "ids by order): gatekit.model.loading.skops_content_sha256; not a .skops file's "
                                   "sha256")
        except Exception as exc:  # noqa: BLE001 - skops cannot serialize every object: then it has no hash
            out["content_hash"] = f"not hashable: skops cannot serialize it ({type(exc).__name__}: {exc})"
    else:
        out["content_hash"] = ("not hashable: gatekit hashes scikit-learn objects (through skops) and ONNX "
                               "sessions (their model bytes) only")
    return out


def load_model_object(obj: Any, expected_sha256: str | None = None, run: Any = None, baseline: bool = False,
                      info: dict[str, Any] | None = None) -> Any:
    """Take a model given as a Python object: check it can score, record what it is, return the model to run.

    No file is read and nothing is unpickled: the caller's process already holds the object, so the trust
    rules of files do not apply (:data:`OBJECT_TRUST_NOTE`). An onnxruntime ``InferenceSession`` is wrapped
    in :class:`~gatekit.model.onnx.OnnxModel` (the caller's session, options and providers kept; class labels
    from its model bytes when onnxruntime kept them or its file can be read); a scikit-learn estimator must
    be fitted; any other object needs ``predict_proba`` or ``predict``.

    Parameters
    ----------
    obj : object
        A fitted scikit-learn estimator / pipeline, an onnxruntime ``InferenceSession``, a
        :class:`~gatekit.model.onnx.OnnxModel`, or any object with ``predict_proba`` / ``predict``.
    expected_sha256 : str or None
        ``inputs.model_sha256``: a pin on a file's bytes. Refused for an object (there are no bytes to check,
        and the pin names some other artifact than the one gated).
    run : gatekit.data.inputs.RunInputs, optional
        Receives ``model_path = None``, ``model_bytes = None`` and ``model_format`` (a
        :class:`~gatekit.model.formats.FormatInfo` with the kind as ``format`` and ``is_object`` true).
    baseline : bool
        The production (baseline) model: recorded under ``baseline_model_object``.
    info : dict, optional
        Receives the record of :func:`describe_model_object` under ``model_object`` (``baseline_model_object``);
        default ``run.info``.

    Returns
    -------
    object
        The model to score with.

    Raises
    ------
    InputError
        ``expected_sha256`` given, an unfitted scikit-learn estimator, or an object that cannot score.
    """
    from gatekit.model.formats import FormatInfo
    from gatekit.model.onnx import OnnxModel

    who = "production model" if baseline else "model"
    key = "baseline_model" if baseline else "model"
    if expected_sha256:
        sha_key = "inputs.baseline.model_sha256" if baseline else "inputs.model_sha256"
        raise input_error(f"{sha_key} pins a model file's sha256, but the {who} was given as a Python object "
                          f"({type(obj).__module__}.{type(obj).__qualname__}), which has no file to check; remove the "
                          "pin, or give the file it names", key=key)
    model = obj
    if _is_session(obj):
        graph = None
        raw, _ = _session_bytes(obj)
        if raw is not None:
            try:
                import onnx

                graph = onnx.load_model_from_string(raw).graph
            except Exception:  # noqa: BLE001 - bytes onnx cannot parse: class labels come from a ZipMap, if any
                graph = None
        model = OnnxModel.from_session(obj, graph)
    elif not (callable(getattr(obj, "predict_proba", None)) or callable(getattr(obj, "predict", None))):
        raise input_error(f"the {who} given as a Python object ({type(obj).__module__}.{type(obj).__qualname__}) has "
                          "neither predict_proba nor predict; give a fitted estimator, an onnxruntime "
                          "InferenceSession, or a model file", key=key)
    elif object_kind(obj) == "sklearn":
        from sklearn.exceptions import NotFittedError
        from sklearn.utils.validation import check_is_fitted

        try:
            check_is_fitted(obj)
        except NotFittedError:
            raise input_error(f"the {who} ({type(obj).__module__}.{type(obj).__qualname__}) is not fitted; fit it "
                              "before gating it", key=key) from None
        except TypeError:  # check_is_fitted refuses objects it does not know as estimators: they score or raise
            pass
    record = describe_model_object(model)
    target = info if info is not None else (run.info if run is not None else None)
    if target is not None:
        target[f"{key}_object"] = record
    if run is not None:
        run.model_path, run.model_bytes = None, None
        run.model_format = FormatInfo(record["kind"], None, {k: record[k] for k in (
            "given_as", "class", "library", "library_version", "content_sha256")})
    return model


def load_model(path: Path | Any, expected_sha256: str | None, trust: bool, files: dict[str, dict[str, Any]],
               run: Any = None, baseline: bool = False, signature: tuple[Path, Path] | None = None,
               artifact_sha256: str | None = None, info: dict[str, Any] | None = None) -> Any:
    """Load a scikit-learn model artifact safely, by the format its content has (never its extension).

    A ``path`` that is not a path or a string is a model given as a Python object: it is handed to
    :func:`load_model_object` (no file, no bytes, nothing in ``files``; ``signature`` and
    ``artifact_sha256`` are not checked here: the artifact rules on them report that they are not computable).

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
    path : pathlib.Path or object
        The model file, or a model object (:func:`load_model_object`).
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
    info : dict, optional
        A model object only: receives its record (:func:`load_model_object`).

    Raises
    ------
    InputError
        Missing file, malformed or mismatched hash, untrusted content, unknown format or a load failure.
    """
    import io

    from gatekit.model.formats import detect_format

    if not is_model_file(path):
        return load_model_object(path, expected_sha256, run, baseline, info)
    path = Path(path)
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
        check_zip_bounds(raw, str(path))
        try:
            return load_skops(raw, allow_untrusted=verified or trust, file=str(path))
        except InputError:
            raise
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
    if fmt.details.get("compression"):  # bounded before joblib inflates it all in memory
        check_stream_bounds(fmt.details["compression"], raw, str(path))
    import joblib

    try:
        return joblib.load(io.BytesIO(raw))
    except Exception as exc:  # noqa: BLE001
        raise input_error(f"cannot load the model: {exc}", str(path)) from None
