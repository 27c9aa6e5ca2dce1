"""Helpers of the policy tests: the problems a policy file is refused with."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekit.core.errors import PolicyError, Problem
from gatekit.policy import load_policy


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    problems = info.value.problems
    assert problems, "a PolicyError must list at least one problem"
    for p in problems:
        assert isinstance(p, Problem)
        assert p.file == str(path)
    return problems


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]
