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


# data that would not fit in memory: refused as bad input (exit 2), never a MemoryError (exit 3)
def _dense_parquet(path: Path, rows: int) -> Path:
    """``rows`` equal int64 values: a few kilobytes of dictionary-encoded pages, ``8 * rows`` bytes decoded."""
    pd.DataFrame({"y": np.zeros(rows, dtype="int64"), "s": np.full(rows, 0.5)}).to_parquet(path, row_group_size=50_000)
    return path


def test_a_parquet_file_that_would_not_fit_in_memory_is_refused_before_it_is_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow.parquet as pq

    from gatekit.data import readers
    from gatekit.data.readers import parquet_decoded_bytes, read_frame

    path = _dense_parquet(tmp_path / "bomb.parquet", 200_000)
    meta = pq.ParquetFile(path).metadata
    pages = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    assert parquet_decoded_bytes(meta) >= 200_000 * 16 > 20 * pages  # the pages alone would let it through
    monkeypatch.setattr(readers, "available_memory", lambda: 2_000_000)

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("read although it cannot fit")

    monkeypatch.setattr(pd, "read_parquet", never)
    with pytest.raises(InputError) as info:
        read_frame(path)
    text = str(info.value)
    assert str(path) in text and "200,000 rows" in text and "--engine duckdb" in text
    monkeypatch.undo()
    monkeypatch.setattr(readers, "available_memory", lambda: 10**9)  # it fits: read as before
    assert len(read_frame(path)) == 200_000


@pytest.mark.parametrize("name", ["big.csv", "big.csv.gz"])
def test_a_csv_file_that_runs_out_of_memory_is_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         name: str) -> None:
    from gatekit.data.readers import read_frame

    path = tmp_path / name
    pd.DataFrame({"y": [0, 1], "s": [0.1, 0.9]}).to_csv(path, index=False)
    assert read_frame(path)["s"].tolist() == [0.1, 0.9]  # .csv.gz is read (decompressed) too
    real = pd.read_csv

    def inflate(*args: object, **kwargs: object) -> object:
        if kwargs.get("nrows") is None:  # the whole file: as a 6 MB .csv.gz of 750 million rows does
            raise MemoryError
        return real(*args, **kwargs)

    monkeypatch.setattr(pd, "read_csv", inflate)
    with pytest.raises(InputError) as info:
        read_frame(path)
    assert str(path) in str(info.value) and "--engine duckdb" in str(info.value)


def test_an_unsupported_format_says_csv_gz_is_read(tmp_path: Path) -> None:
    from gatekit.data.readers import read_frame

    (tmp_path / "d.xlsx").write_bytes(b"x")
    with pytest.raises(InputError, match=r"use \.csv \(or gzip-compressed \.csv\.gz\) or \.parquet"):
        read_frame(tmp_path / "d.xlsx")


def test_the_cli_exits_2_on_a_parquet_file_too_big_for_memory(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from gatekit.data import readers
    from tests.helpers import _cli

    path = _dense_parquet(tmp_path / "bomb.parquet", 200_000)
    monkeypatch.setattr(readers, "available_memory", lambda: 2_000_000)
    res = _cli("run", _policy(tmp_path), "--data", path, "--target", "y", "--score", "s", "--engine", "pandas",
               "--no-history", "--out", tmp_path / "o")
    assert res.exit_code == 2, res.output
    assert "bomb.parquet" in res.stderr and "--engine duckdb" in res.stderr and "internal error" not in res.stderr
