"""LSTM next-word models in Keras 3: the original prefix example, and a sentence model that scales.

Only ``keras.*`` is used (no ``tf.*``), so everything here runs on any Keras 3 backend; the course
runs it on TensorFlow, and a test trains a tiny model on torch. Importing this module imports
Keras (and its backend); ``import lmcourse`` alone does not.

Part 1 is the original example: every prefix of every sentence, pre-padded, one target each.
Part 3 is the model chapter 3 trains on the course corpus. How it reads text, trains, is scored
and answers the widgets is shared with chapter 4's transformer, in :mod:`lmcourse.neural`: one
row per sentence with a target at every position, and every sentence read from its own start
(the context rule of :mod:`lmcourse.scoring`, which the n-gram models follow too).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import keras
import numpy as np

from lmcourse.neural import (SPECIALS, LossPlot, TrainingConfig, WindowLanguageModel,  # noqa: F401
                             build_vocabulary)
from lmcourse.text import Vocabulary

Sentences = Iterable[Sequence[str]]

# The four sentences of the original Keras example (chapter 3, part 1).
ORIGINAL_SENTENCES = (
    "Language models are a subset of machine learning models",
    "Language models are trained to predict the next word",
    "Machine learning is a fascinating field",
    "Predict the next word using a language model",
)


# --- part 1: the original example, every prefix pre-padded ------------------------------------
def prefix_sequences(id_sentences: Iterable[Sequence[int]]) -> list[list[int]]:
    """Every prefix of two or more tokens of every sentence: the last token is the target."""
    return [list(s[:i + 1]) for s in id_sentences for i in range(1, len(s))]


def pad_prefixes(sequences: Sequence[Sequence[int]], maxlen: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pre-pad the prefixes with 0 to one length; return inputs (all but the last) and targets."""
    if not sequences:
        raise ValueError("sequences must hold at least one prefix, got none")
    maxlen = maxlen or max(map(len, sequences))
    padded = keras.utils.pad_sequences(sequences, maxlen=maxlen, padding="pre")
    return padded[:, :-1], padded[:, -1]


def prefix_model(vocab_size: int, embedding_dim: int = 10, units: int = 50,
                 learning_rate: float = 0.01) -> keras.Model:
    """The original model: Embedding(10) -> LSTM(50) -> Dense(softmax), Adam, cross-entropy."""
    model = keras.Sequential([
        keras.Input(shape=(None,), dtype="int32"),
        keras.layers.Embedding(vocab_size, embedding_dim),
        keras.layers.LSTM(units),
        keras.layers.Dense(vocab_size, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy")
    return model


def lstm_step(x, h, c, kernel, recurrent_kernel, bias):
    """One step of an LSTM cell, computed as ``keras.layers.LSTM`` computes it.

    ``x``: this step's input (batch, features); ``h``, ``c``: the hidden and cell state (batch,
    units). Keras keeps the four gates side by side in one matrix, in the order input, forget,
    candidate, output.
    """
    z = keras.ops.matmul(x, kernel) + keras.ops.matmul(h, recurrent_kernel) + bias
    i, f, g, o = keras.ops.split(z, 4, axis=-1)
    i, f, o = keras.ops.sigmoid(i), keras.ops.sigmoid(f), keras.ops.sigmoid(o)  # gates: 0 shut, 1 open
    c = f * c + i * keras.ops.tanh(g)  # the cell state: forget some of the old, write some of the new
    h = o * keras.ops.tanh(c)  # what the cell shows the next layer and the next step
    return h, c


def seed_study(x: np.ndarray, y: np.ndarray, vocab_size: int, prompt: np.ndarray, seeds: Sequence[int],
               epochs: int, batch_size: int) -> np.ndarray:
    """Train :func:`prefix_model` once per seed and return its next-word distribution after
    ``prompt`` for each: (seeds, vocab_size).

    Each seed gives the model that seed's initial weights (exactly ``prefix_model`` after
    ``keras.utils.set_random_seed(seed)``) and a fresh Adam state, then ``epochs`` passes over the
    data in batches of ``batch_size``, each pass in a new random order (a batch as large as the
    data is the whole data, as in Keras). To keep many trainings fast, one compiled model is
    reused, and the passes are laid end to end and fed to a single ``fit`` call: the same gradient
    steps as ``epochs`` separate epochs.
    """
    n = len(x)
    batch_size = min(batch_size, n)
    if n % batch_size:
        raise ValueError(f"batch_size must divide the {n} examples (or exceed them), got {batch_size}")
    model = prefix_model(vocab_size)
    out = []
    for seed in seeds:
        keras.utils.set_random_seed(int(seed))
        model.set_weights(prefix_model(vocab_size).get_weights())
        for variable in model.optimizer.variables:  # Adam's step count and moments; not its learning rate
            if not variable.path.endswith("learning_rate"):
                variable.assign(keras.ops.zeros(variable.shape, dtype=variable.dtype))
        rng = np.random.default_rng(int(seed))
        order = np.concatenate([rng.permutation(n) for _ in range(epochs)])
        model.fit(x[order], y[order], batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
        out.append(keras.ops.convert_to_numpy(model.predict_on_batch(prompt))[0])
    return np.array(out)


@dataclass(frozen=True)
class PaddingCost:
    """What the prefix layout costs on a set of sentences, against windows over the same text."""

    sentences: int
    tokens: int
    sequences: int  # one per prefix = one per target
    padded_length: int
    positions: int  # sequences x padded_length: what the LSTM steps through
    padding: int  # positions holding a 0

    @property
    def padding_share(self) -> float:
        return self.padding / self.positions

    @property
    def steps_per_target(self) -> float:
        """LSTM steps spent per word learned (a window model spends 1)."""
        return self.positions / self.sequences


def padding_cost(sentences: Sentences) -> PaddingCost:
    """Count sequences, positions and padding of the prefix layout (input = prefix minus target)."""
    lengths = np.array([len(s) for s in sentences if len(s)], dtype=np.int64)
    maxlen = int(lengths.max())
    sequences = int((lengths - 1).sum())
    width = maxlen - 1  # inputs are the padded prefixes without their target
    real = int(((lengths - 1) * lengths // 2).sum())  # prefixes of length 1..n-1
    return PaddingCost(len(lengths), int(lengths.sum()), sequences, width, sequences * width,
                       sequences * width - real)


# --- part 3: one row per sentence, a target at every position ------------------------------------
@dataclass(frozen=True)
class LSTMConfig(TrainingConfig):
    """Size and training of the sentence model (training settings in :class:`TrainingConfig`)."""

    embedding_dim: int = 64
    units: int = 128


@keras.saving.register_keras_serializable(package="lmcourse")
class NextWordLSTM(keras.Model):
    """Embedding -> LSTM (an output at every step) -> dropout -> softmax over the vocabulary.

    The vocabulary and window travel inside the model's config, so one ``.keras`` file is the
    whole model.
    """

    def __init__(self, words: Sequence[str], window: int = 32, embedding_dim: int = 64,
                 units: int = 128, dropout: float = 0.4, **kwargs):
        super().__init__(**kwargs)
        self.words, self.window = list(words), int(window)
        self.embedding_dim, self.units, self.dropout_rate = embedding_dim, units, dropout
        self.embedding = keras.layers.Embedding(len(self.words), embedding_dim)
        self.lstm = keras.layers.LSTM(units, return_sequences=True)
        self.dropout = keras.layers.Dropout(dropout)
        self.head = keras.layers.Dense(len(self.words), activation="softmax")

    def call(self, ids, training=False):
        hidden = self.lstm(self.embedding(ids), training=training)
        return self.head(self.dropout(hidden, training=training))

    def get_config(self) -> dict:
        return {"name": self.name, "words": self.words, "window": self.window,
                "embedding_dim": self.embedding_dim, "units": self.units, "dropout": self.dropout_rate}


class LSTMLanguageModel(WindowLanguageModel):
    """A trained sentence LSTM with the predictor protocol of :mod:`lmcourse.protocol`.

    ``predict(text, k)``, ``unknown_words(text)`` and ``generate(prompt, length, temperature,
    seed)`` behave like :class:`lmcourse.ngrams.NGramModel`'s, so the chapter-2 widgets work.
    """

    model_class = NextWordLSTM
    config_class = LSTMConfig
    family = "LSTM"

    def __repr__(self) -> str:
        return (f"LSTMLanguageModel(window={self.window}, units={self.model.units}, "
                f"vocabulary={len(self.vocab):,} words)")

    @classmethod
    def keras_model(cls, vocab: Vocabulary, config: LSTMConfig) -> NextWordLSTM:
        return NextWordLSTM(vocab.words, config.window, config.embedding_dim, config.units, config.dropout)


def train_lstm(train: Sentences, valid: Sentences, config: LSTMConfig = LSTMConfig(),
               callbacks: Sequence[keras.callbacks.Callback] = ()) -> LSTMLanguageModel:
    """Build the vocabulary of ``train``, then build and fit a sentence LSTM on it."""
    return LSTMLanguageModel.trained(train, valid, config, callbacks)
