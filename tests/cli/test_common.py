"""Tests of :mod:`gatekit.cli.common`: error output, a closed or full stdout, and the progress bar."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.helpers import AUC_POLICY, run_cli
from tests.report.helpers import ANSI, PASSING, SEED_EX1, cli_env, gk_ci, metrics_file
from tests.sections.helpers import csv


def test_cli_no_progress_bar_on_pipes(tmp_path):
    m = metrics_file(tmp_path, PASSING)
    res = gk_ci("run", SEED_EX1, "--metrics", m, "--out", "D", "--no-history", cwd=tmp_path)  # CI unset, no TTY
    assert res.returncode == 0
    assert ANSI not in res.stdout and ANSI not in res.stderr
    assert "reading the inputs" not in res.stderr and "\r" not in res.stderr
    assert res.stderr == ""


def _run_with_tty_stderr(args: list[object], cwd: Path, **env: str) -> tuple[int, bytes]:
    """Run gatekit with stderr on a pseudo-terminal (read while it runs); return the exit code and stderr."""
    pty = pytest.importorskip("pty")
    master, slave = pty.openpty()
    chunks: list[bytes] = []

    def pump() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        proc = subprocess.run([sys.executable, "-m", "gatekit", *map(str, args)], cwd=cwd, stdout=subprocess.PIPE,
                              stderr=slave, stdin=subprocess.DEVNULL, env=cli_env(**env), timeout=120, check=False)
    finally:
        os.close(slave)
    reader.join(timeout=10)
    os.close(master)
    assert ANSI.encode() not in proc.stdout  # stdout is a pipe
    return proc.returncode, b"".join(chunks)


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_progress_bar_only_on_a_terminal_outside_ci(tmp_path):
    """Control: on a terminal the bar does show, so its absence on pipes above means something."""
    m = metrics_file(tmp_path, PASSING)
    base = ["run", SEED_EX1, "--metrics", m, "--format", "json", "--no-history"]
    code, err = _run_with_tty_stderr([*base, "--out", "T"], tmp_path)
    assert code == 0
    assert b"gatekit: reading the inputs" in err or b"gatekit: performance" in err
    code, err = _run_with_tty_stderr([*base, "--out", "C"], tmp_path, CI="true")
    assert code == 0 and b"\x1b[" not in err and b"reading the inputs" not in err
    code, err = _run_with_tty_stderr([*base, "--out", "Q", "--quiet"], tmp_path)
    assert code == 0 and b"\x1b[" not in err and b"reading the inputs" not in err


def test_a_closed_stdout_keeps_the_decisions_exit_code(tmp_path: Path) -> None:
    import subprocess
    import sys

    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\ndata_quality:\n  required_columns: [x]\n")
    data = csv(tmp_path, {"x": [1] * 3})
    proc = subprocess.run(f"{sys.executable} -m gatekit run {policy} --data {data} --out {tmp_path / 'o'} | head -c1; "
                          "exit ${PIPESTATUS[0]}", shell=True, executable="/bin/bash", capture_output=True,
                          text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr  # a pass, even though the reader hung up


def test_non_regular_file_and_markup_in_the_path(tmp_path: Path) -> None:
    proc = run_cli("validate", "/dev/zero")
    assert proc.returncode == 2 and "not a regular file" in proc.stderr
    (tmp_path / "x[").mkdir()
    odd = tmp_path / "x[" / "]y.yaml"  # the path reads "x[/]y.yaml": a closing tag to rich's markup parser
    odd.write_text("version: 1\nmetrics:\n  - {name: auc_roc, op: '=>', value: 0.9}\n")
    proc = run_cli("validate", str(odd))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "x[/]y.yaml:3" in proc.stderr


def test_unwritable_stdout_keeps_the_exit_code(tmp_path: Path) -> None:
    pol = tmp_path / "p.yaml"
    pol.write_text(AUC_POLICY)
    (tmp_path / "m.json").write_text(json.dumps({"auc_roc": 0.5}))
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "gatekit", "run", str(pol), "--metrics",
                               str(tmp_path / "m.json"), "--out", str(tmp_path / "o")],
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\x1b[2Jb", "a\x1b]0;x\x07b", "a\u202eb", "a\u2028b", "a\u2029b",
                                   "a\udcffb", "a\x85b", "a\x00b"])
def test_refuse_control_exits_2_naming_the_option(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    import typer

    from gatekit.cli.common import refuse_control

    with pytest.raises(typer.Exit) as info:
        refuse_control(Path(value), "--out")
    assert info.value.exit_code == 2
    err = capsys.readouterr().err
    assert "--out" in err and "control character" in err
    assert not any(c in err for c in "\x1b\x07\r\x00\x85\u202e\u2028\u2029")
    assert err.count("\n") == 2  # the heading and one line: the value cannot start a line of its own


@pytest.mark.parametrize("value", [None, "plain.yaml", "dir with spaces/[red]x[/red] é ü.yaml", "C:\\x\\y.yaml"])
def test_refuse_control_passes_printable_paths(value: str | None) -> None:
    from gatekit.cli.common import refuse_control

    refuse_control(value, "--out")
