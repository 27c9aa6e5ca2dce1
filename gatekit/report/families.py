"""The testing families of a run laid out for the HTML and Markdown reports.

The run's report carries one summary per family in ``metadata["families"]`` (:mod:`gatekit.sections.families`):
its method, size ``m``, one-sided level ``alpha`` and, per member, the raw and adjusted p-values and the result
alone and in the family. :func:`html_tables` and :func:`markdown_lines` lay them out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

METHOD_NAME = {"holm": "Holm", "bonferroni": "Bonferroni", "sidak": "Šidák", "benjamini_hochberg": "Benjamini-Hochberg"}


def _p(v: Any) -> str:
    return "n/a" if not isinstance(v, (int, float)) or isinstance(v, bool) else f"{v:.3g}"


def _result(v: Any) -> str:
    return "n/a" if v is None else str(v).replace("_", " ")


def html_tables(meta: dict[str, Any]) -> list[dict[str, Any]]:
    """Return each family of ``metadata["families"]`` as a table for the HTML report (empty: no family).

    Parameters
    ----------
    meta : dict
        The report's metadata.

    Returns
    -------
    list of dict
        Per family: ``name``, ``method`` (in words), ``size``, ``tested``, ``level`` (the sentence saying at which
        level the family is tested), ``description``, ``error`` and ``rows`` (per member: ``rule``, ``check``,
        ``p_harm``, ``p_harm_adjusted``, ``p_safe``, ``p_safe_adjusted`` as text, ``alone``, ``result``,
        ``changed``, ``status``, ``interval`` (the simultaneous interval, Bonferroni and Šidák) and ``note``).
    """
    out = []
    for fam in meta.get("families") or []:
        m = fam.get("size", 0)
        alpha = fam.get("alpha")
        level = (f"One-sided level α = {alpha:.3g} per rule (confidence {fam.get('confidence', 0):.3g}), {m} rule"
                 f"{'s' if m != 1 else ''}" if isinstance(alpha, float) else "")
        if m == 1:
            level += "; a family of one is tested alone (no adjustment)"
        if fam.get("simultaneous_confidence") is not None:
            level += f"; each rule's simultaneous interval at {fam['simultaneous_confidence']:.4%}"
        rows = []
        for mem in fam.get("members") or []:
            sim = mem.get("simultaneous_interval")
            rows.append({"rule": mem.get("rule"), "check": mem.get("check") or "no check",
                         "p_harm": _p(mem.get("p_harm")), "p_harm_adjusted": _p(mem.get("p_harm_adjusted")),
                         "p_safe": _p(mem.get("p_safe")), "p_safe_adjusted": _p(mem.get("p_safe_adjusted")),
                         "alone": _result(mem.get("result_alone")), "result": _result(mem.get("result")),
                         "changed": bool(mem.get("decided_by_family")), "status": mem.get("status", "missing"),
                         "interval": f"[{sim['low']:+.4g}, {sim['high']:+.4g}]" if sim else "",
                         "note": mem.get("note", "")})
        out.append({"name": fam.get("name"), "method": fam.get("method_text") or METHOD_NAME.get(fam.get("method"), ""),
                    "size": m, "tested": fam.get("tested", 0), "level": level, "changed": fam.get("changed", 0),
                    "description": fam.get("description"), "error": fam.get("error"), "rows": rows,
                    "has_interval": any(r["interval"] for r in rows)})
    return out


def markdown_lines(meta: dict[str, Any], md_text: Callable[[Any], str]) -> list[str]:
    """Return the Markdown of the run's families (a table per family), or no line when it has none.

    Parameters
    ----------
    meta : dict
        The report's metadata.
    md_text : callable
        Escapes text for a Markdown table cell (:func:`gatekit.report.markdown.md_text`).

    Returns
    -------
    list of str
    """
    lines: list[str] = []
    for fam in html_tables(meta):
        lines += [f"<details><summary>Family {md_text(fam['name'])}: {md_text(fam['method'])}, {fam['size']} rules, "
                  f"{fam['changed']} decided otherwise than alone</summary>", ""]
        if fam["error"]:
            lines += [f"> {md_text(fam['error'])}", ""]
        lines += [md_text(fam["level"]) + ".", "",
                  "| rule | check | p harm (raw → adjusted) | p safe (raw → adjusted) | alone | in the family | "
                  "status |", "|---|---|---|---|---|---|---|"]
        for r in fam["rows"]:
            result = f"**{r['result']}**" if r["changed"] else r["result"]
            lines.append(f"| {md_text(r['rule'])} | {md_text(r['check'])} | {r['p_harm']} → {r['p_harm_adjusted']} | "
                         f"{r['p_safe']} → {r['p_safe_adjusted']} | {r['alone']} | {result} | {r['status']} |")
        lines += ["", "</details>", ""]
    return lines
