"""Tests of :mod:`gatekit.policy.specs.artifact`: the ``artifact:`` section's rules."""

from __future__ import annotations

import pytest

from gatekit.core.errors import PolicyError
from gatekit.policy.loader import load_policy


def test_policy_validation() -> None:
    with pytest.raises(PolicyError, match="production_file or production_version"):
        load_policy({"version": 1, "artifact": {"metadata": {"file": "c.yaml", "greater_than_production": True}}})
    with pytest.raises(PolicyError, match="sha256"):
        load_policy({"version": 1, "artifact": {"sha256": "xyz"}})
