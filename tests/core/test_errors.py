"""Tests of :mod:`gatekit.core.errors`."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekit.core.errors import PolicyError
from gatekit.policy import load_policy
from tests.helpers import write_policy as write


def test_policy_error_str_lists_every_problem(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        metrics:
          - name: auc_roc
            op: "=>"
            value: 0.9
          - name: fairness_demographic_parity_dif
            op: "<="
            value: 0.1
    """)
    with pytest.raises(PolicyError) as info:
        load_policy(p)
    text = str(info.value)
    assert f"{p}:4" in text
    assert f"{p}:6" in text
