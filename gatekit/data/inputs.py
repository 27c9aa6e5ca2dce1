"""Run inputs: evaluation data, scores or a model, sensitive features and observed metrics.

Everything is read once, here, and shared read-only by the section adapters. Each file's sha256 is
recorded for the report. Problems raise :class:`~gatekit.core.errors.InputError` naming the file and column.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gatekit.core.errors import InputError, Problem, input_error
from gatekit.metrics.registry import EvalData, MetricRegistry

_POSITIVE_TEXT = {("no", "yes"): "yes", ("false", "true"): "true", ("n", "y"): "y",
                  ("negative", "positive"): "positive", ("0", "1"): "1"}
MAX_METRICS_BYTES = 10 * 1024 * 1024


@dataclass
class InputOptions:
    """Input locations and column names, after merging CLI flags over the policy's ``inputs:``.

    Paths are absolute or relative to the current directory here (policy-relative paths are resolved
    by :func:`merge_options`).
    """

    data: Path | None = None
    target: str | None = None
    positive_label: Any = None
    score: str | None = None
    prediction: str | None = None
    model: Path | None = None
    model_sha256: str | None = None
    trust_model: bool = False
    features: list[str] | None = None
    sensitive: list[str] = field(default_factory=list)
    extra_sensitive: list[str] = field(default_factory=list)
    metrics: Path | None = None
    reference: Path | None = None
    task: str | None = None
    baseline_score: str | None = None
    baseline_prediction: str | None = None
    baseline_model: Path | None = None
    baseline_model_sha256: str | None = None
    baseline_trust_model: bool = False
    baseline_metrics: Path | None = None
    latency_samples: Path | None = None
    baseline_latency_samples: Path | None = None
    model_signature: tuple[Path, Path] | None = None
    artifact_sha256: str | None = None
    canary: Any = None
    """The policy's ``canary:`` spec (:class:`gatekit.policy.models.CanarySpec`), when it has one."""
    canary_data: Path | None = None

    @property
    def has_baseline_rows(self) -> bool:
        """True when the baseline model's output on the evaluation rows is given (column or model)."""
        return any(x is not None for x in (self.baseline_score, self.baseline_prediction, self.baseline_model))


@dataclass
class ObservedMetric:
    """A metric value read from a metrics file."""

    name: str
    value: float | None
    file: str


@dataclass
class CanaryArms:
    """A canary traffic log split by arm.

    Parameters
    ----------
    candidate, baseline : EvalData
        The rows served by the candidate and by production (each with its own outcomes).
    info : dict
        File, rows per arm, rows in neither arm, positives per arm.
    """

    candidate: EvalData
    baseline: EvalData
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunInputs:
    """Everything a run reads, loaded once.

    Parameters
    ----------
    eval_data : EvalData or None
        Arrays for metric functions; None when no evaluation data was given.
    observed : dict of str to ObservedMetric
        Metrics-file values keyed by canonical metric name.
    files : dict
        Role -> ``{"path", "sha256", "bytes"}`` for every file read.
    info : dict
        Facts for the report: rows, columns, task, positive label, model details, unused metric names.
    frame : pandas.DataFrame or None
        The evaluation data as read (data-quality and compatibility sections validate it).
    reference : pandas.DataFrame or None
        The reference (training) data, when given.
    model : object or None
        The loaded candidate model (an :class:`gatekit.model.onnx.OnnxModel` for an ONNX file).
    model_path : pathlib.Path or None
    model_bytes : bytes or None
        The model file's bytes, read once (format detection and signature reading use the same bytes
        that were hashed).
    model_format : gatekit.model.formats.FormatInfo or None
        The format detected from the model file's content.
    no_eval_reason : str
        Why ``eval_data`` is None (shown by metric rules that cannot be computed).
    scoring_error : str or None
        Why the model could not score the data (metric rules report it as their error; the data-quality
        and compatibility sections still run).
    baseline_observed : dict of str to ObservedMetric
        The baseline (production) model's metrics file values.
    baseline_model : object or None
        The loaded production model, when given.
    baseline_scoring_error : str or None
        Why the production model could not score the data.
    canary : CanaryArms or None
        The canary traffic log split into its two arms.
    runner, baseline_runner : gatekit.model.serving.Runner or None
        The candidate's (production's) model bound to its features, when it can run on the data
        (operational figures are measured with it).
    runner_error : str or None
        Why the candidate's model cannot run on the data (a model given beside a score column).
    """

    eval_data: EvalData | None = None
    observed: dict[str, ObservedMetric] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    frame: Any = None
    reference: Any = None
    model: Any = None
    model_path: Path | None = None
    model_bytes: bytes | None = None
    model_format: Any = None
    no_eval_reason: str = "no evaluation data was given and the metrics file does not have it"
    scoring_error: str | None = None
    baseline_observed: dict[str, ObservedMetric] = field(default_factory=dict)
    baseline_model: Any = None
    baseline_scoring_error: str | None = None
    canary: CanaryArms | None = None
    runner: Any = None
    baseline_runner: Any = None
    runner_error: str | None = None
    latency_samples: list[float] | None = None
    baseline_latency_samples: list[float] | None = None


def sha256_file(path: Path) -> str:
    """Return the hex sha256 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_regular_file(path: Any) -> str | None:
    """Return the sha256 of a regular file; None when it is missing, unreadable or not a regular file.

    Devices and fifos are never read (a report or policy naming ``/dev/zero`` must not hang a run).
    """
    import stat

    try:
        p = Path(str(path))
        return sha256_file(p) if stat.S_ISREG(p.stat().st_mode) else None
    except (OSError, ValueError):
        return None


def _record(files: dict[str, dict[str, Any]], role: str, path: Path, raw: bytes | None = None) -> str:
    """Record a file's path, sha256 and size for the report; hash ``raw`` when the caller holds the bytes."""
    if raw is not None:
        digest, size = hashlib.sha256(raw).hexdigest(), len(raw)
    else:
        try:
            digest, size = sha256_file(path), path.stat().st_size
        except OSError as exc:
            raise input_error(f"cannot read the {role} file: {exc.strerror}", str(path)) from None
    files[role] = {"path": str(path.resolve()), "sha256": digest, "bytes": size}  # absolute: verify runs anywhere
    return digest


def _must_exist(path: Path, role: str, hint: str = "") -> None:
    if not path.is_file():
        raise input_error(f"{role} file not found{hint}", str(path))


def read_frame(path: Path) -> Any:
    """Read a CSV or Parquet file into a pandas DataFrame.

    Raises
    ------
    InputError
        Unknown extension, unreadable or malformed file (naming the file and, for CSV, the line).
    """
    import pandas as pd

    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt") or path.name.lower().endswith(".csv.gz"):
            first = pd.read_csv(path, nrows=1, header=None, dtype=str, keep_default_na=False)
            header = first.iloc[0].tolist() if len(first) else []
            dup = sorted({str(h) for h in header if header.count(h) > 1})
            if dup:
                raise input_error(f"duplicate column name(s) {dup} in the header; pandas would rename the copies "
                                  "and use the first silently: rename them", str(path))
            import warnings

            with warnings.catch_warnings():  # a row with more fields than the header would lose its extra values
                warnings.simplefilter("error", pd.errors.ParserWarning)
                return pd.read_csv(path, index_col=False)  # a trailing comma on every row must not shift columns
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
    except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        raise input_error(f"malformed CSV: {str(exc).strip()}; every row needs as many fields as the header",
                          str(path)) from None
    except pd.errors.EmptyDataError:
        raise input_error("the file is empty (no header row)", str(path)) from None
    except (OSError, ValueError, ImportError) as exc:
        raise input_error(f"cannot read the data file: {exc}", str(path)) from None
    raise input_error(f"unsupported data format {suffix!r}; use .csv or .parquet", str(path))


def _column(frame: Any, name: str, role: str, file: str) -> Any:
    if name not in frame.columns:
        same = [c for c in frame.columns if str(c) == name]  # Parquet may have non-text column names
        if len(same) == 1:
            return frame[same[0]]
        close = difflib.get_close_matches(name, [str(c) for c in frame.columns], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        cols = ", ".join(map(str, frame.columns[:30]))
        more = f" (and {len(frame.columns) - 30} more)" if len(frame.columns) > 30 else ""
        raise input_error(f"{role} column {name!r} not found{hint or '.'} Columns: {cols}{more}", file, key=role)
    return frame[name]


def _infer_positive(values: list[Any], declared: Any, file: str, column: str) -> Any:
    if declared is not None:
        return declared
    uniq = sorted({str(v).strip().lower() for v in values})
    if set(uniq) <= {"0", "1", "0.0", "1.0"}:
        return 1
    if set(uniq) <= {"true", "false"} and all(isinstance(v, (bool, np.bool_)) for v in values):
        return True
    for pair, pos in _POSITIVE_TEXT.items():
        if set(uniq) <= set(pair):
            return pos
    raise input_error(
        f"cannot tell which value of target {column!r} is positive (values: {uniq[:10]}); set "
        "inputs.positive_label (or --positive-label), or, if the target is a numeric quantity, "
        "task: regression (--task regression)", file, key="positive_label")


def _to01(series: Any, positive: Any) -> np.ndarray:
    """Map labels to 1.0 (positive) / 0.0, keeping missing values as NaN.

    Labels are compared in one normal form (:func:`_norm_label`): ``1``, ``1.0``, ``"1"``, ``"1.0"``
    and ``True`` are the same label, and text compares case-insensitively after stripping spaces.
    The mapping is computed once per distinct value.
    """
    out = np.full(len(series), np.nan)
    mask = series.notna().to_numpy()
    vals = series[mask]
    want = _norm_label(positive)
    lookup = {v: float(_norm_label(v) == want) for v in vals.unique()}
    out[mask] = vals.map(lookup).to_numpy(dtype=float)
    return out


def _scalar_column(col: Any, role: str, name: str, file: str) -> None:
    """Refuse a column holding lists, dicts or arrays (possible in Parquet): labels must be scalars."""
    import pandas as pd

    # infer_dtype scans in C; only a column of mixed kinds needs the per-value look
    if col.dtype == object and pd.api.types.infer_dtype(col, skipna=True) not in (
            "string", "bytes", "integer", "floating", "mixed-integer-float", "boolean", "decimal", "empty"):
        bad = col.map(lambda v: isinstance(v, (list, tuple, dict, set, np.ndarray))).to_numpy()
        if bad.any():
            raise input_error(f"{role} column {name!r} holds lists or arrays (first at row {int(np.argmax(bad))}); "
                              "it must hold one value per row", file, key=role)


def _numeric(col: Any, what: str, name: str, file: str, key: str) -> np.ndarray:
    """Return a column as a float array, or raise an InputError naming it."""
    try:
        return col.astype(float).to_numpy()
    except (TypeError, ValueError):
        raise input_error(f"{what} {name!r} is not numeric", file, key=key) from None


def _norm_label(v: Any) -> Any:
    """Return a class label in one normal form.

    Numbers, numeric text, booleans and "true"/"false" become floats; other text is stripped and
    lower-cased.
    """
    if isinstance(v, str):
        t = v.strip().lower()
        if t in ("true", "false"):
            return 1.0 if t == "true" else 0.0
        try:
            return float(t)
        except ValueError:
            return t
    try:
        return float(v)
    except (TypeError, ValueError):
        return str(v).strip().lower()


def _check_label_space(pred: Any, target: Any, pred_name: str, target_name: str, file: str) -> None:
    """Refuse a prediction column whose values are not labels of the target.

    Predicted ``yes``/``no`` against a 0/1 target would otherwise all read as negative, and probabilities
    in a prediction column would all read as "not the positive label": both make a model look fair.
    """
    pred_vals = {_norm_label(v) for v in pred.dropna().unique()}
    target_vals = {_norm_label(v) for v in target.dropna().unique()}
    extra = pred_vals - target_vals
    probabilities = all(isinstance(v, float) for v in extra) and any(0 < v < 1 for v in extra)
    if not extra or (len(pred_vals | target_vals) <= 2 and not probabilities):
        return  # a one-class holdout may still be predicted with the other label
    shown = sorted(map(str, extra))[:5]
    if probabilities:
        hint = "; it looks like probabilities: give it as the score column (--score / inputs.score)"
    else:
        hint = "; predictions must use the target's labels"
    raise input_error(f"prediction column {pred_name!r} has values {shown} that are not labels of target "
                      f"{target_name!r} ({sorted(map(str, target_vals))[:5]}){hint}", file, key="prediction")


def _infer_task(target: Any, declared: str | None) -> str:
    if declared:
        return declared
    nonnull = target.dropna()
    if target.dtype == bool or nonnull.nunique() <= 2:
        return "classification"
    if np.issubdtype(target.dtype, np.number):
        return "regression"
    return "multiclass"


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
               run: RunInputs | None = None, baseline: bool = False, signature: tuple[Path, Path] | None = None,
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
    run : RunInputs, optional
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
    _must_exist(path, "production model" if baseline else "model")
    if expected_sha256 is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", expected_sha256):
        raise input_error(f"model_sha256 must be 64 hexadecimal characters, not {expected_sha256!r}", str(path),
                          key="model_sha256")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise input_error(f"cannot read the model file: {exc.strerror}", str(path)) from None
    digest = _record(files, "model", path, raw)
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


class _MissingFeatures(Exception):
    """The data lacks feature columns the model needs (a data problem the run reports, not a usage error)."""


def _make_runner(model: Any, frame: Any, opts: InputOptions, task: str, positive: Any, file: str,
                 baseline: bool = False) -> Any:
    """Bind a loaded model to its feature columns and positive class (:class:`gatekit.model.serving.Runner`).

    Raises
    ------
    InputError
        No feature names, columns missing from the data (caused by :class:`_MissingFeatures`), no
        ``predict_proba`` on a classifier, or a positive label that is not one of the model's classes.
    """
    from gatekit.model.serving import Runner

    recorded = [str(c) for c in getattr(model, "feature_names_in_", [])]
    # the candidate: inputs.features, else the model's own names; the production model: its own names,
    # else the candidate's list (a model fitted on arrays records none)
    features = (recorded or opts.features) if baseline else (opts.features or recorded)
    if not features:
        who = "the production model" if baseline else "the model"
        raise input_error(f"{who} does not record its feature names (feature_names_in_); list them in "
                          "inputs.features (they must suit both models), or refit it on a DataFrame", file,
                          key="features")
    missing = [c for c in features if c not in frame.columns]
    if missing:
        msg = f"the {'production ' if baseline else ''}model needs columns missing from the data: {missing}"
        raise input_error(msg, file, key="features") from _MissingFeatures(msg)
    idx = None
    if task == "classification":
        if not hasattr(model, "predict_proba"):
            raise input_error("the classifier has no predict_proba; give a score column instead", file)
        idx = _positive_index(list(getattr(model, "classes_", [])), positive)
    return Runner(model, list(features), task, idx)


def _score_with_model(model: Any, frame: Any, opts: InputOptions, task: str, positive: Any, file: str,
                      info: dict[str, Any], baseline: bool = False) -> tuple[np.ndarray, Any]:
    """Score the evaluation rows with a loaded model; return the scores and the bound runner."""
    runner = _make_runner(model, frame, opts, task, positive, file, baseline)
    info["model"] = {"class": type(model).__name__, "features": runner.features}
    if runner.positive_index is not None:
        info["model"]["positive_class_index"] = runner.positive_index
    try:
        return runner(frame[runner.features]), runner
    except Exception as exc:  # noqa: BLE001 - the model failing on the data is an input problem
        raise input_error(f"the model failed to score the data: {type(exc).__name__}: {exc}", file) from None


def _positive_index(classes: list[Any], positive: Any) -> int:
    """Column of ``predict_proba`` that belongs to the positive label.

    The label must be one of the model's classes (in :func:`_norm_label` form). A model trained on 0/1
    scoring a yes/no target is refused: which class means "yes" is not recorded anywhere.
    """
    want = _norm_label(positive)
    hits = [i for i, c in enumerate(classes) if _norm_label(c) == want]
    if len(hits) == 1:
        return hits[0]
    raise input_error(f"the positive label {positive!r} is not one of the model's classes {classes}; the target "
                      "must use the labels the model was trained on (or give a score column instead)",
                      key="positive_label")


def load_observed(path: Path, registry: MetricRegistry, files: dict[str, dict[str, Any]],
                  info: dict[str, Any], role: str = "metrics") -> dict[str, ObservedMetric]:
    """Read a metrics JSON file: a flat object of metric name -> number (or null).

    An object with a ``"metrics"`` key holding that mapping is accepted too. Names are resolved with
    the registry (``auc_roc`` and ``roc_auc`` are the same metric); unknown names are listed in the
    report as unused. ``null`` and NaN mean "not computable".

    Raises
    ------
    InputError
        Missing file, invalid JSON (with line and column), a non-numeric value (naming its key).
    """
    _must_exist(path, role)
    _record(files, role, path)
    if path.stat().st_size > MAX_METRICS_BYTES:
        raise input_error(f"the metrics file is {path.stat().st_size:,} bytes; a metrics file is a small JSON "
                          f"object (limit {MAX_METRICS_BYTES:,} bytes)", str(path))
    duplicates: list[str] = []

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for k, v in pairs:
            if k in seen:
                duplicates.append(k)
            seen[k] = v
        return seen

    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"), object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as exc:
        raise InputError([Problem(f"invalid JSON: {exc.msg}", str(path), exc.lineno, exc.colno)]) from None
    except UnicodeDecodeError:
        raise input_error("not UTF-8 text", str(path)) from None
    except RecursionError:
        raise input_error("the JSON is nested too deeply; expected a flat object of metric names to numbers",
                          str(path)) from None
    except ValueError as exc:  # e.g. an integer literal with thousands of digits
        raise input_error(f"invalid JSON value: {exc}", str(path)) from None
    if duplicates:
        raise input_error(f"duplicate key(s) {sorted(set(duplicates))}: JSON parsers keep only one of them; "
                          "remove the others", str(path))
    if isinstance(data, dict) and isinstance(data.get("metrics"), dict):
        clash = [k for k in data if k != "metrics" and registry.resolve(k) is not None]
        if clash:
            raise input_error(f"metric(s) {clash} appear both at the top level and under 'metrics'; give each "
                              "metric once", str(path))
        data = data["metrics"]
    if not isinstance(data, dict):
        raise input_error("expected a JSON object mapping metric names to numbers, e.g. "
                          '{"auc_roc": 0.91, "precision_at_0_5": 0.76}', str(path))
    out: dict[str, ObservedMetric] = {}
    unused: list[str] = []
    problems: list[Problem] = []
    for name, value in data.items():
        if isinstance(value, bool) or not (value is None or isinstance(value, (int, float))):
            problems.append(Problem(f"value of {name!r} must be a number or null, not {value!r}", str(path),
                                    key=name))
            continue
        res = registry.resolve(name)
        if res is None:
            unused.append(name)
            continue
        try:
            v = None if value is None or (isinstance(value, float) and not math.isfinite(value)) else float(value)
        except OverflowError:
            problems.append(Problem(f"value of {name!r} is too large to be a metric", str(path), key=name))
            continue
        if v is not None and res.spec.out_of_bounds(v):
            lo, hi = res.spec.bounds
            rng = f"[{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"
            problems.append(Problem(f"{name!r} = {v:g} is outside the range of {res.canonical} {rng}"
                                    f"{' (a fraction, not percent)' if hi == 1 else ''}", str(path), key=name))
            continue
        if res.canonical in out:
            problems.append(Problem(f"{name!r} and {out[res.canonical].name!r} name the same metric", str(path),
                                    key=name))
            continue
        out[res.canonical] = ObservedMetric(name, v, str(path))
    if problems:
        raise InputError(problems)
    info["unused_metrics_in_file" if role == "metrics" else f"unused_metrics_in_{role}_file"] = unused
    return out


def _shadow_without_labels(opts: InputOptions, run: RunInputs, frame: Any, model: Any, file: str,
                           decision_threshold: float, strict: bool) -> None:
    """Shadow mode before outcomes exist: candidate and production outputs on the same rows, no target.

    Only the shadow metrics (agreement, score differences) are computable; every metric that needs the
    target says so. The task is ``inputs.task`` (default classification); predicted labels need
    ``positive_label`` unless they are 0/1, true/false or yes/no.
    """
    task = opts.task or "classification"
    data = EvalData(task=task, decision_threshold=decision_threshold, strict=strict)
    positive = opts.positive_label
    if task == "classification" and positive is None:
        # the label columns given (either model's predictions) say which label is positive (1/true/yes)
        labels = [c for c in (opts.prediction, opts.baseline_prediction) if c is not None]
        values = [v for c in labels for v in _column(frame, c, "prediction", file).dropna().unique().tolist()]
        if values:
            positive = _infer_positive(list(dict.fromkeys(values)), None, file, " / ".join(labels))
    if opts.score is not None:
        col = _column(frame, opts.score, "score", file)
        _scalar_column(col, "score", opts.score, file)
        data.y_score = _numeric(col, "score column", opts.score, file, "score")
    elif opts.prediction is not None:
        col = _column(frame, opts.prediction, "prediction", file)
        _scalar_column(col, "prediction", opts.prediction, file)
        if task == "classification":
            data.y_pred = _to01(col, positive)
        else:
            data.y_pred = _numeric(col, "prediction column", opts.prediction, file, "prediction")
    else:
        if task == "classification":
            classes = list(getattr(model, "classes_", []))
            positive = _infer_positive(classes, positive, str(opts.model), "the model's classes")
        data.y_score, run.runner = _score_with_model(model, frame, opts, task, positive, file, run.info)
    data.positive_label = positive
    run.eval_data = data
    _load_baseline_rows(opts, run, frame, None, task, positive, file)
    run.no_eval_reason = "no target column was given, so only the shadow comparisons are computed"
    run.info.update({"task": task, "target": None, "positive_label": positive, "score": opts.score,
                     "prediction": opts.prediction, "shadow_without_labels": True})


def _bind_without_target(run: RunInputs, model: Any, frame: Any, opts: InputOptions, file: str) -> None:
    """Bind a model to its features when there is no target (operational figures need no labels)."""
    task = opts.task or ("classification" if hasattr(model, "predict_proba") else "regression")
    try:
        positive = None
        if task == "classification":
            positive = _infer_positive(list(getattr(model, "classes_", [])), opts.positive_label, file,
                                       "the model's classes")
        run.runner = _make_runner(model, frame, opts, task, positive, file)
    except InputError as exc:
        run.runner_error = str(exc)


def _listed(v: Any) -> list[str]:
    return [v] if isinstance(v, str) else [x for x in (v or []) if isinstance(x, str)]


def _load_baseline_rows(opts: InputOptions, run: RunInputs, frame: Any, target: Any, task: str, positive: Any,
                        file: str) -> None:
    """Attach the production model's output on the evaluation rows as ``run.eval_data.baseline``.

    From a score column, a prediction column, or the production model scoring the same rows (loaded
    under the same rules as the candidate's). Same target and sensitive columns as the candidate.
    """
    from dataclasses import replace

    data = run.eval_data
    assert data is not None
    base = replace(data, y_score=None, y_pred=None, cache={}, baseline=None)
    if opts.baseline_score is not None:
        col = _column(frame, opts.baseline_score, "baseline score", file)
        _scalar_column(col, "baseline score", opts.baseline_score, file)
        base.y_score = _numeric(col, "baseline score column", opts.baseline_score, file, "baseline.score")
        source = f"score column {opts.baseline_score!r}"
    elif opts.baseline_prediction is not None:
        col = _column(frame, opts.baseline_prediction, "baseline prediction", file)
        _scalar_column(col, "baseline prediction", opts.baseline_prediction, file)
        if task == "classification":
            if target is not None:
                _check_label_space(col, target, opts.baseline_prediction, opts.target or "", file)
            base.y_pred = _to01(col, positive)
        else:
            base.y_pred = _numeric(col, "baseline prediction column", opts.baseline_prediction, file,
                                   "baseline.prediction")
        source = f"prediction column {opts.baseline_prediction!r}"
    else:
        assert opts.baseline_model is not None
        files: dict[str, dict[str, Any]] = {}
        model = load_model(opts.baseline_model, opts.baseline_model_sha256, opts.baseline_trust_model, files,
                           baseline=True)
        run.files["baseline_model"] = files["model"]
        run.baseline_model = model
        info: dict[str, Any] = {}
        try:
            base.y_score, run.baseline_runner = _score_with_model(model, frame, opts, task, positive, file, info,
                                                                  baseline=True)
        except InputError as exc:
            if not isinstance(exc.__cause__, _MissingFeatures):
                raise
            run.baseline_scoring_error = str(exc.__cause__)
        run.info["baseline_model"] = info.get("model")
        source = f"model {opts.baseline_model.name}"
    data.baseline = base
    run.info["baseline"] = {"source": source, "paired": True}


def load_canary(spec: Any, path: Path, files: dict[str, dict[str, Any]], decision_threshold: float = 0.5,
                strict: bool = True, extra_sensitive: list[str] | None = None) -> CanaryArms:
    """Read a canary traffic log and split it into the candidate's and production's arms.

    Parameters
    ----------
    spec : gatekit.policy.models.CanarySpec
        Column names and arm values.
    path : pathlib.Path
        The log, ``.csv`` or ``.parquet``.
    files : dict
        The run's file records (role ``canary_log`` is added).
    decision_threshold, strict : float, bool
        As for :class:`EvalData`.
    extra_sensitive : list of str, optional
        Sensitive columns named by the rules' parameters.

    Returns
    -------
    CanaryArms

    Raises
    ------
    InputError
        Missing file or column, an arm with no rows, missing outcomes, a non-numeric score.
    """
    _must_exist(path, "canary log")
    _record(files, "canary_log", path)
    frame = read_frame(path)
    file = str(path)
    arm = _column(frame, spec.arm, "arm", file)
    arm_text = arm.astype(object).map(lambda v: None if v is None or v != v else str(_norm_label(v)))
    target = _column(frame, spec.target, "target", file)
    if arm_text.isna().any():
        idx = np.flatnonzero(arm_text.isna().to_numpy())[:5]
        raise input_error(f"{int(arm_text.isna().sum())} rows have no {spec.arm!r} value (rows {idx.tolist()}, "
                          "counted from 0): which model served them is unknown; fill or remove them (a canary "
                          "comparison never drops rows silently)", file, key=spec.arm)
    counts = {str(k): int(v) for k, v in arm_text.value_counts(dropna=False).items()}
    for which, value in (("candidate_arm", spec.candidate_arm), ("baseline_arm", spec.baseline_arm)):
        if counts.get(str(_norm_label(value)), 0) == 0:
            raise input_error(f"no row has {spec.arm} = {value!r} ({which}); the column holds {counts}", file,
                              key=spec.arm)
    if target.isna().any():
        idx = np.flatnonzero(target.isna().to_numpy())[:5]
        raise input_error(f"{int(target.isna().sum())} rows have no outcome (rows {idx.tolist()}, counted from 0); "
                          "a canary comparison never drops rows silently", file, key=spec.target)
    task = _infer_task(target, None)
    if task == "multiclass":
        raise input_error(f"outcome {spec.target!r} has more than two classes; gatekit compares binary "
                          "classifiers and regressors", file, key=spec.target)
    positive = None
    if task == "classification":
        positive = _infer_positive(target.unique().tolist(), spec.positive_label, file, spec.target)
        y = _to01(target, positive).astype(int)
        if y.sum() == 0 and target.nunique() == 2:
            raise input_error(f"positive label {positive!r} matches no value of outcome {spec.target!r} (values: "
                              f"{target.unique().tolist()[:10]}); check canary.positive_label", file,
                              key="positive_label")
    else:
        y = _numeric(target, "outcome", spec.target, file, spec.target)
    out_col = spec.score or spec.prediction
    col = _column(frame, out_col, "score" if spec.score else "prediction", file)
    if spec.score is not None or task == "regression":
        values = _numeric(col, "score column" if spec.score else "prediction column", out_col, file, out_col)
    else:
        _check_label_space(col, target, out_col, spec.target, file)
        values = _to01(col, positive)
    sens_cols = list(dict.fromkeys([*spec.sensitive, *(extra_sensitive or [])]))
    sf = None
    if sens_cols:
        for c in sens_cols:
            _column(frame, c, "sensitive", file)
        sf = frame[sens_cols].astype(object)
        sf = sf.apply(lambda c: c.where(c.isna(), c.map(str)))
    arms: dict[str, EvalData] = {}
    for name, value in (("candidate", spec.candidate_arm), ("baseline", spec.baseline_arm)):
        mask = (arm_text == str(_norm_label(value))).to_numpy()
        d = EvalData(y_true=y[mask], task=task, decision_threshold=decision_threshold, strict=strict,
                     positive_label=positive, sensitive_default=list(spec.sensitive))
        if spec.score is not None:
            d.y_score = values[mask]
        else:
            d.y_pred = values[mask]
        if sf is not None:
            d.sensitive = sf[mask].reset_index(drop=True)
        arms[name] = d
    info = {"file": file, "rows": len(frame), "arm_column": spec.arm,
            "rows_candidate": len(arms["candidate"].y_true), "rows_baseline": len(arms["baseline"].y_true),
            "rows_in_neither_arm": int(len(frame) - len(arms["candidate"].y_true) - len(arms["baseline"].y_true)),
            "task": task, "positive_label": positive}
    if task == "classification":
        info["positives_candidate"] = int(arms["candidate"].y_true.sum())
        info["positives_baseline"] = int(arms["baseline"].y_true.sum())
    return CanaryArms(arms["candidate"], arms["baseline"], info)


def load_inputs(opts: InputOptions, registry: MetricRegistry, decision_threshold: float = 0.5,
                strict: bool = True, allow_empty: bool = False) -> RunInputs:
    """Load every input named in ``opts`` once.

    Parameters
    ----------
    opts : InputOptions
        Where the inputs are and which columns to use.
    registry : MetricRegistry
        To resolve names in a metrics file.
    decision_threshold : float
        Score threshold for predicted labels, passed on to :class:`EvalData`.
    strict : bool
        Passed on to :class:`EvalData` (missing sensitive values are errors in strict mode).
    allow_empty : bool
        Accept no data and no metrics file (a policy whose rules need neither, such as a compatibility
        check between two declared signatures).

    Returns
    -------
    RunInputs

    Raises
    ------
    InputError
        A file or column is missing or unusable.
    """
    run = RunInputs()
    for which in ("latency_samples", "baseline_latency_samples"):
        path = getattr(opts, which)
        if path is not None:
            from gatekit.model.serving import load_samples

            samples = load_samples(path)  # names the file when it is missing or malformed
            _record(run.files, which, path)
            setattr(run, which, samples)
    if opts.canary is not None:
        if opts.canary_data is None:
            raise input_error("the policy has a canary: section but no traffic log; set canary.data or --canary-log")
        named = [p for r in opts.canary.rules for p in _listed(r.params.get("sensitive"))]
        run.canary = load_canary(opts.canary, opts.canary_data, run.files, decision_threshold, strict, named)
        run.info["canary"] = run.canary.info
    if opts.metrics is not None:
        run.observed = load_observed(opts.metrics, registry, run.files, run.info)
    if opts.baseline_metrics is not None:
        run.baseline_observed = load_observed(opts.baseline_metrics, registry, run.files, run.info,
                                              role="baseline_metrics")
    if opts.data is not None:
        _must_exist(opts.data, "data")  # the evaluation data is named first when both are missing
    if opts.reference is not None:
        _must_exist(opts.reference, "reference")
        _record(run.files, "reference", opts.reference)
        run.reference = read_frame(opts.reference)
        run.info["reference"] = {"rows": len(run.reference), "columns": int(run.reference.shape[1])}
    if opts.data is None:
        for flag, val in (("target", opts.target), ("score", opts.score), ("prediction", opts.prediction),
                          ("sensitive", opts.sensitive),
                          ("baseline score", opts.baseline_score), ("baseline prediction", opts.baseline_prediction),
                          ("baseline model", opts.baseline_model)):
            if val:
                raise input_error(f"{flag} is set but no evaluation data is: give --data (or inputs.data)", key=flag)
        if opts.model is not None:  # inspected without data: format, signature, hash (artifact rules)
            run.model = load_model(opts.model, opts.model_sha256, opts.trust_model, run.files, run,
                                   signature=opts.model_signature, artifact_sha256=opts.artifact_sha256)
            run.no_eval_reason = "no evaluation data was given (--data), so the model scored nothing"
            return run
        if opts.metrics is None and opts.latency_samples is None and not (allow_empty and opts.reference is None):
            raise input_error("nothing to evaluate: give evaluation data (--data with --target and --score, "
                              "--prediction or --model) or a metrics file (--metrics), on the command line or "
                              "in the policy's inputs: section")
        return run
    _record(run.files, "data", opts.data)
    frame = read_frame(opts.data)
    run.frame = frame
    file = str(opts.data)
    run.info["data"] = {"rows": len(frame), "columns": int(frame.shape[1])}
    if opts.score is not None and opts.prediction is not None:
        raise input_error("give only one of score and prediction", file)
    # a model given with a score or prediction column is inspected (format, signature), not run: the
    # column holds its output
    model = None
    if opts.model is not None:
        model = load_model(opts.model, opts.model_sha256, opts.trust_model, run.files, run,
                           signature=opts.model_signature, artifact_sha256=opts.artifact_sha256)
        run.model = model
    if opts.target is None and opts.has_baseline_rows and (opts.score or opts.prediction or opts.model):
        _shadow_without_labels(opts, run, frame, model, file, decision_threshold, strict)
        return run
    if opts.target is None:
        for flag, val in (("score", opts.score), ("prediction", opts.prediction), ("sensitive", opts.sensitive),
                          ("baseline score", opts.baseline_score), ("baseline prediction", opts.baseline_prediction)):
            if val:
                raise input_error(f"{flag} is set but no target column is: set --target (or inputs.target)", file,
                                  key="target")
        # data-quality and compatibility rules need no target; metric rules report what is missing
        run.no_eval_reason = "no target column was given (inputs.target / --target), so no metric is computed"
        if model is not None:  # timing a model needs no labels: bind it for the operational figures
            _bind_without_target(run, model, frame, opts, file)
        return run
    target = _column(frame, opts.target, "target", file)
    n_missing_target = int(target.isna().sum())
    if n_missing_target:
        idx = np.flatnonzero(target.isna().to_numpy())[:5]
        where = (f"file lines {(idx + 2).tolist()}" if opts.data.suffix.lower() in (".csv", ".txt")
                 else f"rows {idx.tolist()}, counted from 0")
        raise input_error(f"{n_missing_target} rows have no target value ({where}...); remove or fill "
                          "them: a gate never drops rows silently", file, key=opts.target)
    if opts.task not in (None, "classification", "regression"):
        raise input_error(f"task must be 'classification' or 'regression', not {opts.task!r}", file, key="task")
    for role, name in (("target", opts.target), ("score", opts.score), ("prediction", opts.prediction),
                       *(("sensitive", c) for c in (*opts.sensitive, *opts.extra_sensitive))):
        if name is not None and name in frame.columns:
            _scalar_column(frame[name], role, name, file)
    task = _infer_task(target, opts.task)
    n_classes = len({_norm_label(v) for v in target.dropna().unique()})
    if task == "multiclass" or (task == "classification" and n_classes > 2):
        raise input_error(f"target {opts.target!r} has {n_classes} classes; gatekit supports binary "
                          "classification and regression, not multiclass (one-vs-rest numbers would look "
                          "better than the model is)", file, key="target")
    data = EvalData(task=task, decision_threshold=decision_threshold, strict=strict)
    positive = None
    if task == "classification":
        positive = _infer_positive(target.dropna().unique().tolist(), opts.positive_label, file, opts.target)
        data.y_true = _to01(target, positive).astype(int)
        if data.y_true.sum() == 0 and n_classes == 2:
            distinct = target.dropna().unique().tolist()[:10]
            raise input_error(f"positive label {positive!r} matches no value of target {opts.target!r} "
                              f"(values: {distinct}); check inputs.positive_label", file, key="positive_label")
        data.positive_label = positive
    else:
        data.y_true = _numeric(target, "regression target", opts.target, file, "target")
    if opts.score is not None:
        col = _column(frame, opts.score, "score", file)
        data.y_score = _numeric(col, "score column", opts.score, file, "score")
    elif opts.prediction is not None:
        col = _column(frame, opts.prediction, "prediction", file)
        if task == "classification":
            _check_label_space(col, target, opts.prediction, opts.target, file)
            data.y_pred = _to01(col, positive)
        else:
            data.y_pred = _numeric(col, "prediction column", opts.prediction, file, "prediction")
    elif opts.model is not None:
        try:
            data.y_score, run.runner = _score_with_model(model, frame, opts, task, positive, file, run.info)
        except InputError as exc:
            if not isinstance(exc.__cause__, _MissingFeatures):
                raise
            # the data lacks columns the model needs: the metric rules cannot be computed, but the
            # data-quality and compatibility sections still run and say which columns are missing
            run.scoring_error = str(exc.__cause__)
    all_sensitive = [*opts.sensitive, *(c for c in opts.extra_sensitive if c not in opts.sensitive)]
    data.sensitive_default = list(opts.sensitive)
    if all_sensitive:
        for c in all_sensitive:
            _column(frame, c, "sensitive", file)
        sf = frame[all_sensitive].copy()
        for c in sf.columns:
            col = sf[c].astype(object)  # nullable booleans and categoricals hold NA that astype(str) rejects
            sf[c] = col.where(col.isna(), col.map(str))
        data.sensitive = sf
    run.eval_data = data
    if opts.has_baseline_rows:
        _load_baseline_rows(opts, run, frame, target, task, positive, file)
    if opts.model is not None and (opts.score is not None or opts.prediction is not None):
        run.info["model_scored_by"] = ("the score / prediction column (the model file is not run for them; "
                                       "operational figures, when asked for, run it)")
        try:  # bound now so operational rules can time it; a model that cannot run says why there
            run.runner = _make_runner(model, frame, opts, task, positive, file)
        except InputError as exc:
            run.runner_error = str(exc)
    run.info.update({"task": task, "target": opts.target, "positive_label": positive,
                     "score": opts.score, "prediction": opts.prediction,
                     "model_path": str(opts.model) if opts.model else None, "sensitive": opts.sensitive})
    return run
