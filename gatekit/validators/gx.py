"""Great Expectations at run time: an ephemeral context, gatekit's own expectations, custom expectations.

Imported only by the data-quality section, so ``gatekit --help`` never pays for Great Expectations'
import. Nothing is written to disk: the context is ephemeral (``gx.get_context(mode="ephemeral")``) and
validation results stay in memory.

Great Expectations keeps one process-wide registry of expectation classes, filled when a class is
defined. gatekit's own expectation is defined on first use (:func:`builtin_expectations`); custom ones
are defined when :func:`load_custom_expectations` imports their files, explicitly, at run time.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gatekit.core.userfiles import error_line, exec_user_file

LOGICAL_TYPE_EXPECTATION = "expect_column_logical_type_to_be"


def _quiet() -> None:
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.ERROR)


@functools.cache
def builtin_expectations() -> dict[str, type]:
    """Define (once per process) gatekit's own expectations and return them by snake_case name.

    ``expect_column_logical_type_to_be(column, type_, timezone=None)``: the column holds the logical
    type (:mod:`gatekit.data.logical_types`). Its observed value is the column's dtype; ``result.details``
    holds the full description. An all-null column cannot show its type: the expectation does not
    succeed and says so (fail closed).
    """
    _quiet()
    from great_expectations.execution_engine import PandasExecutionEngine
    from great_expectations.expectations.expectation import ColumnAggregateExpectation
    from great_expectations.expectations.metrics import ColumnAggregateMetricProvider, column_aggregate_value

    from gatekit.data.logical_types import describe_column, type_matches

    class GatekitColumnDescription(ColumnAggregateMetricProvider):
        """The column's storage as plain data (:func:`gatekit.data.logical_types.describe_column`)."""

        metric_name = "gatekit.column.description"

        @column_aggregate_value(engine=PandasExecutionEngine)
        def _pandas(cls, column: Any, **kwargs: Any) -> dict[str, Any]:
            return describe_column(column)

    class ExpectColumnLogicalTypeToBe(ColumnAggregateExpectation):
        """Expect a column to hold a logical type (integer, float, number, string, boolean, datetime, category).

        Parameters
        ----------
        column : str
        type_ : str
            A logical type from :mod:`gatekit.data.logical_types`.
        timezone : str, optional
            For datetime: ``naive``, ``aware`` or a zone name.
        """

        type_: str
        timezone: str | None = None
        metric_dependencies = ("gatekit.column.description",)
        success_keys = ("type_", "timezone")

        def _validate(self, metrics: dict[str, Any], runtime_configuration: dict[str, Any] | None = None,
                      execution_engine: Any = None) -> dict[str, Any]:
            desc = metrics["gatekit.column.description"]
            kwargs = self.configuration.kwargs
            ok, note = type_matches(desc, kwargs["type_"], kwargs.get("timezone"))
            return {"success": bool(ok), "result": {"observed_value": desc["dtype"],
                                                    "details": {**desc, "note": note, "determinable": ok is not None}}}

    return {LOGICAL_TYPE_EXPECTATION: ExpectColumnLogicalTypeToBe}


@dataclass
class CustomLoad:
    """What :func:`load_custom_expectations` found.

    Parameters
    ----------
    folder : str or None
        The folder imported from (None: nothing was imported).
    loaded : list of dict
        ``{"name", "class", "file"}`` per expectation class defined.
    errors : list of dict
        ``{"file", "line", "message"}`` per file that failed to import.
    files : list of str
        Every file imported (run), in order, whether or not it defined an expectation or imported cleanly.
    requested : list of str
        The expectation types the policy names that are not built in (why the folder was loaded).
    note : str
        Why a folder was, or was not, imported.
    """

    folder: str | None
    loaded: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)
    note: str = ""

    def as_info(self) -> dict[str, Any]:
        """Return the load as plain data for the report's metadata."""
        return {"folder": self.folder, "files": self.files, "loaded": self.loaded, "errors": self.errors,
                "requested": self.requested, "note": self.note}

    def tampered(self) -> list[str]:
        """Return built-in entries replaced since loading (and restore them); set by :func:`custom_expectations`."""
        return []


def _source_file(cls: Any) -> str | None:
    import inspect

    try:
        return str(Path(inspect.getfile(cls)).resolve())
    except (TypeError, OSError):
        return None


def _same_source(old: Any, new: Any) -> bool:
    """Whether ``new`` is ``old`` defined again by the same file (the caller loaded that file before us)."""
    a, b = _source_file(old), _source_file(new)
    return a is not None and a == b


def _restore_shadowed(exp_snap: dict[str, Any], met_snap: dict[str, Any]) -> list[str]:
    """Put back every expectation and metric provider registered before the custom files loaded.

    Everything in the snapshots was registered before this run's custom files loaded (Great Expectations'
    core at import, gatekit's own, or classes the caller defined itself; earlier runs' custom classes are
    removed when their run ends), so any replaced entry, whatever its ``__module__`` claims, was replaced
    by this run's custom code; the one exception is the same file defining its class again.

    Returns
    -------
    list of str
        Names of the entries that had been replaced.
    """
    from great_expectations.expectations import registry as reg

    shadowed = []
    for name, cls in exp_snap.items():
        now = reg._registered_expectations.get(name)
        if now is not cls and not _same_source(cls, now):
            reg._registered_expectations[name] = cls
            shadowed.append(name)
    for name, definition in met_snap.items():
        current = reg._registered_metrics.get(name)
        if current is None:
            reg._registered_metrics[name] = {**definition, "providers": dict(definition["providers"])}
            shadowed.append(f"metric {name}")
            continue
        for engine, provider in definition["providers"].items():
            now = current["providers"].get(engine)
            if now != provider and not (now is not None and _same_source(provider[0], now[0])):
                current["providers"][engine] = provider
                shadowed.append(f"metric {name}")
    return sorted(set(shadowed))


@contextmanager
def custom_expectations(folder: Path | None) -> Iterator[CustomLoad]:
    """Load a custom expectations folder for the duration of one run, then forget it.

    Great Expectations' registries are process-wide: without this, expectations a run loaded would
    stay visible to later runs in the same process (the Python API), and a custom class named like a
    built-in would replace it. Inside the block, built-in expectations and metrics cannot be replaced (a
    file that tries is reported as an error and the built-in is restored; :meth:`CustomLoad.tampered`
    finds replacements made later, while expectations are built or validated); on exit the registries and
    ``sys.modules`` are put back exactly as they were.

    Custom expectations are code the user chose to run in this process: this guards against mistakes
    and name clashes, not against code written to subvert the gate (which could patch anything).

    Parameters
    ----------
    folder : pathlib.Path or None
        The custom expectations folder (None or a missing folder loads nothing).

    Yields
    ------
    CustomLoad
    """
    builtin_expectations()
    from great_expectations.expectations import registry as reg

    exp_snap = dict(reg._registered_expectations)
    met_snap = {k: {**v, "providers": dict(v.get("providers", {}))} for k, v in reg._registered_metrics.items()}
    modules_before = set(sys.modules)
    try:
        load = load_custom_expectations(folder, exp_snap, met_snap)
        load.tampered = lambda: _restore_shadowed(exp_snap, met_snap)  # type: ignore[method-assign]
        yield load
    finally:
        # Great Expectations registers its core at import, so the snapshot is the whole built-in registry:
        # put it back exactly, forgetting every class and metric this run's custom files defined
        reg._registered_expectations.clear()
        reg._registered_expectations.update(exp_snap)
        reg._registered_metrics.clear()
        reg._registered_metrics.update({k: {**v, "providers": dict(v["providers"])} for k, v in met_snap.items()})
        for name in set(sys.modules) - modules_before:
            if name.startswith("gatekit_expectations"):
                del sys.modules[name]


def load_custom_expectations(folder: Path | None, exp_snap: dict[str, Any] | None = None,
                             met_snap: dict[str, Any] | None = None) -> CustomLoad:
    """Import every ``*.py`` file of ``folder`` (except ``_*.py``) and report the expectations each defines.

    Each file is imported under its own module name (``gatekit_expectations.<stem>``) with
    :func:`importlib.util.spec_from_file_location`; defining a Great Expectations ``Expectation`` subclass
    registers it by its snake_case name. A file that fails to import is recorded with its line and
    message and the others still load.

    Parameters
    ----------
    folder : pathlib.Path or None
        None or a missing folder loads nothing.
    exp_snap, met_snap : dict, optional
        The expectation and metric registries before loading (:func:`custom_expectations` passes
        them): a file that replaces a built-in is reported as an error and the built-in restored.

    Returns
    -------
    CustomLoad
    """
    _quiet()
    result = CustomLoad(str(folder) if folder is not None else None)
    if folder is None or not folder.is_dir():
        return result
    from great_expectations.expectations.expectation import Expectation

    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        result.files.append(str(path))
        module_name = f"gatekit_expectations.{re.sub(r'[^0-9A-Za-z_]', '_', path.stem)}"
        try:
            module = exec_user_file(path, module_name)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - even sys.exit() in a custom file is reported, never fatal
            result.errors.append({"file": str(path), "line": error_line(exc, path),
                                  "message": f"{type(exc).__name__}: {exc}"})
            continue
        for obj in vars(module).values():
            if (isinstance(obj, type) and issubclass(obj, Expectation) and obj.__module__ == module_name
                    and not obj.__name__.startswith("_")):
                try:
                    name = obj.expectation_type
                except Exception:  # noqa: BLE001 - an abstract helper class has no name
                    continue
                result.loaded.append({"name": name, "class": obj.__name__, "file": str(path)})
        if exp_snap is not None and met_snap is not None:
            shadowed = _restore_shadowed(exp_snap, met_snap)
            result.loaded = [e for e in result.loaded if e["name"] not in shadowed]  # refused, so not loaded
            if shadowed:
                result.errors.append({"file": str(path), "line": None, "message": (
                    f"it redefines {', '.join(shadowed)}, already defined by Great Expectations or gatekit; a custom "
                    "expectation may not replace a built-in one (the built-in was kept): rename it")})
    return result


def expectation_class(name: str) -> type | None:
    """Return the registered expectation class for a snake_case name, or None."""
    from great_expectations.expectations.registry import _registered_expectations

    builtin_expectations()
    return _registered_expectations.get(name)


def not_builtin(types: list[str]) -> list[str]:
    """Return the names among ``types`` that no registered expectation has (custom ones, or typos), sorted.

    Called before any custom file is imported, so the registry holds Great Expectations' built-ins,
    gatekit's own and classes the caller defined itself: what is left needs custom code.
    """
    from great_expectations.expectations.registry import _registered_expectations

    builtin_expectations()
    return sorted({t for t in types if t not in _registered_expectations})


def known_expectations() -> list[str]:
    """Return the snake_case names of every registered expectation (built-in, gatekit's and custom)."""
    from great_expectations.expectations.registry import _registered_expectations

    builtin_expectations()
    return sorted(_registered_expectations)


MAX_SUITE_BYTES = 64 * 1024 * 1024
"""The largest suite file read (a suite is rules, never data: the biggest real ones are a few megabytes)."""
MAX_SUITE_DEPTH = 64
"""Deepest nesting of objects and arrays a suite may have (a real one has about 6); checked before parsing."""

_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def json_depth_exceeds(text: str, limit: int) -> bool:
    """Tell whether JSON ``text`` nests objects and arrays deeper than ``limit`` (a scan, no parsing, no recursion).

    Brackets inside strings are not counted. Malformed text is left to the parser to report.
    """
    depth = 0
    for m in _JSON_BRACKET.finditer(_JSON_STRING.sub('""', text)):
        if m.group() in "[{":
            depth += 1
            if depth > limit:
                return True
        elif depth > 0:
            depth -= 1
    return False


def read_suite(path: Path) -> tuple[str, list[dict[str, Any]]]:
    """Read a Great Expectations suite JSON file (1.x format, or 0.x ``expectation_type`` keys).

    Only a regular file of at most :data:`MAX_SUITE_BYTES`, nested at most :data:`MAX_SUITE_DEPTH` levels,
    is parsed: anything else is refused, naming the file, before the parser (which recurses) sees it.

    Returns
    -------
    name : str
    expectations : list of dict
        ``{"type", "kwargs", "meta"}`` each.

    Raises
    ------
    ValueError
        Not a regular file, too large or too deeply nested, unreadable JSON or no ``expectations`` list;
        the message names the file.
    """
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise ValueError(f"{path}: duplicate key(s) {dup} in the suite; JSON keeps only the last")
        return dict(pairs)

    try:
        if not path.is_file():
            raise OSError("not a regular file" if path.exists() else "no such file")
        with path.open("rb") as fh:
            raw = fh.read(MAX_SUITE_BYTES + 1)
        if len(raw) > MAX_SUITE_BYTES:
            raise ValueError(f"{path}: the suite is larger than {MAX_SUITE_BYTES // (1024 * 1024)} MiB; a suite holds "
                             "rules, not data")
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the suite: {exc}") from None
    if json_depth_exceeds(text, MAX_SUITE_DEPTH):
        raise ValueError(f"{path}: the suite is nested more than {MAX_SUITE_DEPTH} levels deep; a Great Expectations "
                         "suite is never this deep")
    try:
        data = json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    except RecursionError:  # the scan above bounds the depth; this is the backstop
        raise ValueError(f"{path}: the suite is nested too deeply") from None
    if not isinstance(data, dict) or not isinstance(data.get("expectations"), list):
        raise ValueError(f"{path}: not a Great Expectations suite (no 'expectations' list)")
    if not data["expectations"]:
        raise ValueError(f"{path}: the suite has no expectations, so it would check nothing")
    name = str(data.get("name") or data.get("expectation_suite_name") or path.stem)
    out = []
    for i, exp in enumerate(data["expectations"]):
        etype = exp.get("type") or exp.get("expectation_type") if isinstance(exp, dict) else None
        if not isinstance(etype, str):
            raise ValueError(f"{path}: expectations[{i}] has no 'type'")
        kwargs = exp.get("kwargs") or {}
        if not isinstance(kwargs, dict):
            raise ValueError(f"{path}: expectations[{i}].kwargs is not a mapping")
        out.append({"type": etype, "kwargs": kwargs, "meta": exp.get("meta") or {}})
    return name, out


class Validator:
    """One ephemeral context and one in-memory batch of a DataFrame; validates expectation lists."""

    def __init__(self, frame: Any) -> None:
        _quiet()
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        builtin_expectations()
        self._gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self._asset: Any = self._add_asset()
        self._batches = 0
        self.use(frame)

    def _add_asset(self) -> Any:
        """Return the in-memory DataFrame asset batches are validated on (pandas here)."""
        return self.context.data_sources.add_pandas("gatekit").add_dataframe_asset("evaluation_data")

    def use(self, frame: Any) -> None:
        """Validate on ``frame`` from now on (a new in-memory batch in the same context)."""
        self._batches += 1
        name = "all_rows" if self._batches == 1 else f"rows_{self._batches}"
        self.batch = self._asset.add_batch_definition_whole_dataframe(name).get_batch(
            batch_parameters={"dataframe": frame})

    def validate(self, expectations: list[Any], examples: int = 20) -> list[Any]:
        """Validate expectation objects; return their results in the same order (on Spark: :class:`SparkValidator`).

        Parameters
        ----------
        expectations : list of great_expectations Expectation
            The expectations to run, each once.
        examples : int
            Example failing values kept per expectation (``partial_unexpected_count``).

        Returns
        -------
        list of ExpectationValidationResult
        """
        if not expectations:
            return []
        suite = self._gx.ExpectationSuite(name="gatekit")
        first: dict[str, int] = {}  # a suite holds each configuration once: identical rules share one result
        same_as: list[int] = []
        for i, exp in enumerate(expectations):
            key = json.dumps([exp.expectation_type, exp.configuration.kwargs], sort_keys=True, default=str)
            if key not in first:
                first[key] = i
                exp.meta = {**(exp.meta or {}), "gatekit_index": i}
                suite.add_expectation(exp)
            same_as.append(first[key])
        res = self.batch.validate(suite, result_format={"result_format": "SUMMARY",
                                                        "partial_unexpected_count": examples})
        # a result without its configuration matches no rule, which then reads "no result" (an error)
        by_index = {r.expectation_config.meta.get("gatekit_index"): r for r in res.results
                    if r.expectation_config is not None}
        return [by_index.get(j) for j in same_as]


class SparkValidator(Validator):
    """A :class:`Validator` on a pyspark DataFrame: Great Expectations' Spark datasource (SparkDFExecutionEngine).

    Great Expectations computes each metric as Spark aggregates on the cluster; nothing is collected but the
    metrics and the example failing values.

    Parameters
    ----------
    frame : pyspark.sql.DataFrame
        The rows.
    """

    def _add_asset(self) -> Any:
        """Return the Spark DataFrame asset (Great Expectations' SparkDFExecutionEngine)."""
        return self.context.data_sources.add_spark("gatekit").add_dataframe_asset("evaluation_data")

