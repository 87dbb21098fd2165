"""One way to score every model family: n-grams (chapter 2), the LSTM (3) and the transformer (4).

The context rule. **Every model restarts at each sentence boundary**: a word is predicted from
the earlier words of its own sentence only, never from the sentence before. The n-gram models
see the last ``order - 1`` of those words (left-padded with ``<s>``, as in chapter 2); the LSTM
and the transformer see up to their ``window`` of them, after the sentence-start symbol. So
the figures in one table are comparable: the neural models win only by using more of the same
sentence, not by reading text the n-grams were never shown.

What is scored. Every word of every sentence (the end symbol is not scored), so models of any
order are measured on the same tokens. A word outside the training vocabulary is read and scored
as ``<UNK>``. :func:`compare` reports perplexity over all words, over known words and over the
unknown ones, because the ranking of the families can differ between those columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from lmcourse.text import Vocabulary

Sentences = Iterable[Sequence[str]]
CONTEXT_RULE = ("every model restarts at each sentence boundary: a word is predicted from the "
                "earlier words of its own sentence only")


class Scorable(Protocol):
    """What :func:`compare` needs from a model: the natural-log probability of every word."""

    def token_logprobs(self, sentences: Sentences) -> np.ndarray: ...


@dataclass(frozen=True)
class Score:
    """Perplexity on every word, and separately on known words and on unknown (<UNK>) words."""

    perplexity: float
    known: float
    unknown: float
    unknown_share: float  # share of the scored words that are unknown


def perplexity(logprobs: np.ndarray) -> float:
    """exp of the mean negative log-probability; nan when there is nothing to score."""
    logprobs = np.asarray(logprobs, dtype=np.float64)
    return float(np.exp(-logprobs.mean())) if len(logprobs) else float("nan")


def score(logprobs: np.ndarray, unknown: np.ndarray) -> Score:
    """Perplexities from per-word log-probabilities and a mask of the unknown words."""
    logprobs, unknown = np.asarray(logprobs, dtype=np.float64), np.asarray(unknown, dtype=bool)
    if logprobs.shape != unknown.shape:
        raise ValueError(f"one log-probability per word is needed: got {logprobs.shape} for {unknown.shape}")
    return Score(perplexity(logprobs), perplexity(logprobs[~unknown]), perplexity(logprobs[unknown]),
                 float(unknown.mean()))


def unknown_mask(vocab: Vocabulary | set[str], sentences: Sentences) -> np.ndarray:
    """True for every scored word that is not in ``vocab`` (the order of :func:`score`)."""
    return np.array([w not in vocab for s in sentences for w in s], dtype=bool)


NGRAM_BASELINES = {"unigram (Laplace)": (1, "laplace"), "bigram (Kneser-Ney)": (2, "kneser-ney"),
                   "trigram (Kneser-Ney)": (3, "kneser-ney")}


def ngram_models(train: Sentences, baselines: Mapping[str, tuple[int, str]] = NGRAM_BASELINES) -> dict:
    """Chapter 2's n-gram models, trained on ``train``, by name."""
    from lmcourse.ngrams import NGramModel

    train = list(train)
    return {name: NGramModel(order, smoothing).fit(train) for name, (order, smoothing) in baselines.items()}


def compare(train: Sentences, test: Sentences, models: Mapping[str, Scorable] | None = None,
            baselines: Mapping[str, tuple[int, str]] = NGRAM_BASELINES) -> dict[str, Score]:
    """Chapter 2's n-gram ``baselines`` trained on ``train``, then ``models`` (e.g. an LSTM and a
    transformer, by name), all scored on the same words of ``test`` under the one context rule.

    A word is unknown when it is not in the training vocabulary (the same words for all models).
    """
    train, test = list(train), list(test)
    unknown = unknown_mask(set(Vocabulary.build(train).words), test)
    every = {**ngram_models(train, baselines), **dict(models or {})}
    return {name: score(model.token_logprobs(test), unknown) for name, model in every.items()}


def table(scores: Mapping[str, Score]) -> str:
    """The comparison as text: one row per model, the three perplexity columns."""
    width = max(22, *map(len, scores))
    lines = [f"{'model':<{width}} {'all words':>10} {'known words':>12} {'unknown words':>14}"]
    for name, s in scores.items():
        lines.append(f"{name:<{width}} {s.perplexity:>10.1f} {s.known:>12.1f} {s.unknown:>14,.0f}")
    return "\n".join(lines)


def data_size_curve(corpus, fractions: Sequence[float],
                    trainers: Mapping[str, Callable[[list, list], object]],
                    baselines: Mapping[str, tuple[int, str]] | None = None,
                    progress: Callable[[str], None] | None = None) -> list[dict]:
    """Test perplexity of models trained on growing shares of ``corpus.train`` (its first
    sentences), all scored on the full ``corpus.test``.

    ``trainers`` maps a name to ``f(train, valid) -> model``; ``baselines`` are n-gram models as in
    :func:`compare` (default: the Kneser-Ney trigram). One row per fraction: the training words,
    then a :class:`Score` per model.
    """
    baselines = {"trigram (Kneser-Ney)": (3, "kneser-ney")} if baselines is None else baselines
    rows = []
    for fraction in fractions:
        if not 0 < fraction <= 1:
            raise ValueError(f"fractions must be in (0, 1], got {fraction}")
        train = corpus.train[:max(1, round(len(corpus.train) * fraction))]
        models = {}
        for name, train_model in trainers.items():
            if progress:
                progress(f"{name} on {sum(map(len, train)):,} words")
            models[name] = train_model(train, corpus.valid)
        rows.append({"train tokens": sum(map(len, train)), **compare(train, corpus.test, models, baselines)})
    return rows
