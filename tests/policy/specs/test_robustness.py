"""Tests of :mod:`gatekit.policy.specs.robustness`."""

from __future__ import annotations

import pytest

from gatekit.core.errors import PolicyError
from gatekit.policy.loader import load_policy


def test_policy_validation() -> None:
    with pytest.raises(PolicyError, match="max_metric_drop, max_flip_rate"):
        load_policy({"version": 1, "robustness": {"noise": {"scale": 0.1}}})
    with pytest.raises(PolicyError, match="not a performance metric"):
        load_policy({"version": 1, "robustness": {"noise": {"metric": "latency_p95_ms", "max_metric_drop": 1}}})
    with pytest.raises(PolicyError, match="cases"):
        load_policy({"version": 1, "robustness": {"out_of_range": {"cases": ["gibberish"]}}})
