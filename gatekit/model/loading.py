"""Loading model files safely: sha256 pinning, signatures, trust, and skops' type allow-list.

The format is detected from the file's content (never its extension); pickle and joblib content is
only unpickled when its hash or signature is verified or the user vouches for it. Nothing here
imports :mod:`gatekit.data` (the run's file records are passed in).
"""

from __future__ import annotations

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
