"""Report serializers. Each reads a :class:`~gatekit.results.GateReport`; none changes it."""

from __future__ import annotations

from pathlib import Path

from gatekit.results import GateReport

FORMATS = ("json", "html")


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
        Format -> file written (``gate_report.json``, ``gate_report.html``).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    if "json" in formats:
        p = out_dir / "gate_report.json"
        p.write_text(report.to_json() + "\n", encoding="utf-8")
        written["json"] = p
    if "html" in formats:
        from gatekit.report.html import render_html

        p = out_dir / "gate_report.html"
        p.write_text(render_html(report), encoding="utf-8")
        written["html"] = p
    return written


__all__ = ["FORMATS", "write_reports"]
