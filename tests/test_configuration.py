"""The project's pytest configuration: the offline profile, the isolated Hugging Face home, and
skips that fail in CI (LMCOURSE_NO_SKIP=1) unless CI cannot run the test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SKIPPING = '''
import pytest

def test_needs_a_tool():
    pytest.skip("no such tool")

def test_needs_the_real_data():
    pytest.skip("CI-exempt: real data folder /nowhere is absent")

def test_runs():
    pass
'''


def run_pytest(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_skipping.py").write_text(SKIPPING)
    environment = {**os.environ, "PYTHONPATH": str(REPO), **env}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "conftest", "-q", "-rs", "-p", "no:cacheprovider",
                           str(tmp_path / "test_skipping.py")], cwd=tmp_path, env=environment,
                          capture_output=True, text=True, timeout=120)


def test_skips_are_reported_and_allowed_locally(tmp_path):
    done = run_pytest(tmp_path, LMCOURSE_NO_SKIP="0")
    assert done.returncode == 0, done.stdout
    assert "1 passed, 2 skipped" in done.stdout and "SKIPPED" in done.stdout and "no such tool" in done.stdout


def test_in_ci_a_skip_fails_unless_ci_cannot_run_the_test(tmp_path):
    done = run_pytest(tmp_path, LMCOURSE_NO_SKIP="1")
    assert done.returncode == 1, done.stdout
    assert "1 failed, 1 passed, 1 skipped" in done.stdout
    assert "skipped, and LMCOURSE_NO_SKIP=1 forbids it: Skipped: no such tool" in done.stdout


def test_the_session_runs_offline_and_away_from_the_real_hub_cache():
    assert os.environ["LMCOURSE_PROFILE"] == "offline"
    home = Path(os.environ["HF_HOME"])
    assert home.name.startswith("lmcourse-hf-home-") and home != Path.home() / ".cache" / "huggingface"
    assert os.environ["HF_ENDPOINT"].startswith("http://127.0.0.1:")
