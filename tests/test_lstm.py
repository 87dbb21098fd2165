"""Tests of lmcourse.lstm: data layouts, the window model, scoring, the widget protocol, saving."""

from __future__ import annotations

import dataclasses
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import keras

import lmcourse
from lmcourse import exercises, lstm, protocol, widgets
from lmcourse.data import load_course_corpus
from lmcourse.ngrams import NGramModel
from lmcourse.text import EOS, UNK, Vocabulary

REPO = Path(__file__).resolve().parents[1]
TINY = lstm.LSTMConfig(window=8, embedding_dim=16, units=32, dropout=0.0, batch_size=16,
                       learning_rate=0.01, epochs=6)
CYCLE = "alpha beta gamma delta epsilon zeta eta theta".split()


@pytest.fixture(scope="module", autouse=True)
def lstm_chapter():
    """Set up as chapter 3 does (seeds, deterministic TensorFlow); conftest undoes its environment
    changes after this module, so importing this file changes nothing."""
    lmcourse.setup("lstm", profile="offline", verbose=False)


@pytest.fixture(scope="module")
def corpus():
    return load_course_corpus()


@pytest.fixture(scope="module")
def trained(corpus):
    """A tiny window model trained briefly on part of the course corpus."""
    keras.utils.set_random_seed(0)
    return lstm.train_lstm(corpus.train[:400], corpus.valid[:60], TINY)


# --- part 1 and 2: the prefix layout ---------------------------------------------------------------
def test_prefix_sequences_are_every_prefix_with_a_target():
    assert lstm.prefix_sequences([[5, 6, 7, 8]]) == [[5, 6], [5, 6, 7], [5, 6, 7, 8]]
    x, y = lstm.pad_prefixes(lstm.prefix_sequences([[5, 6, 7, 8], [9, 4]]))
    assert x.tolist() == [[0, 0, 5], [0, 5, 6], [5, 6, 7], [0, 0, 9]]
    assert y.tolist() == [6, 7, 8, 4]


def test_original_example_has_28_prefixes_padded_to_8():
    vectorizer = keras.layers.TextVectorization()
    vectorizer.adapt(list(lstm.ORIGINAL_SENTENCES))
    ids = [keras.ops.convert_to_numpy(vectorizer(s)).tolist() for s in lstm.ORIGINAL_SENTENCES]
    x, y = lstm.pad_prefixes(lstm.prefix_sequences(ids))
    assert x.shape == (28, 8) and y.shape == (28,)
    vocab = vectorizer.get_vocabulary()
    assert vocab[:2] == ["", "[UNK]"] and len(vocab) == 21


def test_padding_cost_counts_and_agrees_with_the_exercise():
    cost = lstm.padding_cost([["a"] * 4, ["b"] * 2])
    # inputs padded to 3: lengths 1, 2, 3 (sentence 1) and 1 (sentence 2) -> 2+1+0+2 zeros
    assert (cost.sequences, cost.padded_length, cost.positions, cost.padding) == (4, 3, 12, 5)
    assert exercises.check_padded_positions([4, 2], 5).ok
    assert not exercises.check_padded_positions([4, 2], 7).ok
    assert "No answer yet" in exercises.check_padded_positions([4, 2], ...).message


def test_prefix_layout_on_the_course_corpus_is_mostly_padding(corpus):
    cost = lstm.padding_cost(corpus.train)
    assert cost.sequences == corpus.num_tokens("train") - len(corpus.train)
    assert cost.padding_share > 0.6 and cost.steps_per_target > 20


# --- part 3: windows and the vocabulary ------------------------------------------------------------
def test_vocabulary_has_the_ngram_models_words(corpus):
    vocab = lstm.build_vocabulary(corpus.train)
    ngram = NGramModel(3, "kneser-ney").fit(corpus.train)
    assert set(vocab.words) | {"<s>"} == set(ngram.vocab.words)
    assert vocab.words[:2] == (UNK, EOS)


def test_stream_and_windows_shift_targets_by_one():
    vocab = Vocabulary.build([["a", "b"]], specials=(UNK, EOS))
    ids = lstm.stream_ids([["a", "b"], ["b", "zzz"]], vocab)
    assert [vocab.words[i] for i in ids] == [EOS, "a", "b", EOS, "b", UNK, EOS]
    x, y = lstm.windows(np.arange(10), 4)
    assert x.tolist() == [[0, 1, 2, 3], [4, 5, 6, 7]] and y.tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]]
    with pytest.raises(ValueError, match="window=4"):
        lstm.windows(np.arange(4), 4)


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="window must be an integer >= 1"):
        lstm.LSTMConfig(window=0)
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
        lstm.LSTMConfig(dropout=1.0)


# --- training, determinism, backends -------------------------------------------------------------
def test_training_again_with_the_same_seed_gives_identical_losses(trained, corpus):
    keras.utils.set_random_seed(0)
    again = lstm.train_lstm(corpus.train[:400], corpus.valid[:60], TINY)
    assert again.history == trained.history
    assert again.predict("the weather is", 3) == trained.predict("the weather is", 3)


def test_tiny_model_learns_and_beats_the_unigram_model(trained, corpus):
    hist = trained.history
    assert hist["loss"][-1] < hist["loss"][0] and hist["val_loss"][-1] < hist["val_loss"][0]
    unigram = NGramModel(1, "laplace").fit(corpus.train[:400]).perplexity(corpus.test)
    assert trained.perplexity(corpus.test) < unigram


TORCH_SCRIPT = textwrap.dedent("""
    import keras
    from lmcourse import lstm
    from lmcourse.text import Vocabulary
    assert keras.backend.backend() == "torch", keras.backend.backend()
    keras.utils.set_random_seed(0)
    cycle = {cycle!r}
    sentences = [cycle] * 40
    config = lstm.LSTMConfig(window=6, embedding_dim=8, units=16, dropout=0.0, batch_size=8,
                             learning_rate=0.03, epochs=12, patience=12, unk_share=0.0)
    model = lstm.train_lstm(sentences, sentences[:4], config)
    word, p = model.predict("alpha beta gamma", 1)[0]
    print(word, round(p, 3), type(model.model.head.kernel.value).__module__)
""")


def test_learns_a_predictable_sequence_on_the_torch_backend():
    env = {**os.environ, "KERAS_BACKEND": "torch", "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", TORCH_SCRIPT.format(cycle=CYCLE)], env=env,
                            capture_output=True, text=True, timeout=80, cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    word, p, tensor_module = result.stdout.split()[-3:]
    assert word == "delta" and float(p) > 0.9
    assert tensor_module.startswith("torch")


# --- part 4: scoring the same tokens as chapter 2 --------------------------------------------------
def test_scores_every_word_of_every_test_sentence(trained, corpus):
    logprobs = trained.token_logprobs(corpus.test)
    assert len(logprobs) == corpus.num_tokens("test")
    assert np.all(logprobs < 0)
    assert math.isclose(trained.perplexity(corpus.test), math.exp(-logprobs.mean()), rel_tol=1e-9)
    assert trained.perplexity(corpus.test) < len(trained.vocab)  # better than guessing uniformly


def next_token_probabilities(model: lstm.NextWordLSTM, ids) -> np.ndarray:
    """The model's layers called one by one on each row of ``ids``: an independent reference for the
    compiled scorer that LSTMLanguageModel uses."""
    hidden = model.lstm(model.embedding(keras.ops.convert_to_tensor(ids, dtype="int32")))
    return keras.ops.convert_to_numpy(model.head(hidden[:, -1, :]))


def test_each_word_is_predicted_from_the_window_before_it(trained, corpus):
    sentences = corpus.test[:5]
    logprobs = trained.token_logprobs(sentences)
    ids = lstm.stream_ids(sentences, trained.vocab)
    targets = np.flatnonzero(ids != trained.vocab.ids([EOS])[0])
    for k in (0, 3, len(targets) - 1):  # at the stream start, early, and far into the stream
        p = targets[k]
        context = ids[max(0, p - trained.window):p]
        direct = next_token_probabilities(trained.model, context[None, :])[0][ids[p]]
        assert logprobs[k] == pytest.approx(np.log(direct), abs=1e-4)


# --- part 5: the predictor protocol, bad input, saving -------------------------------------------
def test_predict_and_generate_follow_the_widget_protocol(trained):
    items = trained.predict("The weather is", 5)
    assert len(items) == 5 and all(UNK != w for w, _ in items)
    assert [p for _, p in items] == sorted((p for _, p in items), reverse=True)
    assert 0 < sum(p for _, p in items) <= 1
    words = trained.generate("The weather", length=12, temperature=0.8, seed=3)
    assert len(words) == 12 and UNK not in words and EOS not in words
    assert words == trained.generate("The weather", length=12, temperature=0.8, seed=3)
    assert trained.generate("The weather", length=0) == []
    assert isinstance(trained, protocol.Predictor) and isinstance(trained, protocol.Generator)


def test_low_temperature_samples_the_most_likely_word(trained):
    top = trained.predict("The weather is", 1)[0][0]
    assert trained.generate("The weather is", length=1, temperature=0.01, seed=1) == [top] or top == EOS


def test_a_prompt_longer_than_the_window_is_read_through_its_last_window(trained):
    words = "the weather is cold and the wind blows over the hills today".split()
    assert len(words) > trained.window
    assert trained.predict(" ".join(words), 5) == trained.predict(" ".join(words[-trained.window:]), 5)
    explorer = widgets.Explorer(trained, text=" ".join(words))  # clicking on and on keeps working
    for _ in range(3):
        explorer.words.children[0].click()
    assert explorer.bars.value == widgets.bars_html(trained.predict(explorer.text.value, explorer.k))


def test_an_empty_prompt_is_the_start_of_a_sentence(trained):
    start = next_token_probabilities(trained.model, np.array([trained.vocab.ids([EOS])], dtype=np.int32))[0]
    top = [trained.vocab.words[i] for i in np.argsort(-start, kind="stable") if trained.vocab.words[i] != UNK][:3]
    assert [w for w, _ in trained.predict("", 3)] == top == [w for w, _ in trained.predict("   ", 3)]
    assert len(trained.generate("", length=4, seed=0)) == 4


def test_widgets_show_messages_instead_of_tracebacks(trained):
    assert widgets.explore(trained, "").message == widgets.SENTENCE_START_NOTE
    assert "cannot read" in widgets.explore(trained, "🙂").message
    shown = widgets.explore(trained, "the zorblax is")
    assert "'zorblax'" in shown.message and len(shown.items) == 5
    assert trained.unknown_words("The zorblax is zorblax") == ["zorblax"]
    assert "temperature must be" in widgets.generate_text(trained, "The weather", 5, 0).message
    assert "length must be" in widgets.generate_text(trained, "The weather", -1, 1.0).message
    assert widgets.generate_text(trained, "The weather", 4, 1.0, seed=0).message.startswith("The weather ")
    widgets.Explorer(trained, text="The weather is")
    widgets.TextGenerator(trained, prompt="The weather")


def test_save_and_reload_gives_identical_predictions(trained, corpus, tmp_path):
    path = trained.save(tmp_path / "tiny.keras")
    again = lstm.LSTMLanguageModel.load(path)
    assert again.vocab == trained.vocab and again.window == trained.window
    assert again.predict("The weather is", 5) == trained.predict("The weather is", 5)
    np.testing.assert_array_equal(again.token_logprobs(corpus.test[:20]), trained.token_logprobs(corpus.test[:20]))
    with pytest.raises(ValueError, match="must end in .keras"):
        trained.save(tmp_path / "tiny.h5")


def test_loss_plot_callback_is_silent_outside_jupyter():
    plot = lstm.LossPlot()
    plot.on_epoch_end(0, {"loss": 2.0, "val_loss": 2.5})
    plot.on_epoch_end(1, {"loss": 1.5, "val_loss": 2.2})
    assert plot.losses == [2.0, 1.5] and plot.val_losses == [2.5, 2.2] and plot.handle is None


# --- exercises ---------------------------------------------------------------------------------
def test_exercise_checks_compute_their_answers():
    losses = [1.0, 2.0, 3.0]
    assert exercises.check_perplexity_from_losses(losses, math.exp(2.0)).ok
    assert "too high" in exercises.check_perplexity_from_losses(losses, 10 ** 2).message
    probs = [0.5, 0.3, 0.2]
    assert exercises.check_greedy_temperature(probs, 0.1).ok
    assert not exercises.check_greedy_temperature(probs, 1.0).ok
    assert "must be > 0" in exercises.check_greedy_temperature(probs, 0).message


def test_data_size_curve_on_a_book(shared_corpora):
    from lmcourse.data import load_book_corpus

    book = load_book_corpus("pride_and_prejudice", download=False)
    book = dataclasses.replace(book, valid=book.valid[:40], test=book.test[:40])
    small = lstm.LSTMConfig(window=8, embedding_dim=8, units=16, epochs=1)
    rows = lstm.data_size_curve(book, (0.01, 0.02), small)
    assert [r["train tokens"] for r in rows] == sorted(r["train tokens"] for r in rows)
    assert all(r["LSTM (window 8)"].perplexity > 1 and r["trigram (Kneser-Ney)"].known > 1 for r in rows)
