from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def _history_outside_the_repository(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every `gatekit run` of the tests records into one temporary store, never .gatekit/ in the repository."""
    import os

    os.environ["GATEKIT_HISTORY_URL"] = str(tmp_path_factory.mktemp("history") / "history.db")
    os.environ.pop("GATEKIT_ALERT_WEBHOOK_URL", None)


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def demo_root(tmp_path: Path) -> Path:
    """A copy of the repository's data/ and policies/ in a temporary folder."""
    shutil.copytree(REPO / "data", tmp_path / "data")
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    return tmp_path


def write_json(tmp_path: Path, data: object, name: str = "metrics.json") -> Path:
    """Write ``data`` as a JSON file in ``tmp_path``."""
    p = tmp_path / name
    p.write_text(json.dumps(data), encoding="utf-8")
    return p


def write_policy(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    """Write an indented YAML snippet as a policy file in ``tmp_path``."""
    p = tmp_path / name
    p.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return p


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real CLI entry point in a subprocess."""
    return subprocess.run([sys.executable, "-m", "gatekit", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)
