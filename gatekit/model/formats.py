"""Model artifacts: the format from the file's content, and the input signature the model declares.

Nothing here unpickles, imports or runs an artifact: pickles are walked opcode by opcode with
:func:`pickletools.genops` (which parses, never executes), skops files are read as zip archives,
ONNX files are parsed as protobuf messages and MLflow ``MLmodel`` files with :func:`read_small_yaml` (a safe
loader with the bounds a policy file has: size, aliases measured and never expanded past a limit, depth).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KNOWN_FORMAT_NAMES: tuple[str, ...] = ("onnx", "skops", "joblib", "pickle", *(f"pickle_v{p}" for p in range(6)),
                                       "sklearn", "python-object")
"""Names a policy's ``model_format.allowed`` may use. The last two are the kinds of a model given as a Python object
(``gatekit.run(policy, model=fitted)``): ``sklearn`` (a scikit-learn estimator or pipeline) and ``python-object``
(any other object with ``predict_proba`` / ``predict``); an onnxruntime ``InferenceSession`` is ``onnx``."""
OBJECT_KINDS: tuple[str, ...] = ("sklearn", "onnx", "python-object")
"""The kinds of an in-memory model (:func:`gatekit.model.loading.object_kind`)."""

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
        ``"onnx"``, ``"skops"``, ``"joblib"``, ``"pickle"`` or ``"unknown"`` for a file; for a model given as a
        Python object its kind (:data:`OBJECT_KINDS`: ``"sklearn"``, ``"onnx"`` or ``"python-object"``), with
        ``details["given_as"] == "python object"`` (:attr:`is_object`).
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

    @property
    def is_object(self) -> bool:
        """True when the model was given as a Python object (no file, no bytes), not read from a file."""
        return self.details.get("given_as") == "python object"


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
    return _from_tensors(tensors)


def session_signature(inputs: list[tuple[str, str, Any]]) -> ModelSignature:
    """Read the inputs of an onnxruntime session (``session.get_inputs()``), as :func:`onnx_signature` reads a graph.

    onnxruntime lists the graph inputs that are not initializers, each with a type such as ``tensor(float)``
    and a shape whose unknown dimensions are names or None; the element type is the ONNX name upper-cased
    (``tensor(float)`` -> ``FLOAT``, ``tensor(int64)`` -> ``INT64``) and mapped to a logical type as
    :func:`onnx_signature` maps it, so a session and the file it was created from give the same signature.

    Parameters
    ----------
    inputs : list of (name, type, shape)
        ``[(i.name, i.type, i.shape) for i in session.get_inputs()]``.

    Returns
    -------
    ModelSignature
        With ``source="onnx"``.
    """
    tensors: list[dict[str, Any]] = []
    for name, typ, shape in inputs:
        elem = typ[len("tensor("):-1].upper() if isinstance(typ, str) and typ.startswith("tensor(") else None
        dims = [d if isinstance(d, int) and not isinstance(d, bool) else None for d in shape] \
            if shape is not None else None
        tensors.append({"name": name, "type": _onnx_type(elem) if elem else None, "elem_type": elem, "shape": dims})
    return _from_tensors(tensors)


def _from_tensors(tensors: list[dict[str, Any]]) -> ModelSignature:
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


def read_small_yaml(path: Path, what: str) -> Any:
    """Read a small YAML (or JSON) file a user gives beside a policy, with the bounds a policy file has.

    The policy reader's limits (:mod:`gatekit.core.yaml_limits`): at most ``MAX_POLICY_BYTES`` bytes, at most
    ``MAX_POLICY_NODES`` values once YAML aliases are expanded (measured on the node graph, never expanded:
    a 431-byte alias bomb is refused in microseconds), no recursive alias, at most ``MAX_POLICY_DEPTH``
    levels of nesting. PyYAML's safe loader (no Python objects), YAML 1.2 floats.

    Parameters
    ----------
    path : pathlib.Path
        The file.
    what : str
        What the file is, for messages (``"signature file"``, ``"MLmodel file"``).

    Raises
    ------
    ValueError
        Unreadable, too large, not UTF-8, not YAML, an alias bomb, a recursive alias or too deep; the
        message names the file and stays short.
    """
    import yaml

    from gatekit.core.yaml_limits import (
        MAX_POLICY_BYTES,
        MAX_POLICY_DEPTH,
        MAX_POLICY_NODES,
        PolicyYamlLoader,
    )
    from gatekit.core.yaml_limits import depth_exceeds as _depth_exceeds
    from gatekit.core.yaml_limits import expanded_size as _expanded_size

    try:
        nbytes = path.stat().st_size
        if nbytes > MAX_POLICY_BYTES:
            raise ValueError(f"{path}: the {what} is {nbytes:,} bytes (limit {MAX_POLICY_BYTES:,} bytes)")
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: the {what} is not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the {what}: {exc.strerror or type(exc).__name__}") from None
    loader = None
    try:
        loader = PolicyYamlLoader(text)
        root = loader.get_single_node()
        if root is None:
            return None
        size = _expanded_size(root)
        if size is None:
            raise ValueError(f"{path}: a YAML alias in the {what} refers to itself (recursive structure)")
        if size > MAX_POLICY_NODES:
            raise ValueError(f"{path}: the {what} expands to more than {MAX_POLICY_NODES:,} values through YAML "
                             "aliases (an alias bomb?); write the values out")
        if _depth_exceeds(root, MAX_POLICY_DEPTH):
            raise ValueError(f"{path}: the {what} is nested more than {MAX_POLICY_DEPTH} levels deep")
        return loader.construct_document(root)
    except RecursionError:
        raise ValueError(f"{path}: the {what} is nested too deeply") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ValueError(f"{path}: the {what} is not valid YAML: {_clip(str(exc.problem))}{at}") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: the {what} is not valid YAML: {_clip(str(exc))}") from None
    finally:
        if loader is not None:
            loader.dispose()


def _clip(text: str, limit: int = 200) -> str:
    """Return ``text`` on one line, at most ``limit`` characters (a value shown in a message never floods it)."""
    text = " ".join(text[: 4 * limit].split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def short(value: Any, limit: int = 80) -> str:
    """Show a value from a user's file in a message, at most ``limit`` characters, whatever its size.

    A string is clipped; anything else goes through :mod:`reprlib` (a few items per level, a few levels),
    so a structure reached through YAML aliases (a list holding a 500 KB string 100,000 times) is never
    turned into text in full, as ``str()`` / ``repr()`` / an f-string would.
    """
    import reprlib

    if isinstance(value, str):
        return _clip(value, limit)
    r = reprlib.Repr()
    r.maxlevel, r.maxlist, r.maxdict, r.maxtuple, r.maxset = 3, 6, 6, 6, 6
    r.maxstring, r.maxother, r.maxlong = 40, 40, 40
    return _clip(r.repr(value), limit)


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

    path = Path(model_path)
    mlmodel = path / "MLmodel" if path.is_dir() else path.parent / "MLmodel"
    if not mlmodel.is_file():
        return None
    doc = read_small_yaml(mlmodel, "MLmodel file")  # bounded: size, alias expansion, depth
    try:
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
    except (RecursionError, ValueError) as exc:  # json: bad JSON, or nested too deeply
        raise ValueError(f"{mlmodel}: malformed MLmodel file: {_clip(str(exc) or type(exc).__name__)}") from None
    if any(s["type"] == "tensor" for s in specs):
        # a value shown in a message is clipped: the spec is the user's structure, of any size
        shapes = ", ".join(f"{short(s.get('name', '?'), 60)}: {short(s.get('tensor-spec', {}), 100)}"
                           for s in specs[:5]) + (f" and {len(specs) - 5} more" if len(specs) > 5 else "")
        return ModelSignature("mlflow", None, [], [f"tensor-based signature, columns are unnamed ({shapes})"])
    if not all(isinstance(s.get("name"), str) for s in specs):
        return ModelSignature("mlflow", None, [], [f"the signature's {len(specs)} columns are not all named"])
    unmapped = [s for s in specs if s["type"] not in _MLFLOW_TYPES]
    notes = [f"column {short(s['name'])!r} has MLflow type {short(s['type'])!r}, which maps to no logical type"
             for s in unmapped[:10]]
    if len(unmapped) > 10:
        notes.append(f"and {len(unmapped) - 10} more columns whose MLflow type maps to no logical type")
    features = [Feature(s["name"], _MLFLOW_TYPES.get(s["type"]), bool(s.get("required", True))) for s in specs]
    return ModelSignature("mlflow", features, [], notes)
