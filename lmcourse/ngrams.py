"""N-gram language models written by hand: counts, smoothing, perplexity and sampling.

The counting follows ``nltk.lm`` exactly (each sentence padded with ``order - 1`` ``<s>`` and
``</s>`` symbols, counts of every n-gram up to the order, unseen words mapped to ``<UNK>``), so
MLE and Laplace probabilities equal nltk's; the tests check that. The work is done with numpy
arrays of n-gram codes instead of nested dictionaries, which is what makes it fast.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain

import numpy as np

from lmcourse.protocol import (NEXT_WORD_RULES, InputRules, check_k, check_length, check_seed,
                               check_temperature, check_text)
from lmcourse.text import BOS, EOS, UNK, Vocabulary, tokenize

SMOOTHINGS = ("mle", "laplace", "add-k", "kneser-ney")
Sentences = Iterable[Sequence[str]]


def ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    """All runs of ``n`` consecutive tokens: ``ngrams("a b c".split(), 2)`` -> ``[('a','b'), ('b','c')]``."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def _group(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Like ``np.unique(codes, return_inverse=True, return_counts=True)`` but with an unstable
    (faster) sort, plus one example position per distinct code."""
    order = np.argsort(codes)
    ranked = codes[order]
    new = np.empty(len(ranked), dtype=bool)
    new[:1] = True
    np.not_equal(ranked[1:], ranked[:-1], out=new[1:])
    firsts = np.flatnonzero(new)
    inverse = np.empty(len(codes), dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    counts = np.diff(np.append(firsts, len(ranked)))
    return ranked[firsts], inverse, counts, order[firsts]


def check_sentences(sentences: Sentences) -> list[Sequence[str]]:
    """``sentences`` as a list of token lists; a ValueError for text that is not split into words.

    Without this, a string would be read as a list of letters and train a character model.
    """
    if isinstance(sentences, str):
        raise ValueError("sentences must be a list of token lists such as [['the', 'cat', 'sat']], "
                         "got a string; split text with lmcourse.text.tokenize_sentences(text) first")
    sentences = list(sentences)
    for sentence in sentences:
        if isinstance(sentence, str):
            raise ValueError(f"each sentence must be a list of tokens such as ['the', 'cat', 'sat'], "
                             f"got the string {sentence[:40]!r}; use lmcourse.text.tokenize(sentence)")
    return sentences


def check_words(words: Sequence[str], name: str) -> tuple[str, ...]:
    """``words`` as a tuple; a ValueError for a string, which would be read letter by letter."""
    if isinstance(words, str):
        example = tuple(tokenize(words)) or ("the",)
        raise ValueError(f"{name} must be a tuple of words such as {example!r}, got the string {words!r}")
    try:
        words = tuple(words)
    except TypeError:
        words = (words,)
    if not all(isinstance(w, str) for w in words):
        raise ValueError(f"{name} must be a tuple of words such as ('the', 'cat'), got {words!r}")
    return words


def pad(sentence: Sequence[str], order: int) -> list[str]:
    """``order - 1`` start symbols, the sentence, ``order - 1`` end symbols (as nltk.lm pads)."""
    return [BOS] * (order - 1) + list(sentence) + [EOS] * (order - 1)


class NGramModel:
    """An n-gram language model: ``NGramModel(3, "kneser-ney").fit(sentences)``.

    ``smoothing`` is ``"mle"`` (relative frequencies), ``"laplace"`` (add one), ``"add-k"``
    (add ``k``) or ``"kneser-ney"`` (interpolated, absolute ``discount``).
    """

    input_rules: InputRules = NEXT_WORD_RULES

    def __init__(self, order: int, smoothing: str = "mle", k: float = 1.0, discount: float = 0.75):
        if not isinstance(order, (int, np.integer)) or isinstance(order, bool) or order < 1:
            raise ValueError(f"order must be an integer >= 1, got {order!r}")
        if smoothing not in SMOOTHINGS:
            raise ValueError(f"smoothing must be one of {', '.join(SMOOTHINGS)}; got {smoothing!r}")
        if smoothing == "add-k" and not (0 < k < float("inf")):
            raise ValueError(f"k must be > 0 for add-k smoothing, got {k} (k = 0 is the unsmoothed 'mle')")
        if not 0 < discount <= 1:
            raise ValueError(f"discount must be in (0, 1], got {discount}")
        self.order = int(order)
        self.smoothing = smoothing
        self.k = 1.0 if smoothing == "laplace" else float(k)
        self.discount = float(discount)
        self.vocab: Vocabulary | None = None

    def __repr__(self) -> str:
        fitted = f", vocabulary={len(self.vocab):,} words" if self.vocab else ", not fitted"
        return f"NGramModel(order={self.order}, smoothing={self.smoothing!r}{fitted})"

    # --- fitting -------------------------------------------------------------------------------
    def fit(self, sentences: Sentences) -> "NGramModel":
        """Count every n-gram of order 1..order in the padded sentences (token lists)."""
        ids, lengths = self._encode_training(sentences)
        V = self._V
        ends = np.repeat(np.cumsum(lengths), lengths)  # where each position's sentence ends
        positions = np.arange(len(ids), dtype=np.int64)

        # Level j holds the distinct j-grams as sorted codes ``context_index * V + word``, where
        # context_index is the position of the (j-1)-gram prefix in level j-1.
        self._codes: list[np.ndarray] = [np.zeros(1, dtype=np.int64)]
        self._counts: list[np.ndarray] = [np.array([len(ids)], dtype=np.float64)]
        self._cont: list[np.ndarray] = [np.zeros(1)]  # N1+(. g): distinct left extensions of g
        prefix_index = np.zeros(len(ids), dtype=np.int64)
        for j in range(1, self.order + 1):
            start = positions[positions + j <= ends]
            uniq, inverse, counts, example = _group(prefix_index[start] * V + ids[start + j - 1])
            if j > 1:  # each distinct j-gram adds one left extension to its (j-1)-gram suffix
                suffix = prefix_index[start[example] + 1]
                self._cont.append(np.bincount(suffix, minlength=len(self._codes[j - 1])).astype(float))
            self._codes.append(uniq)
            self._counts.append(counts.astype(np.float64))
            prefix_index = np.full(len(ids), -1, dtype=np.int64)
            prefix_index[start] = inverse
        self._cont.append(np.zeros(0))  # the top level has no continuation counts
        self._tables = {("raw", j): self._context_table(self._counts[j], j) for j in range(1, self.order + 1)}
        for j in range(1, self.order):
            self._tables["cont", j] = self._context_table(self._cont[j], j)
        return self

    def _encode_training(self, sentences: Sentences) -> tuple[np.ndarray, np.ndarray]:
        """Build the vocabulary (every padded training word, most frequent first, plus <UNK>) and
        return the padded sentences as one array of word ids, with each padded sentence's length."""
        sentences = [s for s in check_sentences(sentences) if len(s)]
        if not sentences:
            raise ValueError("sentences must hold at least one non-empty sentence, got none")
        tokens = list(chain.from_iterable(sentences))
        index: dict[str, int] = {UNK: 0, BOS: 1, EOS: 2}
        for word in dict.fromkeys(tokens):
            index.setdefault(word, len(index))
        flat = np.fromiter(map(index.__getitem__, tokens), dtype=np.int64, count=len(tokens))
        n_pad = self.order - 1
        lengths = np.fromiter(map(len, sentences), dtype=np.int64, count=len(sentences)) + 2 * n_pad
        ids = np.empty(int(lengths.sum()), dtype=np.int64)
        starts = np.cumsum(lengths) - lengths
        real = np.ones(len(ids), dtype=bool)
        for offset in range(n_pad):  # the padding slots at both ends of every sentence
            ids[starts + offset], ids[starts + lengths - 1 - offset] = index[BOS], index[EOS]
            real[starts + offset] = real[starts + lengths - 1 - offset] = False
        ids[real] = flat
        counts = np.bincount(ids, minlength=len(index))
        old_ids = np.flatnonzero(counts[1:] > 0) + 1  # no pads in a unigram model
        words = np.array(list(index), dtype=object)[old_ids]
        rank = np.lexsort((words.astype(str), -counts[old_ids]))  # most frequent first, then A-Z
        self.vocab = Vocabulary((UNK, *words[rank].tolist()))
        self._V = len(self.vocab)
        remap = np.zeros(len(index), dtype=np.int64)
        remap[old_ids[rank]] = np.arange(1, self._V)
        return remap[ids], lengths

    def _context_table(self, counts: np.ndarray, j: int) -> tuple[np.ndarray, np.ndarray]:
        """Per context of level j: total count, and number of words seen after it."""
        ctx = self._codes[j] // self._V
        size = len(self._codes[j - 1])
        return (np.bincount(ctx, weights=counts, minlength=size),
                np.bincount(ctx, weights=counts > 0, minlength=size))

    # --- looking things up ---------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if self.vocab is None:
            raise RuntimeError("call fit(sentences) before using the model")

    def _find(self, j: int, ctx_index: np.ndarray, words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Index of the j-grams (context, word) in level j, and whether each exists."""
        codes = ctx_index * self._V + words
        pos = np.searchsorted(self._codes[j], codes)
        pos = np.minimum(pos, len(self._codes[j]) - 1)
        found = (self._codes[j][pos] == codes) & (ctx_index >= 0)
        return np.where(found, pos, -1), found

    def _context_index(self, contexts: np.ndarray) -> np.ndarray:
        """Index of each context row (ids) in its level, -1 where the context was never seen."""
        index = np.zeros(len(contexts), dtype=np.int64)
        for j in range(contexts.shape[1]):
            index, _ = self._find(j + 1, index, contexts[:, j])
        return index

    def _value(self, table: np.ndarray, index: np.ndarray) -> np.ndarray:
        return np.where(index >= 0, table[np.maximum(index, 0)], 0.0)

    def _encode_context(self, context: Sequence[str]) -> np.ndarray:
        context = check_words(context, "context")
        context = context[-(self.order - 1):] if self.order > 1 else ()
        return np.asarray(self.vocab.ids(context), dtype=np.int64)

    # --- probabilities -------------------------------------------------------------------------
    def _probs(self, contexts: np.ndarray, words: np.ndarray) -> np.ndarray:
        """P(word | context) for rows of context ids (all of one length) and word ids."""
        m = contexts.shape[1]
        top = m + 1
        if self.smoothing != "kneser-ney":
            ctx = self._context_index(contexts)
            count = self._value(self._counts[top], self._find(top, ctx, words)[0])
            total = self._value(self._tables["raw", top][0], ctx)
            if self.smoothing == "mle":
                with np.errstate(invalid="ignore", divide="ignore"):
                    return np.where(total > 0, count / np.where(total > 0, total, 1), 0.0)
            return (count + self.k) / (total + self.k * self._V)
        d = self.discount
        p = np.full(len(words), 1.0 / self._V)  # interpolate down to the uniform distribution
        for j in range(1, top + 1):
            kind = "raw" if j == top else "cont"
            counts = self._counts[j] if kind == "raw" else self._cont[j]
            totals, types = self._tables[kind, j]
            ctx = self._context_index(contexts[:, m - (j - 1):]) if j > 1 else np.zeros(len(words), np.int64)
            count = self._value(counts, self._find(j, ctx, words)[0])
            total, seen = self._value(totals, ctx), self._value(types, ctx)
            safe = np.where(total > 0, total, 1.0)
            p = np.where(total > 0, (np.maximum(count - d, 0) + d * seen * p) / safe, p)
        return p

    def prob(self, word: str, context: Sequence[str] = ()) -> float:
        """P(word | context); ``context`` is a tuple of preceding words (the last order-1 count)."""
        self._check_fitted()
        ctx = self._encode_context(context)
        return float(self._probs(ctx[None, :], np.asarray(self.vocab.ids([word])))[0])

    def logprob(self, word: str, context: Sequence[str] = ()) -> float:
        """Natural log of :meth:`prob` (``-inf`` where an unsmoothed model gives 0)."""
        with np.errstate(divide="ignore"):
            return float(np.log(self.prob(word, context)))

    def distribution(self, context: Sequence[str] = ()) -> np.ndarray:
        """P(w | context) for every word of the vocabulary, in ``self.vocab.words`` order."""
        self._check_fitted()
        ctx = self._encode_context(context)
        return self._probs(np.tile(ctx, (self._V, 1)), np.arange(self._V))

    def count(self, ngram: Sequence[str]) -> int:
        """How often ``ngram`` (a tuple of 1..order words) occurs in the padded training data."""
        self._check_fitted()
        ngram = check_words(ngram, "ngram")
        if not 1 <= len(ngram) <= self.order:
            raise ValueError(f"ngram must have 1 to {self.order} words, got {len(ngram)}")
        ids = np.asarray(self.vocab.ids(ngram), dtype=np.int64)
        ctx = self._context_index(ids[None, :-1])
        index = self._find(len(ids), ctx, ids[-1:])[0]
        return int(self._value(self._counts[len(ids)], index)[0])

    def num_ngrams(self, j: int | None = None) -> int:
        """How many distinct n-grams of order ``j`` (default: the model's order) were seen."""
        self._check_fitted()
        return len(self._codes[self.order if j is None else j])

    # --- evaluation ----------------------------------------------------------------------------
    def _windows(self, sentences: Sentences) -> tuple[np.ndarray, np.ndarray]:
        """Context ids and word ids for every word of every sentence (left-padded with <s>)."""
        n = self.order
        rows = [self.vocab.ids([BOS] * (n - 1) + list(s)) for s in check_sentences(sentences) if len(s)]
        if not rows:
            raise ValueError("sentences must hold at least one non-empty sentence, got none")
        stream = np.fromiter((i for r in rows for i in r), dtype=np.int64)
        lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        starts = np.repeat(np.cumsum(lengths) - lengths, lengths - (n - 1))
        offsets = np.arange(len(starts)) - np.repeat(np.cumsum(lengths - (n - 1)) - (lengths - (n - 1)),
                                                      lengths - (n - 1))
        targets = starts + offsets + (n - 1)
        contexts = stream[targets[:, None] + np.arange(-(n - 1), 0)[None, :]]
        return contexts, stream[targets]

    def token_logprobs(self, sentences: Sentences) -> np.ndarray:
        """Natural-log probability of every word of every sentence, each given the last
        ``order - 1`` words of its own sentence (left-padded with ``<s>``); ``-inf`` where an
        unsmoothed model gives 0. The words :mod:`lmcourse.scoring` scores for every family."""
        self._check_fitted()
        contexts, words = self._windows(sentences)
        with np.errstate(divide="ignore"):
            return np.log(self._probs(contexts, words))

    def perplexity(self, sentences: Sentences) -> float:
        """exp of the mean negative log-probability of every word (end symbols are not scored,
        so models of every order are measured on the same tokens). ``inf`` if any word gets 0."""
        return float(np.exp(-np.mean(self.token_logprobs(sentences))))

    # --- prediction and sampling ---------------------------------------------------------------
    def _prompt_context(self, context: str | Sequence[str]) -> list[str]:
        if isinstance(context, str):  # typed text starts a sentence; empty text is that start
            return [BOS] * (self.order - 1) + tokenize(check_text(context, self.input_rules))
        return list(check_words(context, "context"))

    def next_words(self, context: str | Sequence[str] = (), k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` most likely next words and their probabilities (``<s>`` and ``<UNK>`` left out).

        A string is tokenised and read as the start of a sentence; a tuple is used as given.
        """
        k = check_k(k)
        probs = self.distribution(self._prompt_context(context))
        order = np.lexsort((np.arange(self._V), -probs))
        out = [(self.vocab.words[i], float(probs[i])) for i in order
               if self.vocab.words[i] not in (BOS, UNK) and probs[i] > 0]
        return out[:k]

    def predict(self, text: str, k: int = 5) -> list[tuple[str, float]]:
        """The predictor protocol of :mod:`lmcourse.protocol`: top-k next words after ``text``."""
        return self.next_words(check_text(text, self.input_rules), k)

    def unknown_words(self, text: str) -> list[str]:
        """Words of ``text`` that the model never saw in training (it reads them as ``<UNK>``)."""
        self._check_fitted()
        return list(dict.fromkeys(t for t in tokenize(text) if t not in self.vocab))

    def generate(self, prompt: str | Sequence[str] = "", length: int = 20, temperature: float = 1.0,
                 seed: int | None = None) -> list[str]:
        """Sample ``length`` words after ``prompt``; lower temperature -> more predictable text.

        After an end-of-sentence symbol the context starts afresh. Where an MLE model has never
        seen a context it backs off to a shorter one, so sampling never gets stuck.
        """
        self._check_fitted()
        length, temperature = check_length(length), check_temperature(temperature)
        rng = np.random.default_rng(check_seed(seed))
        pads = [BOS] * (self.order - 1)
        context = self._prompt_context(prompt)
        banned = np.isin(np.arange(self._V), self.vocab.ids([BOS, UNK]))
        out: list[str] = []
        while len(out) < length:
            recent = context[-(self.order - 1):] if self.order > 1 else []
            for start in range(len(recent) + 1):  # back off until some word has probability
                probs = np.where(banned, 0.0, self.distribution(recent[start:]))
                if probs.sum() > 0:
                    break
            with np.errstate(divide="ignore"):
                logits = np.log(probs) / temperature
            weights = np.exp(logits - logits.max())
            word = self.vocab.words[rng.choice(self._V, p=weights / weights.sum())]
            if word == EOS:
                context = list(pads)
                continue
            out.append(word)
            context.append(word)
        return out
