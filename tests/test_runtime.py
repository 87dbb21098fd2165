"""lmcourse.runtime: profile detection, the one set-up call per notebook, seeds, light imports.

The hub probe is tested against real local servers (one that answers, one that never does, a proxy)
named through HF_ENDPOINT and the proxy variables, as a student's environment would name them.
"""

from __future__ import annotations

import contextlib
import http.server
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
PROXIES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY")


@pytest.fixture(autouse=True)
def clean_environment():
    """No profile, offline switch or proxy from the machine; every probe asks afresh."""
    for key in ("LMCOURSE_PROFILE", *HF_SWITCHES, *PROXIES):
        os.environ.pop(key, None)
    runtime._probes.clear()
    yield
    runtime._probes.clear()


class Answer(http.server.BaseHTTPRequestHandler):
    """Answers every request at once (to the hub's address, or as a proxy to any address)."""

    requests: list[str] = []

    def do_HEAD(self):
        Answer.requests.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def answering_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextlib.contextmanager
def silent_server():
    """Accepts connections (the kernel's backlog does) and never answers: a hub that hangs."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture()
def hub_answers(monkeypatch):
    with answering_server() as url:
        monkeypatch.setenv("HF_ENDPOINT", url)
        yield url


@pytest.fixture()
def hub_hangs(monkeypatch):
    with silent_server() as url:
        monkeypatch.setenv("HF_ENDPOINT", url)
        yield url


def probe_leaves_nothing_behind(call):
    """Run ``call`` and check that it left no thread and no child process behind."""
    import psutil  # a dependency of accelerate and IPython

    me = psutil.Process()
    threads, children = set(threading.enumerate()), set(me.children(recursive=True))
    result = call()
    assert set(threading.enumerate()) == threads
    assert set(me.children(recursive=True)) == children
    return result


@pytest.mark.parametrize("profile", ["offline", "cpu", "gpu"])
def test_lmcourse_profile_overrides_detection(profile, monkeypatch, hub_hangs):
    monkeypatch.setenv("LMCOURSE_PROFILE", profile)
    start = time.perf_counter()
    assert runtime.detect_profile("distilbert") == (profile, "set by LMCOURSE_PROFILE")
    assert time.perf_counter() - start < 0.5  # the override does not even probe the hub


def test_unknown_lmcourse_profile_names_the_variable_and_the_allowed_names(monkeypatch):
    monkeypatch.setenv("LMCOURSE_PROFILE", "tpu")
    with pytest.raises(ValueError, match=r"^LMCOURSE_PROFILE must be one of offline, cpu, gpu \(or unset\); "
                                         r"got 'tpu'$"):
        runtime.detect_profile()


def test_detects_offline_within_the_probe_time_when_the_hub_hangs(hub_hangs):
    start = time.perf_counter()
    profile, reason = probe_leaves_nothing_behind(runtime.detect_profile)
    elapsed = time.perf_counter() - start
    assert (profile, reason) == ("offline", f"the Hugging Face hub {hub_hangs} is unreachable")
    assert runtime.PROBE_TIMEOUT_S <= elapsed < runtime.PROBE_TIMEOUT_S + 1.0, elapsed


def test_detects_offline_at_once_when_the_connection_is_refused():
    start = time.perf_counter()  # conftest points HF_ENDPOINT at a port that refuses connections
    assert probe_leaves_nothing_behind(runtime.detect_profile)[0] == "offline"
    assert time.perf_counter() - start < 1.0


def test_hf_hub_offline_means_offline_without_probing(monkeypatch, hub_hangs):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    assert runtime.detect_profile() == ("offline", "HF_HUB_OFFLINE is set")
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize("cuda, expected", [(False, "cpu"), (True, "gpu")])
def test_detects_cpu_or_gpu_when_the_hub_answers(cuda, expected, monkeypatch, hub_answers):
    monkeypatch.setattr(runtime, "cuda_available", lambda: cuda)
    assert probe_leaves_nothing_behind(lambda: runtime.detect_profile("distilbert"))[0] == expected


def test_the_probe_goes_through_the_proxy_the_environment_names(monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://hub.invalid")  # a name that never resolves
    assert not runtime.hub_reachable()
    with answering_server() as proxy:
        monkeypatch.setenv("http_proxy", proxy)
        Answer.requests.clear()
        assert runtime.hub_reachable()
        assert Answer.requests == ["http://hub.invalid"]  # the proxy was asked for the hub
        monkeypatch.setenv("no_proxy", "hub.invalid")
        assert not runtime.hub_reachable()


def test_one_probe_serves_the_set_up_and_the_loaders_after_it(hub_answers):
    Answer.requests.clear()
    assert runtime.hub_reachable() and runtime.hub_reachable() and runtime.hub_unreachable_reason() == ""
    assert len(Answer.requests) == 1


@pytest.mark.parametrize("chapter", ["introduction", "ngrams", "lstm", "transformer"])
def test_chapters_that_never_use_the_hub_do_not_wait_for_its_probe(chapter, hub_hangs):
    start = time.perf_counter()
    assert runtime.detect_profile(chapter) == ("cpu", "no GPU found; this chapter does not use the model hub")
    assert time.perf_counter() - start < 0.5


def test_a_chapter_that_never_uses_the_hub_still_honours_hf_hub_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert runtime.detect_profile("ngrams") == ("offline", "HF_HUB_OFFLINE is set")


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
    for name, chapter in runtime.CHAPTERS.items():
        assert set(chapter.profiles) == set(runtime.PROFILES), name
        for profile in runtime.PROFILES:
            line = runtime.Runtime(profile, "test", name, 0).describe()
            assert line.startswith(f"Profile: {profile} (test) - ") and "{" not in line, line


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
    with pytest.raises(ValueError, match=r"chapter must be one of introduction, ngrams, lstm, transformer, distilbert; "
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


def test_the_cpu_profile_of_chapter_4_quotes_its_measured_duration():
    """The set-up line's duration comes from a reference-results file, not from a typed guess."""
    results = runtime.reference_results("distilbert_cpu")
    assert results is not None and {"command", "data", "date", "machine", "versions", "seconds"} <= set(results)
    assert results["command"].startswith("python benchmarks/distilbert_cpu_time.py")
    assert results["summary"].startswith(f"about {round(results['seconds']['total'] / 60)} minutes measured on")
    assert f"on the CPU ({results['summary']})." in runtime.Runtime("cpu", "test", "distilbert", 0).describe()
