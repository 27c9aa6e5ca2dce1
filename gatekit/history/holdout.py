"""Test-set reuse: how many candidates of one model the same evaluation rows have gated (``holdout:``).

Choosing among candidates by their figures on one holdout set, again and again, overfits the holdout:
each decision leaks some of its noise into the model that is kept, and after enough adaptive looks its
figures overstate how the model does on new rows (Dwork, Feldman, Hardt, Pitassi, Reingold and Roth,
"The reusable holdout: Preserving validity in adaptive data analysis", Science 349(6248), 2015). The run
history knows the looks: the check ``holdout_reuse`` counts the distinct candidates of the same model
name gated on the same evaluation data, this run included, and fails past the policy's budget.

What is counted:

- the evaluation data by its file's sha256, as the reproducibility record keeps it
  (``metadata.inputs.files.data.sha256``; several Parquet files: their combined digest; a DataFrame
  from Python: its content hash);
- the model by name: the policy's ``holdout.model``, else the policy's name, as recorded with each run
  (runs recorded before history schema 3 carry their policy's name);
- a candidate by its model file's sha256, else its metrics file's sha256, else the run itself: re-running
  the same model on the same rows is no new look and is not counted again.

Not computable (never a pass): history off, a store that cannot be read, no data file hash (metrics given
as figures, a table gatekit does not hash), and candidate outputs read from a column of the data file
(``--score`` / ``--prediction``), whose hash then changes with every candidate, so no reuse could ever be
seen.
"""

from __future__ import annotations

from typing import Any

from gatekit.core.decision import decide
from gatekit.core.results import CheckResult, Status
from gatekit.policy.loader import LoadedPolicy

CHECK_NAME = "holdout_reuse"
"""The check's name (its report section is ``holdout``)."""

SECTION = "holdout"
REFERENCE = ("Dwork et al., 'The reusable holdout: Preserving validity in adaptive data analysis', Science 349, "
             "2015")
ADVICE = ("refresh the holdout: draw new evaluation rows the candidates have not been chosen on (and keep "
          "the old ones for development), or raise holdout.budget knowingly")


def candidate_id(run_id: str, model_sha256: str | None, files: dict[str, Any]) -> str:
    """Return what identifies a run's candidate: its model file's sha256, else its metrics file's, else the run."""
    if model_sha256:
        return f"model:{model_sha256}"
    metrics = files.get("metrics")
    sha = metrics.get("sha256") if isinstance(metrics, dict) else metrics
    return f"metrics:{sha}" if sha else f"run:{run_id}"


def holdout_check(report: Any, policy: LoadedPolicy, history_url: str | None) -> CheckResult | None:
    """Add the ``holdout_reuse`` check to a run's report and decide again; None when the policy sets no budget.

    Called by :func:`gatekit.api.run` after the evaluation and before anything reads the decision (exit
    code, alerts, reports, recording). Sets ``report.metadata["holdout"]`` (model, data sha256, budget,
    candidates, runs, ``counted_runs``), appends the check to ``report.checks`` and replaces the report's
    decision and reason by :func:`gatekit.core.decision.decide` over all its checks.

    Parameters
    ----------
    report : GateReport
        The run's report, not yet recorded (the current run is added to the count here).
    policy : LoadedPolicy
        Its policy; ``policy.policy.holdout`` the budget.
    history_url : str or None
        The history store the run records into; None when history is off.

    Returns
    -------
    CheckResult or None
        ``pass`` while the distinct candidates are at most the budget, ``fail`` past it, ``not_computable``
        when they cannot be counted, ``error`` when the store cannot be read. ``observed`` is the count,
        ``op`` ``<=`` and ``threshold`` the budget.
    """
    spec = getattr(policy.policy, "holdout", None)
    if spec is None:
        return None
    meta = report.metadata
    model = spec.model or policy.name
    files = (meta.get("inputs") or {}).get("files") or {}
    data = files.get("data")
    data = data if isinstance(data, dict) else {}
    data_sha = data.get("sha256")
    info: dict[str, Any] = {"model": model, "budget": spec.budget, "data_sha256": data_sha}
    meta["holdout"] = info
    common: dict[str, Any] = dict(name=CHECK_NAME, section=SECTION, on_fail=spec.on_fail, op="<=",
                                  threshold=float(spec.budget))
    inputs = meta.get("inputs") or {}
    why = None
    if history_url is None:
        why = ("the run history is off, so the holdout's reuse cannot be counted (set a history store: --history, "
               "GATEKIT_HISTORY_URL or gatekit.toml)")
    elif not data_sha:
        why = ("no evaluation data file was hashed (figures from a metrics file, or a table gatekit does not "
               "hash), so the rows the candidates were chosen on cannot be recognized")
    elif inputs.get("score") or inputs.get("prediction"):
        col = inputs.get("score") or inputs.get("prediction")
        why = (f"the candidate's outputs come from the column {col!r} of the data file, so the file's hash changes "
               "with every candidate and its reuse can never be seen; give the model (--model) and evaluation rows "
               "without the candidate's outputs")
    check: CheckResult
    if why is not None or history_url is None or not data_sha:
        check = CheckResult(status=Status.NOT_COMPUTABLE, message=f"holdout reuse not counted: {why}", **common)
    else:
        check = _counted(report, model, data_sha, spec, history_url, info, common, files)
    check.details.update({"model": model, "budget": spec.budget, "data_sha256": data_sha, "reference": REFERENCE})
    report.checks.append(check)
    report.decision, report.reason = decide(report.checks, policy.policy.strict)
    groups = meta.get("report_groups")
    if isinstance(groups, dict):
        groups.setdefault(SECTION, "Holdout reuse")
    return check


def _counted(report: Any, model: str, data_sha: str, spec: Any, history_url: str, info: dict[str, Any],
             common: dict[str, Any], files: dict[str, Any]) -> CheckResult:
    """Count the distinct candidates from the store and this run; the check's verdict."""
    from gatekit.history.store import HistoryError, HistoryStore, mask_password

    meta = report.metadata
    try:
        with HistoryStore(history_url) as store:
            uses = store.holdout_uses(model, data_sha)
    except HistoryError as exc:
        text = mask_password(str(exc), history_url)
        return CheckResult(status=Status.ERROR, message=f"holdout reuse not counted: the run history could not be "
                                                        f"read: {text}", **common)
    run_id = str(meta.get("run_id"))
    model_file = files.get("model")
    model_file = model_file if isinstance(model_file, dict) else {}
    now = candidate_id(run_id, model_file.get("sha256"), files)
    seen = {candidate_id(u["run_id"], u["model_sha256"], u["files"]) for u in uses}
    candidates = len(seen | {now})
    info.update({"candidates": candidates, "runs": len(uses) + 1, "new_candidate": now not in seen,
                 "counted_runs": [u["run_id"] for u in uses] + [run_id]})
    prefix = data_sha[:12]
    head = (f"the evaluation data (sha256 {prefix}...) has gated {candidates} distinct candidate"
            f"{'s' if candidates != 1 else ''} of model {model!r} ({len(uses) + 1} run{'s' if uses else ''}, this "
            f"one included); budget {spec.budget}")
    details = {"candidates": candidates, "runs": len(uses) + 1, "first_run": (uses[0]["run_id"] if uses else run_id)}
    if candidates <= spec.budget:
        left = spec.budget - candidates
        return CheckResult(status=Status.PASS, observed=float(candidates), margin=float(left), details=details,
                           message=f"{head}: {left} more candidate{'s' if left != 1 else ''} may be chosen on it",
                           **common)
    return CheckResult(status=Status.FAIL, observed=float(candidates), margin=float(spec.budget - candidates),
                       details=details,
                       message=f"{head}: past the budget, the holdout has been reused adaptively and its figures "
                               f"may overstate the model ({REFERENCE}); {ADVICE}", **common)
