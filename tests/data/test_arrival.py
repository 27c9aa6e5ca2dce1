"""Tests of :mod:`gatekit.data.arrival`: the rows' arrival order is the stable sort of the order column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gatekit.core.errors import InputError
from gatekit.data.arrival import arrival_order


def test_numbers_and_date_times_sort_stably() -> None:
    frame = pd.DataFrame({"seq": [3, 1, 2, 1], "at": ["2026-01-03T00:00:00Z", "2026-01-01 00:00", "2026-01-02",
                                                       "2026-01-01T00:00:00+00:00"]})
    assert arrival_order(frame, "seq", "f.csv").tolist() == [1, 3, 2, 0]  # ties keep the file's order
    assert arrival_order(frame, "at", "f.csv").tolist() == [1, 3, 2, 0]
    assert np.array_equal(arrival_order(frame, "seq", "f.csv"),
                          np.argsort(frame.seq.to_numpy(), kind="stable"))


@pytest.mark.parametrize(("values", "match"), [
    ([1.0, None, 3.0], r"1 rows have no 'c' value \(rows \[1\]"),
    (["soon", "later", "never"], "neither numbers nor date-times"),
    ([True, False, True], "true/false"),
])
def test_unreadable_order_values_are_input_errors_naming_the_column(values: list[object], match: str) -> None:
    with pytest.raises(InputError, match=match) as err:
        arrival_order(pd.DataFrame({"c": values}), "c", "f.csv")
    assert "'c'" in str(err.value) or "c" in str(err.value)
    with pytest.raises(InputError) as missing:
        arrival_order(pd.DataFrame({"c": values}), "d", "f.csv")
    # the policy key once, then what is wrong (it read "order_by: order_by column 'd' not found")
    assert str(missing.value).startswith("f.csv: inputs.sequential.order_by: arrival order column 'd' not found")
    assert "order_by: order_by" not in str(missing.value)
