"""The package's layers (pyproject's import-linter contract) and the absence of any import cycle."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_imports_point_down_the_layers() -> None:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    if exe is None:
        pytest.fail("lint-imports (import-linter, a dev dependency) is not installed")
    proc = subprocess.run([exe, "--no-cache"], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 kept, 0 broken" in proc.stdout


def test_no_import_cycle_counting_imports_inside_functions() -> None:
    proc = subprocess.run([sys.executable, "scripts/check_import_cycles.py"], capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("no import cycle among ")


def test_the_cycle_finder_finds_a_cycle() -> None:
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        from check_import_cycles import strongly_connected
    finally:
        sys.path.pop(0)
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert strongly_connected(graph) == [["a", "b", "c"]]
    assert strongly_connected({"x": {"y"}, "y": set()}) == []
