"""lmcourse.runtime: profile detection, the one set-up call per notebook, seeds, light imports."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import lmcourse
from lmcourse import runtime

REPO = Path(__file__).resolve().parents[1]
HF_SWITCHES = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")


@pytest.fixture(autouse=True)
def clean_environment():
    """setup() writes os.environ on purpose; give every test a fresh copy and restore it after."""
    saved = dict(os.environ)
    for key in ("LMCOURSE_PROFILE", *HF_SWITCHES):
        os.environ.pop(key, None)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture()
def no_network(monkeypatch):
    """Connections hang (for up to 30 s) as name resolution does on a machine with no network."""
    release = threading.Event()

    def hang(*args, **kwargs):
        release.wait(30)
        raise OSError("network is unreachable")

    monkeypatch.setattr(socket, "create_connection", hang)
    yield
    release.set()  # let the abandoned probe thread finish


@pytest.fixture()
def hub_answers(monkeypatch):
    """The hub accepts connections at once."""
    class Connection:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: Connection())


@pytest.mark.parametrize("profile", ["offline", "cpu", "gpu"])
def test_lmcourse_profile_overrides_detection(profile, monkeypatch, no_network):
    monkeypatch.setenv("LMCOURSE_PROFILE", profile)
    start = time.perf_counter()
    assert runtime.detect_profile() == (profile, "set by LMCOURSE_PROFILE")
    assert time.perf_counter() - start < 0.5  # the override does not even probe the hub


def test_unknown_lmcourse_profile_lists_the_allowed_names(monkeypatch):
    monkeypatch.setenv("LMCOURSE_PROFILE", "tpu")
    with pytest.raises(ValueError, match=r"offline, cpu, gpu; got 'tpu'"):
        runtime.detect_profile()


def test_detects_offline_within_three_seconds_without_network(no_network):
    start = time.perf_counter()
    profile, reason = runtime.detect_profile()
    elapsed = time.perf_counter() - start
    assert profile == "offline"
    assert reason == "the model hub is unreachable"
    assert elapsed < 3.0, f"detect_profile took {elapsed:.1f} s with no network"


def test_detects_offline_when_connection_is_refused(monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("refused")

    monkeypatch.setattr(socket, "create_connection", refuse)
    assert runtime.detect_profile()[0] == "offline"


def test_hf_hub_offline_means_offline_without_probing(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: pytest.fail("probed the hub"))
    assert runtime.detect_profile() == ("offline", "HF_HUB_OFFLINE is set")


@pytest.mark.parametrize("cuda, expected", [(False, "cpu"), (True, "gpu")])
def test_detects_cpu_or_gpu_when_the_hub_answers(cuda, expected, monkeypatch, hub_answers):
    monkeypatch.setattr(runtime, "cuda_available", lambda: cuda)
    assert runtime.detect_profile()[0] == expected


def test_setup_offline_sets_the_libraries_offline_switches_and_prints_one_line(capsys):
    rt = lmcourse.setup("ngrams", profile="offline")
    assert (rt.profile, rt.chapter, rt.seed, rt.offline) == ("offline", "ngrams", 0, True)
    for key in HF_SWITCHES:
        assert os.environ[key] == "1", key
    assert os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "1"
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "Profile: offline (chosen in the parameters cell) - "
        "n-gram models train on the bundled course corpus; nothing is downloaded."]


def test_setup_detects_the_profile_when_none_is_given(monkeypatch, capsys):
    monkeypatch.setenv("LMCOURSE_PROFILE", "offline")
    rt = lmcourse.setup("introduction")
    assert (rt.profile, rt.reason) == ("offline", "set by LMCOURSE_PROFILE")
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("Profile: offline (set by LMCOURSE_PROFILE)")


def test_setup_cpu_profile_leaves_the_hub_switches_alone(capsys):
    rt = lmcourse.setup("ngrams", profile="cpu", verbose=False)
    assert rt.profile == "cpu" and not rt.offline
    assert not any(key in os.environ for key in HF_SWITCHES)
    assert capsys.readouterr().out == ""


def test_choose_picks_the_value_of_the_profile_in_force():
    for profile, expected in (("offline", 2), ("cpu", 5), ("gpu", 20)):
        rt = runtime.Runtime(profile, "test", "lstm", 0)
        assert rt.choose(offline=2, cpu=5, gpu=20) == expected


def test_every_chapter_describes_every_profile():
    for chapter, lines in runtime.CHAPTERS.items():
        assert set(lines) == set(runtime.PROFILES), chapter
        assert all(line.strip() for line in lines.values()), chapter


def draws() -> tuple[list[float], float]:
    return np.random.rand(3).tolist(), random.random()


def test_setup_fixes_python_and_numpy_seeds():
    lmcourse.setup("ngrams", profile="offline", seed=7, verbose=False)
    first = draws()
    lmcourse.setup("ngrams", profile="offline", seed=7, verbose=False)
    assert draws() == first
    lmcourse.setup("ngrams", profile="offline", seed=8, verbose=False)
    assert draws() != first


def test_unknown_chapter_and_profile_are_rejected():
    with pytest.raises(ValueError, match=r"chapter must be one of introduction, ngrams, lstm, distilbert; "
                                         r"got 'transformers'"):
        lmcourse.setup("transformers", profile="offline")
    with pytest.raises(ValueError, match=r"profile must be one of offline, cpu, gpu; got 'fast'"):
        lmcourse.setup("ngrams", profile="fast")


def test_import_lmcourse_pulls_in_neither_tensorflow_nor_torch():
    """A student in chapter 2 should not wait for TensorFlow: check in a fresh interpreter."""
    code = (
        "import sys, lmcourse, lmcourse.text, lmcourse.data, lmcourse.ngrams, lmcourse.widgets, "
        "lmcourse.exercises\n"
        "lmcourse.setup('ngrams', verbose=False)\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'torch', 'transformers', 'datasets') "
        "if m in sys.modules))"
    )
    env = {**os.environ, "LMCOURSE_PROFILE": "offline", "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                            cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
