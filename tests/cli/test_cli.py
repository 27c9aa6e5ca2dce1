"""Tests of :mod:`gatekit.cli`: the entry points (``python -m gatekit``, the console script), help and
version.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.cli.helpers import CONSOLE_SCRIPT, gk

# --------------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------------


def test_console_script_is_installed() -> None:
    assert CONSOLE_SCRIPT.is_file(), f"no gatekit console script next to {sys.executable}"


@pytest.mark.parametrize("script", [False, True], ids=["python-m", "console-script"])
def test_help(tmp_path: Path, script: bool) -> None:
    res = gk("--help", cwd=tmp_path, script=script)
    assert res.returncode == 0, res.stderr
    for command in ("run", "validate"):
        assert command in res.stdout


def test_version(tmp_path: Path) -> None:
    import gatekit

    res = gk("--version", cwd=tmp_path)
    assert res.returncode == 0
    assert gatekit.__version__ in res.stdout
