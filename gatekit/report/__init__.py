"""Report serializers. Each reads a :class:`~gatekit.core.results.GateReport`; none changes it."""

from __future__ import annotations

import os
from pathlib import Path

from gatekit.core.results import GateReport

FORMATS = ("json", "html", "junit", "markdown")
"""Every report format; :data:`DEFAULT_FORMATS` are written unless asked otherwise."""
DEFAULT_FORMATS = ("json", "html")
FILE_NAMES = {"json": "gate_report.json", "html": "gate_report.html", "junit": "gate_report.junit.xml",
              "markdown": "gate_report.md"}
SCHEMA_PATH = Path(__file__).parent / "schema" / "gate_report.v1.schema.json"
"""JSON Schema (draft 2020-12) of ``gate_report.json``, schema version 1."""


def write_reports(report: GateReport, out_dir: Path, formats: tuple[str, ...] = DEFAULT_FORMATS) -> dict[str, Path]:
    """Write the report files into ``out_dir`` (created if needed).

    Parameters
    ----------
    report : GateReport
        The run's report.
    out_dir : pathlib.Path
        Folder to write into.
    formats : tuple of {"json", "html", "junit", "markdown"}
        Which files to write (default json and html).

    Returns
    -------
    dict of str to pathlib.Path
        Format -> file written (``gate_report.json``, ``gate_report.html``, ``gate_report.junit.xml``,
        ``gate_report.md``), and each attachment by its file name (``evidently_drift.html``).

    Raises
    ------
    ValueError
        An unknown format.
    """
    formats = check_formats(formats)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    files: dict[str, str] = {}
    for name, make_text in report.attachments.items():  # first, so the JSON and HTML can link what was written
        try:
            written[name] = _write_atomic(out_dir / name, make_text())
            files[name] = name
        except Exception as exc:  # noqa: BLE001 - a failing attachment never costs the report itself
            files[name] = f"not written: {type(exc).__name__}: {exc}"
    if files:
        report.metadata["attachments"] = files
    for fmt in FORMATS:
        if fmt in formats:
            written[fmt] = _write_atomic(out_dir / FILE_NAMES[fmt], render(report, fmt))
        else:  # a report of another format left by an earlier run would contradict this one
            (out_dir / FILE_NAMES[fmt]).unlink(missing_ok=True)
    return written


def check_formats(formats: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Normalise report formats: a comma-separated string or a sequence of them; duplicates dropped, case ignored.

    Raises
    ------
    ValueError
        An unknown format (named) or no format at all.
    """
    items = [f for item in ([formats] if isinstance(formats, str) else formats) for f in str(item).split(",")]
    out = tuple(dict.fromkeys(f.strip().lower() for f in items if f.strip()))
    unknown = [f for f in out if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown report format {', '.join(map(repr, unknown))}; use {', '.join(FORMATS)}")
    if not out:
        raise ValueError(f"no report format given; use any of {', '.join(FORMATS)}")
    return out


def render(report: GateReport, fmt: str) -> str:
    """Render the report in one format (``json``, ``html``, ``junit`` or ``markdown``) as text.

    Raises
    ------
    ValueError
        An unknown format.
    """
    if fmt == "json":
        return report.to_json() + "\n"
    if fmt == "html":
        from gatekit.report.html import render_html

        return render_html(report)
    if fmt == "junit":
        from gatekit.report.junit import render_junit

        return render_junit(report)
    if fmt == "markdown":
        from gatekit.report.markdown import render_markdown

        return render_markdown(report)
    raise ValueError(f"unknown report format {fmt!r}; use {', '.join(FORMATS)}")


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


__all__ = ["DEFAULT_FORMATS", "FILE_NAMES", "FORMATS", "SCHEMA_PATH", "check_formats", "render", "write_reports"]
