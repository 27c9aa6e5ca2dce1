"""gatekit's own overhead in a measured latency, for the demo's ONNX loan model.

Usage (from the repository root, after ``gatekit demo``):
    python benchmarks/latency.py [--requests 5000] [--rounds 5]

Times, alternately in rounds and on the same prepared one-row input feeds:

- **bare**: ``onnxruntime.InferenceSession.run`` called directly for the probability output, the floor
  of any client;
- **gatekit**: what ``gatekit.model.serving.measure`` times per request (``Runner.request_function``: one
  ``session.run`` for the probability output and the positive class's number out of it).

Prints median and p95 of each, and the overhead (gatekit - bare) per request in microseconds and as a
percentage of the bare latency. The target: under 5 %. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
ART = ROOT / "reports" / "demo" / "artifacts"


def main() -> None:
    """Run the benchmark and print its figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    from gatekit.model.onnx import OnnxModel
    from gatekit.model.serving import Runner, percentile

    path = ART / "hmda_candidate.onnx"
    if not path.is_file():
        raise SystemExit(f"{path} not found: run `gatekit demo` first")
    model = OnnxModel(path.read_bytes())
    hold = pd.read_csv(ART / "hmda_holdout.csv")
    features = [str(c) for c in model.feature_names_in_]
    runner = Runner(model, features, "classification", list(model.classes_).index("yes"))
    X = hold[features]
    feeds = [runner.prepare(X.iloc[[i % len(X)]]) for i in range(args.requests)]
    session = model._session
    prob_output = [model._probability_output()[0]]  # type: ignore[index]

    def bare(feed: dict) -> object:
        return session.run(prob_output, feed)  # the probabilities only, as a scoring client asks

    timed = runner.request_function()  # exactly what measure() times per request
    for f in feeds[:200]:  # warm-up both paths
        bare(f)
        timed(f)
    samples: dict[str, list[float]] = {"bare": [], "gatekit": []}
    for _ in range(args.rounds):
        for name, call in (("bare", bare), ("gatekit", timed)):
            out = samples[name]
            for f in feeds:
                t0 = time.perf_counter_ns()
                call(f)
                out.append((time.perf_counter_ns() - t0) / 1e3)  # microseconds
    med = {k: statistics.median(v) for k, v in samples.items()}
    p95 = {k: percentile(v, 0.95) for k, v in samples.items()}
    print(f"{'path':<10} {'median us':>10} {'p95 us':>10}  ({args.rounds} rounds x {args.requests} requests)")
    for k in ("bare", "gatekit"):
        print(f"{k:<10} {med[k]:>10.2f} {p95[k]:>10.2f}")
    over = med["gatekit"] - med["bare"]
    print(f"overhead per request: {over:.2f} us = {100 * over / med['bare']:.1f} % of the bare median "
          f"(target < 5 %); at p95 {100 * (p95['gatekit'] - p95['bare']) / p95['bare']:.1f} %")


if __name__ == "__main__":
    main()
