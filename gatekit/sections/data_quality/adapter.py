"""The ``data_quality:`` section on Great Expectations: every rule is one expectation, run in memory.

Rules are turned into expectations, validated together on one ephemeral batch of the evaluation data
(:class:`gatekit.validators.gx.Validator`) and each result becomes one :class:`~gatekit.core.results.CheckResult`
with the observed value, the unexpected count and percent and up to 20 example failing values.

Where a rule has a threshold (a null fraction, a share of values outside a range or set, a distinct
count), the observed value is compared with it by gatekit's shared comparison
(:func:`gatekit.core.decision.evaluate_threshold`); Great Expectations' own ``success`` is kept in the
details. Expectations named directly (built-in, custom or from a suite file) are decided by Great
Expectations' ``success``.

A column missing from the data fails its own rules with a message naming it; every other rule still
runs. A custom expectation file that does not import is one ``error`` check naming its file and line.
Custom expectation code is imported only when the policy asks for it (an expectation type, in the policy or
a suite, that is not built in, or an explicit ``expectations_dir``) and only from ``expectations_dir`` or
``expectations/`` beside the policy file (:func:`.plan.custom_folder`, :func:`.plan.custom_needed`); the
report's metadata says which folder and files ran, and why.

On the DuckDB engine (``ctx.inputs.engine == "duckdb"``) nothing is read into pandas: the built-in
expectations are computed as counts on the ibis table and judged by the expectations' own ``_validate``
(:mod:`.counts`), per-row custom expectations run batch by batch, and any other expectation is an ``error``
check saying why it cannot run there. The interpretation below is the same for both engines.
"""

from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import Any

from gatekit.core.decision import evaluate_threshold
from gatekit.core.formatting import fmt, fmt_pair
from gatekit.core.results import CheckKey, CheckResult, OnFail, Status
from gatekit.data.engine import TABLE_ENGINES
from gatekit.policy.loader import LoadedPolicy
from gatekit.policy.specs import DataQualitySpec
from gatekit.sections.data_quality.plan import (
    DEFAULT_CUSTOM_FOLDER,
    Item,
    batches,
    custom_folder,
    custom_needed,
    plan,
    share,
    unique_names,
)

SECTION = "data_quality"
EXAMPLES = 20


MAX_TEXT = 200  # characters of one example value kept in the report

def _plain(v: Any, finite: bool = False) -> Any:
    """Return plain Python data: numpy scalars unwrapped, other objects as text (``finite``: inf/NaN as text)."""
    if isinstance(v, dict):
        return {str(k): _plain(x, finite) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x, finite) for x in v]
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        try:
            v = v.item()
        except (ValueError, AttributeError):
            return str(v)
    if isinstance(v, float) and finite and not math.isfinite(v):
        return str(v)  # "inf" / "nan": strict JSON has no such number, and None would read as "no value"
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return str(v)


def _json_safe(v: Any) -> Any:
    return _plain(v, finite=True)


def _short(v: Any) -> Any:
    if isinstance(v, str) and len(v) > MAX_TEXT:
        return f"{v[:MAX_TEXT]}... ({len(v)} characters)"
    return v


def _raised(info: Any) -> str | None:
    """Return the message of an exception Great Expectations caught (top level or per metric), or None."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "the expectation raised").strip().splitlines()[0]
    for sub in info.values():
        if isinstance(sub, dict) and sub.get("raised_exception"):
            return str(sub.get("exception_message") or "a metric raised").strip().splitlines()[0]
    return None


class DataQualitySection:
    """Adapter for ``data_quality:`` (Great Expectations 1.x, ephemeral context)."""

    name = SECTION
    _folder_note = "the custom expectations folder"

    def planned(self, policy: LoadedPolicy) -> list[tuple[str, OnFail]]:
        """Return the checks planned from the policy alone (used if the section crashes)."""
        spec = policy.policy.data_quality
        return [] if spec is None else [(i.name, i.on_fail) for i in plan(spec, None)]

    def run(self, ctx: Any) -> list[CheckResult]:
        """Validate the evaluation data against every data-quality rule."""
        spec: DataQualitySpec | None = ctx.policy.policy.data_quality
        if spec is None:
            return []
        engine = getattr(ctx.inputs, "engine", "pandas")
        duck = engine in TABLE_ENGINES  # the rows are an ibis table: counts computed by the engine
        frame = ctx.inputs.table if duck else ctx.inputs.frame
        reference = ctx.inputs.reference_table if duck else ctx.inputs.reference
        if frame is None:
            return [CheckResult(name=n, section=SECTION, status=Status.NOT_COMPUTABLE, on_fail=s,
                                message="no evaluation data was given (inputs.data / --data)")
                    for n, s in self.planned(ctx.policy)]
        from gatekit.validators import gx

        columns = [str(c) for c in frame.columns]
        out: list[CheckResult] = []
        items = plan(spec, columns)
        for path_ref in spec.suites:
            items.extend(self._suite_items(path_ref, spec, ctx.policy))
        unique_names(items)
        # custom code runs only when the policy asks for it: an expectation type that is not built in, or an
        # explicit expectations_dir; and only from that folder or expectations/ beside the policy file
        requested = custom_needed(items, gx.not_builtin)
        wanted = bool(requested) or spec.expectations_dir is not None
        folder = custom_folder(spec, ctx.policy)
        self._folder_note = (f"the custom expectations folder {folder}" if folder is not None else
                             "a custom expectations folder (there is none: "
                             + ("the policy is not a file, so set data_quality.expectations_dir"
                                if ctx.policy.path is None else
                                f"no {DEFAULT_CUSTOM_FOLDER}/ folder beside the policy file; put one there or set "
                                "data_quality.expectations_dir, relative to the policy file") + ")")
        with gx.custom_expectations(folder if wanted else None) as load:  # loaded for this run only
            load.requested = requested
            load.note = self._load_note(load, folder, requested, wanted)
            ctx.info[SECTION] = {"custom_expectations": load.as_info(), "rows": None if duck else len(frame),
                                 "engine": engine}
            if spec.expectations_dir is not None and folder is not None and not folder.is_dir():
                out.append(CheckResult(name="custom_expectations", section=SECTION, status=Status.ERROR,
                                       on_fail=spec.on_fail, message=f"expectations_dir {spec.expectations_dir!r} is "
                                       f"not a folder ({folder}); fix the path in the policy (relative to the policy "
                                       "file)"))
            for k, err in enumerate(load.errors):
                where = f"{err['file']}:{err['line']}" if err["line"] else err["file"]
                same = sum(e["file"] == err["file"] for e in load.errors[:k])
                out.append(CheckResult(name=f"custom_expectations:{Path(err['file']).name}" + (f"#{same + 1}" if same
                                                                                               else ""),
                                       section=SECTION, status=Status.ERROR, on_fail=spec.on_fail,
                                       message=f"{where}: the custom expectation file failed to load: "
                                               f"{err['message']}; fix the file (the other checks ran)",
                                       details=err))
            failed_files = {Path(e["file"]).stem: e for e in load.errors}
            named = {i.column for i in items if i.column is not None}
            for item in items:
                if item.verdict is None:
                    try:
                        self._prepare(item, frame, columns, reference, failed_files, named, duck)
                    except Exception as exc:  # noqa: BLE001 - one unusable column never stops the other rules
                        item.verdict = CheckResult(name=item.name, section=SECTION, status=Status.ERROR,
                                                   on_fail=item.on_fail, message=f"cannot prepare this rule: "
                                                   f"{type(exc).__name__}: {exc}")
            tampered = load.tampered()  # custom code run while the expectations were built
            runnable = [i for i in items if i.verdict is None and i.expectation is not None]
            if duck:
                by_id, facts = self._run_duckdb(runnable, frame, reference,
                                                frozenset(ctx.inputs.categorical.get("data", ())))
                ctx.info[SECTION]["rows"] = facts.rows
            else:
                by_id, facts = self._run_pandas(runnable, frame, ctx.options.reference_paths), _FrameFacts(frame)
            tampered += load.tampered()  # ... or while they were validated
        for item in items:
            if item.verdict is not None:
                out.append(item.verdict)
                continue
            try:
                out.append(self._interpret(item, by_id.get(id(item)), facts))
            except Exception as exc:  # noqa: BLE001 - an unreadable result is this rule's error alone
                out.append(CheckResult(name=item.name, section=SECTION, status=Status.ERROR, on_fail=item.on_fail,
                                       message=f"cannot read Great Expectations' result: {type(exc).__name__}: {exc}"))
        if tampered:  # a built-in was swapped mid-run: no result of this section can be trusted to pass
            why = (f"custom expectation code replaced {', '.join(sorted(set(tampered)))} while the checks ran "
                   "(restored now); this section's results are not trusted")
            for c in out:
                if c.status == Status.PASS:
                    c.status, c.message = Status.ERROR, f"{why}; it read: {c.message}"
            out.insert(0, CheckResult(name="custom_expectations:tampering", section=SECTION, status=Status.ERROR,
                                      on_fail=spec.on_fail, message=why))
        return out

    @staticmethod
    def _load_note(load: Any, folder: Path | None, requested: list[str], wanted: bool) -> str:
        """Say which custom expectation code ran, from where, and why (the report's metadata)."""
        if not wanted:
            skipped = f"; {folder} was not imported" if folder is not None else ""
            return ("no custom expectation code was imported: the policy names no expectation outside Great "
                    f"Expectations and gatekit and sets no expectations_dir{skipped}")
        why = (f"the policy names {', '.join(requested)}, not built in" if requested else
               "the policy sets expectations_dir")
        if folder is None:
            return f"no custom expectation code was imported: {why}, but there is no custom expectations folder"
        if not folder.is_dir():
            return f"no custom expectation code was imported: {why}, but {folder} is not a folder"
        names = ", ".join(Path(f).name for f in load.files) or "none"
        return f"imported {len(load.files)} file(s) from {folder} ({names}) because {why}"

    # engines ------------------------------------------------------------------------------------------

    @staticmethod
    def _run_pandas(runnable: list[Item], frame: Any, plain: bool) -> dict[int, Any]:
        """Validate the items with Great Expectations on the pandas frame (in batches, see :func:`.plan.batches`)."""
        from gatekit.validators import gx

        results_by: dict[int, Any] = {}
        validator = None
        for part, group in batches(runnable, frame, plain):
            if validator is None:
                validator = gx.Validator(part)
            else:
                validator.use(part)
            for item, res in zip(group, validator.validate([i.expectation for i in group], EXAMPLES), strict=True):
                results_by[id(item)] = res
        return results_by

    @staticmethod
    def _run_duckdb(runnable: list[Item], table: Any, reference: Any,
                    categorical: frozenset[str] = frozenset()) -> tuple[dict[int, Any], Any]:
        """Compute the items on the engine's table (:mod:`.counts`); refused items get their error verdict."""
        from gatekit.data.engine import is_spark
        from gatekit.sections.data_quality import counts
        from gatekit.validators import gx

        engine = "spark" if is_spark(table) else "duckdb"
        shown = {"spark": "Spark", "duckdb": "DuckDB"}[engine]
        counted: list[Item] = []
        streamed: list[Item] = []
        single: list[Item] = []
        on_spark: list[Item] = []
        for item in runnable:
            how, why = counts.route(item, table)
            if how == "counts":
                counted.append(item)
            elif how == "stream":
                streamed.append(item)
            elif engine == "spark" and (how != "column" or counts._is_builtin(type(item.expectation))):
                on_spark.append(item)  # Great Expectations' Spark datasource computes it on the cluster
            elif how == "column":
                single.append(item)
            else:
                item.verdict = CheckResult(
                    name=item.name, section=SECTION, status=Status.ERROR, on_fail=item.on_fail,
                    message=f"{item.expectation_type} cannot run on the {shown} engine: {why}; this rule is not "
                            "checked (run the policy on the pandas engine, or remove the rule)",
                    details=_json_safe({"expectation": item.expectation_type, "kwargs": item.kwargs,
                                        "column": item.column, "rule": item.rule, "engine": engine}))
        by_id, facts = counts.evaluate(counted, table, reference, categorical)
        by_id.update(counts.stream(streamed, table, gx.Validator))
        by_id.update(counts.one_column(single, table, gx.Validator))
        if on_spark:
            from gatekit.data.spark import spark_dataframe

            validator = gx.SparkValidator(spark_dataframe(table))
            for item, res in zip(on_spark, validator.validate([i.expectation for i in on_spark], counts.EXAMPLES),
                                 strict=True):
                item.hint = (f"{item.hint}; " if item.hint else "") + (
                    "on Spark this expectation ran on Great Expectations' Spark datasource (SparkDFExecutionEngine)")
                by_id[id(item)] = res
        return by_id, facts

    # planning helpers ---------------------------------------------------------------------------------

    def _suite_items(self, ref: Any, spec: DataQualitySpec, policy: LoadedPolicy) -> list[Item]:
        from gatekit.validators import gx

        path = (policy.base_dir / ref.path).resolve()
        sev = ref.on_fail or spec.on_fail
        try:
            suite_name, exps = gx.read_suite(path)
        except ValueError as exc:
            return [Item(f"suite:{Path(ref.path).name}", sev, "generic",
                          verdict=CheckResult(name=f"suite:{Path(ref.path).name}", section=SECTION,
                                              status=Status.ERROR, on_fail=sev, message=str(exc)))]
        items = []
        for e in exps:
            col = e["kwargs"].get("column")
            label = f"{e['type']}({col})" if isinstance(col, str) else e["type"]
            items.append(Item(f"{suite_name}:{label}", sev, "generic", col if isinstance(col, str) else None,
                               expectation_type=e["type"], kwargs=dict(e["kwargs"]),
                               description=f"from suite {path.name}"))
        return items

    def _prepare(self, item: Item, frame: Any, columns: list[str], reference: Any,
                 failed_files: dict[str, dict[str, Any]], named: set[str], duck: bool = False) -> None:
        """Build the item's expectation, or decide it now (missing column, no reference, bad arguments).

        On DuckDB (``duck``) the reference is an ibis table and an unseen rule's value set is not read into
        memory: its expectation is built with an empty placeholder set and the counts anti-join the reference.
        """
        from gatekit.validators import gx

        def verdict(status: Status, message: str, **extra: Any) -> None:
            item.verdict = CheckResult(name=item.name, section=SECTION, status=status, on_fail=item.on_fail,
                                       message=message, details=_json_safe({
                                           "expectation": item.expectation_type, "kwargs": item.kwargs,
                                           "column": item.column, "rule": item.rule, **extra}))

        if item.column is not None and item.column not in columns:
            # suggest only columns the policy does not already name: they have rules of their own
            close = difflib.get_close_matches(item.column, [c for c in columns if c not in named], n=1, cutoff=0.75)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            if item.kind == "present":
                item.hint = hint  # Great Expectations runs expect_column_to_exist; the hint joins its verdict
            else:
                verdict(Status.FAIL, f"column {item.column!r} is missing from the data{hint}, so this rule fails")
                return
        if item.kind == "unseen":
            if reference is None:
                verdict(Status.NOT_COMPUTABLE, "no reference data was given (inputs.reference / --reference), so "
                                               "unseen values cannot be counted")
                return
            if item.column not in reference.columns:
                verdict(Status.NOT_COMPUTABLE, f"column {item.column!r} is not in the reference data")
                return
            if duck:
                item.kwargs["value_set"] = []  # placeholder: the counts anti-join the reference table
            else:
                item.kwargs["value_set"] = reference[item.column].dropna().unique().tolist()
        cls = gx.expectation_class(item.expectation_type or "")
        if cls is None:
            known = gx.known_expectations()
            close = difflib.get_close_matches(item.expectation_type or "", known, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            broken = [f"{e['file']}:{e['line']}" for e in failed_files.values()]
            also = f"; custom expectation files that failed to load: {', '.join(broken)}" if broken else ""
            verdict(Status.ERROR, f"unknown expectation {item.expectation_type!r}: not part of Great Expectations and "
                                  f"not defined in {self._folder_note}{hint}{also}")
            return
        try:
            item.expectation = cls(**item.kwargs)
        except Exception as exc:  # noqa: BLE001 - pydantic or the class itself refused the arguments
            first = str(exc).strip().splitlines()
            verdict(Status.ERROR, f"invalid arguments for {item.expectation_type}: "
                                  f"{'; '.join(first[:3]) if first else type(exc).__name__}")

    # result interpretation ----------------------------------------------------------------------------

    def _interpret(self, item: Item, res: Any, facts: Any) -> CheckResult:
        base: CheckKey = dict(name=item.name, section=SECTION, on_fail=item.on_fail)
        kwargs_shown = dict(item.kwargs)
        if item.kind == "unseen":
            values = kwargs_shown.pop("value_set", [])
            kwargs_shown["reference_distinct_values"] = (item.reference_distinct if item.reference_distinct
                                                         is not None else len(values))
        details: dict[str, Any] = {"expectation": item.expectation_type, "kwargs": kwargs_shown,
                                   "description": item.description, "column": item.column, "rule": item.rule}
        if res is None:
            return CheckResult(status=Status.ERROR, message="Great Expectations returned no result for this rule",
                               details=_json_safe(details), **base)
        r = _plain(dict(res.result or {}))  # numpy scalars (np.int64 maxima) become plain numbers
        msg = _raised(res.exception_info)
        if msg is not None:
            details["exception"] = msg
            return CheckResult(status=Status.ERROR, message=f"Great Expectations could not evaluate "
                                                            f"{item.expectation_type}: {msg}",
                               details=_json_safe(details), **base)
        for key in ("element_count", "unexpected_count", "unexpected_percent", "missing_count",
                    "observed_value"):
            if key in r:
                details[key] = r[key]
        if "partial_unexpected_list" in r and item.kind != "nulls" and not _is_pii(item):
            # (null examples would all read None; a personal-data finding is never shown, only counted)
            distinct: list[Any] = []  # distinct values, first seen first: "6, 6" tells nothing "6" does not
            for x in r["partial_unexpected_list"]:
                if x not in distinct:
                    distinct.append(x)
            details["examples"] = [_short(x) for x in distinct[:EXAMPLES]]
        if isinstance(r.get("details"), dict):
            details["result_details"] = r["details"]
        success = res.success is True  # a custom _validate returning "false" or NaN is not a success
        details["great_expectations_success"] = success
        if item.hint and item.kind != "present":  # how the engine ran it (one column read alone on DuckDB)
            details["engine_note"] = item.hint
        return _json_safe_result(self._verdict(item, r, success, details, facts), base, details)

    def _verdict(self, item: Item, r: dict[str, Any], success: bool, details: dict[str, Any],
                 facts: Any) -> tuple[Status, float | None, str | None, float | None, str]:
        col = item.column
        n_rows = facts.rows
        if item.kind in ("unique", "distinct") and facts.looked(item) == 0:
            return Status.NOT_COMPUTABLE, None, None, None, f"column {col!r} has no non-null values to check"
        if item.kind == "present":
            return ((Status.PASS, None, None, None, f"column {col!r} is present") if success else
                    (Status.FAIL, None, None, None, f"required column {col!r} is missing from the data"
                                                    f"{item.hint}"))
        if item.kind == "type":
            d = r.get("details") or {}
            want = item.kwargs["type_"] + (f" ({item.kwargs['timezone']})" if item.kwargs.get("timezone") else "")
            note = d.get("note", r.get("observed_value"))
            if d.get("determinable") is False:
                return Status.NOT_COMPUTABLE, None, None, None, f"expected {want}; {note}"
            return (Status.PASS if success else Status.FAIL), None, None, None, \
                f"expected {want}; found {note}"
        if item.kind == "rows":
            rows = r.get("observed_value")
            lo, hi = item.bounds or (None, None)
            if not isinstance(rows, (int, float)):
                return Status.ERROR, None, None, None, "Great Expectations gave no row count"
            op, thr = (("<=", float(hi)) if hi is not None and (lo is None or rows > hi) else (">=", float(lo or 0)))
            status, _ = evaluate_threshold(float(rows), op, thr)
            want = " and ".join(x for x in (f">= {fmt(lo)}" if lo is not None else "",
                                             f"<= {fmt(hi)}" if hi is not None else "") if x)
            return status, float(rows), op, thr, f"{fmt(rows)} rows; required {want}"
        if item.kind == "distinct":
            n = r.get("observed_value")
            if not isinstance(n, (int, float)):
                return Status.ERROR, None, None, None, "Great Expectations gave no distinct count"
            status, _ = evaluate_threshold(float(n), "<=", float(item.threshold or 0))
            return status, float(n), "<=", item.threshold, \
                f"{fmt(n)} distinct values; at most {fmt(item.threshold)} allowed"
        if item.kind == "generic":
            looked = facts.looked(item)
            if looked == 0 and success and item.expectation_type not in _ABOUT_NULLS_OR_SCHEMA:
                why = ("no row matches its row_condition" if item.kwargs.get("row_condition") else
                       "the data has no rows" if n_rows == 0 else "every value is null")
                return Status.NOT_COMPUTABLE, None, None, None, \
                    f"{item.expectation_type} looked at no value ({why}), so its success proves nothing"
            return self._generic(item, r, success)
        unexpected = r.get("unexpected_count")
        if not isinstance(unexpected, (int, float)):
            return Status.ERROR, None, None, None, "Great Expectations gave no unexpected count"
        if item.kind == "unique":
            status, _ = evaluate_threshold(float(unexpected), "<=", 0.0)
            shown = ", ".join(map(repr, details.get("examples", [])[:5]))
            msg = ("every non-null value is distinct" if status == Status.PASS else
                   f"{fmt(unexpected)} rows hold a value that another row also holds" + (f"; e.g. {shown}" if shown
                                                                                       else ""))
            return status, float(unexpected), "<=", 0.0, msg
        if item.kind == "nulls":
            total = r.get("element_count") or n_rows
            frac = unexpected / total if total else None
            if frac is None:
                return Status.NOT_COMPUTABLE, None, None, None, "the data has no rows"
            status, _ = evaluate_threshold(frac, "<=", float(item.threshold or 0))
            shown, limit = fmt_pair(frac, float(item.threshold or 0))
            verdict = "meets" if status == Status.PASS else "does not meet"
            return status, frac, "<=", item.threshold, \
                f"null fraction {shown} ({fmt(unexpected)} of {fmt(total)} rows) {verdict} <= {limit}"
        # share of non-null values outside a range / set / the reference's values
        non_null = (r.get("element_count") or 0) - (r.get("missing_count") or 0)
        if non_null <= 0:
            return Status.NOT_COMPUTABLE, None, None, None, f"column {col!r} has no non-null values to check"
        share = unexpected / non_null
        status, _ = evaluate_threshold(share, "<=", float(item.threshold or 0))
        is_set = item.expectation_type == "expect_column_values_to_be_in_set"
        what = (_range_text(item.bounds) if not is_set else
                "never seen in the reference data" if item.kind == "unseen" else "outside the allowed set")
        examples = ", ".join(map(repr, details.get("examples", [])[:5]))
        msg = f"{fmt(unexpected)} of {fmt(non_null)} non-null values ({fmt(100 * share)} %) are {what}"
        msg += f"; at most {fmt(100 * (item.threshold or 0))} % allowed"
        if examples and unexpected:
            msg += f"; e.g. {examples}"
        allowed = item.kwargs.get("value_set") if is_set and item.kind == "share" else None
        if status == Status.FAIL and allowed and any(isinstance(v, bool) for v in allowed):
            msg += ("; note: the allowed list holds booleans, and YAML reads unquoted yes/no/on/off as booleans: "
                    "quote them ('yes') if the column holds text")
        return status, share, "<=", item.threshold, msg

    def _generic(self, item: Item, r: dict[str, Any], success: bool) -> tuple[Any, ...]:
        status = Status.PASS if success else Status.FAIL
        if isinstance(r.get("element_count"), int) and isinstance(r.get("unexpected_count"), (int, float)):
            checked = r["element_count"] - (r.get("missing_count") or 0)
            if checked <= 0:  # nothing was looked at: "0 unexpected" proves nothing (fail closed)
                why = ("no row matches its row_condition" if item.kwargs.get("row_condition") else
                       "the data has no rows" if r["element_count"] == 0 else "every value is null")
                return Status.NOT_COMPUTABLE, None, None, None, f"{item.expectation_type} checked no value ({why})"
        if isinstance(r.get("unexpected_count"), (int, float)) and r.get("unexpected_percent") is not None:
            pct = float(r["unexpected_percent"])
            mostly = item.kwargs.get("mostly", 1.0)
            thr = share(mostly) if isinstance(mostly, (int, float)) else None
            sample = [] if _is_pii(item) else list(r.get("partial_unexpected_list") or [])[:5]
            examples = ", ".join(repr(_short(x)) for x in sample)
            n = r["unexpected_count"]
            msg = f"{fmt(n)} unexpected value{'' if n == 1 else 's'} ({fmt(pct)} %)"
            if examples:
                msg += f"; e.g. {examples}"
            return status, pct / 100.0, "<=" if thr is not None else None, thr, msg
        obs = r.get("observed_value")
        shown = fmt(obs) if isinstance(obs, (int, float)) and not isinstance(obs, bool) else repr(obs)
        verdict = "holds" if success else "does not hold"
        observed = float(obs) if isinstance(obs, (int, float)) and not isinstance(obs, bool) else None
        if observed is not None and not math.isfinite(observed):
            observed = None
        if obs is None and ("observed_value" in r or not success):
            reason = (r.get("details") or {}).get("reason") if isinstance(r.get("details"), dict) else None
            if reason or "observed_value" in r:  # computed nothing (all-null column, no rows): fail closed
                return Status.NOT_COMPUTABLE, None, None, None, \
                    f"{item.expectation_type} has no observed value ({reason or 'nothing to compute it from'})"
        args = ", ".join(f"{k}={_short(v)!r}" for k, v in item.kwargs.items() if k not in ("column", "meta"))
        result_details = r.get("details")
        extra = result_details if isinstance(result_details, dict) else {}
        more = f"; most common value {extra['value']!r}" if "value" in extra else ""
        return status, observed, None, None, \
            f"{item.expectation_type} {verdict}; observed {shown}" + (f" ({args})" if args else "") + more


# expectations whose answer is about nulls or the schema, so an all-null column is a real answer for them
_ABOUT_NULLS_OR_SCHEMA = frozenset({
    "expect_column_to_exist", "expect_column_values_to_be_null", "expect_column_values_to_not_be_null",
    "expect_column_proportion_of_non_null_values_to_be_between", "expect_column_values_to_be_of_type",
    "expect_column_values_to_be_in_type_list", "expect_column_type_to_be",
})


class _FrameFacts:
    """Rows of the pandas frame, and the non-null values an item looked at (counted when asked)."""

    def __init__(self, frame: Any) -> None:
        self.frame = frame
        self.rows = len(frame)

    def looked(self, item: Item) -> int | None:
        return _values_looked_at(item, self.frame)


def _values_looked_at(item: Item, frame: Any) -> int | None:
    """Non-null values of the item's column the expectation saw (after a pandas ``row_condition``), if known."""
    col = item.column
    if col is None or col not in frame.columns:
        return None
    cond = item.kwargs.get("row_condition")
    if cond:
        if item.kwargs.get("condition_parser") not in (None, "pandas"):
            return None  # another condition syntax: gatekit does not re-evaluate it
        try:
            frame = frame.query(cond)
        except Exception:  # noqa: BLE001 - a condition pandas cannot read: Great Expectations reports it
            return None
    return int(frame[col].notna().sum())


def _range_text(bounds: tuple[float | None, float | None] | None) -> str:
    lo, hi = bounds or (None, None)
    if lo is not None and hi is not None:
        return f"outside [{fmt(lo)}, {fmt(hi)}]"
    return f"below {fmt(lo)}" if lo is not None else f"above {fmt(hi)}"


def _is_pii(item: Item) -> bool:
    """Tell whether the item is a personal-data expectation (its findings are counted, never shown)."""
    return "pii" in (item.expectation_type or "")


def _json_safe_result(v: tuple[Any, ...], base: CheckKey, details: dict[str, Any]) -> CheckResult:
    from gatekit.core.decision import margin

    status, observed, op, threshold, message = v
    m = margin(observed, op, threshold) if observed is not None and op and threshold is not None else None
    return CheckResult(status=status, observed=observed, op=op, threshold=threshold, margin=m, message=message,
                       details=_json_safe(details), **base)
