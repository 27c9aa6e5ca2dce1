"""Tests of :mod:`gatekit.sections.operational_rules`: an operational rule decided on the rounds of its figure.

The observations are built by hand (what :func:`gatekit.model.serving.value` records); every expected value is
computed here from the round values (numpy medians, the range of 5 rounds as the 93.75 % interval).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from gatekit.core.results import OnFail, Status
from gatekit.metrics import default_registry
from gatekit.model.serving import round_stats
from gatekit.policy.specs import MetricRule
from gatekit.sections.base import Observation
from gatekit.sections.operational_rules import rounds_check

REG = default_registry()
META = {"unit": "ms", "params": {}, "label": "", "description": None}


def _obs(values: list[float], clock: str = "cpu", **extra: Any) -> Observation:
    stats = round_stats(values, 0.9)
    details = {"rounds": stats.to_dict(), "clock": clock, "statistic": f"median of the {len(values)} rounds' p95",
               **extra}
    return Observation(stats.median, "ok", source="computed", details=details)


def _rule(**kw: Any) -> MetricRule:
    return MetricRule(name="latency_p95_ms", **kw)


def test_an_absolute_rule_is_decided_on_the_range_of_five_rounds() -> None:
    values = [2.6, 2.7, 2.65, 3.1, 2.55]
    check = rounds_check(_rule(op="<=", value=5.0, on_fail=OnFail.WARN), REG.resolve("latency_p95_ms"),
                         _obs(values), None, META, 0.9)
    assert check is not None
    assert check.status == Status.PASS and check.on_fail == OnFail.WARN
    assert check.observed == float(np.median(values)) == 2.65
    assert check.margin == pytest.approx(5.0 - max(values))
    iv = check.details["interval"]
    assert (iv["low"], iv["high"], iv["confidence"], iv["order_statistics"]) == (2.55, 3.1, 0.9375, [1, 5])
    assert check.details["guardband"] == "proven_safe" and check.details["verdict"] == "pass"
    cv = float(np.std(values, ddof=1) / np.mean(values))
    assert check.message == (f"latency_p95_ms = 2.65 ms (median of the 5 rounds' p95, CPU time; 93.8% CI [2.55, 3.1] "
                             f"ms, CV {100 * cv:.1f} %) meets <= 5 ms: the whole interval meets it")


@pytest.mark.parametrize(("values", "status", "verdict", "guardband"), [
    ([6.0, 6.5, 7.0, 6.2, 6.1], Status.FAIL, "fail", "proven_harm"),
    ([4.0, 6.5, 4.8, 5.3, 4.9], Status.NOT_COMPUTABLE, "too_noisy", "too_noisy"),
])
def test_failing_and_too_noisy(values: list[float], status: Status, verdict: str, guardband: str) -> None:
    check = rounds_check(_rule(op="<=", value=5.0), REG.resolve("latency_p95_ms"), _obs(values), None, META, 0.9)
    assert check is not None and check.status == status
    assert check.details["verdict"] == verdict and check.details["guardband"] == guardband
    assert check.observed == float(np.median(values))
    if verdict == "too_noisy":
        assert check.margin is None and check.message.startswith("too noisy to decide")
    else:
        assert check.margin == pytest.approx(5.0 - min(values))


def test_a_busy_machine_is_named_from_the_wall_over_cpu_ratio() -> None:
    obs = _obs([2.6] * 5, other_clock={"clock": "wall", "values": [8.0] * 5, "median": 8.0}, wall_over_cpu=3.08)
    check = rounds_check(_rule(op="<=", value=5.0), REG.resolve("latency_p95_ms"), obs, None, META, 0.9)
    assert check is not None and check.status == Status.PASS
    assert "; wall clock 8 ms; wall / CPU 3.1: the process waited for a core (a busy machine))" in check.message


def test_a_relative_rule_reads_the_change_per_round_pair() -> None:
    cand, prod = [4.3, 4.4, 9.0, 4.2, 4.5], [3.6, 3.7, 8.5, 3.6, 3.6]
    check = rounds_check(_rule(max_increase=1.0), REG.resolve("latency_p95_ms"), _obs(cand), _obs(prod), META, 0.9)
    assert check is not None
    changes = [c - b for c, b in zip(cand, prod, strict=True)]  # 0.7 0.7 0.5 0.6 0.9
    assert check.details["comparison"]["per_round"] == pytest.approx(changes)
    assert check.observed == pytest.approx(float(np.median(changes)))  # 0.7, not median(cand) - median(prod)
    assert (check.details["interval"]["low"], check.details["interval"]["high"]) == pytest.approx((0.5, 0.9))
    assert check.status == Status.PASS and check.margin == pytest.approx(1.0 - 0.9)
    assert check.name == "latency_p95_ms vs baseline" and check.op == "<=" and check.threshold == 1.0
    assert check.details["rounds"]["cv"] is None  # a change's CV says nothing


def test_a_relative_percent_rule() -> None:
    cand, prod = [110.0, 120.0, 105.0, 130.0, 115.0], [100.0] * 5
    check = rounds_check(_rule(max_increase_pct=25.0), REG.resolve("latency_p95_ms"), _obs(cand), _obs(prod), META,
                         0.9)
    assert check is not None and check.status == Status.NOT_COMPUTABLE  # +5 .. +30 % holds the limit 25 %
    assert check.details["comparison"]["statistic"] == "relative_change_pct"
    assert check.observed == pytest.approx(15.0)


def test_figures_without_rounds_are_left_to_the_usual_path() -> None:
    one = Observation(3.0, "ok", source="computed", details={"rounds": round_stats([3.0], 0.9).to_dict()})
    assert rounds_check(_rule(op="<=", value=5.0), REG.resolve("latency_p95_ms"), one, None, META, 0.9) is None
    memory = Observation(80.0, "ok", source="computed", details={})
    assert rounds_check(_rule(op="<=", value=5.0), REG.resolve("latency_p95_ms"), memory, None, META, 0.9) is None
    failed = Observation(None, "error", "the model failed", "computed")
    assert rounds_check(_rule(op="<=", value=5.0), REG.resolve("latency_p95_ms"), failed, None, META, 0.9) is None
    assert rounds_check(_rule(max_increase=1.0), REG.resolve("latency_p95_ms"), _obs([1.0] * 5), failed, META,
                        0.9) is None


def test_production_in_one_round_against_a_candidate_in_rounds_is_not_computable() -> None:
    one = Observation(3.0, "ok", source="computed", details={"rounds": round_stats([3.0], 0.9).to_dict()})
    check = rounds_check(_rule(max_increase=1.0), REG.resolve("latency_p95_ms"), _obs([3.0] * 5), one, META, 0.9)
    assert check is not None and check.status == Status.NOT_COMPUTABLE
    assert "production's in one" in check.message
