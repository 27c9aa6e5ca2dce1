"""Net benefit of decision-curve analysis, a custom gatekit metric.

Vickers AJ, Elkin EB. Decision curve analysis: a novel method for evaluating prediction models. Medical
Decision Making 26(6):565-574, 2006. https://doi.org/10.1177/0272989X06295361

A model is used by acting on (treating, reviewing, declining, ...) every case whose predicted probability
reaches a threshold probability ``pt``. Choosing ``pt`` says how many false positives one true positive is
worth: at ``pt`` one is indifferent between acting and not, so a false positive costs ``pt / (1 - pt)`` true
positives. The net benefit of acting on the model's flags is then

    NB(pt) = TP / n - FP / n * pt / (1 - pt)

in true positives per case, where TP and FP count the flagged cases (``score >= pt``) that are and are not
positive, and n counts all cases. Acting on nobody has NB = 0 and acting on everybody has
NB = prevalence - (1 - prevalence) * pt / (1 - pt): a model is worth using at ``pt`` only where its net benefit
beats both. scikit-learn has no net benefit; this file adds it to the policies that load this folder:

    custom_metrics:
      metrics_dir: ../examples/custom_metrics     # relative to the policy file
    metrics:
      - {name: net_benefit, params: {threshold_probability: 0.2}, op: ">", value: 0}
"""

from __future__ import annotations

import numpy as np

import gatekit


def probability(value: object) -> float:
    """Check a threshold probability: a number strictly between 0 and 1 (at 1 a false positive costs infinitely)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"a threshold probability is a number, not {type(value).__name__}")
    if not 0.0 < float(value) < 1.0:
        raise ValueError(f"a threshold probability lies strictly between 0 and 1, not {value}")
    return float(value)


@gatekit.metric(
    name="net_benefit",
    inputs=("y_true", "y_score"),
    tasks="classification",
    direction="higher",
    unit="true positives per case",
    label="Net benefit of acting on the model's flags (decision curve)",
    description="Net benefit TP/n - FP/n * pt/(1-pt) of acting on the cases with score >= pt (decision-curve "
                "analysis, Vickers & Elkin 2006); 0 is acting on nobody.",
    params={"threshold_probability": probability},
    bounds=(None, 1.0),
)
def net_benefit(y_true: np.ndarray, y_score: np.ndarray, *, threshold_probability: float,
                sample_weight: np.ndarray | None = None) -> float:
    """Net benefit at threshold probability ``pt`` (Vickers & Elkin 2006).

    Parameters
    ----------
    y_true : ndarray of shape (n_samples,)
        0/1 target, 1 the positive class.
    y_score : ndarray of shape (n_samples,)
        Predicted probability of the positive class, in [0, 1].
    threshold_probability : float
        ``pt`` in (0, 1): the cases with ``y_score >= pt`` are acted on.
    sample_weight : ndarray of shape (n_samples,), optional
        How many cases each row stands for (gatekit passes the row counts on the DuckDB and Spark engines).

    Returns
    -------
    float
        ``TP/n - FP/n * pt/(1-pt)``, in true positives per case; at most the prevalence.

    Raises
    ------
    ValueError
        No cases, or a score outside [0, 1] (not a probability, so ``pt`` means nothing for it).
    """
    pt = threshold_probability
    w = np.ones(len(y_true)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    n = w.sum()
    if n <= 0:
        raise ValueError("no cases to compute a net benefit on")
    if np.min(y_score) < 0 or np.max(y_score) > 1:
        raise ValueError(f"scores must be probabilities in [0, 1]; they range {np.min(y_score):.4g} to "
                         f"{np.max(y_score):.4g}")
    flagged = y_score >= pt
    tp = w[flagged & (y_true == 1)].sum()
    fp = w[flagged & (y_true == 0)].sum()
    return float(tp / n - fp / n * pt / (1 - pt))
