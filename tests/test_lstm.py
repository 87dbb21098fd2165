"""Tests of lmcourse.lstm: the original prefix layout, the vocabulary, the config, the exercises.

What the LSTM shares with the transformer (training, scoring, the widget protocol, saving, other
backends) is tested for both in test_neural.py."""

from __future__ import annotations

import math

import pytest

import keras

import lmcourse
from lmcourse import exercises, lstm
from lmcourse.data import load_course_corpus
from lmcourse.ngrams import NGramModel
from lmcourse.text import EOS, UNK


@pytest.fixture(scope="module", autouse=True)
def lstm_chapter():
    """Set up as chapter 3 does (seeds, deterministic TensorFlow); conftest undoes its environment
    changes after this module, so importing this file changes nothing."""
    lmcourse.setup("lstm", profile="offline", verbose=False)


@pytest.fixture(scope="module")
def corpus():
    return load_course_corpus()


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


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="window must be an integer >= 1"):
        lstm.LSTMConfig(window=0)
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
        lstm.LSTMConfig(dropout=1.0)


# --- exercises ---------------------------------------------------------------------------------
def test_exercise_checks_compute_their_answers():
    losses = [1.0, 2.0, 3.0]
    assert exercises.check_perplexity_from_losses(losses, math.exp(2.0)).ok
    assert "too high" in exercises.check_perplexity_from_losses(losses, 10 ** 2).message
    probs = [0.5, 0.3, 0.2]
    assert exercises.check_greedy_temperature(probs, 0.1).ok
    assert not exercises.check_greedy_temperature(probs, 1.0).ok
    assert "must be > 0" in exercises.check_greedy_temperature(probs, 0).message
