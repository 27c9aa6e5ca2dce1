"""Planning of the ``data_quality:`` section: its rules as expectations, and the batches they run in.

Each rule becomes one :class:`Item` (an expectation to run, or a verdict reached without one: a missing
column, bad keyword arguments), and :func:`batches` groups the items into the frames Great Expectations
validates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gatekit.core.results import CheckResult, OnFail
from gatekit.policy.loader import LoadedPolicy
from gatekit.policy.specs import ColumnRules, DataQualitySpec


@dataclass
class Item:
    """One planned check: its expectation (or a verdict reached without one) and how to read the result."""

    name: str
    on_fail: OnFail
    kind: str  # present, type, nulls, share, distinct, unique, rows, generic
    column: str | None = None
    threshold: float | None = None
    expectation_type: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    bounds: tuple[float | None, float | None] | None = None
    verdict: CheckResult | None = None  # decided before Great Expectations runs (missing column, bad kwargs)
    expectation: Any = None
    hint: str = ""
    rule: str | None = None  # for column rules: present, type, max_null_fraction, range, allowed, ...
    reference_distinct: int | None = None  # unseen rules on DuckDB: distinct reference values (set by the counts)


_COLUMN_KWARGS = ("column", "column_A", "column_B", "column_list")
_ROW_ONLY = {"expect_table_row_count_to_be_between", "expect_table_row_count_to_equal"}


def item_columns(item: Item) -> list[Any] | None:
    """Return the columns an expectation reads, from its kwargs.

    None when they cannot be told: a row_condition, or a table-level custom expectation.
    """
    kw = item.kwargs
    if kw.get("row_condition") is not None:
        return None
    names: list[Any] = []
    for key in _COLUMN_KWARGS:
        val = kw.get(key)
        if val is not None:
            names.extend(val if isinstance(val, (list, tuple)) else [val])
    if not names and item.expectation_type not in _ROW_ONLY:
        return None
    return names


def batches(items: list[Item], frame: Any, plain: bool = False) -> list[tuple[Any, list[Item]]]:
    """Split the expectations into batches Great Expectations validates: one frame per column read alone.

    Great Expectations' pandas engine copies the whole batch frame for every column expectation (its null
    filter), so at a million rows, validating each single-column expectation on a one-column frame (same
    rows, same index) saves most of that time and memory. Expectations that read several columns, have a
    row_condition or whose columns cannot be told run on the frame restricted to the columns all of these
    read (the whole frame when any of them cannot be told). Results never depend on the split:
    ``plain`` (:attr:`gatekit.core.options.RunOptions.reference_paths`) validates everything on the whole
    frame in one batch (the plain path).
    """
    if plain:
        return [(frame, list(items))] if items else []
    single: dict[Any, list[Item]] = {}
    rest: list[Item] = []
    rest_cols: list[Any] | None = []
    for item in items:
        cols = item_columns(item)
        if cols is not None and len(cols) == 1 and cols[0] in frame.columns:
            single.setdefault(cols[0], []).append(item)
            continue
        rest.append(item)
        if cols is None or any(c not in frame.columns for c in cols) or rest_cols is None:
            rest_cols = None
        else:
            rest_cols.extend(c for c in cols if c not in rest_cols)
    out = [(frame[[col]], group) for col, group in single.items()]
    if rest:
        if rest_cols is None:
            part = frame
        else:
            part = frame[rest_cols or list(frame.columns[:1])]
        out.append((part, rest))
    return out


def column_rules(spec: DataQualitySpec) -> dict[str, ColumnRules]:
    """Return the rules of every column the spec names (a required column with no rules gets the defaults)."""
    rules = dict(spec.columns)
    for col in spec.required_columns:
        rules.setdefault(col, ColumnRules())
    return rules


def plan(spec: DataQualitySpec, columns: list[str] | None) -> list[Item]:
    """Plan the checks of the section (``columns`` is None when there is no data: plan from the policy only)."""
    items: list[Item] = []
    section_on_fail = spec.on_fail
    row_count = spec.row_count
    if row_count is None and spec.min_rows is not None:
        from gatekit.policy.specs import RowCountSpec

        row_count = RowCountSpec(min=spec.min_rows)
    if row_count is not None and (row_count.min is not None or row_count.max is not None):
        items.append(Item("row_count", row_count.on_fail or section_on_fail, "rows",
                           expectation_type="expect_table_row_count_to_be_between",
                           kwargs={"min_value": row_count.min, "max_value": row_count.max},
                           bounds=(row_count.min, row_count.max)))
    for col, r in column_rules(spec).items():
        first = len(items)
        column_items(items, col, r, r.on_fail or section_on_fail, columns)
        for item in items[first:]:
            item.rule = item.name[len(col) + 1:]
    if spec.max_null_fraction is not None and columns is not None:
        own = {c for c, r in spec.columns.items() if r.max_null_fraction is not None}
        for col in columns:
            if col not in own:  # a column's own on_fail applies to every rule on it, this one included
                col_rules = spec.columns.get(col)
                sev = (col_rules.on_fail if col_rules is not None else None) or section_on_fail
                items.append(nulls(col, spec.max_null_fraction, sev, None))
                items[-1].rule = "max_null_fraction"
    for e in spec.expectations:
        target = e.kwargs.get("column")  # any value: a generic expectation's kwargs are not validated here
        name = e.name or (f"{e.type}({target})" if isinstance(target, str) else e.type)
        items.append(Item(name, e.on_fail or section_on_fail, "generic", target if isinstance(target, str) else None,
                           expectation_type=e.type, kwargs=dict(e.kwargs), description=e.description))
    return items


def column_items(items: list[Item], col: str, r: ColumnRules, sev: OnFail, columns: list[str] | None) -> None:
    """Append the checks of one column's rules."""
    if columns is not None and col not in columns and not r.required:
        return  # an optional column that is absent: its rules do not apply
    if r.required:
        items.append(Item(f"{col}.present", sev, "present", col, expectation_type="expect_column_to_exist",
                           kwargs={"column": col}, description=r.description))
    if r.type is not None:
        kw = {"column": col, "type_": r.type, **({"timezone": r.timezone} if r.timezone else {})}
        items.append(Item(f"{col}.type", sev, "type", col, expectation_type="expect_column_logical_type_to_be",
                           kwargs=kw, description=r.description))
    if r.max_null_fraction is not None:
        items.append(nulls(col, r.max_null_fraction, sev, r.description))
    if r.min is not None or r.max is not None:
        items.append(Item(f"{col}.range", sev, "share", col, threshold=share(r.mostly),
                           expectation_type="expect_column_values_to_be_between",
                           kwargs={"column": col, "min_value": r.min, "max_value": r.max, "mostly": r.mostly},
                           bounds=(r.min, r.max), description=r.description))
    if r.allowed is not None:
        items.append(Item(f"{col}.allowed", sev, "share", col, threshold=share(r.mostly),
                           expectation_type="expect_column_values_to_be_in_set",
                           kwargs={"column": col, "value_set": list(r.allowed), "mostly": r.mostly},
                           description=r.description))
    if r.max_distinct is not None:
        items.append(Item(f"{col}.distinct", sev, "distinct", col, threshold=float(r.max_distinct),
                           expectation_type="expect_column_unique_value_count_to_be_between",
                           kwargs={"column": col, "max_value": r.max_distinct}, description=r.description))
    if r.max_unseen_share is not None:
        items.append(Item(f"{col}.unseen_share", sev, "unseen", col, threshold=r.max_unseen_share,
                           expectation_type="expect_column_values_to_be_in_set",
                           kwargs={"column": col, "mostly": 1.0 - r.max_unseen_share}, description=r.description))
    if r.unique:
        items.append(Item(f"{col}.unique", sev, "unique", col, threshold=0.0,
                           expectation_type="expect_column_values_to_be_unique", kwargs={"column": col},
                           description=r.description))


def unique_names(items: list[Item]) -> None:
    """Suffix repeated check names (``name#2``) so every check can be told apart in the report."""
    seen: dict[str, int] = {}
    for item in items:
        n = seen.get(item.name, 0) + 1
        seen[item.name] = n
        if n > 1:
            item.name = f"{item.name}#{n}"


def share(mostly: float) -> float:
    """Return the share of rows allowed to fail from Great Expectations' ``mostly`` (``1 - mostly``, rounded)."""
    return round(1.0 - mostly, 12)


def nulls(col: str, limit: float, sev: OnFail, description: str | None) -> Item:
    """Return the item checking that at most ``limit`` of ``col``'s values are missing."""
    return Item(f"{col}.max_null_fraction", sev, "nulls", col, threshold=limit,
                 expectation_type="expect_column_values_to_not_be_null",
                 kwargs={"column": col, "mostly": round(1.0 - limit, 12)}, description=description)


DEFAULT_CUSTOM_FOLDER = "expectations"
"""The custom expectations folder used when the policy sets no ``expectations_dir``: beside the policy file."""


def custom_folder(spec: DataQualitySpec, policy: LoadedPolicy) -> Path | None:
    """Return the folder custom expectations would be imported from, or None when there is none.

    ``expectations_dir`` (relative to the policy file) when the spec sets it, else an ``expectations/``
    folder beside the policy file itself. Never the policy's parent folder nor the current directory: a
    folder there may belong to someone else. A policy given as a mapping has no file, so no default folder.
    Whether the folder is imported at all is :func:`custom_needed`'s question.
    """
    if spec.expectations_dir is not None:
        return (policy.base_dir / spec.expectations_dir).resolve()
    if policy.path is None:
        return None
    cand = policy.path.resolve().parent / DEFAULT_CUSTOM_FOLDER
    return cand.resolve() if cand.is_dir() else None


def custom_needed(items: list[Item], not_builtin: Any) -> list[str]:
    """Return the expectation types that need custom code: named by the policy or a suite, and not built in.

    ``not_builtin`` maps a list of types to those no registered expectation has
    (:func:`gatekit.validators.gx.not_builtin`). Custom code is imported only when this is non-empty or the
    policy sets ``expectations_dir``: a policy that asks for no custom expectation runs none.
    """
    named = [i.expectation_type for i in items if i.verdict is None and i.expectation_type]
    return list(not_builtin(named)) if named else []
