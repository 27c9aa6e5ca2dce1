"""Custom metrics: a user's own function, declared with :func:`metric`, loaded explicitly for one policy.

A custom metric is a plain Python function of numpy arrays returning a float, declared with the
:func:`metric` decorator (``gatekit.metric``)::

    @gatekit.metric(name="net_benefit", inputs=("y_true", "y_score"), tasks="classification",
                    direction="higher", params={"threshold_probability": float})
    def net_benefit(y_true, y_score, *, threshold_probability=0.2, sample_weight=None):
        ...

The decorator only records the declaration on the function (and checks it against the function's
signature); it registers nothing. A policy loads custom metrics explicitly, from a folder it names or from
installed entry points of the group :data:`ENTRY_POINT_GROUP` it lists (``custom_metrics:``,
:mod:`gatekit.policy.custom_metrics`): :func:`load_folder` and :func:`load_entry_points` import them and
:func:`extend_registry` returns a *copy* of the metric registry with them added, so nothing outlives the
policy that asked for them and no two policies share their metrics.

Running (:func:`to_spec`): the declared inputs are taken from the run's :class:`~gatekit.metrics.registry.EvalData`
with the same checks as gatekit's own metrics (a missing input, a missing value or a run of another task is
``not_computable`` naming the input), handed to the function as read-only arrays, and the result is checked: an
exception, a NaN, an infinity, a value outside the declared bounds or anything that is not a number is
``not_computable`` with the function's own message and its file and line, never a pass. On compact rows with
counts (the DuckDB and Spark engines, ``EvalData.weights``) the counts are passed as ``sample_weight`` when the
function accepts that parameter; a function that does not is refused there with a message saying so.
"""

from __future__ import annotations

import inspect
import math
import re
import sys
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import numpy as np

from gatekit.core.errors import NotComputable
from gatekit.core.userfiles import error_line, exec_user_file
from gatekit.metrics.registry import EvalData, MetricRegistry, MetricSpec, MetricValue, row_weights

INPUTS = ("y_true", "y_score", "y_pred", "sensitive")
"""The evaluation inputs a custom metric may ask for, by the name of the function's parameter."""
TASKS = ("classification", "multiclass", "regression")
"""The tasks a custom metric may declare it applies to."""
DIRECTIONS = {"higher": True, "lower": False, None: None}
"""``direction`` -> :attr:`MetricSpec.higher_is_better`."""
ENTRY_POINT_GROUP = "gatekit.metrics"
"""The entry point group of installed custom metrics (``[project.entry-points."gatekit.metrics"]``)."""
MODULE_PREFIX = "gatekit_metrics"
"""Module name prefix of the files imported from a custom metrics folder (``gatekit_metrics.<file stem>``)."""
ATTRIBUTE = "__gatekit_metric__"
"""Attribute the decorator sets on the function: its :class:`MetricDeclaration`."""
NAME_RE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
"""A custom metric's name: lower_snake_case, starting with a letter."""
_RESERVED_RE = re.compile(r"_at_(?:\d+_\d+|T)$")
_F = TypeVar("_F", bound=Callable[..., Any])
_MISSING = inspect.Parameter.empty


@dataclass(frozen=True)
class MetricParam:
    """One rule parameter of a custom metric.

    Parameters
    ----------
    name : str
        The keyword the function takes and the key under a rule's ``params:``.
    kind : str
        What it accepts, in words (``number``, ``integer``, ``true/false``, ``text``, ``one of a, b``).
    check : callable
        ``check(value) -> cleaned value``; raises ``ValueError`` for a value it refuses.
    default : object
        The function's default, or :data:`inspect.Parameter.empty` when a rule must give it.
    """

    name: str
    kind: str
    check: Callable[[Any], Any]
    default: Any = _MISSING

    @property
    def required(self) -> bool:
        """Whether every rule on the metric must give this parameter."""
        return self.default is _MISSING

    def text(self) -> str:
        """``threshold_probability (number, default 0.2)`` or ``k (integer, required)``."""
        return f"{self.name} ({self.kind}, {'required' if self.required else f'default {self.default!r}'})"


@dataclass(frozen=True)
class MetricDeclaration:
    """What :func:`metric` recorded about a function.

    Parameters
    ----------
    name : str
        Canonical metric name (lower_snake_case).
    fn : callable
        The user's function: ``fn(<inputs>..., *, <params>..., [sample_weight=None]) -> float``.
    inputs : tuple of str
        Subset of :data:`INPUTS`, each a parameter of ``fn``.
    tasks : tuple of str
        Subset of :data:`TASKS` the metric applies to.
    higher_is_better : bool or None
        From ``direction``.
    unit, label, description : str
        As in :class:`~gatekit.metrics.registry.MetricSpec`; ``description`` defaults to the docstring's summary.
    params : tuple of MetricParam
        The rule parameters.
    bounds : tuple of (float or None, float or None)
        The metric's range; a value outside it is not computable (and a metrics-file value outside it invalid).
    sample_weight : bool
        Whether ``fn`` takes ``sample_weight`` (then it runs on compact rows with counts).
    file : str
        The file defining ``fn``.
    line : int
        The line of its definition (of its first decorator).
    """

    name: str
    fn: Callable[..., Any]
    inputs: tuple[str, ...]
    tasks: tuple[str, ...]
    higher_is_better: bool | None
    unit: str
    label: str
    description: str
    params: tuple[MetricParam, ...]
    bounds: tuple[float | None, float | None]
    sample_weight: bool
    file: str
    line: int

    @property
    def where(self) -> str:
        """``file:line`` of the function."""
        return f"{self.file}:{self.line}"


def _number(name: str) -> Callable[[Any], float]:
    def check(v: Any) -> float:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise ValueError(f"{name} must be a number, not {type(v).__name__}")
        if not math.isfinite(float(v)):
            raise ValueError(f"{name} must be finite, not {v}")
        return float(v)
    return check


def _integer(name: str) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise ValueError(f"{name} must be an integer, not {type(v).__name__}")
        if not (math.isfinite(float(v)) and float(v) == int(v)):
            raise ValueError(f"{name} must be a whole number, not {v}")
        return int(v)
    return check


def _boolean(name: str) -> Callable[[Any], bool]:
    def check(v: Any) -> bool:
        if not isinstance(v, bool):
            raise ValueError(f"{name} must be true or false, not {v!r}")
        return v
    return check


def _text(name: str) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        if not isinstance(v, str):
            raise ValueError(f"{name} must be text, not {type(v).__name__}")
        return v
    return check


def _choice(name: str, allowed: tuple[Any, ...]) -> Callable[[Any], Any]:
    def check(v: Any) -> Any:
        if isinstance(v, bool) or v not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, not {v!r}")
        return v
    return check


def _user_check(name: str, check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Wrap a user's parameter check so that anything it raises refuses the value (a ``ValueError``).

    A check is asked to raise ``ValueError``; one that raises ``KeyError`` (or anything else) still only refuses
    the value given in the policy, reported at the rule's line, and never ends the run with a traceback.
    """

    def checked(value: Any) -> Any:
        try:
            return check(value)
        except (ValueError, TypeError):
            raise
        except Exception as exc:  # noqa: BLE001 - a user's check that fails refuses the value, whatever it raised
            raise ValueError(f"parameter {name!r}: its check {getattr(check, '__name__', '')!r} raised "
                             f"{type(exc).__name__}: {_short(exc)}") from None

    return checked


def _param_check(name: str, kind: Any) -> tuple[Callable[[Any], Any], str]:
    """Turn a declared parameter type into its check and its description."""
    simple = {float: (_number, "number"), int: (_integer, "integer"), bool: (_boolean, "true/false"),
              str: (_text, "text")}
    if isinstance(kind, type) and kind in simple:
        make, words = simple[kind]
        return make(name), words
    if isinstance(kind, (tuple, list, frozenset, set)) and kind:
        allowed = tuple(kind)
        return _choice(name, allowed), "one of " + ", ".join(map(repr, allowed))
    if callable(kind) and not isinstance(kind, type):
        return _user_check(name, kind), getattr(kind, "__name__", "checked value")
    raise TypeError(f"parameter {name!r}: its type must be float, int, bool, str, a tuple of allowed values, or a "
                    f"function that returns the cleaned value (raising ValueError to refuse one), not {kind!r}")


def _summary(doc: str | None) -> str:
    """Return the docstring's first paragraph on one line."""
    text = inspect.cleandoc(doc or "")
    return " ".join(text.split("\n\n", 1)[0].split())


def _as_tuple(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable):
        out = tuple(value)
        if all(isinstance(v, str) for v in out):
            return out
    raise TypeError(f"{what} must be a name or a list of names, not {value!r}")


def metric(name: str | None = None, *, inputs: Sequence[str] | str, tasks: Sequence[str] | str,
           direction: str | None = None, unit: str = "value", label: str = "", description: str | None = None,
           params: Mapping[str, Any] | None = None,
           bounds: tuple[float | None, float | None] = (None, None)) -> Callable[[_F], _F]:
    """Declare a function as a custom metric (it is loaded only by a policy that asks for it).

    The decorator checks the declaration against the function's signature and records it on the function
    (attribute :data:`ATTRIBUTE`); it registers nothing and returns the function unchanged, so it can still be
    called (and tested) directly.

    Parameters
    ----------
    name : str, optional
        The metric's name in policies: lower_snake_case, not ending in ``_at_<digits>_<digits>`` (reserved for
        thresholded built-ins). Default: the function's name. A name gatekit already has (or an alias of one,
        such as ``auc``) is refused when the policy loads it.
    inputs : str or sequence of str
        What the function needs from the evaluation rows, each the name of one of its parameters: ``y_true``
        (the target: 0/1 for a binary target, class codes ``0..k-1`` for multiclass, floats for regression),
        ``y_score`` (the positive class's score; the probability matrix of shape (n, k) for multiclass; the
        forecast for regression), ``y_pred`` (predicted 0/1 labels at the policy's ``decision_threshold``;
        class codes for multiclass; the forecast for regression) and ``sensitive`` (a pandas DataFrame of the
        run's sensitive columns, as text).
    tasks : str or sequence of str
        ``classification`` (binary), ``multiclass`` and/or ``regression``: on a run of another task the metric
        is not computable.
    direction : {"higher", "lower", None}
        Whether a higher value is better (recorded for tooling; decisions follow each rule's operator).
    unit : str
        The value's unit (``fraction``, ``%``, ...).
    label : str
        Plain-language name shown first in the HTML report (default: the name).
    description : str, optional
        One line: what it measures and the source of its formula. Default: the docstring's first paragraph;
        one of the two is required.
    params : mapping of str to type, optional
        The rule parameters (``params: {threshold_probability: 0.1}`` in a rule), each a keyword of the function:
        ``float``, ``int``, ``bool``, ``str``, a tuple of allowed values, or a function returning the cleaned
        value (raising ``ValueError`` to refuse one). Defaults are the function's own; a parameter without one
        must be given by every rule.
    bounds : tuple of (float or None, float or None)
        The metric's range (inclusive): a computed value outside it is not computable, a metrics-file value
        outside it is invalid input.

    Returns
    -------
    callable
        The decorator; it returns the function itself.

    Raises
    ------
    ValueError, TypeError
        A bad declaration (when the decorator is applied, so the error points at the decorator's line): a bad
        name, an unknown input or task, an input or parameter the function does not take, a parameter the
        function needs that is neither an input nor declared, a default its own check refuses, no description.

    Notes
    -----
    The function receives read-only numpy arrays and, when it has a ``sample_weight`` parameter, the number of
    rows each row stands for (None when every row is one row): the DuckDB and Spark engines aggregate the rows to
    one row per distinct combination with its count, and a function without ``sample_weight`` is refused there.
    It returns a number; raising (``ValueError``, ``ZeroDivisionError``, gatekit's ``NotComputable``, ...) or
    returning NaN makes the rule ``not_computable`` with its message.
    """
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a string, not {name!r}")
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be 'higher', 'lower' or None, not {direction!r}")
    ins = _as_tuple(inputs, "inputs")
    unknown = [i for i in ins if i not in INPUTS]
    if not ins or unknown or len(set(ins)) != len(ins):
        raise ValueError(f"inputs must be one or more of {', '.join(INPUTS)}, each once; got {list(ins)}")
    task_list = _as_tuple(tasks, "tasks")
    bad_tasks = [t for t in task_list if t not in TASKS]
    if not task_list or bad_tasks:
        raise ValueError(f"tasks must be one or more of {', '.join(TASKS)}; got {list(task_list)}")
    if (not isinstance(bounds, tuple) or len(bounds) != 2
            or any(b is not None and (isinstance(b, bool) or not isinstance(b, (int, float))) for b in bounds)
            or (bounds[0] is not None and bounds[1] is not None and bounds[0] > bounds[1])):
        raise ValueError(f"bounds must be (low, high) with numbers or None and low <= high, not {bounds!r}")
    for what, value in (("unit", unit), ("label", label)):
        if not isinstance(value, str):
            raise TypeError(f"{what} must be a string, not {value!r}")
    declared = dict(params or {})

    def decorate(fn: _F) -> _F:
        if not callable(fn) or not hasattr(fn, "__code__"):
            raise TypeError(f"@gatekit.metric decorates a function, not {fn!r}")
        if hasattr(fn, ATTRIBUTE):
            raise ValueError(f"{fn.__name__} is declared as a metric twice")
        metric_name = name or fn.__name__
        if not NAME_RE.match(metric_name):
            raise ValueError(f"metric name {metric_name!r} must be lower_snake_case (letters, digits, single "
                             "underscores), starting with a letter")
        if _RESERVED_RE.search(metric_name):
            raise ValueError(f"metric name {metric_name!r} ends like a thresholded metric (precision_at_0_5); those "
                             "names are reserved: take the threshold as a parameter instead")
        sig = inspect.signature(fn)
        fparams = sig.parameters
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in fparams.values())
        for i in ins:
            if i not in fparams and not takes_any:
                raise ValueError(f"input {i!r} is not a parameter of {fn.__name__}{sig}")
        checks: list[MetricParam] = []
        for pname, kind in declared.items():
            if not isinstance(pname, str) or not pname.isidentifier() or pname in (*INPUTS, "sample_weight"):
                raise ValueError(f"parameter name {pname!r} must be an identifier other than {', '.join(INPUTS)} "
                                 "and sample_weight")
            if pname not in fparams and not takes_any:
                raise ValueError(f"parameter {pname!r} is not a parameter of {fn.__name__}{sig}")
            check, words = _param_check(pname, kind)
            default = fparams[pname].default if pname in fparams else _MISSING
            if default is not _MISSING:
                try:
                    default = check(default)
                except (ValueError, TypeError) as exc:
                    raise ValueError(f"the default of parameter {pname!r} ({default!r}) is refused by its own "
                                     f"type: {exc}") from None
            checks.append(MetricParam(pname, words, check, default))
        for p in fparams.values():
            if (p.default is _MISSING and p.kind not in (inspect.Parameter.VAR_POSITIONAL,
                                                          inspect.Parameter.VAR_KEYWORD)
                    and p.name not in ins and p.name not in declared and p.name != "sample_weight"):
                raise ValueError(f"{fn.__name__} needs parameter {p.name!r}, which is neither an input ("
                                 f"{', '.join(INPUTS)}) nor a declared rule parameter; give it a default or "
                                 "declare it in params=")
            if p.kind is inspect.Parameter.POSITIONAL_ONLY and (p.name in declared or p.name == "sample_weight"):
                raise ValueError(f"parameter {p.name!r} of {fn.__name__} is positional-only; gatekit passes it by "
                                 "keyword")
        text = description if description is not None else _summary(fn.__doc__)
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{metric_name} has no description: give description= or a docstring saying what it "
                             "measures and the source of its formula")
        code = fn.__code__
        decl = MetricDeclaration(
            name=metric_name, fn=fn, inputs=ins, tasks=task_list, higher_is_better=DIRECTIONS[direction],
            unit=unit, label=label or metric_name, description=" ".join(text.split()), params=tuple(checks),
            bounds=(bounds[0], bounds[1]), sample_weight="sample_weight" in fparams,
            file=str(Path(code.co_filename).resolve()) if Path(code.co_filename).is_file() else code.co_filename,
            line=code.co_firstlineno)
        setattr(fn, ATTRIBUTE, decl)
        return fn

    return decorate


def declaration(obj: Any) -> MetricDeclaration | None:
    """Return the :class:`MetricDeclaration` of a decorated function, or of a :class:`MetricSpec` built from one."""
    fn = obj.fn if isinstance(obj, MetricSpec) else obj
    decl = getattr(fn, ATTRIBUTE, None)
    return decl if isinstance(decl, MetricDeclaration) else None


# --------------------------------------------------------------------------------------------------------------
# Running a declared function on the evaluation rows
# --------------------------------------------------------------------------------------------------------------


def _frozen(a: Any, fresh: bool = False) -> Any:
    """Return a read-only copy of an array (``fresh``: the array itself, which the caller has just made).

    The evaluation arrays are shared by every metric of the run: a read-only *view* of them could be made
    writeable again (``setflags(write=True)`` succeeds when the base is writeable) and a write would then change
    the rows every later metric reads. A copy costs one array per call and isolates them whatever the function does;
    an array the caller has just made (a fancy-indexed subset, an ``astype``) is nobody else's and is not copied
    again.
    """
    v = np.asarray(a) if fresh else np.array(a, copy=True)
    v.flags.writeable = False
    return v


def _regression_array(data: EvalData, which: str) -> np.ndarray:
    from gatekit.metrics.registry import row_count

    given = data.y_true if which == "y_true" else data.y_score if data.y_score is not None else data.y_pred
    what = "actual" if which == "y_true" else "forecast"
    if given is None:
        raise NotComputable("no target column: give --target (or inputs.target)" if which == "y_true" else
                            "needs a forecast: a prediction/score column or a model")
    a = np.asarray(given, dtype=float)
    if len(a) == 0 or row_count(data) == 0:
        raise NotComputable("the evaluation data has no rows")
    bad = row_count(data, ~np.isfinite(a))
    if bad:
        raise NotComputable(f"{bad} rows have a missing or non-finite {what}", {"n_missing": bad})
    return a


def _input(decl: MetricDeclaration, data: EvalData, which: str) -> Any:
    """One declared input, checked as gatekit's own metrics check it."""
    from gatekit.metrics.classification import binary_scores, binary_target, predicted_labels
    from gatekit.metrics.multiclass import class_target, predicted_classes, proba_matrix

    task = data.task
    if which == "sensitive":
        from gatekit.metrics.fairness import sensitive_groups

        return sensitive_groups(data, None)[0].reset_index(drop=True)
    if task == "regression":
        return _regression_array(data, "y_true" if which == "y_true" else "forecast")
    if which == "y_true":
        return class_target(data) if task == "multiclass" else binary_target(data)
    if which == "y_score":
        return proba_matrix(data, decl.name) if task == "multiclass" else binary_scores(data, decl.name)
    return predicted_classes(data)[0] if task == "multiclass" else predicted_labels(data, None)[0]


def _raised_at(exc: BaseException, decl: MetricDeclaration) -> str:
    """``file:line`` of the innermost frame of the traceback in the function's file (else its definition)."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == decl.fn.__code__.co_filename:
            line = frame.lineno
    return f"{decl.file}:{line if line is not None else decl.line}"


def _value(out: Any, decl: MetricDeclaration) -> float:
    """Return the function's result as a finite float within bounds, else raise :class:`NotComputable`."""
    if isinstance(out, np.ndarray) and out.size == 1 and out.ndim <= 1:
        out = out.reshape(()).item()
    if isinstance(out, (bool, np.bool_)) or not isinstance(out, (int, float, np.integer, np.floating)):
        raise NotComputable(f"{decl.name} returned {type(out).__name__} {_short(out)}, not a number ({decl.where})")
    try:
        v = float(out)
    except OverflowError:  # an int beyond float's range (10**400)
        raise NotComputable(f"{decl.name} returned an integer too large for a number ({decl.where})") from None
    if not math.isfinite(v):
        raise NotComputable(f"{decl.name} returned {v}, not a finite number ({decl.where})")
    lo, hi = decl.bounds
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise NotComputable(f"{decl.name} returned {v}, outside its declared bounds [{lo}, {hi}] ({decl.where})")
    return v


def _short(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def compact_rows_refusal(decl: MetricDeclaration) -> str:
    """Return why a function without ``sample_weight`` cannot run on compact rows with counts."""
    return (f"{decl.name} cannot be computed on compact rows with counts (the DuckDB and Spark engines aggregate the "
            f"rows to one row per distinct combination with its count): its function ({decl.where}) takes no "
            "sample_weight parameter. Add `sample_weight=None` to it and weight every row by it (a slice rule "
            "always counts rows, on every engine), or run its metric rules with --engine pandas (inputs.engine: "
            "pandas)")


def _inputs(decl: MetricDeclaration, data: EvalData) -> dict[str, Any]:
    """Return the declared inputs of ``data``, checked (task, presence, missing values), as the function gets them."""
    if data.task not in decl.tasks:
        ran = data.task or "unknown (no target column)"
        raise NotComputable(f"{decl.name} applies to {' and '.join(decl.tasks)} runs; this run's task is {ran}")
    kwargs: dict[str, Any] = {}
    for which in decl.inputs:
        try:
            value = _input(decl, data, which)
        except NotComputable as exc:
            raise NotComputable(f"{decl.name} needs {which}: {exc.reason}", exc.details) from None
        kwargs[which] = value if which == "sensitive" else _frozen(value)
    return kwargs


def _call(decl: MetricDeclaration, kwargs: dict[str, Any]) -> float:
    """Call the user's function; any failure or unusable result is :class:`NotComputable` with its message."""
    try:
        out = decl.fn(**kwargs)
    except KeyboardInterrupt:
        raise
    except NotComputable as exc:
        raise NotComputable(f"{decl.name}: {exc.reason} ({_raised_at(exc, decl)})", exc.details) from None
    except BaseException as exc:  # noqa: BLE001 - the user's code: any failure is not computable, never a crash
        raise NotComputable(f"{decl.name} raised {type(exc).__name__}: {exc} ({_raised_at(exc, decl)})") from None
    return _value(out, decl)


def resample_values(decl: MetricDeclaration, data: EvalData, W: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """Compute a function that takes ``sample_weight`` on each bootstrap resample, its inputs prepared once.

    Parameters
    ----------
    decl : MetricDeclaration
        The metric; ``decl.sample_weight`` must be True.
    data : EvalData
        The full evaluation rows, plain or compact.
    W : ndarray of shape (resamples, n_samples)
        Each resample's multiplicity of each row (for compact rows, their counts included:
        :func:`gatekit.metrics.weighted.weighted_values`' contract).
    params : dict
        The rule's parameters.

    Returns
    -------
    ndarray of shape (resamples,)
        The function on the rows of each resample (rows drawn 0 times left out) with their multiplicities as
        ``sample_weight``: what it gives on the resampled rows themselves. NaN where it is not computable.

    Raises
    ------
    NotComputable
        An input is missing for the whole data (as for the point value).
    """
    base = _inputs(decl, data)
    out = np.full(W.shape[0], np.nan)
    for r in range(W.shape[0]):
        keep = np.flatnonzero(np.asarray(W[r]) > 0)
        kwargs = {k: v.iloc[keep].reset_index(drop=True) if k == "sensitive" else _frozen(v[keep], fresh=True)
                  for k, v in base.items()}
        kwargs["sample_weight"] = _frozen(np.asarray(W[r], dtype=float)[keep], fresh=True)
        try:
            out[r] = _call(decl, {**kwargs, **params})
        except NotComputable:
            pass
    return out


def run_declared(decl: MetricDeclaration, data: EvalData, params: dict[str, Any]) -> MetricValue:
    """Compute a declared function on the evaluation rows (what a custom :class:`MetricSpec` 's ``fn`` does).

    Parameters
    ----------
    decl : MetricDeclaration
        The metric.
    data : EvalData
        The evaluation rows, plain or compact (``weights``).
    params : dict
        The rule's parameters, already checked.

    Returns
    -------
    MetricValue
        The value; ``details`` say where the function is and whether row counts were passed.

    Raises
    ------
    NotComputable
        The run's task is not one of the declared tasks; an input is missing or has a missing value; the rows
        are compact and the function takes no ``sample_weight``; the function raised; its result is not a
        finite number within the declared bounds.
    ValueError
        A missing sensitive value in strict mode (as for gatekit's fairness metrics: an ``error`` check).
    """
    kwargs = _inputs(decl, data)
    weights = row_weights(data)
    if decl.sample_weight:
        kwargs["sample_weight"] = None if weights is None else _frozen(weights.astype(float), fresh=True)
    elif weights is not None:
        raise NotComputable(compact_rows_refusal(decl))
    value = _call(decl, {**kwargs, **params})
    details: dict[str, Any] = {"definition": decl.description, "custom_metric": decl.where,
                               "row_counts": "passed as sample_weight" if weights is not None else None}
    return MetricValue(value, details)


def to_spec(decl: MetricDeclaration, source: str) -> MetricSpec:
    """Build the :class:`MetricSpec` of a declared function.

    Parameters
    ----------
    decl : MetricDeclaration
        The declaration.
    source : str
        Where it came from, for listings and reports (``file:line`` or ``entry point <name> (<dist> <version>)``).

    Returns
    -------
    MetricSpec
        Section ``fairness`` when the metric reads the sensitive columns, else ``performance``; its ``fn``
        (:func:`run_declared`) has the signature ``fn(data, *, <params>)`` with the function's defaults, so
        rules that differ only by a default value are recognised as the same rule.
    """
    def fn(data: EvalData, **params: Any) -> MetricValue:
        return run_declared(decl, data, params)

    params = [inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY, default=p.default) for p in decl.params]
    fn.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("data", inspect.Parameter.POSITIONAL_OR_KEYWORD), *params])
    fn.__name__ = fn.__qualname__ = decl.name
    fn.__doc__ = decl.description
    setattr(fn, ATTRIBUTE, decl)
    if decl.sample_weight:  # the bootstrap passes each resample's multiplicities as sample_weight, inputs prepared once
        fn.resample = lambda data, W, params: resample_values(decl, data, W, params)  # type: ignore[attr-defined]
    return MetricSpec(decl.name, "fairness" if "sensitive" in decl.inputs else "performance", decl.unit,
                      decl.description, fn, params={p.name: p.check for p in decl.params},
                      higher_is_better=decl.higher_is_better, bounds=decl.bounds, label=decl.label, source=source)


# --------------------------------------------------------------------------------------------------------------
# Loading: a folder, installed entry points
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadError:
    """Why a custom metric could not be loaded.

    Parameters
    ----------
    message : str
        What went wrong and what to do.
    file : str or None
        The file at fault (the metric file, or the module an entry point names).
    line : int or None
        Its line, when known.
    origin : str
        ``metrics_dir`` or ``entry_points``: which policy key loaded it.
    """

    message: str
    file: str | None = None
    line: int | None = None
    origin: str = "metrics_dir"


@dataclass
class CustomMetrics:
    """The custom metrics one policy loaded.

    Parameters
    ----------
    declared : list of (MetricDeclaration, str)
        Each declaration with its source text (see :func:`to_spec`).
    files : list of str
        Every file imported from the folder, in order, whether or not it declared a metric.
    entry_points : list of dict
        ``{"name", "value", "distribution", "version", "file"}`` per entry point loaded.
    errors : list of LoadError
        What could not be loaded; a policy with any is invalid.
    """

    declared: list[tuple[MetricDeclaration, str]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    entry_points: list[dict[str, Any]] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)

    def merge(self, other: CustomMetrics) -> CustomMetrics:
        """Add ``other``'s metrics, files, entry points and errors to this one; return self."""
        self.declared += other.declared
        self.files += other.files
        self.entry_points += other.entry_points
        self.errors += other.errors
        return self

    def packages(self) -> dict[str, str | None]:
        """Distribution name -> version of the entry points loaded (the reproducibility hash covers them)."""
        return {e["distribution"]: e["version"] for e in self.entry_points if e.get("distribution")}

    def as_info(self) -> list[dict[str, Any]]:
        """One plain mapping per metric, for the report's metadata."""
        return [{"name": d.name, "source": src, "file": d.file, "line": d.line, "inputs": list(d.inputs),
                 "tasks": list(d.tasks), "sample_weight": d.sample_weight,
                 "params": {p.name: None if p.required else p.default for p in d.params}}
                for d, src in self.declared]


def _declared_in(module: ModuleType) -> list[MetricDeclaration]:
    """Return the declarations of the functions ``module`` itself defines (an imported one is its own module's)."""
    out: dict[int, MetricDeclaration] = {}  # a function bound to two names is one metric
    for obj in vars(module).values():
        decl = declaration(obj)
        if decl is not None and getattr(obj, "__module__", None) == module.__name__ and decl.fn is obj:
            out.setdefault(id(decl), decl)
    return list(out.values())


def load_folder(folder: Path) -> CustomMetrics:
    """Import every ``*.py`` file of ``folder`` (except ``_*.py``) and collect the metrics each declares.

    Each file is imported under its own module name (``gatekit_metrics.<stem>``) with
    :func:`importlib.util.spec_from_file_location`, without writing ``__pycache__`` into the folder; the module
    is removed from ``sys.modules`` again once loaded (its functions keep what they need), so nothing of it is
    visible to the next policy. A file that fails to import is an error with its line; the others still load.

    Parameters
    ----------
    folder : pathlib.Path
        The folder (the caller checks that it is one).

    Returns
    -------
    CustomMetrics
    """
    out = CustomMetrics()
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_") or not path.is_file():
            continue
        out.files.append(str(path.resolve()))
        module_name = f"{MODULE_PREFIX}.{re.sub(r'[^0-9A-Za-z_]', '_', path.stem)}"
        previous = sys.modules.get(module_name)
        try:
            module = exec_user_file(path, module_name)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - even sys.exit() in a metric file is reported, never fatal
            out.errors.append(LoadError(f"the custom metric file failed to import: {type(exc).__name__}: {exc}; fix "
                                        "it, or move it out of the folder (or rename it _<name>.py)",
                                        str(path), error_line(exc, path)))
            continue
        finally:
            if previous is None:
                sys.modules.pop(module_name, None)
            else:
                sys.modules[module_name] = previous
        for decl in _declared_in(module):
            out.declared.append((decl, decl.where))
    return out


def _installed(group: str = ENTRY_POINT_GROUP) -> list[Any]:
    from importlib.metadata import entry_points

    return list(entry_points(group=group))


def installed_entry_points() -> list[dict[str, Any]]:
    """Return the entry points of :data:`ENTRY_POINT_GROUP` installed here, *not* loaded: name, value, distribution."""
    out = []
    for ep in _installed():
        dist = getattr(ep, "dist", None)
        out.append({"name": ep.name, "value": ep.value, "distribution": dist.metadata["Name"] if dist else None,
                    "version": dist.version if dist else None})
    return sorted(out, key=lambda e: (e["name"], e["value"]))


def _innermost(exc: BaseException) -> tuple[str | None, int | None]:
    """File and line where an import failed: the innermost frame outside Python's import machinery."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return exc.filename, exc.lineno
    where: tuple[str | None, int | None] = (None, None)
    for frame in traceback.extract_tb(exc.__traceback__):
        if "importlib" not in Path(frame.filename).parts and not frame.filename.startswith("<frozen"):
            where = (frame.filename, frame.lineno)
    return where


def load_entry_points(names: Sequence[str]) -> CustomMetrics:
    """Load the named entry points of :data:`ENTRY_POINT_GROUP` and collect the metrics they declare.

    An entry point names either a function declared with :func:`metric` (``net_benefit =
    my_metrics.clinical:net_benefit``) or a module; a module contributes every declared function it defines.

    Parameters
    ----------
    names : sequence of str
        Entry point names, as the policy lists them.

    Returns
    -------
    CustomMetrics
        With an error per name that is not installed, is installed twice with different values, fails to load,
        or declares no metric.
    """
    out = CustomMetrics()
    installed = _installed()
    for name in names:
        matches = {ep.value: ep for ep in installed if ep.name == name}
        if not matches:
            have = sorted({ep.name for ep in installed})
            out.errors.append(LoadError(
                f"no installed entry point {name!r} in the group {ENTRY_POINT_GROUP!r} (installed: "
                f"{', '.join(have) if have else 'none'}); install the package that provides it, or fix the name",
                origin="entry_points"))
            continue
        if len(matches) > 1:
            out.errors.append(LoadError(
                f"entry point {name!r} of {ENTRY_POINT_GROUP!r} is installed more than once with different targets "
                f"({', '.join(sorted(matches))}); uninstall one", origin="entry_points"))
            continue
        ep = next(iter(matches.values()))
        dist = getattr(ep, "dist", None)
        dist_name = dist.metadata["Name"] if dist is not None else None
        version = dist.version if dist is not None else None
        label = f"entry point {name} = {ep.value}" + (f" ({dist_name} {version})" if dist_name else "")
        try:
            obj = ep.load()
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - an installed plug-in that fails to load is reported
            file, line = _innermost(exc)
            out.errors.append(LoadError(f"{label} failed to load: {type(exc).__name__}: {exc}", file, line,
                                        "entry_points"))
            continue
        decl = declaration(obj)
        decls = [decl] if decl is not None else _declared_in(obj) if isinstance(obj, ModuleType) else []
        if not decls:
            out.errors.append(LoadError(f"{label} is neither a function declared with @gatekit.metric nor a module "
                                        "defining one", None, None, "entry_points"))
            continue
        file = decls[0].file
        out.entry_points.append({"name": name, "value": ep.value, "distribution": dist_name, "version": version,
                                 "file": file})
        out.declared += [(d, f"{label}, {d.where}") for d in decls]
    return out


def extend_registry(registry: MetricRegistry, custom: CustomMetrics) -> tuple[MetricRegistry, list[LoadError]]:
    """Return a copy of ``registry`` with the custom metrics added, and the clashes refused.

    Parameters
    ----------
    registry : MetricRegistry
        The registry to extend (left unchanged).
    custom : CustomMetrics
        The loaded declarations.

    Returns
    -------
    registry : MetricRegistry
        A new registry: ``registry``'s metrics and every custom metric that does not clash.
    errors : list of LoadError
        One per custom metric whose name is already taken, by one of ``registry``'s metrics (or its aliases,
        or a thresholded name it resolves) or by another custom metric.
    """
    out = registry.copy()
    errors = []
    for decl, source in custom.declared:
        taken = out.resolve(decl.name)
        if taken is not None:
            origin = (f"the custom metric at {taken.spec.source}" if taken.spec.source is not None
                      else f"gatekit's metric {taken.canonical!r}"
                      + ("" if taken.canonical == decl.name else f" ({decl.name!r} is one of its names)"))
            errors.append(LoadError(f"custom metric {decl.name!r} clashes with {origin}: rename it (name= in "
                                    "@gatekit.metric)", decl.file, decl.line,
                                    "entry_points" if source.startswith("entry point") else "metrics_dir"))
            continue
        out.register(to_spec(decl, source))
    return out, errors
