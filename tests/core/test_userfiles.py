"""Tests of :mod:`gatekit.core.userfiles`: a user's Python file run as a module, and where it broke."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gatekit.core.userfiles import error_line, exec_user_file


def test_a_file_runs_as_the_named_module_without_writing_bytecode(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text("X = 41 + 1\n")
    module = exec_user_file(f, "gatekit_test_userfiles.ok")
    try:
        assert module.X == 42 and sys.modules["gatekit_test_userfiles.ok"] is module
    finally:
        sys.modules.pop("gatekit_test_userfiles.ok", None)
    assert not (tmp_path / "__pycache__").exists()


@pytest.mark.parametrize(("text", "line", "kind"), [
    ("a = 1\nb = (\n", 2, SyntaxError),            # the parser's own line
    ("a = 1\n\nraise ValueError('no')\n", 3, ValueError),
    ("def f():\n    return 1 / 0\n\nf()\n", 2, ZeroDivisionError),  # innermost frame in the file
    ("import sys\nsys.exit(3)\n", 2, SystemExit),
])
def test_an_error_is_raised_unchanged_located_in_the_file_and_the_module_removed(
        tmp_path: Path, text: str, line: int, kind: type[BaseException]) -> None:
    f = tmp_path / "bad.py"
    f.write_text(text)
    with pytest.raises(kind) as info:
        exec_user_file(f, "gatekit_test_userfiles.bad")
    assert "gatekit_test_userfiles.bad" not in sys.modules
    assert error_line(info.value, f) == line


def test_an_error_outside_the_file_has_no_line(tmp_path: Path) -> None:
    try:
        raise RuntimeError("elsewhere")
    except RuntimeError as exc:
        assert error_line(exc, tmp_path / "x.py") is None
