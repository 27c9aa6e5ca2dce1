"""Tests of :mod:`gatekit.policy.specs.compatibility`."""

from __future__ import annotations


def test_compatible_is_backward_also_as_a_mode() -> None:
    from gatekit.policy.specs import FeatureSignatureSpec

    assert FeatureSignatureSpec.model_validate({"mode": "compatible"}).mode == "backward"
