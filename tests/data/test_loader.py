"""Tests of :mod:`gatekit.data.loader`: loading a run's inputs."""

from __future__ import annotations

import pandas as pd
import pytest

import gatekit
from gatekit.core.errors import InputError
from tests.data.helpers import _policy


def test_missing_target_values_are_never_dropped(tmp_path) -> None:
    path = tmp_path / "d.csv"
    pd.DataFrame({"y": [1, 0, None, 1], "s": [0.9, 0.1, 0.5, 0.8]}).to_csv(path, index=False)
    with pytest.raises(InputError) as exc:
        gatekit.run(_policy(tmp_path), data=path, target="y", score="s")
    assert "1 rows have no target value" in str(exc.value)
    assert "[4]" in str(exc.value)  # file line 4 (header is line 1)


def test_nothing_to_evaluate_is_an_input_error(tmp_path) -> None:
    with pytest.raises(InputError, match="nothing to evaluate"):
        gatekit.run(_policy(tmp_path))


def test_sensitive_column_named_by_a_rule_is_loaded(tmp_path) -> None:
    path = tmp_path / "d.csv"
    # group a: predictions (score >= 0.5) 1,1,0 -> rate 2/3; group b: 0,0,1 -> 1/3; difference 1/3 by hand
    pd.DataFrame({"y": [1, 0, 1, 0, 1, 0], "s": [0.9, 0.6, 0.2, 0.1, 0.3, 0.7],
                  "g": ["a", "a", "a", "b", "b", "b"]}).to_csv(path, index=False)
    p = tmp_path / "p.yaml"
    p.write_text("version: 1\nmetrics:\n"
                 "  - {name: demographic_parity_difference, op: '<=', value: 0.5, params: {sensitive: g}}\n")
    r = gatekit.run(p, data=path, target="y", score="s")
    assert r.checks[0].observed == pytest.approx(1 / 3)
