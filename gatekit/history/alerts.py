"""Repeated-failure alerts: a rule that failed in ``after`` of the last ``within`` runs, and the webhook post.

An alert never changes the gate's decision: it is reported (terminal, HTML banner, JSON ``metadata.alerts``),
recorded in the history store, and posted as JSON to the configured webhook. A webhook that fails or times
out is reported as not delivered; the run goes on.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

from gatekit.core.decision import FAILED
from gatekit.core.formatting import alert_text, printable
from gatekit.policy.loader import LoadedPolicy
from gatekit.policy.specs import AlertSpec, GateRule, MetricRule

if TYPE_CHECKING:  # the history module loads SQLAlchemy: only when a run is recorded
    from gatekit.history.runs import RunView

_RULE_LISTS = {"metrics": "metrics", "gates": "gates", "canary.rules": "canary"}

WEBHOOK = "the webhook (GATEKIT_ALERT_WEBHOOK_URL / gatekit.toml [alerts] webhook_url)"
"""How every message names the webhook: never by its URL, whose path is the secret of Slack-style hooks."""


def alert_spec(policy: LoadedPolicy, check: Any) -> AlertSpec | None:
    """Return the alert setting that applies to a check: its rule's ``alert:``, else the policy's ``alert:``."""
    pol = policy.policy
    ref = check.details.get("rule") if isinstance(check.details, dict) else None
    if isinstance(ref, str) and "[" in ref:
        where, _, idx = ref.rstrip("]").partition("[")
        rules = pol.canary.rules if where == "canary.rules" and pol.canary is not None else getattr(pol, where, None)
        try:
            own = rules[int(idx)].alert if rules is not None else None
        except (IndexError, ValueError, AttributeError):
            own = None
        if own is not None:
            return own
    return pol.alert


def wants_alerts(policy: LoadedPolicy) -> bool:
    """Tell whether any rule (or the policy) asks for repeated-failure alerts."""
    pol = policy.policy
    rules: list[MetricRule | GateRule] = [*pol.metrics, *pol.gates,
                                          *(pol.canary.rules if pol.canary is not None else [])]
    return pol.alert is not None or any(r.alert is not None for r in rules)


def evaluate_alerts(report: Any, policy: LoadedPolicy, previous: list[RunView]) -> list[dict[str, Any]]:
    """Find the checks of this run that fire their repeated-failure alert.

    Parameters
    ----------
    report : GateReport
        The current run (not yet recorded).
    policy : LoadedPolicy
        Its policy (for the rules' ``alert:`` settings).
    previous : list of RunView
        Earlier runs of the same policy name, oldest first (at least ``within - 1`` of them when there are).

    Returns
    -------
    list of dict
        One per firing check: ``key``, ``name``, ``section``, ``on_fail``, ``status``, ``failures``,
        ``after``, ``within``, ``runs_considered`` and ``failed_runs`` (run ids, current last). A check
        fires when it failed now (status fail, error or not_computable) and in at least ``after`` of the
        last ``within`` runs counting this one; a run in which the check did not appear counts as no
        failure.
    """
    from gatekit.history.runs import check_keys

    out = []
    run_id = report.metadata.get("run_id")
    for check, key in zip(report.checks, check_keys(report.checks), strict=True):
        spec = alert_spec(policy, check)
        if spec is None or check.status.value not in FAILED:
            continue
        window = previous[-(spec.within - 1):] if spec.within > 1 else []
        failed = [r.run_id for r in window
                  if any(c["key"] == key and c["status"] in FAILED for c in r.checks)] + [run_id]
        if len(failed) >= spec.after:
            since = None  # the alert is ongoing when the previous run raised it too: posted once per streak
            for r in reversed(previous):
                if not any(a["key"] == key for a in r.alerts):
                    break
                since = r.run_id
            out.append({"key": key, "name": check.name, "section": check.section, "on_fail": check.on_fail.value,
                        "status": check.status.value, "failures": len(failed), "after": spec.after,
                        "within": spec.within, "runs_considered": len(window) + 1, "failed_runs": failed,
                        "message": check.message, "ongoing": since is not None, "since": since or run_id})
    return out


def chat_text(value: object) -> str:
    """Return text safe for a chat hook's message.

    Control characters (newlines too) are escaped, and ``&``, ``<``, ``>`` written as entities, as Slack and
    Mattermost require, so a name can neither ping a channel (``<!channel>``), hide a link
    (``<https://x|y>``) nor forge a line.
    """
    return printable(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webhook_payload(report: Any, alerts: list[dict[str, Any]]) -> dict[str, Any]:
    """Build the JSON posted to the webhook; ``text`` makes it readable in Slack / Teams / Mattermost hooks as is."""
    meta = report.metadata
    pol = meta.get("policy", {})
    lines = [f"gatekit: {len(alerts)} repeated gate failure(s) in policy {chat_text(pol.get('name'))} "
             f"v{chat_text(pol.get('version'))} (run {chat_text(meta.get('run_id'))}, decision "
             f"{report.decision.value})"]
    lines += [f"- {chat_text(alert_text(a))}" for a in alerts]
    return {"text": "\n".join(lines), "source": "gatekit", "gatekit_version": meta.get("gatekit_version"),
            "run_id": meta.get("run_id"), "policy": {"name": pol.get("name"), "version": pol.get("version"),
                                                     "sha256": pol.get("sha256")},
            "decision": report.decision.value, "reason": report.reason,
            "alerts": [{k: a[k] for k in ("key", "name", "section", "on_fail", "status", "failures", "after",
                                          "within", "failed_runs", "message")} for a in alerts]}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Never follow a redirect: urllib would re-send a POST as an empty GET, and the JSON would be lost."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        return None


def webhook_origin(url: str) -> str:
    """Return the webhook URL's ``scheme://host[:port]``, the most of it any message shows; ``""`` if unclear.

    Parameters
    ----------
    url : str
        The configured webhook URL (a secret: its path, query and user part are never returned).

    Returns
    -------
    str
        ``https://hooks.example.com`` for ``https://user:pw@hooks.example.com/services/T0/B0?x=1``; an empty
        string when the URL has no plain host (the host itself would then be guesswork).
    """
    import re
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not host or not re.fullmatch(r"[A-Za-z0-9.\-\[\]:]+", host):
        return ""
    return f"{parts.scheme.lower()}://{host}" + (f":{port}" if port is not None else "")


def _scrub(text: str, url: str) -> str:
    """Remove the webhook URL and each of its parts from ``text`` (an exception's text may embed them)."""
    from urllib.parse import unquote, urlsplit

    secrets = {url, url.strip()}
    try:
        parts = urlsplit(url.strip())
        secrets |= {parts.netloc, parts.path, parts.query, parts.fragment, unquote(parts.path),
                    parts.netloc.rpartition("@")[0]}
    except ValueError:
        pass
    for secret in sorted((x for x in secrets if len(x) > 1 and x != "/"), key=len, reverse=True):
        text = text.replace(secret, "***")
    return printable(text)


def webhook_problem(url: str) -> str | None:
    """Tell why ``url`` cannot be posted to (never quoting it), or None when it is a plain http(s) URL.

    Parameters
    ----------
    url : str
        The configured webhook URL; surrounding whitespace (a CI secret's trailing newline) is ignored.

    Returns
    -------
    str or None
        What is wrong, naming :data:`WEBHOOK` and at most the URL's scheme and host.
    """
    from urllib.parse import urlsplit

    u = url.strip()
    if not u.lower().startswith(("http://", "https://")):
        return f"{WEBHOOK} must start with http:// or https://"
    if any(ch.isspace() or ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in u):
        where = webhook_origin(u.split()[0]) if u.split() else ""
        return (f"{WEBHOOK}{' at ' + where if where else ''} is not a valid URL: it contains a space, a line "
                "break or a control character (check the secret's value)")
    try:
        parts = urlsplit(u)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return f"{WEBHOOK} is not a valid URL (its host or port cannot be read)"
    if not parts.hostname:
        return f"{WEBHOOK} is not a valid URL: it names no host"
    return None


def post_webhook(url: str, payload: dict[str, Any], timeout_s: float) -> tuple[bool, str]:
    """POST ``payload`` as JSON (urllib); return (delivered, what happened). Never raises.

    Delivered means an HTTP 2xx answer to the POST itself (a redirect is not followed and not delivered),
    complete within ``timeout_s`` seconds in all (a server that trickles its answer is cut off). The URL is
    never echoed back, not even from an exception's text (hook URLs carry secrets): what happened names
    :data:`WEBHOOK` and at most the URL's scheme and host (:func:`webhook_origin`).
    """
    import threading

    problem = webhook_problem(url)
    if problem is not None:
        return False, f"not posted: {problem}"
    url = url.strip()
    result: list[tuple[bool, str]] = []

    def send() -> None:
        try:
            body = json.dumps(payload, allow_nan=False, default=str).encode("utf-8")
            req = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json", "User-Agent": "gatekit"})
            opener = urllib.request.build_opener(_NoRedirect)
            with opener.open(req, timeout=timeout_s) as resp:
                result.append((200 <= resp.status < 300, f"HTTP {resp.status}"))
        except urllib.error.HTTPError as exc:
            what = f"redirected (HTTP {exc.code}); not followed" if 300 <= exc.code < 400 else \
                f"HTTP {exc.code} {exc.reason}"
            result.append((False, what))
        except urllib.error.URLError as exc:
            reason = exc.reason
            # an OSError's strerror ("Connection refused", "Name or service not known") holds no URL
            what = (reason.strerror or type(reason).__name__) if isinstance(reason, OSError) else str(reason)
            result.append((False, what))
        except Exception as exc:  # noqa: BLE001 - a malformed URL or a broken server never costs the run
            result.append((False, f"{type(exc).__name__} (details left out: they may quote the URL)"))

    worker = threading.Thread(target=send, name="gatekit-webhook", daemon=True)
    worker.start()
    worker.join(timeout_s + 0.5)  # the whole request, not each read
    origin = webhook_origin(url)
    if worker.is_alive() or not result:
        return False, f"{WEBHOOK} at {origin}: no complete answer within {timeout_s:g} s"
    ok, what = result[0]
    return ok, f"{WEBHOOK} at {origin}: {_scrub(what, url)}"


def record_and_alert(report: Any, policy: LoadedPolicy, history_url: str | None, webhook_url: str | None,
                     timeout_s: float = 5.0, *, record: bool = True) -> None:
    """After a run: evaluate alerts from history, post them, record the run; results go in ``report.metadata``.

    Sets ``metadata["history"]`` (``recorded``, ``store`` or ``error``) and ``metadata["alerts"]`` (the
    firing alerts, each with ``delivered`` / ``delivery``; an ``error`` entry when alerts could not be
    evaluated). Never raises for a store or webhook problem, and never changes the decision.

    With ``record=False`` only the alerts are evaluated and posted; :func:`record_run` records the run
    afterwards (``gatekit run`` records only once its reports are written: a run that could not write
    them exits 2 and is not in the history as a pass).
    """
    meta = report.metadata
    wanted = wants_alerts(policy)
    if history_url is None:
        meta["history"] = {"recorded": False, "error": "history is off"}
        if wanted:
            meta["alerts"] = {"error": "the policy asks for alerts, which need the run history; history is off",
                              "fired": []}
        return
    from gatekit.history.store import HistoryError, HistoryStore, mask_password

    try:
        with HistoryStore(history_url) as store:
            meta["history"] = {"recorded": False, "store": store.display}
            if wanted:
                specs = [alert_spec(policy, c) for c in report.checks]
                window = max((s.within for s in specs if s is not None), default=1)
                previous = store.runs(policy=meta["policy"]["name"], last=window - 1) if window > 1 else []
                fired = evaluate_alerts(report, policy, previous)
                new = [a for a in fired if not a["ongoing"]]
                for a in fired:
                    if a["ongoing"]:
                        a["delivered"] = None
                        a["delivery"] = (f"ongoing since run {a['since']}: reported then, not posted again"
                                         if webhook_url else "no webhook configured ([alerts] webhook_url or "
                                         "GATEKIT_ALERT_WEBHOOK_URL)")
                if new:
                    if webhook_url:
                        ok, what = post_webhook(webhook_url, webhook_payload(report, new), timeout_s)
                    else:
                        ok, what = None, "no webhook configured ([alerts] webhook_url or GATEKIT_ALERT_WEBHOOK_URL)"
                    for a in new:
                        a["delivered"], a["delivery"] = ok, what
                meta["alerts"] = {"fired": fired}
    except HistoryError as exc:
        text = mask_password(str(exc), history_url)  # also for a HistoryError raised elsewhere
        meta["history"] = {"recorded": False, "error": text}
        if wanted and "alerts" not in meta:
            meta["alerts"] = {"error": f"alerts could not be evaluated: {text}", "fired": []}
        return
    if record:
        record_run(report, history_url)


def record_run(report: Any, history_url: str | None) -> None:
    """Record the run (with the alerts in ``metadata["alerts"]``); set ``metadata["history"]``. Never raises.

    Nothing is recorded when history is off or :func:`record_and_alert` already found the store unusable.
    """
    meta = report.metadata
    hist = meta.get("history") or {}
    if history_url is None or hist.get("error"):
        return
    from gatekit.history.store import HistoryError, HistoryStore, mask_password

    try:
        with HistoryStore(history_url) as store:
            store.record(report, (meta.get("alerts") or {}).get("fired") or [])
            meta["history"] = {"recorded": True, "store": store.display}
    except HistoryError as exc:
        meta["history"] = {"recorded": False, "error": mask_password(str(exc), history_url)}
