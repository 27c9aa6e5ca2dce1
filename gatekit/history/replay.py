"""Replay: what a new or changed policy would have decided on the recorded runs, from what they observed.

Nothing is re-read or re-computed from data: each run's stored observations (:func:`gatekit.history.store.observation`:
the metric's value, production's value, the confidence interval the check read) are compared with the new
policy's limits by the same code a live run uses:

- a point rule: :func:`gatekit.core.decision.evaluate_threshold` on each condition of
  :func:`gatekit.sections.comparison.conditions` (``max_drop: d`` is ``change >= -d``), the change computed
  from the stored values as the live run computes it;
- a rule with ``confidence``: :func:`gatekit.sections.comparison.decide_interval` on the stored interval of the
  same statistic at the same confidence, method, resamples and seed (a rule asking for another interval is
  not replayable: that interval was never computed);
- an operational figure measured in rounds: :func:`gatekit.model.serving.decide_on_interval` on the stored
  interval of its median (three ways: pass, fail, too noisy).

The decision is :func:`gatekit.core.decision.decide` over the replayed ``metrics:`` rules and the run's other
checks as recorded, which are carried over only when every other section of the new policy is the one the run
used; otherwise they are not replayable. Nothing is replayable in a run whose computation-affecting inputs
(:func:`inputs_differ`: ``inputs`` other than file locations, ``decision_threshold``) differ from the new
policy's; a custom metric's rule is not replayable when its code's hash differs (:func:`custom_files_differ`);
a malformed stored observation (not a finite real number, an interval with ``low > high``) is not replayable.
A rule that has no stored observation in a run is *not replayable* in
that run (never a pass), and the run's replayed decision is then ``incomplete``, unless the replayable rules
already block (a block stays a block whatever the others would say).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from gatekit.core.decision import decide, evaluate_threshold
from gatekit.core.formatting import fmt, percent
from gatekit.core.results import CheckResult, Decision, OnFail, Status
from gatekit.history.runs import RunView, stored_form
from gatekit.policy.loader import LoadedPolicy
from gatekit.policy.specs import MetricRule

NOT_REPLAYABLE = "not_replayable"
"""The replayed status of a rule the run holds no observation for (never a pass)."""

INCOMPLETE = "incomplete"
"""The replayed decision of a run in which some rule is not replayable and the others do not block."""

CARRIED_OVER_IGNORED = frozenset({"version", "extends", "name", "description", "mode", "strict", "decision_threshold",
                                  "inputs", "alert", "metrics"})
"""Policy keys :func:`_rest_differs` does not compare: the policy's identity and wording, the settings replay
applies itself (``strict``), alerts, and the ``metrics:`` rules it re-decides. ``inputs`` and
``decision_threshold`` are compared apart (:func:`inputs_differ`): a difference there makes every rule and
every carried-over check not replayable."""

INPUT_LOCATIONS = frozenset({"data", "model", "metrics", "reference", "engine", "spark", "trust_model"})
"""``inputs`` keys that say where the inputs are or which engine reads them, not what is computed from them:
a change of these alone leaves the run's observations replayable (every other ``inputs`` key counts)."""


def _computed_inputs(policy: dict[str, Any]) -> dict[str, Any]:
    """Return the part of a policy's ``inputs`` (and ``decision_threshold``) that decides what a run computed."""
    raw = policy.get("inputs")
    inputs = dict(raw) if isinstance(raw, dict) else {"<not a mapping>": raw}
    out = {k: v for k, v in inputs.items() if k not in INPUT_LOCATIONS}
    baseline = out.get("baseline")
    if isinstance(baseline, dict):
        out["baseline"] = {k: v for k, v in baseline.items() if k not in INPUT_LOCATIONS}
    out["decision_threshold"] = policy.get("decision_threshold", 0.5)
    return out


def inputs_differ(policy_dict: dict[str, Any], recorded: dict[str, Any]) -> list[str]:
    """Return the input settings that differ between the new policy and the run's stored policy (sorted).

    Fail closed: every ``inputs`` key except the locations of :data:`INPUT_LOCATIONS` (target, positive
    label, score and prediction columns, sensitive features and their bins, task, quantiles, baseline
    columns, ...) and ``decision_threshold`` change what a run computed, so its stored observations and
    recorded checks no longer answer for the new policy.

    Parameters
    ----------
    policy_dict : dict
        The new policy, as ``model_dump(mode="json", exclude_none=True)``.
    recorded : dict
        The run's stored policy.

    Returns
    -------
    list of str
        ``inputs.<key>`` or ``decision_threshold`` for each difference; empty when none.
    """
    a, b = _computed_inputs(policy_dict), _computed_inputs(recorded)
    return sorted(k if k == "decision_threshold" else f"inputs.{k}" for k in set(a) | set(b)
                  if canonical(a.get(k)) != canonical(b.get(k)))


def _real(value: Any) -> float | None:
    """Return a stored number as a float; None when it is not a finite real number (a bool, text, inf, NaN)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    out = float(value)
    return out if math.isfinite(out) else None


def custom_files_differ(policy: LoadedPolicy, run: RunView) -> str | None:
    """Say why a run's custom metric code is not the code the new policy loads; None when it is the same.

    The run recorded the sha256 of each custom metric file it loaded (its ``files``, roles
    ``custom_metrics_file_<i>`` and ``custom_metrics_entry_point_<name>``,
    :func:`gatekit.policy.run_inputs.policy_files`); the new policy's files are hashed now the same way
    (:func:`gatekit.core.hashing.sha256_regular_file`). A missing record, a missing file or any other hash
    is a difference (fail closed).
    """
    from gatekit.core.hashing import sha256_regular_file
    from gatekit.policy.run_inputs import policy_files

    now = {role: sha256_regular_file(path) for role, path in policy_files(policy).items()
           if role.startswith("custom_metrics_")}
    files = run.files if isinstance(run.files, dict) else {}
    then = {role: sha for role, sha in files.items() if str(role).startswith("custom_metrics_")}
    if not then:
        return "the run recorded no hash of its custom metric files"
    if any(sha is None for sha in now.values()):
        return "a custom metric file of this policy cannot be read"
    if now != then:
        changed = sorted(r for r in set(now) | set(then) if now.get(r) != then.get(r))
        return f"the custom metric code differs from the run's ({', '.join(changed)})"
    return None


@dataclass
class RuleReplay:
    """One ``metrics:`` rule of the new policy, replayed on one run.

    Parameters
    ----------
    rule : str
        ``metrics[i]``.
    label : str
        The rule as written (``auc_roc >= 0.85``, ``auc_roc max_drop 0.02``).
    key : str
        The check's history key (``section/name/op``): the run's check with this key is what was decided.
    on_fail : {"block", "warn"}
        The new rule's severity.
    then : str or None
        The status the run recorded for the check with this key; None when the run had no such check.
    now : str
        The replayed status: ``pass``, ``fail``, ``not_computable`` (as the live run would say: a zero
        baseline under a percent rule, a too-noisy interval) or ``not_replayable``.
    observed : float or None
        The statistic compared (the value, the change, or the relative change in %).
    interval : list of float or None
        ``[low, high]`` of the interval the replayed decision read.
    note : str
        Why not replayable, or what the replay read.
    """

    rule: str
    label: str
    key: str
    on_fail: str
    then: str | None
    now: str
    observed: float | None = None
    interval: list[float] | None = None
    note: str = ""

    @property
    def changed(self) -> bool:
        """The replayed status differs from the recorded one (a rule new to the run counts when it fails)."""
        if self.now == NOT_REPLAYABLE:
            return False
        return self.now != (self.then or Status.PASS.value)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping (``changed`` included)."""
        return {**asdict(self), "changed": self.changed}


@dataclass
class RunReplay:
    """One recorded run, replayed.

    Parameters
    ----------
    run_id, started_at, policy_name, policy_version, model_name : str
        The run as recorded (``started_at`` in ISO 8601, UTC).
    decision_then : str
        The decision the run recorded.
    decision_now : str
        ``pass``, ``warn``, ``block``, or ``incomplete`` (some rule is not replayable and the replayable ones
        do not block).
    at_least : str or None
        For an incomplete replay, the decision of the replayable part: the full decision is no better.
    reason_now : str
        The replayed decision's reason (:func:`gatekit.core.decision.decide`), with what is not replayable.
    rules : list of RuleReplay
        The new policy's ``metrics:`` rules, in policy order.
    carried_over : int
        The run's other checks taken as recorded.
    not_replayable : list of str
        What could not be replayed, and why (rules and other sections).
    """

    run_id: str
    started_at: str
    policy_name: str
    policy_version: str
    model_name: str | None
    decision_then: str
    decision_now: str
    at_least: str | None
    reason_now: str
    rules: list[RuleReplay] = field(default_factory=list)
    carried_over: int = 0
    not_replayable: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """The replayed decision differs from the recorded one (an incomplete replay counts: it may)."""
        return self.decision_now != self.decision_then

    @property
    def changed_rules(self) -> list[str]:
        """Labels of the rules whose replayed status differs from the recorded one."""
        return [r.label for r in self.rules if r.changed]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        out = asdict(self)
        out["rules"] = [r.to_dict() for r in self.rules]
        out["changed"] = self.changed
        out["changed_rules"] = self.changed_rules
        return out


def canonical(value: Any) -> str:
    """Return the canonical JSON of a value as the store keeps it, for comparing a stored value with today's.

    :func:`~gatekit.history.runs.stored_form`, then keys sorted and other objects as text.
    """
    return json.dumps(stored_form(value), sort_keys=True, separators=(",", ":"), default=str)


def _label(rule: MetricRule) -> str:
    rel = rule.relative
    text = f"{rule.name} {rel[0]} {rel[1]:g}" if rel else f"{rule.name} {rule.op} {fmt(rule.value)}"
    if rule.confidence is not None:
        text += f" ({percent(rule.confidence)} CI)"
    return text


def _statistic_kind(rule: MetricRule) -> str:
    key = rule.relative[0] if rule.relative else None
    return "value" if key is None else "relative_change_pct" if key.endswith("_pct") else "change"


def _interval_wanted(rule: MetricRule) -> dict[str, Any]:
    """Return what a stored interval must be to decide ``rule``: its confidence, method, bootstrap settings."""
    from gatekit.stats.intervals import DEFAULT_RESAMPLES, DEFAULT_SEED

    if rule.interval == "delong":
        return {"confidence": rule.confidence, "method": "delong"}
    return {"confidence": rule.confidence, "method": "bootstrap_percentile",
            "resamples": rule.resamples or DEFAULT_RESAMPLES, "seed": DEFAULT_SEED if rule.seed is None else rule.seed}


def _interval_text(iv: dict[str, Any]) -> str:
    conf = iv.get("confidence")
    head = f"{percent(conf)} " if isinstance(conf, (int, float)) else ""
    extra = f", {iv['resamples']} resamples, seed {iv['seed']}" if iv.get("resamples") is not None else ""
    return f"{head}{iv.get('method')}{extra}"


def _rest_differs(policy_dict: dict[str, Any], recorded: dict[str, Any]) -> list[str]:
    """Keys (other than :data:`CARRIED_OVER_IGNORED`) whose value differs between the two policies."""
    keys = (set(policy_dict) | set(recorded)) - CARRIED_OVER_IGNORED
    return sorted(k for k in keys if canonical(policy_dict.get(k)) != canonical(recorded.get(k)))


def replay_rule(policy: LoadedPolicy, i: int, run: RunView, key: str) -> tuple[RuleReplay, CheckResult | None]:
    """Replay the ``i``-th ``metrics:`` rule of ``policy`` on one recorded run.

    Parameters
    ----------
    policy : LoadedPolicy
        The new policy.
    i : int
        The rule's index in ``policy.policy.metrics``.
    run : RunView
        The recorded run (with its checks' observations and its resolved policy).
    key : str
        The rule's check key (:func:`gatekit.history.thresholds.rule_keys`).

    Returns
    -------
    RuleReplay
        The replay of the rule.
    CheckResult or None
        The check the live run would have produced from the same observation (for the decision); None when
        the rule is not replayable.
    """
    from gatekit.sections.comparison import _statistic, classify, conditions, decide_interval, outcome_status
    from gatekit.stats.intervals import Interval

    rule = policy.policy.metrics[i]
    res = policy.resolved[i]
    conds = conditions(rule)
    op, threshold = conds[0] if len(conds) == 1 else ("within", conds[1][1])
    then = next((c["status"] for c in run.checks if c["key"] == key), None)
    base: dict[str, Any] = dict(rule=f"metrics[{i}]", label=_label(rule), key=key, on_fail=rule.on_fail.value,
                                then=then)

    def unknown(why: str) -> tuple[RuleReplay, None]:
        return RuleReplay(**base, now=NOT_REPLAYABLE, note=why), None

    def outcome(status: Status, stat: float | None, message: str, margin: float | None = None,
                interval: list[float] | None = None, on_fail: OnFail | None = None) -> tuple[RuleReplay, CheckResult]:
        check = CheckResult(name=rule.check_name, section=res.spec.section, status=status,
                            on_fail=on_fail or rule.on_fail,
                            observed=stat, op=op, threshold=threshold, margin=margin, metric=res.canonical,
                            message=message)
        return RuleReplay(**base, now=status.value, observed=stat, interval=interval, note=message), check

    if run.policy is None:
        return unknown("recorded before gatekit stored observations for replay (history schema 3): only runs "
                       "recorded since can be replayed")
    if not isinstance(run.policy, dict):
        return unknown("the stored policy is malformed (policy_json is not a mapping)")
    changed_inputs = inputs_differ(policy.policy.model_dump(mode="json", exclude_none=True), run.policy)
    if changed_inputs:
        return unknown(f"the inputs changed ({', '.join(changed_inputs)}): the run computed its observations "
                       "from other inputs")
    params = canonical(policy.params.get(i, {}))
    found = [c for c in run.checks if isinstance(c.get("observation"), dict) and c.get("metric") == res.canonical
             and str(c["observation"].get("rule", "")).startswith("metrics[")  # not a sequential canary's look
             and canonical(c["observation"].get("params") or {}) == params]
    if not found:
        return unknown(f"the run has no check of {res.canonical}"
                       f"{' with these params' if policy.params.get(i) else ''}: no stored observation")
    valued = [c for c in found if c["observation"].get("candidate") is not None]
    if not valued:
        c = found[0]
        return unknown(f"the run recorded no value of {res.canonical} ({c['status']}: {c['message']})")
    bad = _malformed(valued)
    if bad is not None:
        return unknown(f"the stored observation is malformed ({bad})")
    recorded = run.policy
    if any(c["observation"].get("source") == "computed" for c in valued) and \
            recorded.get("decision_threshold", 0.5) != policy.policy.decision_threshold:
        return unknown(f"computed at decision_threshold {recorded.get('decision_threshold', 0.5)}; this policy's is "
                       f"{policy.policy.decision_threshold}, which changes the predicted labels")
    if res.spec.source is not None:
        if canonical(recorded.get("custom_metrics")) != canonical(policy.policy.model_dump(
                mode="json", exclude_none=True).get("custom_metrics")):
            return unknown(f"{res.canonical} is a custom metric and custom_metrics: differs from the run's")
        code = custom_files_differ(policy, run)
        if code is not None:
            return unknown(f"{res.canonical} is a custom metric and {code}")
    kind = _statistic_kind(rule)
    rounds = [c for c in valued if c["observation"].get("rounds") is not None]
    if rounds:
        return _replay_rounds(policy, rule, kind, rounds, recorded, conds, unknown, outcome)
    obs = valued[0]["observation"]
    cand = float(obs["candidate"])
    rel_key = rule.relative[0] if rule.relative else None
    if rel_key is None:
        stat = cand
    else:
        base_value = next((c["observation"]["baseline"] for c in valued if c["observation"].get("baseline")
                           is not None), None)
        if base_value is None:
            return unknown(f"the run recorded no production value of {res.canonical} (no rule of that run compared "
                           "it with the baseline)")
        if rel_key.endswith("_pct") and base_value == 0:
            return outcome(Status.NOT_COMPUTABLE, None, f"{rule.name}: the baseline is 0, so a change in percent of "
                                                        "it is not defined; use the absolute form")
        stat = float(_statistic(rel_key, cand, float(base_value)))
        if not math.isfinite(stat):
            return outcome(Status.NOT_COMPUTABLE, None, f"{rule.name}: the change is not finite ({stat})")
    what = {"value": rule.name, "change": f"{rule.name} change",
            "relative_change_pct": f"{rule.name} relative change (%)"}[kind]
    family = _family_of(policy, i)
    if family is not None and rule.confidence is not None:
        return unknown(f"the rule is decided with the testing family {family!r} on adjusted p-values, which a stored "
                       "interval cannot give")
    if rule.confidence is None:
        results = [evaluate_threshold(stat, o, t) for o, t in conds]
        passed = all(s == Status.PASS for s, _ in results)
        margins = [m for _, m in results if m is not None]
        return outcome(Status.PASS if passed else Status.FAIL, stat,
                       f"{what} = {fmt(stat)} (recorded) {'meets' if passed else 'does not meet'} the new limit",
                       min(margins) if margins else None)
    if rule.interval == "sequential":
        return unknown("the rule decides on the first row at which its confidence sequence excluded a limit; the "
                       "history keeps the sequence at the last row only, so another limit cannot be re-decided "
                       "(run the policy on the rows)")
    wanted = _interval_wanted(rule)
    stored = [c["observation"]["interval"] for c in valued if c["observation"].get("statistic") == kind
              and isinstance(c["observation"].get("interval"), dict)]
    match = next((iv for iv in stored if all(iv.get(k) == v for k, v in wanted.items())
                  and iv.get("low") is not None and iv.get("high") is not None), None)
    if match is None:
        had = "; ".join(sorted({_interval_text(iv) for iv in stored})) or "none"
        return unknown(f"the rule decides on a {_interval_text(wanted)} interval of the {kind.replace('_', ' ')}, "
                       f"which the run did not compute (it stored: {had})")
    hypothesis = rule.hypothesis
    low, high = float(match["low"]), float(match["high"])
    _, margin = decide_interval(low, high, conds, "proven_harm" if hypothesis == "proven_harm" else "proven_safe")
    se = match.get("se")
    iv = Interval(stat, low, high, float(wanted["confidence"]), str(match.get("method")),
                  {"se": float(se)} if isinstance(se, (int, float)) and not isinstance(se, bool) else {})
    result, _ = classify(rule, iv, conds, 0, "evaluation rows")
    status, on_fail = outcome_status(result, rule.severities(), rule.on_fail)
    words = {"proven": "passes (proven)", "disproven": "fails (disproven)", "inconclusive": "is inconclusive",
             "insufficient_data": "has insufficient data"}[result]
    return outcome(status, stat,
                   f"{what} = {fmt(stat)}, recorded {percent(wanted['confidence'])} CI [{fmt(low)}, {fmt(high)}] "
                   f"({hypothesis}): {words} under the new limit", margin, [low, high], on_fail)


def _family_of(policy: LoadedPolicy, index: int) -> str | None:
    """Name the testing family holding ``metrics[index]``, or None."""
    from gatekit.policy.specs.families import family_members

    pol = policy.policy
    canary_rules = pol.canary.rules if pol.canary is not None else []
    for family in pol.families:
        if any(m.where == f"metrics[{index}]" for m in family_members(family, pol.metrics, canary_rules,
                                                                       policy.registry)):
            return family.name
    return None


def _malformed(checks: list[dict[str, Any]]) -> str | None:
    """Name the first malformed field of the checks' stored observations; None when all are well formed.

    A stored value (``candidate``, ``baseline``, a rounds check's ``observed``) must be a finite real number
    (not a bool), an interval a mapping with finite ``low <= high``.
    """
    for c in checks:
        obs = c["observation"]
        for name in ("candidate", "baseline"):
            if obs.get(name) is not None and _real(obs[name]) is None:
                return f"{c['key']}: {name}"
        if obs.get("rounds") is not None and c.get("observed") is not None and _real(c["observed"]) is None:
            return f"{c['key']}: observed"
        iv = obs.get("interval")
        if iv is None:
            continue
        if not isinstance(iv, dict):
            return f"{c['key']}: interval"
        low, high = iv.get("low"), iv.get("high")
        if low is None and high is None:
            continue
        lo, hi = _real(low), _real(high)
        if lo is None or hi is None:
            return f"{c['key']}: interval.{'low' if lo is None else 'high'}"
        if lo > hi:
            return f"{c['key']}: interval low > high"
    return None


def _replay_rounds(policy: LoadedPolicy, rule: MetricRule, kind: str, rounds: list[dict[str, Any]],
                   recorded: dict[str, Any], conds: list[tuple[str, float]], unknown: Any,
                   outcome: Any) -> tuple[RuleReplay, CheckResult | None]:
    """Replay an operational rule on a figure measured in rounds: three ways on the stored interval of its median."""
    from gatekit.model.serving import decide_on_interval
    from gatekit.policy.specs import OperationalSpec

    now_spec = policy.policy.operational or OperationalSpec()
    if canonical(recorded.get("operational")) != canonical(policy.policy.model_dump(
            mode="json", exclude_none=True).get("operational")):
        return unknown("measured in rounds under the run's operational: settings, which differ from this policy's")
    same = [c for c in rounds if c["observation"].get("statistic") == kind]
    if not same:
        return unknown(f"measured in rounds; the run did not compute the {kind.replace('_', ' ')} of the rounds this "
                       "rule reads")
    c = same[0]
    iv = c["observation"].get("interval") or {}
    if iv.get("low") is None or iv.get("high") is None or c["observed"] is None:
        return unknown(f"the run's rounds gave no interval ({c['status']}: {c['message']})")
    asked = iv.get("confidence_asked")
    if asked is not None and asked != now_spec.confidence:
        return unknown(f"the rounds' interval was at {percent(asked)}; this policy asks {percent(now_spec.confidence)}")
    low, high, stat = float(iv["low"]), float(iv["high"]), float(c["observed"])
    verdict, margin = decide_on_interval(low, high, conds)
    status = {"pass": Status.PASS, "fail": Status.FAIL, "too_noisy": Status.NOT_COMPUTABLE}[verdict]
    text = {"pass": "the whole interval meets the new limit", "fail": "the whole interval breaks the new limit",
            "too_noisy": "too noisy to decide: the interval contains the new limit (not a pass)"}[verdict]
    return outcome(status, stat, f"{rule.name}: median {fmt(stat)}, recorded interval [{fmt(low)}, {fmt(high)}]: "
                                 f"{text}", margin, [low, high])


def _carried(c: dict[str, Any]) -> CheckResult:
    """Return a recorded check as a CheckResult (what the decision reads).

    Raises
    ------
    ValueError
        The stored check is malformed (an unknown status or severity, a value not a finite number).
    """
    for name in ("observed", "threshold", "margin"):
        if c.get(name) is not None and _real(c[name]) is None:
            raise ValueError(f"{c.get('key')}: {name}")
    return CheckResult(name=c["name"], section=c["section"], status=Status(c["status"]), on_fail=OnFail(c["on_fail"]),
                       observed=c["observed"], op=c["op"], threshold=c["threshold"], margin=c["margin"],
                       metric=c["metric"], message=c["message"])


def _is_metric_check(c: dict[str, Any]) -> bool:
    """Tell whether a check is a ``metrics:`` rule's (its observation names it) or a metrics section placeholder."""
    obs = c.get("observation")
    return c["section"] == "metrics" or (isinstance(obs, dict) and str(obs.get("rule", "")).startswith("metrics["))


def replay_run(policy: LoadedPolicy, run: RunView) -> RunReplay:
    """Replay ``policy`` on one recorded run (see the module docstring).

    Parameters
    ----------
    policy : LoadedPolicy
        The new or changed policy.
    run : RunView
        A recorded run, with its checks.

    Returns
    -------
    RunReplay
    """
    from gatekit.history.thresholds import rule_keys

    rules, checks = [], []
    for i, key in enumerate(rule_keys(policy)):
        replayed, check = replay_rule(policy, i, run, key)
        rules.append(replayed)
        if check is not None:
            checks.append(check)
    missing = [f"{r.label}: {r.note}" for r in rules if r.now == NOT_REPLAYABLE]
    carried = 0
    if run.policy is None:
        missing.append("the run's other checks: recorded before gatekit stored the run's policy (history schema 3)")
    elif not isinstance(run.policy, dict):
        missing.append("the run's other checks: the stored policy is malformed (policy_json is not a mapping)")
    else:
        now_dict = policy.policy.model_dump(mode="json", exclude_none=True)
        differs = _rest_differs(now_dict, run.policy)
        changed_inputs = inputs_differ(now_dict, run.policy)
        if changed_inputs:
            missing.append(f"the run's other checks: the inputs changed ({', '.join(changed_inputs)}), so what they "
                           "computed is not what this policy would compute")
        elif differs:
            missing.append(f"{', '.join(k + ':' for k in differs)} differ from the run's policy; replay re-decides "
                           "only metrics: rules, so those checks are not replayable")
        else:
            try:
                others = [_carried(c) for c in run.checks if not _is_metric_check(c)]
            except (ValueError, KeyError, TypeError) as exc:
                missing.append(f"the run's other checks: a stored check is malformed ({exc})")
            else:
                checks.extend(others)
                carried = len(others)
    at_least: str | None = None
    if checks or not missing:
        decision, reason = decide(checks, policy.policy.strict)
        at_least = decision.value
    else:
        decision, reason = None, "nothing could be replayed"
    if missing and decision != Decision.BLOCK:
        now = INCOMPLETE
        reason = f"{reason} Not replayable: {'; '.join(missing)}" if checks else f"Not replayable: {'; '.join(missing)}"
    else:
        now, at_least = (decision.value if decision is not None else INCOMPLETE), None
        if missing:  # a block stays a block whatever the rest would say; still say what was not replayed
            reason = f"{reason} (not replayable: {'; '.join(missing)})"
    return RunReplay(run_id=run.run_id, started_at=run.started_at.isoformat(timespec="seconds"),
                     policy_name=run.policy_name, policy_version=run.policy_version, model_name=run.model_name,
                     decision_then=run.decision, decision_now=now, at_least=at_least, reason_now=reason, rules=rules,
                     carried_over=carried, not_replayable=missing)


def replay(policy: LoadedPolicy, runs: list[RunView]) -> list[RunReplay]:
    """Replay ``policy`` on each recorded run, oldest first (:func:`replay_run`)."""
    return [replay_run(policy, r) for r in runs]


def summary(replays: list[RunReplay]) -> dict[str, Any]:
    """Count the replayed runs: ``runs``, ``changed``, ``newly_blocked``, ``no_longer_blocked``, ``incomplete``."""
    return {"runs": len(replays), "changed": sum(r.changed for r in replays),
            "newly_blocked": sum(r.decision_now == "block" and r.decision_then != "block" for r in replays),
            "no_longer_blocked": sum(r.decision_then == "block" and r.decision_now in ("pass", "warn")
                                     for r in replays),
            "incomplete": sum(r.decision_now == INCOMPLETE for r in replays)}


def suggest_limits(policy: LoadedPolicy, runs: list[RunView], false_block_rate: float) -> list[Any]:
    """Per one-sided ``metrics:`` rule, the limit at which at most ``false_block_rate`` of ``runs`` would be blocked.

    Built on :func:`gatekit.history.thresholds.calibrate` with the target pass rate ``1 - false_block_rate``:
    the limit is placed at the empirical quantile of the rule's recorded values in these runs (Hyndman & Fan's
    definition 1, :func:`gatekit.history.thresholds.boundary`, reported as ``quantile``), on the passing side
    of the rule's operator, so that ``ceil((1 - rate) * n)`` of the ``n`` runs with a value pass and at most
    ``floor(rate * n)`` are blocked. The runs are taken as models that should pass (the ones marked
    legitimate, or all of them): the rate is the share of *them* the limit would block, an empirical figure
    of ``n`` past runs, not a property of future models.

    Parameters
    ----------
    policy : LoadedPolicy
        The policy whose rules are calibrated.
    runs : list of RunView
        The reference runs.
    false_block_rate : float
        In [0, 1).

    Returns
    -------
    list of Proposal

    Raises
    ------
    ValueError
        ``false_block_rate`` outside [0, 1).
    """
    from gatekit.history.thresholds import calibrate

    if not 0 <= false_block_rate < 1:
        raise ValueError(f"the false-block rate must be in [0, 1), not {false_block_rate}")
    return calibrate(policy, runs, 1 - false_block_rate)
