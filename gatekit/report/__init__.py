"""Report serializers. Each reads a :class:`~gatekit.core.results.GateReport`; none changes it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gatekit.core.results import GateReport

FORMATS = ("json", "html", "junit", "markdown")
"""Every report format; :data:`DEFAULT_FORMATS` are written unless asked otherwise."""
DEFAULT_FORMATS = ("json", "html")
FILE_NAMES = {"json": "gate_report.json", "html": "gate_report.html", "junit": "gate_report.junit.xml",
              "markdown": "gate_report.md"}
SCHEMA_PATH = Path(__file__).parent / "schema" / "gate_report.v1.schema.json"
"""JSON Schema (draft 2020-12) of ``gate_report.json``, schema version 1."""


def write_reports(report: GateReport, out_dir: Path, formats: tuple[str, ...] = DEFAULT_FORMATS) -> dict[str, Path]:
    """Write the report files into ``out_dir`` (created if needed), all or none.

    Every file is written to a temporary name first and renamed only once all are written, so a reader never
    sees a set of reports in which one contradicts another (or the run's exit code). On any failure every
    file this call wrote, temporary or renamed, is removed and the error is raised: no report of this call
    remains. An attachment that cannot be rendered or written is recorded as ``not written`` in the report
    instead (it never costs the report itself).

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
    OSError
        A report file cannot be written or renamed (a full disk); nothing this call wrote is left.
    """
    formats = check_formats(formats)
    out_dir.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[str, Path, Path]] = []  # (key, temporary, final), in the order they are renamed
    renamed: list[Path] = []
    try:
        files: dict[str, str] = {}
        for name, make_text in report.attachments.items():  # first, so the JSON and HTML can link what was written
            try:
                staged.append((name, _write_temporary(out_dir / name, make_text()), out_dir / name))
                files[name] = name
            except Exception as exc:  # noqa: BLE001 - a failing attachment never costs the report itself
                files[name] = f"not written: {type(exc).__name__}: {exc}"
        if files:
            report.metadata["attachments"] = files
        for fmt in FORMATS:
            if fmt in formats:
                path = out_dir / FILE_NAMES[fmt]
                staged.append((fmt, _write_temporary(path, render(report, fmt)), path))
        for fmt in FORMATS:  # a report of another format left by an earlier run would contradict this one
            if fmt not in formats:
                (out_dir / FILE_NAMES[fmt]).unlink(missing_ok=True)
        written: dict[str, Path] = {}
        for key, tmp, path in staged:
            os.replace(tmp, path)
            renamed.append(path)
            written[key] = path
        return written
    except BaseException:
        remove_files([tmp for _, tmp, _ in staged] + renamed)
        raise


def remove_files(paths: list[Path] | tuple[Path, ...]) -> list[str]:
    """Remove files, each even when another cannot be removed.

    Parameters
    ----------
    paths : sequence of pathlib.Path
        Files to remove (a missing one is fine).

    Returns
    -------
    list of str
        One ``"<path>: <error>"`` per file that could not be removed (empty when all are gone).
    """
    problems = []
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            problems.append(f"{path}: {exc}")
    return problems


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


class Report(GateReport):
    """A :class:`~gatekit.core.results.GateReport` that renders and saves itself: what :func:`gatekit.run` returns.

    The result classes stay plain data; the renderings are this layer's (:func:`render`).

    Examples
    --------
    >>> report = gatekit.run("policies/seed_exercise_1.yaml", metrics="run.json")  # doctest: +SKIP
    >>> report.save_html("reports/x/gate_report.html")  # doctest: +SKIP
    """

    def to_markdown(self) -> str:
        """Return the Markdown summary (:func:`gatekit.report.markdown.render_markdown`)."""
        return render(self, "markdown")

    def to_frame(self) -> Any:
        """Return the checks as a pandas DataFrame, one row per check in the report's order.

        Columns: ``section``, ``name``, ``status``, ``on_fail``, ``observed``, ``op``, ``threshold``, ``margin``,
        ``message`` (statuses and severities as their text, ``"pass"``, ``"block"``...).
        """
        import pandas as pd

        cols = ["section", "name", "status", "on_fail", "observed", "op", "threshold", "margin", "message"]
        rows = [{c: getattr(check, c, None) for c in cols} for check in self.checks]
        for row in rows:
            for c in ("status", "on_fail"):
                row[c] = getattr(row[c], "value", row[c])
        return pd.DataFrame(rows, columns=cols)

    def _repr_html_(self) -> str:
        """Show the HTML report inline in a notebook (in an iframe, so its styles stay its own)."""
        import html

        return (f'<iframe srcdoc="{html.escape(self.to_html(), quote=True)}" title="gatekit report" '
                'style="width:100%;height:720px;border:1px solid #ddd" sandbox="allow-scripts"></iframe>')

    def to_junit(self) -> str:
        """Return the JUnit XML (:func:`gatekit.report.junit.render_junit`): one test case per check."""
        return render(self, "junit")

    def to_html(self) -> str:
        """Return the self-contained HTML report."""
        return render(self, "html")

    def save_html(self, path: str | Path) -> Path:
        """Write the HTML report to ``path`` (a file; its folder is created); return the path."""
        return save(self, path, "html")

    def save_json(self, path: str | Path) -> Path:
        """Write the JSON report to ``path``; return the path."""
        return save(self, path, "json")

    def save_junit(self, path: str | Path) -> Path:
        """Write the JUnit XML to ``path``; return the path."""
        return save(self, path, "junit")

    def save_markdown(self, path: str | Path) -> Path:
        """Write the Markdown summary to ``path``; return the path."""
        return save(self, path, "markdown")


def save(report: GateReport, path: str | Path, fmt: str) -> Path:
    """Write one rendering of ``report`` to the file ``path`` (its folder is created, the write is atomic).

    Raises
    ------
    ValueError
        An unknown format.
    OSError
        The file cannot be written.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    return _write_atomic(p, render(report, fmt))


def _write_temporary(path: Path, text: str) -> Path:
    """Write ``text`` to a new temporary file beside ``path`` (a hidden name unique to this call); return it.

    The temporary is removed when the write fails. Text that cannot be UTF-8 is written as a backslash escape.
    """
    import uuid

    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")
    fh = tmp.open("x", encoding="utf-8", errors="backslashreplace")  # exclusive; the usual permissions
    try:
        with fh:
            fh.write(text)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


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


__all__ = ["DEFAULT_FORMATS", "FILE_NAMES", "FORMATS", "SCHEMA_PATH", "Report", "check_formats", "remove_files",
           "render", "save", "write_reports"]
