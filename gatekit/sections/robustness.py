"""The ``robustness:`` section: noise sensitivity and out-of-range inputs, probed by running the model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gatekit.core.results import CheckResult, OnFail, Status
from gatekit.policy.loader import LoadedPolicy
from gatekit.sections.base import RunContext

SECTION = "robustness"


class RobustnessSection:
    """Checks ``noise.metric_drop``, ``noise.flip_rate`` and ``out_of_range.<case>``.

    Fail closed: without a model that can run on the data every check is not computable; a probe on
    which the model raised, or returned non-finite or out-of-range scores, fails its case.
    """

    name = "robustness"

    def planned(self, policy: LoadedPolicy) -> list[tuple[str, OnFail]]:
        """One check per configured rule and case."""
        spec = policy.policy.robustness
        if spec is None:
            return []
        out = []
        if spec.noise is not None:
            if spec.noise.max_metric_drop is not None:
                out.append(("noise.metric_drop", spec.on_fail))
            if spec.noise.max_flip_rate is not None:
                out.append(("noise.flip_rate", spec.on_fail))
        out += [(f"out_of_range.{c}", spec.on_fail) for c in (spec.out_of_range.cases if spec.out_of_range else [])]
        return out

    def run(self, ctx: RunContext) -> list[CheckResult]:
        """Run the probes."""
        spec = ctx.policy.policy.robustness
        if spec is None:
            return []
        runner = ctx.inputs.runner
        if runner is None or ctx.inputs.frame is None:
            why = ctx.inputs.runner_error or "no model artifact that gatekit can run on the evaluation data " \
                                            "(inputs.model with inputs.data)"
            return [CheckResult(name=n, section=SECTION, on_fail=sev, status=Status.NOT_COMPUTABLE,
                                message=f"not probed: {why}") for n, sev in self.planned(ctx.policy)]
        out: list[CheckResult] = []
        if spec.noise is not None:
            out.extend(self._noise(ctx, spec.noise, spec.on_fail))
        if spec.out_of_range is not None:
            out.extend(self._oor(ctx, spec.out_of_range, spec.on_fail))
        return out

    @staticmethod
    def _noise(ctx: RunContext, spec: Any, sev: OnFail) -> list[CheckResult]:
        from gatekit.model.perturbation import noise

        runner = ctx.inputs.runner
        data = ctx.inputs.eval_data
        name = spec.metric or ("auc_roc" if runner.task == "classification" else "rmse")
        metric = ctx.registry.resolve(name)
        wanted = []
        if spec.max_metric_drop is not None:
            wanted.append(("noise.metric_drop", spec.max_metric_drop))
        if spec.max_flip_rate is not None:
            wanted.append(("noise.flip_rate", spec.max_flip_rate))
        has_target = data is not None and data.y_true is not None
        try:
            res = noise(runner, ctx.inputs.frame, ctx.inputs.reference, spec.scale, spec.repeats, spec.seed,
                        metric if has_target else None, data, data.decision_threshold if data else 0.5)
        except Exception as exc:  # noqa: BLE001 - the model failing under noise is a finding, reported per rule
            return [CheckResult(name=n, section=SECTION, on_fail=sev, status=Status.ERROR,
                                message=f"the noisy scoring failed: {type(exc).__name__}: {exc}") for n, _ in wanted]
        setup = (f"Gaussian noise at {spec.scale:g} x std on {len(res['numeric_features'])} numeric features, "
                 f"{spec.repeats} repeats, seed {spec.seed}")
        details = {k: v for k, v in res.items()}
        out = []
        for check, limit in wanted:
            if check == "noise.metric_drop":
                if "degradation" not in res:
                    why = res.get("metric_error") or f"{name} needs the target column (inputs.target)"
                    out.append(CheckResult(name=check, section=SECTION, on_fail=sev, status=Status.NOT_COMPUTABLE,
                                           message=f"{name}: {why}", details=details))
                    continue
                v = res["degradation"]
                msg = (f"{res['metric']} {res['clean']:.4g} clean, {sum(res['noisy']) / len(res['noisy']):.4g} "
                       f"noisy (mean): degradation {v:.4g} {'<=' if v <= limit else '>'} {limit:g}; {setup}")
            else:
                if "flip_rate" not in res:
                    out.append(CheckResult(name=check, section=SECTION, on_fail=sev, status=Status.NOT_COMPUTABLE,
                                           message="a flip rate needs a classifier", details=details))
                    continue
                v = res["flip_rate"]
                msg = (f"{v:.2%} of predicted labels flip under noise (mean of {spec.repeats}); limit "
                       f"{limit:.2%}; {setup}")
            out.append(CheckResult(name=check, section=SECTION, on_fail=sev,
                                   status=Status.PASS if v <= limit else Status.FAIL, observed=float(v), op="<=",
                                   threshold=float(limit), margin=float(limit - v), message=msg, details=details))
        return out

    @staticmethod
    def _oor(ctx: RunContext, spec: Any, sev: OnFail) -> list[CheckResult]:
        from gatekit.model.perturbation import out_of_range

        results = out_of_range(ctx.inputs.runner, ctx.inputs.frame, ctx.inputs.reference, list(spec.cases),
                               spec.rows, spec.extreme_factor, spec.seed)
        out = []
        for r in results:
            name = f"out_of_range.{r.case}"
            probes = [{"target": p.target, "ok": p.ok, "outcome": p.outcome} for p in r.probes]
            if not r.probes:
                out.append(CheckResult(name=name, section=SECTION, on_fail=sev, status=Status.NOT_COMPUTABLE,
                                       message=f"no {'numeric' if r.case in ('extreme', 'wrong_type') else 'text'} "
                                               "feature to probe", details={"probes": probes}))
                continue
            failed = r.failed
            msg = (f"the model handled all {len(r.probes)} probe(s)" if not failed else
                   f"{len(failed)} of {len(r.probes)} probe(s) failed: " +
                   "; ".join(f"{p.target}: {p.outcome}" for p in failed[:5])
                   + (f"; and {len(failed) - 5} more" if len(failed) > 5 else ""))
            if r.note:
                ref = ctx.inputs.files.get("reference", {}).get("path", "the reference data")
                msg += f" (note: {r.note.replace('the reference data', Path(ref).name)})"
            out.append(CheckResult(name=name, section=SECTION, on_fail=sev,
                                   status=Status.PASS if not failed else Status.FAIL, observed=float(len(failed)),
                                   op="<=", threshold=0.0, margin=-float(len(failed)), message=msg,
                                   details={"probes": probes, "rows": spec.rows}))
        return out
