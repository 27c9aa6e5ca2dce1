"""Helpers of the drift tests: a drift run on two frames, and PSI written out with plain loops."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import gatekit

# label leakage
EPS = 1e-4  # gatekit's default PSI smoothing (checked against details["smoothing"] where it matters)
NO_HTML = {"evidently_report": False}


def frames(folder: Path, ref: pd.DataFrame, cur: pd.DataFrame, tag: str = "") -> tuple[Path, Path]:
    """Write reference and current frames as CSV; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    r, c = folder / f"ref{tag}.csv", folder / f"cur{tag}.csv"
    ref.to_csv(r, index=False)
    cur.to_csv(c, index=False)
    return r, c


def run_drift(folder: Path, ref: pd.DataFrame, cur: pd.DataFrame, drift: dict[str, Any],
              rules: list[dict[str, Any]] | None = None, **kw: Any) -> Any:
    """Run a policy with this ``drift:`` section (and ``metrics:`` rules) on the two frames."""
    r, c = frames(folder, ref, cur)
    pol: dict[str, Any] = {"version": 1, "drift": drift}
    if rules:
        pol["metrics"] = rules
    return gatekit.run(pol, data=c, reference=r, **kw)


def psi_sum(ref_counts: list[int], cur_counts: list[int], eps: float) -> float:
    """Textbook PSI with an empty share replaced by ``eps``, one bin at a time."""
    n_r, n_c = sum(ref_counts), sum(cur_counts)
    total = 0.0
    for rc, cc in zip(ref_counts, cur_counts, strict=True):
        r = rc / n_r if rc else eps
        c = cc / n_c if cc else eps
        total += (c - r) * math.log(c / r)
    return total


def quantile_bins(ref: list[float], bins: int = 10) -> list[float]:
    return np.unique(np.quantile(np.asarray(ref, dtype=float), [i / bins for i in range(1, bins)])).tolist()


def bin_counts(values: list[float], edges: list[float]) -> list[int]:
    """Counts in (-inf, e1), [e1, e2), ..., [em, inf), assigned one value at a time."""
    counts = [0] * (len(edges) + 1)
    for v in values:
        i = 0
        for e in edges:
            if v >= e:
                i += 1
        counts[i] += 1
    return counts


def independent_numerical_psi(ref: list[float], cur: list[float], eps: float = EPS) -> tuple[float, list[float],
                                                                                             list[int], list[int]]:
    edges = quantile_bins(ref)
    rc, cc = bin_counts(ref, edges), bin_counts(cur, edges)
    return psi_sum(rc, cc, eps), edges, rc, cc


def independent_categorical_psi(ref: list[Any], cur: list[Any], eps: float = EPS) -> float:
    cats = sorted(set(ref) | set(cur), key=str)
    rc = [sum(1 for v in ref if v == k) for k in cats]
    cc = [sum(1 for v in cur if v == k) for k in cats]
    return psi_sum(rc, cc, eps)
