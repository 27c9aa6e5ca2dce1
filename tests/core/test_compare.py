"""Tests of :mod:`gatekit.core.compare`: the one comparison of an observed value with a threshold."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import gatekit
from gatekit.core.compare import compare

# --------------------------------------------------------------------------------------------------
# compare()
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("observed", "op", "threshold", "expected"),
    [
        (0.91, ">=", 0.90, True), (0.90, ">=", 0.90, True), (0.89, ">=", 0.90, False),
        (0.91, ">", 0.90, True), (0.90, ">", 0.90, False), (0.89, ">", 0.90, False),
        (0.09, "<=", 0.10, True), (0.10, "<=", 0.10, True), (0.11, "<=", 0.10, False),
        (0.09, "<", 0.10, True), (0.10, "<", 0.10, False), (0.11, "<", 0.10, False),
        (3.0, "==", 3.0, True), (3.0, "==", 3.1, False),
        (3.0, "!=", 3.1, True), (3.0, "!=", 3.0, False),
        (-1.0, "<", 0.0, True), (130.0, "<=", 120.0, False),
    ],
)
def test_compare_truth_table(observed: float, op: str, threshold: float, expected: bool) -> None:
    assert compare(observed, op, threshold) is expected


def test_equality_is_tolerant_of_float_rounding() -> None:
    assert 0.1 + 0.2 != 0.3  # the premise: exact equality would fail
    assert compare(0.1 + 0.2, "==", 0.3) is True
    assert compare(0.1 + 0.2, "!=", 0.3) is False
    # ... but not sloppy
    assert compare(1.0, "==", 1.000001) is False
    assert compare(1.0, "!=", 1.000001) is True


@pytest.mark.parametrize("op", ["=>", "=", "<>", "", "ge"])
def test_compare_rejects_unknown_operator(op: str) -> None:
    with pytest.raises(ValueError):
        compare(1.0, op, 1.0)


def test_floating_point_noise_at_the_threshold_is_equality(tmp_path: Path) -> None:
    # selection rates 0.07 and 0.05: 0.07 - 0.05 = 0.020000000000000018 in binary floating point
    n_a, n_b = 100, 100
    y = [1] * 50 + [0] * 50 + [1] * 50 + [0] * 50
    s = [0.9] * 7 + [0.1] * 93 + [0.9] * 5 + [0.1] * 95
    g = ["a"] * n_a + ["b"] * n_b
    pd.DataFrame({"y": y, "s": s, "g": g}).to_csv(tmp_path / "d.csv", index=False)
    pol = tmp_path / "p.yaml"
    pol.write_text("version: 1\nmetrics:\n  - {name: demographic_parity_difference, op: '<=', value: 0.02}\n")
    report = gatekit.run(pol, data=tmp_path / "d.csv", target="y", score="s", sensitive=["g"])
    assert report.checks[0].observed == 0.07 - 0.05 != 0.02
    assert report.checks[0].status.value == "pass"
