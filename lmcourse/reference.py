"""Regenerate the files the chapters read instead of training everything on the spot.

    python -m lmcourse.reference lstm-model   # the LSTM that chapter 4 loads (about 30 s)
    python -m lmcourse.reference data-size    # perplexity against training words (about 15 min)

``lstm-model`` trains chapter 3's LSTM exactly as chapter 3's offline profile does (the course
corpus, ``LSTMConfig(epochs=12)``, seed 0) and writes it, with a record of how it was made, to
``lmcourse/resources/models/``. Chapter 4 loads it so that it can put the LSTM beside the
transformer without spending its time budget on retraining.

``data-size`` trains the Kneser-Ney trigram, the LSTM and the transformer on growing shares of a
public-domain novel and scores them all on the same held-out part (the context rule of
:mod:`lmcourse.scoring`), then writes ``lmcourse/resources/reference/data_size.json`` with the
figures, the command, the data, the date, the machine and the library versions. The book is read
from ``LMCOURSE_DATA_DIR`` or ``--data`` (or downloaded from Project Gutenberg).
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


def versions() -> dict[str, str]:
    import keras
    import numpy

    out = {"python": platform.python_version(), "keras": keras.__version__, "numpy": numpy.__version__,
           "backend": keras.backend.backend()}
    if keras.backend.backend() == "tensorflow":
        import tensorflow

        out["tensorflow"] = tensorflow.__version__
    return out


def record(what: str, command: str, data: str, **figures) -> dict:
    from lmcourse import runtime

    return {"what": what, "command": command, "data": data, "date": datetime.date.today().isoformat(),
            "machine": f"{runtime.cpu_name()}, {os.cpu_count()} cores", "versions": versions(), **figures}


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lmcourse.reference",
                                     description="Regenerate the LSTM that chapter 4 loads, or the data-size "
                                                 "reference results that chapters 3 and 4 show.")
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("lstm-model", help="train chapter 3's LSTM and ship it for chapter 4")
    size = sub.add_parser("data-size", help="perplexity of each family against training words")
    size.add_argument("--book", default="pride_and_prejudice")
    size.add_argument("--data", type=Path, help="folder holding the book (sets LMCOURSE_DATA_DIR)")
    args = parser.parse_args(argv)
    if args.what == "lstm-model":
        return lstm_model()
    if args.data:
        os.environ["LMCOURSE_DATA_DIR"] = str(args.data)
    return data_size(args.book, FRACTIONS)


if __name__ == "__main__":
    sys.exit(main())
