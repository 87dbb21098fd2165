"""Command line for chapter 5: the notebook's fine-tuning pipeline, writing a model and metrics.

    python -m lmcourse.finetune --profile gpu --output-dir runs/gpu
    accelerate launch -m lmcourse.finetune --profile gpu --output-dir runs/gpu   # several GPUs

Writes DIR/model/ (model.safetensors, config.json with the label names, the tokenizer) and
DIR/metrics.json (accuracy, macro-F1, test rows, profile, model and data used, device and
precision). Exit codes: 0 done; 2 a usage error (a bad argument, or a bad LMCOURSE_PROFILE); 3 the
data or the model is unavailable or malformed; 1 anything else, with its traceback (a bug to report).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import replace
from pathlib import Path

from lmcourse.runtime import PROFILES


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="lmcourse-finetune",
        description="Fine-tune a transformer on AG News topics (chapter 5 of lmcourse).")
    parser.add_argument("--profile", choices=PROFILES, default=None,
                        help="offline, cpu or gpu (default: detect, like the notebooks)")
    parser.add_argument("--output-dir", required=True, type=Path, help="where model/ and metrics.json go")
    parser.add_argument("--model", default=None,
                        help="hub id or local model folder instead of the profile's model")
    parser.add_argument("--epochs", type=float, default=None, help="override the profile's epochs")
    parser.add_argument("--max-train-rows", type=int, default=None,
                        help="train on a seeded stratified sample of N rows instead of the profile's size")
    parser.add_argument("--max-test-rows", type=int, default=None,
                        help="evaluate on a seeded stratified sample of N test rows instead of the profile's")
    parser.add_argument("--all-training-rows", action="store_true",
                        help="train the final model on the training and validation rows together (choose "
                             "settings first, with the validation split in place)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-progress", action="store_true", help="hide the training progress bar")
    args = parser.parse_args(argv)
    for name in ("epochs", "max_train_rows", "max_test_rows"):
        value = getattr(args, name)
        if value is not None and not (math.isfinite(value) and value > 0):
            parser.error(f"--{name.replace('_', '-')} must be a number > 0, got {value}")
    forced = os.environ.get("LMCOURSE_PROFILE", "").strip()
    if args.profile is None and forced and forced not in PROFILES:
        parser.error(f"the environment variable LMCOURSE_PROFILE must be one of {', '.join(PROFILES)} "
                     f"(or unset), got {forced!r}")
    return args


def run(args: argparse.Namespace) -> dict:
    """Set up, load data and model, fine-tune, evaluate, save; returns the metrics record."""
    import lmcourse
    from lmcourse import classifier as clf

    rt = lmcourse.setup("distilbert", profile=args.profile, seed=args.seed, chosen_in="--profile")
    data = clf.load_topic_data(rt.profile, args.max_train_rows, args.max_test_rows, seed=args.seed)
    if args.all_training_rows:
        data = data.all_training_rows()
    print(f"Data: {data.summary()}", flush=True)
    model = clf.load_classifier(rt.profile, data, model=args.model, seed=args.seed)
    print(f"Model: {model.describe()}", flush=True)
    config = replace(clf.training_config(rt.profile, model), seed=args.seed)
    if args.epochs is not None:
        config = replace(config, epochs=args.epochs)
    result = clf.train(model, data, config, args.output_dir, progress=not args.no_progress)
    for epoch in result.epochs:  # scored on the validation split, never on the test rows
        print(f"Epoch {epoch['epoch']:g}: validation accuracy {epoch['validation accuracy']:.1%}, "
              f"mean confidence {epoch['mean confidence']:.1%}", flush=True)
    trainer = result.trainer
    # Trainer.predict shares the test rows out over all processes under `accelerate launch`.
    prediction = trainer.predict(clf.EncodedTexts(model, data.test, pad_to_max=not config.dynamic_padding))
    evaluation = clf.scores(prediction.label_ids, prediction.predictions.argmax(-1),
                            num_labels=len(model.label_names))
    record = {**clf.metrics_record(evaluation, rt.profile, model, data, config, result.seconds),
              "validation": result.epochs}
    trainer.save_model(str(args.output_dir / "model"))  # safetensors, on the main process only
    if trainer.is_world_process_zero():
        # The Trainer also pickles its arguments there; the course ships safetensors and JSON only.
        (args.output_dir / "model" / "training_args.bin").unlink(missing_ok=True)
        (args.output_dir / "metrics.json").write_text(json.dumps(record, indent=2) + "\n")
        print(f"Accuracy {record['accuracy']:.1%}, macro-F1 {record['macro_f1']:.3f} on "
              f"{record['test_rows']:,} test rows; training {result.seconds:.0f} s. "
              f"Wrote {args.output_dir / 'model'} and {args.output_dir / 'metrics.json'}")
    return record


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)  # exits with code 2 and a usage message on bad arguments
    from lmcourse.classifier import ModelUnavailableError
    from lmcourse.data import DataFormatError, DataUnavailableError

    try:
        run(args)
    except (DataUnavailableError, DataFormatError, ModelUnavailableError) as err:
        print(f"lmcourse-finetune: error: {err}", file=sys.stderr)
        return 3
    # Anything else is a bug, not the user's mistake: Python prints its traceback and exits with 1.
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
