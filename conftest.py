"""The project's test configuration, for `pytest` and `pytest --nbval notebooks/` alike.

- The committed notebook outputs come from the offline profile, so every test session runs in it
  (LMCOURSE_PROFILE=offline; tests that need another profile set it for their own processes).
- Every test, notebook kernel and command the tests start sees an empty Hugging Face home of its own
  and a hub address that refuses connections at once: no test reads the machine's cache or reaches
  the network, whatever machine it runs on.
- With LMCOURSE_NO_SKIP=1 (CI sets it) a skipped test fails, unless its reason starts with
  "CI-exempt:" (the real-data tests, where ../shared/data is absent); skips are always reported.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

# Where the libraries would otherwise find a student's own cache.
HF_LOCATIONS = ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_DATASETS_CACHE", "TRANSFORMERS_CACHE",
                "HF_ASSETS_CACHE", "HF_XET_CACHE")
EXEMPT = "CI-exempt:"
_isolation: dict = {}


def pytest_configure(config):
    home = Path(tempfile.mkdtemp(prefix="lmcourse-hf-home-"))
    closed = socket.socket()  # bound but never listening: connections to it are refused
    closed.bind(("127.0.0.1", 0))
    _isolation.update(home=home, closed=closed)
    for name in HF_LOCATIONS:
        os.environ.pop(name, None)
    os.environ["HF_HOME"] = str(home)
    os.environ["HF_ENDPOINT"] = f"http://127.0.0.1:{closed.getsockname()[1]}"
    os.environ["LMCOURSE_PROFILE"] = "offline"


def pytest_unconfigure(config):
    if "home" in _isolation:
        shutil.rmtree(_isolation["home"], ignore_errors=True)
        _isolation["closed"].close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("LMCOURSE_NO_SKIP") == "1" and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if EXEMPT not in reason:
            report.outcome = "failed"
            report.longrepr = f"skipped, and LMCOURSE_NO_SKIP=1 forbids it: {reason}"
