"""LSTM next-word models in Keras 3: the original prefix example, and a window model that scales.

Only ``keras.*`` is used (no ``tf.*``), so everything here runs on any Keras 3 backend; the course
runs it on TensorFlow, and a test trains a tiny model on torch. Importing this module imports
Keras (and its backend); ``import lmcourse`` alone does not.

How the window model reads text. The sentences of a split are joined into one stream, each
followed by ``</s>``, and the stream starts with ``</s>`` too, so ``</s>`` means "a sentence starts
here". The model sees ``window`` tokens and predicts the next token at every position.

How perplexity is measured (:meth:`LSTMLanguageModel.perplexity`). Exactly the tokens that
:meth:`lmcourse.ngrams.NGramModel.perplexity` scores: every word of every sentence, end symbols
not scored. Each word is predicted from the ``window`` tokens before it in the stream (fewer at
the very start), which may reach back into earlier sentences. Words outside the vocabulary are
read, and scored, as ``<UNK>``, as in chapter 2.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from lmcourse.protocol import (NEXT_WORD_RULES, InputRules, check_k, check_length, check_seed,
                               check_temperature, check_text)
from lmcourse.text import BOS, EOS, UNK, Vocabulary, tokenize

Sentences = Iterable[Sequence[str]]
SPECIALS = (UNK, EOS)  # the n-gram vocabulary's words; </s> also marks a sentence start

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


# --- part 3: windows over one stream, a target at every position -------------------------------
@dataclass(frozen=True)
class LSTMConfig:
    """Size and training of the window model."""

    window: int = 32  # tokens of context the model reads
    embedding_dim: int = 64
    units: int = 128
    dropout: float = 0.4
    batch_size: int = 16
    learning_rate: float = 0.005
    epochs: int = 20
    patience: int = 2  # early stopping: epochs without a better validation loss
    unk_share: float = 0.5  # share of words seen once in training shown to the model as <UNK>

    def __post_init__(self) -> None:
        for name in ("window", "embedding_dim", "units", "batch_size", "epochs", "patience"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if not 0 <= self.unk_share <= 1:
            raise ValueError(f"unk_share must be in [0, 1], got {self.unk_share}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")


def build_vocabulary(sentences: Sentences) -> Vocabulary:
    """The chapter-2 vocabulary of the training sentences, plus ``</s>`` (the only special used)."""
    return Vocabulary.build(sentences, specials=SPECIALS)


def stream_ids(sentences: Sentences, vocab: Vocabulary) -> np.ndarray:
    """One id stream: ``</s>``, then every sentence followed by ``</s>``; unknown words -> <UNK>."""
    tokens = [EOS]
    for sentence in sentences:
        if len(sentence):
            tokens.extend(sentence)
            tokens.append(EOS)
    return np.asarray(vocab.ids(tokens), dtype=np.int32)


def hide_singletons(ids: np.ndarray, unk_id: int, share: float, seed: int = 0) -> np.ndarray:
    """A copy of ``ids`` in which ``share`` of the words that occur only once become ``<UNK>``.

    Test text always holds some unknown words. Chapter 2's smoothing gives them probability by
    formula; the LSTM has to see ``<UNK>`` in training to learn how likely an unknown word is.
    """
    once = np.bincount(ids)[ids] == 1
    out = ids.copy()
    out[once & (np.random.default_rng(seed).random(len(ids)) < share)] = unk_id
    return out


def windows(ids: np.ndarray, window: int, stride: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``ids[i:i+window]`` and targets ``ids[i+1:i+window+1]`` for i = 0, stride, ...

    Every position of a window has a target, so one window teaches ``window`` words.
    """
    stride = stride or window
    if len(ids) < window + 1:
        raise ValueError(f"the text must have more than window={window} tokens, got {len(ids)}")
    starts = np.arange(0, len(ids) - window, stride)
    index = starts[:, None] + np.arange(window)[None, :]
    return ids[index], ids[index + 1]


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
        hidden = self.lstm(self.embedding(ids))
        return self.head(self.dropout(hidden, training=training))

    def get_config(self) -> dict:
        return {"name": self.name, "words": self.words, "window": self.window,
                "embedding_dim": self.embedding_dim, "units": self.units, "dropout": self.dropout_rate}


class LossPlot(keras.callbacks.Callback):
    """Redraws one loss figure after every epoch while a model trains (in Jupyter; else silent)."""

    def __init__(self, title: str = "Training the LSTM"):
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


class LSTMLanguageModel:
    """A trained window LSTM with the predictor protocol of :mod:`lmcourse.widgets`.

    ``predict(text, k)``, ``unknown_words(text)`` and ``generate(prompt, length, temperature,
    seed)`` behave like :class:`lmcourse.ngrams.NGramModel`'s, so the chapter-2 widgets work.
    """

    input_rules: InputRules = NEXT_WORD_RULES

    def __init__(self, model: NextWordLSTM):
        self.model = model
        self.vocab = Vocabulary(tuple(model.words))
        self.window = model.window
        self.history: dict[str, list[float]] = {}
        self._last_step_model: keras.Model | None = None

    def __repr__(self) -> str:
        return (f"LSTMLanguageModel(window={self.window}, units={self.model.units}, "
                f"vocabulary={len(self.vocab):,} words)")

    @classmethod
    def build(cls, vocab: Vocabulary, config: LSTMConfig = LSTMConfig()) -> "LSTMLanguageModel":
        """A fresh, untrained model over ``vocab`` (which must contain ``<UNK>`` and ``</s>``)."""
        missing = [s for s in SPECIALS if s not in vocab]
        if missing:
            raise ValueError(f"vocab must contain {', '.join(SPECIALS)}; missing {', '.join(missing)}")
        model = NextWordLSTM(vocab.words, config.window, config.embedding_dim, config.units, config.dropout)
        model(np.zeros((1, config.window), dtype=np.int32))  # create the weights
        model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                      loss="sparse_categorical_crossentropy")
        return cls(model)

    def fit(self, train: Sentences, valid: Sentences, config: LSTMConfig = LSTMConfig(),
            callbacks: Sequence[keras.callbacks.Callback] = ()) -> dict[str, list[float]]:
        """Train on windows of ``train`` with early stopping on ``valid``; keep the best weights."""
        ids = stream_ids(train, self.vocab)
        x, y = windows(hide_singletons(ids, self.vocab.ids([UNK])[0], config.unk_share), config.window)
        vx, vy = windows(stream_ids(valid, self.vocab), config.window)
        stop = keras.callbacks.EarlyStopping(patience=config.patience, restore_best_weights=True)
        history = self.model.fit(x, y, validation_data=(vx, vy), epochs=config.epochs,
                                 batch_size=config.batch_size, shuffle=True, verbose=0,
                                 callbacks=[stop, *callbacks])
        self.history = {k: [float(v) for v in vs] for k, vs in history.history.items()}
        return self.history

    # --- scoring -----------------------------------------------------------------------------
    def _scorer(self) -> keras.Model:
        """The same layers as one model that applies the softmax only at the last step, for inputs
        of any length. Keras compiles it into a graph: for one prompt that is about ten times faster
        than calling the layers one by one, which keeps the explorer widget quick."""
        if self._last_step_model is None:
            m = self.model
            inputs = keras.Input(shape=(None,), dtype="int32")
            hidden = m.lstm(m.embedding(inputs))
            self._last_step_model = keras.Model(inputs, m.head(hidden[:, -1, :]))
        return self._last_step_model

    def token_logprobs(self, sentences: Sentences, batch_size: int = 512) -> np.ndarray:
        """Natural-log probability of every word of every sentence (the tokens chapter 2 scores).

        The sentences form one stream (see the module docstring); the token at position p is
        predicted from ``stream[max(0, p - window):p]``.
        """
        ids = stream_ids(sentences, self.vocab)
        eos = self.vocab.ids([EOS])[0]
        targets = np.flatnonzero(ids != eos)
        if not len(targets):
            raise ValueError("sentences must hold at least one non-empty sentence, got none")
        w = self.window
        out = np.empty(len(targets))
        early = targets <= w  # fewer than `window` tokens before them: read off the first window
        if early.any():
            first = keras.ops.convert_to_numpy(self.model(ids[None, :w]))[0]
            out[early] = np.log(first[targets[early] - 1, ids[targets[early]]])
        late = targets[~early]
        if len(late):
            contexts = ids[late[:, None] + np.arange(-w, 0)[None, :]]
            probs = self._scorer().predict(contexts, batch_size=batch_size, verbose=0)
            out[~early] = np.log(probs[np.arange(len(late)), ids[late]])
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
        """P(next token) over the vocabulary after the last ``window`` of ``ids``."""
        row = np.asarray(ids[-self.window:], dtype=np.int32)[None, :]
        return keras.ops.convert_to_numpy(self._scorer().predict_on_batch(row))[0].astype(np.float64)

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
                 seed: int | None = None) -> list[str]:
        """Sample ``length`` tokens after ``prompt``: P ** (1 / temperature), renormalised.

        Low temperature -> nearly greedy; 1 -> the model's own distribution; high -> more random.
        ``<UNK>`` is never sampled; ``</s>`` ends a sentence and is shown as nothing.
        """
        length, temperature = check_length(length), check_temperature(temperature)
        ids = self.encode_prompt(prompt)
        rng = np.random.default_rng(check_seed(seed))
        unk, eos = self.vocab.ids([UNK, EOS])
        out: list[str] = []
        while len(out) < length:
            probs = self.distribution(ids)
            probs[unk] = 0.0
            with np.errstate(divide="ignore"):
                logits = np.log(probs) / temperature
            weights = np.exp(logits - logits.max())
            choice = int(rng.choice(len(weights), p=weights / weights.sum()))
            ids.append(choice)
            if choice != eos:
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
    def load(cls, path: str | Path) -> "LSTMLanguageModel":
        """Load a model written by :meth:`save`."""
        model = keras.saving.load_model(path)
        if not isinstance(model, NextWordLSTM):
            raise ValueError(f"{path} holds a {type(model).__name__}, not a NextWordLSTM")
        return cls(model)


def train_lstm(train: Sentences, valid: Sentences, config: LSTMConfig = LSTMConfig(),
               callbacks: Sequence[keras.callbacks.Callback] = ()) -> LSTMLanguageModel:
    """Build the vocabulary of ``train``, then build and fit a window model on it."""
    train = list(train)
    model = LSTMLanguageModel.build(build_vocabulary(train), config)
    model.fit(train, valid, config, callbacks)
    return model


# --- part 4: comparing with the n-gram models --------------------------------------------------
@dataclass(frozen=True)
class Score:
    """Perplexity on every word, and separately on known words and on unknown (<UNK>) words."""

    perplexity: float
    known: float
    unknown: float
    unknown_share: float  # share of the scored words that are unknown


def score(logprobs: np.ndarray, unknown: np.ndarray) -> Score:
    """Perplexities from per-word log-probabilities and a mask of the unknown words."""
    logprobs, unknown = np.asarray(logprobs, dtype=np.float64), np.asarray(unknown, dtype=bool)
    ppl = lambda lp: float(np.exp(-lp.mean())) if len(lp) else float("nan")  # noqa: E731
    return Score(ppl(logprobs), ppl(logprobs[~unknown]), ppl(logprobs[unknown]), float(unknown.mean()))


def ngram_token_logprobs(model, sentences: Sentences) -> np.ndarray:
    """Log-probability of every word of every sentence under an NGramModel: the tokens its
    ``perplexity()`` scores, each given the sentence so far left-padded with ``<s>``."""
    pad = [BOS] * (model.order - 1)
    with np.errstate(divide="ignore"):
        return np.array([model.logprob(word, (pad + list(s[:i]))[len(pad) + i - (model.order - 1):])
                         for s in sentences for i, word in enumerate(s)])


NGRAM_BASELINES = {"unigram (Laplace)": (1, "laplace"), "bigram (Kneser-Ney)": (2, "kneser-ney"),
                   "trigram (Kneser-Ney)": (3, "kneser-ney")}


def compare(train: Sentences, test: Sentences, lstm: LSTMLanguageModel | None = None,
            baselines: dict[str, tuple[int, str]] = NGRAM_BASELINES) -> dict[str, Score]:
    """Chapter 2's n-gram models trained on ``train`` and ``lstm``, scored on the same ``test`` words.

    A word is unknown when it is not in the training vocabulary (the same words for all models).
    """
    from lmcourse.ngrams import NGramModel

    train, test = list(train), list(test)
    vocab = build_vocabulary(train)
    unknown = np.array([w not in vocab for s in test for w in s])
    scores = {name: score(ngram_token_logprobs(NGramModel(order, smoothing).fit(train), test), unknown)
              for name, (order, smoothing) in baselines.items()}
    if lstm is not None:
        scores[f"LSTM (window {lstm.window})"] = score(lstm.token_logprobs(test), unknown)
    return scores


def data_size_curve(corpus, fractions: Sequence[float], config: LSTMConfig = LSTMConfig()) -> list[dict]:
    """Test perplexity of the Kneser-Ney trigram and the LSTM trained on growing shares of
    ``corpus.train`` (its first sentences), all scored on the full ``corpus.test``."""
    rows = []
    for fraction in fractions:
        if not 0 < fraction <= 1:
            raise ValueError(f"fractions must be in (0, 1], got {fraction}")
        train = corpus.train[:max(1, round(len(corpus.train) * fraction))]
        scores = compare(train, corpus.test, train_lstm(train, corpus.valid, config),
                         {"trigram (Kneser-Ney)": (3, "kneser-ney")})
        rows.append({"train tokens": sum(map(len, train)), **scores})
    return rows
