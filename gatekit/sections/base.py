"""What every section adapter receives, and the shared, cached metric evaluation."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from gatekit.core.errors import NotComputable
from gatekit.core.options import RunOptions
from gatekit.core.results import CheckResult, OnFail, Status
from gatekit.data.inputs import RunInputs
from gatekit.metrics.registry import MetricRegistry, ResolvedMetric
from gatekit.policy.loader import LoadedPolicy

STATE_STATUS = {"not_computable": Status.NOT_COMPUTABLE, "error": Status.ERROR}
"""Check status for an :class:`Observation` that has no value (``state`` -> status)."""


@dataclass
class Observation:
    """The value of one metric for this run, or why there is none.

    Parameters
    ----------
    value : float or None
    state : {"ok", "not_computable", "error"}
    reason : str
        Why there is no value (empty when ``state == "ok"``).
    source : {"computed", "metrics_file"} or None
    details : dict
    """

    value: float | None
    state: str
    reason: str = ""
    source: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunContext:
    """Read-only inputs of a run plus the metric cache (compute each metric once)."""

    policy: LoadedPolicy
    inputs: RunInputs
    registry: MetricRegistry
    info: dict[str, Any] = field(default_factory=dict)
    """Facts sections report about the run itself (e.g. custom expectations loaded); goes to the metadata."""
    attachments: dict[str, Any] = field(default_factory=dict)
    """File name -> callable returning its text, written beside the report (evidently's drift report)."""
    intervals: dict[Any, Any] = field(default_factory=dict)
    """Confidence intervals computed in this run, shared by rules that differ only in guardband or severity."""
    evidence: dict[int, Any] = field(default_factory=dict)
    """The interval each interval-decided check was decided on, under ``id(check)`` (for testing families)."""
    options: RunOptions = field(default_factory=RunOptions)
    """How figures are computed (:class:`~gatekit.core.options.RunOptions`)."""
    _cache: dict[tuple[Any, ...], Observation] = field(default_factory=dict)
    _ops: dict[str, Any] = field(default_factory=dict)
    _drift: Any = None

    def drift(self) -> Any:
        """Return the run's drift comparison (:func:`gatekit.sections.drift.compute_drift`), computed once."""
        if self._drift is None:
            from gatekit.sections.drift import compute_drift

            self._drift = compute_drift(self)
        return self._drift

    def metric(self, resolved: ResolvedMetric, params: dict[str, Any] | None = None) -> Observation:
        """Return a metric's value: from the evaluation data when gatekit computes it, else the metrics file.

        When evaluation data is given, a metric gatekit can compute is always computed, and its outcome
        stands even when it is not computable (a one-class target): a metrics-file value for it is kept
        in ``details["metrics_file_value"]`` but never replaces it, so a stale file cannot pass a gate the
        data cannot. The metrics file supplies metrics gatekit does not compute, and all metrics when no
        data is given. A metric that raised becomes ``state="error"``.
        """
        return self._cached("candidate", resolved, params)

    def _cached(self, side: str, resolved: ResolvedMetric, params: dict[str, Any] | None) -> Observation:
        """One side's metric, computed once; a value that is not finite is not computable."""
        params = {**resolved.name_params, **(params or {})}
        key = (side, resolved.canonical, tuple(sorted((k, repr(v)) for k, v in params.items())))
        if key not in self._cache:
            compute = self._compute_raw if side == "candidate" else self._compute_baseline
            obs = compute(resolved, params)
            if obs.value is not None and not math.isfinite(obs.value):
                obs = Observation(None, "not_computable", f"the value is not finite ({obs.value})", obs.source,
                                  obs.details)
            self._cache[key] = obs
        return self._cache[key]

    def operational(self, side: str = "candidate") -> Any:
        """Return the operational figures of the candidate's (``side="baseline"``: production's) model.

        Measured once per run, and only what the policy's rules ask for (latency and/or the batch). When a
        baseline-relative rule needs production's figures too, both models are measured together, their
        rounds interleaved (:func:`gatekit.model.serving.measure_models`), whichever side is asked first.
        """
        if side not in self._ops:
            self._ops.update(self._measure_operational())
        return self._ops[side]

    def _measure_operational(self) -> dict[str, Any]:
        """Measure the figures both sides need, in one interleaved measurement; load-test samples replace latency."""
        from gatekit.model.serving import BATCH_METRICS, LATENCY_METRICS, Arm, Figures, measure_models

        spec = self.policy.policy.operational or _default_operational()
        wanted = {"candidate": self._rule_metric_names(), "baseline": self._relative_operational_names()}
        figs: dict[str, Any] = {}
        arms: list[tuple[str, Any]] = []
        for side, names in wanted.items():
            runner = self.inputs.runner if side == "candidate" else self.inputs.baseline_runner
            samples = self.inputs.latency_samples if side == "candidate" else self.inputs.baseline_latency_samples
            want_latency = samples is None and any(n in names for n in LATENCY_METRICS)
            want_batch = any(n in names for n in BATCH_METRICS)
            figs[side] = Figures()
            if runner is not None and (want_latency or want_batch):
                arms.append((side, Arm(runner, want_latency, want_batch,
                                       "candidate" if side == "candidate" else "production")))
        if arms and (self.inputs.frame is not None or self.inputs.table is not None):
            if self.inputs.frame is not None:
                measured = measure_models([a for _, a in arms], self.inputs.frame, spec)
            else:
                measured = self._measure_on_sample([a for _, a in arms], spec)
            figs.update({side: fig for (side, _), fig in zip(arms, measured, strict=True)})
        for side, fig in figs.items():
            samples = self.inputs.latency_samples if side == "candidate" else self.inputs.baseline_latency_samples
            if samples is not None:
                rounds = getattr(samples, "rounds", None) or [list(samples)]
                fig.latency_rounds_ms, fig.latency_other_ms, fig.latency_clock = rounds, None, "load_test"
                fig.latency_source = (f"load-test samples ({len(samples)}"
                                      f"{f' in {len(rounds)} rounds' if len(rounds) > 1 else ''}) from the policy's "
                                      "operational section")
        return figs

    def _relative_operational_names(self) -> set[str]:
        """Canonical operational metrics that baseline-relative rules compare with production's."""
        out = set()
        for i, rule in enumerate(self.policy.policy.metrics):
            res = self.policy.resolved.get(i)
            if res is not None and rule.relative is not None and res.spec.section == "operational":
                out.add(res.canonical)
        return out

    def _measure_on_sample(self, arms: list[Any], spec: Any) -> list[Any]:
        """Measure the models on a seeded sample of the engine's table (``--engine duckdb``: no rows in memory).

        The sample is :func:`gatekit.data.engine.sample_frame` of :func:`gatekit.model.serving.sample_rows`
        rows with seed :data:`gatekit.model.serving.SAMPLE_SEED`, drawn once for both models; the figures
        record it. A sample that cannot be drawn is the measurement's error (its rules are errors), never a
        figure.
        """
        from gatekit.data.engine import row_count, sample_frame
        from gatekit.model.serving import SAMPLE_SEED, Figures, measure_models, sample_rows

        table = self.inputs.table
        try:
            n = sample_rows(spec)
            frame = sample_frame(table, n, SAMPLE_SEED)
            info = {"rows": len(frame), "seed": SAMPLE_SEED, "of_rows": row_count(table), "engine": self.inputs.engine,
                    "method": "rows whose position hash falls below the sampling rate "
                              "(gatekit.data.engine.sample_frame): the same rows on every engine"}
        except Exception as exc:  # noqa: BLE001 - a failed sample is the measurement's error, reported on its rules
            figs = []
            for _ in arms:
                fig = Figures()
                fig.errors["all"] = (f"could not sample the {self.inputs.engine} table to measure on: "
                                     f"{type(exc).__name__}: {exc}")
                figs.append(fig)
            return figs
        return measure_models(arms, frame, spec, sample=info)

    def _rule_metric_names(self) -> set[str]:
        """Canonical metric names used by the policy's rules and gate expressions."""
        from gatekit.policy.expressions import comparisons

        names = {r.canonical for r in self.policy.resolved.values()}
        for node in self.policy.expressions.values():
            for cmp in comparisons(node):
                for n in cmp.names():
                    res = self.registry.resolve(n)
                    if res is not None:
                        names.add(res.canonical)
        return names

    def _operational_obs(self, resolved: ResolvedMetric, side: str, observed: Any) -> Observation | None:
        """Return an operational metric from the figures; None when nothing was measured (a metrics file may say)."""
        from gatekit.model.serving import LATENCY_METRICS, value

        fig = self.operational(side)
        has = fig.latency_rounds_ms is not None if resolved.canonical in LATENCY_METRICS else bool(
            fig.batch_rounds_s or fig.errors)
        if not has and not fig.errors:
            return None
        spec = self.policy.policy.operational or _default_operational()
        obs = self._from_data(lambda: value(fig, resolved.canonical, spec.percentile_method, spec.confidence),
                              observed, "the model was run and measured; that decides")
        obs.details["figure_kind"] = ("load_test" if fig.latency_source.startswith("load-test")
                                      and resolved.canonical in LATENCY_METRICS else "measured")
        return obs

    def baseline_metric(self, resolved: ResolvedMetric, params: dict[str, Any] | None = None) -> Observation:
        """Return the production (baseline) model's value of a metric, computed once.

        From the baseline's output on the evaluation rows when given (``inputs.baseline.score``,
        ``prediction`` or ``model``), else the baseline metrics file. As for the candidate, a value the
        rows can give always comes from the rows. Drift describes the data, not a model, so it has no
        baseline value other than one from the baseline metrics file.
        """
        return self._cached("baseline", resolved, params)

    def _compute_baseline(self, resolved: ResolvedMetric, params: dict[str, Any]) -> Observation:
        spec = resolved.spec
        observed = self.inputs.baseline_observed.get(resolved.canonical)
        if spec.section == "operational":
            obs = self._operational_obs(resolved, "baseline", observed)
            if obs is not None:
                return obs
        rows = self.inputs.eval_data.baseline if self.inputs.eval_data is not None else None
        if spec.fn is not None and spec.section != "drift" and self.inputs.baseline_scoring_error:
            return Observation(None, "error", "the production model could not score the data: "
                               f"{self.inputs.baseline_scoring_error}", "computed")
        if spec.fn is not None and spec.section != "drift" and rows is not None:
            return self.from_rows(spec.fn, rows, params, observed, "the production model's output on the rows decides")
        if observed is not None:
            return self._from_file(observed, resolved, params)
        given = ("the baseline's rows cannot give it" if rows is not None
                 else "no baseline output on the evaluation rows (inputs.baseline score / prediction / model)")
        return Observation(None, "not_computable",
                           f"no baseline value: {given}, and no baseline metrics file has it (inputs.baseline.metrics "
                           "/ --baseline-metrics)")

    @staticmethod
    def _from_file(observed: Any, resolved: ResolvedMetric, params: dict[str, Any]) -> Observation:
        """Return a metric's value read from a metrics file (null means not computable)."""
        details: dict[str, Any] = {"file": observed.file, "name_in_file": observed.name}
        rule_params = {k: v for k, v in params.items() if k not in resolved.name_params}
        if rule_params:
            details["note"] = (f"the metrics file does not say which definition it used; the rule's "
                               f"parameters {rule_params} are assumed to match")
        if observed.value is None:
            return Observation(None, "not_computable", "the metrics file gives null / NaN", "metrics_file", details)
        return Observation(observed.value, "ok", source="metrics_file", details=details)

    @staticmethod
    def _from_data(compute: Callable[[], tuple[float, dict[str, Any]]], observed: Any,
                   file_ignored: str) -> Observation:
        """Run ``compute`` (value, details) on the data; the data decides, a metrics-file value is only kept.

        Library warnings go into the details, not to stderr. ``NotComputable`` becomes ``not_computable``;
        a ``ValueError`` (a refused input, e.g. a missing sensitive value in strict mode) and any other
        exception become ``error``, so one failing metric never stops the others.
        """
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                value, raw_details = compute()
            details = dict(raw_details)
            if caught:  # library warnings belong to the check, not to stderr
                details["warnings"] = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
        except NotComputable as exc:
            nc_details = dict(exc.details)
            if observed is not None:
                nc_details["metrics_file_value"] = observed.value
                nc_details["metrics_file_ignored"] = file_ignored
            return Observation(None, "not_computable", exc.reason, "computed", nc_details)
        except ValueError as exc:
            return Observation(None, "error", str(exc), "computed")
        except Exception as exc:  # noqa: BLE001 - a failing metric must not stop the others
            return Observation(None, "error", f"{type(exc).__name__}: {exc}", "computed")
        if observed is not None:
            details["metrics_file_value"] = observed.value
        return Observation(value, "ok", source="computed", details=details)

    @classmethod
    def from_rows(cls, fn: Callable[..., Any], rows: Any, params: dict[str, Any], observed: Any = None,
                  file_ignored: str = "") -> Observation:
        """Compute a metric function on evaluation rows (:meth:`_from_data` semantics for its outcome)."""
        def compute() -> tuple[float, dict[str, Any]]:
            mv = fn(rows, **params)
            return mv.value, mv.details

        return cls._from_data(compute, observed, file_ignored)

    def _compute_raw(self, resolved: ResolvedMetric, params: dict[str, Any]) -> Observation:
        spec = resolved.spec
        observed = self.inputs.observed.get(resolved.canonical)
        if spec.section == "operational":
            obs = self._operational_obs(resolved, "candidate", observed)
            if obs is not None:
                return obs
            if self.inputs.model is not None and self.inputs.runner is None and self.inputs.latency_samples is None:
                why = self.inputs.scoring_error or self.inputs.runner_error or "it cannot run on the evaluation data"
                return Observation(None, "error", f"the model was given but could not be run, so a declared figure "
                                   f"cannot stand in for it: {why}", "computed",
                                   {"metrics_file_value": observed.value if observed is not None else None})
            if observed is None:
                why = self.inputs.runner_error or ("no model artifact was given to run (inputs.model / --model) and no "
                                                   "metrics file has it")
                return Observation(None, "not_computable", f"not measured: {why}")
        if spec.section == "drift" and (self.inputs.reference is not None or self.policy.policy.drift is not None):
            # reference data or a drift section given: the data decides (no current data: not computable)
            from gatekit.sections.drift import aggregate

            return self._from_data(lambda: aggregate(self.drift(), resolved.canonical), observed,
                                   "the reference and current data were given and decide")
        if spec.section == "rollout" and spec.fn is not None and self.inputs.baseline_scoring_error:
            return Observation(None, "error", "the production model could not score the data: "
                               f"{self.inputs.baseline_scoring_error}", "computed")
        if spec.fn is not None and self.inputs.scoring_error:
            return Observation(None, "error", f"the model could not score the data: {self.inputs.scoring_error}",
                               "computed")
        if spec.fn is not None and self.inputs.eval_data is not None:
            return self.from_rows(spec.fn, self.inputs.eval_data, params, observed,
                                  "the evaluation data was given and decides")
        if observed is not None:
            return self._from_file(observed, resolved, params)
        if spec.fn is None:
            why = f"no value: {spec.description.split('. ', 1)[-1].rstrip('.')}"
        else:
            why = f"no value: {self.inputs.no_eval_reason}"
        return Observation(None, "not_computable", why)


def _default_operational() -> Any:
    from gatekit.policy.specs import OperationalSpec

    return OperationalSpec()


class Section(Protocol):
    """A section adapter."""

    name: str

    def planned(self, policy: LoadedPolicy) -> list[tuple[str, OnFail]]:
        """Names and severities of the checks this section will produce (used if it crashes)."""
        ...

    def run(self, ctx: RunContext) -> list[CheckResult]:
        """Evaluate the section's rules."""
        ...
