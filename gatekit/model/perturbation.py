"""Robustness probes: Gaussian noise on numeric features, and inputs a serving model will meet sooner or later.

Noise sensitivity: each numeric feature ``j`` gets ``N(0, (k * std_j)^2)`` added, ``std_j`` taken from
the reference (training) data where it has the feature as numbers (at least two), else, for that feature
alone, from the evaluation data (:func:`noise_scales` says which and why; a feature constant where its std
came from gets no noise, and that is said too); repeated ``repeats`` times with
a seeded generator. Reported: the metric's degradation (clean minus noisy for a higher-is-better metric,
noisy minus clean otherwise; mean over repeats) and, for a classifier, the flip rate: the share of rows
whose predicted label at the decision threshold changes (mean over repeats).

Out-of-range cases, each on ``rows`` evaluation rows (a model must return finite scores, in [0, 1] for a
classifier, and must not raise):

- ``extreme``: every numeric feature far outside the training range, ``max + f * range`` on half the
  rows and ``min - f * range`` on the other half;
- ``missing``: one feature at a time set to missing (NaN / None), every feature in turn;
- ``unseen_category``: every text feature set to a value never seen in training;
- ``wrong_type``: numeric features given as text. Here a clean refusal (``ValueError`` / ``TypeError``)
  is the right answer too; scores that are not finite or out of range, or any other exception, are not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

UNSEEN = "__gatekit_unseen__"


@dataclass
class Probe:
    """The outcome of one out-of-range probe."""

    case: str
    target: str
    ok: bool
    outcome: str


@dataclass
class CaseResult:
    """All probes of one case."""

    case: str
    probes: list[Probe] = field(default_factory=list)
    note: str = ""

    @property
    def failed(self) -> list[Probe]:
        """Probes the model did not survive."""
        return [p for p in self.probes if not p.ok]


def split_features(frame: Any, features: list[str]) -> tuple[list[str], list[str]]:
    """Numeric and text (categorical) feature columns of ``frame``."""
    import pandas as pd

    numeric = [c for c in features if pd.api.types.is_numeric_dtype(frame[c]) and not
               pd.api.types.is_bool_dtype(frame[c])]
    return numeric, [c for c in features if c not in numeric]


def _check_scores(scores: Any, n: int, task: str) -> tuple[bool, str]:
    s = np.asarray(scores, dtype=float).reshape(-1)
    if len(s) != n:
        return False, f"returned {len(s)} scores for {n} rows"
    bad = int((~np.isfinite(s)).sum())
    if bad:
        return False, f"{bad} of {n} scores are not finite"
    if task == "classification" and (s.min() < 0 or s.max() > 1):
        return False, f"scores outside [0, 1] (from {s.min():.4g} to {s.max():.4g})"
    return True, f"{n} finite scores" + (" in [0, 1]" if task == "classification" else "")


def _one_line(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _probe(runner: Any, X: Any, case: str, target: str, refusal_ok: bool = False) -> Probe:
    try:
        scores = runner(X)
    except (ValueError, TypeError) as exc:
        if refusal_ok:
            return Probe(case, target, True, f"refused cleanly: {type(exc).__name__}")
        return Probe(case, target, False, f"raised {type(exc).__name__}: {_one_line(exc)}")
    except Exception as exc:  # noqa: BLE001 - a crash is the finding
        return Probe(case, target, False, f"raised {type(exc).__name__}: {_one_line(exc)}")
    ok, why = _check_scores(scores, len(X), runner.task)
    return Probe(case, target, ok, why)


def training_ranges(frame: Any, reference: Any, features: list[str]) -> tuple[dict[str, tuple[float, float]], str]:
    """Return each numeric feature's training range ``(min, max)`` and a note on where it came from.

    From the reference (training) data when it has every feature and each numeric feature is numeric and
    not all missing there; else from the evaluation data (the note says why). Missing values are skipped.

    Parameters
    ----------
    frame : pandas.DataFrame
        Evaluation data.
    reference : pandas.DataFrame or None
        Training data.
    features : list of str
        The model's features.

    Returns
    -------
    ranges : dict of str to (float, float)
        For the numeric features of :func:`split_features`.
    note : str
        Empty when the reference gave the ranges.
    """
    import pandas as pd

    X = frame[features]
    numeric_ref = [c for c in features if pd.api.types.is_numeric_dtype(X[c])]
    usable = reference is not None and all(c in reference.columns for c in features)
    bad_ref = [c for c in numeric_ref if usable and not (pd.api.types.is_numeric_dtype(reference[c])
                                                         and reference[c].notna().any())]
    ref = reference if usable and not bad_ref else frame
    numeric, _ = split_features(X, features)
    return {c: (float(ref[c].min()), float(ref[c].max())) for c in numeric}, range_note(usable, bad_ref)


def range_note(usable: bool, bad_ref: list[str]) -> str:
    """Say why the training range comes from the evaluation data (:func:`training_ranges`; empty when it does not)."""
    return (f"the reference data's {bad_ref} are not numeric (or all missing) where the evaluation data's are; "
            "the training range is taken from the evaluation data" if bad_ref else
            "" if usable else "no reference data (inputs.reference) with these features: the training range is "
            "taken from the evaluation data")


def out_of_range(runner: Any, frame: Any, reference: Any, cases: list[str], rows: int, factor: float,
                 seed: int, ranges: tuple[dict[str, tuple[float, float]], str] | None = None) -> list[CaseResult]:
    """Run the out-of-range cases on ``rows`` evaluation rows.

    Parameters
    ----------
    runner : gatekit.model.serving.Runner
        The model bound to its features.
    frame : pandas.DataFrame
        Evaluation data.
    reference : pandas.DataFrame or None
        Training data (the range and the categories seen); the evaluation data when None.
    cases : list of str
        Among ``extreme``, ``missing``, ``unseen_category``, ``wrong_type``.
    rows : int
        Rows per probe (drawn without replacement, seeded).
    factor : float
        ``f`` of the extreme case.
    seed : int
        Seed of the row draw.
    ranges : (dict, str), optional
        The training ranges and their note, computed elsewhere (an engine's aggregates over all rows when
        ``frame`` is a sample); default :func:`training_ranges` of ``frame`` and ``reference``.

    Returns
    -------
    list of CaseResult
    """
    X = frame[runner.features]
    span_of, note = ranges if ranges is not None else training_ranges(frame, reference, runner.features)
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(X), size=min(rows, len(X)), replace=False)
    base = X.iloc[idx].reset_index(drop=True)
    numeric, text = split_features(X, runner.features)
    out = []
    for case in cases:
        res = CaseResult(case, note=note)
        if case == "extreme":
            if numeric:
                P = base.copy()
                half = len(P) // 2
                for c in numeric:
                    lo, hi = span_of[c]
                    span = (hi - lo) or max(abs(hi), 1.0)
                    P[c] = P[c].astype(float)
                    P.loc[: half - 1, c] = hi + factor * span
                    P.loc[half:, c] = lo - factor * span
                res.probes.append(_probe(runner, P, case, f"{len(numeric)} numeric features at once"))
        elif case == "missing":
            for c in runner.features:
                P = base.copy()
                P[c] = np.nan if c in numeric else None
                if c in numeric:
                    P[c] = P[c].astype(float)
                res.probes.append(_probe(runner, P, case, c))
        elif case == "unseen_category":
            if text:
                P = base.copy()
                for c in text:
                    P[c] = UNSEEN
                res.probes.append(_probe(runner, P, case, f"{len(text)} text features at once"))
        elif case == "wrong_type":
            for c in numeric:
                P = base.copy()
                P[c] = "not a number"
                res.probes.append(_probe(runner, P, case, c, refusal_ok=True))
        out.append(res)
    return out


EVAL = "evaluation data"
REFERENCE = "reference data"


def noise_scales(frame: Any, reference: Any, numeric: list[str]) -> tuple[dict[str, float], dict[str, str], str]:
    """Return each numeric feature's noise scale (its std, ddof 1), where it came from, and a note saying so.

    Per feature: the reference (training) data's std where the reference has the feature as numbers with at
    least two values; else the evaluation data's, for that feature only, and the note names it and says why
    (no reference data, absent from it, not numeric there, fewer than two values there). A std of 0 (the
    feature is constant where its std came from) means no noise on that feature: the note says that too.

    Parameters
    ----------
    frame : pandas.DataFrame
        Evaluation data.
    reference : pandas.DataFrame or None
        Training data.
    numeric : list of str
        The numeric features (:func:`split_features` of the evaluation data).

    Returns
    -------
    stds : dict of str to float
        NaN where neither side gives two values (the caller refuses to go on).
    sources : dict of str to str
        :data:`REFERENCE` or :data:`EVAL` per feature.
    note : str
        Empty when every std came from the reference and none is 0.
    """
    import pandas as pd

    stds: dict[str, float] = {}
    sources: dict[str, str] = {}
    why: dict[str, list[str]] = {}
    for c in numeric:
        reason = None
        if reference is None:
            reason = "no reference data"
        elif c not in reference.columns:
            reason = "absent from the reference data"
        elif not pd.api.types.is_numeric_dtype(reference[c]) or pd.api.types.is_bool_dtype(reference[c]):
            reason = "not numeric in the reference data"
        else:
            v = float(reference[c].std(ddof=1))
            if np.isfinite(v):
                stds[c], sources[c] = v, REFERENCE
                continue
            reason = "fewer than 2 values in the reference data"
        stds[c], sources[c] = float(frame[c].std(ddof=1)), EVAL
        why.setdefault(reason, []).append(c)
    return stds, sources, std_note(stds, sources, why)


def std_note(stds: dict[str, float], sources: dict[str, str], why: dict[str, list[str]] | None = None) -> str:
    """Say which features' noise scale came from the evaluation data (and why) and which got no noise (std 0)."""
    parts = []
    if why and list(why) == ["no reference data"]:
        parts.append("no reference data (inputs.reference): every feature's std is the evaluation data's")
    elif why:
        parts.append("std from the evaluation data for " + "; ".join(
            f"{_names(cols)} ({reason})" for reason, cols in why.items()))
    constant = [c for c, v in stds.items() if v == 0]
    if constant:
        parts.append("no noise on " + "; ".join(
            f"{_names([c for c in constant if sources.get(c) == src])} (constant in the "
            f"{src if src in (REFERENCE, EVAL) else 'data its std came from'}: std 0)"
            for src in dict.fromkeys(sources.get(c) for c in constant)))
    return "; ".join(parts)


def _names(cols: list[str], limit: int = 10) -> str:
    return ", ".join(cols[:limit]) + (f" and {len(cols) - limit} more" if len(cols) > limit else "")


def noise(runner: Any, frame: Any, reference: Any, scale: float, repeats: int, seed: int,
          metric: Any | None, data: Any, threshold: float, stds: dict[str, float] | None = None,
          std_sources: dict[str, str] | None = None, std_why: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """Score the evaluation rows with Gaussian noise on the numeric features.

    Parameters
    ----------
    runner : gatekit.model.serving.Runner
        The model bound to its features.
    frame : pandas.DataFrame
        Evaluation data.
    reference : pandas.DataFrame or None
        Where each feature's std comes from, feature by feature (:func:`noise_scales`: the evaluation data's
        for a feature the reference lacks or holds as text, or for all when None).
    scale : float
        ``k``: noise std in units of each feature's std.
    repeats : int
        Noisy scorings.
    seed : int
        Seed of the noise.
    metric : ResolvedMetric or None
        Metric whose degradation is reported (needs ``data`` with a target).
    data : EvalData or None
        The clean evaluation arrays (target, sensitive columns); the noisy runs replace the scores.
    threshold : float
        Decision threshold for the flip rate.
    stds : dict of str to float, optional
        Each numeric feature's standard deviation (ddof 1), computed elsewhere (an engine's aggregate over
        all rows when ``frame`` is a sample); default from ``reference`` (or ``frame``) as above.
    std_why : dict of str to list of str, optional
        Why each feature's std came from the evaluation data (reason -> features), when ``stds`` were computed
        elsewhere (:func:`gatekit.sections.robustness.table_stds`); for the note.
    std_sources : dict of str to str, optional
        Where each of ``stds`` came from (:data:`REFERENCE` / :data:`EVAL`), with ``stds``; unknown when not given.

    Returns
    -------
    dict
        ``clean`` metric, ``noisy`` metric per repeat, ``degradation`` (mean), ``flip_rates`` per repeat,
        ``flip_rate`` (mean), ``stds`` used, ``std_sources`` (where each came from), ``no_noise`` (features
        whose std is 0: constant where it came from), ``std_note`` (which came from the evaluation data and
        why, which got no noise; empty when all came from the reference and none is 0), ``numeric_features``.
    """
    from dataclasses import replace

    X = frame[runner.features]
    numeric, _ = split_features(X, runner.features)
    if not numeric:
        raise ValueError("the model has no numeric features to add noise to")
    if stds is None:  # per feature: the reference's std where it has one, else the evaluation data's (said so)
        stds, sources, note = noise_scales(frame, reference, numeric)
    else:
        stds = {c: float(stds[c]) if c in stds and stds[c] is not None else float("nan") for c in numeric}
        sources = {c: (std_sources or {}).get(c, "given") for c in numeric}
        why: dict[str, list[str]] = dict(std_why or {})
        if not why:
            for c in numeric:
                if sources[c] == EVAL:
                    why.setdefault("not from the reference data", []).append(c)
        note = std_note(stds, sources, why)
    bad = [c for c, v in stds.items() if not np.isfinite(v)]
    if bad:
        raise ValueError(f"no standard deviation for {bad} (fewer than 2 values): the noise has no scale")
    rng = np.random.default_rng(seed)
    clean = np.asarray(runner(X), dtype=float)
    if not np.isfinite(clean).all():
        raise ValueError("the model returns scores that are not finite on the clean evaluation rows")
    out: dict[str, Any] = {"numeric_features": numeric, "stds": stds, "std_sources": sources,
                           "no_noise": [c for c, v in stds.items() if v == 0], "std_note": note, "scale": scale,
                           "repeats": repeats, "seed": seed, "noisy": [], "flip_rates": []}
    from gatekit.core.errors import NotComputable

    if metric is not None and data is not None:
        try:
            out["clean"] = metric.spec.fn(replace(data, y_score=clean, y_pred=None, cache={}),
                                          **metric.name_params).value
        except NotComputable as exc:  # only the metric rule is affected; the flip rate still stands
            out["metric_error"] = exc.reason
    scored = metric if "clean" in out else None  # the metric, when it has a clean value to compare with
    for _ in range(repeats):
        P = X.copy()
        for c in numeric:
            P[c] = P[c].astype(float) + rng.normal(0.0, scale * stds[c], len(P))
        s = np.asarray(runner(P), dtype=float)
        if not np.isfinite(s).all():
            raise ValueError(f"{int((~np.isfinite(s)).sum())} scores are not finite under noise: the model breaks "
                             "on slightly perturbed inputs")
        if runner.task == "classification":
            out["flip_rates"].append(float(np.mean((s >= threshold) != (clean >= threshold))))
        if scored is not None:
            noisy = replace(data, y_score=np.asarray(s, dtype=float), y_pred=None, cache={})
            out["noisy"].append(scored.spec.fn(noisy, **scored.name_params).value)
    if out["flip_rates"]:
        out["flip_rate"] = float(np.mean(out["flip_rates"]))
    if scored is not None:
        mean_noisy = float(np.mean(out["noisy"]))
        better_high = scored.spec.higher_is_better is not False
        out["degradation"] = (out["clean"] - mean_noisy) if better_high else (mean_noisy - out["clean"])
        out["metric"] = scored.canonical
    return out
