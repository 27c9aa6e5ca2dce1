"""Tests of :mod:`gatekit.core.formatting`: figures and names as people read them."""

from __future__ import annotations

import pytest

import gatekit
from gatekit.core.errors import PolicyError
from gatekit.core.formatting import fmt_pair


def test_empty_signatures_fmt_of_infinity_and_bidi_controls() -> None:
    from gatekit.core.formatting import fmt, printable

    with pytest.raises(PolicyError, match="at least 1"):
        gatekit.run({"version": 1, "compatibility": {"feature_signature": {"mode": "backward", "expected": {}}}})
    assert (fmt(float("inf")), fmt(float("nan"))) == ("inf", "nan")
    assert printable("ab\u202ecd") == "ab\\u202ecd"


def test_messages_show_enough_digits_to_tell_value_from_threshold() -> None:
    assert fmt_pair(0.89996, 0.9) == ("0.89996", "0.9")
    assert fmt_pair(0.8138, 0.8) == ("0.8138", "0.8")
    assert fmt_pair(0.9, 0.9) == ("0.9", "0.9")
