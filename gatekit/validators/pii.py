"""Personal data in text: e-mail addresses, phone numbers, payment cards, IBANs and national ids.

Candidates are found by patterns; every number with a checksum is then validated by python-stdnum
(never a home-made checksum): payment cards by ``stdnum.luhn`` (ISO/IEC 7812-1), IBANs by
``stdnum.iban`` (ISO 13616, mod-97), national ids by the stdnum module named (default ``us.ssn``:
``ddd-dd-dddd`` with the SSA's area/group/serial rules). Reports carry counts and where, never values.

Patterns (what is a candidate):

- ``email``: ``local@domain.tld`` (dot-atom local part, alphabetic or ``xn--`` top-level domain);
- ``phone``: ``+`` and 8 to 15 digits, optionally grouped by spaces, dots, dashes or parentheses
  (E.164 as written by people); national formats without ``+`` and signed amounts (``+12345678.90``)
  are not matched;
- ``card``: 13 to 19 digits, in one run or groups separated by single spaces or dashes, first digit 2-6
  (the payment networks' major industry identifiers), passing the Luhn check;
- ``iban``: two letters, two digits, 11 to 30 letters/digits (optionally in groups of four), passing
  the IBAN check;
- ``national_id``: ``us.ssn`` in its ``ddd-dd-dddd`` form; any other stdnum module (``de.idnr``,
  ``nl.bsn``, ...) on runs of 8 to 20 letters/digits, or of 8 to 20 digits in groups separated by
  spaces, dots or dashes (its own ``is_valid``; short numeric ids have a false-positive rate of about
  one in ten, so name only those you need).
"""

from __future__ import annotations

import importlib
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

KINDS = ("email", "phone", "card", "iban", "national_id")

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@"
                    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{2,59})\b")
_PHONE = re.compile(r"(?<![\w+])\+(?:[\s.()-]*\d){8,15}(?![\d.]*\d)")
_CARD = re.compile(r"(?<![\w.,-])([2-6]\d{12,18}|[2-6]\d{3}(?:[ -]\d{2,6}){2,4})(?![\w.]|[ -]\d)")
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])")
_SSN = re.compile(r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])")
_TOKENS = (re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{8,20}(?![A-Za-z0-9])"),   # one run of letters / digits
           re.compile(r"(?<![\w.-])\d(?:[ .-]?\d){7,19}(?![\w]|[.-]\d)"))  # digits in separated groups


def stdnum_module(module: str) -> Any:
    """Import ``stdnum.<module>`` (e.g. ``us.ssn``); ``ValueError`` naming it if stdnum has no such module."""
    if not re.fullmatch(r"[a-z]{2,3}\.[a-z_]+|[a-z_]+", module):
        raise ValueError(f"{module!r} is not a python-stdnum module name (e.g. us.ssn, de.idnr, nl.bsn)")
    try:
        mod = importlib.import_module(f"stdnum.{module}")
    except ImportError:
        raise ValueError(f"python-stdnum has no module {module!r} (e.g. us.ssn, de.idnr, nl.bsn)") from None
    if not hasattr(mod, "is_valid"):
        raise ValueError(f"stdnum.{module} has no is_valid()")
    return mod


class Scanner:
    """Finds personal data in strings.

    Parameters
    ----------
    kinds : iterable of str
        Subset of :data:`KINDS`.
    national_ids : iterable of str
        python-stdnum modules for ``national_id`` (default ``["us.ssn"]``).

    Raises
    ------
    ValueError
        An unknown kind or stdnum module.
    """

    def __init__(self, kinds: Iterable[str] = KINDS, national_ids: Iterable[str] = ("us.ssn",)) -> None:
        from stdnum import iban, luhn

        self.kinds = tuple(kinds)
        bad = [k for k in self.kinds if k not in KINDS]
        if bad:
            raise ValueError(f"unknown PII kind(s) {bad}; use {list(KINDS)}")
        self._luhn, self._iban = luhn, iban
        self._ids = [(m, stdnum_module(m)) for m in national_ids]

    @property
    def national_id_modules(self) -> list[tuple[str, Any]]:
        """The python-stdnum modules national ids are validated with, as ``(name, module)``."""
        return list(self._ids)

    def kinds_in(self, text: str) -> set[str]:
        """Return the kinds of personal data found in ``text``."""
        found: set[str] = set()
        if "email" in self.kinds and "@" in text and _EMAIL.search(text):
            found.add("email")
        if "phone" in self.kinds and "+" in text and any(
                not re.fullmatch(r"\+\d+\.\d+", m.group(0)) for m in _PHONE.finditer(text)):
            found.add("phone")  # "+12345678.90" is one signed decimal number, an amount, not a phone
        if "card" in self.kinds:
            for m in _CARD.finditer(text):
                digits = re.sub(r"[ -]", "", m.group(0))
                if 13 <= len(digits) <= 19 and self._luhn.is_valid(digits):
                    found.add("card")
                    break
        if "iban" in self.kinds:
            for m in _IBAN.finditer(text.upper()):
                if self._iban.is_valid(m.group(0)):
                    found.add("iban")
                    break
        if "national_id" in self.kinds:
            for name, mod in self._ids:
                patterns = (_SSN,) if name == "us.ssn" else _TOKENS
                if any(mod.is_valid(m.group(0)) for p in patterns for m in p.finditer(text)):
                    found.add("national_id")
                    break
        return found


def as_text(value: Any) -> str | None:
    """Return a cell as text for scanning: None for missing; an integral float without its ``.0``."""
    if value is None:
        return None
    if isinstance(value, float):
        if value != value:
            return None
        return str(int(value)) if value.is_integer() and abs(value) < 1e20 else repr(value)
    return str(value)


def scan_frame(frame: Any, scanner: Scanner, columns: list[str] | None = None) -> dict[str, dict[str, int]]:
    """Count, per column, the values holding each kind of personal data.

    Parameters
    ----------
    frame : pandas.DataFrame
        The rows to scan.
    scanner : Scanner
        What to look for.
    columns : list of str, optional
        Columns to scan; default every text, integer or float column (booleans and datetimes cannot
        hold the kinds above).

    Returns
    -------
    dict
        ``{column: {kind: count}}`` for columns with at least one finding (never the values); a column
        whose name holds personal data is reported as ``<column i, name redacted>`` and counted.
    """
    import pandas as pd

    out: dict[str, dict[str, int]] = {}
    cols = columns if columns is not None else [c for c in frame.columns if not (
        pd.api.types.is_bool_dtype(frame[c]) or pd.api.types.is_datetime64_any_dtype(frame[c]))]
    for pos, c in enumerate(cols):
        out.update(scan_counts(c, pos, frame[c].value_counts(dropna=True).items(), scanner))
    return out


def scan_counts(column: Any, pos: int, counts: Iterable[tuple[Any, int]],
                scanner: Scanner, counted: dict[str, int] | None = None) -> dict[str, dict[str, int]]:
    """Count one column's values holding each kind of personal data, from its distinct values and their counts.

    What :func:`scan_frame` does per column, for counts from anywhere (pandas' ``value_counts``, or an
    engine's ``group_by`` streamed in batches): each distinct value is scanned once (as :func:`as_text`)
    and its count is what is reported; the column's name is scanned too.

    Parameters
    ----------
    column : object
        The column's name.
    pos : int
        Its position among the columns scanned (0-based), for the redacted label.
    counts : iterable of (value, int)
        Distinct non-missing values and how many rows hold each; consumed once.
    scanner : Scanner
        What to look for.
    counted : dict of str to int, optional
        Rows per kind already counted elsewhere (by Spark's executors, batch by batch), added to the findings.

    Returns
    -------
    dict
        ``{label: {kind: count}}`` when the column has a finding, else empty; the label is the column's name,
        or ``<column i, name redacted>`` when the name holds personal data. Kinds in a fixed order (findings
        in the name first, then in :data:`KINDS` order), so every engine reports them alike.
    """
    found: Counter[str] = Counter(counted or {})
    name_kinds = scanner.kinds_in(str(column))
    label = f"<column {pos + 1}, name redacted>" if name_kinds else str(column)
    for kind in name_kinds:  # a header that is personal data (a CSV without its header row)
        found[f"{kind} (column name)"] += 1
    for value, n in counts:
        text = as_text(value)
        if text:
            for kind in scanner.kinds_in(text):
                found[kind] += int(n)
    order = {k: i for i, k in enumerate(KINDS)}  # a fixed order, whatever order the values came in
    ranked = sorted(found, key=lambda k: (not k.endswith("(column name)"), order.get(k.split(" (")[0], len(order))))
    return {label: {k: found[k] for k in ranked}} if found else {}


def scan_mapping(obj: Any, scanner: Scanner, path: str = "") -> dict[str, list[str]]:
    """Return ``{path: kinds}`` for every string of a nested mapping / list (a model card) holding personal data."""
    out: dict[str, list[str]] = {}
    if isinstance(obj, dict):
        for i, (k, v) in enumerate(obj.items()):
            key_kinds = scanner.kinds_in(str(k))
            # a key holding personal data is itself a finding, and is never written into a path
            shown = f"<key {i + 1}, redacted>" if key_kinds else str(k)
            here = f"{path}.{shown}" if path else shown
            if key_kinds:
                out[f"{here} (the key)"] = sorted(key_kinds)
            out.update(scan_mapping(v, scanner, here))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            out.update(scan_mapping(v, scanner, f"{path}[{i}]"))
    else:
        text = as_text(obj)
        if text:
            kinds = scanner.kinds_in(text)
            if kinds:
                out[path or "(value)"] = sorted(kinds)
    return out
