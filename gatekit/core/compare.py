"""The one comparison of an observed value with a threshold, shared by every rule and gate expression."""

from __future__ import annotations

import math

OPS = (">=", ">", "<=", "<", "==", "!=")
"""The comparison operators a rule may use."""

REL_TOL, ABS_TOL = 1e-9, 1e-12
"""Values within ``math.isclose(rel_tol=REL_TOL, abs_tol=ABS_TOL)`` of a threshold compare equal to it."""


def tolerance(threshold: float) -> float:
    """Return the half-width of the band around ``threshold`` that :func:`compare` counts as equal to it.

    ``max(ABS_TOL, REL_TOL * |threshold|)``: the :func:`math.isclose` band for values near the threshold.
    """
    return max(ABS_TOL, REL_TOL * abs(threshold))


def compare(observed: float, op: str, threshold: float) -> bool:
    """Apply ``observed OP threshold``, with values within floating-point noise of the threshold equal to it.

    "Equal" means :func:`math.isclose` with ``rel_tol=1e-9, abs_tol=1e-12``: a difference of rates such
    as 0.07 - 0.05 = 0.020000000000000018 meets ``<= 0.02``, and a value that went through decimal text
    compares equal to its literal. So ``>=`` / ``<=`` include the near-equal band and ``>`` / ``<``
    exclude it; no real difference in a model is that small.

    Raises
    ------
    ValueError
        If ``op`` is not one of :data:`OPS`.
    """
    if op not in OPS:
        raise ValueError(f"unknown operator {op!r}")
    if math.isnan(observed) or math.isnan(threshold):
        return False  # fail closed: NaN meets no rule, not even !=
    equal = math.isclose(observed, threshold, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    if op == ">=":
        return equal or observed > threshold
    if op == ">":
        return not equal and observed > threshold
    if op == "<=":
        return equal or observed < threshold
    if op == "<":
        return not equal and observed < threshold
    if op == "==":
        return equal
    if op == "!=":
        return not equal
    raise ValueError(f"unknown operator {op!r}")
