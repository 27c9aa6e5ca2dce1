"""Custom expectation: no personal data (e-mail, phone, payment card) in a column.

What it checks
--------------
``expect_column_values_to_not_contain_pii`` is a column-map expectation: every non-null value of
the column is turned into text and searched for personal data of the requested *kinds*. A value is
*unexpected* when its text contains at least one of them:

``email``
    A practical RFC 5322 address ``local@domain.tld``: a dot-atom local part, one or more host
    labels, and an alphabetic (or ``xn--`` punycode) top-level domain.
``phone``
    An E.164-style international number (``+`` followed by 8 to 15 digits, optionally split by
    spaces, dashes, dots or parentheses), or a North-American number written ``(555) 123-4567``
    or ``555-123-4567`` (optionally prefixed by ``1-`` / ``1 ``).
``card``
    A payment card number: 13 to 19 digits that pass the Luhn checksum (ISO/IEC 7812-1 Annex B),
    written either as one run of digits or in the usual groups separated by single spaces or
    dashes. A digit run that fails the Luhn checksum is **not** flagged.

Nulls are ignored (Great Expectations map semantics: they count neither as expected nor as
unexpected). Numeric values are tested through their string form; an integral float is written
without its ``.0`` first, because a card-number column with one missing value becomes ``float64``
in pandas.

Why it matters for a model gate
-------------------------------
Evaluation sets, feature tables and logged predictions are copied into CI artefacts, reports and
model cards. A free-text feature that suddenly carries customer e-mails or card numbers is a data
protection incident waiting to be published; this check stops the release before that happens.

What is and is not matched
--------------------------
Matched: ``alice@example.com``, ``first.last+tag@mail.example.co.uk``, ``+44 20 7946 0958``,
``+1 (555) 123-4567``, ``+33.1.23.45.67.89``, ``(555) 123-4567``, ``555-123-4567``,
``4111 1111 1111 1111``, ``4111-1111-1111-1111``, ``4111111111111111``, ``3782 822463 10005``.

Not matched (by design): plain integers such as ``12345`` or ``5551234567`` (no ``+`` and no
North-American punctuation), amounts such as ``1234.56`` or ``+12345678.90`` (a ``+`` followed by
one decimal number is a signed amount, not a phone), dates such as ``2024-01-15``, ISO timestamps
such as ``2024-01-15T10:30:00+01:00``, digit runs glued to letters, to a decimal point or to
further digit groups (``0.4111111111111111``, ``ID4111111111111111``), digit runs that fail the
Luhn checksum, and digit runs whose first digit is not 2 to 6: under ISO/IEC 7812-1 the first
digit is the major industry identifier, and the payment networks (Mastercard 2-series and 5,
Amex/JCB/Diners 3, Visa 4, Discover/UnionPay/Maestro 6) all use 2 to 6. This keeps epoch
timestamps in milliseconds, microseconds or nanoseconds (``1705314600000``) out of the results.
Also not matched: quoted or IP-literal e-mail local parts and domains, internationalised
(non-ASCII) e-mail addresses, North-American numbers written with dots or spaces only
(``555.123.4567``) and phone numbers written in a national format without ``+``.

Known false positives: a 13 to 19 digit identifier that starts with 2 to 6 passes the Luhn checksum
one time in ten, and IMEI numbers use the same checksum; a string such as ``+12345678`` is read as
an E.164 number.

Policy kwargs
-------------
column : str
    The column to check (required).
kinds : list of str, default ``["email", "phone", "card"]``
    Which kinds of personal data to look for. An unknown kind, or an empty list, is a
    configuration error raised when the expectation is built.
mostly : float, default 1.0
    The fraction of non-null values that must be free of personal data.

Usage in a gatekit policy
-------------------------
.. code-block:: yaml

    data_quality:
      expectations:
        - type: expect_column_values_to_not_contain_pii
          kwargs: {column: free_text, kinds: [email, card]}
          on_fail: block

The result follows the Great Expectations column-map conventions: ``unexpected_count``,
``unexpected_percent`` and ``partial_unexpected_list`` (the offending values themselves, so do
not publish the report of a failed run without redacting it).
"""

import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from great_expectations.compatibility import pydantic
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics import ColumnMapMetricProvider, column_condition_partial

# NOTE for authors copying this file: no ``from __future__ import annotations`` here. GE
# expectations are pydantic (v1) models, and pydantic resolves postponed (string) annotations
# through ``sys.modules[cls.__module__]``. gatekit's loader registers the module there, but a bare
# ``spec_from_file_location`` + ``exec_module`` does not, and building the expectation would then
# fail with "field ... not yet prepared so type is still a ForwardRef". Real annotations work both
# ways. Validators use ``allow_reuse=True`` so that the file can be loaded twice in one process.

PII_KINDS: tuple[str, ...] = ("email", "phone", "card")
"""The kinds of personal data this expectation knows, in the order they are checked."""

METRIC_NAME = "gatekit.column_values.not_pii"
"""The GE map metric behind the expectation (prefixed so that it never collides with GE's own)."""

# --- e-mail ---------------------------------------------------------------------------------
# Dot-atom local part (RFC 5322 section 3.2.3 "atext"), host labels of 1-63 letters, digits or
# inner dashes (RFC 1035), and an alphabetic or punycode top-level domain. The look-behind makes
# the search start at the beginning of a local part, which keeps the search linear on long text.
_ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
EMAIL_PATTERN = (
    rf"(?<![.{_ATEXT}])"
    rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})"
)

# --- phone ----------------------------------------------------------------------------------
# E.164 (ITU-T E.164: at most 15 digits including the country code) written with a leading "+";
# 8 digits at least, so that short codes and signed small numbers are left alone. The "+" must not
# follow a letter, digit or another "+" ("C++", "1+2"), and "+<digits>.<digits>" on its own is a
# signed decimal amount, not a phone number.
_E164 = (
    r"(?<![\w+])\+"
    r"(?![0-9]+\.[0-9]+(?![ .()-]?[0-9]))"
    r"\(?[0-9](?:[ .()-]{0,2}[0-9]){7,14}(?![0-9])"
)
# North-American numbering plan, written (NPA) NXX-XXXX or NPA-NXX-XXXX with an area code that
# starts with 2-9; the whole number must stand alone (not glued to letters, digits or dashes).
_NANP = (
    r"(?<![\w-])(?:1[ -])?"
    r"(?:\([2-9][0-9]{2}\) ?|[2-9][0-9]{2}-)[0-9]{3}-[0-9]{4}"
    r"(?![\w-]|\.[0-9])"
)
PHONE_PATTERN = rf"(?:{_E164})|(?:{_NANP})"


# --- payment card ---------------------------------------------------------------------------
def _card_layouts(sep: str) -> list[str]:
    """Digit layouts of card numbers written with the separator ``sep`` (13 to 19 digits)."""
    d = "[0-9]"
    return [
        # 4-4-4-1..4 (13-16 digits) and 4-4-4-4-1..3 (17-19 digits): Visa, Mastercard, Discover...
        rf"[2-6]{d}{{3}}{sep}{d}{{4}}{sep}{d}{{4}}{sep}(?:{d}{{4}}{sep}{d}{{1,3}}|{d}{{1,4}})",
        # 4-6-5 (American Express, 15 digits) and 4-6-4 (Diners Club, 14 digits)
        rf"[2-6]{d}{{3}}{sep}{d}{{6}}{sep}{d}{{4,5}}",
    ]


# A candidate must stand alone: not glued to a letter or digit, and not continued by another digit
# group or a decimal part. Only non-capturing groups, so pandas' str.contains does not warn.
CARD_PATTERN = (
    r"(?<!\w)(?<![0-9][ .-])"
    r"(?:[2-6][0-9]{12,18}|" + "|".join(_card_layouts(" ") + _card_layouts("-")) + ")"
    r"(?!\w)(?![ .-][0-9])"
)

_EMAIL_RE = re.compile(EMAIL_PATTERN)
_PHONE_RE = re.compile(PHONE_PATTERN)
_CARD_RE = re.compile(CARD_PATTERN)
_NOT_DIGIT_RE = re.compile(r"[^0-9]")


def luhn_valid(digits: str) -> bool:
    """Tell whether a string of digits passes the Luhn (mod 10) checksum.

    The Luhn algorithm is the check-digit formula of ISO/IEC 7812-1, Annex B: starting from the
    rightmost digit (the check digit) and moving left, every second digit is doubled, 9 is
    subtracted from every doubled value above 9, and the number is valid when the sum of all the
    resulting digits is a multiple of 10.

    Parameters
    ----------
    digits : str
        The number as ASCII digits only, check digit last (no spaces or dashes).

    Returns
    -------
    bool
        True when the checksum holds; False when it does not, and for an empty string or any
        string holding something other than the ASCII digits 0-9.

    Examples
    --------
    >>> luhn_valid("79927398713")
    True
    >>> luhn_valid("79927398710")
    False
    """
    if not isinstance(digits, str) or not digits or not (digits.isascii() and digits.isdigit()):
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def normalize_kinds(kinds: Any) -> list[str]:
    """Validate and normalise the ``kinds`` keyword argument.

    Parameters
    ----------
    kinds : str, list of str or None
        Kinds of personal data to look for; None means all of :data:`PII_KINDS`, a single string
        means that one kind. Names are case-insensitive.

    Returns
    -------
    list of str
        The kinds, lower-cased, without duplicates, in the order given.

    Raises
    ------
    ValueError
        If a kind is unknown, is not a string, or if the list is empty.
    """
    if kinds is None:
        return list(PII_KINDS)
    if isinstance(kinds, str):
        kinds = [kinds]
    if not isinstance(kinds, Iterable) or isinstance(kinds, (bytes, dict)):
        raise ValueError(f"kinds must be a list of {list(PII_KINDS)}, got {kinds!r}")
    result: list[str] = []
    for kind in kinds:
        name = kind.strip().lower() if isinstance(kind, str) else kind
        if name not in PII_KINDS:
            raise ValueError(f"unknown PII kind {kind!r}: expected some of {list(PII_KINDS)}")
        if name not in result:
            result.append(name)
    if not result:
        raise ValueError(f"kinds must name at least one of {list(PII_KINDS)}, got an empty list")
    return result


def as_text(column: pd.Series) -> pd.Series:
    """Return the string form of every value of ``column`` (as an object Series of ``str``).

    Integral floats are written without their ``.0`` (``4111111111111111.0`` becomes
    ``4111111111111111``): pandas turns an integer column with a missing value into ``float64``.

    Parameters
    ----------
    column : pandas.Series
        Any column, nulls already removed.

    Returns
    -------
    pandas.Series
        Same index, object dtype, one ``str`` per value.
    """
    text = column.astype(str).astype(object)
    if pd.api.types.is_float_dtype(column.dtype) and len(column):
        values = column.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            integral = np.isfinite(values) & (np.floor(values) == values) & (np.abs(values) < 2.0**53)
        if integral.any():
            text = text.copy()
            text[integral] = [str(int(v)) for v in values[integral]]
    return text


def _has_valid_card(value: str) -> bool:
    """Tell whether ``value`` holds at least one card-number candidate that passes Luhn."""
    return any(luhn_valid(_NOT_DIGIT_RE.sub("", m.group(0))) for m in _CARD_RE.finditer(value))


def contains_pii(column: pd.Series, kinds: Any = None) -> pd.Series:
    """Flag the values of ``column`` whose text contains personal data of the given kinds.

    E-mail and phone numbers are found by vectorised regular expressions (pandas ``.str``); card
    numbers by a vectorised regular expression that finds candidates, followed by the Luhn
    checksum on the candidate rows only.

    Parameters
    ----------
    column : pandas.Series
        The values to test (nulls should be removed first; they would be tested as ``"None"``).
    kinds : list of str, optional
        Subset of :data:`PII_KINDS`; all of them by default.

    Returns
    -------
    pandas.Series
        Boolean, same index as ``column``: True where personal data was found.
    """
    selected = normalize_kinds(kinds)
    text = as_text(column)
    found = pd.Series(False, index=column.index, dtype=bool)
    if not len(text):
        return found
    if "email" in selected:
        # cheap literal pre-filter: the regular expression only runs where there is an "@"
        at = text.str.contains("@", regex=False).to_numpy(dtype=bool)
        if at.any():
            found[at] = text[at].str.contains(_EMAIL_RE, regex=True).to_numpy(dtype=bool)
    if "phone" in selected:
        found |= text.str.contains(_PHONE_RE, regex=True).to_numpy(dtype=bool)
    if "card" in selected:
        todo = ~found.to_numpy(dtype=bool)
        candidate = np.zeros(len(text), dtype=bool)
        candidate[todo] = text[todo].str.contains(_CARD_RE, regex=True).to_numpy(dtype=bool)
        if candidate.any():
            found[candidate] = [_has_valid_card(v) for v in text[candidate]]
    return found


class ColumnValuesGatekitNotPii(ColumnMapMetricProvider):
    """GE map metric: True for each value whose text holds no personal data of ``kinds``."""

    condition_metric_name = METRIC_NAME
    condition_value_keys = ("kinds",)

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, kinds: Any = None, **kwargs: Any) -> pd.Series:
        """Return the per-row condition (True = no personal data) for the pandas engine."""
        return ~contains_pii(column, kinds)


class ExpectColumnValuesToNotContainPii(ColumnMapExpectation):
    """Expect the values of a column to contain no e-mail address, phone number or card number.

    Registered in Great Expectations as ``expect_column_values_to_not_contain_pii``. See the module
    docstring for exactly what each kind matches.

    Parameters
    ----------
    column : str
        The column to check.
    kinds : list of str, default ``["email", "phone", "card"]``
        Which kinds of personal data to look for; an unknown kind or an empty list raises a
        validation error when the expectation is built.
    mostly : float, default 1.0
        Minimum fraction of non-null values that must be free of personal data.

    Notes
    -----
    Card numbers are 13 to 19 digits whose first digit is 2 to 6 and that pass the Luhn checksum
    (ISO/IEC 7812-1 Annex B, see :func:`luhn_valid`). The result is the usual column-map result:
    ``element_count``, ``unexpected_count``, ``unexpected_percent``, ``partial_unexpected_list``...
    """

    kinds: list[str] = pydantic.Field(
        default=list(PII_KINDS),
        description=f"Kinds of personal data to look for, some of {list(PII_KINDS)}.",
    )

    map_metric = METRIC_NAME
    success_keys = ("kinds", "mostly")
    args_keys = ("column", "kinds")

    @pydantic.validator("kinds", pre=True, allow_reuse=True)
    def _check_kinds(cls, value: Any) -> list[str]:
        """Reject unknown kinds and empty lists when the expectation is built."""
        return normalize_kinds(value)
