"""Threshold calibration from the run history: the threshold at which a target share of runs would pass.

For each metric rule with a one-sided limit (``>=``, ``>``, ``<=``, ``<``, ``max_drop``, ``max_increase`` and
their ``_pct`` forms), gatekit takes the observed values that rule's check recorded in the selected runs
(the last N of the policy, leaving out runs marked not legitimate), and proposes the limit at which
``ceil(target * n)`` of the ``n`` values pass: the empirical quantile of the recorded values (Hyndman &
Fan, 1996, definition 1, the inverse of the empirical distribution function), placed at the roundest
number (fewest decimals) between the last passing and the first failing value so that exactly that many
pass. Ties at the boundary pass together; the achieved rate is reported. When the current limit already
passes exactly as many of the runs, it is kept ("unchanged"): calibration never churns a limit for nothing.

Runs whose check has no value (error, not computable, absent) are left out of that rule's calibration and
counted. Rules decided on a confidence interval are calibrated on their point values (noted). Two-sided
``within`` rules, gates' expressions and other sections' thresholds are not calibrated (reported as
skipped).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any, TypedDict

from gatekit.core.decision import evaluate_threshold
from gatekit.core.formatting import printable
from gatekit.core.results import Status
from gatekit.history.runs import RunView, check_keys
from gatekit.policy.loader import LoadedPolicy


@dataclass
class Proposal:
    """The calibration of one metric rule.

    Parameters
    ----------
    rule : str
        ``metrics[i]``.
    label : str
        The rule as written, e.g. ``auc_roc >= 0.85`` or ``auc_roc max_drop 0.015``.
    key : str
        The check's history key.
    field : str or None
        The rule's key that holds the limit (``value``, ``max_drop``, ...).
    current : float or None
        The limit now (in the rule's own terms: a drop is positive).
    proposed : float or None
        The proposed limit; None when skipped.
    values : int
        Runs with a value for this rule.
    missing : int
        Selected runs without a value (left out).
    current_pass_rate, proposed_pass_rate : float or None
        Share of the ``values`` runs that pass at the current and the proposed limit.
    status : {"proposed", "unchanged", "skipped"}
    note : str
        Why skipped, or what to know (interval rules, clamped limits).
    quantile : float or None
        The recorded value at the boundary (:func:`boundary`): the empirical quantile of the values the
        proposal is placed at (in the rule's own terms, as ``proposed``); None when skipped.
    """

    rule: str
    label: str
    key: str
    field: str | None
    current: float | None
    proposed: float | None
    values: int
    missing: int
    current_pass_rate: float | None
    proposed_pass_rate: float | None
    status: str
    note: str = ""
    quantile: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return asdict(self)


def _q(x: float) -> Decimal:
    return Decimal(repr(float(x)))


def roundest(lo: float, hi: float, *, lo_open: bool, hi_open: bool, prefer_high: bool) -> float:
    """Return the number with fewest decimals in the interval between ``lo`` and ``hi`` (each end open or closed).

    Among numbers with the fewest decimals, the one nearest ``hi`` (``prefer_high``) or ``lo``. Computed in
    decimal arithmetic on the values' shortest representations, so 0.72 stays 0.72.

    Raises
    ------
    ValueError
        The interval is empty.
    """
    if lo > hi or (lo == hi and (lo_open or hi_open)):
        raise ValueError(f"empty interval ({lo}, {hi})")
    dlo, dhi = _q(lo), _q(hi)
    for d in range(0, 16):
        step = Decimal(1).scaleb(-d)
        if prefer_high:
            t = (dhi / step).to_integral_value(ROUND_FLOOR) * step
            if hi_open and t >= dhi:
                t -= step
            ok = t > dlo if lo_open else t >= dlo
        else:
            t = (dlo / step).to_integral_value(ROUND_CEILING) * step
            if lo_open and t <= dlo:
                t += step
            ok = t < dhi if hi_open else t <= dhi
        if ok:
            return float(t)
    return hi if not hi_open else lo  # pragma: no cover - 15 decimals always fit between two distinct floats


def boundary(values: list[float], op: str, target: float) -> float:
    """Return the recorded value at which ``ceil(target * n)`` of ``values`` pass ``value OP limit``.

    The ``k``-th best value, ``k = ceil(target * n)``: for ``>=`` / ``>`` the ``k``-th largest, for ``<=`` /
    ``<`` the ``k``-th smallest. It is the empirical quantile of Hyndman & Fan (1996), definition 1 (numpy's
    ``method="inverted_cdf"``): ``numpy.quantile(values, target, method="inverted_cdf")`` for ``<=`` and
    ``-numpy.quantile(-values, target, method="inverted_cdf")`` for ``>=``.

    Parameters
    ----------
    values : list of float
        Recorded values, n >= 1, all finite.
    op : {">=", ">", "<=", "<"}
        The rule's operator.
    target : float
        Target pass rate in (0, 1].
    """
    k = max(1, math.ceil(target * len(values) - 1e-12))
    return sorted(values, reverse=op in (">=", ">"))[k - 1]


def propose_limit(values: list[float], op: str, target: float) -> float:
    """Return the limit at which ``ceil(target * n)`` of ``values`` pass ``value OP limit``.

    Parameters
    ----------
    values : list of float
        Recorded observed values, n >= 1, all finite.
    op : {">=", ">", "<=", "<"}
        The rule's operator on the recorded statistic.
    target : float
        Target pass rate in (0, 1].

    Returns
    -------
    float
        For ``>=``: a number in (b, a] where a is the k-th largest value and b the next smaller distinct
        value (k = ceil(target * n)); the roundest such number. ``>``: in [b, a). ``<=`` / ``<``: the mirror
        image on the k-th smallest. When every value must pass, the free end is the extreme value minus
        (plus) 5 % of the values' spread (or of its magnitude when they are all equal).
    """
    n = len(values)
    k = max(1, math.ceil(target * n - 1e-12))
    high_good = op in (">=", ">")
    ordered = sorted(values, reverse=high_good)
    a = boundary(values, op, target)
    rest = [v for v in ordered[k:] if v != a]
    if rest:
        b = rest[0]
    else:
        spread = (max(values) - min(values)) or abs(a) or 1.0
        b = a - 0.05 * spread if high_good else a + 0.05 * spread
    if not b < a if high_good else not a < b:  # 5 % of a subnormal value is nothing: the value itself is the limit
        return a
    if op == ">=":
        return roundest(b, a, lo_open=True, hi_open=False, prefer_high=True)
    if op == ">":
        return roundest(b, a, lo_open=False, hi_open=True, prefer_high=True)
    if op == "<=":
        return roundest(a, b, lo_open=False, hi_open=True, prefer_high=False)
    return roundest(a, b, lo_open=True, hi_open=False, prefer_high=False)


def _pass_rate(values: list[float], op: str, limit: float) -> float:
    return sum(evaluate_threshold(v, op, limit)[0] == Status.PASS for v in values) / len(values)


def rule_keys(policy: LoadedPolicy) -> list[str]:
    """Return the history key of each ``metrics:`` rule's check (as :func:`gatekit.history.store.check_keys`)."""
    from gatekit.sections.comparison import conditions

    stubs = []
    for i, rule in enumerate(policy.policy.metrics):
        conds = conditions(rule)
        stubs.append({"section": policy.resolved[i].spec.section, "name": rule.check_name,
                      "op": conds[0][0] if len(conds) == 1 else "within"})
    return check_keys(stubs)


class _ProposalKey(TypedDict):
    """What every Proposal of one rule shares."""

    rule: str
    label: str
    key: str
    field: str | None
    current: float | None
    values: int
    missing: int


def calibrate(policy: LoadedPolicy, runs: list[RunView], target: float = 0.8) -> list[Proposal]:
    """Propose a limit for each one-sided metric rule of ``policy`` from the recorded runs.

    Parameters
    ----------
    policy : LoadedPolicy
        The policy as it is now (its rules and current limits).
    runs : list of RunView
        The runs to learn from (already filtered: policy, last N, legitimacy).
    target : float
        Target pass rate, 0 < target <= 1 (default 0.8, the middle of the seed's "70-90 % of legitimate
        models pass").

    Returns
    -------
    list of Proposal
        One per metric rule, in policy order.

    Raises
    ------
    ValueError
        ``target`` outside (0, 1].
    """
    from gatekit.sections.comparison import conditions

    if not 0 < target <= 1:
        raise ValueError(f"the target pass rate must be in (0, 1], not {target}")
    out = []
    for i, (rule, key) in enumerate(zip(policy.policy.metrics, rule_keys(policy), strict=True)):
        rel = rule.relative
        field = rel[0] if rel else "value"
        current = rel[1] if rel else rule.value
        assert current is not None  # MetricRule._one_form: a rule without a relative form has op + value
        label = f"{rule.name} {rel[0]} {rel[1]:g}" if rel else f"{rule.name} {rule.op} {rule.value:g}"
        found = [c for r in runs for c in r.checks if c["key"] == key]
        # 12 significant digits: a change stored as -0.010000000000000009 is the -0.01 the comparison sees
        values = [float(f"{c['observed']:.12g}") for c in found
                  if c["observed"] is not None and math.isfinite(c["observed"])]
        missing = len(runs) - len(values)
        common: _ProposalKey = dict(rule=f"metrics[{i}]", label=label, key=key, field=field, current=current,
                                    values=len(values), missing=missing)
        conds = conditions(rule)
        if rel and rel[0].startswith("min_"):
            out.append(Proposal(**common, proposed=None, current_pass_rate=None, proposed_pass_rate=None,
                                status="skipped", note="not calibrated: a superiority rule's limit is the gain the "
                                                       "candidate must show, not a tolerance past runs can set"))
            continue
        if len(conds) != 1 or conds[0][0] not in (">=", ">", "<=", "<"):
            why = "a two-sided 'within' rule" if len(conds) != 1 else f"operator {conds[0][0]!r} has no direction"
            out.append(Proposal(**common, proposed=None, current_pass_rate=None, proposed_pass_rate=None,
                                status="skipped", note=f"not calibrated: {why}"))
            continue
        if not values:
            out.append(Proposal(**common, proposed=None, current_pass_rate=None, proposed_pass_rate=None,
                                status="skipped", note="no recorded value for this rule in the selected runs"))
            continue
        op, limit = conds[0]
        t = propose_limit(values, op, target)
        edge = boundary(values, op, target)
        quantile = -edge if rel and rel[0].startswith("max_drop") else edge
        notes = []
        if rel and rel[0].startswith("max_drop"):
            proposed = -t  # max_drop d is "change >= -d"
        else:
            proposed = t
        if rel and proposed < 0:
            notes.append(f"the recorded changes would need a limit of {proposed:g}, which asks for an improvement; "
                         "proposed 0 instead")
            proposed = 0.0
        cond_limit = -proposed if rel and rel[0].startswith("max_drop") else proposed
        if rule.confidence is not None:
            notes.append("calibrated on point values; the rule decides on its confidence interval, so its pass "
                         "rate may be lower")
        now, then = _pass_rate(values, op, limit), _pass_rate(values, op, cond_limit)
        k = max(1, math.ceil(target * len(values) - 1e-12))
        if then * len(values) > k + 1e-9:
            notes.append(f"ties: values equal at the boundary pass together, so {then:.0%} pass, not {target:.0%}")
        if len(values) < 10:
            notes.append(f"only {len(values)} run{'' if len(values) == 1 else 's'} with a value: a rough proposal")
        if now == then:  # the current limit already passes exactly these runs: no churn
            proposed, then = current, now
            notes = [n for n in notes if "proposed 0 instead" not in n]
        status = "unchanged" if proposed == current else "proposed"
        out.append(Proposal(**common, proposed=proposed, current_pass_rate=now, proposed_pass_rate=then,
                            status=status, note="; ".join(notes), quantile=quantile))
    return out


def _number(x: float) -> str:
    """Format a YAML number without float noise (0.72, not 0.7200000000000001)."""
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def comment_text(value: object) -> str:
    """Return ``value`` as text safe in a YAML comment: one line of printable characters.

    Control characters (line breaks included) and bidirectional overrides are escaped
    (:func:`~gatekit.core.formatting.printable`), and so are U+2028 and U+2029, which YAML also reads as line
    breaks: a path or run id put in a comment can never end it and start a key (``mode: warn_only``).
    """
    return printable(value).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def write_proposed(policy: LoadedPolicy, proposals: list[Proposal], out: Path, *, header: str,
                   force: bool = False) -> list[str]:
    """Write a copy of the policy file with the proposed limits, comments and layout kept.

    Each limit is replaced in the text at the position of its YAML scalar (``yaml.compose`` marks), and an
    integer ``version:`` is increased by one. Rules inherited from an ``extends:`` base are not in this file
    and are listed in the returned notes instead.

    The file is written whole or not at all: to a temporary file in ``out``'s folder, then renamed over
    ``out`` (with ``force``) or linked to it (without: a file that appears meanwhile is never replaced).

    Parameters
    ----------
    policy : LoadedPolicy
        Loaded from a file (``policy.path`` set).
    proposals : list of Proposal
        From :func:`calibrate`.
    out : pathlib.Path
        Where to write; must differ from the policy file (the original is never edited).
    header : str
        Comment lines put at the top (what was calibrated, from which runs); each line starts with ``#``
        and is single-line printable text (build the values in it with :func:`comment_text`).
    force : bool
        Replace ``out`` when it exists.

    Returns
    -------
    list of str
        Rules that could not be written (inherited from a base policy).

    Raises
    ------
    ValueError
        ``out`` is the policy file itself, or the policy was not loaded from a file, or ``header`` has a
        line that is not a comment of printable text.
    FileExistsError
        ``out`` exists (a file, a folder or a link) and ``force`` is not given; nothing is written.
    """
    import yaml

    for line in header.split("\n")[:-1] if header.endswith("\n") or not header else header.split("\n"):
        if not line.startswith("#") or comment_text(line) != line:
            raise ValueError(f"the proposed policy's header must be comment lines of printable text, not "
                             f"{comment_text(line)!r}")

    from gatekit.policy.extends import rule_identity

    source = check_out(policy, out)
    with source.open(encoding="utf-8", newline="") as fh:  # keep the file's line endings
        text = fh.read()
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    top = {k.value: v for k, v in root.value} if isinstance(root, yaml.MappingNode) else {}
    metrics = top.get("metrics")
    items = metrics.value if isinstance(metrics, yaml.SequenceNode) else []
    own: dict[Any, list[yaml.MappingNode]] = {}
    for node in items:
        if isinstance(node, yaml.MappingNode):
            own.setdefault(rule_identity(yaml.safe_load(yaml.serialize(node))), []).append(node)
    # rules with one identity all come from one file (a child's replaces the base's), in file order: the
    # k-th such rule of the resolved policy is the k-th such node of this file
    idents = [rule_identity(r.model_dump(mode="json", exclude_none=True)) for r in policy.policy.metrics]
    edits: list[tuple[int, int, str]] = []
    not_written = []
    used: list[Any] = []
    for p in proposals:
        if p.status != "proposed":
            continue
        proposed = p.proposed
        assert proposed is not None  # calibrate: a "proposed" proposal has a limit
        i = int(p.rule[len("metrics["):-1])
        nodes = own.get(idents[i], [])
        occurrence = idents[:i].count(idents[i])
        node = nodes[occurrence] if occurrence < len(nodes) else None
        scalar = next((v for k, v in node.value if k.value == p.field), None) if node is not None else None
        if scalar is None or not isinstance(scalar, yaml.ScalarNode):
            not_written.append(f"{p.label}: inherited from a base policy; set {p.field}: {_number(proposed)} "
                               "there or override the rule here")
            continue
        span = text[scalar.start_mark.index:scalar.end_mark.index]
        if span[:1] in ("&", "*") or sum(n is scalar for n in used) or _is_aliased(root, scalar):
            not_written.append(f"{p.label}: its limit is a YAML anchor or alias shared with other keys; set "
                               f"{p.field}: {_number(proposed)} by hand")
            continue
        used.append(scalar)
        edits.append((scalar.start_mark.index, scalar.end_mark.index, _number(proposed)))
    version = top.get("version")
    if isinstance(version, yaml.ScalarNode) and version.tag.endswith(":int") and \
            text[version.start_mark.index:version.start_mark.index + 1] not in ("&", "*"):
        value = yaml.safe_load(yaml.serialize(version))  # as YAML reads it: 0x1F, 017 and 1:20 included
        edits.append((version.start_mark.index, version.end_mark.index, str(int(value) + 1)))
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    newline = "\r\n" if "\r\n" in text else "\n"
    if policy.policy.name is None:  # the name came from the file's stem: keep it, or the copy's runs would differ
        header += f"name: {json.dumps(policy.name)}{newline}"
    _write_new(out, header.replace("\n", newline) + text, force=force)
    return not_written


def _write_new(out: Path, text: str, *, force: bool) -> None:
    """Write ``text`` to ``out`` atomically: a temporary file beside it, then a rename (or a link, without force)."""
    import uuid

    exists = FileExistsError(f"{out} already exists; calibrate does not replace it without --force")
    if not force and os.path.lexists(out):
        raise exists
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # a file where a folder is needed: not "out exists"
        raise NotADirectoryError(f"{out.parent} is not a folder; give another --out") from None
    tmp = out.with_name(f".{out.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with tmp.open("x", encoding="utf-8", newline="") as fh:  # exclusive: never a file of another writer
            fh.write(text)
        if force:
            os.replace(tmp, out)
            return
        try:
            os.link(tmp, out)  # fails if out appeared since the check: never replaced
        except FileExistsError:
            raise exists from None
        except OSError:  # a file system without hard links: the check above has to do
            if os.path.lexists(out):
                raise exists from None
            os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def _is_aliased(root: Any, target: Any) -> bool:
    """Tell whether a composed node is reachable more than once (an anchor with aliases)."""
    import yaml

    seen = 0
    stack = [root]
    while stack:
        node = stack.pop()
        if node is target:
            seen += 1
            if seen > 1:
                return True
        if isinstance(node, yaml.MappingNode):
            stack.extend(v for pair in node.value for v in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return False


def files_read(policy: LoadedPolicy) -> list[tuple[str, Path]]:
    """List every file (or folder) a policy reads, by role, its paths resolved: what a writer must never replace.

    The policy file itself, its ``extends:`` bases (transitively), the files its ``inputs:`` and sections
    name (:func:`~gatekit.policy.run_inputs.merge_options`, :func:`~gatekit.policy.run_inputs.policy_files`), the
    compatibility section's expected signature file and production model, and the data-quality suites and
    custom expectations folder.

    Parameters
    ----------
    policy : LoadedPolicy
        The loaded policy.

    Returns
    -------
    list of (str, pathlib.Path)
        ``(role, path)`` pairs, e.g. ``("extends: base", Path("/repo/library/base.yaml"))``; a role ending
        in ``folder`` is a folder (nothing inside it may be written either).
    """
    from gatekit.policy.run_inputs import merge_options, policy_files

    base = policy.base_dir
    out: list[tuple[str, Path]] = []
    if policy.path is not None:
        out.append(("the policy itself", policy.path))
    roles = {"signature": "artifact.signature.file", "public_key": "artifact.signature.public_key",
             "model_card": "artifact.metadata.file", "production_card": "artifact.metadata.production_file",
             "requirements": "security.licenses.requirements"}
    for key, path in policy_files(policy).items():
        role = ("extends: base" if key.startswith("policy_base_") else
                "security.pii.metadata_files" if key.startswith("pii_metadata_") else
                f"data_quality.suites[{key.removeprefix('suite_')}]" if key.startswith("suite_") else
                roles.get(key, key))
        out.append((role, path))
    try:
        opts = merge_options(policy)
    except (TypeError, ValueError):  # pragma: no cover - no overrides are given, so none can be refused
        opts = None
    if opts is not None:
        for key in ("data", "model", "metrics", "reference", "baseline_model", "baseline_metrics",
                    "latency_samples", "baseline_latency_samples", "canary_data"):
            val = getattr(opts, key)
            if val is not None:
                role = {"latency_samples": "operational.latency_samples",
                        "baseline_latency_samples": "operational.baseline_latency_samples",
                        "canary_data": "canary.data"}.get(key, f"inputs.{key}".replace("inputs.baseline_",
                                                                                     "inputs.baseline."))
                out.append((role, Path(val)))
    pol = policy.policy
    compat = pol.compatibility
    fs = compat.feature_signature if compat is not None else None
    if fs is not None:
        for key in ("expected_file", "expected_model"):
            val = getattr(fs, key, None)
            if val is not None:
                out.append((f"compatibility.feature_signature.{key}", base / val))
    dq = pol.data_quality
    if dq is not None:
        if dq.expectations_dir is not None:
            out.append(("data_quality.expectations_dir folder", base / dq.expectations_dir))
    if pol.custom_metrics is not None and pol.custom_metrics.metrics_dir is not None:
        out.append(("custom_metrics.metrics_dir folder", base / pol.custom_metrics.metrics_dir))
    return [(role, Path(os.path.abspath(path)).resolve()) for role, path in out]


def _same_file(a: Path, b: Path) -> bool:
    """Tell whether two paths name one file: equal resolved paths, or one inode (a hard link or another spelling)."""
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): not the same file
        return False


def check_out(policy: LoadedPolicy, out: Path, also: dict[str, Path] | None = None) -> Path:
    """Refuse to write the proposed policy over any file the policy reads (or for a policy not loaded from a file).

    Parameters
    ----------
    policy : LoadedPolicy
        The policy being calibrated.
    out : pathlib.Path
        Where the proposed policy would be written.
    also : dict of str to pathlib.Path, optional
        Further files the command reads, by role (the history store's SQLite file).

    Returns
    -------
    pathlib.Path
        The policy file (``policy.path``).

    Raises
    ------
    ValueError
        ``out`` is the policy file itself, one of its ``extends:`` bases (transitively), a file its
        sections read (:func:`files_read`; compared by resolved path and by inode, so a hard link or a
        symbolic link is caught), a file inside a folder it reads, or a file in ``also``; or the policy
        has no file. The message names the file and its role.
    """
    if policy.path is None:
        raise ValueError("calibrate writes a copy of a policy file; this policy was not loaded from one")
    read = [(f"the policy's {role}", path) for role, path in files_read(policy)] + \
        [(f"the {role} calibrate reads", Path(os.path.abspath(p)).resolve()) for role, p in (also or {}).items()]
    target = Path(os.path.abspath(out)).resolve()
    for role, path in read:
        if role.endswith("folder"):
            if target.is_relative_to(path):
                raise ValueError(f"{out} is inside {path}, {role[:-len(' folder')]}; calibrate "
                                 "never writes into a folder the policy reads: give another --out")
            continue
        if not _same_file(target, path):
            continue
        if role == "the policy's the policy itself":
            raise ValueError(f"{out} is the policy itself; calibrate never edits the original: give another --out")
        raise ValueError(f"{out} is {path}, {role}; calibrate never overwrites a file it reads: give another --out")
    return policy.path
