"""A policy's inputs for one run: its ``inputs:`` section merged with explicit values, and the files it reads.

:func:`merge_options` is what ``gatekit run``'s flags and :func:`gatekit.run`'s keyword arguments do to the
policy's own ``inputs:``; :func:`policy_files` lists the other files a policy's sections read (model card,
signature, requirements, ``extends:`` bases ...), which the reproducibility hash covers and no command may
overwrite.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from gatekit.core.errors import input_error
from gatekit.data.inputs import InputOptions
from gatekit.data.mlflow_runs import is_run_source
from gatekit.policy.loader import LoadedPolicy

PATH_OPTIONS = ("data", "model", "metrics", "reference", "baseline_model", "baseline_metrics", "canary_data",
                 "latency_samples", "baseline_latency_samples")


_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
"""An object-store or cluster URI (``s3a://``, ``abfss://``, ``hdfs://``): data only the spark engine reads."""

OBJECT_OPTIONS = ("data", "reference", "model", "baseline_model")
"""Inputs that may also be Python objects: tables (DataFrames, Arrow, ibis) and fitted models."""


def _is_model_object(val: Any) -> bool:
    """Tell whether ``val`` is a path, or an object a model can be (it predicts, or runs as onnxruntime does)."""
    return isinstance(val, (str, os.PathLike)) or any(hasattr(val, a) for a in ("predict_proba", "predict", "run"))


def _override_path(key: str, val: Any) -> Path:
    """Check a path given as an override (``--data``, ``data=``) the way the policy's paths are checked.

    Raises
    ------
    InputError
        Not a path, empty, a control character (a NUL byte makes the OS raise ValueError) or too long; the
        message names the option, never the value's content beyond its length.
    """
    from pydantic_core import PydanticCustomError

    from gatekit.policy.specs.common import check_path

    if not isinstance(val, (str, os.PathLike)):
        raise input_error(f"{key} must be a file path, not {type(val).__name__}", key=key)
    text = os.fspath(val)
    if not isinstance(text, str):  # bytes path
        raise input_error(f"{key} must be a text file path, not bytes", key=key)
    try:
        check_path(text)
    except PydanticCustomError as exc:
        raise input_error(f"{key}: {exc.message()}", key=key) from None
    return Path(text)


def merge_options(policy: LoadedPolicy, **overrides: Any) -> InputOptions:
    """Combine the policy's ``inputs:`` section with explicit values.

    Paths in the policy are relative to the policy file; paths given as overrides are taken as they
    are (relative to the current directory). An override that is None leaves the policy's value.
    Giving one of ``score``, ``prediction`` and ``model`` as an override clears the policy's others.
    """
    spec = policy.policy.inputs
    base = policy.base_dir
    opts = InputOptions()
    if spec is not None:
        for key in ("target", "positive_label", "score", "prediction", "model_sha256", "trust_model",
                    "features", "task", "engine"):
            setattr(opts, key, getattr(spec, key))
        opts.sensitive = list(spec.sensitive)
        opts.sensitive_bins = dict(spec.sensitive_bins)
        opts.quantiles = dict(spec.quantiles)
        opts.order_by = spec.sequential.order_by if spec.sequential is not None else None
        for key in ("data", "model", "metrics", "reference"):
            val = getattr(spec, key)
            if key in ("data", "reference") and val and _URI.match(str(val)):  # s3a://, abfss://: Spark reads it
                setattr(opts, key, str(val))
                continue
            if key == "metrics" and is_run_source(val):  # mlflow:runs/<id>: a run, not a file beside the policy
                opts.metrics = str(val)
                continue
            setattr(opts, key, (base / val).resolve() if val else None)  # no "policies/../" in reports
        if spec.spark is not None:
            opts.spark_master, opts.spark_conf = spec.spark.master, dict(spec.spark.conf)
        if spec.baseline is not None:
            b = spec.baseline
            opts.baseline_score, opts.baseline_prediction = b.score, b.prediction
            opts.baseline_model_sha256, opts.baseline_trust_model = b.model_sha256, b.trust_model
            opts.baseline_model = (base / b.model).resolve() if b.model else None
            opts.baseline_metrics = (b.metrics if is_run_source(b.metrics) else
                                     (base / b.metrics).resolve() if b.metrics else None)
    if any(overrides.get(k) is not None for k in ("score", "prediction", "model")):
        opts.score = opts.prediction = opts.model = None
        # the policy's hash and trust vouch for the policy's model only, never for one given instead
        opts.model_sha256 = None
        opts.trust_model = False
    art = policy.policy.artifact
    if art is not None and art.signature is not None:
        opts.model_signature = ((base / art.signature.file).resolve(), (base / art.signature.public_key).resolve())
    opts.artifact_sha256 = art.sha256 if art is not None else None
    ops = policy.policy.operational
    for which in ("latency_samples", "baseline_latency_samples"):
        val = getattr(ops, which) if ops is not None else None
        setattr(opts, which, (base / val).resolve() if val else None)
    if policy.policy.canary is not None:
        opts.canary = policy.policy.canary
        opts.canary_data = (base / policy.policy.canary.data).resolve()
    elif overrides.get("canary_data") is not None:
        raise TypeError("a canary log (--canary-log) was given but the policy has no canary: section to say "
                        "which columns and rules to use")
    for rule in getattr(policy.policy, "slices", None) or []:  # slice columns are read with the rows
        for col in rule.by:
            opts.slice_bins.setdefault(col, []).append(rule.bins.get(col))
    if any(overrides.get(k) is not None for k in ("baseline_score", "baseline_prediction", "baseline_model")):
        opts.baseline_score = opts.baseline_prediction = opts.baseline_model = None
        opts.baseline_model_sha256 = None
        opts.baseline_trust_model = False
    for key, val in overrides.items():
        if val is None or (key == "sensitive" and not val):
            continue
        if not hasattr(opts, key):
            raise TypeError(f"unknown input option {key!r}")
        if key in ("data", "reference") and isinstance(val, str) and _URI.match(val):
            _override_path(key, val)  # checked as a path is; kept as text (a Path would fold its "//")
        elif key in ("metrics", "baseline_metrics") and is_run_source(val):
            val = os.fspath(_override_path(key, val))  # mlflow:runs/<id>: kept as text
        elif key in PATH_OPTIONS and not (key in OBJECT_OPTIONS and not isinstance(val, (str, os.PathLike))):
            val = _override_path(key, val)  # tables and fitted models given from Python are taken as they are
        elif key in ("model", "baseline_model") and isinstance(val, type):
            raise input_error(f"{key} is the class {val.__name__}, not a fitted model: fit an instance and pass it",
                              key=key)
        elif key in ("model", "baseline_model") and not _is_model_object(val):
            raise input_error(f"{key} must be a file path or a fitted model (an object with predict_proba or "
                              f"predict, or an onnxruntime InferenceSession), not {type(val).__name__}", key=key)
        if key in ("sensitive", "features"):
            val = [val] if isinstance(val, str) else list(val)  # "afam" is one column, not four letters
        if key == "quantiles":  # the policy's check (inputs.quantiles); replaces the policy's mapping
            from gatekit.policy.specs.inputs import check_quantiles

            try:
                val = check_quantiles(val)
            except ValueError as exc:
                raise input_error(str(exc), key="quantiles") from None
        setattr(opts, key, val)
    opts.sensitive = list(dict.fromkeys(opts.sensitive))  # a column given twice is one column
    return opts


def policy_files(policy: LoadedPolicy) -> dict[str, Path]:
    """Files the policy's sections read at run time, by role (model card, signature, requirements, ...)."""
    pol, base = policy.policy, policy.base_dir
    out: dict[str, Path] = {}
    if pol.artifact is not None:
        if pol.artifact.signature is not None:
            out["signature"] = base / pol.artifact.signature.file
            out["public_key"] = base / pol.artifact.signature.public_key
        meta = pol.artifact.metadata
        if meta is not None:
            out["model_card"] = base / meta.file
            if meta.production_file:
                out["production_card"] = base / meta.production_file
    if pol.security is not None:
        if pol.security.licenses is not None and pol.security.licenses.requirements:
            out["requirements"] = base / pol.security.licenses.requirements
        for i, f in enumerate(pol.security.pii.metadata_files if pol.security.pii else []):
            out[f"pii_metadata_{i}"] = base / f
    for i, ref in enumerate(pol.data_quality.suites if pol.data_quality else []):  # rules, as the policy's own
        out[f"suite_{i}"] = base / ref.path
    for i, (path, _) in enumerate(policy.bases):  # extends: files are policy too
        out[f"policy_base_{i}"] = Path(path)
    if policy.custom is not None:  # custom metrics are code that decides rules: the files that ran
        for i, f in enumerate(policy.custom.files):
            out[f"custom_metrics_file_{i}"] = Path(f)
        for ep in policy.custom.entry_points:
            if ep.get("file"):
                out[f"custom_metrics_entry_point_{ep['name']}"] = Path(ep["file"])
    return {k: v.resolve() for k, v in out.items()}


def record_policy_files(policy: LoadedPolicy, files: dict[str, dict[str, Any]]) -> None:
    """Hash the files the policy's sections read into the run's file records (the reproducibility hash covers them).

    A file that is missing or not a regular file is recorded with ``sha256: null``; the check that reads
    it reports the problem.
    """
    from gatekit.core.hashing import sha256_regular_file

    for role, path in policy_files(policy).items():
        digest = sha256_regular_file(path)
        files.setdefault(role, {"path": str(path), "sha256": digest,
                                "bytes": path.stat().st_size if digest is not None else None})
