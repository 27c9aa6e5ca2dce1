"""The HMDA test bed of the metric tests: a classifier and a regression fitted on rows 0-1199, evaluated
on rows 1200-1699.
"""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from tests.helpers import REPO

# the HMDA evaluation data
FEATURES = ["pirat", "hirat", "lvrat", "chist", "mhist", "unemp"]


HMDA = REPO / "data" / "hmda" / "hmda.csv"
TRAIN, EVAL = slice(0, 1200), slice(1200, 1700)


@pytest.fixture(scope="module")
def hmda_frame() -> pd.DataFrame:
    return pd.read_csv(HMDA)


@pytest.fixture(scope="module")
def hmda_clf(hmda_frame):
    """(y_true, score, sensitive frame) on rows 1200-1699; a logistic regression fitted on rows 0-1199.

    The sensitive frame keeps the CSV's row index (1200..1699) on purpose: metric code must not align
    it with the 0-based target by index.
    """
    y = (hmda_frame["deny"] == "yes").astype(int).to_numpy()
    model = LogisticRegression(max_iter=1000, random_state=0).fit(hmda_frame[FEATURES].iloc[TRAIN], y[TRAIN])
    score = model.predict_proba(hmda_frame[FEATURES].iloc[EVAL])[:, 1]
    sensitive = hmda_frame[["afam", "single"]].iloc[EVAL].astype(str)
    return y[EVAL], score, sensitive


@pytest.fixture(scope="module")
def hmda_reg(hmda_frame):
    """(actual lvrat, forecast) on rows 1200-1699; a linear regression on pirat, hirat fitted on rows 0-1199."""
    x = hmda_frame[["pirat", "hirat"]]
    model = LinearRegression().fit(x.iloc[TRAIN], hmda_frame["lvrat"].iloc[TRAIN])
    return hmda_frame["lvrat"].iloc[EVAL].to_numpy(dtype=float), model.predict(x.iloc[EVAL])
