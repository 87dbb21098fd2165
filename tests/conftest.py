"""Shared fixtures: no global state leaking between test modules, the real data in ../shared/data
when this checkout has it, and a local hub cache. The session's isolation (an empty Hugging Face
home, a hub that refuses, the offline profile) is in the repository's root conftest.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _restore(saved_env: dict, saved_switches: dict) -> None:
    os.environ.clear()
    os.environ.update(saved_env)
    for module, value in saved_switches.items():
        if module in sys.modules:
            sys.modules[module].HF_HUB_OFFLINE = value


def _switches() -> dict:
    """lmcourse.runtime.go_offline() also flips the offline switch inside imported libraries."""
    return {m: sys.modules[m].HF_HUB_OFFLINE for m in ("huggingface_hub.constants", "datasets.config")
            if m in sys.modules}


@pytest.fixture(autouse=True, scope="module")
def module_state():
    """What a test module (or its fixtures, e.g. lmcourse.setup()) changes in the environment and
    the libraries' offline switches is undone before the next module runs."""
    env, switches = dict(os.environ), _switches()
    yield
    _restore(env, switches)


@pytest.fixture(autouse=True)
def test_state():
    """The same for every single test."""
    env, switches = dict(os.environ), _switches()
    yield
    _restore(env, switches)


@pytest.fixture(scope="session")
def corpus():
    """The bundled course corpus (chapters 1-4), loaded once; tests must not change it."""
    from lmcourse.data import load_course_corpus

    return load_course_corpus()


@pytest.fixture(scope="session")
def kn3(corpus):
    """Chapter 2's Kneser-Ney trigram model of the course corpus."""
    from lmcourse.ngrams import NGramModel

    return NGramModel(3, "kneser-ney").fit(corpus.train)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (or ``LMCOURSE_TEST_DATA``); skips the test when it is absent."""
    path = Path(os.environ.get("LMCOURSE_TEST_DATA", REPO.parent / "shared" / "data"))
    if not path.is_dir():
        pytest.skip(f"CI-exempt: real data folder {path} is absent (set LMCOURSE_TEST_DATA)")
    return path


@pytest.fixture()
def shared_corpora(shared_data: Path, monkeypatch) -> Path:
    """Point LMCOURSE_DATA_DIR at the shared public-domain novels for one test."""
    path = shared_data / "corpora"
    if not path.is_dir():
        pytest.skip(f"CI-exempt: {path} is absent")
    monkeypatch.setenv("LMCOURSE_DATA_DIR", str(path))
    return path


@pytest.fixture(scope="session")
def hub_home(tmp_path_factory) -> Path:
    """A Hugging Face home whose hub cache holds, under their real ids, ``distilbert-base-uncased``
    (a small DistilBERT with random weights and a word-piece vocabulary) and ``fancyzhx/ag_news``
    (parquet files of the real AG News rows in ../shared/data, else of the bundled headlines): what
    a student's cache holds after one online run. Pass it to a process as HF_HOME."""
    from hubcache import build_hub_cache

    ag_news = Path(os.environ.get("LMCOURSE_TEST_DATA", REPO.parent / "shared" / "data")) / "ag_news"
    return build_hub_cache(tmp_path_factory.mktemp("hub-home"), ag_news if ag_news.is_dir() else None)
