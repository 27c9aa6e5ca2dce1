"""Tests of :mod:`gatekit.data.metrics_file`: observed metric values read from JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import gatekit
from gatekit.core.errors import InputError
from gatekit.core.results import Decision, Status
from tests.core.helpers import by_name
from tests.data.helpers import _policy
from tests.helpers import POLICIES
from tests.helpers import write_json as metrics_file
from tests.sections.helpers import LATENCY_POLICY, _policy_file


def test_null_in_metrics_file_is_not_computable(tmp_path: Path) -> None:
    m = metrics_file(tmp_path, {"mape": None, "smape": 10.0, "latency_p95_ms": 100})
    report = gatekit.run(POLICIES / "seed_example_2.yaml", metrics=m)
    assert by_name(report)["mape"].status == Status.NOT_COMPUTABLE
    assert report.decision == Decision.BLOCK  # strict: a block rule that is not a pass blocks


def test_metrics_file_errors_name_file_line_and_key(tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "auc_roc": 0.9,\n  "x": \n}')
    with pytest.raises(InputError) as exc:
        gatekit.run(_policy(tmp_path), metrics=bad)
    assert exc.value.problems[0].line == 4 and exc.value.problems[0].file == str(bad)

    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"auc_roc": "0.9"}))
    with pytest.raises(InputError, match="'auc_roc' must be a number"):
        gatekit.run(_policy(tmp_path), metrics=wrong)

    both = tmp_path / "both.json"
    both.write_text(json.dumps({"auc_roc": 0.9, "roc_auc": 0.8}))
    with pytest.raises(InputError, match="name the same metric"):
        gatekit.run(_policy(tmp_path), metrics=both)


def test_metrics_file_null_is_not_computable_and_unknown_names_are_listed(tmp_path) -> None:
    m = tmp_path / "m.json"
    m.write_text(json.dumps({"auc_roc": None, "my_custom_kpi": 3}))
    r = gatekit.run(_policy(tmp_path), metrics=m)
    assert r.checks[0].status.value == "not_computable"
    assert r.metadata["inputs"]["unused_metrics_in_file"] == ["my_custom_kpi"]


@pytest.mark.parametrize(("name", "value"), [("precision_at_0_5", 1.5), ("demographic_parity_difference", -0.1),
                                             ("smape", 250.0), ("auc_roc", 91.0)])
def test_metrics_file_value_outside_the_metric_range_is_refused(tmp_path: Path, name: str, value: float) -> None:
    p = tmp_path / "p.yaml"
    p.write_text(f"version: 1\nmetrics:\n  - {{name: {name}, op: '<=', value: 1000}}\n")
    m = tmp_path / "m.json"
    m.write_text(json.dumps({name: value}))
    with pytest.raises(InputError, match="outside the range"):
        gatekit.run(p, metrics=m)


def test_bad_baseline_metrics_file_is_an_input_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text('{"latency_p95_ms": 40}')
    pol = _policy_file(tmp_path, LATENCY_POLICY)
    for content, expected in [('{"latency_p95_ms": 30, "latency_p95_ms": 10}', "duplicate key"),
                              ('{"latency_p95_ms": "30"}', "must be a number or null"),
                              ('{"latency_p95_ms": -5}', "outside the range"),
                              ('{"latency_p95_ms": true}', "must be a number or null"),
                              ('{"auc_roc": 1.5}', "a fraction, not percent")]:
        (tmp_path / "b.json").write_text(content)
        with pytest.raises(InputError, match=expected) as err:
            gatekit.run(pol)
        assert "b.json" in str(err.value)
