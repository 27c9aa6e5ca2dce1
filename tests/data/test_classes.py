"""Tests of :mod:`gatekit.data.classes`: probability columns by pattern, class codes and the probability matrix
checks shared by the evaluation data and canary logs (end to end in ``test_multiclass.py`` and ``test_canary.py``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gatekit.core.errors import InputError
from gatekit.data.classes import check_matrix, codes_of, label_classes, pattern_columns


def test_pattern_columns_give_the_class_each_column_stands_for() -> None:
    cols = ["id", "p_cat_v2", "p_dog_v2", "p_v2", "y"]
    assert pattern_columns(cols, "p_*_v2", "f.csv") == [("p_cat_v2", "cat"), ("p_dog_v2", "dog")]
    with pytest.raises(InputError, match="matches 1 column"):
        pattern_columns(["score_a", "y"], "score_*", "f.csv")


def test_codes_follow_the_class_order_and_unknown_labels_are_named() -> None:
    classes = label_classes(pd.Series(["dog", "cat", 2, "cat"], name="y"))
    assert classes == [2, "cat", "dog"]  # numbers first, then text
    codes = codes_of(pd.Series(["DOG", None, "2", "cat"]), classes, "outcome", "y", "f.csv")
    assert np.isnan(codes[1]) and codes[[0, 2, 3]].tolist() == [2.0, 0.0, 1.0]
    with pytest.raises(InputError, match=r"outcome column 'y' has values \['owl'\]"):
        codes_of(pd.Series(["owl", "cat"]), classes, "outcome", "y", "f.csv")


def test_a_matrix_is_refused_never_repaired() -> None:
    ok = np.array([[0.2, 0.8], [0.5, 0.5]])
    check_matrix(ok, "p", "f.csv")
    for bad, said in (([[0.2, np.nan]], "missing"), ([[1.2, -0.2]], "outside"), ([[0.2, 0.7]], "do not sum to 1")):
        with pytest.raises(InputError, match=said) as err:
            check_matrix(np.vstack([ok, bad]), "p", "f.csv", csv_lines=True)
        assert "file lines [4]" in str(err.value)  # row 2 of the data, after the header line
    check_matrix(np.array([[0.3334, 0.6670]]), "p", "f.csv")  # within 0.001 of 1: rounded figures pass
