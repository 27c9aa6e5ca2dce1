"""How figures, rules and names are written for people: one place for every report, the history and alerts.

Nothing here computes a check; it only formats what a :class:`~gatekit.core.results.CheckResult` holds.
"""

from __future__ import annotations

import math
from typing import Any

_CONTROL = {i: f"\\x{i:02x}" for i in [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]}
# bidirectional overrides and isolates reorder the rest of the line (a column name could read reversed)
_CONTROL.update({i: f"\\u{i:04x}" for i in [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]})


def fmt(x: float | None) -> str:
    """Format a figure for messages: up to 4 significant digits, no trailing zeros."""
    if x is None:
        return "n/a"
    if not math.isfinite(x):
        return str(x)  # inf, -inf, nan
    if x == int(x) and abs(x) < 1e12:
        return str(int(x))
    return f"{x:.4g}"


def fmt_pair(observed: float, threshold: float) -> tuple[str, str]:
    """Format a value and its threshold with as many digits as it takes to tell them apart.

    0.89996 against 0.9 reads "0.89996" and "0.9", never "0.9 does not meet >= 0.9".
    """
    for digits in range(4, 16):
        a, b = f"{observed:.{digits}g}", f"{threshold:.{digits}g}"
        if a != b or observed == threshold:
            return (fmt(observed) if digits == 4 else a), (fmt(threshold) if digits == 4 else b)
    return repr(observed), repr(threshold)


def printable(text: object) -> str:
    """Return ``text`` safe for a terminal.

    Control characters (ANSI escapes included), bidirectional overrides and lone surrogates are shown
    as escapes, so data can never move the cursor, reorder a line or forge a log line.
    """
    s = str(text).translate(_CONTROL)
    return s.encode("utf-8", "backslashreplace").decode("utf-8")


def display_name(name: str, params: dict[str, Any] | None) -> str:
    """``smape`` with ``{variant: "0-100"}`` -> ``smape[variant=0-100]``, so two rules on one metric differ."""
    if not params:
        return name
    return f"{name}[{', '.join(f'{k}={v}' for k, v in params.items())}]"


def unit_suffix(c: Any) -> str:
    """Return the unit shown after a check's figures: `` %`` or `` ms`` (a relative change is in %), else ``""``."""
    if (c.details.get("comparison") or {}).get("statistic") == "relative_change_pct":
        return " %"
    unit = c.details.get("unit")
    return f" {unit}" if unit in ("%", "ms") else ""


def observed_text(c: Any, missing: str = "-") -> str:
    """Return a check's observed value with its unit (``130 ms``), or ``missing`` when it has none."""
    return f"{fmt(c.observed)}{unit_suffix(c)}" if c.observed is not None else missing


def rule_text(c: Any, interval: bool = False) -> str:
    """Return the rule a check was decided on, in words: ``>= 0.8``, ``<= 120 ms``, ``drop at most 0.015``.

    Parameters
    ----------
    c : CheckResult
        The check.
    interval : bool
        Add the confidence interval the decision read (``CI [low, high]``) before its framing (the rule's mode
        or guardband) and, when known, its outcome (``proven``, ``inconclusive`` ...).
    """
    cmp = c.details.get("comparison") or {}
    rule = f"{c.op} {fmt(c.threshold)}{unit_suffix(c)}" if c.op and c.threshold is not None else (
        c.details.get("require") or c.op or "")
    if cmp.get("definition"):  # a comparison with the baseline: say it in words
        rule = cmp["rule"]
    iv = c.details.get("interval") if c.details.get("decided_on") == "interval" else None
    if iv:  # the decision read the interval, not the point: say so, which way it was read, and what it showed
        conf = float(iv.get("confidence", 0))
        level = percent(conf)  # 99.983%, not 100%
        ci = f"CI [{fmt(iv['low'])}, {fmt(iv['high'])}], " if interval else f"{level} CI, "
        outcome = c.details.get("outcome") or {}
        framing = outcome.get("mode") or c.details.get("guardband")
        # "proven_harm: proven" read as "harm was proven": say what the outcome shows about the limit
        said = {"proven": "shown to hold", "disproven": "shown broken"}
        result = str(outcome.get("result") or "")
        shown = f"; {said.get(result, result.replace('_', ' '))}" if result else ""
        rule += f" ({ci}{framing}{shown})"
    return str(rule)


def alert_text(alert: dict[str, Any]) -> str:
    """One line a person reads: which rule, how often, what it said this time."""
    return (f"{alert['name']} ({alert['section']}, {alert['on_fail']}) failed in {alert['failures']} of the last "
            f"{alert['runs_considered']} runs (alert after {alert['after']} within {alert['within']}): "
            f"{alert['message']}")


_MD_ESCAPES = (("\\", "\\\\"), ("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|"), ("`", "\\`"), ("*", "\\*"),
               ("_", "\\_"), ("[", "\\["), ("]", "\\]"), ("~", "\\~"))


def md_escape(value: object) -> str:
    r"""Return ``value`` as literal text for GitHub-flavoured Markdown, safe in a table cell, list item or heading.

    Control characters are escaped (:func:`printable`) and line breaks become spaces, so a value stays on
    its line (it can neither start a table row, a heading nor a list item). ``&``, ``<`` and ``>`` become
    entities (no raw HTML, no ``<!--`` comment that hides what follows, no ``<https://...>`` autolink);
    ``\``, ``|``, backticks, ``*``, ``_``, ``~``, ``[`` and ``]`` are backslash-escaped (no broken table,
    code span, emphasis, strike-through, link or image). A zero-width space after ``@`` and ``#`` keeps a
    name like ``@team`` or ``#12`` from mentioning a team or linking an issue.

    Parameters
    ----------
    value : object
        Any value; ``str(value)`` is escaped.

    Returns
    -------
    str
        The escaped text, one line.
    """
    s = printable(value).replace("\\x0a", " ").replace("\\x0d", " ")
    for a, b in _MD_ESCAPES:
        s = s.replace(a, b)
    return s.replace("@", "@\u200b").replace("#", "#\u200b")


def percent(p: float) -> str:
    """Format a level in percent with digits enough not to round it (0.95 -> ``95%``, 0.975 -> ``97.5%``).

    Parameters
    ----------
    p : float
        A level in (0, 1], such as a confidence.

    Returns
    -------
    str
        ``100 p`` with one more decimal than the distance from 100 % needs, trailing zeros dropped: 0.999 ->
        ``99.9%``, 0.99983 -> ``99.983%`` (never a ``100%`` that hides a correction).
    """
    gap = 100 * (1 - p)
    digits = max(0, math.ceil(-math.log10(gap)) + 1) if gap > 0 else 0
    text = f"{100 * p:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"
