"""Tests of :mod:`gatekit.data.readers`: CSV and Parquet files, and columns read from them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import gatekit
from gatekit.core.errors import InputError
from tests.data.helpers import _policy, _rules_file
from tests.helpers import AUC_POLICY, run_cli


def test_a_row_with_more_fields_than_the_header_is_refused_not_truncated(tmp_path: Path) -> None:
    from gatekit.core.errors import InputError
    from gatekit.data.readers import read_frame

    path = tmp_path / "r.csv"
    path.write_text("a,b\n1,2\n3,4,5\n6,7\n")
    with pytest.raises(InputError, match="line 3"):
        read_frame(path)


def test_duplicate_csv_columns_are_refused(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("y,s,s\n1,0.9,0.1\n0,0.2,0.8\n")
    pol = tmp_path / "p.yaml"
    pol.write_text(AUC_POLICY)
    proc = run_cli("run", str(pol), "--data", str(tmp_path / "d.csv"), "--target", "y", "--score", "s",
                   "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "duplicate column name(s) ['s']" in proc.stderr


def test_missing_column_suggests_the_closest(tmp_path, hmda) -> None:
    _, data = hmda
    with pytest.raises(InputError) as exc:
        gatekit.run(_policy(tmp_path), data=data, target="denny", score="pirat")
    assert "'denny' not found" in str(exc.value) and "did you mean 'deny'" in str(exc.value)
    assert str(data) in str(exc.value)


def test_parquet_input(tmp_path) -> None:
    path = tmp_path / "d.parquet"
    y = np.array([0, 0, 1, 1, 0, 1])
    s = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    pd.DataFrame({"y": y, "s": s}).to_parquet(path)
    r = gatekit.run(_policy(tmp_path), data=path, target="y", score="s")
    assert r.checks[0].observed == pytest.approx(roc_auc_score(y, s))


def test_trailing_commas_do_not_shift_columns(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("y,s,\n1,0.9,\n0,0.2,\n1,0.7,\n0,0.4,\n")
    r = gatekit.run(_rules_file(tmp_path, "  - {name: auc_roc, op: '>=', value: 0.9}\n"), data=tmp_path / "d.csv",
                    target="y", score="s")
    assert r.checks[0].observed == 1.0
