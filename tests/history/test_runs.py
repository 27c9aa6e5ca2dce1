"""Tests of :mod:`gatekit.history.runs`: the identity of a check across runs."""

from __future__ import annotations

from gatekit.history.runs import check_keys


def test_check_keys_tell_repeated_rules_apart() -> None:
    cs = [{"section": "performance", "name": "auc_roc", "op": ">="}, {"section": "performance", "name": "auc_roc",
                                                                        "op": ">="},
          {"section": "gates", "name": "g", "op": None}]
    assert check_keys(cs) == ["performance/auc_roc/>=", "performance/auc_roc/>=#2", "gates/g/-"]
