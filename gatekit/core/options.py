"""Options of one run that change how figures are computed, never what they are."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunOptions:
    """How a run computes its figures.

    Parameters
    ----------
    reference_paths : bool
        Compute every figure through the libraries' plain paths instead of gatekit's faster ones (Great
        Expectations on the whole frame in one batch, PSI with numpy's ``unique`` and a bin index per
        value, the report's ROC curve through scikit-learn's checked ``roc_curve``). Each fast path gives
        the same values; this switch exists so ``benchmarks/compare.py`` and the tests can prove it.
        Default False.
    """

    reference_paths: bool = False
