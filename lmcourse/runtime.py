"""Which runtime profile a chapter runs in (offline / cpu / gpu), seeds, and quiet output.

Every notebook starts with ``rt = lmcourse.setup("ngrams")``: one call that picks the profile,
switches the libraries to offline mode when the hub is unreachable, fixes every seed, turns off
progress bars that would break nbval, and prints one line saying what the profile means here.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import os
import random
import socket
import sys
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROFILES = ("offline", "cpu", "gpu")
HUB_HOST = "huggingface.co"
PROBE_TIMEOUT_S = 2.0

# What each profile means for each chapter, in one line; the notebook prints it at set-up.
CHAPTERS: dict[str, dict[str, str]] = {
    "introduction": {
        "offline": "the first-taste model trains on the bundled course corpus; nothing is downloaded.",
        "cpu": "the first-taste model trains on the bundled course corpus.",
        "gpu": "the first-taste model trains on the bundled course corpus (no GPU needed here).",
    },
    "ngrams": {
        "offline": "n-gram models train on the bundled course corpus; nothing is downloaded.",
        "cpu": "n-gram models train on the bundled corpus; larger books may be downloaded.",
        "gpu": "n-gram models train on the bundled corpus; larger books may be downloaded (no GPU needed).",
    },
    "lstm": {
        "offline": "small LSTMs train on the bundled corpus on the CPU, in about a minute.",
        "cpu": "LSTMs train on the CPU; a larger public-domain book may be downloaded.",
        "gpu": "LSTMs train longer on more text, on the GPU.",
    },
    "distilbert": {
        "offline": "no hub: a local pretrained stand-in model and local or bundled headlines.",
        "cpu": "distilbert-base-uncased on a small slice of AG News, on the CPU (about 10 minutes).",
        "gpu": "distilbert-base-uncased on 5% of AG News (6,000 headlines), evaluated on all 7,600 test rows.",
    },
}

# Libraries seeded by setup() when a chapter uses them.
FRAMEWORKS: dict[str, tuple[str, ...]] = {
    "introduction": (),
    "ngrams": (),
    "lstm": ("tensorflow",),
    "distilbert": ("torch",),
}

OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
QUIET_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
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
        return f"Profile: {self.profile} ({self.reason}) - {CHAPTERS[self.chapter][self.profile]}"


def check_profile(profile: str) -> str:
    """Return ``profile`` if it names a profile, else raise a ValueError listing the allowed ones."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}; got {profile!r}")
    return profile


def offline_switch_on() -> bool:
    """True when the Hugging Face offline switch HF_HUB_OFFLINE is set (by go_offline() or the user)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def hub_reachable(host: str | None = None, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """True when a TCP connection to the hub opens within ``timeout`` seconds.

    Name resolution can hang on a machine with no network, so the probe runs in a daemon thread
    and is abandoned after the timeout instead of waiting for the libraries' long retries.
    """
    result: list[bool] = []
    host = host or HUB_HOST

    def probe() -> None:
        try:
            with socket.create_connection((host, 443), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def cuda_available() -> bool:
    """True when a CUDA device is usable; imports torch only where an NVIDIA driver exists."""
    if "torch" not in sys.modules and not Path("/proc/driver/nvidia/version").exists():
        return False
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def detect_profile() -> tuple[str, str]:
    """Return ``(profile, reason)``: ``LMCOURSE_PROFILE`` if set, else offline / gpu / cpu."""
    forced = os.environ.get("LMCOURSE_PROFILE", "").strip()
    if forced:
        return check_profile(forced), "set by LMCOURSE_PROFILE"
    if offline_switch_on():
        return "offline", "HF_HUB_OFFLINE is set"
    if not hub_reachable():
        return "offline", "the model hub is unreachable"
    if cuda_available():
        return "gpu", "a CUDA GPU is available"
    return "cpu", "no GPU found"


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


def setup(chapter: str, profile: str | None = None, seed: int = 0, verbose: bool = True) -> Runtime:
    """Set up a chapter: choose the profile, go offline if needed, seed, quiet, print one line.

    ``profile=None`` detects it (``LMCOURSE_PROFILE`` overrides detection); a notebook's
    ``parameters`` cell passes its ``PROFILE`` here so papermill can choose another.
    """
    if chapter not in CHAPTERS:
        raise ValueError(f"chapter must be one of {', '.join(CHAPTERS)}; got {chapter!r}")
    if profile:
        profile, reason = check_profile(profile), "chosen in the parameters cell"
    else:
        profile, reason = detect_profile()
    if profile == "offline":
        go_offline()
    quiet()
    for name in FRAMEWORKS[chapter]:
        with native_stderr_silenced():
            importlib.import_module(name)
    quiet()
    seed_everything(seed, FRAMEWORKS[chapter])
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
