"""``gatekit init``: draft a policy from reference rows (and a model, a target, sensitive columns) to review and commit.

The steps: refuse an existing output file (without ``--force``) before any work; read the rows with the project's
reader and check every named column; profile the rows (:func:`gatekit.policy.draft.profile_frame`); when there is
something to measure (a model, a score or prediction column, current rows), run a probe policy through
:func:`gatekit.api.run` for the metric values, the model's features and format and the drift; draft the text
(:func:`gatekit.policy.draft.draft_policy`); validate it with the project's loader (:func:`gatekit.api.validate`)
beside the output before the output is written (a draft that does not validate is a bug: exit 3, nothing written);
then, unless ``--no-check``, run the written policy on the same rows and report its decision.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from gatekit.cli.common import console, fail, internal, refuse_control


def init(
    data: Annotated[Path, typer.Argument(metavar="DATA", help="Reference rows (.csv, .csv.gz or .parquet): the "
                                                              "training data, or rows the model is known to handle. "
                                                              "Ranges, sets and null limits come from them.")],
    model: Annotated[Path | None, typer.Option(help="The model (.skops, .onnx, .joblib): its metric values, "
                                                    "features and format go into the draft.")] = None,
    target: Annotated[str | None, typer.Option(help="Target column.")] = None,
    positive_label: Annotated[str | None, typer.Option(help="Target value meaning positive (default: inferred for "
                                                            "0/1, yes/no, true/false).")] = None,
    score: Annotated[str | None, typer.Option(help="Score / probability (or forecast) column, instead of "
                                                   "--model.")] = None,
    prediction: Annotated[str | None, typer.Option(help="Predicted label (or forecast) column, instead of "
                                                        "--model.")] = None,
    sensitive: Annotated[list[str] | None, typer.Option(help="Sensitive column (repeatable): fairness rules per "
                                                             "column.")] = None,
    task: Annotated[str | None, typer.Option(help="classification or regression (default: inferred from the "
                                                  "target).")] = None,
    current: Annotated[Path | None, typer.Option(help="Current rows (e.g. held-out or recent): the policy gates "
                                                      "them, with drift from DATA.")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Policy file to write.")] = Path("gatekit.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Replace --output when it exists.")] = False,
    margin: Annotated[float, typer.Option(help="Ranges: share of the observed width added on each side (and to "
                                               "an observed null share).")] = 0.1,
    metric_margin: Annotated[float, typer.Option(help="Metric limits: relative slack from the value measured "
                                                      "now.")] = 0.05,
    max_categories: Annotated[int, typer.Option(help="Largest allowed set written for a text column.")] = 20,
    name: Annotated[str | None, typer.Option(help="The policy's name (default: DATA's file name).")] = None,
    model_sha256: Annotated[str | None, typer.Option(help="Expected sha256 of --model (needed to load a pickle or "
                                                          "joblib file; written into the policy).")] = None,
    check: Annotated[bool, typer.Option("--check/--no-check", help="Run the written policy on the same rows and "
                                                                   "report its decision (default: on).")] = True,
) -> None:
    """Draft a policy from DATA (and --model, --target, --sensitive) to review, pilot (warn only) and commit."""
    from gatekit.core.errors import InputError, PolicyError, UsageError

    for value, option in ((data, "DATA"), (model, "--model"), (current, "--current"), (output, "--output")):
        refuse_control(value, option)  # the paths go into the policy's text and its comments
    if task not in (None, "classification", "regression", "multiclass"):
        fail(ValueError(f"--task must be classification, multiclass or regression, not {task!r}"), "invalid usage")
    if score is not None and prediction is not None:
        fail(ValueError("give only one of --score and --prediction"), "invalid usage")
    if model is not None and (score is not None or prediction is not None):
        fail(ValueError("give --model or a --score / --prediction column, not both"), "invalid usage")
    if not 0 <= margin <= 10 or not 0 <= metric_margin < 1:
        fail(ValueError("--margin must be in [0, 10] (a share of the observed width) and --metric-margin in [0, 1)"),
             "invalid usage")
    if max_categories < 1:
        fail(ValueError("--max-categories must be at least 1"), "invalid usage")
    if output.exists() and not force:
        fail(ValueError(f"{output} already exists; give --force to replace it, or another --output"),
             "refusing to overwrite")
    if not (output.parent if str(output.parent) else Path(".")).is_dir():
        fail(ValueError(f"the folder of --output {output} does not exist; create it first, or give another "
                        "--output"), "invalid usage")
    try:
        ctx = _read_inputs(data, model, current, output, target, score, prediction, sensitive or [], task,
                           positive_label, max_categories)
        settings = _settings(ctx, data, model, current, output, name, score, prediction, margin, metric_margin,
                             max_categories, model_sha256)
        measured = _probe(ctx, settings, data, model, current, model_sha256)
    except (InputError, UsageError) as exc:
        fail(exc, "invalid inputs")
    except OSError as exc:
        fail(exc, "cannot read an input")
    except Exception as exc:  # noqa: BLE001
        internal(exc)
    try:
        from gatekit.policy.draft import draft_policy

        draft = draft_policy(ctx["profiles"], settings, measured, output=_shown_path(output))
        counts = _write(draft.text, output)
    except InputError as exc:
        fail(exc, "invalid inputs")
    except PolicyError as exc:  # the draft does not validate: a bug of init's, never the user's
        internal(RuntimeError(f"the drafted policy does not validate (nothing written): {exc}"))
    except OSError as exc:
        fail(exc, f"cannot write {output}")
    except Exception as exc:  # noqa: BLE001
        internal(exc)
    _report(output, counts, draft.notes, check)


def _shown_path(path: Path) -> str:
    """Return the path as the user should type it in the commands printed (quoted for a shell)."""
    import shlex

    return shlex.quote(str(path))


def _read_inputs(data: Path, model: Path | None, current: Path | None, output: Path, target: str | None,
                 score: str | None, prediction: str | None, sensitive: list[str], task: str | None,
                 positive_label: str | None, max_categories: int = 20) -> dict[str, Any]:
    """Read the rows with the project's reader, check every named column, profile the reference rows."""
    from gatekit.core.errors import input_error
    from gatekit.core.hashing import must_exist
    from gatekit.data.readers import read_frame, require_column, role_conflict_message, role_conflicts
    from gatekit.policy.draft import profile_frame, target_facts

    must_exist(data, "data")
    if model is not None:
        must_exist(model, "model")
    if current is not None:
        must_exist(current, "current")
    out = Path(os.path.abspath(output))
    for role, path in (("data", data), ("model", model), ("current", current)):
        if path is not None and out.exists() and os.path.samefile(out, path):
            raise input_error(f"--output {output} is the {role} file; give another --output", str(output),
                              key="output")
    found = role_conflicts([("target", target), ("score", score), ("prediction", prediction),
                            ("sensitive", sensitive)])
    if found:
        raise input_error(role_conflict_message(*found[0]), str(data), key=found[0][1])
    frame = read_frame(data)
    if len(frame) == 0:
        raise input_error("the file has no rows (a header only): a policy drafted from no rows would describe "
                          "nothing; give the reference rows", str(data))
    # the rows gated: the current rows when given (the reference rows, often training rows, may lack the model's
    # output columns), else the reference rows themselves
    gated, gated_file = (read_frame(current), str(current)) if current is not None else (frame, str(data))
    if len(gated) == 0:
        raise input_error("the file has no rows (a header only): nothing to measure", gated_file)
    from gatekit.data.classes import is_pattern, pattern_columns

    pattern = score is not None and is_pattern(score)
    if pattern:  # `score_*`: one probability column per class (multiclass)
        pattern_columns(list(gated.columns), str(score), gated_file)
    for role, col in (("target", target), ("score", None if pattern else score), ("prediction", prediction),
                      *(("sensitive", s) for s in sensitive)):
        if col is not None:
            require_column(gated, col, role, gated_file)
    _check_roles(gated, gated_file, target, None if pattern else score, sensitive)
    found_task, positive = (target_facts(gated, target, task, positive_label, gated_file) if target is not None
                            else (task, None))
    if target is None and (score or prediction or sensitive):
        raise input_error("--score, --prediction and --sensitive need --target (the metric and fairness rules "
                          "compare the model's output with it)", str(data), key="target")
    profiles = profile_frame(frame, target=target, score=None if pattern else score, prediction=prediction,
                             sensitive=sensitive,
                             max_categories=max_categories)
    if not profiles:
        raise input_error("the rows have no column to draft rules for", str(data))
    return {"frame": frame, "profiles": profiles, "task": found_task if target is not None else None,
            "positive": positive, "target": target, "sensitive": tuple(sensitive)}


def _check_roles(frame: Any, file: str, target: str | None, score: str | None, sensitive: list[str]) -> None:
    """Refuse, before anything is written, role columns a run would refuse or could not measure.

    An all-null target; a score value that is missing or not finite (named by row, as `gatekit run` would); a
    numeric sensitive column with more than :data:`gatekit.data.sensitive.MAX_NUMERIC_GROUPS` distinct values,
    which `gatekit run` refuses unless binned. Messages name columns and rows, never a value.
    """
    import numpy as np
    from pandas.api import types as pdt

    from gatekit.core.errors import input_error
    from gatekit.data.sensitive import MAX_NUMERIC_GROUPS

    if target is not None and frame[target].notna().sum() == 0:
        raise input_error(f"target {target!r} has no value (every row is null): nothing to draft metric or target "
                          "rules from; give rows with the target filled in", file, key="target")
    if score is not None:
        col = frame[score]
        if pdt.is_numeric_dtype(col.dtype) and not pdt.is_bool_dtype(col.dtype):
            values = col.to_numpy(dtype=float, na_value=np.nan)
            bad = np.flatnonzero(~np.isfinite(values))
            if len(bad):
                line = f" (line {int(bad[0]) + 2} of a CSV with a header)" if file.endswith((".csv", ".csv.gz")) else ""
                raise input_error(f"score column {score!r} has {len(bad):,} missing or non-finite value(s), the first "
                                  f"in row {int(bad[0]) + 1}{line}: a metric cannot be measured on them; fix or drop "
                                  "those rows", file, key="score")
    for c in sensitive:
        col = frame[c]
        if pdt.is_numeric_dtype(col.dtype) and not pdt.is_bool_dtype(col.dtype):
            n = int(col.nunique(dropna=True))
            if n > MAX_NUMERIC_GROUPS:
                raise input_error(
                    f"sensitive column {c!r} is numeric with {n:,} distinct values: as groups they would be {n:,} "
                    f"groups of a few rows, and `gatekit run` refuses it unless binned. Bin it into a new column "
                    f"before `gatekit init` (e.g. age bands), then add inputs.sensitive_bins: {{{c}: [edges ...]}} "
                    f"to the drafted policy, or {{{c}: categories}} if its values are codes "
                    "(docs/metrics/fairness.md)", file, key=c)


def _relative(path: Path, output: Path) -> str:
    """``path`` as the policy names it: relative to the policy file's folder (POSIX separators).

    Absolute when the two share no folder but the root (``../../../data.csv`` from ``/tmp`` would say less).
    """
    target, folder = os.path.abspath(path), os.path.dirname(os.path.abspath(output))
    try:
        shared = os.path.commonpath([target, folder])
    except ValueError:  # another drive (Windows)
        return Path(target).as_posix()
    if os.path.dirname(shared) == shared:
        return Path(target).as_posix()
    return Path(os.path.relpath(target, folder)).as_posix()


def _settings(ctx: dict[str, Any], data: Path, model: Path | None, current: Path | None, output: Path,
              name: str | None, score: str | None, prediction: str | None, margin: float, metric_margin: float,
              max_categories: int, model_sha256: str | None) -> Any:
    from gatekit.policy.draft import DraftSettings

    stem = data.name.split(".")[0] or "policy"
    return DraftSettings(
        name=name or stem, data=_relative(data, output), data_label=data.name,
        current=_relative(current, output) if current is not None else None,
        current_label=current.name if current is not None else None,
        model=_relative(model, output) if model is not None else None, model_sha256=model_sha256,
        target=ctx["target"], score=score, prediction=prediction, positive_label=ctx["positive"],
        sensitive=ctx["sensitive"], task=ctx["task"], margin=margin, metric_margin=metric_margin,
        max_categories=max_categories)


def _probe(ctx: dict[str, Any], settings: Any, data: Path, model: Path | None, current: Path | None,
           model_sha256: str | None) -> Any:
    """Measure the model (and the drift) once through the API; None when there is nothing to measure."""
    from gatekit import api
    from gatekit.policy.draft import probe_policy, read_probe, redact_reason

    policy = probe_policy(ctx["profiles"], settings)
    if policy is None:
        return None
    report = api.run(policy, data=str(current if current is not None else data),
                     reference=str(data) if current is not None else None, model=model, model_sha256=model_sha256,
                     target=settings.target, positive_label=settings.positive_label, score=settings.score,
                     prediction=settings.prediction, sensitive=list(settings.sensitive) or None, task=settings.task)
    measured = read_probe(report)
    # the reasons of rules that cannot be computed may quote values of the rows (group names, classes): never
    # copied into the draft or the console
    frame = ctx["frame"]
    values = {v for c in (*settings.sensitive, settings.target) if c is not None and c in frame.columns
              for v in frame[c].dropna().unique().tolist() if isinstance(v, str)}  # numbers: counts stay
    measured.metrics = {i: (v, redact_reason(m, values)) for i, (v, m) in measured.metrics.items()}
    return measured


def _write(text: str, output: Path) -> str:
    """Validate ``text`` as a policy file beside ``output`` (so relative paths resolve), then move it there.

    Returns the validated policy's rule counts in words. Raises PolicyError when it does not validate (the
    temporary file is removed and ``output`` is untouched).
    """
    import tempfile

    from gatekit import api
    from gatekit.core.errors import input_error
    from gatekit.core.yaml_limits import MAX_POLICY_BYTES

    size = len(text.encode("utf-8"))
    if size > MAX_POLICY_BYTES:
        raise input_error(f"the draft is {size:,} bytes, more than a policy may be ({MAX_POLICY_BYTES:,}); give "
                          "fewer columns (or lower --max-categories)", str(output))
    folder = output.parent if str(output.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=".gatekit-init-", suffix=".yaml", dir=folder)
    try:
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # the mode any new file gets (mkstemp makes it 0600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        counts = api.validate(tmp).counts_text
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return counts


def _report(output: Path, counts: str, notes: list[str], check: bool) -> None:
    """Print what was written, the next command, and (``check``) the written policy's decision on the same rows."""
    from gatekit.core.formatting import printable

    out = console()
    shown = _shown_path(output)
    out.print(printable(f"wrote {output} ({counts}); mode: warn_only, every rule on_fail: warn"), markup=False)
    for note in notes:
        out.print(printable(f"  note: {note}"), markup=False)
    if not check:
        out.print(printable(f"next: review it, then run `gatekit run {shown}`"), markup=False)
        return
    from gatekit import api
    from gatekit.core.errors import GatekitError
    from gatekit.report.terminal import print_summary

    out.print(printable(f"checking: gatekit run {shown} (the same rows, nothing recorded) ..."), markup=False)
    try:
        report = api.run(output)
    except GatekitError as exc:  # the inputs changed since they were read: say so, the file stays
        fail(exc, f"the written policy {output} could not run")
    except Exception as exc:  # noqa: BLE001
        internal(exc)
    print_summary(report, {}, out, quiet=report.decision.value == "pass", warn_only=True)
    if report.decision.value != "pass":
        out.print("note: the draft does not pass on the rows it was drafted from; the checks above say why "
                  "(review those rules before you commit it)", markup=False)
    out.print(printable(f"next: review {output}, commit it, and run `gatekit run {shown}` in CI "
                        "(--data NEW_ROWS.csv for new rows); remove `mode: warn_only` to enforce it"), markup=False)
