"""Tests of :mod:`gatekit.policy.custom_metrics`: a policy's ``custom_metrics:`` block, loaded before its rules.

Every load problem is a policy error (exit 2) naming the file and line at fault; the metrics are the policy's own
(no other policy sees them); their files count in the reproducibility hash.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gatekit
from gatekit.core.errors import PolicyError
from gatekit.metrics import default_registry
from gatekit.policy import load_policy
from tests.helpers import REPO, run_cli, write_policy

SHARE = """
import numpy as np
import gatekit


@gatekit.metric(inputs=("y_true", "y_pred"), tasks="classification", direction="higher", unit="fraction",
                params={"weight_positives": float})
def weighted_hits(y_true, y_pred, *, weight_positives=1.0, sample_weight=None):
    '''Hits with positives weighted: sum(w_i * [y_i == yhat_i]) / sum(w_i), w_i = weight_positives if y_i else 1.'''
    w = np.where(y_true == 1, weight_positives, 1.0) * (1.0 if sample_weight is None else sample_weight)
    return float(np.sum(w * (y_true == y_pred)) / np.sum(w))
"""


def folder_with(tmp_path: Path, **files: str) -> Path:
    folder = tmp_path / "metrics"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return folder


def policy_with(tmp_path: Path, block: str, rules: str = "  - {name: weighted_hits, op: '>=', value: 0.5}\n") -> Path:
    return write_policy(tmp_path, f"version: 1\n{block}metrics:\n{rules}")


def test_a_folder_s_metric_is_usable_by_name_and_only_by_this_policy(tmp_path: Path) -> None:
    folder_with(tmp_path, share=SHARE)
    path = policy_with(tmp_path, "custom_metrics:\n  metrics_dir: metrics\n",
                       "  - {name: weighted_hits, op: '>=', value: 0.5, params: {weight_positives: 3}}\n"
                       "gates:\n  - {gate: hits, require: weighted_hits >= 0.4}\n")
    given = default_registry()
    lp = load_policy(path, given)
    assert given.resolve("weighted_hits") is None  # the registry given is left as it was
    assert lp.registry is not None and lp.registry.resolve("weighted_hits").spec.source.endswith("share.py:5")
    assert lp.params[0] == {"weight_positives": 3.0}
    assert load_policy(REPO / "policies" / "seed_format.yaml").registry is None
    y = np.array([1, 1, 0, 0, 1, 0, 0, 0])
    yp = np.array([1, 0, 0, 1, 1, 0, 0, 0])
    frame = pd.DataFrame({"y": y, "p": yp})
    report = gatekit.run(path, data=frame, target="y", prediction="p")
    w = np.where(y == 1, 3.0, 1.0)
    assert report.checks[0].observed == pytest.approx(np.sum(w * (y == yp)) / w.sum(), rel=1e-12)
    assert [c.status.value for c in report.checks] == ["pass", "pass"]  # the gate's expression resolves it too
    # another policy in the same process does not know it
    other = write_policy(tmp_path, "version: 1\nmetrics:\n  - {name: weighted_hits, op: '>=', value: 0.5}\n",
                         "other.yaml")
    with pytest.raises(PolicyError, match="unknown metric 'weighted_hits'"):
        load_policy(other)


def test_a_file_that_fails_to_import_exits_2_naming_its_file_and_line(tmp_path: Path) -> None:
    folder_with(tmp_path, share=SHARE, broken="import numpy as np\n\n\ndef f(:\n    pass\n")
    path = policy_with(tmp_path, "custom_metrics:\n  metrics_dir: metrics\n")
    proc = run_cli("validate", str(path))
    assert proc.returncode == 2, proc.stderr
    assert f"{tmp_path / 'metrics' / 'broken.py'}:4: the custom metric file failed to import: SyntaxError" in \
        proc.stderr
    assert f"(loaded by custom_metrics.metrics_dir, {path}:3)" in proc.stderr
    assert "Traceback" not in proc.stderr and "weighted_hits" not in proc.stderr  # no unknown-metric noise


def test_a_name_gatekit_has_exits_2_naming_the_file_and_the_definition_s_line(tmp_path: Path) -> None:
    folder_with(tmp_path, clash=SHARE.replace("def weighted_hits", "def accuracy"))
    path = policy_with(tmp_path, "custom_metrics:\n  metrics_dir: metrics\n")
    proc = run_cli("validate", str(path))
    assert proc.returncode == 2
    assert (f"{tmp_path / 'metrics' / 'clash.py'}:5: custom metric 'accuracy' clashes with gatekit's metric "
            "'accuracy': rename it") in proc.stderr


@pytest.mark.parametrize(("block", "message", "line"), [
    ("custom_metrics:\n  metrics_dir: nowhere\n", "the custom metrics folder 'nowhere' (", 3),
    ("custom_metrics:\n  metrics_dir: empty\n", "declares no metric: no function in its *.py files", 3),
    ("custom_metrics:\n  entry_points: [surely_not_installed_xyz]\n",
     "no installed entry point 'surely_not_installed_xyz' in the group 'gatekit.metrics'", 3),
    ("custom_metrics: {}\n", "names no metrics_dir and no entry_points", 2),
    ("custom_metrics:\n  entry_points: [a, a]\n", "entry point(s) a listed twice", 3),
    ("custom_metrics:\n  metrics_dir: metrics\n  folder: x\n", "unknown key 'folder'", 4),
])
def test_a_block_that_loads_nothing_is_a_problem_at_its_key(tmp_path: Path, block: str, message: str,
                                                            line: int) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.py").write_text("x = 1\n")
    folder_with(tmp_path, share=SHARE)
    path = policy_with(tmp_path, block)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    found = [p for p in info.value.problems if message in p.message]
    assert found, [str(p) for p in info.value.problems]
    assert (found[0].file, found[0].line) == (str(path), line)


def test_the_metric_files_count_in_the_reproducibility_hash(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, share=SHARE)
    path = policy_with(tmp_path, "custom_metrics:\n  metrics_dir: metrics\n")
    pd.DataFrame({"y": [1, 0, 1, 0], "p": [1, 0, 0, 0]}).to_csv(tmp_path / "rows.csv", index=False)
    gatekit.run(path, data=tmp_path / "rows.csv", target="y", prediction="p", out=tmp_path / "out")
    report = tmp_path / "out" / "gate_report.json"
    meta = json.loads(report.read_text())["metadata"]
    assert meta["reproducibility"]["components"]["files"]["custom_metrics_file_0"] is not None
    assert meta["custom_metrics"]["metrics"][0]["name"] == "weighted_hits"
    assert meta["custom_metrics"]["metrics"][0]["params"] == {"weight_positives": 1.0}
    from gatekit.core.reproducibility import verify

    assert verify(report)["match"] is True
    (folder / "share.py").write_text(SHARE.replace("1.0 if sample_weight", "2.0 if sample_weight"))
    res = verify(report)
    assert res["match"] is False and res["differences"][0].startswith("custom_metrics_file_0: sha256 ")
