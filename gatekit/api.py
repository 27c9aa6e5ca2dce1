"""Python API: run a policy as the CLI does and get a :class:`~gatekit.core.results.GateReport`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from gatekit.core.errors import input_error
from gatekit.data.inputs import InputOptions, load_inputs
from gatekit.metrics.registry import MetricRegistry, default_registry
from gatekit.orchestrator import evaluate
from gatekit.policy.loader import LoadedPolicy, load_policy
from gatekit.core.results import GateReport


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
                    "features", "task"):
            setattr(opts, key, getattr(spec, key))
        opts.sensitive = list(spec.sensitive)
        for key in ("data", "model", "metrics", "reference"):
            val = getattr(spec, key)
            setattr(opts, key, (base / val).resolve() if val else None)  # no "policies/../" in reports
        if spec.baseline is not None:
            b = spec.baseline
            opts.baseline_score, opts.baseline_prediction = b.score, b.prediction
            opts.baseline_model_sha256, opts.baseline_trust_model = b.model_sha256, b.trust_model
            opts.baseline_model = (base / b.model).resolve() if b.model else None
            opts.baseline_metrics = (base / b.metrics).resolve() if b.metrics else None
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
    if any(overrides.get(k) is not None for k in ("baseline_score", "baseline_prediction", "baseline_model")):
        opts.baseline_score = opts.baseline_prediction = opts.baseline_model = None
        opts.baseline_model_sha256 = None
        opts.baseline_trust_model = False
    for key, val in overrides.items():
        if val is None or (key == "sensitive" and not val):
            continue
        if not hasattr(opts, key):
            raise TypeError(f"unknown input option {key!r}")
        if key in ("data", "model", "metrics", "reference", "baseline_model", "baseline_metrics", "canary_data"):
            val = Path(val)
        if key in ("sensitive", "features"):
            val = [val] if isinstance(val, str) else list(val)  # "afam" is one column, not four letters
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
    for i, (path, _) in enumerate(policy.bases):  # extends: files are policy too
        out[f"policy_base_{i}"] = Path(path)
    return {k: v.resolve() for k, v in out.items()}


def record_policy_files(policy: LoadedPolicy, files: dict[str, dict[str, Any]]) -> None:
    """Hash the files the policy's sections read into the run's file records (the reproducibility hash covers them).

    A file that is missing or not a regular file is recorded with ``sha256: null``; the check that reads
    it reports the problem.
    """
    from gatekit.data.inputs import sha256_regular_file

    for role, path in policy_files(policy).items():
        digest = sha256_regular_file(path)
        files.setdefault(role, {"path": str(path), "sha256": digest,
                                "bytes": path.stat().st_size if digest is not None else None})


def run(policy: str | Path | dict[str, Any] | LoadedPolicy, *, registry: MetricRegistry | None = None,
        out: str | Path | None = None, formats: str | tuple[str, ...] | list[str] | None = None,
        progress: Callable[[str, int, int], None] | None = None, **inputs: Any) -> GateReport:
    """Run a policy and return its report.

    Parameters
    ----------
    policy : str, pathlib.Path, dict or LoadedPolicy
        Policy file, parsed mapping, or an already loaded policy.
    registry : MetricRegistry, optional
        Metric registry; default :func:`~gatekit.metrics.default_registry`.
    out : str or pathlib.Path, optional
        When given, write the reports into this folder (``gate_report.json`` and ``gate_report.html``, or
        ``formats``).
    formats : str or sequence of {"json", "html", "junit", "markdown"}, optional
        Report files written into ``out`` (default json and html; ``"json,junit"`` also works). Report
        files of the other formats already in ``out`` are removed.
    progress : callable, optional
        ``progress(stage, done, total)``: called with ``"inputs"`` before the inputs are read, then before
        each section (a progress bar's hook).
    **inputs
        Overrides of the policy's ``inputs:``: ``data``, ``target``, ``positive_label``, ``score``,
        ``prediction``, ``model``, ``model_sha256``, ``trust_model``, ``features``, ``sensitive``,
        ``metrics``, ``reference``, ``task``; the production model's ``baseline_score``,
        ``baseline_prediction``, ``baseline_model``, ``baseline_model_sha256``, ``baseline_trust_model``,
        ``baseline_metrics``; ``canary_log`` (the canary traffic log, replacing ``canary.data``; also
        accepted as ``canary_data``).

    Returns
    -------
    GateReport

    Raises
    ------
    PolicyError
        The policy is invalid.
    InputError
        An input is missing or unusable.
    ValueError
        An unknown report format.

    Examples
    --------
    >>> report = gatekit.run("policies/seed_example_1.yaml", metrics="run.json")  # doctest: +SKIP
    >>> report.decision.value  # doctest: +SKIP
    'pass'
    """
    registry = registry or default_registry()
    if formats is not None:
        from gatekit.report import check_formats

        formats = check_formats(formats)  # before the run: a typo must not cost a whole evaluation
    if "canary_log" in inputs:  # the CLI's name (--canary-log) for the policy's canary.data
        if inputs.get("canary_data") is not None:
            raise input_error("give canary_log or canary_data, not both")
        inputs["canary_data"] = inputs.pop("canary_log")
    lp = policy if isinstance(policy, LoadedPolicy) else load_policy(policy, registry)
    try:
        opts = merge_options(lp, **inputs)
    except TypeError as exc:
        raise input_error(str(exc)) from None
    for rule in lp.policy.metrics if opts.data is not None else []:  # columns named in fairness params
        named = rule.params.get("sensitive")
        for col in [named] if isinstance(named, str) else (named or []):
            if isinstance(col, str) and col not in opts.sensitive and col not in opts.extra_sensitive:
                opts.extra_sensitive.append(col)  # loaded, but only the rules that name it group by it
    pol = lp.policy
    needs_inputs = bool(pol.metrics or pol.gates or pol.data_quality is not None or pol.drift is not None
                        or opts.has_baseline_rows)
    if progress is not None:
        progress("inputs", 0, 1)
    loaded = load_inputs(opts, registry, pol.decision_threshold, pol.strict, allow_empty=not needs_inputs)
    record_policy_files(lp, loaded.files)
    report = evaluate(lp, loaded, registry, progress=progress)
    if out is not None:
        from gatekit.report import DEFAULT_FORMATS, write_reports

        write_reports(report, Path(out), tuple(formats) if formats else DEFAULT_FORMATS)
    return report
