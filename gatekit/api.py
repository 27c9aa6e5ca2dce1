"""Python API: the workflow of ``gatekit run`` (which calls it), returning a :class:`~gatekit.report.Report`."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatekit.core.errors import EXIT_BLOCK, EXIT_PASS, input_error, usage_error
from gatekit.core.options import RunOptions
from gatekit.data.engine import release
from gatekit.data.loader import load_inputs
from gatekit.metrics.catalog import default_registry
from gatekit.metrics.registry import MetricRegistry
from gatekit.orchestrator import evaluate
from gatekit.policy.loader import LoadedPolicy, load_policy
from gatekit.policy.run_inputs import PATH_OPTIONS, merge_options, record_policy_files
from gatekit.report import Report
from gatekit.sections.registry import SectionRegistry, default_sections

DataInput = Any
"""A table input: a path (``str`` or path-like: a CSV or Parquet file, a directory or glob of Parquet files), a
pandas or polars DataFrame, a pyarrow Table or an ibis table (:func:`gatekit.data.engine.source_of`)."""
ModelInput = Any
"""A model input: a path to a model file, or a fitted object (scikit-learn estimator or Pipeline, onnxruntime
InferenceSession, any object with ``predict_proba`` / ``predict``)."""


def exit_code(decision: Any, *, fail_on_warn: bool = False, warn_only: bool = False) -> int:
    """Map a decision to the command line's exit code (README "Exit codes").

    Parameters
    ----------
    decision : Decision or {"pass", "warn", "block"}
        The gate's decision.
    fail_on_warn : bool
        ``--fail-on-warn``: a ``warn`` fails too.
    warn_only : bool
        ``--warn-only`` (or the policy's ``mode: warn_only``): the pilot mode, which never fails.

    Returns
    -------
    int
        :data:`~gatekit.core.errors.EXIT_PASS` (0) for ``pass`` and ``warn``, and for anything in the pilot
        mode; :data:`~gatekit.core.errors.EXIT_BLOCK` (1) for ``block``, and for ``warn`` with
        ``fail_on_warn``.

    Raises
    ------
    ValueError
        ``decision`` is not a decision.
    """
    from gatekit.core.results import Decision

    decision = Decision(decision)
    if warn_only:
        return EXIT_PASS
    if decision == Decision.BLOCK or (fail_on_warn and decision == Decision.WARN):
        return EXIT_BLOCK
    return EXIT_PASS


def enforcement(policy: LoadedPolicy | None = None, *, warn_only: bool = False, fail_on_warn: bool = False) -> str:
    """Return how a run's decision is enforced, after checking that the settings agree.

    Parameters
    ----------
    policy : LoadedPolicy, optional
        The policy; its ``mode: warn_only`` pilots it as ``warn_only`` does. Without it only the two flags
        are checked against each other.
    warn_only : bool
        ``--warn-only``: report what would block, never fail.
    fail_on_warn : bool
        ``--fail-on-warn``: fail on a ``warn`` decision too.

    Returns
    -------
    {"warn_only", "fail_on_warn", "enforced"}
        What the report records as ``metadata["enforcement"]``.

    Raises
    ------
    UsageError
        ``warn_only`` with ``fail_on_warn``, or the policy's ``mode: warn_only`` with ``fail_on_warn``.
    """
    if warn_only and fail_on_warn:
        raise usage_error("--warn-only (never fail) and --fail-on-warn (fail on warnings too) contradict each "
                          "other; choose one")
    if policy is not None and policy.policy.mode == "warn_only":
        if fail_on_warn:
            raise usage_error("the policy's mode: warn_only (a pilot that never fails) and --fail-on-warn "
                              "contradict each other; remove one")
        return "warn_only"  # the policy is being piloted: report what would block, exit 0
    return "warn_only" if warn_only else "fail_on_warn" if fail_on_warn else "enforced"


class StaleReportError(OSError):
    """A report that an earlier run left in the report folder could not be removed (the run does not start).

    Parameters
    ----------
    folder : pathlib.Path
        The report folder.
    cause : OSError
        Why the file could not be removed; the error's text is the cause's.
    """

    def __init__(self, folder: Path, cause: OSError) -> None:
        super().__init__(str(cause))
        self.folder = folder


def clear_reports(out: str | Path) -> Path:
    """Remove the report files an earlier run left in ``out``, so a run that fails never leaves an old decision.

    Parameters
    ----------
    out : str or pathlib.Path
        The report folder; it need not exist.

    Returns
    -------
    pathlib.Path
        ``out`` as a path.

    Raises
    ------
    UsageError
        ``out`` exists and is not a folder.
    StaleReportError
        A report file in ``out`` could not be removed.
    """
    from gatekit.report import FILE_NAMES

    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise usage_error(f"--out {out} exists and is not a folder")
    for stale in (*FILE_NAMES.values(), "evidently_drift.html"):  # never leave an old decision behind
        try:
            (folder / stale).unlink(missing_ok=True)
        except OSError as exc:
            raise StaleReportError(folder, exc) from exc
    return folder


def check_report_names(policy: LoadedPolicy | None, out: Path, inputs: dict[str, Any] | None = None) -> None:
    """Refuse a report folder in which a report file would replace a file the run reads.

    Parameters
    ----------
    policy : LoadedPolicy or None
        The loaded policy (its files: :func:`gatekit.history.thresholds.files_read`); None when it could not be
        loaded (only ``inputs`` are checked then).
    out : pathlib.Path
        The report folder.
    inputs : dict, optional
        The run's input overrides (``data=``, ``model=``, ...); their paths are read too.

    Raises
    ------
    UsageError
        A file the run reads is (by resolved path or inode) a report or attachment name in ``out``
        (``gate_report.json``, ``evidently_drift.html``, ...); the message names the file and its role.
    """
    from gatekit.history.thresholds import files_read
    from gatekit.report import FILE_NAMES

    read = [(f"the policy's {role}", path) for role, path in (files_read(policy) if policy is not None else [])
            if not role.endswith("folder")]
    for key, val in (inputs or {}).items():
        if key in PATH_OPTIONS and isinstance(val, (str, os.PathLike)) and isinstance(os.fspath(val), str):
            read.append((f"the {key} input", Path(os.path.abspath(val)).resolve()))
    for name in (*FILE_NAMES.values(), "evidently_drift.html"):
        report_file = Path(os.path.abspath(out / name)).resolve()
        for role, path in read:
            same = report_file == path
            if not same:
                try:
                    same = os.path.samefile(report_file, path)
                except OSError:  # either does not exist: not the same file
                    same = False
            if same:
                raise usage_error(f"--out {out}: {path} is {role}, and this run writes its report {name} there; "
                                  "give another --out or move the file")


@dataclass(frozen=True)
class Validation:
    """What ``gatekit validate`` says of a valid policy.

    Parameters
    ----------
    policy : LoadedPolicy
        The validated policy.
    counts : dict of str to int
        Rules per policy section (metric rules and gates always; every other rules section the policy uses),
        in the registry's order.
    counts_text : str
        The counts in words: ``"3 metric rules (1 relative to the baseline), 1 gate, 12 drift rules"``.
    """

    policy: LoadedPolicy
    counts: dict[str, int]
    counts_text: str


def validate(policy: str | Path | dict[str, Any], *, registry: MetricRegistry | None = None,
             sections: SectionRegistry | None = None) -> Validation:
    """Validate a policy without running it and count its rules by section (``gatekit validate``).

    Parameters
    ----------
    policy : str, pathlib.Path or dict
        Policy file or parsed mapping.
    registry : MetricRegistry, optional
        Metric registry; default :func:`~gatekit.metrics.default_registry`.
    sections : SectionRegistry, optional
        Sections a policy may hold (default :func:`~gatekit.sections.registry.default_sections`).

    Returns
    -------
    Validation

    Raises
    ------
    PolicyError
        The policy is invalid (every problem with its file, line and key).
    """
    sections = sections if sections is not None else default_sections()
    lp = load_policy(policy, registry or default_registry(), model=sections.policy_model)
    pol = lp.policy
    counts = {"metrics": len(pol.metrics), "gates": len(pol.gates)}
    counts.update(sections.rule_counts(pol))
    parts = []
    for key, n in counts.items():
        label = sections[key].label if key in sections else None
        noun = label or key + " rules"
        text = f"{n} {noun[:-1] if n == 1 and noun.endswith('s') else noun}"  # "1 gate", "2 gates"
        if key == "metrics":
            relative = sum(r.relative is not None for r in pol.metrics)
            text += f" ({relative} relative to the baseline)" if relative else ""
        parts.append(text)
    return Validation(lp, counts, ", ".join(parts))


def run(policy: str | Path | dict[str, Any] | LoadedPolicy, *, registry: MetricRegistry | None = None,
        out: str | Path | None = None, formats: str | tuple[str, ...] | list[str] | None = None,
        progress: Callable[[str, int, int], None] | None = None, warn_only: bool = False,
        fail_on_warn: bool = False, history: str | os.PathLike[str] | bool | None = None,
        webhook_url: str | None = None,
        webhook_timeout_s: float = 5.0, reports_root: str | Path | None = None,
        written: dict[str, Path] | None = None, sections: SectionRegistry | None = None,
        reference_paths: bool = False, data: DataInput | None = None, reference: DataInput | None = None,
        target: str | None = None, positive_label: str | int | bool | None = None, score: str | None = None,
        prediction: str | None = None, model: ModelInput | None = None, model_sha256: str | None = None,
        trust_model: bool | None = None, features: list[str] | None = None, sensitive: str | list[str] | None = None,
        metrics: str | os.PathLike[str] | None = None, task: str | None = None,
        quantiles: dict[float, str] | None = None, engine: str | None = None,
        spark_master: str | None = None, spark_conf: dict[str, str] | None = None,
        baseline_score: str | None = None, baseline_prediction: str | None = None,
        baseline_model: ModelInput | None = None, baseline_model_sha256: str | None = None,
        baseline_trust_model: bool | None = None, baseline_metrics: str | os.PathLike[str] | None = None,
        canary_log: str | os.PathLike[str] | None = None, canary_data: str | os.PathLike[str] | None = None,
        latency_samples: str | os.PathLike[str] | None = None,
        baseline_latency_samples: str | os.PathLike[str] | None = None,
        mlflow_run: str | None = None, mlflow_tracking_uri: str | None = None) -> Report:
    """Run a policy and return its report: the whole workflow of ``gatekit run``, which calls this.

    The steps, in order: check the settings against each other; remove the reports an earlier run left in
    ``out``; load the policy and check its ``mode:`` against ``fail_on_warn``; read the inputs and evaluate;
    with a ``holdout:`` budget, count the holdout's reuse in the history and decide again
    (:func:`gatekit.history.holdout.holdout_check`); record the enforcement and the exit code in
    ``report.metadata``; evaluate (and post) the repeated-failure
    alerts from the history as it was before this run; write the reports; record the run in the history;
    write the reports again so they say whether it was recorded. With ``mlflow_run``, the run is checked before the
    evaluation and the gate's outcome is logged to it once the reports are written (before the history records
    the run).

    Parameters
    ----------
    policy : str, pathlib.Path, dict or LoadedPolicy
        Policy file, parsed mapping, or an already loaded policy.
    registry : MetricRegistry, optional
        Metric registry; default :func:`~gatekit.metrics.default_registry`.
    out : str or pathlib.Path, optional
        When given, write the reports into this folder (``gate_report.json`` and ``gate_report.html``, or
        ``formats``); report files an earlier run left there (every format, and the drift attachment) are
        removed before the run starts.
    formats : str or sequence of {"json", "html", "junit", "markdown"}, optional
        Report files written (default json and html; ``"json,junit"`` also works).
    progress : callable, optional
        ``progress(stage, done, total)``: called with ``"inputs"`` before the inputs are read, then before
        each section (a progress bar's hook).
    warn_only : bool
        The pilot mode (``--warn-only``; also set by the policy's ``mode: warn_only``): the decision is
        reported, never enforced, and ``metadata["exit_code"]`` is 0.
    fail_on_warn : bool
        ``--fail-on-warn``: ``metadata["exit_code"]`` is 1 on a ``warn`` decision too.
    history : str or path-like, optional
        History store to record the run into: a SQLAlchemy URL, a SQLite file, or ``"off"``. Default None
        (or False): nothing is recorded. Alerts read this store before the run is added.
    webhook_url : str, optional
        Where new repeated-failure alerts are posted (they need ``history``).
    webhook_timeout_s : float
        Seconds to wait for the webhook.
    reports_root : str or pathlib.Path, optional
        When ``out`` is not given, write the reports into ``<reports_root>/<run id>/`` (``gatekit run``
        without ``--out`` passes ``"reports"``).
    written : dict, optional
        Filled with the files written, by format (``"json"``, ...) or attachment file name, in the order
        ``gatekit run`` lists them.
    sections : SectionRegistry, optional
        The policy sections gatekit knows and runs (default
        :func:`~gatekit.sections.registry.default_sections`); a registry with a plug-in's section makes its
        key valid in the policy and runs its adapter.
    reference_paths : bool
        Compute every figure through the libraries' plain paths instead of gatekit's faster ones (the same
        values, slower; ``--reference-paths``; see :class:`~gatekit.core.options.RunOptions`).
    data, reference : path, pandas.DataFrame, polars.DataFrame, pyarrow.Table or ibis.Table, optional
        The evaluation and reference (training) rows, overriding the policy's ``inputs.data`` / ``reference``: a
        CSV or Parquet file, a directory or glob of Parquet files, or a table object from Python.
    target, positive_label, score, prediction, features, sensitive, task : optional
        Column roles and the task, overriding the policy's ``inputs:`` (``sensitive``: one column or a list).
    quantiles : dict of float to str, optional
        Quantile forecasts of a regression target, replacing the policy's ``inputs.quantiles``: each quantile
        level in (0, 1) and the column of ``data`` holding its forecast, ``{0.1: "p10", 0.9: "p90"}``
        (``gatekit run --quantiles 0.1=p10,0.9=p90``); a bad level or column is an :class:`InputError`.
    model : path or fitted model, optional
        A model file (``.skops``, ``.onnx``, ``.joblib``) or a fitted object: a scikit-learn estimator or
        Pipeline, an onnxruntime ``InferenceSession``, or any object with ``predict_proba`` / ``predict``.
    model_sha256, trust_model : optional
        The model file's expected sha256; allow unpickling it without one.
    metrics : path or str, optional
        JSON file of metrics already computed, or an MLflow run's latest values: ``"mlflow:runs/<RUN_ID>"``
        (:mod:`gatekit.data.mlflow_runs`; the same for ``baseline_metrics``).
    engine : {"auto", "pandas", "duckdb", "spark"}, optional
        Where the rows are evaluated (default: the policy's ``inputs.engine``, else ``auto``; a pyspark DataFrame
        as ``data`` makes ``auto`` pick ``spark``).
    spark_master, spark_conf : optional
        The Spark session for ``engine="spark"`` when no pyspark DataFrame is given: a master URL (``local[*]``,
        ``spark://...``, ``sc://...``) and settings (default: the policy's ``inputs.spark``, else the active
        session, else a local one).
    baseline_score, baseline_prediction, baseline_model : optional
        The production model's output on the same rows: a column, or a model (as ``model``).
    baseline_model_sha256, baseline_trust_model, baseline_metrics : optional
        The production model file's sha256, trust, and its metrics file.
    canary_log, canary_data : path, optional
        The canary traffic log, replacing the policy's ``canary.data`` (``canary_data`` is the same; give one).
    latency_samples, baseline_latency_samples : path, optional
        Load-test latency samples of the candidate (production), replacing the policy's ``operational:`` ones.
    mlflow_run : str, optional
        An MLflow run to log the gate's outcome to (:mod:`gatekit.history.mlflow_log`): the tag
        ``gatekit.decision``, the policy and counts as tags, ``gatekit.<check>`` metrics, the reports as
        artifacts. The run must exist and be active (checked before the evaluation).
    mlflow_tracking_uri : str, optional
        The MLflow tracking store of ``mlflow_run`` and of ``mlflow:runs/...`` metrics (default
        ``MLFLOW_TRACKING_URI``, else MLflow's default).

    Returns
    -------
    Report
        A :class:`~gatekit.core.results.GateReport` that renders and saves itself. Its ``metadata`` records
        ``enforcement`` (``"warn_only"``, ``"fail_on_warn"`` or ``"enforced"``), ``exit_code`` (what ``gatekit
        run`` exits with, :func:`exit_code`), ``history`` (recorded or why not) and, when the policy asks for
        them, ``alerts``.

    Raises
    ------
    UsageError
        ``warn_only`` with ``fail_on_warn`` (or the policy's ``mode: warn_only`` with ``fail_on_warn``),
        ``out`` with ``reports_root``, or ``out`` is a file.
    PolicyError
        The policy is invalid.
    InputError
        An input is missing or unusable; MLflow is needed but not installed (``pip install "gatekit[mlflow]"``),
        or the MLflow run to read or log to cannot be had.
    MlflowLogError
        Logging to ``mlflow_run`` failed after the evaluation (:class:`gatekit.history.mlflow_log.MlflowLogError`):
        raised last, once the reports are written and the history recorded; its ``report`` is the run's report,
        whose ``metadata["mlflow"]["error"]`` says what failed.
    ValueError
        An unknown report format.
    OSError
        An input could not be read or a report not written (then no report of this run is left in ``out``:
        the set is written all or none, and a failed rewrite after recording the history removes the first
        set too); :class:`StaleReportError` when an earlier report in ``out`` could not be removed. A
        history store or webhook that fails never raises: it is reported in ``metadata["history"]`` and
        ``metadata["alerts"]``.

    Examples
    --------
    >>> report = gatekit.run("policies/seed_example_1.yaml", metrics="run.json")  # doctest: +SKIP
    >>> report.decision.value  # doctest: +SKIP
    'pass'
    >>> report.metadata["exit_code"]  # doctest: +SKIP
    0
    """
    from gatekit.history.alerts import record_and_alert, record_run
    from gatekit.history.config import history_url_from
    from gatekit.report import DEFAULT_FORMATS, check_formats, remove_files, write_reports

    enforcement(warn_only=warn_only, fail_on_warn=fail_on_warn)  # before anything: a usage error costs nothing
    if out is not None and reports_root is not None:
        raise usage_error("give out (the report folder) or reports_root (a folder per run id in it), not both")
    # before the run: a typo must not cost a whole evaluation
    report_formats = check_formats(formats) if formats is not None else DEFAULT_FORMATS
    if canary_log is not None and canary_data is not None:  # the CLI's name (--canary-log) for canary.data
        raise input_error("give canary_log or canary_data, not both")
    inputs: dict[str, Any] = {
        "data": data, "reference": reference, "target": target, "positive_label": positive_label, "score": score,
        "prediction": prediction, "model": model, "model_sha256": model_sha256, "trust_model": trust_model,
        "features": features, "sensitive": sensitive, "metrics": metrics, "task": task, "quantiles": quantiles,
        "engine": engine,
        "spark_master": spark_master, "spark_conf": spark_conf,
        "baseline_score": baseline_score, "baseline_prediction": baseline_prediction,
        "baseline_model": baseline_model, "baseline_model_sha256": baseline_model_sha256,
        "baseline_trust_model": baseline_trust_model, "baseline_metrics": baseline_metrics,
        "canary_data": canary_log if canary_log is not None else canary_data, "latency_samples": latency_samples,
        "baseline_latency_samples": baseline_latency_samples, "mlflow_tracking_uri": mlflow_tracking_uri}
    inputs = {k: v for k, v in inputs.items() if v is not None}
    if history is False:  # ``history=False`` reads as "do not record", which is the default: say it plainly
        history = None
    elif isinstance(history, bool) or not isinstance(history, (str, os.PathLike, type(None))):
        raise usage_error(f"history must be a SQLAlchemy URL, a SQLite file path, 'off' or None, not {history!r}")
    history_url = history_url_from(os.fspath(history), Path.cwd()) if history is not None else None
    registry = registry or default_registry()
    sections = sections if sections is not None else default_sections()
    try:
        lp = policy if isinstance(policy, LoadedPolicy) else load_policy(policy, registry, model=sections.policy_model)
    except BaseException:
        if out is not None:
            # a policy that cannot be loaded never leaves an old decision either, but a file given as an input
            # is never removed: then the old reports stay and the usage error says why
            check_report_names(None, Path(out), inputs)
            clear_reports(out)
        raise
    if out is not None:
        check_report_names(lp, Path(out), inputs)  # before clearing: a file the run reads is never removed
    out_dir = clear_reports(out) if out is not None else None
    mode = enforcement(lp, warn_only=warn_only, fail_on_warn=fail_on_warn)
    from gatekit.history.mlflow_log import log_report, open_target

    mlflow_target = open_target(mlflow_run, mlflow_tracking_uri) if mlflow_run is not None else None  # before the run
    # a policy with custom metrics computes with the registry it was checked against (it has them)
    from gatekit.history.sequential import canary_looks

    looks = canary_looks(lp, history_url)  # canary.sequential: the rollout's earlier looks (None: not sequential)
    report = _evaluate(lp, lp.registry or registry, progress, inputs, sections,
                       RunOptions(reference_paths=reference_paths), looks)
    from gatekit.history.holdout import holdout_check

    holdout_check(report, lp, history_url)  # holdout: the reuse count (history) joins the decision before all else
    report.metadata["enforcement"] = mode
    report.metadata["exit_code"] = exit_code(report.decision, fail_on_warn=mode == "fail_on_warn",
                                             warn_only=mode == "warn_only")
    # alerts read the history before this run is added; neither a store nor a webhook problem raises
    record_and_alert(report, lp, history_url, webhook_url, webhook_timeout_s, record=False)
    if out_dir is None and reports_root is not None:
        out_dir = Path(reports_root) / report.metadata["run_id"]
    files: dict[str, Path] = {}
    if out_dir is not None:
        files = write_reports(report, out_dir, report_formats)
    # MLflow gets the reports once they are written; the rewritten ones say whether the logging worked
    mlflow_error = log_report(report, mlflow_target, files) if mlflow_target is not None else None
    # recorded only once the reports are written (a run that cannot write them is not in the history), then
    # the reports say whether it was
    record_run(report, history_url)
    if out_dir is not None and (history_url is not None or mlflow_target is not None):
        report.attachments = {}  # written above; the report's links to them are kept
        try:
            files.update(write_reports(report, out_dir, report_formats))
        except BaseException:
            # the first set says nothing of the history and the run now fails: leave no report of it
            remove_files(list(files.values()))
            raise
    if written is not None:
        written.clear()
        written.update(files)
    if mlflow_error is not None:
        raise mlflow_error  # last: the reports and the history have the run, and they say the logging failed
    return report


def _evaluate(lp: LoadedPolicy, registry: MetricRegistry, progress: Callable[[str, int, int], None] | None,
              inputs: dict[str, Any], sections: SectionRegistry, options: RunOptions,
              canary_looks: Any = None) -> Report:
    """Read the inputs (the policy's ``inputs:`` with ``inputs`` over it) and evaluate the policy on them.

    ``canary_looks`` (:func:`gatekit.history.sequential.canary_looks`) goes to the canary arms' ``history``.
    """
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
    needs_inputs = sections.needs_data(pol) or opts.has_baseline_rows
    if progress is not None:
        progress("inputs", 0, 1)
    try:
        loaded = load_inputs(opts, registry, pol.decision_threshold, pol.strict, allow_empty=not needs_inputs)
        record_policy_files(lp, loaded.files)
        if canary_looks is not None and loaded.canary is not None:
            loaded.canary.history = canary_looks
        return evaluate(lp, loaded, registry, sections=sections, progress=progress, options=options)
    finally:
        release()  # a user's Spark session keeps its own settings after the run
