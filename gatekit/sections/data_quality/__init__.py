"""The ``data_quality:`` section on Great Expectations.

:mod:`.plan` turns the rules into expectations and batches; :mod:`.adapter` runs them and reads each result
as one check; :mod:`.counts` computes them as counts on the DuckDB engine.
"""

from gatekit.sections.data_quality.adapter import SECTION, DataQualitySection

__all__ = ["SECTION", "DataQualitySection"]
