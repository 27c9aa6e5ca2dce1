"""Tests of :mod:`gatekit.history.holdout`: the ``holdout_reuse`` check counted across runs in SQLite and a real
PostgreSQL server (``eval "$(scripts/start_test_postgres.sh)"``; skipped without one).
"""

from __future__ import annotations

import hashlib
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression

import gatekit
from gatekit.history.store import HistoryStore
from tests.history.helpers import store_urls


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from store_urls(request.param, tmp_path)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two evaluation files (the second is other rows) and four different model files."""
    root = tmp_path_factory.mktemp("holdout")
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    y = (X.a + rng.normal(size=300) > 0).astype(int)
    X.assign(y=y, s=rng.random(300)).to_csv(root / "d.csv", index=False)
    X.assign(y=y, s=rng.random(300)).iloc[:200].to_csv(root / "other.csv", index=False)
    paths = []
    for i, c in enumerate([1.0, 0.1, 0.01, 0.001]):
        paths.append(root / f"m{i}.skops")
        sio.dump(LogisticRegression(C=c).fit(X, y), paths[-1])
    return {"root": root, "data": root / "d.csv", "other": root / "other.csv", "models": paths}


def _policy(root: Path, budget: int, on_fail: str = "warn", model: str | None = None, name: str = "held") -> Path:
    extra = f", model: {model}" if model else ""
    p = root / f"{name}_{budget}_{on_fail}_{model}.yaml"
    p.write_text(textwrap.dedent(f"""\
        version: 1
        name: {name}
        holdout: {{budget: {budget}, on_fail: {on_fail}{extra}}}
        inputs: {{target: y}}
        metrics:
          - {{name: auc_roc, op: ">=", value: 0.5}}
        """), encoding="utf-8")
    return p


def _check(report: Any) -> Any:
    (check,) = [c for c in report.checks if c.name == "holdout_reuse"]
    return check


def test_distinct_candidates_are_counted_and_the_budget_is_the_last_pass(models: dict[str, Any], url: str) -> None:
    policy = _policy(models["root"], budget=2)
    m0, m1, m2, _ = models["models"]
    counts, statuses, decisions = [], [], []
    for model in (m0, m0, m1, m2, m1):  # the same model again is no new look at the rows
        report = gatekit.run(policy, data=models["data"], model=model, history=url)
        check = _check(report)
        counts.append(check.observed)
        statuses.append(check.status.value)
        decisions.append(report.decision.value)
    assert counts == [1, 1, 2, 3, 3]
    assert statuses == ["pass", "pass", "pass", "fail", "fail"]  # budget 2: two candidates pass, the third fails
    assert decisions == ["pass", "pass", "pass", "warn", "warn"]  # on_fail: warn (the default)
    check = _check(report)
    sha = hashlib.sha256(models["data"].read_bytes()).hexdigest()
    assert check.details["data_sha256"] == sha and check.threshold == 2 and check.op == "<="
    assert sha[:12] in check.message and "budget 2" in check.message and "refresh the holdout" in check.message
    assert report.metadata["holdout"]["runs"] == 5 and len(report.metadata["holdout"]["counted_runs"]) == 5
    assert report.reason.startswith("Passed with warnings: holdout_reuse = 3, expected <= 2")


def test_a_blocking_budget_blocks(models: dict[str, Any], url: str) -> None:
    policy = _policy(models["root"], budget=1, on_fail="block")
    first = gatekit.run(policy, data=models["data"], model=models["models"][0], history=url)
    second = gatekit.run(policy, data=models["data"], model=models["models"][1], history=url)
    assert (_check(first).status.value, first.decision.value) == ("pass", "pass")
    assert (_check(second).status.value, second.decision.value) == ("fail", "block")
    assert second.metadata["exit_code"] == 1


def test_counts_are_per_model_name_and_per_data(models: dict[str, Any], url: str) -> None:
    root, (m0, m1, m2, m3) = models["root"], models["models"]
    a = _policy(root, 10, name="pol_a", model="churn")
    b = _policy(root, 10, name="pol_b", model="churn")  # another policy gating the same model: counted together
    c = _policy(root, 10, name="pol_c")  # its own name is its model name
    assert _check(gatekit.run(a, data=models["data"], model=m0, history=url)).observed == 1
    assert _check(gatekit.run(b, data=models["data"], model=m1, history=url)).observed == 2
    assert _check(gatekit.run(c, data=models["data"], model=m2, history=url)).observed == 1
    assert _check(gatekit.run(a, data=models["other"], model=m3, history=url)).observed == 1  # other rows
    with HistoryStore(url) as st:
        assert [r.model_name for r in st.runs()] == ["churn", "churn", "pol_c", "churn"]
        assert [r.policy_name for r in st.runs(model_name="churn")] == ["pol_a", "pol_b", "pol_a"]


def test_without_a_history_the_reuse_is_not_computable(models: dict[str, Any]) -> None:
    warn = gatekit.run(_policy(models["root"], 5), data=models["data"], model=models["models"][0])
    assert _check(warn).status.value == "not_computable" and warn.decision.value == "warn"
    assert "history is off" in _check(warn).message
    block = gatekit.run(_policy(models["root"], 5, "block"), data=models["data"], model=models["models"][0])
    assert block.decision.value == "block"  # strict: a block rule that cannot be evaluated blocks


def test_outputs_read_from_the_data_file_cannot_be_counted(models: dict[str, Any], url: str) -> None:
    report = gatekit.run(_policy(models["root"], 5), data=models["data"], score="s", history=url)
    check = _check(report)
    assert check.status.value == "not_computable" and "'s'" in check.message and "--model" in check.message


def test_figures_without_data_cannot_be_counted(models: dict[str, Any], url: str, tmp_path: Path) -> None:
    metrics = tmp_path / "m.json"
    metrics.write_text('{"auc_roc": 0.9}', encoding="utf-8")
    policy = _policy(tmp_path, 5, name="figures")
    policy.write_text(policy.read_text(encoding="utf-8").replace("inputs: {target: y}\n", ""), encoding="utf-8")
    report = gatekit.run(policy, metrics=metrics, history=url)
    assert _check(report).status.value == "not_computable" and "no evaluation data" in _check(report).message


def test_a_store_that_cannot_be_read_is_an_error(models: dict[str, Any]) -> None:
    report = gatekit.run(_policy(models["root"], 5), data=models["data"], model=models["models"][0],
                         history="postgresql+psycopg://gatekit:s3cretPW@127.0.0.1:1/nowhere")
    check = _check(report)
    assert check.status.value == "error" and "s3cretPW" not in check.message
    assert report.decision.value == "warn"


def test_a_policy_without_holdout_has_no_check(models: dict[str, Any], url: str) -> None:
    policy = models["root"] / "plain.yaml"
    policy.write_text("version: 1\ninputs: {target: y}\nmetrics:\n  - {name: auc_roc, op: '>=', value: 0.5}\n",
                      encoding="utf-8")
    report = gatekit.run(policy, data=models["data"], model=models["models"][0], history=url)
    assert all(c.name != "holdout_reuse" for c in report.checks) and "holdout" not in report.metadata
