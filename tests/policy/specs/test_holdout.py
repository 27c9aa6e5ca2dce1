"""Tests of :mod:`gatekit.policy.specs.holdout`: the ``holdout:`` key (the test-set reuse budget)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gatekit.core.errors import PolicyError
from gatekit.core.results import OnFail
from gatekit.policy.loader import load_policy
from gatekit.policy.specs.holdout import HoldoutSpec
from gatekit.policy.specs.policy import META_FIELDS
from gatekit.sections.registry import default_sections

RULE = [{"name": "auc_roc", "op": ">=", "value": 0.8}]


def _load(holdout: Any) -> HoldoutSpec | None:
    return load_policy({"version": 1, "holdout": holdout, "metrics": RULE}).policy.holdout


def test_a_budget_warns_by_default_and_names_no_model() -> None:
    spec = _load({"budget": 20})
    assert spec == HoldoutSpec(budget=20) and spec is not None
    assert spec.on_fail == OnFail.WARN and spec.model is None
    assert _load({"budget": 1, "on_fail": "block", "model": "churn"}) == HoldoutSpec(budget=1, on_fail=OnFail.BLOCK,
                                                                                     model="churn")


@pytest.mark.parametrize(("holdout", "says"), [
    ({"budget": 0}, "greater than or equal to 1"),
    ({"budget": 2.5}, "valid integer"),
    ({"budget": "20"}, "valid integer"),
    ({}, "budget"),
    ({"budget": 3, "on_fail": "stop"}, "on_fail must be 'block' or 'warn'"),
    ({"budget": 3, "model": ""}, "at least 1 character"),
    ({"budget": 3, "model": "a\nb"}, "pattern"),
    ({"budget": 3, "budjet": 4}, "budjet"),
])
def test_a_bad_budget_is_refused_with_its_place(holdout: dict[str, Any], says: str, tmp_path: Path) -> None:
    import yaml

    policy = tmp_path / "p.yaml"
    policy.write_text(yaml.safe_dump({"version": 1, "holdout": holdout, "metrics": RULE}), encoding="utf-8")
    with pytest.raises(PolicyError) as exc:
        load_policy(policy)
    text = str(exc.value)
    assert says in text and "holdout" in text and "p.yaml:" in text


def test_holdout_is_a_setting_of_the_run_not_a_section() -> None:
    assert "holdout" in META_FIELDS
    assert default_sections().problems() == []
    lp = load_policy({"version": 1, "holdout": {"budget": 5}, "metrics": RULE})
    assert "holdout" not in lp.policy.rule_counts()
