"""The commands that run or check one policy or report: ``run``, ``verify`` and ``validate``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from gatekit.cli.common import SectionProgress, console, fail, internal, silence_stdout
from gatekit.core.errors import input_error


def validate(policy: Annotated[Path, typer.Argument(metavar="POLICY", help="Policy YAML file.")]) -> None:
    """Check a policy without running it: exit 0 if valid, 2 if not (every problem with file:line)."""
    from gatekit.api import validate as do_validate
    from gatekit.core.errors import PolicyError
    from gatekit.core.formatting import printable

    try:
        res = do_validate(policy)
    except PolicyError as exc:
        fail(exc, f"invalid policy: {policy}")
    except Exception as exc:  # noqa: BLE001
        internal(exc)
    lp = res.policy
    # the path and the policy's name and version are the file's text: escaped, so they cannot drive the terminal
    typer.echo(printable(f"valid: {policy} (policy {lp.name!r} version {lp.policy.version}, {res.counts_text}, "
                         f"sha256 {lp.sha256[:12]})"))


def verify(
    report: Annotated[Path, typer.Argument(metavar="REPORT", help="A gate_report.json written by gatekit run.")],
) -> None:
    """Recompute REPORT's reproducibility hash from the same files and today's libraries; exit 1 if it differs."""
    from gatekit.core.errors import InputError
    from gatekit.core.formatting import printable
    from gatekit.core.reproducibility import verify as do_verify

    try:
        res = do_verify(report)
    except InputError as exc:
        fail(exc, "invalid report")
    except Exception as exc:  # noqa: BLE001
        internal(exc)
    # everything below comes from the report file (roles, paths, library and package names): escaped, one line each
    if res["match"]:
        typer.echo(printable(f"reproducible: {res['recomputed']} matches the report"))
        raise typer.Exit(0)
    typer.echo(printable(f"NOT reproducible: the report records {res['recorded']}, the same inputs now give "
                         f"{res['recomputed']}"))
    for d in res["differences"]:
        typer.echo(f"  - {printable(d)}")
    raise typer.Exit(1)



def run(
    policy: Annotated[Path, typer.Argument(metavar="POLICY", help="Policy YAML file.")],
    metrics: Annotated[Path | None, typer.Option(help="JSON of metrics already computed, e.g. "
                                                       '{"auc_roc": 0.91}, or an MLflow run\'s latest values: '
                                                       "mlflow:runs/RUN_ID.")] = None,
    data: Annotated[str | None, typer.Option(help="Evaluation data (.csv or .parquet; with --engine spark also a "
                                                  "table name, a Delta folder or an s3a:// URI).")] = None,
    target: Annotated[str | None, typer.Option(help="Target column in --data.")] = None,
    positive_label: Annotated[str | None, typer.Option(help="Target value meaning positive (e.g. yes).")] = None,
    score: Annotated[str | None, typer.Option(help="Score / probability (or forecast) column.")] = None,
    prediction: Annotated[str | None, typer.Option(help="Predicted label (or forecast) column.")] = None,
    model: Annotated[Path | None, typer.Option(help="Model artifact to score --data (.skops, .onnx, "
                                                    ".joblib).")] = None,
    reference: Annotated[str | None, typer.Option(help="Reference (training) data, .csv or .parquet (or a "
                                                        "directory or glob of Parquet files).")] = None,
    engine: Annotated[str | None, typer.Option(help="Where the rows are evaluated: pandas (in memory), duckdb "
                                                    "(out of core), spark (on a Spark session) or auto (default: "
                                                    "duckdb when the data would not fit comfortably in "
                                                    "memory).")] = None,
    features: Annotated[list[str] | None, typer.Option(help="The model's input columns in order (comma-separated "
                                                          "or repeated), for a model that does not name them (an "
                                                          "ONNX export with one tensor input).")] = None,
    spark_master: Annotated[str | None, typer.Option(help="Spark master URL for --engine spark: local[*] "
                                                          "(default), spark://host:port, yarn, k8s://..., or a Spark "
                                                          "Connect URL sc://host:port.")] = None,
    spark_conf: Annotated[list[str] | None, typer.Option(help="A Spark setting KEY=VALUE for --engine spark "
                                                              "(repeatable), e.g. spark.executor.memory=8g.")] = None,
    model_sha256: Annotated[str | None, typer.Option(help="Expected sha256 of --model.")] = None,
    trust_model: Annotated[bool, typer.Option(help="Allow unpickling a model without a hash.")] = False,
    sensitive: Annotated[list[str] | None, typer.Option(help="Sensitive feature column (repeatable).")] = None,
    task: Annotated[str | None, typer.Option(help="classification, multiclass or regression (default: "
                                                  "inferred).")] = None,
    quantiles: Annotated[list[str] | None, typer.Option(help="A quantile forecast column of a regression "
                                                             "target as LEVEL=COLUMN (repeatable or comma-separated), "
                                                             "e.g. 0.1=demand_p10,0.9=demand_p90; replaces "
                                                             "inputs.quantiles.")] = None,
    baseline_score: Annotated[str | None, typer.Option(help="Column of --data with the production model's "
                                                            "score (baseline; shadow).")] = None,
    baseline_prediction: Annotated[str | None, typer.Option(help="Column of --data with the production "
                                                                 "model's predicted label.")] = None,
    baseline_model: Annotated[Path | None, typer.Option(help="Production model artifact; gatekit scores --data "
                                                             "with it.")] = None,
    baseline_model_sha256: Annotated[str | None, typer.Option(help="Expected sha256 of --baseline-model.")] = None,
    baseline_trust_model: Annotated[bool, typer.Option(help="Allow unpickling --baseline-model without a "
                                                            "hash.")] = False,
    baseline_metrics: Annotated[Path | None, typer.Option(help="JSON of the production model's metrics (or "
                                                               "mlflow:runs/RUN_ID).")] = None,
    canary_log: Annotated[Path | None, typer.Option(help="Canary traffic log (replaces canary.data).")] = None,
    out: Annotated[Path | None, typer.Option(help="Report folder (default reports/<run id>/).")] = None,
    fail_on_warn: Annotated[bool, typer.Option(help="Exit 1 on a warn decision too.")] = False,
    warn_only: Annotated[bool, typer.Option(help="Pilot mode: report what would block, exit 0.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the decision and its reason.")] = False,
    history: Annotated[str | None, typer.Option(help="History store: a SQLAlchemy URL or a SQLite file (default "
                                                     "from gatekit.toml, else .gatekit/history.db).")] = None,
    no_history: Annotated[bool, typer.Option("--no-history", help="Do not record this run in the history "
                                                                  "store.")] = False,
    format: Annotated[list[str] | None, typer.Option("--format", help="Report files: json, html, junit, markdown "
                                                     "(repeat or comma-separate; default json,html).")] = None,
    reference_paths: Annotated[bool, typer.Option("--reference-paths", help="Verification: compute every figure "
                                                  "through the libraries' plain paths (slower, same values).")] = False,
    mlflow_run: Annotated[str | None, typer.Option(help="Log the decision (tag gatekit.decision), the observed "
                                                        "values and the reports to this existing MLflow run; exit 2 "
                                                        "when the logging fails.")] = None,
    mlflow_tracking_uri: Annotated[str | None, typer.Option(help="MLflow tracking store of --mlflow-run and of "
                                                                 "mlflow:runs/... metrics (default "
                                                                 "MLFLOW_TRACKING_URI).")] = None,
) -> None:
    """Run POLICY and write gate_report.json and gate_report.html; the exit code carries the decision."""
    from gatekit import api
    from gatekit.core.errors import InputError, PolicyError, UsageError
    from gatekit.history.config import load_config
    from gatekit.history.mlflow_log import MlflowLogError
    from gatekit.report import DEFAULT_FORMATS, check_formats
    from gatekit.report.terminal import print_summary

    if sum(x is not None for x in (baseline_score, baseline_prediction, baseline_model)) > 1:
        fail(ValueError("give only one of --baseline-score, --baseline-prediction and --baseline-model"),
              "invalid inputs")
    if score is not None and prediction is not None:
        fail(ValueError("give only one of --score and --prediction (with --model, the model file is then "
                         "inspected, not run)"), "invalid inputs")
    if task not in (None, "classification", "multiclass", "regression"):
        fail(ValueError(f"--task must be classification, multiclass or regression, not {task!r}"), "invalid usage")
    try:
        api.enforcement(warn_only=warn_only, fail_on_warn=fail_on_warn)  # the API checks it again; here first
    except UsageError as exc:
        fail(exc, "invalid usage")
    if history is not None and history.startswith("-"):
        fail(ValueError(f"--history needs a store (a URL, a file or off), not the option {history!r}"),
              "invalid usage")
    formats: tuple[str, ...] = DEFAULT_FORMATS
    if format is not None and any(item.strip(" ,") for item in format):
        try:
            formats = check_formats(format)
        except ValueError as exc:
            fail(ValueError(f"--format: {exc}"), "invalid usage")
    try:
        cfg = load_config(history, no_history=no_history)
    except InputError as exc:
        fail(exc, "invalid configuration")
    conf = _spark_conf(spark_conf)
    levels = _quantiles(quantiles)
    written: dict[str, Path] = {}
    mlflow_error: MlflowLogError | None = None
    progress = SectionProgress.create(quiet)
    try:
        try:
            # the whole workflow (stale reports, enforcement, alerts, writing, recording) is the API's
            report = api.run(policy, progress=progress.update if progress is not None else None, metrics=metrics,
                             data=data, target=target, positive_label=positive_label, score=score,
                             prediction=prediction, model=model, model_sha256=model_sha256,
                             reference=reference, engine=engine, spark_master=spark_master,
                             features=[f.strip() for v in features for f in v.split(",") if f.strip()] or None
                             if features else None,
                             spark_conf=conf,
                             trust_model=trust_model or None, sensitive=sensitive or None, task=task,
                             quantiles=levels,
                             baseline_score=baseline_score, baseline_prediction=baseline_prediction,
                             baseline_model=baseline_model, baseline_model_sha256=baseline_model_sha256,
                             baseline_trust_model=baseline_trust_model or None, baseline_metrics=baseline_metrics,
                             canary_data=canary_log, out=out, reports_root="reports" if out is None else None,
                             formats=formats, warn_only=warn_only, fail_on_warn=fail_on_warn,
                             history=cfg.history_url, webhook_url=cfg.webhook_url,
                             webhook_timeout_s=cfg.webhook_timeout_s, written=written,
                             reference_paths=reference_paths, mlflow_run=mlflow_run,
                             mlflow_tracking_uri=mlflow_tracking_uri)
        finally:
            if progress is not None:
                progress.close()  # before any message: the bar never overwrites an error
    except MlflowLogError as exc:  # the gate ran and its reports are written: its decision is printed first
        report, mlflow_error = exc.report, exc
    except UsageError as exc:
        fail(exc, "invalid usage")
    except PolicyError as exc:
        fail(exc, f"invalid policy: {policy}")
    except InputError as exc:
        fail(exc, "invalid inputs")
    except api.StaleReportError as exc:
        fail(exc, f"cannot remove the previous report in {out}")
    except OSError as exc:
        fail(exc, "cannot read an input or write the report")
    except Exception as exc:  # noqa: BLE001
        internal(exc)
    _github_step_summary(report, written)
    try:
        print_summary(report, written, console(), quiet=quiet,
                      warn_only=report.metadata["enforcement"] == "warn_only")
    except (OSError, UnicodeError):  # stdout closed, full or unable to encode: the reports are written
        silence_stdout()  # so the flush at exit cannot fail either: the exit code stays the decision's
    if mlflow_error is not None:  # a pipeline reading the run's gatekit.decision tag must not go on: exit 2
        fail(mlflow_error, "the gate decided, but logging to MLflow failed")
    raise typer.Exit(report.metadata["exit_code"])


def _spark_conf(pairs: list[str] | None) -> dict[str, str] | None:
    """Parse ``--spark-conf KEY=VALUE`` options (exit 2 naming the option when one has no ``=``)."""
    if not pairs:
        return None
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            fail(input_error("--spark-conf takes KEY=VALUE, e.g. spark.executor.memory=8g", key="spark-conf"),
                 "invalid option")
        out[key.strip()] = value
    return out


def _quantiles(values: list[str] | None) -> dict[float, str] | None:
    """Parse ``--quantiles LEVEL=COLUMN`` (repeated or comma-separated) into ``inputs.quantiles``' mapping.

    The levels and columns are checked as the policy's ``inputs.quantiles`` is
    (:func:`gatekit.policy.specs.inputs.check_quantiles`); a bad value exits 2 naming ``--quantiles``.
    """
    from gatekit.policy.specs.inputs import check_quantiles

    if not values:
        return None
    pairs: list[tuple[str, str]] = []
    for item in (part.strip() for value in values for part in value.split(",")):
        if not item:
            continue
        level, sep, column = item.partition("=")
        if not sep:
            fail(input_error(f"give LEVEL=COLUMN, e.g. 0.9=demand_p90, not {item!r}", key="--quantiles"),
                 "invalid option")
        pairs.append((level.strip(), column.strip()))
    levels: dict[str, str] = {}
    for level, column in pairs:
        if level in levels:
            fail(input_error(f"quantile level {level} is given twice", key="--quantiles"), "invalid option")
        levels[level] = column
    try:
        return check_quantiles(levels) or None
    except ValueError as exc:
        fail(input_error(str(exc), key="--quantiles"), "invalid option")


def _github_step_summary(report: Any, written: dict[str, Path]) -> None:
    """Append the Markdown summary to ``$GITHUB_STEP_SUMMARY`` when GitHub Actions sets it; never fail the run."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    from gatekit.report.markdown import render_markdown

    links = {f"{k} report": str(v) for k, v in written.items() if k in ("html", "json", "junit")}
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(render_markdown(report, links) + "\n")
    except OSError as exc:
        console(stderr=True).print(f"gatekit: could not write the job summary to {path}: {exc}", markup=False)

