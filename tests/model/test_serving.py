"""Tests of :mod:`gatekit.model.serving`: percentiles, load-test samples, measured latency, batch time and
memory.

Every expected value is computed independently of the code under test: by hand (literal numbers),
from the documented formulas written out here (nearest rank ``x[ceil(q n) - 1]`` of the sorted
samples, ``ceil(20 / (1 - q))`` samples needed, batch time = median of the repeats), or by numpy.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression

import gatekit
from gatekit.core.errors import InputError, NotComputable
from gatekit.core.results import Decision, Status
from gatekit.model import serving as operational
from gatekit.model.onnx import OnnxModel
from gatekit.model.serving import Runner, load_samples, min_samples, percentile
from tests.helpers import _check, _only
from tests.model.helpers import _checks


def test_p50_from_one_request_is_not_computable_and_blocks(art: dict[str, Any]) -> None:
    report = gatekit.run({"version": 1, "inputs": {"data": str(art["data"]), "target": "y",
                                                    "model": str(art["model"]), "trust_model": True},
                          "operational": {"requests": 1, "warmup": 500},
                          "metrics": [{"name": "latency_p50_ms", "op": "<=", "value": 1000}]})
    c = _check(report, "latency_p50_ms")
    assert c.status == Status.NOT_COMPUTABLE and "40 samples" in c.message
    assert report.decision == Decision.BLOCK


def test_a_model_that_cannot_run_does_not_pass_on_declared_figures(art: dict[str, Any]) -> None:
    pd.read_csv(art["data"])[["a", "y"]].to_csv(art["dir"] / "no_b.csv", index=False)
    (art["dir"] / "m.json").write_text('{"latency_p95_ms": 3, "throughput_rows_per_s": 1e9}')
    report = gatekit.run({"version": 1, "inputs": {"data": str(art["dir"] / "no_b.csv"), "target": "y",
                                                    "model": str(art["model"]), "trust_model": True,
                                                    "metrics": str(art["dir"] / "m.json")},
                          "metrics": [{"name": "latency_p95_ms", "op": "<=", "value": 50},
                                      {"name": "throughput_rows_per_s", "op": ">=", "value": 1000}]})
    assert report.decision == Decision.BLOCK


def test_latency_increase_needs_figures_of_one_kind(art: dict[str, Any]) -> None:
    (art["dir"] / "prod_lt.json").write_text(json.dumps({"latency_ms": [50.0 + i / 1000 for i in range(500)]}))
    import pickle

    prod = art["dir"] / "prod.pkl"  # production: another fit (the candidate's own file is refused as production)
    model = pickle.loads(art["model"].read_bytes())
    prod.write_bytes(pickle.dumps(model.set_params(C=0.5)))
    report = gatekit.run({"version": 1, "inputs": {"data": str(art["data"]), "target": "y",
                                                    "model": str(art["model"]), "trust_model": True,
                                                    "baseline": {"model": str(prod), "trust_model": True}},
                          "operational": {"baseline_latency_samples": str(art["dir"] / "prod_lt.json")},
                          "metrics": [{"name": "latency_p95_ms", "max_increase": 0}]})
    assert _check(report, "latency_p95_ms vs baseline").status != Status.PASS


def test_bad_latency_samples_files_are_input_errors(tmp_path: Path) -> None:
    files = {"binary.json": bytes(range(256)) * 4,
             "bigint.json": ('{"latency_ms": [' + "9" * 5000 + "]}").encode(),
             "deep.json": ("[" * 100000 + "]" * 100000).encode()}
    for name, raw in files.items():
        p = tmp_path / name
        p.write_bytes(raw)
        with pytest.raises(InputError):
            load_samples(p)


N_ROWS = 120
FEATURES = ["x1", "x2", "x3"]
PROC_METHOD = "resident-set high-water mark rise (Linux /proc, clear_refs)"
TRACEMALLOC_METHOD = "tracemalloc peak (Python and numpy allocations only)"


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _perm_1_to_400() -> list[float]:
    """1, 2, ..., 400 ms in a scrambled order (7919 is prime to 400): sorting is the code's job."""
    out = [float((i * 7919) % 400 + 1) for i in range(400)]
    assert sorted(out) == [float(k) for k in range(1, 401)]
    return out


# The documented example, at a size where p95 is computable: 389 samples up to 900 ms with the last of
# them 900 (sorted index 388), then 21 of 1000 ms (indices 389..409); n = 410.
#   nearest rank: ceil(0.95 * 410) = ceil(389.5) = 390 -> x[389] = 1000
#   linear:       (410 - 1) * 0.95 = 388.55 -> x[388] + 0.55 * (x[389] - x[388]) = 900 + 55 = 955
EXAMPLE_410 = [float(v) for v in range(100, 900, 100) for _ in range(43)] + [900.0] * 45 + [1000.0] * 21


def _shuffled(values: list[float], seed: int = 5) -> list[float]:
    return [float(v) for v in np.random.default_rng(seed).permutation(values)]


class ScriptedClock:
    """Each timed call of a model lasts that model's next scripted duration, whatever else runs between.

    Durations are scripted per model (told apart by their feature list, recorded by a spy on
    :meth:`Runner.__call__`) and per kind of call (single-row latencies in ms, batches in s). They are what
    the CPU clock (``process_time_ns``) measures; the wall clock (``perf_counter_ns``) measures
    ``wall_factor`` times as much. gatekit reads each clock in start / end pairs around every timed call,
    so every second reading of a clock is the end of a call: the first end reading after a call takes
    that call's next scripted duration. An unscripted model or one call too many makes the measurement
    raise (KeyError / StopIteration), which gatekit records as an error: the tests then fail instead of
    passing on made-up figures.
    """

    def __init__(self, latency_ms: dict[tuple[str, ...], list[float]] | None = None,
                 batch_s: dict[tuple[str, ...], list[float]] | None = None, wall_factor: float = 1.0) -> None:
        self._ms: dict[tuple[str, ...], Iterator[float]] = {k: iter(v) for k, v in (latency_ms or {}).items()}
        self._s: dict[tuple[str, ...], Iterator[float]] = {k: iter(v) for k, v in (batch_s or {}).items()}
        self.wall_factor = wall_factor
        self._now = {"wall": 10**12, "cpu": 10**11}
        self._reads = {"wall": 0, "cpu": 0}
        self._call_id, self._pulled_for, self._duration_ns = 0, -1, 0
        self.last: tuple[str, ...] | None = None
        self.last_rows = 0
        self.calls: list[tuple[tuple[str, ...], Any]] = []
        self.read_order: list[str] = []

    def _read(self, which: str) -> int:
        self._reads[which] += 1
        self.read_order.append(which)
        if self._reads[which] % 2 == 0:
            if self._pulled_for != self._call_id:  # the first end reading after this call
                assert self.last is not None
                if self.last_rows == 1:
                    self._duration_ns = round(next(self._ms[self.last]) * 1e6)
                else:
                    self._duration_ns = round(next(self._s[self.last]) * 1e9)
                self._pulled_for = self._call_id
            self._now[which] += round(self._duration_ns * (self.wall_factor if which == "wall" else 1.0))
        return self._now[which]

    def process_time_ns(self) -> int:
        return self._read("cpu")

    def perf_counter_ns(self) -> int:
        return self._read("wall")

    def install(self, monkeypatch: pytest.MonkeyPatch) -> ScriptedClock:
        original = Runner.__call__

        def spy(runner: Runner, X: Any) -> np.ndarray:
            self.last, self.last_rows = tuple(runner.features), len(X)
            self._call_id += 1
            self.calls.append((self.last, X))
            return original(runner, X)

        monkeypatch.setattr(Runner, "__call__", spy)
        monkeypatch.setattr(operational, "time", self)
        return self

    def one_row_calls(self, key: tuple[str, ...]) -> list[Any]:
        return [X for k, X in self.calls if k == key and len(X) == 1]


ROUNDS = 5
"""The default ``operational.rounds``."""


@pytest.fixture(scope="module")
def clf(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A candidate on three features and a production model on one, saved with skops, and a holdout CSV."""
    rng = np.random.default_rng(21)
    n = 2 * N_ROWS
    X = pd.DataFrame(np.round(rng.standard_normal((n, 3)), 4), columns=FEATURES)
    y = (X.x1 + 0.7 * X.x2 - 0.4 * X.x3 + rng.standard_normal(n) > 0).astype(int)
    cand = LogisticRegression().fit(X.iloc[:N_ROWS], y.iloc[:N_ROWS])
    prod = LogisticRegression(C=0.3).fit(X.iloc[:N_ROWS][["x1"]], y.iloc[:N_ROWS])
    root = tmp_path_factory.mktemp("operational")
    sio.dump(cand, root / "cand.skops")
    sio.dump(prod, root / "prod.skops")
    holdout = X.iloc[N_ROWS:].assign(y=y.iloc[N_ROWS:]).reset_index(drop=True)
    holdout["s"] = np.round(cand.predict_proba(holdout[FEATURES])[:, 1], 6)
    holdout.to_csv(root / "holdout.csv", index=False)
    holdout.drop(columns=["x3"]).to_csv(root / "no_x3.csv", index=False)
    return {"root": root, "cand": root / "cand.skops", "prod": root / "prod.skops", "data": root / "holdout.csv",
            "no_x3": root / "no_x3.csv", "frame": pd.read_csv(root / "holdout.csv")}


CAND = tuple(FEATURES)
PROD = ("x1",)


def _model_policy(clf: dict[str, Any], rules: list[dict[str, Any]], operational_spec: dict[str, Any] | None = None,
                  strict: bool = True, **inputs: Any) -> dict[str, Any]:
    policy: dict[str, Any] = {"version": 1, "strict": strict,
                              "inputs": {"data": str(clf["data"]), "target": "y", "model": str(clf["cand"]), **inputs},
                              "metrics": rules}
    if operational_spec is not None:
        policy["operational"] = operational_spec
    return policy


def _score_policy(clf: dict[str, Any], rules: list[dict[str, Any]], operational_spec: dict[str, Any] | None = None,
                  **inputs: Any) -> dict[str, Any]:
    """Evaluation data with a score column and no model: nothing to time."""
    policy: dict[str, Any] = {"version": 1, "strict": True,
                              "inputs": {"data": str(clf["data"]), "target": "y", "score": "s", **inputs},
                              "metrics": rules}
    if operational_spec is not None:
        policy["operational"] = operational_spec
    return policy


# --------------------------------------------------------------------------------------------------
# 1. Percentiles and the samples they need
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("q", "need"), [(0.5, 40), (0.9, 200), (0.95, 400), (0.99, 2000), (0.999, 20000)])
def test_min_samples_is_20_over_1_minus_q(q: float, need: int) -> None:
    assert min_samples(q) == need


@pytest.mark.parametrize(("q", "label", "need"), [(0.5, "p50", 40), (0.95, "p95", 400), (0.99, "p99", 2000)])
def test_fewer_samples_than_needed_is_not_computable(q: float, label: str, need: int) -> None:
    with pytest.raises(NotComputable) as exc:
        percentile(np.arange(1.0, need), q)  # need - 1 samples
    assert f"{label} needs at least {need} samples" in exc.value.reason
    assert f"there are {need - 1}" in exc.value.reason
    assert exc.value.details == {"samples": need - 1, "needed": need}
    # one more sample is enough: 1..need, nearest rank x[ceil(q * need) - 1] = ceil(q * need)
    assert percentile(np.arange(1.0, need + 1), q) == math.ceil(q * need)


def test_percentiles_of_1_to_400_ms_by_hand() -> None:
    samples = _perm_1_to_400()
    # nearest rank: ceil(0.95 * 400) = 380 -> the 380th smallest, 380; linear: 399 * 0.95 = 379.05 -> 380.05
    assert percentile(samples, 0.95) == 380.0
    assert percentile(samples, 0.95, "linear") == pytest.approx(380.05, abs=1e-9)
    # p50: ceil(200) = 200 -> 200; linear: 399 * 0.5 = 199.5 -> 200.5
    assert percentile(samples, 0.5) == 200.0
    assert percentile(samples, 0.5, "linear") == 200.5


def test_p99_of_1_to_2000_ms_by_hand() -> None:
    samples = _shuffled([float(k) for k in range(1, 2001)])
    assert percentile(samples, 0.99) == 1980.0  # ceil(0.99 * 2000) = 1980
    assert percentile(samples, 0.99, "linear") == pytest.approx(1980.01, abs=1e-9)  # 1999 * 0.99 = 1979.01


def test_documented_example_100_to_1000_ms(monkeypatch: pytest.MonkeyPatch) -> None:
    """The module's own example, 10 samples: the formula alone, with the sample floor lifted."""
    monkeypatch.setattr(operational, "min_samples", lambda q: 1)
    samples = [1000.0, 300.0, 100.0, 700.0, 200.0, 900.0, 500.0, 400.0, 800.0, 600.0]
    assert percentile(samples, 0.95) == 1000.0  # ceil(9.5) = 10 -> x[9]
    assert percentile(samples, 0.95, "linear") == pytest.approx(955.0, abs=1e-9)  # 8.55 -> 900 + 0.55 * 100
    assert percentile(samples, 0.5) == 500.0  # ceil(5) = 5 -> x[4]
    assert percentile(samples, 0.5, "linear") == pytest.approx(550.0, abs=1e-9)  # 4.5 -> 500 + 0.5 * 100


def test_documented_example_at_a_computable_size() -> None:
    assert len(EXAMPLE_410) == 410 and sorted(EXAMPLE_410)[388] == 900.0 and sorted(EXAMPLE_410)[389] == 1000.0
    samples = _shuffled(EXAMPLE_410)
    assert percentile(samples, 0.95) == 1000.0
    assert percentile(samples, 0.95, "linear") == pytest.approx(955.0, abs=1e-9)


@pytest.mark.parametrize("q", [0.5, 0.95])
def test_nearest_rank_is_an_observed_sample_and_linear_is_numpy(q: float) -> None:
    samples = np.round(np.random.default_rng(8).lognormal(1.0, 0.6, 437), 3)
    by_formula = float(np.sort(samples)[math.ceil(q * len(samples)) - 1])
    assert percentile(samples, q) == by_formula
    assert by_formula in samples
    assert percentile(samples, q, "linear") == pytest.approx(float(np.quantile(samples, q, method="linear")),
                                                             rel=1e-12)


# --------------------------------------------------------------------------------------------------
# 2. A load test's samples file
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["object", "bare_list"])
@pytest.mark.parametrize(("method", "expected", "status"), [("nearest_rank", 1000.0, Status.FAIL),
                                                            ("linear", 955.0, Status.PASS)])
def test_latency_samples_file_decides_the_latency_rule(clf: dict[str, Any], tmp_path: Path, shape: str, method: str,
                                                       expected: float, status: Status) -> None:
    samples = _shuffled(EXAMPLE_410)
    path = _write(tmp_path / "load_test.json", {"latency_ms": samples} if shape == "object" else samples)
    policy = _score_policy(clf, [{"name": "latency_p95_ms", "op": "<=", "value": 960}],
                           {"latency_samples": str(path), "percentile_method": method})
    report = gatekit.run(policy)
    check = _only(report)
    assert check.status == status
    assert check.observed == pytest.approx(expected, abs=1e-9)
    assert check.margin == pytest.approx(960 - expected, abs=1e-9)
    assert check.details["samples"] == 410
    assert check.details["percentile_method"] == method
    assert check.details["source"].startswith("load-test samples (410)")
    assert (check.details["min_ms"], check.details["max_ms"]) == (100.0, 1000.0)
    assert check.details["mean_ms"] == pytest.approx(float(np.mean(EXAMPLE_410)))
    assert report.decision == (Decision.PASS if status == Status.PASS else Decision.BLOCK)


def test_linear_percentiles_of_a_samples_file_equal_numpy(clf: dict[str, Any], tmp_path: Path) -> None:
    samples = np.round(np.random.default_rng(13).gamma(3.0, 4.0, 2100), 3)
    path = _write(tmp_path / "lt.json", {"latency_ms": samples.tolist()})
    rules = [{"name": n, "op": "<=", "value": 1e6} for n in ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms")]
    checks = _checks(gatekit.run(_score_policy(clf, rules, {"latency_samples": str(path),
                                                            "percentile_method": "linear"})))
    for name, q in (("latency_p50_ms", 0.5), ("latency_p95_ms", 0.95), ("latency_p99_ms", 0.99)):
        assert checks[name].status == Status.PASS
        assert checks[name].observed == pytest.approx(float(np.quantile(samples, q, method="linear")), rel=1e-12)


def test_samples_file_replaces_timing_the_model(clf: dict[str, Any], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """With a load test given, the candidate's single-row latency is not timed; its batch still is."""
    clock = ScriptedClock(batch_s={CAND: [0.25] * ROUNDS}).install(monkeypatch)  # no latency script
    path = _write(tmp_path / "lt.json", _perm_1_to_400())
    rules = [{"name": "latency_p95_ms", "op": "<=", "value": 500}, {"name": "batch_time_s", "op": "<=", "value": 1}]
    checks = _checks(gatekit.run(_model_policy(clf, rules, {"latency_samples": str(path)})))
    assert checks["latency_p95_ms"].status == Status.PASS
    assert checks["latency_p95_ms"].observed == 380.0
    assert checks["latency_p95_ms"].details["source"].startswith("load-test samples (400)")
    assert clock.one_row_calls(CAND) == []
    assert checks["batch_time_s"].observed == 0.25


BAD_SAMPLES = [
    (None, "not found"),
    ("{not json", "invalid JSON"),
    ('{"latency_ms": [1.5, -2, 3]}', "index 1"),
    ('{"latency_ms": [1.5, "NaN"]}', "'NaN'"),
    ("[1.5, NaN]", "index 1"),
    ('{"latency_ms": [1.5, Infinity]}', "index 1"),
    ('{"latency_ms": [true, 2]}', "index 0"),
    ('{"latency_ms": [1, null]}', "index 1"),
    ('{"latency_ms": ["12"]}', "index 0"),
    ("[]", "latency_ms"),
    ('{"latency_ms": []}', "latency_ms"),
    ('{"latency": [1, 2]}', "latency_ms"),
    ('{"latency_ms": 12}', "latency_ms"),
    ('"12"', "latency_ms"),
]


@pytest.mark.parametrize("key", ["latency_samples", "baseline_latency_samples"])
@pytest.mark.parametrize(("content", "fragment"), BAD_SAMPLES)
def test_bad_samples_file_is_an_input_error_naming_it(clf: dict[str, Any], tmp_path: Path, key: str,
                                                      content: str | None, fragment: str) -> None:
    path = tmp_path / "load_test.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    rule = {"name": "latency_p95_ms", "op": "<=", "value": 50}
    with pytest.raises(InputError) as exc:
        gatekit.run(_score_policy(clf, [rule], {key: str(path)}))
    problems = exc.value.problems
    assert len(problems) == 1, [str(p) for p in problems]
    assert Path(problems[0].file or "") == path.resolve()
    assert fragment in problems[0].message, problems[0].message


def test_samples_file_with_a_byte_order_mark_is_read(clf: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "lt.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"latency_ms": _perm_1_to_400()}).encode())
    check = _only(gatekit.run(_score_policy(clf, [{"name": "latency_p95_ms", "op": "<=", "value": 500}],
                                            {"latency_samples": str(path)})))
    assert check.observed == 380.0


@pytest.mark.parametrize(("limit", "status", "margin"), [(200, Status.PASS, 10.0), (190, Status.PASS, 0.0),
                                                         (150, Status.FAIL, -40.0)])
def test_baseline_latency_samples_feed_a_max_increase_rule(clf: dict[str, Any], tmp_path: Path, limit: float,
                                                           status: Status, margin: float) -> None:
    cand = _write(tmp_path / "cand.json", {"latency_ms": _perm_1_to_400()})  # p95 = 380
    base = _write(tmp_path / "prod.json", [k / 2 for k in range(1, 401)])  # 0.5 .. 200: p95 = 380 / 2 = 190
    policy = _score_policy(clf, [{"name": "latency_p95_ms", "max_increase": limit}],
                           {"latency_samples": str(cand), "baseline_latency_samples": str(base)})
    report = gatekit.run(policy)
    check = _only(report)
    assert check.name == "latency_p95_ms vs baseline"
    assert check.status == status
    comp = check.details["comparison"]
    assert (comp["candidate"], comp["baseline"], comp["change"]) == (380.0, 190.0, 190.0)
    assert check.observed == 190.0
    assert check.margin == pytest.approx(margin)
    assert check.details["baseline_details"]["source"].startswith("load-test samples (400)")
    assert report.decision == (Decision.PASS if status == Status.PASS else Decision.BLOCK)


def test_samples_file_alone_is_enough_for_a_latency_rule(tmp_path: Path) -> None:
    path = _write(tmp_path / "lt.json", {"latency_ms": _perm_1_to_400()})
    policy = {"version": 1, "operational": {"latency_samples": str(path)},
              "metrics": [{"name": "latency_p95_ms", "op": "<=", "value": 500}]}
    check = _only(gatekit.run(policy))
    assert check.status == Status.PASS
    assert check.observed == 380.0


# --------------------------------------------------------------------------------------------------
# 3. Latency measured by running the model
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "p50", "p95"), [("nearest_rank", 200.0, 380.0), ("linear", 200.5, 380.05)])
def test_measured_latency_with_a_scripted_clock(clf: dict[str, Any], monkeypatch: pytest.MonkeyPatch, method: str,
                                                p50: float, p95: float) -> None:
    clock = ScriptedClock({CAND: _perm_1_to_400() * ROUNDS}, wall_factor=3.0).install(monkeypatch)
    rules = [{"name": "latency_p50_ms", "op": "<=", "value": 250},
             {"name": "latency_p95_ms", "op": "<=", "value": 380, "on_fail": "warn"}]
    report = gatekit.run(_model_policy(clf, rules, {"requests": 400, "warmup": 7, "percentile_method": method}))
    checks = _checks(report)
    # both rules read one measurement: a second one would run out of scripted durations and be an error
    assert checks["latency_p50_ms"].observed == pytest.approx(p50, abs=1e-9)
    assert checks["latency_p95_ms"].observed == pytest.approx(p95, abs=1e-9)
    assert checks["latency_p50_ms"].status == Status.PASS
    assert checks["latency_p95_ms"].status == (Status.PASS if p95 <= 380 else Status.FAIL)
    d = checks["latency_p95_ms"].details
    assert d["samples"] == 400 * ROUNDS and d["samples_per_round"] == [400] * ROUNDS
    assert d["percentile_method"] == method and d["clock"] == "cpu"
    assert d["source"] == ("measured: 5 rounds of 400 single-row calls after 7 warm-up calls, sklearn model in this "
                           "process, CPU time")
    assert d["model_kind"] == "sklearn" and d["rows_available"] == N_ROWS
    assert (d["min_ms"], d["median_ms"], d["max_ms"], d["mean_ms"]) == (1.0, 200.5, 400.0, 200.5)
    # every round gives the same p95: no spread, and the wall clock (3 times the CPU time here) is recorded
    assert d["rounds"]["values"] == pytest.approx([p95] * ROUNDS) and d["rounds"]["cv"] == 0.0
    assert (d["rounds"]["low"], d["rounds"]["high"]) == pytest.approx((p95, p95))
    assert d["other_clock"]["clock"] == "wall" and d["other_clock"]["median"] == pytest.approx(3 * p95)
    assert d["wall_over_cpu"] == pytest.approx(3.0)
    assert checks["latency_p95_ms"].source == "computed"
    # 7 untimed calls, then 5 rounds of the same 400 timed calls: the evaluation rows in order, cycled
    one_row = clock.one_row_calls(CAND)
    assert [int(X.index[0]) for X in one_row] == (list(range(7))
                                                  + [i % N_ROWS for i in range(7, 407)] * ROUNDS)
    pd.testing.assert_frame_equal(one_row[130], clf["frame"][FEATURES].iloc[[10]])
    assert report.decision == (Decision.PASS if p95 <= 380 else Decision.WARN)


class RecordingClock:
    """The real clocks, with every CPU-time (``process_time_ns``) reading kept, to recompute what gatekit measured."""

    def __init__(self) -> None:
        import time

        self._time = time
        self.readings: list[int] = []

    def process_time_ns(self) -> int:
        self.readings.append(self._time.process_time_ns())
        return self.readings[-1]

    def perf_counter_ns(self) -> int:
        return self._time.perf_counter_ns()

    def durations_ms(self) -> list[float]:
        return [(b - a) / 1e6 for a, b in zip(self.readings[::2], self.readings[1::2], strict=True)]


def test_measured_latency_with_the_real_clock_is_an_observed_sample(clf: dict[str, Any],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    clock = RecordingClock()
    monkeypatch.setattr(operational, "time", clock)
    report = gatekit.run(_model_policy(clf, [{"name": "latency_p50_ms", "op": "<=", "value": 1000}],
                                       {"requests": 400, "warmup": 5}))
    check = _only(report)
    assert check.status == Status.PASS and report.decision == Decision.PASS
    measured = clock.durations_ms()
    assert len(measured) == 400 * ROUNDS
    # per round, nearest rank: the ceil(0.5 * 400) = 200th smallest; the figure is the median of the 5 rounds
    per_round = [sorted(measured[r * 400:(r + 1) * 400])[199] for r in range(ROUNDS)]
    assert check.observed == float(np.median(per_round))
    assert check.details["rounds"]["values"] == per_round
    assert check.details["samples"] == 400 * ROUNDS
    assert check.details["min_ms"] <= check.observed <= check.details["max_ms"]
    assert check.details["source"].startswith("measured")
    assert check.details["percentile_method"] == "nearest_rank"


def test_p99_from_400_requests_is_not_computable_and_blocks(clf: dict[str, Any]) -> None:
    report = gatekit.run(_model_policy(clf, [{"name": "latency_p99_ms", "op": "<=", "value": 1000}],
                                       {"requests": 400, "warmup": 0}))
    check = _only(report)
    assert check.status == Status.NOT_COMPUTABLE
    assert "needs at least 2000 samples" in check.message and "there are 400" in check.message
    assert "operational.requests" in check.message
    assert check.details["needed"] == 2000 and check.details["samples"] == 400
    assert report.decision == Decision.BLOCK


# --------------------------------------------------------------------------------------------------
# 4. Batch time, throughput, memory
# --------------------------------------------------------------------------------------------------


def test_batch_time_is_the_median_of_the_rounds_of_the_median_of_the_repeats(clf: dict[str, Any],
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # 5 rounds of 4 repeats; each round's batch time is the median of its 4 (the mean of the middle two)
    times = [[0.5, 0.125, 0.25, 1.0],     # 0.375 (the mean would be 0.46875)
             [0.25, 0.25, 0.25, 0.25],    # 0.25
             [0.5, 0.5, 0.25, 0.25],      # 0.375
             [1.0, 0.5, 0.5, 2.0],        # 0.75
             [0.125, 0.25, 0.125, 0.25]]  # 0.1875
    clock = ScriptedClock(batch_s={CAND: [t for r in times for t in r]}).install(monkeypatch)
    rules = [{"name": "batch_time_s", "op": "<=", "value": 0.8},
             {"name": "throughput_rows_per_s", "op": ">=", "value": 150}]
    checks = _checks(gatekit.run(_model_policy(clf, rules, {"repeats": 4})))
    bt, tp = checks["batch_time_s"], checks["throughput_rows_per_s"]
    per_round = [float(np.median(r)) for r in times]
    assert per_round == [0.375, 0.25, 0.375, 0.75, 0.1875]
    # median of the rounds 0.375; the 93.75 % interval of the median of 5 rounds is their range
    assert bt.observed == 0.375 and bt.status == Status.PASS
    assert (bt.details["interval"]["low"], bt.details["interval"]["high"]) == (0.1875, 0.75)
    assert bt.margin == pytest.approx(0.8 - 0.75)  # the worst bound decides a pass
    # throughput per round = rows / time; with 5 rounds its median is rows / the median time: 320 rows/s
    assert tp.observed == pytest.approx(N_ROWS / 0.375)
    assert tp.details["rounds"]["values"] == pytest.approx([N_ROWS / t for t in per_round])
    assert tp.details["interval"]["low"] == pytest.approx(N_ROWS / 0.75)  # 160 >= 150: the whole interval passes
    assert tp.status == Status.PASS
    for c in (bt, tp):
        assert c.details["batch_rows"] == N_ROWS and c.details["repeats"] == 4
        assert c.details["batch_times_s"] == per_round
        assert c.details["statistic"] == "median of the 5 rounds (each the median of its repeats)"
    # the batch is the evaluation rows in order; no single-row call was made (no latency rule)
    batches = [X for k, X in clock.calls if k == CAND and len(X) == N_ROWS]
    pd.testing.assert_frame_equal(batches[-1], clf["frame"][FEATURES])
    # the rows scored once for the run's predictions, 5 rounds of 4 timed calls, the memory call (the warm-up
    # scores 100 rows)
    assert len(batches) == 1 + 5 * 4 + 1
    assert clock.one_row_calls(CAND) == []
    assert statistics.median(times[0]) == 0.375


def test_batch_rows_above_the_data_draws_rows_with_replacement(clf: dict[str, Any],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    clock = ScriptedClock(batch_s={CAND: [0.25, 0.5, 0.125, 0.25, 0.25]}).install(monkeypatch)
    rules = [{"name": "throughput_rows_per_s", "op": ">=", "value": 1000}]
    check = _only(gatekit.run(_model_policy(clf, rules, {"batch_rows": 500})))
    assert check.details["batch_rows"] == 500
    assert check.observed == pytest.approx(500 / 0.25)  # median 0.25 s -> 2000 rows/s
    big = [X for k, X in clock.calls if k == CAND and len(X) == 500]
    assert len(big) == ROUNDS + 1  # one timed call per round and the memory call
    frame = clf["frame"][FEATURES]
    drawn = big[0]
    keys = set(map(tuple, frame.to_numpy()))
    assert all(tuple(r) in keys for r in drawn.to_numpy())  # every row is an evaluation row
    assert drawn.duplicated().any()  # 500 rows from 120: some drawn more than once
    assert len(drawn.drop_duplicates()) > N_ROWS // 2  # but not one row repeated


def test_batch_rows_below_the_data_takes_the_first_rows(clf: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    clock = ScriptedClock(batch_s={CAND: [0.5] * ROUNDS}).install(monkeypatch)
    check = _only(gatekit.run(_model_policy(clf, [{"name": "batch_time_s", "op": "<=", "value": 1}],
                                            {"batch_rows": 50})))
    assert check.details["batch_rows"] == 50 and check.observed == 0.5
    batches = [X for k, X in clock.calls if k == CAND and len(X) == 50]
    assert len(batches) == 1 + ROUNDS + 1  # warm-up (min(50, 100) rows), one per round, memory call
    pd.testing.assert_frame_equal(batches[1], clf["frame"][FEATURES].iloc[:50])


def test_peak_memory_is_measured_with_its_method(clf: dict[str, Any]) -> None:
    check = _only(gatekit.run(_model_policy(clf, [{"name": "peak_memory_mb", "op": "<=", "value": 4096}])))
    assert check.status == Status.PASS
    assert check.observed >= 0
    assert check.details["memory_method"] in (PROC_METHOD, TRACEMALLOC_METHOD)
    assert check.details["batch_rows"] == N_ROWS


def test_peak_memory_counts_an_allocation() -> None:
    def allocate() -> None:
        a = np.ones(8 * 2**20)  # 64 MB, every page touched
        assert a[-1] == 1.0

    mb, method = operational._peak_memory_mb(allocate)
    if method != PROC_METHOD:
        pytest.skip(f"/proc/self/clear_refs is not writable here ({method})")
    assert 60 <= mb < 200


def test_peak_memory_falls_back_to_tracemalloc(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_proc(field_name: str) -> float:
        raise OSError("no /proc")

    monkeypatch.setattr(operational, "_vm", no_proc)

    def allocate() -> None:
        a = np.ones(2**20)  # 8 MB through numpy, which tracemalloc sees
        assert a[0] == 1.0

    mb, method = operational._peak_memory_mb(allocate)
    assert method == TRACEMALLOC_METHOD
    assert 8.0 <= mb < 8.5


# --------------------------------------------------------------------------------------------------
# 6. Fail closed, and where a value comes from
# --------------------------------------------------------------------------------------------------


def _failing_on(monkeypatch: pytest.MonkeyPatch, rows: int) -> None:
    original = Runner.__call__

    def call(runner: Runner, X: Any) -> np.ndarray:
        if len(X) == rows:
            raise RuntimeError(f"cannot score {rows} rows")
        return original(runner, X)

    monkeypatch.setattr(Runner, "__call__", call)


def test_model_failing_on_single_rows_makes_latency_an_error(clf: dict[str, Any], tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    _failing_on(monkeypatch, 1)
    metrics = _write(tmp_path / "m.json", {"latency_p95_ms": 1.0})  # a stale file value does not rescue it
    rules = [{"name": "latency_p95_ms", "op": "<=", "value": 1000}, {"name": "batch_time_s", "op": "<=", "value": 100}]
    report = gatekit.run(_model_policy(clf, rules, metrics=str(metrics)))
    checks = _checks(report)
    lat = checks["latency_p95_ms"]
    assert lat.status == Status.ERROR
    assert lat.message == ("the model failed while its latency was measured: RuntimeError: cannot score 1 rows")
    assert lat.observed is None
    assert checks["batch_time_s"].status == Status.PASS  # the batch is a separate measurement
    assert report.decision == Decision.BLOCK


def test_model_failing_on_the_batch_makes_batch_rules_errors(clf: dict[str, Any],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    _failing_on(monkeypatch, 500)
    rules = [{"name": "throughput_rows_per_s", "op": ">=", "value": 1},
             {"name": "peak_memory_mb", "op": "<=", "value": 4096, "on_fail": "warn"},
             {"name": "latency_p50_ms", "op": "<=", "value": 1000}]
    report = gatekit.run(_model_policy(clf, rules, {"batch_rows": 500, "requests": 40}))
    checks = _checks(report)
    for name in ("throughput_rows_per_s", "peak_memory_mb"):
        assert checks[name].status == Status.ERROR
        assert checks[name].message == "the model failed while scoring the batch: RuntimeError: cannot score 500 rows"
    assert checks["latency_p50_ms"].status == Status.PASS
    assert report.decision == Decision.BLOCK


@pytest.mark.parametrize("name", ["latency_p95_ms", "batch_time_s", "peak_memory_mb"])
def test_no_model_and_no_metrics_file_is_not_computable(clf: dict[str, Any], name: str) -> None:
    report = gatekit.run(_score_policy(clf, [{"name": name, "op": "<=", "value": 1000}]))
    check = _only(report)
    assert check.status == Status.NOT_COMPUTABLE
    assert check.message == ("not measured: no model artifact was given to run (inputs.model / --model) and no "
                             "metrics file has it")
    assert report.decision == Decision.BLOCK


def test_a_model_that_cannot_be_bound_says_why_latency_is_not_measured(clf: dict[str, Any]) -> None:
    # the score column scores the rows; the model file is kept for timing, but the data lacks x3
    policy = {"version": 1, "inputs": {"data": str(clf["no_x3"]), "target": "y", "score": "s",
                                       "model": str(clf["cand"])},
              "metrics": [{"name": "latency_p95_ms", "op": "<=", "value": 1000}]}
    check = _only(gatekit.run(policy))
    # a model that was given but cannot run is an error (a declared figure may not stand in for it)
    assert check.status == Status.ERROR
    assert "could not be run" in check.message
    assert "['x3']" in check.message


def test_metrics_file_value_is_used_when_there_is_no_model(clf: dict[str, Any], tmp_path: Path) -> None:
    metrics = _write(tmp_path / "m.json", {"latency_p95_ms": 42.5, "throughput_rows_per_s": 900})
    rules = [{"name": "latency_p95_ms", "op": "<=", "value": 50},
             {"name": "throughput_rows_per_s", "op": ">=", "value": 1000}]
    checks = _checks(gatekit.run(_score_policy(clf, rules, metrics=str(metrics))))
    assert checks["latency_p95_ms"].source == "metrics_file"
    assert checks["latency_p95_ms"].observed == 42.5 and checks["latency_p95_ms"].status == Status.PASS
    assert checks["throughput_rows_per_s"].source == "metrics_file"
    assert checks["throughput_rows_per_s"].status == Status.FAIL and checks["throughput_rows_per_s"].margin == -100


def test_measurement_decides_and_the_file_value_is_kept(clf: dict[str, Any], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    ScriptedClock({CAND: _perm_1_to_400() * ROUNDS}).install(monkeypatch)
    metrics = _write(tmp_path / "m.json", {"latency_p95_ms": 1.0})
    check = _only(gatekit.run(_model_policy(clf, [{"name": "latency_p95_ms", "op": "<=", "value": 100}],
                                            metrics=str(metrics))))
    assert check.source == "computed"
    assert check.observed == 380.0 and check.status == Status.FAIL
    assert check.margin == -280.0
    assert check.details["metrics_file_value"] == 1.0


def test_latency_is_measured_without_a_target(clf: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    ScriptedClock({CAND: _perm_1_to_400() * ROUNDS}).install(monkeypatch)
    policy = {"version": 1, "inputs": {"data": str(clf["data"]), "model": str(clf["cand"])},
              "metrics": [{"name": "latency_p95_ms", "op": "<=", "value": 500}]}
    check = _only(gatekit.run(policy))
    assert "no model artifact was given" not in check.message
    assert check.status == Status.PASS and check.observed == 380.0


# --------------------------------------------------------------------------------------------------
# 7. Latency relative to the production model, both measured
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("limit", "status", "margin"), [(200, Status.PASS, 10.0), (150, Status.FAIL, -40.0)])
def test_relative_latency_against_the_production_model(clf: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
                                                       limit: float, status: Status, margin: float) -> None:
    prod_ms = _shuffled([k / 2 for k in range(1, 401)])  # 0.5 .. 200 ms: p95 = x[379] = 190
    clock = ScriptedClock({CAND: _perm_1_to_400() * ROUNDS, PROD: prod_ms * ROUNDS}).install(monkeypatch)
    policy = _model_policy(clf, [{"name": "latency_p95_ms", "max_increase": limit}], {"requests": 400, "warmup": 3},
                           baseline={"model": str(clf["prod"])})
    report = gatekit.run(policy)
    check = _only(report)
    assert check.name == "latency_p95_ms vs baseline"
    assert check.status == status
    comp = check.details["comparison"]
    assert (comp["candidate"], comp["baseline"]) == (380.0, 190.0)
    assert comp["change"] == 190.0 and comp["definition"] == "median over round pairs of candidate - production"
    assert comp["per_round"] == [190.0] * ROUNDS
    assert comp["baseline_source"] == "computed"
    assert check.observed == 190.0 and check.margin == pytest.approx(margin)
    assert check.details["candidate_details"]["model_kind"] == "sklearn"
    assert check.details["baseline_details"]["samples"] == 400 * ROUNDS
    assert check.details["baseline_details"]["max_ms"] == 200.0
    # each model was timed on its own single-row calls: 3 warm-up + 5 rounds of 400
    assert len(clock.one_row_calls(CAND)) == len(clock.one_row_calls(PROD)) == 3 + 400 * ROUNDS
    assert report.decision == (Decision.PASS if status == Status.PASS else Decision.BLOCK)


@pytest.mark.parametrize("kind", ["zipmap", "tensor", "matrix", "regressor"])
def test_the_timed_request_function_scores_like_the_model(onnx_models: dict[str, Any], kind: str) -> None:
    df = onnx_models["frame"]
    features = ["x1", "x2", "g"] if kind in ("zipmap", "tensor") else ["x1", "x2"]
    model = OnnxModel(onnx_models["files"][kind].read_bytes(), None if kind in ("zipmap", "tensor") else features)
    task, index = ("regression", None) if kind == "regressor" else ("classification", 1)
    runner = Runner(model, features, task, index)
    call = runner.request_function()
    for i in (0, 7, 42):
        row = df[features].iloc[[i]]
        expected = runner(row)[0]  # the batch path (positive column of predict_proba / the forecast)
        assert call(runner.prepare(row)) == pytest.approx(expected, abs=1e-7)
    if kind in ("zipmap", "tensor"):
        full = onnx_models["pipe"].predict_proba(df[features].iloc[[42]])[0, 1]
        assert call(runner.prepare(df[features].iloc[[42]])) == pytest.approx(full, abs=1e-6)


def test_the_sample_an_engine_gives_measure_covers_requests_and_batch() -> None:
    from types import SimpleNamespace

    spec = SimpleNamespace(requests=400, warmup=20, batch_rows=None, repeats=1)
    assert operational.sample_rows(spec) == operational.SAMPLE_ROWS  # the batch is the sample
    spec.batch_rows = 1000
    assert operational.sample_rows(spec) == 1000
    spec.requests, spec.warmup = 5000, 0
    assert operational.sample_rows(spec) == 5000  # every single-row request a distinct row
    spec.batch_rows, spec.requests = 5_000_000, 400
    assert operational.sample_rows(spec) == operational.SAMPLE_ROWS  # drawn with replacement from the sample


def test_figures_measured_on_a_sample_say_so() -> None:
    from types import SimpleNamespace

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    model = LogisticRegression().fit(frame, (frame.a > 0).astype(int))
    runner = Runner(model, ["a", "b"], "classification", 1)
    spec = SimpleNamespace(requests=40, warmup=2, batch_rows=None, repeats=1)
    sample = {"rows": 60, "of_rows": 10_000_000, "seed": operational.SAMPLE_SEED, "engine": "duckdb"}
    fig = operational.measure(runner, frame, spec, sample=sample)
    assert fig.details["sample"] == sample and fig.batch_rows == 60
    assert fig.latency_source.endswith(f"in this process, wall-clock time, on a seeded sample of 60 rows (seed "
                                       f"{operational.SAMPLE_SEED}) of the duckdb table")
    _, details = operational.value(fig, "batch_time_s", "nearest_rank")
    assert details["sample"] == sample


# --------------------------------------------------------------------------------------------------
# 8. Rounds: the median of the rounds and the interval it is decided on (pure functions)
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rounds", [1, 2, 5, 6, 12, 25])
def test_median_coverage_is_the_binomial_sign_test_coverage(rounds: int) -> None:
    from scipy.stats import binom

    for k in range(1, (rounds + 1) // 2 + 1):
        # P(x_(k) <= median <= x_(R+1-k)) = 1 - 2 P(Bin(R, 1/2) <= k - 1)
        assert operational.median_coverage(rounds, k) == pytest.approx(1 - 2 * binom.cdf(k - 1, rounds, 0.5),
                                                                      abs=1e-12)
    assert operational.median_coverage(5, 1) == 1 - 2 / 32  # the range of 5 rounds: 93.75 %


@pytest.mark.parametrize(("n", "confidence"), [(5, 0.9), (6, 0.95), (12, 0.9), (25, 0.95), (9, 0.5 + 1e-9)])
def test_median_interval_is_the_widest_k_reaching_the_confidence(n: int, confidence: float) -> None:
    from scipy.stats import binom

    values = np.random.default_rng(n).lognormal(1.0, 0.4, n)
    # the largest k whose coverage 1 - 2 * binom.cdf(k - 1, n, 0.5) is still >= confidence, by brute force
    k = max(j for j in range(1, (n + 1) // 2 + 1) if 1 - 2 * binom.cdf(j - 1, n, 0.5) >= confidence)
    low, high, cov, got_k = operational.median_interval(values, confidence)
    x = np.sort(values)
    assert got_k == k
    assert (low, high) == (x[k - 1], x[n - k])
    assert cov == pytest.approx(1 - 2 * binom.cdf(k - 1, n, 0.5), abs=1e-12)
    assert low <= float(np.median(values)) <= high


def test_median_interval_of_12_rounds_at_90_percent_by_hand() -> None:
    # k = 3: 1 - 2 (1 + 12 + 66) / 4096 = 0.9614; k = 4 would be 1 - 2 (79 + 220) / 4096 = 0.854 < 0.9
    values = [float(v) for v in (12, 3, 7, 1, 9, 5, 11, 2, 8, 4, 10, 6)]
    low, high, cov, k = operational.median_interval(values, 0.9)
    assert (low, high, k) == (3.0, 10.0, 3)
    assert cov == pytest.approx(1 - 2 * 79 / 4096, abs=1e-12)


def test_too_few_rounds_have_no_interval() -> None:
    with pytest.raises(NotComputable) as exc:
        operational.median_interval([1.0, 2.0, 3.0, 4.0], 0.9)  # the range of 4 covers 87.5 %
    assert "4 rounds cannot give a 90% interval" in exc.value.reason and "87.50%" in exc.value.reason
    stats = operational.round_stats([1.0, 2.0, 3.0, 4.0], 0.9)
    assert stats.low is None and stats.interval_error == exc.value.reason


def test_round_stats_median_and_coefficient_of_variation_equal_numpy() -> None:
    values = [4.1, 3.9, 4.4, 4.0, 5.2]
    s = operational.round_stats(values, 0.9)
    assert s.median == statistics.median(values) == 4.1
    assert s.cv == pytest.approx(statistics.stdev(values) / statistics.mean(values), rel=1e-12)  # ddof 1
    assert (s.low, s.high, s.k) == (3.9, 5.2, 1)
    one = operational.round_stats([4.1], 0.9)  # one round: no spread, no interval, no error
    assert (one.median, one.low, one.cv, one.interval_error) == (4.1, None, None, "")


LE = [("<=", 5.0)]
GE = [(">=", 10.0)]
WITHIN = [(">=", -20.0), ("<=", 20.0)]


@pytest.mark.parametrize(("low", "high", "conds", "verdict", "margin"), [
    (2.0, 3.0, LE, "pass", 2.0),            # the worst bound (3) meets <= 5 by 2
    (4.0, 5.0, LE, "pass", 0.0),            # touching the limit meets <= (compare's near-equal band)
    (6.0, 7.0, LE, "fail", -1.0),           # the best bound (6) breaks <= 5 by 1
    (4.0, 6.0, LE, "too_noisy", None),      # the limit is inside
    (11.0, 30.0, GE, "pass", 1.0),
    (1.0, 9.5, GE, "fail", -0.5),
    (9.0, 11.0, GE, "too_noisy", None),
    (-5.0, 5.0, WITHIN, "pass", 15.0),
    (21.0, 30.0, WITHIN, "fail", -1.0),
    (-25.0, -21.0, WITHIN, "fail", -1.0),
    (-5.0, 25.0, WITHIN, "too_noisy", None),
])
def test_decide_on_interval_three_ways(low: float, high: float, conds: list[tuple[str, float]], verdict: str,
                                       margin: float | None) -> None:
    got, m = operational.decide_on_interval(low, high, conds)
    assert got == verdict
    assert m == (pytest.approx(margin) if margin is not None else None)


def test_paired_changes_per_round_pair() -> None:
    cand, prod = [5.0, 6.0, 9.0, 5.5, 5.0], [4.0, 4.0, 8.0, 5.0, 2.0]
    assert operational.paired_changes(cand, prod, False) == [1.0, 2.0, 1.0, 0.5, 3.0]
    pct = operational.paired_changes(cand, prod, True)
    assert pct == pytest.approx([100 * (c - b) / abs(b) for c, b in zip(cand, prod, strict=True)])
    with pytest.raises(NotComputable, match="same number"):
        operational.paired_changes(cand, prod[:4], False)
    with pytest.raises(NotComputable, match="production's figure is 0"):
        operational.paired_changes(cand, [1.0, 0.0, 1.0, 1.0, 1.0], True)


def test_schedule_interleaves_counterbalanced_pairs() -> None:
    assert operational.schedule(2, 5) == [[0, 1], [1, 0], [0, 1], [1, 0], [0, 1]]  # AB BA AB BA AB
    assert operational.schedule(1, 3) == [[0], [0], [0]]


# --------------------------------------------------------------------------------------------------
# 9. Decided on the rounds: pass, fail, too noisy to decide (scripted clock: no real timing)
# --------------------------------------------------------------------------------------------------


def _scaled_rounds(scales: list[float]) -> list[float]:
    """5 rounds of the 1..400 ms permutation, round r scaled by scales[r]: its nearest-rank p95 is 380 * scale."""
    return [v * s for s in scales for v in _perm_1_to_400()]


@pytest.mark.parametrize(("scales", "limit", "status", "verdict"), [
    ([1.0, 1.0, 1.3, 0.9, 1.2], 400.0, Status.NOT_COMPUTABLE, "too_noisy"),  # p95s 380 380 494 342 456
    ([1.0, 1.0, 1.3, 0.9, 1.2], 500.0, Status.PASS, "pass"),                   # all below 500
    ([1.0, 1.0, 1.3, 0.9, 1.2], 300.0, Status.FAIL, "fail"),                   # all above 300
])
def test_a_rule_decides_on_the_interval_of_the_rounds(clf: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
                                                      scales: list[float], limit: float, status: Status,
                                                      verdict: str) -> None:
    ScriptedClock({CAND: _scaled_rounds(scales)}).install(monkeypatch)
    report = gatekit.run(_model_policy(clf, [{"name": "latency_p95_ms", "op": "<=", "value": limit}]))
    check = _only(report)
    per_round = [float(np.sort(np.asarray(_perm_1_to_400()) * s)[math.ceil(0.95 * 400) - 1]) for s in scales]
    assert per_round == pytest.approx([380.0, 380.0, 494.0, 342.0, 456.0])
    assert check.status == status
    assert check.observed == pytest.approx(float(np.median(per_round)))  # 380
    d = check.details
    assert d["verdict"] == verdict and d["decided_on"] == "interval"
    assert d["interval"]["method"] == "order_statistic_median"
    assert (d["interval"]["low"], d["interval"]["high"]) == pytest.approx((min(per_round), max(per_round)))
    assert d["interval"]["confidence"] == 1 - 2 / 32
    assert d["rounds"]["cv"] == pytest.approx(statistics.stdev(per_round) / statistics.mean(per_round))
    assert "93.8% CI [342, 494] ms" in check.message
    if verdict == "too_noisy":
        assert check.message.startswith("too noisy to decide: latency_p95_ms = 380 ms")
        assert "contains the limit <= 400 ms" in check.message
        assert check.margin is None
        assert report.decision == Decision.BLOCK  # a block rule in a strict policy: not a pass
    elif verdict == "pass":
        assert check.margin == pytest.approx(limit - 494.0) and report.decision == Decision.PASS
    else:
        assert check.margin == pytest.approx(limit - 342.0) and report.decision == Decision.BLOCK


@pytest.mark.parametrize(("strict", "on_fail", "decision"), [(True, "block", Decision.BLOCK),
                                                             (False, "block", Decision.WARN),
                                                             (True, "warn", Decision.WARN)])
def test_too_noisy_maps_like_not_computable(clf: dict[str, Any], monkeypatch: pytest.MonkeyPatch, strict: bool,
                                            on_fail: str, decision: Decision) -> None:
    ScriptedClock({CAND: _scaled_rounds([1.0, 1.0, 1.3, 0.9, 1.2])}).install(monkeypatch)
    rule = {"name": "latency_p95_ms", "op": "<=", "value": 400, "on_fail": on_fail}
    report = gatekit.run(_model_policy(clf, [rule], strict=strict))
    assert _only(report).status == Status.NOT_COMPUTABLE
    assert report.decision == decision


@pytest.mark.parametrize(("clock", "status", "observed"), [("cpu", Status.PASS, 380.0), ("wall", Status.FAIL, 1140.0)])
def test_the_policy_chooses_the_clock_the_rule_reads(clf: dict[str, Any], monkeypatch: pytest.MonkeyPatch, clock: str,
                                                     status: Status, observed: float) -> None:
    # a busy machine: every call takes 3 times its CPU time on the wall clock
    ScriptedClock({CAND: _perm_1_to_400() * ROUNDS}, wall_factor=3.0).install(monkeypatch)
    check = _only(gatekit.run(_model_policy(clf, [{"name": "latency_p95_ms", "op": "<=", "value": 500}],
                                            {"clock": clock})))
    assert check.status == status
    assert check.observed == pytest.approx(observed)
    other = "wall" if clock == "cpu" else "cpu"
    assert check.details["other_clock"] == {"clock": other, "values": pytest.approx([1140.0 if other == "wall" else
                                                                                      380.0] * ROUNDS),
                                            "median": pytest.approx(1140.0 if other == "wall" else 380.0)}
    assert check.details["wall_over_cpu"] == pytest.approx(3.0)
    assert "wall / CPU 3.0: the process waited for a core" in check.message


@pytest.mark.parametrize(("clock", "order"), [("cpu", ["wall", "cpu", "cpu", "wall"]),
                                              ("wall", ["cpu", "wall", "wall", "cpu"])])
def test_the_gated_clock_is_read_innermost(clf: dict[str, Any], monkeypatch: pytest.MonkeyPatch, clock: str,
                                          order: list[str]) -> None:
    timed = ScriptedClock({CAND: _perm_1_to_400() * ROUNDS}).install(monkeypatch)
    gatekit.run(_model_policy(clf, [{"name": "latency_p95_ms", "op": "<=", "value": 500}], {"clock": clock}))
    assert timed.read_order == order * (400 * ROUNDS)  # the other clock's reading stays outside the window


def _run_lengths(keys: list[tuple[str, ...]]) -> list[tuple[tuple[str, ...], int]]:
    out: list[tuple[tuple[str, ...], int]] = []
    for k in keys:
        if out and out[-1][0] == k:
            out[-1] = (k, out[-1][1] + 1)
        else:
            out.append((k, 1))
    return out


def test_candidate_and_production_rounds_are_interleaved(clf: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    clock = ScriptedClock({CAND: _perm_1_to_400() * ROUNDS, PROD: _perm_1_to_400() * ROUNDS},
                          batch_s={CAND: [0.25] * ROUNDS, PROD: [0.125] * ROUNDS}).install(monkeypatch)
    rules = [{"name": "latency_p95_ms", "max_increase": 1}, {"name": "throughput_rows_per_s", "max_drop_pct": 60}]
    checks = _checks(gatekit.run(_model_policy(clf, rules, {"warmup": 3}, baseline={"model": str(clf["prod"])})))
    one_row = [k for k, X in clock.calls if len(X) == 1]
    # warm-up of each model first (3 calls each), then rounds A B, B A, A B, B A, A B of 400 calls each
    assert _run_lengths(one_row) == [(CAND, 3), (PROD, 3), (CAND, 400), (PROD, 800), (CAND, 800), (PROD, 800),
                                     (CAND, 800), (PROD, 400)]
    batches = [k for k, X in clock.calls if len(X) == N_ROWS]
    # each model's batch follows its single-row calls in its round: the rows scored for the run's predictions
    # (candidate, then production), then A B B A A B B A A B, then each model's memory call
    assert batches == [CAND, PROD, *[CAND, PROD, PROD, CAND, CAND, PROD, PROD, CAND, CAND, PROD], CAND, PROD]
    lat = checks["latency_p95_ms vs baseline"]
    assert lat.status == Status.PASS and lat.observed == 0.0
    assert lat.details["candidate_details"]["schedule"].endswith("AB BA AB BA AB (A = candidate, B = production)")
    tp = checks["throughput_rows_per_s vs baseline"]
    # candidate 120 / 0.25 = 480 rows/s against production 120 / 0.125 = 960: -50 % in every pair
    assert tp.details["comparison"]["per_round"] == pytest.approx([-50.0] * ROUNDS)
    assert tp.observed == pytest.approx(-50.0) and tp.status == Status.PASS


def test_a_burst_that_hits_both_models_in_one_pair_does_not_move_the_change(clf: dict[str, Any],
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # round 2 is slow for both (another process ran): candidate p95 380 380 760 380 380, production 190 ... 570
    cand = _scaled_rounds([1.0, 1.0, 2.0, 1.0, 1.0])
    prod = [v / 2 for v in _perm_1_to_400()] * 2 + [v * 1.5 for v in _perm_1_to_400()] + [
        v / 2 for v in _perm_1_to_400()] * 2
    ScriptedClock({CAND: cand, PROD: prod}).install(monkeypatch)
    check = _only(gatekit.run(_model_policy(clf, [{"name": "latency_p95_ms", "max_increase": 195}],
                                            {"warmup": 0}, baseline={"model": str(clf["prod"])})))
    per_pair = [380.0 - 190.0, 380.0 - 190.0, 760.0 - 570.0, 380.0 - 190.0, 380.0 - 190.0]
    assert check.details["comparison"]["per_round"] == pytest.approx(per_pair)  # 190 in every pair
    assert (check.details["interval"]["low"], check.details["interval"]["high"]) == pytest.approx((190.0, 190.0))
    assert check.status == Status.PASS and check.margin == pytest.approx(5.0)
    assert check.message.startswith("latency_p95_ms change +190 ms, candidate 380 vs production 190 ms (median over "
                                    "5 interleaved round pairs, CPU time; 93.8% CI [+190, +190] ms)")


# --------------------------------------------------------------------------------------------------
# 10. A load test run in rounds
# --------------------------------------------------------------------------------------------------


def _rounds_file(tmp_path: Path, scales: list[float], name: str = "lt.json") -> Path:
    return _write(tmp_path / name, {"latency_ms": [[v * s for v in _perm_1_to_400()] for s in scales]})


def test_load_samples_reads_rounds(tmp_path: Path) -> None:
    flat = load_samples(_write(tmp_path / "flat.json", {"latency_ms": [1, 2.5, 3]}))
    assert flat == [1.0, 2.5, 3.0] and flat.rounds == [[1.0, 2.5, 3.0]]
    nested = load_samples(_write(tmp_path / "nested.json", [[1, 2], [3], [4.5, 5]]))
    assert nested == [1.0, 2.0, 3.0, 4.5, 5.0] and nested.rounds == [[1.0, 2.0], [3.0], [4.5, 5.0]]


@pytest.mark.parametrize(("content", "fragment"), [
    ('{"latency_ms": [[1, 2], 3]}', "mixes numbers and lists"),
    ('{"latency_ms": [[1, 2], []]}', "round 1 of latency_ms has no samples"),
    ('{"latency_ms": [[1, 2], [3, -1]]}', "in round 1 are not finite numbers >= 0 (first at index 1: -1)"),
    ('{"latency_ms": [[1, "a"]]}', "in round 0"),
])
def test_bad_rounds_are_input_errors(tmp_path: Path, content: str, fragment: str) -> None:
    p = tmp_path / "lt.json"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_samples(p)
    assert fragment in exc.value.problems[0].message, exc.value.problems[0].message


@pytest.mark.parametrize(("limit", "status"), [(400.0, Status.NOT_COMPUTABLE), (500.0, Status.PASS),
                                               (300.0, Status.FAIL)])
def test_a_load_test_in_rounds_is_decided_on_its_rounds(clf: dict[str, Any], tmp_path: Path, limit: float,
                                                        status: Status) -> None:
    path = _rounds_file(tmp_path, [1.0, 1.0, 1.3, 0.9, 1.2])  # p95s 380 380 494 342 456
    report = gatekit.run(_score_policy(clf, [{"name": "latency_p95_ms", "op": "<=", "value": limit}],
                                       {"latency_samples": str(path)}))
    check = _only(report)
    assert check.status == status
    assert check.observed == pytest.approx(380.0)
    assert check.details["rounds"]["values"] == pytest.approx([380.0, 380.0, 494.0, 342.0, 456.0])
    assert check.details["source"] == "load-test samples (2000 in 5 rounds) from the policy's operational section"
    assert "the load test's times" in check.message
    assert "other_clock" not in check.details


def test_a_load_test_in_too_few_rounds_has_no_interval(clf: dict[str, Any], tmp_path: Path) -> None:
    path = _rounds_file(tmp_path, [1.0, 1.1, 0.9])  # the range of 3 rounds covers the median with 75 % only
    check = _only(gatekit.run(_score_policy(clf, [{"name": "latency_p95_ms", "op": "<=", "value": 1000}],
                                            {"latency_samples": str(path)})))
    assert check.status == Status.NOT_COMPUTABLE
    assert "3 rounds cannot give a 90% interval of the median" in check.message


def test_load_tests_in_rounds_are_compared_pair_by_pair(clf: dict[str, Any], tmp_path: Path) -> None:
    cand = _rounds_file(tmp_path, [1.0, 1.0, 1.3, 0.9, 1.2], "cand.json")  # 380 380 494 342 456
    prod = _rounds_file(tmp_path, [0.5, 0.5, 0.8, 0.5, 0.7], "prod.json")  # 190 190 304 190 266
    rules = [{"name": "latency_p95_ms", "max_increase": 200}]
    check = _only(gatekit.run(_score_policy(clf, rules, {"latency_samples": str(cand),
                                                         "baseline_latency_samples": str(prod)})))
    per_pair = [190.0, 190.0, 190.0, 152.0, 190.0]
    assert check.details["comparison"]["per_round"] == pytest.approx(per_pair)
    assert check.observed == pytest.approx(190.0) and check.status == Status.PASS
    assert check.margin == pytest.approx(10.0)  # the worst bound (190) against 200
    few = _rounds_file(tmp_path, [0.5, 0.5, 0.8, 0.5], "prod4.json")
    check = _only(gatekit.run(_score_policy(clf, rules, {"latency_samples": str(cand),
                                                         "baseline_latency_samples": str(few)})))
    assert check.status == Status.NOT_COMPUTABLE and "both need the same number" in check.message


# --------------------------------------------------------------------------------------------------
# 11. Threads are limited while the model is measured
# --------------------------------------------------------------------------------------------------


class _ThreadRecordingRunner:
    """The Runner interface measure() uses; each call records the OpenMP and BLAS thread limits in force."""

    kind = "test"

    def __init__(self) -> None:
        self.features = ["a"]
        self.seen: list[set[int]] = []

    def _record(self) -> None:
        from threadpoolctl import threadpool_info

        self.seen.append({int(p["num_threads"]) for p in threadpool_info()})

    def prepare(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame

    def request_function(self) -> Any:
        return lambda row: self._record()

    def __call__(self, frame: pd.DataFrame) -> np.ndarray:
        self._record()
        return frame["a"].to_numpy()


@pytest.mark.parametrize("threads", [1, None])
def test_threads_are_limited_while_measuring(threads: int | None) -> None:
    from types import SimpleNamespace

    import sklearn.ensemble  # noqa: F401 - loads scikit-learn's OpenMP runtime
    from threadpoolctl import threadpool_info

    before = {int(p["num_threads"]) for p in threadpool_info()}
    runner = _ThreadRecordingRunner()
    spec = SimpleNamespace(requests=40, warmup=0, batch_rows=None, repeats=1, rounds=2, clock="cpu", threads=threads)
    fig = operational.measure(runner, pd.DataFrame({"a": np.arange(50.0)}), spec)  # type: ignore[arg-type]
    assert not fig.errors and len(fig.latency_rounds_ms or []) == 2
    if threads == 1:
        assert all(s == {1} for s in runner.seen)
        assert fig.details["threads"].startswith("1 (OpenMP and BLAS through threadpoolctl")
    else:
        assert all(s == before for s in runner.seen)
        assert fig.details["threads"] == "the libraries' defaults (not limited)"
    assert {int(p["num_threads"]) for p in threadpool_info()} == before  # restored afterwards


def test_the_latency_histogram_bins_are_geometric_over_more_than_two_decades() -> None:
    """The issue's 2.5 to 6,515 ms latencies: equal-width bins put all but the tail in one bar."""
    rng = np.random.default_rng(1)
    rounds = [list(np.r_[rng.uniform(2.5, 4.0, 398), 900.0, 6515.0]) for _ in range(5)]
    _, details = operational.value(operational.Figures(latency_rounds_ms=rounds), "latency_p95_ms", "nearest_rank")
    edges, counts = np.array(details["histogram"]["edges_ms"]), details["histogram"]["counts"]
    assert edges[0] == pytest.approx(min(map(min, rounds))) and edges[-1] == pytest.approx(6515.0)
    ratios = edges[1:] / edges[:-1]
    assert np.allclose(ratios, ratios[0])  # equal steps on a log axis
    assert sum(counts) == 2000 and max(counts) < 2000 - 10  # the bulk spreads over several bars
    narrow = [list(rng.uniform(2.5, 4.0, 400)) for _ in range(5)]
    _, flat = operational.value(operational.Figures(latency_rounds_ms=narrow), "latency_p95_ms", "nearest_rank")
    assert np.allclose(np.diff(flat["histogram"]["edges_ms"]), np.diff(flat["histogram"]["edges_ms"])[0])


def test_a_name_gatekit_does_not_measure_is_not_computable_never_another_figure() -> None:
    """``value`` once fell through to peak memory for any name it did not know (``latency_mean_ms`` read 512 MB)."""
    fig = operational.Figures(batch_rounds_s=[[0.5]], batch_rows=100, peak_memory_mb=512.0)
    assert operational.value(fig, "peak_memory_mb", "nearest_rank")[0] == 512.0
    with pytest.raises(NotComputable, match="measures no latency_mean_ms figure"):
        operational.value(fig, "latency_mean_ms", "nearest_rank")
