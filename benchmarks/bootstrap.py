"""Confidence intervals at scale: the cost of a 2000-resample bootstrap per rule, and its agreement with DeLong.

Usage (from the repository root):
    python benchmarks/bootstrap.py [--rows 10000 100000] [--resamples 2000]

For each size, simulates a binormal classification holdout (candidate and production scores on the same
rows, 30 % positives, three groups) and a canary log of the same size (30 % candidate arm), then times,
in this process (no start-up):

- the paired bootstrap interval of the AUC change (vectorised kernel), of precision@0.5, of the
  demographic parity difference, and of average precision (pr_auc, no kernel: the metric is called on every resample,
  capped at 200 resamples and scaled, since it is linear in the resamples);
- DeLong's interval of the same AUC change, and the gap between its bounds and the bootstrap's;
- the unpaired (canary) bootstrap interval of the AUC change.

Prints seconds per rule and the peak RSS of the process. Figures, not assertions: nothing here fails.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd

from gatekit.metrics import EvalData, default_registry
from gatekit.policy.specs import MetricRule
from gatekit.sections.base import Observation
from gatekit.sections.comparison import Side, interval_for


def holdout(n: int, seed: int) -> tuple[EvalData, EvalData]:
    """Candidate and production EvalData on the same n rows (binormal scores squashed to [0, 1])."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    c = 1 / (1 + np.exp(-(1.2 * y + rng.standard_normal(n))))
    b = 1 / (1 + np.exp(-(1.0 * y + rng.standard_normal(n))))
    sens = pd.DataFrame({"g": rng.choice(["a", "b", "c"], n)})
    cand = EvalData(y_true=y, y_score=c, sensitive=sens, task="classification")
    base = EvalData(y_true=y, y_score=b, sensitive=sens, task="classification")
    cand.baseline = base
    return cand, base


def timed(rule: MetricRule, name: str, cand: EvalData, base: EvalData, paired: bool,
          resamples: int) -> tuple[float, object]:
    """Seconds for one rule's interval (scaled to ``resamples`` when the rule used fewer)."""
    res = default_registry().resolve(name)
    assert res is not None
    params = dict(res.name_params)
    c = res.spec.fn(cand, **params).value
    b = res.spec.fn(base, **params).value
    t0 = time.perf_counter()
    iv = interval_for(rule, res, params, Side(Observation(c, "ok", source="computed"), cand, "candidate"),
                      Side(Observation(b, "ok", source="computed"), base, "production"), paired, c - b)
    seconds = time.perf_counter() - t0
    used = rule.resamples or 2000
    return seconds * resamples / used, iv


def main() -> None:
    """Run the benchmark and print its figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--resamples", type=int, default=2000)
    args = ap.parse_args()
    print(f"{'rows':>9} {'rule':<42} {'seconds':>8}  interval")
    for n in args.rows:
        cand, base = holdout(n, 1)
        for name, interval, resamples in (("auc_roc", "bootstrap", args.resamples),
                                          ("precision_at_0_5", "bootstrap", args.resamples),
                                          ("demographic_parity_difference", "bootstrap", args.resamples),
                                          ("pr_auc", "bootstrap", min(200, args.resamples)),
                                          ("auc_roc", "delong", None)):
            kw = {"resamples": resamples} if interval == "bootstrap" else {"interval": "delong"}
            rule = MetricRule(name=name, max_drop=0.01, confidence=0.95, **kw)
            secs, iv = timed(rule, name, cand, base, True, args.resamples)
            label = f"{name} paired {interval}" + (" (scaled from 200)" if resamples == 200 else "")
            print(f"{n:>9} {label:<42} {secs:>8.2f}  [{iv.low:+.5f}, {iv.high:+.5f}]")
        rng = np.random.default_rng(2)
        arm = rng.random(n) < 0.3
        a = EvalData(y_true=cand.y_true[arm], y_score=cand.y_score[arm], task="classification")
        p = EvalData(y_true=base.y_true[~arm], y_score=base.y_score[~arm], task="classification")
        secs, iv = timed(MetricRule(name="auc_roc", max_drop=0.01, confidence=0.95, resamples=args.resamples),
                         "auc_roc", a, p, False, args.resamples)
        print(f"{n:>9} {'auc_roc canary (unpaired) bootstrap':<42} {secs:>8.2f}  [{iv.low:+.5f}, {iv.high:+.5f}]")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
