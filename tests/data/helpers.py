"""Helpers of the tests of inputs and labels: small policies and a frame with an unfair predictor."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


# the HMDA evaluation data
def _policy(tmp_path: Path, body: str = "") -> Path:
    p = tmp_path / "policy.yaml"
    p.write_text("version: 1\nmetrics:\n  - {name: auc_roc, op: '>=', value: 0.5}\n" + body)
    return p


# policies of metric rules and an unfair predictor
def _rules_file(tmp_path: Path, rules: str) -> Path:
    p = tmp_path / "p.yaml"
    p.write_text("version: 1\nmetrics:\n" + rules)
    return p


DPD = "  - {name: demographic_parity_difference, op: '<=', value: 0.1}\n"


def _unfair(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    g = np.array(["a"] * (n // 2) + ["b"] * (n // 2))
    p = np.where(g == "a", rng.random(n) < 0.8, rng.random(n) < 0.2).astype(int)
    y = rng.integers(0, 2, n)
    return pd.DataFrame({"y": y, "p": p, "g": g})
