"""Tests of :mod:`gatekit.cli.history`: the options and exit codes of ``gatekit history``, ``history mark``
and ``gatekit calibrate``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import _cli
from tests.history.helpers import CALIB_AUCS, _calibrate_json, _gates, _history_json, _policy, _store_with_runs, _url


def test_calibrate_without_runs_exits_2(work: dict[str, Any]) -> None:
    other = work["dir"] / "other.yaml"
    other.write_text("version: 1\nname: never_run\nmetrics:\n  - {name: auc_roc, op: '>=', value: 0.8}\n",
                     encoding="utf-8")
    res = _cli("calibrate", "--policy", other, "--history", _url(work["db"]))
    assert res.exit_code == 2
    assert "nothing to calibrate" in res.stderr and "no recorded runs of policy 'never_run'" in res.stderr
    assert not (work["dir"] / "other.proposed.yaml").exists()
    # a store that does not exist
    res = _cli("calibrate", "--policy", other, "--history", _url(work["dir"] / "missing.db"))
    assert res.exit_code == 2 and "no such file" in res.stderr
    assert not (work["dir"] / "missing.db").exists()


def test_history_mark_unknown_run_changes_nothing(work: dict[str, Any]) -> None:
    url = _url(work["db"])
    res = _cli("history", "mark", work["ids"][0], "no-such-run", "--not-legitimate", "--history", url)
    assert res.exit_code == 2 and "no-such-run" in res.stderr
    assert _calibrate_json(work["policy"], work["db"])["runs"] == 10


def test_history_last_n(store: dict[str, Any]) -> None:
    doc = _history_json(store["db"], "--policy", "trend_demo", "--last", "3")
    (entry,) = doc["policies"]
    assert doc["last"] == 3 and entry["summary"]["runs"] == 3
    assert [r["run_id"] for r in entry["runs"]] == store["trend_ids"][1:]
    g = _gates(doc, "trend_demo")
    lat = g["operational/latency_p95_ms/<="]
    # 2, 3, 4: pass 2, block 1; x = 0..2, Sxy = 2, Sxx = 2 -> slope 1
    assert (lat["pass"], lat["block"], lat["hit_rate"]) == (2, 1, pytest.approx(1 / 3))
    assert lat["trend"]["slope_per_run"] == pytest.approx(1.0)
    auc = g["performance/auc_roc/>="]
    # .80 .85 .95, mean .8667: Sxy = (-1)(-.0667) + (1)(.0833) = 0.15, Sxx = 2 -> 0.075
    assert (auc["pass"], auc["warn"]) == (2, 1) and auc["trend"]["slope_per_run"] == pytest.approx(0.075)


def test_history_policy_as_file_or_name(store: dict[str, Any]) -> None:
    by_name = _history_json(store["db"], "--policy", "trend_demo")
    by_file = _history_json(store["db"], "--policy", str(store["trend"]))
    assert [p["policy"] for p in by_file["policies"]] == ["trend_demo"]
    assert by_file["policies"] == by_name["policies"]
    # no --policy: every policy in the store
    every = _history_json(store["db"])
    assert sorted(p["policy"] for p in every["policies"]) == ["calib_e2e", "trend_demo"]
    calib = _gates(every, "calib_e2e")["performance/auc_roc/>="]
    assert calib["runs"] == 10 and calib["block"] == 10 and calib["observed"] == CALIB_AUCS  # all below 0.90
    # a policy name without runs: exit 2
    res = _cli("history", "--history", _url(store["db"]), "--policy", "no_such_policy", "--format", "json")
    assert res.exit_code == 2


def test_history_mark_honours_the_groups_history_option(work: dict[str, Any]) -> None:
    url = _url(work["db"])
    res = _cli("history", "--history", url, "mark", work["ids"][0], "--not-legitimate")
    assert res.exit_code == 0, res.output
    assert _calibrate_json(work["policy"], work["db"])["runs"] == 9


@pytest.mark.parametrize("command", ["history", "calibrate"])
def test_a_huge_last_is_a_usage_error_or_works(tmp_path: Path, command: str) -> None:
    db = tmp_path / "h.db"
    _store_with_runs(db, "policy", [0.9, 0.7])
    policy = _policy(tmp_path, 'version: 1\nname: policy\nmetrics:\n  - {name: auc_roc, op: ">=", value: 0.99}\n')
    args = ["--policy", policy] if command == "calibrate" else []
    res = subprocess.run([sys.executable, "-m", "gatekit", command, *map(str, args), "--history", _url(db), "--last",
                          "99999999999999999999"], capture_output=True, text=True, timeout=120)
    assert res.returncode in (0, 2), res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize("last", ["0", "-1"])
def test_last_below_one_is_a_usage_error(tmp_path: Path, last: str) -> None:
    db = tmp_path / "h.db"
    _store_with_runs(db, "p", [0.9])
    assert _cli("history", "--history", db, "--last", last).exit_code == 2


def test_history_of_a_missing_policy_file_or_unknown_name_is_exit_2(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    _store_with_runs(db, "p", [0.9])
    assert _cli("history", "--history", db, "--policy", tmp_path / "missing.yaml").exit_code == 2
    assert _cli("history", "--history", db, "--policy", "nosuch").exit_code == 2
    res = _cli("history", "mark", "nope1", "nope2", "--history", db)
    assert res.exit_code == 2 and "nope1" in res.output


def test_history_survives_a_closed_pipe(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    _store_with_runs(db, "p", [0.9, 0.7, 0.8])
    proc = subprocess.Popen([sys.executable, "-m", "gatekit", "history", "--history", _url(db)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader leaves before anything is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0 and "Traceback" not in err


def test_calibrate_prints_file_and_store_text_escaped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gatekit.history import thresholds

    db = tmp_path / "h.db"
    _store_with_runs(db, "esc", [0.9, 0.7, 0.8])
    policy = _policy(tmp_path, 'version: 1\nname: esc\nmetrics:\n  - {name: auc_roc, op: ">=", value: 0.99}\n')
    real = thresholds.write_proposed

    def hostile(*args: Any, **kwargs: Any) -> list[str]:
        real(*args, **kwargs)
        return ["auc_roc \x1b[2J\x1b]0;x\x07 [red]inherited[/red]\nforged: line"]

    monkeypatch.setattr(thresholds, "write_proposed", hostile)
    out = tmp_path / "sub" / "[red]p[/red].yaml"
    res = _cli("calibrate", "--policy", policy, "--history", _url(db), "--out", out)
    assert res.exit_code == 0, res.output
    assert "\x1b" not in res.stdout and "\x07" not in res.stdout
    assert "not written: auc_roc \\x1b[2J\\x1b]0;x\\x07 [red]inherited[/red]\\x0aforged: line" in res.stdout
    assert f"proposed policy: {out} (review: gatekit policy diff {policy} {out})" in res.stdout
    assert not any(line.startswith("forged") for line in res.stdout.splitlines())


@pytest.mark.parametrize("command", [["history"], ["calibrate", "--policy", "p.yaml"], ["history", "mark", "r1"]])
def test_an_empty_history_option_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   command: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    _policy(tmp_path, 'version: 1\nname: p\nmetrics:\n  - {name: auc_roc, op: ">=", value: 0.99}\n', "p.yaml")
    for empty in ("", "  "):
        res = _cli(*command, "--history", empty)
        assert res.exit_code == 2, res.output
        assert "--history needs a store: a URL, a file, or off" in res.stderr
    assert not (tmp_path / ".gatekit").exists()


def test_history_failing_shows_only_checks_that_warned_or_blocked(store: dict[str, Any]) -> None:
    every = _gates(_history_json(store["db"], "--policy", "trend_demo", "--last", "3"), "trend_demo")
    failing = _gates(_history_json(store["db"], "--policy", "trend_demo", "--last", "3", "--failing"), "trend_demo")
    assert set(failing) == {k for k, g in every.items() if g["warn"] + g["block"] > 0}
    assert "operational/latency_p95_ms/<=" in failing and len(failing) < len(every)
