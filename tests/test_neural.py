"""What the LSTM (chapter 3) and the transformer (chapter 4) share, tested for both: the sentence
layout, training, the context rule when scoring, the widget protocol, saving, other backends."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

import lmcourse
from lmcourse import lstm, neural, protocol, scoring, transformer, widgets
from lmcourse.data import load_course_corpus
from lmcourse.ngrams import NGramModel
from lmcourse.text import EOS, UNK, Vocabulary

REPO = Path(__file__).resolve().parents[1]
CYCLE = "alpha beta gamma delta epsilon zeta eta theta".split()
TINY = {
    "lstm": (lstm.train_lstm, lstm.LSTMConfig(window=8, embedding_dim=16, units=32, dropout=0.0,
                                              batch_size=16, learning_rate=0.01, epochs=6)),
    "transformer": (transformer.train_transformer,
                    transformer.TransformerConfig(window=8, model_dim=16, heads=2, layers=1, mlp_dim=32,
                                                  dropout=0.0, batch_size=16, learning_rate=0.01, epochs=6)),
}


@pytest.fixture(scope="module", autouse=True)
def neural_chapter():
    """Set up as chapters 3 and 4 do (seeds, deterministic TensorFlow); conftest undoes the
    environment changes after this module."""
    lmcourse.setup("lstm", profile="offline", verbose=False)


@pytest.fixture(scope="module")
def corpus():
    return load_course_corpus()


@pytest.fixture(scope="module", params=list(TINY))
def trained(request, corpus):
    """A tiny model of each family, trained briefly on part of the course corpus."""
    train, config = TINY[request.param]
    keras.utils.set_random_seed(0)
    return train(corpus.train[:400], corpus.valid[:60], config)


# --- the sentence layout ---------------------------------------------------------------------------
def test_one_row_per_sentence_with_a_target_at_every_position():
    vocab = Vocabulary.build([["a", "b", "c"]], specials=(UNK, EOS))
    rows = neural.sentence_rows([["a", "b"], ["c", "zzz", "a", "b"]], vocab, window=4)
    w = vocab.words
    assert [[w[i] for i in r] for r in rows.x] == [[EOS, "a", "b", EOS], [EOS, "c", UNK, "a"], ["b", EOS, EOS, EOS]]
    assert [[w[i] for i in r] for r in rows.y] == [["a", "b", EOS, EOS], ["c", UNK, "a", "b"], [EOS, EOS, EOS, EOS]]
    assert rows.weights.tolist() == [[1, 1, 1, 0], [1, 1, 1, 1], [1, 0, 0, 0]]
    assert rows.tokens == 2 + 1 + 4 + 1  # every word and every end symbol, once


def test_hiding_singletons_shows_some_rare_words_as_unk():
    sentences = [["common", "rare%d" % i, "common"] for i in range(200)]
    vocab = neural.build_vocabulary(sentences)
    rows = neural.sentence_rows(sentences, vocab, window=8, unk_share=0.5, seed=0)
    unk, common = vocab.ids([UNK, "common"])
    hidden = (rows.y == unk).sum()
    assert 60 < hidden < 140  # about half of the 200 words seen once
    assert (rows.y == common).sum() == 400  # words seen more than once are never hidden


def test_scoring_rows_read_each_word_from_its_own_sentence():
    vocab = Vocabulary.build([["a", "b", "c"]], specials=(UNK, EOS))
    rows, row_index, position, target = neural.scoring_rows([["a", "b", "c", "a"], ["b"]], vocab, window=3)
    w = vocab.words
    contexts = [[w[i] for i in rows[r][:p + 1]] for r, p in zip(row_index, position)]
    assert contexts == [[EOS], [EOS, "a"], [EOS, "a", "b"], ["a", "b", "c"], [EOS]]
    assert [w[t] for t in target] == ["a", "b", "c", "a", "b"]


# --- training, determinism ------------------------------------------------------------------------
def test_training_again_with_the_same_seed_gives_identical_losses(trained, corpus):
    train, config = TINY[trained.family.lower()]
    keras.utils.set_random_seed(0)
    again = train(corpus.train[:400], corpus.valid[:60], config)
    assert again.history == trained.history
    assert again.predict("the weather is", 3) == trained.predict("the weather is", 3)


def test_tiny_model_learns_and_beats_the_unigram_model(trained, corpus):
    hist = trained.history
    assert hist["loss"][-1] < hist["loss"][0] and hist["val_loss"][-1] < hist["val_loss"][0]
    unigram = NGramModel(1, "laplace").fit(corpus.train[:400]).perplexity(corpus.test)
    assert trained.perplexity(corpus.test) < unigram


def test_validation_loss_is_the_mean_loss_of_the_real_targets(trained, corpus):
    """Padding has weight 0 and the loss is averaged over real targets only, so Keras's loss is
    the mean negative log-probability that perplexity is made of."""
    rows = neural.sentence_rows(corpus.valid[:60], trained.vocab, trained.window)
    probs = trained.probabilities(rows.x)
    nll = -np.log(np.take_along_axis(probs, rows.y[..., None], -1)[..., 0])
    expected = float((nll * rows.weights).sum() / rows.weights.sum())
    got = trained.model.evaluate(rows.x, rows.y, sample_weight=rows.weights, batch_size=len(rows.x), verbose=0)
    assert got == pytest.approx(expected, rel=1e-4)


TORCH_SCRIPT = textwrap.dedent("""
    import keras
    from lmcourse import lstm, transformer
    assert keras.backend.backend() == "torch", keras.backend.backend()
    keras.utils.set_random_seed(0)
    cycle = {cycle!r}
    sentences = [cycle] * 40
    common = dict(window=6, dropout=0.0, batch_size=8, epochs=12, patience=12, unk_share=0.0)
    for model in (
        lstm.train_lstm(sentences, sentences[:4], lstm.LSTMConfig(embedding_dim=8, units=16,
                                                                  learning_rate=0.03, **common)),
        transformer.train_transformer(sentences, sentences[:4], transformer.TransformerConfig(
            model_dim=16, heads=2, layers=1, mlp_dim=32, learning_rate=0.01, **common)),
    ):
        word, p = model.predict("alpha beta gamma", 1)[0]
        weight = model.model.trainable_weights[0].value
        print(model.family, word, round(p, 3), type(weight).__module__)
""")


def test_both_learn_a_predictable_sequence_on_the_torch_backend():
    env = {**os.environ, "KERAS_BACKEND": "torch", "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", TORCH_SCRIPT.format(cycle=CYCLE)], env=env,
                            capture_output=True, text=True, timeout=120, cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line.split() for line in result.stdout.splitlines()[-2:]]
    assert [line[0] for line in lines] == ["LSTM", "transformer"]
    for family, word, p, tensor_module in lines:
        assert word == "delta" and float(p) > 0.9, (family, word, p)
        assert tensor_module.startswith("torch")


# --- scoring: the same words, the same context rule as the n-grams ------------------------------------
def test_scores_every_word_of_every_test_sentence(trained, corpus):
    logprobs = trained.token_logprobs(corpus.test)
    assert len(logprobs) == corpus.num_tokens("test")
    assert np.all(logprobs < 0)
    assert math.isclose(trained.perplexity(corpus.test), math.exp(-logprobs.mean()), rel_tol=1e-9)
    assert trained.perplexity(corpus.test) < len(trained.vocab)  # better than guessing uniformly


def probabilities_after(model, context_ids) -> np.ndarray:
    """The Keras model called on exactly ``context_ids`` (no padding): the reference for scoring."""
    out = model.model(np.asarray([context_ids], dtype=np.int32))
    return keras.ops.convert_to_numpy(out)[0, -1]


def test_each_word_is_predicted_from_its_own_sentence_only(trained, corpus):
    long = next(s for s in corpus.train if len(s) > trained.window + 2)
    sentences = [corpus.test[0], long, corpus.test[1]]
    logprobs = trained.token_logprobs(sentences)
    eos = trained.vocab.ids([EOS])[0]
    offsets = np.cumsum([0] + [len(s) for s in sentences])
    for s, sentence in enumerate(sentences):
        ids = [eos, *trained.vocab.ids(sentence)]
        for i in (0, 2, len(sentence) - 1):  # the first word, an early one, the last one
            p = i + 1
            context = ids[max(0, p - trained.window):p]
            direct = probabilities_after(trained, context)[ids[p]]
            assert logprobs[offsets[s] + i] == pytest.approx(np.log(direct), abs=1e-4)
    alone = trained.token_logprobs(sentences[2:])  # the sentence before changes nothing
    np.testing.assert_allclose(alone, logprobs[offsets[2]:], atol=1e-5)


def test_compare_scores_every_family_on_the_same_words(trained, corpus):
    scores = scoring.compare(corpus.train[:400], corpus.test, {trained.name: trained})
    assert list(scores) == [*scoring.NGRAM_BASELINES, trained.name]
    trigram = NGramModel(3, "kneser-ney").fit(corpus.train[:400])
    assert scores["trigram (Kneser-Ney)"].perplexity == pytest.approx(trigram.perplexity(corpus.test), rel=1e-9)
    assert scores[trained.name].perplexity == pytest.approx(trained.perplexity(corpus.test), rel=1e-9)
    shares = {s.unknown_share for s in scores.values()}
    assert len(shares) == 1 and 0 < shares.pop() < 0.5
    assert trained.name in scoring.table(scores)


# --- the predictor protocol, bad input, saving -----------------------------------------------------
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


def test_the_explorer_reads_what_the_model_computes(trained):
    ids = trained.encode_prompt("The weather is")
    direct = probabilities_after(trained, ids)
    np.testing.assert_allclose(trained.distribution(ids), direct, atol=1e-5)


def test_top_k_sampling_only_draws_the_k_likeliest_words(trained):
    allowed = {w for w, _ in trained.predict("The weather is", 3)}
    firsts = {trained.generate("The weather is", length=1, temperature=2.0, seed=s, top_k=3)[0] for s in range(30)}
    assert firsts <= allowed | {EOS}
    with pytest.raises(ValueError, match="k must be"):
        trained.generate("The weather", length=2, top_k=0)


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
    start = probabilities_after(trained, trained.vocab.ids([EOS]))
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
    again = type(trained).load(path)
    assert again.vocab == trained.vocab and again.window == trained.window
    assert again.predict("The weather is", 5) == trained.predict("The weather is", 5)
    np.testing.assert_array_equal(again.token_logprobs(corpus.test[:20]), trained.token_logprobs(corpus.test[:20]))
    with pytest.raises(ValueError, match="must end in .keras"):
        trained.save(tmp_path / "tiny.h5")
    other = lstm.LSTMLanguageModel if isinstance(trained, transformer.TransformerLanguageModel) \
        else transformer.TransformerLanguageModel
    with pytest.raises(ValueError, match="not a"):
        other.load(path)


def test_config_rejects_bad_values():
    for config in (lstm.LSTMConfig, transformer.TransformerConfig):
        with pytest.raises(ValueError, match="window must be an integer >= 1"):
            config(window=0)
        with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
            config(dropout=1.0)
    with pytest.raises(ValueError, match="multiple of heads"):
        transformer.TransformerConfig(model_dim=30, heads=4)


def test_loss_plot_callback_is_silent_outside_jupyter():
    plot = neural.LossPlot()
    plot.on_epoch_end(0, {"loss": 2.0, "val_loss": 2.5})
    plot.on_epoch_end(1, {"loss": 1.5, "val_loss": 2.2})
    assert plot.losses == [2.0, 1.5] and plot.val_losses == [2.5, 2.2] and plot.handle is None


def test_data_size_curve_on_a_book(shared_corpora):
    import dataclasses

    from lmcourse.data import load_book_corpus

    book = load_book_corpus("pride_and_prejudice", download=False)
    book = dataclasses.replace(book, valid=book.valid[:40], test=book.test[:40])
    small = lstm.LSTMConfig(window=8, embedding_dim=8, units=16, epochs=1)
    rows = scoring.data_size_curve(book, (0.01, 0.02), {"LSTM": lambda t, v: lstm.train_lstm(t, v, small)})
    assert [r["train tokens"] for r in rows] == sorted(r["train tokens"] for r in rows)
    assert all(r["LSTM"].perplexity > 1 and r["trigram (Kneser-Ney)"].known > 1 for r in rows)
