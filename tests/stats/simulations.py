"""The simulations behind issue 21's decision statistics, as tables (the slow tests assert on them).

``python -m tests.stats.simulations`` prints every table in Markdown (the numbers in the docs page).
Each row: check, method, nominal, measured, sims, seed (and the setting). Vectorised with numpy; the
seeds are fixed, so the tables are reproducible.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.stats import norm

from gatekit.stats.comparison_modes import Evidence, equivalence, non_inferiority, superiority
from gatekit.stats.multiplicity import adjust_p_values
from gatekit.stats.power import (
    hanley_mcneil_variance,
    mde_auc,
    mde_means,
    mde_proportions,
    rows_for_margin_proportions,
    z_total,
)
from gatekit.stats.sequential import betting_log_capital, msprt, normal_mixture_cs

Row = dict[str, Any]


def _row(check: str, method: str, nominal: float | str, measured: float, sims: int, seed: int, **kw: Any) -> Row:
    return {"check": check, "method": method, "nominal": nominal, "measured": float(measured), "sims": sims,
            "seed": seed, **kw}


# ------------------------------------------------------------------------------------ multiplicity

def multiplicity_table(sims: int = 2000, rules: int = 30, rows: int = 200, seed: int = 2101) -> list[Row]:
    """30 rules whose null is true (at its boundary): how often does the policy block at least once?

    Each rule is a one-sided test of "harm beyond the margin" on ``rows`` per-row differences drawn at
    exactly the margin (the least favourable null), p-value from the normal statistic with the sample
    standard deviation (:func:`gatekit.stats.multiplicity.normal_p_value`, vectorised). A policy blocks when
    any rule's (adjusted) p-value is at most the per-rule level.
    """
    out: list[Row] = []
    rng = np.random.default_rng(seed)
    for dep, share in (("independent", 0.0), ("equicorrelated 0.5", 0.5)):
        e = rng.standard_normal((sims, rules, rows))
        if share:
            e = math.sqrt(share) * rng.standard_normal((sims, 1, rows)) + math.sqrt(1 - share) * e
        margin = 0.1
        x = -margin + e
        z = (x.mean(axis=2) + margin) / (x.std(axis=2, ddof=1) / math.sqrt(rows))
        p = norm.cdf(z)                           # H1: mean < -margin (harm proven)
        for per_rule in (0.05, 0.025):
            blocks = {"none": (p <= per_rule).any(axis=1)}
            for method in ("bonferroni", "holm", "bh"):
                adj = np.vstack([adjust_p_values(row, method) for row in p])  # type: ignore[arg-type]
                blocks[method] = (adj <= per_rule).any(axis=1)
            for method, b in blocks.items():
                nominal: float | str = (f"{1 - (1 - per_rule) ** rules:.3f} (1-(1-a)^30)"
                                        if method == "none" and not share else per_rule if method != "none"
                                        else "> a")
                out.append(_row("30 null-true rules: family-wise false-block rate", method, nominal, b.mean(),
                                sims, seed, per_rule=per_rule, dependence=dep))
    return out


# -------------------------------------------------------------------------------------- sequential

def _first_look(hit: np.ndarray) -> np.ndarray:
    """Index of the first True per row (``hit.shape[1]`` when none)."""
    any_ = hit.any(axis=1)
    return np.where(any_, hit.argmax(axis=1), hit.shape[1])


def _fixed_n(d: np.ndarray, looks: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Low and high of the fixed-n Wald interval of the mean at each look (sims x looks)."""
    z = norm.isf((1 - confidence) / 2)
    s1, s2 = np.cumsum(d, axis=1)[:, looks - 1], np.cumsum(d * d, axis=1)[:, looks - 1]
    mean = s1 / looks
    sd = np.sqrt(np.maximum((s2 - looks * mean ** 2) / (looks - 1), 0))
    half = z * sd / np.sqrt(looks)
    return mean - half, mean + half


def _betting_stops(d: np.ndarray, looks: np.ndarray, value: float, lower: float, upper: float,
                   confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Per sim: first look at which the betting CS lies above ``value``, and below it."""
    up, down = betting_log_capital(d, value, lower, upper, confidence)
    thr = math.log(2 / (1 - confidence))
    return _first_look(up[:, looks - 1] >= thr), _first_look(down[:, looks - 1] >= thr)


def _cs_stops(d: np.ndarray, looks: np.ndarray, confidence: float, method: str) -> tuple[np.ndarray, np.ndarray]:
    above, below = np.empty(len(d), dtype=int), np.empty(len(d), dtype=int)
    for i, row in enumerate(d):
        cs = (normal_mixture_cs(row, confidence, looks, n_opt=float(looks[-1])) if method == "normal_mixture"
              else msprt(row, 0.0, confidence, looks, n_opt=float(looks[-1])).sequence)
        a, b = cs.first_exclusion(0.0, "above"), cs.first_exclusion(0.0, "below")
        above[i] = len(looks) if a is None else a
        below[i] = len(looks) if b is None else b
    return above, below


def _arms(rng: np.random.Generator, kind: str, sims: int, pairs: int, harm: float) -> np.ndarray:
    """Paired-by-arrival differences candidate - baseline; ``harm`` raises the candidate's errors / latency."""
    if kind == "errors":
        base = (rng.random((sims, pairs)) < 0.10).astype(float)
        cand = (rng.random((sims, pairs)) < 0.10 + harm).astype(float)
    else:
        base = np.exp(rng.normal(math.log(80.0), 0.6, (sims, pairs)))
        cand = np.exp(rng.normal(math.log(80.0), 0.6, (sims, pairs))) + harm
    return cand - base


def sequential_null_table(sims: int = 2000, looks_n: int = 30, every: int = 100, confidence: float = 0.95,
                          seed: int = 2102) -> list[Row]:
    """A canary with no true difference, looked at ``looks_n`` times (every ``every`` pairs of rows).

    The rate at which a look excludes 0 (either side: "a difference is proven"; the harm side: "harm is
    proven", the candidate's errors or latency higher) at some look. Fixed-n: the 95 % Wald interval
    recomputed at each look; the sequences at ``confidence`` (two-sided, each side at most half).
    """
    looks = np.arange(every, every * looks_n + 1, every)
    out: list[Row] = []
    alpha = 1 - confidence
    for kind in ("errors", "latency"):
        rng = np.random.default_rng(seed + (kind == "latency"))
        d = _arms(rng, kind, sims, int(looks[-1]), 0.0)
        low, high = _fixed_n(d, looks, confidence)
        stops = {"fixed-n 95 % interval at every look": (_first_look(low > 0), _first_look(high < 0))}
        if kind == "errors":
            stops["betting CS (Waudby-Smith & Ramdas 2024)"] = _betting_stops(d, looks, 0.0, -1.0, 1.0, confidence)
        stops["normal-mixture CS (asymptotic, estimated sd)"] = _cs_stops(d, looks, confidence, "normal_mixture")
        stops["mSPRT CS (Johari et al. 2017)"] = _cs_stops(d, looks, confidence, "msprt")
        setting = (f"{'error indicators, 10 % both arms' if kind == 'errors' else 'latency, lognormal 80 ms both arms'}"
                   f"; {looks_n} looks every {every} pairs")
        for method, (above, below) in stops.items():
            either = np.minimum(above, below) < len(looks)
            out.append(_row("no true difference: false-stop rate (either side)", method,
                            alpha if "CS" in method else "5 % per look", either.mean(), sims, seed, setting=setting))
            out.append(_row("no true difference: false-block rate (harm side)", method,
                            alpha / 2 if "CS" in method else "2.5 % per look", (above < len(looks)).mean(), sims, seed,
                            setting=setting))
    return out


def betting_coverage_table(sims: int = 2000, rows: int = 2000, confidence: float = 0.95, seed: int = 2106
                           ) -> list[Row]:
    """How often the betting CS misses the true mean at some row (every row a look), skewed and flat data."""
    out: list[Row] = []
    rng = np.random.default_rng(seed)
    thr = math.log(2 / (1 - confidence))
    for label, draw, mean in (("Bernoulli(0.02)", lambda: (rng.random((sims, rows)) < 0.02).astype(float), 0.02),
                              ("Bernoulli(0.5)", lambda: (rng.random((sims, rows)) < 0.5).astype(float), 0.5),
                              ("Beta(0.5, 5)", lambda: rng.beta(0.5, 5.0, (sims, rows)), 0.5 / 5.5)):
        up, down = betting_log_capital(draw(), mean, 0.0, 1.0, confidence)
        miss = (up >= thr).any(axis=1) | (down >= thr).any(axis=1)
        out.append(_row("betting CS misses the true mean at some row (every row a look)", "betting CS",
                        1 - confidence, miss.mean(), sims, seed, setting=f"{label}, {rows} rows"))
    return out


def sequential_harm_table(sims: int = 1000, every: int = 100, max_pairs: int = 20000, confidence: float = 0.95,
                          seed: int = 2103) -> list[Row]:
    """A true harm: error rate 10 % -> 13 %, or latency + 15 ms; rows (pairs) until the harm is proven.

    Looks every ``every`` pairs up to ``max_pairs``; the median counts a sim that never stops as
    ``inf``; ``measured`` is the share stopped for harm by ``max_pairs``.
    """
    looks = np.arange(every, max_pairs + 1, every)
    out: list[Row] = []
    for kind, harm in (("errors", 0.03), ("latency", 15.0)):
        rng = np.random.default_rng(seed + (kind == "latency"))
        firsts: dict[str, list[np.ndarray]] = {}
        for start in range(0, sims, 100):
            k = min(100, sims - start)
            d = _arms(rng, kind, k, max_pairs, harm)
            low, _ = _fixed_n(d, looks, confidence)
            firsts.setdefault("fixed-n 95 % interval at every look (invalid)", []).append(_first_look(low > 0))
            if kind == "errors":
                firsts.setdefault("betting CS", []).append(_betting_stops(d, looks, 0.0, -1.0, 1.0, confidence)[0])
            firsts.setdefault("normal-mixture CS", []).append(_cs_stops(d, looks, confidence, "normal_mixture")[0])
            firsts.setdefault("mSPRT CS", []).append(_cs_stops(d, looks, confidence, "msprt")[0])
        setting = ("errors 10 % -> 13 % (+0.03)" if kind == "errors"
                   else "latency lognormal 80 ms (sd ~ 52 ms) + 15 ms")
        for method, parts in firsts.items():
            first = np.concatenate(parts)
            pairs = np.where(first < len(looks), looks[np.minimum(first, len(looks) - 1)], np.inf)
            out.append(_row("true harm: stopped for harm by the last look", method, "-", np.isfinite(pairs).mean(),
                            sims, seed, setting=setting, median_pairs_to_stop=float(np.median(pairs)),
                            max_pairs=max_pairs))
    return out


# ------------------------------------------------------------------------------------------- modes

def modes_table(sims: int = 4000, boot_sims: int = 1000, resamples: int = 1000, rows: int = 200,
                seed: int = 2104) -> list[Row]:
    """Error rates at the band's edges and power inside it, normal and percentile-bootstrap evidence.

    Per-row differences ``N(delta, 1)``, ``rows`` rows (se about 0.0707); equivalence band +-0.2 at
    confidence 0.90 (Schuirmann's 5 % TOST), non-inferiority margin 0.2 and superiority at 0.95.
    """
    out: list[Row] = []
    band, margin = 0.2, 0.2
    se_true = 1 / math.sqrt(rows)
    cases = [
        ("equivalence +-0.2 @0.90: proven at delta = +0.2 (edge; type I)", 0.2, "eq", 0.05),
        ("equivalence +-0.2 @0.90: proven at delta = -0.2 (edge; type I)", -0.2, "eq", 0.05),
        ("equivalence +-0.2 @0.90: proven at delta = 0 (power)", 0.0, "eq",
         2 * norm.cdf(band / se_true - norm.isf(0.05)) - 1),
        ("non-inferiority 0.2 @0.95: proven at delta = -0.2 (edge; type I)", -0.2, "ni", 0.025),
        ("non-inferiority 0.2 @0.95: proven at delta = 0 (power)", 0.0, "ni",
         norm.cdf(margin / se_true - norm.isf(0.025))),
        ("superiority @0.95: proven at delta = 0 (edge; type I)", 0.0, "sup", 0.025),
        ("95 % interval covers delta at the edge +0.2", 0.2, "cover", 0.95),
    ]
    for evidence_kind, n_sims in (("normal", sims), ("bootstrap", boot_sims)):
        rng = np.random.default_rng(seed + (evidence_kind == "bootstrap"))
        for label, delta, what, nominal in cases:
            x = rng.normal(delta, 1.0, (n_sims, rows))
            hits = np.empty(n_sims, dtype=bool)
            for i, row in enumerate(x):
                est = float(row.mean())
                if evidence_kind == "normal":
                    ev = Evidence(est, se=float(row.std(ddof=1) / math.sqrt(rows)))
                else:
                    idx = rng.integers(0, rows, (resamples, rows))
                    ev = Evidence(est, replicates=row[idx].mean(axis=1))
                if what == "eq":
                    hits[i] = equivalence(ev, band, 0.90).outcome == "proven"
                elif what == "ni":
                    hits[i] = non_inferiority(ev, margin, 0.95).outcome == "proven"
                elif what == "sup":
                    hits[i] = superiority(ev, 0.95).outcome == "proven"
                else:
                    lo, hi = ev.interval(0.95)
                    hits[i] = lo <= delta <= hi
            method = "normal se (Wald)" if evidence_kind == "normal" else f"percentile bootstrap ({resamples})"
            out.append(_row(label, method, float(nominal), hits.mean(), n_sims, seed, rows=rows))
    return out


# ------------------------------------------------------------------------------------------- power

def _aucs(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """Mann-Whitney AUC per row of (sims, m) positives and (sims, n) negatives (continuous scores)."""
    m, n = pos.shape[1], neg.shape[1]
    allv = np.concatenate([pos, neg], axis=1)
    ranks = allv.argsort(axis=1).argsort(axis=1) + 1.0
    return (ranks[:, :m].sum(axis=1) - m * (m + 1) / 2) / (m * n)


def _exp_scores(rng: np.random.Generator, auc: float, sims: int, m: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Negatives Exp(1), positives Exp(rate) with ``P(pos > neg) = auc`` (rate = 1/auc - 1): Hanley-McNeil exact."""
    rate = 1 / auc - 1
    return rng.exponential(1 / rate, (sims, m)), rng.exponential(1.0, (sims, n))


def power_table(sims: int = 4000, seed: int = 2105) -> list[Row]:
    """Planned power (0.8 at confidence 0.95) against the rate at which simulated data prove the effect."""
    out: list[Row] = []
    rng = np.random.default_rng(seed)
    zq = norm.isf(0.025)
    # proportions: the smallest fall of accuracy 0.90 two arms of 2000 rows can prove
    n = 2000
    d = mde_proportions(0.9, n, n)
    pc, pb = rng.binomial(n, 0.9 - d, sims) / n, rng.binomial(n, 0.9, sims) / n
    high = pc - pb + zq * np.sqrt(pc * (1 - pc) / n + pb * (1 - pb) / n)
    out.append(_row(f"MDE, proportions: accuracy 0.90, {n} rows per arm -> fall {d:.4f}", "Wald interval", 0.8,
                    (high < 0).mean(), sims, seed))
    # proportions: rows to show a fall of at most 0.02 when there is none
    rows = math.ceil(rows_for_margin_proportions(0.9, 0.02))
    pc, pb = rng.binomial(rows, 0.9, sims) / rows, rng.binomial(rows, 0.9, sims) / rows
    low = pc - pb - zq * np.sqrt(pc * (1 - pc) / rows + pb * (1 - pb) / rows)
    out.append(_row(f"rows for margin, proportions: 0.02 at accuracy 0.90 -> {rows} per arm", "Wald interval", 0.8,
                    (low >= -0.02).mean(), sims, seed))
    # means: latency sd 50 ms, 500 rows per arm
    n, sd = 500, 50.0
    d = mde_means(sd, n, n)
    a, b = rng.normal(d, sd, (sims, n)), rng.normal(0.0, sd, (sims, n))
    est = a.mean(axis=1) - b.mean(axis=1)
    se = np.sqrt(a.var(axis=1, ddof=1) / n + b.var(axis=1, ddof=1) / n)
    out.append(_row(f"MDE, means: sd 50 ms, {n} rows per arm -> rise {d:.2f} ms", "Wald interval", 0.8,
                    (est - zq * se > 0).mean(), sims, seed))
    # AUC: exponential scores (Hanley-McNeil exact), arms of 100 positives and 300 negatives
    m_pos, n_neg, auc = 100, 300, 0.8
    d = mde_auc(auc, m_pos, n_neg)
    ac = _aucs(*_exp_scores(rng, auc - d, sims, m_pos, n_neg))
    ab = _aucs(*_exp_scores(rng, auc, sims, m_pos, n_neg))
    var = np.array([hanley_mcneil_variance(x, m_pos, n_neg) + hanley_mcneil_variance(y, m_pos, n_neg)
                    for x, y in zip(ac, ab, strict=True)])
    out.append(_row(f"MDE, AUC 0.80 (Hanley-McNeil), arms of {m_pos}+{n_neg} rows -> fall {d:.4f}",
                    "Wald interval, Hanley-McNeil variance", 0.8, (ac - ab + zq * np.sqrt(var) < 0).mean(), sims,
                    seed))
    # the Hanley-McNeil variance itself
    a1 = _aucs(*_exp_scores(rng, auc, sims, 30, 60))
    out.append(_row("Hanley-McNeil variance of AUC 0.80, 30+60 rows (exponential scores)",
                    "simulated variance / formula", 1.0, a1.var(ddof=1) / hanley_mcneil_variance(auc, 30, 60), sims,
                    seed))
    out.append(_row("z_{0.975} + z_{0.8}", "formula", 2.8016, z_total(), 0, 0))
    return out


def markdown(rows: list[Row]) -> str:
    """Render rows as a Markdown table (the extra keys as columns)."""
    keys = list(dict.fromkeys(k for r in rows for k in r))

    def cell(v: Any) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(cell(r.get(k, "")) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - prints the docs tables
    import time

    for fn in (multiplicity_table, sequential_null_table, betting_coverage_table, sequential_harm_table, modes_table,
               power_table):
        t = time.perf_counter()
        table = fn()
        print(f"\n### {fn.__name__} ({time.perf_counter() - t:.1f} s)\n")
        print(markdown(table))
