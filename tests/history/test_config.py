"""Tests of :mod:`gatekit.history.config`: ``gatekit.toml`` and its environment overrides."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gatekit.core.errors import InputError
from gatekit.history.config import history_url_from, load_config
from gatekit.history.store import HistoryStore
from tests.helpers import _cli, run_cli, write_policy
from tests.history.helpers import _report, _url

# ----------------------------------------------------------------------------------------------- configuration


def test_configuration_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEKIT_HISTORY_URL", raising=False)
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    assert load_config(start=sub).history_url == f"sqlite:///{sub / '.gatekit' / 'history.db'}"
    (tmp_path / "gatekit.toml").write_text('[history]\nurl = "sqlite:///store/h.db"\n[alerts]\n'
                                           'webhook_url = "http://127.0.0.1:9/x"\ntimeout_s = 2\n')
    cfg = load_config(start=sub)  # found in a parent; relative to the file's folder
    assert (cfg.history_url, cfg.webhook_url, cfg.webhook_timeout_s, cfg.source) == (
        f"sqlite:///{tmp_path / 'store' / 'h.db'}", "http://127.0.0.1:9/x", 2.0, tmp_path / "gatekit.toml")
    monkeypatch.setenv("GATEKIT_HISTORY_URL", "postgresql+psycopg://u@h/db")
    assert load_config(start=sub).history_url == "postgresql+psycopg://u@h/db"
    assert load_config("off", start=sub).history_url is None
    assert load_config("x.db", start=sub).history_url == f"sqlite:///{sub / 'x.db'}"
    assert load_config(no_history=True, start=sub).history_url is None


@pytest.mark.parametrize(("text", "match"), [
    ("[history]\nurl = \n", r"gatekit.toml: not valid TOML.*line 2"),
    ("[history]\nuri = 'x'\n", r"history.uri: Extra inputs"),
    ("[alerts]\ntimeout_s = -1\n", r"alerts.timeout_s"),
])
def test_a_bad_configuration_names_the_file_and_the_key(tmp_path: Path, text: str, match: str) -> None:
    from gatekit.core.errors import InputError

    (tmp_path / "gatekit.toml").write_text(text)
    with pytest.raises(InputError, match=match):
        load_config(start=tmp_path)
    policy = write_policy(tmp_path, "version: 1\n")
    proc = run_cli("run", str(policy), cwd=tmp_path)
    assert proc.returncode == 2 and "gatekit.toml" in proc.stderr


@pytest.mark.parametrize(("text", "match"), [
    ("[history\n", "not valid TOML"),
    ("[history]\nurl = 5\n", "history.url"),
    ("[history]\nurl = 'x'\nextra = 1\n", "history.extra"),
    ("[bogus]\na = 1\n", "bogus"),
    ("[alerts]\ntimeout_s = 0\n", "alerts.timeout_s"),
    ("[alerts]\ntimeout_s = nan\n", "alerts.timeout_s"),
    ("[alerts]\ntimeout_s = '5'\n", "alerts.timeout_s"),
    ("history = 'x'\n", "history"),
    ("[history]\n", "history.url"),
])
def test_a_bad_gatekit_toml_is_exit_2_naming_file_and_key(failing_run: dict[str, Path], text: str,
                                                          match: str) -> None:
    (failing_run["dir"] / "gatekit.toml").write_text(text, encoding="utf-8")
    res = subprocess.run([sys.executable, "-m", "gatekit", "run", str(failing_run["policy"]), "--metrics",
                          str(failing_run["metrics"]), "--out", "r", "-q"], cwd=failing_run["dir"],
                         capture_output=True, text=True, timeout=120,
                         env={k: v for k, v in os.environ.items() if k != "GATEKIT_HISTORY_URL"})
    assert res.returncode == 2, res.stderr
    assert "gatekit.toml" in res.stderr and match in res.stderr and "Traceback" not in res.stderr


def test_an_empty_history_env_var_falls_back_to_gatekit_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "gatekit.toml").write_text('[history]\nurl = "team.db"\n', encoding="utf-8")
    monkeypatch.setenv("GATEKIT_HISTORY_URL", "")
    assert load_config(start=tmp_path).history_url == _url((tmp_path / "team.db").resolve())


@pytest.mark.parametrize("name", ["my?x=1.db", "100%41.db"])
def test_a_plain_path_is_that_file(tmp_path: Path, name: str) -> None:
    url = history_url_from(name, tmp_path)
    assert url is not None
    with HistoryStore(url) as st:
        st.record(_report("r1", "2026-01-01T00:00:00+00:00", [0.9]))
    assert (tmp_path / name).is_file()


def test_a_sqlite_url_with_its_driver_is_relative_to_the_config_file(tmp_path: Path) -> None:
    url = history_url_from("sqlite+pysqlite:///rel.db", tmp_path)
    assert url is not None and str(tmp_path.resolve()) in url


# ------------------------------------------------------------------------------------ secrets in the configuration

HOOK = "https://hooks.example.com/services/T0SECRET/B0SECRET/XyZsecretToken"


def test_the_configuration_repr_shows_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEKIT_HISTORY_URL", "postgresql+psycopg://gatekit:PwSecret9@db.internal/gatekit")
    monkeypatch.setenv("GATEKIT_ALERT_WEBHOOK_URL", HOOK)
    cfg = load_config(start=tmp_path)
    assert cfg.webhook_url == HOOK and "PwSecret9" in str(cfg.history_url)  # the values are there, to use
    shown = repr(cfg) + str(cfg)
    assert "PwSecret9" not in shown and "XyZsecretToken" not in shown and "hooks.example.com" not in shown


@pytest.mark.parametrize("value", ["", "  ", "\n"])
def test_a_blank_webhook_variable_falls_back_to_gatekit_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             value: str) -> None:
    (tmp_path / "gatekit.toml").write_text(f'[alerts]\nwebhook_url = "{HOOK}"\n', encoding="utf-8")
    monkeypatch.setenv("GATEKIT_ALERT_WEBHOOK_URL", value)
    assert load_config(start=tmp_path).webhook_url == HOOK


def test_a_webhook_secret_with_a_trailing_newline_is_the_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEKIT_ALERT_WEBHOOK_URL", HOOK + "\n")
    assert load_config(start=tmp_path).webhook_url == HOOK


@pytest.mark.parametrize("text", [
    f'[alerts]\nwebhook_url = "{HOOK}\n',  # an unterminated string
    f'[alerts]\nwebhook_url = "{HOOK}" x\n',
    f"[alerts]\nwebhook_url = ['{HOOK}']\n",  # a wrong type
    "[history]\nurl = 'postgresql://u:XyZsecretToken@h/db'\nurl = 'x'\n",  # a duplicate key
])
def test_a_bad_gatekit_toml_never_quotes_a_secret(tmp_path: Path, text: str) -> None:
    from gatekit.core.errors import InputError

    (tmp_path / "gatekit.toml").write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_config(start=tmp_path)
    assert "gatekit.toml" in str(exc.value) and "XyZsecretToken" not in str(exc.value), str(exc.value)


@pytest.mark.parametrize("empty", ["", "   ", "\n"])
def test_an_empty_history_option_is_an_error_not_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      empty: str) -> None:
    from gatekit.core.errors import InputError

    monkeypatch.delenv("GATEKIT_HISTORY_URL", raising=False)
    with pytest.raises(InputError, match="--history needs a store: a URL, a file, or off"):
        load_config(empty, start=tmp_path)
    with pytest.raises(InputError, match="needs a store"):
        history_url_from(empty, tmp_path)
    assert load_config("off", start=tmp_path).history_url is None  # off is said, never implied
    assert load_config(empty, no_history=True, start=tmp_path).history_url is None
    # the environment variable: empty is unset (a CI secret that is not defined), the default store is used
    monkeypatch.setenv("GATEKIT_HISTORY_URL", empty)
    assert load_config(start=tmp_path).history_url == f"sqlite:///{tmp_path.resolve() / '.gatekit' / 'history.db'}"


@pytest.mark.parametrize("empty", ['""', "'  '"])
def test_an_empty_url_in_gatekit_toml_is_an_error_naming_the_file_and_key(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch,
                                                                          empty: str) -> None:
    from gatekit.core.errors import InputError

    monkeypatch.delenv("GATEKIT_HISTORY_URL", raising=False)
    (tmp_path / "gatekit.toml").write_text(f"[history]\nurl = {empty}\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_config(start=tmp_path)
    (problem,) = info.value.problems
    assert problem.file == str(tmp_path / "gatekit.toml") and problem.key == "history.url"
    assert "off" in problem.message
    monkeypatch.chdir(tmp_path)
    res = _cli("history")
    assert res.exit_code == 2 and "gatekit.toml: history.url" in res.stderr


def test_a_world_writable_gatekit_toml_is_refused_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEKIT_ALERT_WEBHOOK_URL", raising=False)
    cfg = tmp_path / "gatekit.toml"
    cfg.write_text("[alerts]\nwebhook_url = 'https://hooks.example.com/T0/B0/secretXYZ'\n")
    os.chmod(cfg, 0o666)
    (tmp_path / "sub").mkdir()
    with pytest.raises(InputError) as err:  # found from a folder below it, as a planted file would be
        load_config(start=tmp_path / "sub")
    (problem,) = err.value.problems
    assert problem.file == str(cfg) and "world-writable" in problem.message and "secretXYZ" not in problem.message
    os.chmod(cfg, 0o664)  # group-writable is a common umask's default: accepted
    assert load_config(start=tmp_path).webhook_url == "https://hooks.example.com/T0/B0/secretXYZ"


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="giving a file away needs root")
def test_a_gatekit_toml_of_another_user_in_a_parent_folder_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "gatekit.toml"
    cfg.write_text("[history]\nurl = 'off'\n")
    os.chown(cfg, 65534, 65534)
    (tmp_path / "project").mkdir()
    with pytest.raises(InputError, match="belongs to another user"):
        load_config(start=tmp_path / "project")
