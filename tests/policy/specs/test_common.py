"""Tests of :mod:`gatekit.policy.specs.common`: alert settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import _cli
from tests.history.helpers import _policy


@pytest.mark.parametrize(("alert", "match"), [
    ("{after: 5, within: 3}", "cannot exceed"),
    ("{after: 0, within: 3}", "alert.after"),
    ("{after: 1, within: 1001}", "alert.within"),
    ("{after: 3}", "within"),
    ("{after: 1.5, within: 2}", "alert.after"),
    ("{after: 1, within: 5, extra: 1}", "extra"),
])
def test_bad_alert_settings_are_refused_with_the_line(tmp_path: Path, alert: str, match: str) -> None:
    p = _policy(tmp_path, f'version: 1\nname: al\nmetrics:\n  - {{name: auc_roc, op: ">=", value: 0.8, '
                          f'alert: {alert}}}\n')
    res = _cli("validate", p)
    assert res.exit_code == 2 and "policy.yaml:4:" in res.output and match in res.output
