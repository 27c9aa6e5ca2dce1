"""What the drift section's modules share: the planned features, the outcome, method labels and limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gatekit.core.results import CheckResult, OnFail

SECTION = "drift"
SKIPPED_SHOWN = 50
"""At most this many left-out columns are named in each drift check's details (all are in the section's info)."""
EVIDENTLY_REPORT_MAX_ROWS = 200_000
METHOD_LABEL = {"psi": "PSI", "jensenshannon": "Jensen-Shannon distance", "wasserstein": "Wasserstein distance "
                "(normed)", "ks": "KS p-value", "chisquare": "chi-square p-value"}


@dataclass
class Feature:
    """One feature to compare: its kind, method, threshold and severity, or why it cannot be compared."""

    name: str
    kind: str | None
    method: str
    threshold: float
    on_fail: OnFail
    engine: str  # "gatekit" or "evidently"
    problem: str | None = None  # why it cannot be compared (decided before computing)
    n_ref: int = 0  # non-missing values on each side (counted once: a text column's isna costs a pass)
    n_cur: int = 0


@dataclass
class DriftOutcome:
    """Everything the drift computation found (shared by the section and the drift metric names).

    Parameters
    ----------
    checks : list of CheckResult
        One per feature (and per leakage-scanned feature).
    psi : dict of str to float
        PSI per feature in the section's definition (for ``psi_feature_drift``).
    psi_missing : dict of str to str
        Features whose PSI could not be computed, and why.
    drifted, compared : int
        Features that failed their rule, and features with a result (for ``drift_share``).
    unavailable : str or None
        Why nothing could be compared (no reference or no current data).
    not_compared : dict of str to str
        Features that could not be compared, and why (the aggregates fail closed on them).
    skipped : dict of str to str
        Columns of the data left out of the default features, and why (an output role such as the score, or
        not one of the model's features): listed, never silently dropped; the aggregates do not need them.
    features_from : str or None
        Where the default features came from ("the model's features" or "every column of the data"); None
        when ``drift.features`` names them.
    info : dict
        The definitions used, for the report's metadata.
    evidently_html : callable or None
        Renders evidently's own HTML report.
    outputs : list of CheckResult
        The prediction- and label-drift checks (:mod:`gatekit.sections.drift_outputs`); apart from ``checks``
        so the feature aggregates (``psi_feature_drift``, ``drift_share``) never count them.
    """

    checks: list[CheckResult] = field(default_factory=list)
    psi: dict[str, float] = field(default_factory=dict)
    psi_missing: dict[str, str] = field(default_factory=dict)
    drifted: int = 0
    compared: int = 0
    not_compared: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    features_from: str | None = None
    unavailable: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    evidently_html: Any = None
    outputs: list[CheckResult] = field(default_factory=list)
    reference_rows: Any = None
    """The reference rows while the drift is computed (a DataFrame or an ibis table); None afterwards."""
