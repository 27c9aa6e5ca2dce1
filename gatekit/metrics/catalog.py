"""The built-in metric catalog: every metric name a policy may use, with its definition and label.

:func:`default_registry` builds a fresh :class:`~gatekit.metrics.registry.MetricRegistry` from the metric
modules (classification, regression, fairness, shadow) and the observed-only operational and drift
names; the registry module itself imports none of them, so the metric modules depend on it, not it on them.
"""

from __future__ import annotations

from dataclasses import replace

from gatekit.metrics import calibration, classification, fairness, multiclass, regression, shadow
from gatekit.metrics.registry import MetricRegistry, MetricSpec


def default_registry() -> MetricRegistry:
    """Build a registry holding gatekit's built-in metrics.

    Returns
    -------
    MetricRegistry
        Classification (``roc_auc``, ``pr_auc``, ``accuracy``, ``log_loss``, ``brier_score``,
        ``precision_at_T``, ``recall_at_T``, ``f1_at_T``), calibration (``expected_calibration_error``,
        ``max_calibration_error``), multiclass (``balanced_accuracy``,
        ``precision|recall|f1_macro|micro|weighted``, ``roc_auc_ovr``, ``roc_auc_ovr_weighted``, ``roc_auc_ovo``,
        ``roc_auc_ovo_weighted``, per-class ``precision|recall|f1[class=<label>]``; ``accuracy`` and
        ``log_loss`` take multiclass targets too), regression (``rmse``, ``mae``, ``r2``,
        ``mape``, ``smape``, ``wape``, ``mase``, ``pinball_loss_at_T``, ``interval_coverage_at_T``),
        fairness (``demographic_parity_difference``, ``disparate_impact_ratio``,
        ``equal_opportunity_difference``, ``equalized_odds_difference``), shadow comparisons with the
        production model (``prediction_agreement_rate``, ``mean_score_difference``,
        ``abs_score_difference_p95``, ``score_distribution_ks``) and observed-only
        operational / drift names (``latency_mean_ms``, ``latency_p50_ms``, ``latency_p95_ms``, ``latency_p99_ms``,
        ``psi_feature_drift``, ``drift_share``).
    """
    reg = MetricRegistry()
    either = {"accuracy": multiclass.accuracy, "log_loss": multiclass.log_loss}  # one name, binary or multiclass
    for spec in (*classification.SPECS, *calibration.SPECS, *multiclass.SPECS, *regression.SPECS, *fairness.SPECS,
                 *shadow.SPECS, *_observed_only_specs()):
        if spec.name in either:
            spec = replace(spec, fn=multiclass.for_multiclass(spec.fn, either[spec.name]))
        reg.register(replace(spec, label=spec.label or LABELS.get(spec.name, "")))
    return reg


LABELS = {
    "roc_auc": "Ranking quality (ROC AUC: 0.5 is chance, 1 is perfect)",
    "pr_auc": "Precision-recall quality (average precision)",
    "accuracy": "Share of correct predictions",
    "log_loss": "Probability error (log loss; lower is better)",
    "brier_score": "Probability error (Brier score; lower is better)",
    "precision_at_T": "Of the cases flagged positive, share that really are",
    "recall_at_T": "Of the real positive cases, share that are flagged",
    "f1_at_T": "Balance of precision and recall (F1)",
    "expected_calibration_error": "Gap between stated probabilities and observed rates (ECE; lower is better)",
    "max_calibration_error": "Largest gap between a stated probability and its observed rate (MCE)",
    "balanced_accuracy": "Average over classes of the share of each class caught",
    "precision_macro": "Of the cases given a class, share that really are (average over classes)",
    "precision_micro": "Of the cases given a class, share that really are (pooled over classes)",
    "precision_weighted": "Of the cases given a class, share that really are (classes weighted by size)",
    "recall_macro": "Share of each class that is recognised (average over classes)",
    "recall_micro": "Share of the cases whose class is recognised (pooled over classes)",
    "recall_weighted": "Share of each class that is recognised (classes weighted by size)",
    "f1_macro": "Balance of precision and recall (F1, average over classes)",
    "f1_micro": "Balance of precision and recall (F1, pooled over classes)",
    "f1_weighted": "Balance of precision and recall (F1, classes weighted by size)",
    "roc_auc_ovr": "Ranking quality, each class against the rest (ROC AUC, average over classes)",
    "roc_auc_ovr_weighted": "Ranking quality, each class against the rest (ROC AUC, classes weighted by size)",
    "roc_auc_ovo": "Ranking quality, each pair of classes (ROC AUC, average over pairs)",
    "roc_auc_ovo_weighted": "Ranking quality, each pair of classes (ROC AUC, pairs weighted by size)",
    "precision[class]": "Of the cases given this class, share that really are",
    "recall[class]": "Of the cases of this class, share that are recognised",
    "f1[class]": "Balance of precision and recall for this class (F1)",
    "rmse": "Typical error size (RMSE, in the target's unit)",
    "mae": "Average error size (MAE, in the target's unit)",
    "r2": "Share of variation explained (R²)",
    "mape": "Average error in percent of the actual value (MAPE)",
    "smape": "Average error in percent, symmetric (sMAPE)",
    "wape": "Total error in percent of the total actual (WAPE)",
    "mase": "Error relative to the naive forecast on the training data (MASE; below 1 beats it)",
    "pinball_loss_at_T": "Quantile forecast error (pinball loss, in the target's unit)",
    "interval_coverage_at_T": "Share of actual values inside the prediction interval",
    "demographic_parity_difference": "Gap in positive-prediction rates between groups",
    "disparate_impact_ratio": "Lowest group's positive-prediction rate as a share of the highest's (four-fifths rule)",
    "equal_opportunity_difference": "Gap between groups in how many real positives are caught",
    "equalized_odds_difference": "Largest gap between groups in caught positives or false alarms",
    "latency_mean_ms": "Average served response time (mean, ms)",
    "latency_p50_ms": "Typical response time (median, ms)",
    "latency_p95_ms": "Slow-request response time (95th percentile, ms)",
    "latency_p99_ms": "Slowest-request response time (99th percentile, ms)",
    "batch_time_s": "Time to score a batch (s)",
    "throughput_rows_per_s": "Rows scored per second",
    "peak_memory_mb": "Extra memory while scoring (MB)",
    "psi_feature_drift": "Largest shift in an input's distribution (PSI)",
    "drift_share": "Share of inputs whose distribution shifted",
}


def _observed_only_specs() -> tuple[MetricSpec, ...]:
    """Metric names the policy may use today with values from a metrics file."""
    measured = ("Measured by running the model artifact on the evaluation rows (operational: section), else read "
                "from the metrics file; under canary:, computed per arm from the log's latency column (canary.latency)")
    return (
        # "performance", not "operational": the operational section measures only the percentiles and batch figures
        # (gatekit.model.serving.value), so an operational latency_mean_ms would be asked of it and not found
        MetricSpec("latency_mean_ms", "performance", "ms",
                   "Mean served latency: computed per arm from a canary log's latency column (canary.latency; "
                   "gatekit.metrics.latency), else read from the metrics file.", higher_is_better=False,
                   bounds=(0, None)),
        MetricSpec("latency_p50_ms", "operational", "ms", f"Median single-row latency. {measured}.",
                   higher_is_better=False, bounds=(0, None)),
        MetricSpec("latency_p95_ms", "operational", "ms", f"95th percentile single-row latency. {measured}.",
                   higher_is_better=False, bounds=(0, None)),
        MetricSpec("latency_p99_ms", "operational", "ms", f"99th percentile single-row latency. {measured}.",
                   higher_is_better=False, bounds=(0, None)),
        MetricSpec("batch_time_s", "operational", "s", f"Time to score the configured batch. {measured}.",
                   higher_is_better=False, bounds=(0, None)),
        MetricSpec("throughput_rows_per_s", "operational", "rows/s", f"Batch rows scored per second. {measured}.",
                   higher_is_better=True, bounds=(0, None)),
        MetricSpec("peak_memory_mb", "operational", "MB", f"Rise of peak memory while scoring the batch. {measured}.",
                   higher_is_better=False, bounds=(0, None)),
        MetricSpec("psi_feature_drift", "drift", "index",
                   "Population stability index, max over features (and which feature). Computed from the "
                   "reference and current data (the drift section's definition), else read from the metrics file.",
                   higher_is_better=False, bounds=(0, None)),
        MetricSpec("drift_share", "drift", "fraction",
                   "Share of features whose drift rule failed. Computed from the reference and current data, else "
                   "read from the metrics file.", higher_is_better=False, bounds=(0, 1)),
    )
