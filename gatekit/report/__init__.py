"""Report serializers. Each reads a :class:`~gatekit.results.GateReport`; none changes it."""

from __future__ import annotations

import os
from pathlib import Path

from gatekit.results import GateReport

FORMATS = ("json", "html")
SCHEMA_PATH = Path(__file__).parent / "schema" / "gate_report.v1.schema.json"
"""JSON Schema (draft 2020-12) of ``gate_report.json``, schema version 1."""


def write_reports(report: GateReport, out_dir: Path, formats: tuple[str, ...] = FORMATS) -> dict[str, Path]:
    """Write the report files into ``out_dir`` (created if needed).

    Parameters
    ----------
    report : GateReport
        The run's report.
    out_dir : pathlib.Path
        Folder to write into.
    formats : tuple of {"json", "html"}
        Which files to write.

    Returns
    -------
    dict of str to pathlib.Path
        Format -> file written (``gate_report.json``, ``gate_report.html``), and each attachment by its
        file name (``evidently_drift.html``).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    files: dict[str, str] = {}
    for name, render in report.attachments.items():  # first, so the JSON and HTML can link what was written
        try:
            written[name] = _write_atomic(out_dir / name, render())
            files[name] = name
        except Exception as exc:  # noqa: BLE001 - a failing attachment never costs the report itself
            files[name] = f"not written: {type(exc).__name__}: {exc}"
    if files:
        report.metadata["attachments"] = files
    if "json" in formats:
        written["json"] = _write_atomic(out_dir / "gate_report.json", report.to_json() + "\n")
    if "html" in formats:
        from gatekit.report.html import render_html

        written["html"] = _write_atomic(out_dir / "gate_report.html", render_html(report))
    return written


def _write_atomic(path: Path, text: str) -> Path:
    """Write via a temporary file and a rename, so a reader never sees a half-written report.

    Text that cannot be UTF-8 (a lone surrogate from a malformed policy) is written as a backslash escape.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8", errors="backslashreplace")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


__all__ = ["FORMATS", "SCHEMA_PATH", "write_reports"]
