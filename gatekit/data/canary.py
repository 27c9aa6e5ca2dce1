"""Canary traffic logs, split into the candidate's arm and production's arm.

One log of served rows with their outcomes becomes the candidate's rows and production's rows
(each an :class:`~gatekit.metrics.registry.EvalData`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gatekit.core.errors import input_error
from gatekit.core.hashing import must_exist, record_file
from gatekit.core.labels import norm_label
from gatekit.data.labels import check_label_space, infer_positive, infer_task, numeric, to01
from gatekit.data.readers import canary_roles, read_frame, require_column, role_conflict_message, role_conflicts
from gatekit.data.sensitive import sensitive_frame
from gatekit.metrics.registry import EvalData


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


def load_canary(spec: Any, path: Path, files: dict[str, dict[str, Any]], decision_threshold: float = 0.5,
                strict: bool = True, extra_sensitive: list[str] | None = None,
                bins: dict[str, Any] | None = None) -> CanaryArms:
    """Read a canary traffic log and split it into the candidate's and production's arms.

    Parameters
    ----------
    spec : gatekit.policy.specs.CanarySpec
        Column names and arm values.
    path : pathlib.Path
        The log, ``.csv`` or ``.parquet``.
    files : dict
        The run's file records (role ``canary_log`` is added).
    decision_threshold, strict : float, bool
        As for :class:`EvalData`.
    extra_sensitive : list of str, optional
        Sensitive columns named by the rules' parameters.
    bins : dict, optional
        ``inputs.sensitive_bins`` (:func:`gatekit.data.sensitive.sensitive_frame`), for the log's columns.

    Returns
    -------
    CanaryArms

    Raises
    ------
    InputError
        Missing file or column, an arm with no rows, missing outcomes, a non-numeric score.
    """
    found = role_conflicts([*canary_roles(spec), ("canary sensitive", extra_sensitive or [])])
    if found:
        raise input_error(role_conflict_message(*found[0]), str(path), key=found[0][1])
    must_exist(path, "canary log")
    record_file(files, "canary_log", path)
    frame = read_frame(path)
    file = str(path)
    arm = require_column(frame, spec.arm, "arm", file)
    arm_text = arm.astype(object).map(lambda v: None if v is None or v != v else str(norm_label(v)))
    target = require_column(frame, spec.target, "target", file)
    if arm_text.isna().any():
        idx = np.flatnonzero(arm_text.isna().to_numpy())[:5]
        raise input_error(f"{int(arm_text.isna().sum())} rows have no {spec.arm!r} value (rows {idx.tolist()}, "
                          "counted from 0): which model served them is unknown; fill or remove them (a canary "
                          "comparison never drops rows silently)", file, key=spec.arm)
    counts = {str(k): int(v) for k, v in arm_text.value_counts(dropna=False).items()}
    for which, value in (("candidate_arm", spec.candidate_arm), ("baseline_arm", spec.baseline_arm)):
        if counts.get(str(norm_label(value)), 0) == 0:
            raise input_error(f"no row has {spec.arm} = {value!r} ({which}); the column holds {counts}", file,
                              key=spec.arm)
    if target.isna().any():
        idx = np.flatnonzero(target.isna().to_numpy())[:5]
        raise input_error(f"{int(target.isna().sum())} rows have no outcome (rows {idx.tolist()}, counted from 0); "
                          "a canary comparison never drops rows silently", file, key=spec.target)
    task = infer_task(target, None)
    if task == "multiclass":
        raise input_error(f"outcome {spec.target!r} has more than two classes; gatekit compares binary "
                          "classifiers and regressors", file, key=spec.target)
    positive = None
    if task == "classification":
        positive = infer_positive(target.unique().tolist(), spec.positive_label, file, spec.target)
        y = to01(target, positive).astype(int)
        if y.sum() == 0 and target.nunique() == 2:
            raise input_error(f"positive label {positive!r} matches no value of outcome {spec.target!r} (values: "
                              f"{target.unique().tolist()[:10]}); check canary.positive_label", file,
                              key="positive_label")
    else:
        y = numeric(target, "outcome", spec.target, file, spec.target)
    out_col = spec.score or spec.prediction
    col = require_column(frame, out_col, "score" if spec.score else "prediction", file)
    if spec.score is not None or task == "regression":
        values = numeric(col, "score column" if spec.score else "prediction column", out_col, file, out_col)
    else:
        check_label_space(col, target, out_col, spec.target, file)
        values = to01(col, positive)
    sens_cols = list(dict.fromkeys([*spec.sensitive, *(extra_sensitive or [])]))
    sf = None
    if sens_cols:
        for c in sens_cols:
            require_column(frame, c, "sensitive", file)
        sf = sensitive_frame(frame, sens_cols, {c: b for c, b in (bins or {}).items() if c in sens_cols}, file)
    arms: dict[str, EvalData] = {}
    targets: dict[str, np.ndarray] = {}  # each arm's y_true
    for name, value in (("candidate", spec.candidate_arm), ("baseline", spec.baseline_arm)):
        mask = (arm_text == str(norm_label(value))).to_numpy()
        targets[name] = y[mask]
        d = EvalData(y_true=targets[name], task=task, decision_threshold=decision_threshold, strict=strict,
                     positive_label=positive, sensitive_default=list(spec.sensitive))
        if spec.score is not None:
            d.y_score = values[mask]
        else:
            d.y_pred = values[mask]
        if sf is not None:
            d.sensitive = sf[mask].reset_index(drop=True)
        arms[name] = d
    info = {"file": file, "rows": len(frame), "arm_column": spec.arm,
            "rows_candidate": len(targets["candidate"]), "rows_baseline": len(targets["baseline"]),
            "rows_in_neither_arm": int(len(frame) - len(targets["candidate"]) - len(targets["baseline"])),
            "task": task, "positive_label": positive}
    if task == "classification":
        info["positives_candidate"] = int(targets["candidate"].sum())
        info["positives_baseline"] = int(targets["baseline"].sum())
    return CanaryArms(arms["candidate"], arms["baseline"], info)
