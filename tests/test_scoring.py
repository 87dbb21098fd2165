"""lmcourse.scoring: one context rule and one table for every model family."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lmcourse import scoring
from lmcourse.data import load_course_corpus
from lmcourse.ngrams import NGramModel


@pytest.fixture(scope="module")
def corpus():
    return load_course_corpus()


def test_ngram_word_logprobs_are_what_its_perplexity_is_made_of(corpus):
    for order, smoothing in scoring.NGRAM_BASELINES.values():
        model = NGramModel(order, smoothing).fit(corpus.train)
        logprobs = model.token_logprobs(corpus.test)
        assert len(logprobs) == corpus.num_tokens("test")
        assert scoring.perplexity(logprobs) == pytest.approx(model.perplexity(corpus.test), rel=1e-12)


def test_ngrams_restart_at_each_sentence():
    model = NGramModel(3, "kneser-ney").fit([["a", "b", "c"], ["c", "b", "a"]])
    together = model.token_logprobs([["a", "b"], ["c", "a"]])
    apart = np.concatenate([model.token_logprobs([s]) for s in (["a", "b"], ["c", "a"])])
    np.testing.assert_array_equal(together, apart)


def test_score_splits_known_and_unknown_words():
    s = scoring.score(np.log([0.5, 0.25, 0.01, 0.5]), np.array([False, False, True, False]))
    assert s.known == pytest.approx(math.exp(-np.mean(np.log([0.5, 0.25, 0.5]))))
    assert s.unknown == pytest.approx(100) and s.unknown_share == 0.25
    with pytest.raises(ValueError, match="one log-probability per word"):
        scoring.score(np.zeros(3), np.zeros(2, dtype=bool))


class Uniform:
    """A model that gives every word the same probability: perplexity = the vocabulary size."""

    def token_logprobs(self, sentences):
        return np.full(sum(map(len, sentences)), -math.log(1000))


def test_compare_takes_any_model_with_word_logprobs(corpus):
    scores = scoring.compare(corpus.train, corpus.test, {"uniform": Uniform()}, baselines={})
    assert list(scores) == ["uniform"]
    assert scores["uniform"].perplexity == pytest.approx(1000)
    assert "uniform" in scoring.table(scores) and "known words" in scoring.table(scores)


def test_data_size_curve_trains_each_family_on_growing_shares(corpus):
    seen = []

    def train(sentences, valid):
        seen.append(len(sentences))
        return Uniform()

    rows = scoring.data_size_curve(corpus, (0.5, 1.0), {"uniform": train})
    assert seen == [round(len(corpus.train) / 2), len(corpus.train)]
    assert [r["train tokens"] for r in rows] == sorted(r["train tokens"] for r in rows)
    assert rows[1]["trigram (Kneser-Ney)"].perplexity < rows[0]["trigram (Kneser-Ney)"].perplexity
    with pytest.raises(ValueError, match=r"fractions must be in \(0, 1\]"):
        scoring.data_size_curve(corpus, (0,), {})
