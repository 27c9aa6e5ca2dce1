"""Tests of :mod:`gatekit.policy.specs.drift`: drift settings refused before any input is read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import gatekit
from gatekit.core.errors import PolicyError


@pytest.mark.parametrize(("drift", "match"), [
    ({"numerical": {"method": "chisquare"}}, "chisquare does not apply to numerical columns"),
    ({"categorical": {"method": "ks"}}, "ks does not apply to categorical columns"),
    ({"categorical": {"method": "wasserstein"}}, "wasserstein does not apply to categorical columns"),
    ({"numerical_features": ["a", "b"], "categorical_features": ["b"]}, "b are listed as both"),
])
def test_policy_errors(drift: dict[str, Any], match: str) -> None:
    with pytest.raises(PolicyError, match=match):  # refused before any input is read
        gatekit.run({"version": 1, "drift": drift}, data="unused.csv")


def test_a_type_default_that_does_not_fit_is_reported_at_its_line(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\ndrift:\n  on_fail: warn\n  categorical: {method: wasserstein}\n"
                      "  numerical: {method: chisquare}\n")
    with pytest.raises(PolicyError) as err:
        gatekit.run(policy)
    lines = sorted(p.line for p in err.value.problems)
    assert lines == [4, 5]


def test_repeated_features_are_refused() -> None:
    with pytest.raises(PolicyError, match="listed more than once"):
        gatekit.run({"version": 1, "drift": {"features": ["a", "a", "b"]}})
