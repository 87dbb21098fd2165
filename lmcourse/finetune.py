"""Command line for chapter 4: the notebook's fine-tuning pipeline, writing a model and metrics.

    python -m lmcourse.finetune --profile gpu --output-dir runs/gpu
    accelerate launch -m lmcourse.finetune --profile gpu --output-dir runs/gpu   # several GPUs

Writes DIR/model/ (model.safetensors, config.json with the label names, the tokenizer) and
DIR/metrics.json (accuracy, macro-F1, test rows, profile, model and data used). Exit codes:
0 done, 2 bad arguments (e.g. an unknown profile), 3 data or model unavailable or malformed.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from lmcourse.runtime import PROFILES


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="lmcourse-finetune",
        description="Fine-tune a transformer on AG News topics (chapter 4 of lmcourse).")
    parser.add_argument("--profile", choices=PROFILES, default=None,
                        help="offline, cpu or gpu (default: detect, like the notebooks)")
    parser.add_argument("--output-dir", required=True, type=Path, help="where model/ and metrics.json go")
    parser.add_argument("--model", default=None,
                        help="hub id or local model folder instead of the profile's model")
    parser.add_argument("--epochs", type=float, default=None, help="override the profile's epochs")
    parser.add_argument("--max-train-rows", type=int, default=None,
                        help="use only the first N training rows (a quick wiring check)")
    parser.add_argument("--max-test-rows", type=int, default=None,
                        help="evaluate on the first N test rows only (a quick wiring check)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-progress", action="store_true", help="hide the training progress bar")
    args = parser.parse_args(argv)
    for name in ("epochs", "max_train_rows", "max_test_rows"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            parser.error(f"--{name.replace('_', '-')} must be > 0, got {value}")
    return args


def trimmed(data, train_rows: int | None, test_rows: int | None):
    """``data`` with at most the first ``train_rows`` / ``test_rows`` rows."""
    from lmcourse.data import LabelledTexts, TopicData

    cut = lambda part, n: part if n is None else LabelledTexts(part.texts[:n], part.labels[:n])  # noqa: E731
    return TopicData(data.name, data.source, cut(data.train, train_rows), cut(data.test, test_rows),
                     data.label_names)


def run(args: argparse.Namespace) -> dict:
    """Set up, load data and model, fine-tune, evaluate, save; returns the metrics record."""
    import lmcourse
    from lmcourse import classifier as clf

    rt = lmcourse.setup("distilbert", profile=args.profile, seed=args.seed)
    data = trimmed(clf.load_topic_data(rt.profile), args.max_train_rows, args.max_test_rows)
    print(f"Data: {data.summary()}", flush=True)
    model = clf.load_classifier(rt.profile, data, model=args.model, seed=args.seed)
    print(f"Model: {model.describe()}", flush=True)
    config = replace(clf.training_config(rt.profile, model), seed=args.seed)
    if args.epochs is not None:
        config = replace(config, epochs=args.epochs)
    result = clf.train(model, data, config, args.output_dir, progress=not args.no_progress)
    trainer = result.trainer
    # Trainer.predict shares the test rows out over all processes under `accelerate launch`.
    prediction = trainer.predict(clf.EncodedTexts(model, data.test, pad_to_max=not config.dynamic_padding))
    evaluation = clf.scores(prediction.label_ids, prediction.predictions.argmax(-1),
                            num_labels=len(model.label_names))
    record = clf.metrics_record(evaluation, rt.profile, model, data, config, result.seconds)
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
    except ValueError as err:  # e.g. LMCOURSE_PROFILE names no profile
        print(f"lmcourse-finetune: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
