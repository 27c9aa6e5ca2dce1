"""Helpers of the model tests."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from gatekit.core.results import GateReport


# a signed pickle, its key and a marker pickle
def _pickled(tmp_path: Path, obj: Any, name: str) -> Path:
    p = tmp_path / name
    p.write_bytes(pickle.dumps(obj))
    return p


def _checks(report: GateReport) -> dict[str, Any]:
    out = {c.name: c for c in report.checks}
    assert len(out) == len(report.checks), [c.name for c in report.checks]
    return out
