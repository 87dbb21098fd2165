"""Which runtime profile a chapter runs in (offline / cpu / gpu), seeds, and quiet output.

Every notebook starts with ``rt = lmcourse.setup("ngrams")``: one call that picks the profile,
switches the libraries to offline mode when the hub is unreachable, fixes every seed, turns off
progress bars that would break nbval, and prints one line saying what the profile means here.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import logging
import os
import platform
import random
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

PROFILES = ("offline", "cpu", "gpu")
HUB_ENDPOINT = "https://huggingface.co"  # HF_ENDPOINT overrides it, as in the Hugging Face libraries
PROBE_TIMEOUT_S = 2.0
PROBE_MEMORY_S = 60.0  # one answer serves the set-up cell and the loaders after it

# What the cpu and gpu profiles of chapter 5 take from the hub (its offline profile takes nothing).
DISTILBERT_ID = "distilbert-base-uncased"
AG_NEWS_HUB_ID = "fancyzhx/ag_news"  # the bare id "ag_news" no longer resolves in datasets >= 4
AG_NEWS_FILES = {"train": "data/train-00000-of-00001.parquet", "test": "data/test-00000-of-00001.parquet"}


@dataclass(frozen=True)
class HubFile:
    """One file of a Hugging Face hub repository."""

    repo_id: str
    filename: str
    repo_type: str = "model"


@dataclass(frozen=True)
class Chapter:
    """What each profile means for one chapter (one line each), the frameworks it seeds, and the hub
    files its cpu and gpu profiles need (none: the chapter never asks the hub, so no probe)."""

    profiles: dict[str, str]
    frameworks: tuple[str, ...] = ()
    hub_files: tuple[HubFile, ...] = ()


CHAPTERS: dict[str, Chapter] = {
    "introduction": Chapter({
        "offline": "the first-taste model trains on the bundled course corpus; nothing is downloaded.",
        "cpu": "the first-taste model trains on the bundled course corpus.",
        "gpu": "the first-taste model trains on the bundled course corpus (no GPU needed here).",
    }),
    "ngrams": Chapter({
        "offline": "n-gram models train on the bundled course corpus; nothing is downloaded.",
        "cpu": "n-gram models train on the bundled corpus; larger books may be downloaded.",
        "gpu": "n-gram models train on the bundled corpus; larger books may be downloaded (no GPU needed).",
    }),
    "lstm": Chapter({
        "offline": "small LSTMs train on the bundled corpus on the CPU, in about a minute.",
        "cpu": "LSTMs train on the CPU; a larger public-domain book may be downloaded.",
        "gpu": "LSTMs train longer on more text, on the GPU.",
    }, ("tensorflow",)),
    "transformer": Chapter({
        "offline": "a small transformer trains on the bundled corpus on the CPU, in under a minute.",
        "cpu": "a small transformer trains on the CPU; a larger public-domain book may be downloaded.",
        "gpu": "a larger transformer trains longer on more text, on the GPU.",
    }, ("tensorflow",)),
    "distilbert": Chapter({
        "offline": "no hub: a local pretrained stand-in model and local or bundled headlines.",
        "cpu": "distilbert-base-uncased on a sample of AG News, on the CPU ({measured}).",
        "gpu": "distilbert-base-uncased on 5% of AG News (6,000 headlines), evaluated on all 7,600 test rows.",
    }, ("torch",), (HubFile(DISTILBERT_ID, "config.json"), HubFile(DISTILBERT_ID, "model.safetensors"),
                    *(HubFile(AG_NEWS_HUB_ID, f, "dataset") for f in AG_NEWS_FILES.values()))),
}

OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
QUIET_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "TRANSFORMERS_VERBOSITY": "error",
    "DATASETS_VERBOSITY": "error",
}


@dataclass(frozen=True)
class Runtime:
    """The profile in force for one chapter, and why it was chosen."""

    profile: str
    reason: str
    chapter: str
    seed: int

    @property
    def offline(self) -> bool:
        return self.profile == "offline"

    def choose(self, *, offline: Any, cpu: Any, gpu: Any) -> Any:
        """Pick the value for the profile in force, e.g. ``rt.choose(offline=2, cpu=5, gpu=20)``."""
        return {"offline": offline, "cpu": cpu, "gpu": gpu}[self.profile]

    def describe(self) -> str:
        line = CHAPTERS[self.chapter].profiles[self.profile]
        if "{measured}" in line:
            line = line.format(measured=measured_duration(self.chapter, self.profile))
        return f"Profile: {self.profile} ({self.reason}) - {line}"


def reference_results(name: str) -> dict | None:
    """A reference-results file from ``lmcourse/resources/reference/`` (None if absent): figures
    measured by a documented command, with that command, the data, date, machine and versions."""
    file = resources.files("lmcourse") / "resources" / "reference" / f"{name}.json"
    return json.loads(file.read_text(encoding="utf-8")) if file.is_file() else None


def cpu_name() -> str:
    """The processor's model name and whether it has AVX-512 (most laptops do not)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.machine()
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")),
                platform.machine())
    return f"{name} ({'with' if ' avx512f' in info else 'without'} AVX-512)"


def measured_duration(chapter: str, profile: str) -> str:
    """How long a chapter's profile took where it was measured, from its reference-results file."""
    results = reference_results(f"{chapter}_{profile}")
    return results["summary"] if results else "its duration is not measured yet"


def check_profile(profile: str) -> str:
    """Return ``profile`` if it names a profile, else raise a ValueError listing the allowed ones."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}; got {profile!r}")
    return profile


def env_flag(name: str) -> bool:
    """True when the environment variable ``name`` is set to 1, true, yes or on."""
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def offline_switch_on() -> bool:
    """True when the Hugging Face offline switch HF_HUB_OFFLINE is set (by go_offline() or the user)."""
    return env_flag("HF_HUB_OFFLINE")


def hub_endpoint() -> str:
    """The hub's address: ``HF_ENDPOINT`` when set (a mirror, a local server), else huggingface.co."""
    return os.environ.get("HF_ENDPOINT", "").strip().rstrip("/") or HUB_ENDPOINT


# Runs in a child process: any HTTP answer, even an error status, means the server is there.
PROBE = """import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen(urllib.request.Request(sys.argv[1], method="HEAD"), timeout=float(sys.argv[2]))
except urllib.error.HTTPError:
    pass
except Exception:
    sys.exit(1)
"""
PROXY_VARIABLES = ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY")
_probes: dict[tuple, tuple[float, bool]] = {}


def reachable(url: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """True when an HTTP request to ``url`` is answered within ``timeout`` seconds, through the
    proxies the environment names (HTTPS_PROXY, NO_PROXY, ...), as the libraries would send it.

    The request runs in a child process that is killed at the time limit: name resolution can
    hang on a machine with no network, and a thread could not be stopped. The answer is kept for a
    minute, so the set-up cell and the loaders after it probe once.
    """
    key = (url, timeout, tuple(os.environ.get(v, "") for v in PROXY_VARIABLES))
    now = time.monotonic()
    if key in _probes and now - _probes[key][0] < PROBE_MEMORY_S:
        return _probes[key][1]
    try:
        done = subprocess.run([sys.executable, "-I", "-c", PROBE, url, str(timeout)],
                              capture_output=True, timeout=timeout)
        answer = done.returncode == 0
    except (subprocess.TimeoutExpired, OSError):
        answer = False
    _probes[key] = (now, answer)
    return answer


def hub_reachable(timeout: float = PROBE_TIMEOUT_S) -> bool:
    """True when the Hugging Face hub (``hub_endpoint()``) answers within ``timeout`` seconds."""
    return reachable(hub_endpoint(), timeout)


def hub_unreachable_reason() -> str:
    """Why nothing can be downloaded from the hub now, or ``""`` when it can."""
    if offline_switch_on():
        return "HF_HUB_OFFLINE is set"
    if not hub_reachable():
        return f"the Hugging Face hub {hub_endpoint()} is unreachable"
    return ""


def hub_files_cached(files: tuple[HubFile, ...]) -> bool:
    """True when every file is in the Hugging Face cache (e.g. from an earlier online run)."""
    from huggingface_hub import try_to_load_from_cache

    return all(isinstance(try_to_load_from_cache(f.repo_id, f.filename, repo_type=f.repo_type), str)
               for f in files)


def dependency_problems(requirements: list[str], version_of) -> list[str]:
    """For each requirement (a PEP 508 string) not met by ``version_of(name)`` (None: not installed),
    the pip command that fixes it. Requirements of extras are skipped."""
    from packaging.requirements import Requirement

    problems = []
    for line in requirements:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        version = version_of(req.name)
        if version is None or not req.specifier.contains(version, prereleases=True):
            found = "is not installed" if version is None else f"{version} does not meet {req.specifier}"
            problems.append(f"{req.name} {found}: pip install '{req.name}{req.specifier}'")
    return problems


def outdated_dependencies() -> list[str]:
    """What to upgrade where the installed libraries (Colab's preinstalled ones, say) miss the
    version ranges lmcourse declares; empty when all is well."""
    from importlib import metadata

    def version_of(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    return dependency_problems(metadata.requires("lmcourse") or [], version_of)


def cuda_available() -> bool:
    """True when a CUDA device is usable; imports torch only where an NVIDIA driver exists."""
    if "torch" not in sys.modules and not Path("/proc/driver/nvidia/version").exists():
        return False
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def detect_profile(chapter: str | None = None) -> tuple[str, str]:
    """Return ``(profile, reason)`` for ``chapter`` (None: any chapter that uses the hub).

    ``LMCOURSE_PROFILE`` decides when set. Otherwise the profile is offline when the hub cannot be
    used (HF_HUB_OFFLINE, or no answer from it) unless everything the chapter needs from the hub
    is already in the Hugging Face cache; else gpu or cpu by the hardware. A chapter that never
    uses the hub is not kept waiting for a probe of it.
    """
    forced = os.environ.get("LMCOURSE_PROFILE", "").strip()
    if forced:
        if forced not in PROFILES:
            raise ValueError(f"LMCOURSE_PROFILE must be one of {', '.join(PROFILES)} (or unset); "
                             f"got {forced!r}")
        return forced, "set by LMCOURSE_PROFILE"
    hardware = ("gpu", "a CUDA GPU is available") if cuda_available() else ("cpu", "no GPU found")
    spec = CHAPTERS.get(chapter) if chapter else None
    if spec is not None and not spec.hub_files:
        if offline_switch_on():
            return "offline", "HF_HUB_OFFLINE is set"
        return hardware[0], f"{hardware[1]}; this chapter does not use the model hub"
    why = hub_unreachable_reason()
    if not why:
        return hardware
    if spec is not None and hub_files_cached(spec.hub_files):
        return hardware[0], f"{why}, but this chapter's model and data are in your Hugging Face cache"
    return "offline", why


def go_offline() -> None:
    """Set the Hugging Face libraries' own offline switches, also where they are already imported."""
    os.environ.update(OFFLINE_ENV)
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        constants.HF_HUB_OFFLINE = True
    datasets_config = sys.modules.get("datasets.config")
    if datasets_config is not None:
        datasets_config.HF_HUB_OFFLINE = True


def quiet() -> None:
    """Keep progress bars and library chatter out of notebook outputs (nbval compares them)."""
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    for name in ("tensorflow", "absl", "transformers", "datasets", "huggingface_hub", "accelerate"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if "datasets" in sys.modules:
        sys.modules["datasets"].disable_progress_bars()
    if "transformers" in sys.modules:
        sys.modules["transformers"].utils.logging.disable_progress_bar()
        sys.modules["transformers"].utils.logging.set_verbosity_error()


def seed_everything(seed: int, frameworks: tuple[str, ...] = ()) -> None:
    """Seed python and numpy, plus the named frameworks and any already imported ones.

    TensorFlow also gets deterministic ops, and torch deterministic algorithms, so two runs of a
    chapter give identical numbers.
    """
    random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    import numpy as np

    np.random.seed(seed)
    if "tensorflow" in frameworks or "tensorflow" in sys.modules:
        import tensorflow as tf

        tf.get_logger().setLevel(logging.ERROR)
        import keras

        keras.utils.set_random_seed(seed)
        tf.config.experimental.enable_op_determinism()
    if "torch" in frameworks or "torch" in sys.modules:
        import torch

        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True, warn_only=True)
        if torch.cuda.is_available():
            torch.cuda.manual_seed_all(seed)
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def setup(chapter: str, profile: str | None = None, seed: int = 0, verbose: bool = True,
          chosen_in: str = "the parameters cell") -> Runtime:
    """Set up a chapter: choose the profile, go offline if needed, seed, quiet, print one line.

    ``profile=None`` detects it (``LMCOURSE_PROFILE`` overrides detection); a notebook's
    ``parameters`` cell passes its ``PROFILE`` here so papermill can choose another, and a command
    line its option (``chosen_in`` names where the choice was made).
    """
    if chapter not in CHAPTERS:
        raise ValueError(f"chapter must be one of {', '.join(CHAPTERS)}; got {chapter!r}")
    if profile:
        profile, reason = check_profile(profile), f"chosen in {chosen_in}"
    else:
        profile, reason = detect_profile(chapter)
    if profile == "offline":
        go_offline()
    quiet()
    frameworks = CHAPTERS[chapter].frameworks
    for name in frameworks:
        with native_stderr_silenced():
            importlib.import_module(name)
    quiet()
    seed_everything(seed, frameworks)
    runtime = Runtime(profile=profile, reason=reason, chapter=chapter, seed=seed)
    if verbose:
        print(runtime.describe())
    return runtime


@contextlib.contextmanager
def native_stderr_silenced():
    """Send file descriptor 2 to /dev/null for a while: TensorFlow's C++ start-up log lines
    (timestamped, so nbval would see them change) ignore TF_CPP_MIN_LOG_LEVEL."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
