"""The files the chapters read instead of training on the spot (lmcourse.reference): the shipped
LSTM and the data-size reference results. Each says how it was made; the cheapest figures are
recomputed here where the data is present."""

from __future__ import annotations

import dataclasses

import pytest

import lmcourse
from lmcourse import reference
from lmcourse.data import load_course_corpus
from lmcourse.runtime import reference_results

RECORD_KEYS = {"what", "command", "data", "date", "machine", "versions"}


@pytest.fixture(scope="module", autouse=True)
def keras_chapter():
    lmcourse.setup("transformer", profile="offline", verbose=False)


def test_the_shipped_lstm_is_chapter_3s_model_on_the_course_vocabulary():
    from lmcourse import lstm, scoring

    record = reference.shipped_lstm_record()
    assert RECORD_KEYS <= set(record) and record["command"] == "python -m lmcourse.reference lstm-model"
    assert record["config"] == vars(lstm.LSTMConfig(epochs=12))
    model = reference.load_shipped_lstm()
    corpus = load_course_corpus()
    assert model.vocab == lstm.build_vocabulary(corpus.train)
    assert (model.window, model.model.units, model.model.embedding_dim) == (32, 128, 64)
    s = scoring.compare(corpus.train, corpus.test, {"LSTM": model}, baselines={})["LSTM"]
    # the same weights on another processor: only rounding differs
    assert s.perplexity == pytest.approx(record["test"]["all words"], rel=1e-3)
    assert s.known == pytest.approx(record["test"]["known words"], rel=1e-3)


def test_the_data_size_results_say_how_they_were_made():
    ref = reference_results("data_size")
    assert RECORD_KEYS <= set(ref)
    assert ref["command"].startswith("python -m lmcourse.reference data-size")
    assert {"keras", "python", "numpy"} <= set(ref["versions"])
    words = [row["train words"] for row in ref["rows"]]
    assert words == sorted(words) and len(words) == len(ref["fractions"]) >= 3
    for row in ref["rows"]:
        for name in ("trigram (Kneser-Ney)", "LSTM", "transformer"):
            assert set(row[name]) == {"all words", "known words"}
            assert all(1 < value < 10_000 for value in row[name].values())


def test_the_cheapest_data_size_point_is_reproduced(shared_corpora):
    """The first fraction again, as the command trains it: the trigram exactly (counting is
    deterministic), the LSTM and the transformer within ±5% (training differs slightly between
    processors and library versions)."""
    import keras

    from lmcourse import lstm, scoring, transformer
    from lmcourse.data import load_book_corpus

    ref = reference_results("data_size")
    book = load_book_corpus("pride_and_prejudice", download=False)
    first = ref["rows"][0]

    def seeded(train):
        def run(t, v):
            keras.utils.set_random_seed(0)
            return train(t, v)
        return run

    rows = scoring.data_size_curve(dataclasses.replace(book), ref["fractions"][:1], {
        "LSTM": seeded(lambda t, v: lstm.train_lstm(t, v, lstm.LSTMConfig())),
        "transformer": seeded(lambda t, v: transformer.train_transformer(t, v, transformer.TransformerConfig()))})
    row = rows[0]
    assert row["train tokens"] == first["train words"]
    assert round(row["trigram (Kneser-Ney)"].perplexity, 2) == first["trigram (Kneser-Ney)"]["all words"]
    for name in ("LSTM", "transformer"):
        assert row[name].perplexity == pytest.approx(first[name]["all words"], rel=0.05), name
        assert row[name].known == pytest.approx(first[name]["known words"], rel=0.05), name


def test_the_command_line_refuses_an_unknown_task(capsys):
    with pytest.raises(SystemExit) as exit_info:
        reference.main(["everything"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
