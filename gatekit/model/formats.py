"""Model artifacts: the format from the file's content, and the input signature the model declares.

Nothing here unpickles, imports or runs an artifact: pickles are walked opcode by opcode with
:func:`pickletools.genops` (which parses, never executes), skops files are read as zip archives,
ONNX files are parsed as protobuf messages and MLflow ``MLmodel`` files with ``yaml.safe_load``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KNOWN_FORMAT_NAMES: tuple[str, ...] = ("onnx", "skops", "joblib", "pickle", *(f"pickle_v{p}" for p in range(6)))

_MAX_OPCODES = 100_000  # opcodes walked in a pickle before giving up the search for joblib's wrapper
_MAX_INFLATE = 64 * 1024  # decompressed bytes looked at in a compressed joblib file
_MAX_SCHEMA = 64 * 1024 * 1024  # largest skops schema.json read
# joblib/compressor.py: magic prefixes of the streams joblib.dump(compress=...) writes ("BZ" there; bz2 writes "BZh")
_JOBLIB_PREFIXES = (("zlib", b"\x78"), ("gzip", b"\x1f\x8b"), ("bz2", b"BZh"), ("xz", b"\xfd\x37\x7a\x58\x5a"),
                    ("lzma", b"\x5d\x00"), ("lz4", b"\x04\x22\x4d\x18"))
_JOBLIB_WRAPPERS = {("joblib.numpy_pickle", "NumpyArrayWrapper"), ("joblib.numpy_pickle_compat", "NDArrayWrapper"),
                    ("joblib.numpy_pickle_compat", "ZNDArrayWrapper")}
# joblib files are pickles (or compressed pickles) and are commonly saved as .pkl: that is no false claim
_EXTENSIONS = {".pkl": {"pickle", "joblib"}, ".pickle": {"pickle", "joblib"},
               ".joblib": {"joblib", "pickle"}, ".skops": {"skops"},
               ".onnx": {"onnx"}}


@dataclass(frozen=True)
class FormatInfo:
    """The format of a model artifact, as its content shows it.

    Parameters
    ----------
    format : str
        ``"onnx"``, ``"skops"``, ``"joblib"``, ``"pickle"`` or ``"unknown"``.
    protocol : int or None
        Pickle protocol of a pickle, or of a joblib file that is an uncompressed pickle; else None.
    details : dict
        joblib: ``compression`` (None when uncompressed; a compressed file also has ``pickle_protocol``);
        onnx: ``ir_version``, ``opset`` ({domain: version}) and ``producer``; skops: ``protocol`` and
        ``files``; unknown: ``reason``.
    """

    format: str
    protocol: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def names(self) -> set[str]:
        """Return the names this format satisfies in a policy's allow-list of formats.

        Returns
        -------
        set of str
            ``{"pickle", "pickle_v4"}`` for a protocol-4 pickle, ``{"joblib"}`` for any joblib file
            (compressed or not), ``{"onnx"}``, ``{"skops"}``; empty for an unknown format.
        """
        if self.format == "pickle":
            return {"pickle"} | ({f"pickle_v{self.protocol}"} if self.protocol is not None else set())
        return set() if self.format == "unknown" else {self.format}


def _unknown(reason: str) -> FormatInfo:
    return FormatInfo("unknown", None, {"reason": reason})


def _scan_pickle(raw: bytes) -> tuple[int | None, bool]:
    """Return (protocol, references a joblib array wrapper) of a pickle, or (None, False) if ``raw`` is not one.

    A PROTO header (``0x80`` then 2..5) is enough for a pickle, even a truncated one; a pickle without one
    (protocol 0 or 1) must parse up to a STOP opcode that ends the data (or through the whole opcode budget), so
    random bytes and text do not pass. Opcodes per CPython's pickletools.
    """
    import pickletools

    header = len(raw) >= 2 and raw[0] == 0x80 and 2 <= raw[1] <= 5
    protocol, joblib, count, stopped = (raw[1] if header else 0), False, 0, False
    memo: dict[int, Any] = {}
    strings: list[Any] = [None, None]  # the last two values pushed, for STACK_GLOBAL's module and name
    try:
        for opcode, arg, pos in pickletools.genops(io.BytesIO(raw)):
            count += 1
            name = opcode.name
            if not header:
                protocol = max(protocol, opcode.proto)
            if name == "GLOBAL":
                module, _, qualname = str(arg).partition(" ")
                joblib = (module, qualname) in _JOBLIB_WRAPPERS
            elif name == "STACK_GLOBAL":
                joblib = (strings[0], strings[1]) in _JOBLIB_WRAPPERS
            elif name == "MEMOIZE":
                memo[len(memo)] = strings[1]
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[_memo_index(arg)] = strings[1]
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                strings = [strings[1], memo.get(_memo_index(arg))]
            elif name not in ("FRAME", "PROTO"):
                strings = [strings[1], arg if isinstance(arg, str) else None]
            if joblib or name == "STOP" or count >= _MAX_OPCODES:
                stopped = name != "STOP" or pos == len(raw) - 1  # a headerless pickle's STOP ends the file
                break
    except Exception:  # noqa: BLE001 - genops raises ValueError and others on bytes that are not (all) pickle
        pass
    if header or (stopped and count > 1):
        return protocol, joblib
    return None, False


def _memo_index(arg: object) -> int:
    """Return the memo index of a PUT / GET opcode (genops types every argument as optional; these have one)."""
    if not isinstance(arg, int):
        raise TypeError(f"a memo opcode with the argument {arg!r}, not an index")
    return arg


def _inflate(method: str, raw: bytes) -> bytes | None:
    """Decompress at most ``_MAX_INFLATE`` bytes from the start of ``raw``; None if that fails."""
    chunk = raw[: 4 * 1024 * 1024]
    try:
        if method in ("zlib", "gzip"):
            import zlib

            return zlib.decompressobj(zlib.MAX_WBITS | (16 if method == "gzip" else 0)).decompress(chunk, _MAX_INFLATE)
        if method == "bz2":
            import bz2

            return bz2.BZ2Decompressor().decompress(chunk, _MAX_INFLATE)
        if method in ("xz", "lzma"):
            import lzma

            fmt = lzma.FORMAT_XZ if method == "xz" else lzma.FORMAT_ALONE
            return lzma.LZMADecompressor(format=fmt).decompress(chunk, _MAX_INFLATE)
        import lz4.frame  # optional, as in joblib

        return lz4.frame.LZ4FrameDecompressor().decompress(chunk, _MAX_INFLATE)
    except Exception:  # noqa: BLE001 - corrupt stream or lz4 not installed
        return None


def _skops(raw: bytes) -> FormatInfo:
    import json
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            names = archive.namelist()
            if "schema.json" not in names:
                return _unknown(f"a zip archive without schema.json, so not a skops file ({len(names)} entries)")
            if archive.getinfo("schema.json").file_size > _MAX_SCHEMA:
                return _unknown("a zip archive whose schema.json is too large to be a skops schema")
            schema = json.loads(archive.read("schema.json"))
    except Exception as exc:  # noqa: BLE001 - a damaged archive is an unknown format, not a crash
        return _unknown(f"a zip archive that cannot be read: {exc}")
    protocol = schema.get("protocol") if isinstance(schema, dict) else None
    if not isinstance(protocol, int):
        return _unknown("a zip archive with a schema.json that has no integer skops protocol")
    return FormatInfo("skops", None, {"protocol": protocol, "files": len(names)})


def _onnx(raw: bytes) -> FormatInfo | None:
    try:
        import onnx

        model = onnx.load_model_from_string(raw)
    except Exception:  # noqa: BLE001 - not a protobuf ModelProto
        return None
    if model.ir_version <= 0 or not model.graph.node:  # protobuf parsing is lenient: demand a real graph
        return None
    producer = " ".join(p for p in (model.producer_name, model.producer_version) if p)
    return FormatInfo("onnx", None, {"ir_version": int(model.ir_version), "producer": producer or None,
                                     "opset": {o.domain or "ai.onnx": int(o.version) for o in model.opset_import}})


def detect_format(raw: bytes) -> FormatInfo:
    """Detect a model artifact's format from its bytes, without loading it.

    Rules, in order: a zip archive with ``schema.json`` is skops (skops.io file format; ``protocol`` is
    read from the schema). A pickle (opcodes per CPython's ``pickletools``: ``PROTO`` header ``0x80``
    then 2..5, or a protocol 0/1 pickle that parses to ``STOP``) that references joblib's
    ``NumpyArrayWrapper`` by ``GLOBAL``/``STACK_GLOBAL`` is joblib, else pickle (joblib.dump of an
    object without numpy arrays is a plain pickle). A stream with one of the prefixes joblib's
    ``compressor.py`` writes (zlib, gzip, bz2, xz, lzma, lz4) whose first 64 KiB inflate to a pickle is
    compressed joblib. Last, a protobuf ``ModelProto`` (ONNX IR spec) with ``ir_version`` > 0 and at
    least one graph node is onnx.

    Parameters
    ----------
    raw : bytes
        The artifact's content.

    Returns
    -------
    FormatInfo
        The format; ``"unknown"`` with ``details["reason"]`` when none matches. Never raises.
    """
    try:
        import zipfile

        raw = bytes(raw)
        if not raw:
            return _unknown("empty file")
        if zipfile.is_zipfile(io.BytesIO(raw)):
            return _skops(raw)
        protocol, joblib = _scan_pickle(raw)
        if protocol is not None:
            return FormatInfo("joblib" if joblib else "pickle", protocol, {"compression": None} if joblib else {})
        for method, prefix in _JOBLIB_PREFIXES:
            inflated = _inflate(method, raw) if raw.startswith(prefix) else None
            inner = _scan_pickle(inflated)[0] if inflated else None
            if inner is not None:
                return FormatInfo("joblib", None, {"compression": method, "pickle_protocol": inner})
        info = _onnx(raw)
        if info is not None:
            return info
        return _unknown(f"not a pickle, joblib, skops zip or ONNX protobuf (first bytes: {raw[:16]!r})")
    except Exception as exc:  # noqa: BLE001 - detection never raises; a surprise is an unknown format
        return _unknown(f"format detection failed: {type(exc).__name__}: {exc}")


def _describe(info: FormatInfo) -> str:
    if info.format == "pickle":
        return f"a pickle (protocol {info.protocol})"
    if info.format == "joblib":
        how = info.details.get("compression")
        return f"a joblib file ({f'{how}-compressed' if how else f'uncompressed pickle, protocol {info.protocol}'})"
    if info.format == "skops":
        return f"a skops file (protocol {info.details.get('protocol')})"
    return f"an ONNX model (IR version {info.details.get('ir_version')})"


def extension_conflict(path: str | Path, info: FormatInfo) -> str | None:
    """Say whether the file name's extension claims another format than the content has.

    ``.pkl``/``.pickle`` claim pickle (or joblib, commonly saved under that name), ``.joblib``
    joblib (a plain pickle is fine: joblib writes pickles),
    ``.skops`` skops and ``.onnx`` onnx; the comparison ignores case.

    Parameters
    ----------
    path : str or Path
        The artifact's file name or path.
    info : FormatInfo
        What :func:`detect_format` found in its content.

    Returns
    -------
    str or None
        A message such as ``"the file is named .onnx but its content is a pickle (protocol 4)"``; None when
        they agree, when the extension claims no format, or when the content's format is unknown (its
        ``reason`` says more than a conflict would).
    """
    suffix = Path(path).suffix.lower()
    claimed = _EXTENSIONS.get(suffix)
    if claimed is None or info.format == "unknown" or info.format in claimed:
        return None
    return f"the file is named {suffix} but its content is {_describe(info)}"


@dataclass(frozen=True)
class Feature:
    """One named model input.

    Parameters
    ----------
    name : str
        Column name.
    type : str or None
        Logical type: ``"integer"``, ``"float"``, ``"string"``, ``"boolean"``, ``"datetime"``,
        ``"category"``, or None when the artifact does not say.
    required : bool
        Whether the model needs the column (MLflow's ``required``); True elsewhere.
    """

    name: str
    type: str | None
    required: bool = True


@dataclass(frozen=True)
class ModelSignature:
    """The inputs a model artifact declares.

    Parameters
    ----------
    source : str
        Where the signature was read: ``"onnx"``, ``"sklearn"`` or ``"mlflow"``.
    features : list of Feature or None
        Named inputs in order; None when the artifact names no columns.
    tensor_inputs : list of dict
        ONNX graph inputs as ``{"name", "type", "elem_type", "shape"}`` (``type`` logical, ``elem_type``
        the ONNX name, ``shape`` with None for unknown dimensions); empty for other sources.
    notes : list of str
        What could not be read, e.g. unnamed columns.
    """

    source: str
    features: list[Feature] | None
    tensor_inputs: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _onnx_type(name: str) -> str | None:
    if name.startswith(("FLOAT", "BFLOAT")) or name == "DOUBLE":
        return "float"
    if name.startswith(("INT", "UINT")):
        return "integer"
    return {"STRING": "string", "BOOL": "boolean"}.get(name)


def onnx_signature(raw: bytes) -> ModelSignature:
    """Read the inputs of an ONNX model's graph (graph inputs that are not initializers, per the ONNX IR spec).

    Element types map to logical types: FLOAT*, DOUBLE, BFLOAT16 -> float; INT*/UINT* -> integer;
    STRING -> string; BOOL -> boolean; others -> None. One input per column (each of shape ``[N, 1]``
    or ``[N]``) gives one :class:`Feature` per input; anything else (typically one ``[N, n]`` tensor)
    gives ``features`` None and a note.

    Parameters
    ----------
    raw : bytes
        The ONNX model's content.

    Returns
    -------
    ModelSignature
        With ``source="onnx"`` and every graph input in ``tensor_inputs``.

    Raises
    ------
    ValueError
        If ``raw`` is not an ONNX model.
    """
    import onnx

    try:
        model = onnx.load_model_from_string(bytes(raw))
    except Exception as exc:  # noqa: BLE001 - protobuf's DecodeError and friends
        raise ValueError(f"not an ONNX model: {exc}") from None
    initializers = {init.name for init in model.graph.initializer}
    tensors: list[dict[str, Any]] = []
    for value in model.graph.input:
        if value.name in initializers:
            continue
        tensor = value.type.tensor_type if value.type.HasField("tensor_type") else None
        elem = onnx.TensorProto.DataType.Name(tensor.elem_type) if tensor is not None else None
        shape = ([d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
                 if tensor is not None and tensor.HasField("shape") else None)
        tensors.append({"name": value.name, "type": _onnx_type(elem) if elem else None, "elem_type": elem,
                        "shape": shape})
    per_column = bool(tensors) and all(t["shape"] is not None and (len(t["shape"]) == 1 or (
        len(t["shape"]) == 2 and t["shape"][1] == 1)) for t in tensors)
    if per_column:
        return ModelSignature("onnx", [Feature(t["name"], t["type"]) for t in tensors], tensors, [])
    if len(tensors) == 1 and tensors[0]["shape"] is not None and len(tensors[0]["shape"]) == 2:
        t = tensors[0]
        count = t["shape"][1] if t["shape"][1] is not None else "an unknown number of"
        note = f"columns are unnamed: input {t['name']!r} takes {count} columns of type {t['type'] or t['elem_type']}"
    else:
        note = f"the graph's {len(tensors)} input(s) are not one column each, so columns are unnamed"
    return ModelSignature("onnx", None, tensors, [note])


def sklearn_signature(model: object) -> ModelSignature | None:
    """Read the columns a fitted scikit-learn estimator was fitted on (``feature_names_in_``).

    scikit-learn records names but no dtypes, so every type is None.

    Parameters
    ----------
    model : object
        A fitted estimator or pipeline (already loaded; this function loads nothing).

    Returns
    -------
    ModelSignature or None
        The names in order; ``features`` None with a note when the estimator was fitted without column
        names but records ``n_features_in_``; None when it records neither.
    """
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        return ModelSignature("sklearn", [Feature(str(n), None) for n in names], [],
                              ["scikit-learn records column names but not their types"])
    count = getattr(model, "n_features_in_", None)
    if count is None:
        return None
    return ModelSignature("sklearn", None, [], [f"the model was fitted without column names: {count} unnamed columns"])


_MLFLOW_TYPES = {"double": "float", "float": "float", "long": "integer", "integer": "integer", "string": "string",
                 "boolean": "boolean", "datetime": "datetime", "binary": None}


def mlflow_signature(model_path: str | Path) -> ModelSignature | None:
    """Read the input signature from an MLflow ``MLmodel`` file (MLflow's model signature docs).

    ``signature.inputs`` is a JSON string of a column-based schema (``[{"type": "double", "name": "x",
    "required": true}, ...]``) or a tensor-based one (``"type": "tensor"``). Types map as double/float ->
    float, long/integer -> integer, string, boolean, datetime, and binary (or anything else) -> None.

    Parameters
    ----------
    model_path : str or Path
        An MLflow model directory holding ``MLmodel``, or an artifact with an ``MLmodel`` file beside it.

    Returns
    -------
    ModelSignature or None
        None when there is no ``MLmodel`` or it records no input signature; ``features`` None with a note
        for a tensor-based signature or unnamed columns.

    Raises
    ------
    ValueError
        If the ``MLmodel`` file is not valid YAML or its signature is malformed; the message names the file.
    """
    import json

    import yaml

    path = Path(model_path)
    mlmodel = path / "MLmodel" if path.is_dir() else path.parent / "MLmodel"
    if not mlmodel.is_file():
        return None
    try:
        doc = yaml.safe_load(mlmodel.read_text(encoding="utf-8"))
        if not isinstance(doc, dict):
            raise ValueError("the file is not a YAML mapping")
        signature = doc.get("signature")
        if signature is not None and not isinstance(signature, dict):
            raise ValueError("signature is not a mapping")
        if signature is None or signature.get("inputs") is None:
            return None
        inputs = signature["inputs"]
        specs = json.loads(inputs) if isinstance(inputs, str) else inputs
        if not isinstance(specs, list) or not all(isinstance(s, dict) and isinstance(s.get("type"), str)
                                                  for s in specs):
            raise ValueError("signature.inputs is not a list of column or tensor specs")
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError) as exc:
        raise ValueError(f"{mlmodel}: malformed MLmodel file: {exc}") from None
    if any(s["type"] == "tensor" for s in specs):
        shapes = ", ".join(f"{s.get('name', '?')}: {s.get('tensor-spec', {})}" for s in specs)
        return ModelSignature("mlflow", None, [], [f"tensor-based signature, columns are unnamed ({shapes})"])
    if not all(isinstance(s.get("name"), str) for s in specs):
        return ModelSignature("mlflow", None, [], [f"the signature's {len(specs)} columns are not all named"])
    notes = [f"column {s['name']!r} has MLflow type {s['type']!r}, which maps to no logical type"
             for s in specs if s["type"] not in _MLFLOW_TYPES]
    features = [Feature(s["name"], _MLFLOW_TYPES.get(s["type"]), bool(s.get("required", True))) for s in specs]
    return ModelSignature("mlflow", features, [], notes)
