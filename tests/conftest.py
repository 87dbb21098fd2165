"""Shared fixtures: the real data in ../shared/data, when this checkout has it beside it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (or ``LMCOURSE_TEST_DATA``); skips the test when it is absent."""
    path = Path(os.environ.get("LMCOURSE_TEST_DATA", REPO.parent / "shared" / "data"))
    if not path.is_dir():
        pytest.skip(f"real data folder {path} is absent (set LMCOURSE_TEST_DATA)")
    return path


@pytest.fixture()
def shared_corpora(shared_data: Path, monkeypatch) -> Path:
    """Point LMCOURSE_DATA_DIR at the shared public-domain novels for one test."""
    path = shared_data / "corpora"
    if not path.is_dir():
        pytest.skip(f"{path} is absent")
    monkeypatch.setenv("LMCOURSE_DATA_DIR", str(path))
    return path
