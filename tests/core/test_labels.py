"""Tests of :mod:`gatekit.core.labels`: labels in one normal form."""

from __future__ import annotations

from gatekit.core.labels import norm_label


def test_labels_normalise_numbers_text_and_booleans() -> None:
    assert norm_label(1) == norm_label("1") == norm_label(1.0) == norm_label(True) == norm_label(" TRUE ") == 1.0
    assert norm_label(" Prod ") == norm_label("prod") == "prod"


def test_an_integer_too_large_for_a_float_stays_exact() -> None:
    # the fuzzer's find: a canary arm of 10**400 raised OverflowError in the policy loader (exit 3)
    big = 10**400
    assert norm_label(big) == big and norm_label(-big) == -big and norm_label(big) != norm_label(big + 1)
