from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def demo_root(tmp_path: Path) -> Path:
    """A copy of the repository's data/ and policies/ in a temporary folder."""
    shutil.copytree(REPO / "data", tmp_path / "data")
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    return tmp_path


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real CLI entry point in a subprocess."""
    return subprocess.run([sys.executable, "-m", "gatekit", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)
