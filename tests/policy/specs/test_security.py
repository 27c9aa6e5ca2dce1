"""Tests of :mod:`gatekit.policy.specs.security`."""

from __future__ import annotations

import pytest

from gatekit.core.errors import PolicyError
from gatekit.policy.loader import load_policy


def test_policy_validation() -> None:
    with pytest.raises(PolicyError, match="allow list"):
        load_policy({"version": 1, "security": {"licenses": {}}})
    with pytest.raises(PolicyError, match="no module"):
        load_policy({"version": 1, "security": {"pii": {"national_ids": ["zz.nope"]}}})
    with pytest.raises(PolicyError, match="kinds"):
        load_policy({"version": 1, "security": {"pii": {"kinds": ["ssn"]}}})
