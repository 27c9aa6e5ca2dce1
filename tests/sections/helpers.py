"""Helpers of the section tests: artifact, canary, baseline-relative and data-quality runs."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sklearn.metrics as skm

import gatekit
from gatekit.core.results import CheckResult


# an artifact section on a signed model
def _policy(f: dict[str, Any], **artifact: Any) -> dict[str, Any]:
    return {"version": 1, "inputs": {"data": str(f["data"]), "target": "y", "model": str(f["model"])},
            "artifact": artifact, "metrics": [{"name": "auc_roc", "op": ">=", "value": 0.5}]}


# canary traffic logs
def write_log(path: Path, n: int = 300, mu_candidate: float = 1.6, mu_production: float = 1.0, seed: int = 1,
              prevalence: float = 0.35) -> pd.DataFrame:
    """A traffic log with binormal scores per arm (arm, y, score), rows of the two arms interleaved."""
    rng = np.random.default_rng(seed)
    parts = []
    for arm, mu in (("candidate", mu_candidate), ("production", mu_production)):
        y = (rng.random(n) < prevalence).astype(int)
        parts.append(pd.DataFrame({"arm": arm, "y": y, "score": np.round(mu * y + rng.standard_normal(n), 4)}))
    frame = pd.concat(parts).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    frame.to_csv(path, index=False)
    return pd.read_csv(path)


def canary_policy(log: Path, rules: list[dict[str, Any]], strict: bool = True, **spec: Any) -> dict[str, Any]:
    return {"version": 1, "strict": strict,
            "canary": {"data": str(log), "target": "y", "score": "score", "rules": rules, **spec}}


def _auc(frame: pd.DataFrame, arm: str) -> float:
    part = frame[frame.arm == arm]
    return float(skm.roc_auc_score(part.y, part.score))


def _with(frame: pd.DataFrame, path: Path, edit: Any) -> Path:
    out = edit(frame.copy())
    out.to_csv(path, index=False)
    return path


# data-quality runs on CSV text written by hand
def write_csv(path: Path, columns: dict[str, list[Any]]) -> Path:
    """Write columns as CSV text by hand (None -> empty field), so the file holds exactly what is written."""
    names = list(columns)
    n = len(columns[names[0]])
    assert all(len(v) == n for v in columns.values())
    lines = [",".join(names)]
    for i in range(n):
        lines.append(",".join("" if columns[c][i] is None else str(columns[c][i]) for c in names))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def checks_by_name(report: Any, section: str = "data_quality") -> dict[str, CheckResult]:
    out: dict[str, CheckResult] = {}
    for c in report.checks:
        if c.section == section:
            assert c.name not in out, f"duplicate check name {c.name}"
            out[c.name] = c
    return out


# custom expectations written on the fly, and data-quality runs
AGG = '''
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnAggregateExpectation
from great_expectations.expectations.metrics import ColumnAggregateMetricProvider, column_aggregate_value


class ColumnRowsForTest{tag}(ColumnAggregateMetricProvider):
    metric_name = "test_{tag}.column.rows"

    @column_aggregate_value(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):
        return int(len(column))


class {cls}(ColumnAggregateExpectation):
    metric_dependencies = ("test_{tag}.column.rows",)

    def _validate(self, metrics, runtime_configuration=None, execution_engine=None):
        {body}
'''


def custom(folder: Path, name: str, cls: str, body: str, tag: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.py").write_text(textwrap.dedent(AGG).format(cls=cls, body=body, tag=tag))


def csv(tmp_path: Path, data: dict[str, list[Any]], name: str = "d.csv") -> Path:
    path = tmp_path / name
    pd.DataFrame(data).to_csv(path, index=False)
    return path


def by_name(report: Any) -> dict[str, Any]:
    return {c.name: c for c in report.checks}


# baseline-relative and canary policies on generated rows
def _policy_file(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return p


def _eval_frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Labelled rows with a candidate score ``cs``, a production score ``bs`` and yes/no labels for both."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(y, 1.0)
    cs = 1 / (1 + np.exp(-(x - 0.5) * 1.5))
    bs = 1 / (1 + np.exp(-(x - 0.5) * 1.2 + rng.normal(0, 0.3, n)))
    return pd.DataFrame({"y": np.where(y == 1, "yes", "no"), "x1": x, "x2": rng.normal(0, 1, n),
                         "g": rng.choice(["a", "b"], n), "cs": cs, "bs": bs,
                         "cp": np.where(cs >= 0.5, "yes", "no"), "bp": np.where(bs >= 0.5, "yes", "no")})


def _canary_frame(n_candidate: int, n_production: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_candidate + n_production
    y = rng.integers(0, 2, n)
    score = 1 / (1 + np.exp(-rng.normal(y * 1.5 - 0.75, 1)))
    arm = np.array(["candidate"] * n_candidate + ["production"] * n_production)
    return pd.DataFrame({"arm": arm, "y": y, "score": score, "g": rng.choice(["a", "b"], n)})


REL_POLICY = """
version: 1
strict: true
inputs:
  data: d.csv
  target: y
  positive_label: "yes"
  score: cs
  baseline: {score: bs}
metrics:
"""

CANARY_POLICY = """
version: 1
strict: true
canary:
  data: c.csv
  target: y
  score: score
  sensitive: g
  rules:
"""


def _rel(tmp_path: Path, rules: str, frame: pd.DataFrame | None = None) -> Path:
    (frame if frame is not None else _eval_frame()).to_csv(tmp_path / "d.csv", index=False)
    return _policy_file(tmp_path, REL_POLICY + textwrap.indent(textwrap.dedent(rules).strip("\n"), "  ") + "\n")


def _canary(tmp_path: Path, rules: str, frame: pd.DataFrame, extra: str = "") -> Path:
    frame.to_csv(tmp_path / "c.csv", index=False)
    text = CANARY_POLICY + textwrap.indent(textwrap.dedent(rules).strip("\n"), "    ") + "\n"
    if extra:
        text = text.replace("  rules:\n", textwrap.indent(textwrap.dedent(extra).strip("\n"), "  ") + "\n  rules:\n")
    return _policy_file(tmp_path, text)


def _check(report: gatekit.GateReport, name: str, index: int = 0) -> object:
    return [c for c in report.checks if c.name == name][index]


LATENCY_POLICY = """
version: 1
inputs: {metrics: c.json, baseline: {metrics: b.json}}
metrics:
  - {name: latency_p95_ms, max_increase: 20}
"""
