"""What the course's two neural language models share: how they read text, train, score and talk.

The LSTM (chapter 3, :mod:`lmcourse.lstm`) and the transformer (chapter 4,
:mod:`lmcourse.transformer`) are both *causal* next-word models: a Keras model that reads up to
``window`` token ids and returns, at every position, a probability distribution over the
vocabulary for the token that comes next. Everything around that model is here, written once:

- **How text is laid out** (:func:`sentence_rows`). The context rule of
  :mod:`lmcourse.scoring`: every sentence starts afresh. Each sentence becomes one row
  ``</s> w1 ... wn`` with targets ``w1 ... wn </s>`` (``</s>`` before a sentence means "a sentence
  starts here"), so one row teaches every word of the sentence at once. Rows are padded at the
  end to ``window``; padded targets get weight 0. A causal model never looks ahead, so padding at
  the end cannot change what it predicts at the real positions. A sentence longer than the window
  is cut into several rows.
- **Scoring** (:meth:`WindowLanguageModel.token_logprobs`): every word of every sentence,
  predicted from its own sentence's earlier words (the last ``window`` of them with the start
  symbol), exactly the words :mod:`lmcourse.scoring` scores for the n-grams.
- **The predictor protocol** (:mod:`lmcourse.protocol`): ``predict``, ``unknown_words``,
  ``generate``, with the course's input rules, so every widget treats every model alike.
- **Saving** in Keras's native ``.keras`` format.

Only ``keras.*`` is used (no ``tf.*``), so everything runs on any Keras 3 backend.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import keras
import numpy as np

from lmcourse.protocol import (NEXT_WORD_RULES, InputRules, check_k, check_length, check_seed,
                               check_temperature, check_text)
from lmcourse.text import EOS, UNK, Vocabulary, tokenize

Sentences = Iterable[Sequence[str]]
SPECIALS = (UNK, EOS)  # the only special symbols; </s> ends a sentence and marks a sentence start


def build_vocabulary(sentences: Sentences) -> Vocabulary:
    """The words of the training sentences plus ``<UNK>`` and ``</s>``.

    Chapter 2's n-gram vocabulary has one more symbol, ``<s>``: n-grams pad a sentence's start with
    it. The neural models mark a sentence start with ``</s>`` (the end of the sentence before), so
    they never need ``<s>``.
    """
    return Vocabulary.build(sentences, specials=SPECIALS)


def hide_singletons(ids: np.ndarray, unk_id: int, share: float, seed: int = 0,
                    counts: np.ndarray | None = None) -> np.ndarray:
    """A copy of ``ids`` in which ``share`` of the words that occur only once become ``<UNK>``.

    Test text always holds some unknown words. Chapter 2's smoothing gives them probability by
    formula; a neural model has to see ``<UNK>`` in training to learn how likely an unknown word is.
    ``counts`` (how often each id occurs in the whole training text) defaults to those of ``ids``.
    """
    counts = np.bincount(ids) if counts is None else counts
    once = counts[ids] == 1
    out = ids.copy()
    out[once & (np.random.default_rng(seed).random(len(ids)) < share)] = unk_id
    return out


@dataclass(frozen=True)
class Rows:
    """Training rows: inputs, targets and the weight of each target (0 for padding)."""

    x: np.ndarray  # (rows, window) int32
    y: np.ndarray  # (rows, window) int32
    weights: np.ndarray  # (rows, window) float32

    @property
    def tokens(self) -> int:
        """How many real targets the rows hold."""
        return int(self.weights.sum())


def sentence_rows(sentences: Sentences, vocab: Vocabulary, window: int, unk_share: float = 0.0,
                  seed: int = 0) -> Rows:
    """One row per sentence (more for a sentence longer than ``window``): ``</s> w1 .. wn`` -> ``w1 .. wn </s>``.

    ``unk_share`` of the words seen once in ``sentences`` are shown as ``<UNK>`` (see
    :func:`hide_singletons`).
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    eos, unk = vocab.ids([EOS, UNK])
    seqs = [np.asarray(vocab.ids([EOS, *s, EOS]), dtype=np.int32) for s in sentences if len(s)]
    if not seqs:
        raise ValueError("sentences must hold at least one non-empty sentence, got none")
    if unk_share:
        flat = np.concatenate(seqs)
        hidden = hide_singletons(flat, unk, unk_share, seed, np.bincount(flat, minlength=len(vocab)))
        hidden[flat == eos] = eos
        seqs = np.split(hidden, np.cumsum([len(s) for s in seqs])[:-1])
    pieces = [(s[i:i + window], s[i + 1:i + window + 1]) for s in seqs for i in range(0, len(s) - 1, window)]
    x = np.full((len(pieces), window), eos, dtype=np.int32)
    y = np.full((len(pieces), window), eos, dtype=np.int32)
    weights = np.zeros((len(pieces), window), dtype=np.float32)
    for r, (inputs, targets) in enumerate(pieces):
        n = len(targets)
        x[r, :n], y[r, :n], weights[r, :n] = inputs[:n], targets, 1.0
    return Rows(x, y, weights)


def scoring_rows(sentences: Sentences, vocab: Vocabulary, window: int):
    """The rows that score every word under the context rule, and where to read each word.

    Returns ``(rows, row_index, position, target)``: word j is read from the model's output
    ``rows[row_index[j]]`` at ``position[j]``, as the probability of ``target[j]``. A word is
    predicted from ``</s>`` + the earlier words of its sentence (the last ``window`` tokens).
    """
    eos = vocab.ids([EOS])[0]
    rows, row_index, position, target = [], [], [], []
    for s in sentences:
        if not len(s):
            continue
        seq = np.asarray(vocab.ids([EOS, *s]), dtype=np.int32)
        first = np.full(window, eos, dtype=np.int32)
        first[:min(window, len(seq))] = seq[:window]
        rows.append(first)
        for p in range(1, len(seq)):  # seq[p] is predicted from seq[max(0, p - window):p]
            if p <= window:
                row_index.append(len(rows) - 1)
                position.append(p - 1)
            else:
                rows.append(seq[p - window:p])
                row_index.append(len(rows) - 1)
                position.append(window - 1)
            target.append(seq[p])
    if not target:
        raise ValueError("sentences must hold at least one non-empty sentence, got none")
    return np.stack(rows), np.array(row_index), np.array(position), np.array(target)


@dataclass(frozen=True)
class TrainingConfig:
    """How a neural model trains (the sizes of each family are in its own config)."""

    window: int = 32  # tokens of context the model reads, the start symbol included
    dropout: float = 0.4
    batch_size: int = 16
    learning_rate: float = 0.005
    epochs: int = 20
    patience: int = 2  # early stopping: epochs without a better validation loss
    unk_share: float = 0.5  # share of words seen once in training shown to the model as <UNK>

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if field.type != "int":
                continue
            name = field.name
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if not 0 <= self.unk_share <= 1:
            raise ValueError(f"unk_share must be in [0, 1], got {self.unk_share}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")


class LossPlot(keras.callbacks.Callback):
    """Redraws one loss figure after every epoch while a model trains (in Jupyter; else silent)."""

    def __init__(self, title: str = "Training"):
        super().__init__()
        self.title, self.losses, self.val_losses, self.handle = title, [], [], None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.losses.append(logs.get("loss"))
        if "val_loss" in logs:
            self.val_losses.append(logs["val_loss"])
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            return
        if get_ipython() is None:
            return
        from lmcourse.plots import loss_curve

        fig = loss_curve({"training": self.losses, "validation": self.val_losses}, self.title,
                         pyplot=False)
        if self.handle is None:
            self.handle = display(fig, display_id=True)
        else:
            self.handle.update(fig)


def loss() -> keras.losses.Loss:
    """Cross-entropy averaged over the real targets of a batch (padding has weight 0)."""
    return keras.losses.SparseCategoricalCrossentropy(reduction="mean_with_sample_weight")


class WindowLanguageModel:
    """A causal Keras next-word model with the course's predictor protocol.

    Subclasses set ``model_class`` (a ``keras.Model`` with ``words`` and ``window`` attributes that
    maps ids ``(batch, window)`` to probabilities ``(batch, window, vocabulary)``), ``config_class``,
    ``family``, and :meth:`keras_model`.
    """

    input_rules: InputRules = NEXT_WORD_RULES
    model_class: type = keras.Model
    config_class: type = TrainingConfig
    family = "model"

    def __init__(self, model: keras.Model):
        self.model = model
        self.vocab = Vocabulary(tuple(model.words))
        self.window = model.window
        self.history: dict[str, list[float]] = {}

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(window={self.window}, parameters={self.model.count_params():,}, "
                f"vocabulary={len(self.vocab):,} words)")

    @property
    def name(self) -> str:
        return f"{self.family} (window {self.window})"

    @classmethod
    def keras_model(cls, vocab: Vocabulary, config) -> keras.Model:
        """The family's Keras model for ``vocab`` and ``config`` (each subclass says how)."""
        raise NotImplementedError

    @classmethod
    def build(cls, vocab: Vocabulary, config: TrainingConfig | None = None):
        """A fresh, untrained model over ``vocab`` (which must contain ``<UNK>`` and ``</s>``),
        compiled with the optimizer and loss ``config`` asks for (default: the family's config)."""
        missing = [s for s in SPECIALS if s not in vocab]
        if missing:
            raise ValueError(f"vocab must contain {', '.join(SPECIALS)}; missing {', '.join(missing)}")
        config = cls.config_class() if config is None else config
        model = cls(cls.keras_model(vocab, config))
        model.model(np.zeros((1, model.window), dtype=np.int32))  # create the weights
        model.model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss=loss())
        return model

    @classmethod
    def trained(cls, train: Sentences, valid: Sentences, config: TrainingConfig | None = None,
                callbacks: Sequence[keras.callbacks.Callback] = ()):
        """Build the vocabulary of ``train``, then build a model on it and fit it."""
        train = list(train)
        config = cls.config_class() if config is None else config
        model = cls.build(build_vocabulary(train), config)
        model.fit(train, valid, config, callbacks)
        return model

    def fit(self, train: Sentences, valid: Sentences, config: TrainingConfig,
            callbacks: Sequence[keras.callbacks.Callback] = (), seed: int = 0) -> dict[str, list[float]]:
        """Train on one row per sentence of ``train``, with early stopping on ``valid``'s loss
        (the mean over real targets); the best weights are kept."""
        if config.window != self.window:
            raise ValueError(f"config.window={config.window} differs from the model's window {self.window}")
        rows = sentence_rows(train, self.vocab, self.window, config.unk_share, seed)
        val = sentence_rows(valid, self.vocab, self.window)
        stop = keras.callbacks.EarlyStopping(patience=config.patience, restore_best_weights=True)
        history = self.model.fit(rows.x, rows.y, sample_weight=rows.weights,
                                 validation_data=(val.x, val.y, val.weights), epochs=config.epochs,
                                 batch_size=config.batch_size, shuffle=True, verbose=0,
                                 callbacks=[stop, *callbacks])
        self.history = {k: [float(v) for v in vs] for k, vs in history.history.items()}
        return self.history

    # --- scoring -----------------------------------------------------------------------------
    def probabilities(self, rows: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """The model's output for rows of ``window`` ids: ``(rows, window, vocabulary)``."""
        return self.model.predict(np.asarray(rows, dtype=np.int32), batch_size=batch_size, verbose=0)

    def token_logprobs(self, sentences: Sentences, batch_size: int = 256) -> np.ndarray:
        """Natural-log probability of every word of every sentence, under the context rule of
        :mod:`lmcourse.scoring` (each sentence read from its start symbol)."""
        rows, row_index, position, target = scoring_rows(sentences, self.vocab, self.window)
        out = np.empty(len(target))
        for start in range(0, len(rows), batch_size):
            probs = self.probabilities(rows[start:start + batch_size], batch_size)
            here = (row_index >= start) & (row_index < start + batch_size)
            out[here] = np.log(probs[row_index[here] - start, position[here], target[here]])
        return out

    def perplexity(self, sentences: Sentences) -> float:
        """exp of the mean negative log-probability of every word, end symbols not scored."""
        return float(np.exp(-np.mean(self.token_logprobs(sentences))))

    # --- the predictor protocol ----------------------------------------------------------------
    def encode_prompt(self, text: str) -> list[int]:
        """Ids of ``</s>`` (a sentence starts) + the prompt's tokens; ValueError for text the model
        cannot read. An empty prompt is just the sentence start; the model reads the last window."""
        return self.vocab.ids([EOS, *tokenize(check_text(text, self.input_rules))])

    def distribution(self, ids: Sequence[int]) -> np.ndarray:
        """P(next token) over the vocabulary after the last ``window`` of ``ids``.

        The context sits at the start of one row padded at the end, so every call has the same
        shape (Keras compiles the model once) and the causal model ignores the padding.
        """
        context = np.asarray(ids[-self.window:], dtype=np.int32)
        row = np.full((1, self.window), context[-1], dtype=np.int32)
        row[0, :len(context)] = context
        probs = keras.ops.convert_to_numpy(self.model.predict_on_batch(row))
        return probs[0, len(context) - 1].astype(np.float64)

    def predict(self, text: str, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` most likely next words after ``text`` (``<UNK>`` left out), most likely first."""
        k = check_k(k)
        probs = self.distribution(self.encode_prompt(text))
        order = np.lexsort((np.arange(len(probs)), -probs))
        return [(self.vocab.words[i], float(probs[i])) for i in order if self.vocab.words[i] != UNK][:k]

    def unknown_words(self, text: str) -> list[str]:
        """Words of ``text`` the model never saw in training (it reads them as ``<UNK>``)."""
        return list(dict.fromkeys(t for t in tokenize(text) if t not in self.vocab))

    def generate(self, prompt: str, length: int = 20, temperature: float = 1.0,
                 seed: int | None = None, top_k: int | None = None) -> list[str]:
        """Sample ``length`` words after ``prompt``: P ** (1 / temperature), renormalised.

        Low temperature -> nearly greedy; 1 -> the model's own distribution; high -> more random.
        ``top_k`` keeps only the ``k`` likeliest tokens at each step. ``<UNK>`` is never sampled;
        ``</s>`` ends a sentence, is shown as nothing, and the next sentence starts afresh.
        """
        length, temperature = check_length(length), check_temperature(temperature)
        top_k = None if top_k is None else check_k(top_k)
        ids = self.encode_prompt(prompt)
        rng = np.random.default_rng(check_seed(seed))
        unk, eos = self.vocab.ids([UNK, EOS])
        out: list[str] = []
        while len(out) < length:
            probs = self.distribution(ids)
            probs[unk] = 0.0
            if top_k is not None:
                probs[np.argsort(-probs, kind="stable")[top_k:]] = 0.0
            with np.errstate(divide="ignore"):
                logits = np.log(probs) / temperature
            weights = np.exp(logits - logits.max())
            choice = int(rng.choice(len(weights), p=weights / weights.sum()))
            if choice == eos:
                ids = [eos]  # the next sentence starts afresh, as in scoring
            else:
                ids.append(choice)
                out.append(self.vocab.words[choice])
        return out

    # --- saving ------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Save in Keras's native ``.keras`` format (weights, vocabulary and window in one file)."""
        path = Path(path)
        if path.suffix != ".keras":
            raise ValueError(f"path must end in .keras, got {path.name!r}")
        self.model.save(path)
        return path

    @classmethod
    def load(cls, path: str | Path):
        """Load a model written by :meth:`save`."""
        model = keras.saving.load_model(path)
        if not isinstance(model, cls.model_class):
            raise ValueError(f"{path} holds a {type(model).__name__}, not a {cls.model_class.__name__}")
        return cls(model)
