"""lmcourse.ngrams: the hand-written n-gram engine, checked against nltk.lm and by hand."""

from __future__ import annotations

import math
import random
from collections import Counter

import numpy as np
import pytest

from lmcourse.data import load_book, load_course_corpus
from lmcourse.ngrams import NGramModel, ngrams, pad
from lmcourse.text import BOS, EOS, UNK, tokenize_sentences

CLASSIC = ("Language models are a subset of machine learning models that are trained to predict "
           "the next word in a sequence.")
UNSEEN = ("zyzzyva", "quux")  # never in any training text here

TOY = [["the", "cat", "sat", "on", "the", "mat", "."],
       ["the", "dog", "sat", "."],
       ["a", "cat", "saw", "the", "dog", "."],
       ["the", "cat", "ran", "!"]]


@pytest.fixture(scope="module")
def corpus():
    return load_course_corpus()


@pytest.fixture(scope="module")
def small(corpus):
    """A few hundred real sentences: enough variety, small enough for nltk.lm to be quick."""
    return corpus.train[:250]


def nltk_model(kind: str, order: int, sentences):
    """nltk.lm's model of ``kind`` (a test dependency: only the tests that compare with it need it)."""
    nltk_lm = pytest.importorskip("nltk.lm", reason="nltk is a test dependency: pip install -e '.[test]'")
    from nltk.lm.preprocessing import padded_everygram_pipeline

    train, vocab = padded_everygram_pipeline(order, sentences)
    model = getattr(nltk_lm, kind)(order)
    model.fit(train, vocab)
    return model


def contexts_to_check(sentences, order: int, rng: random.Random) -> list[tuple[str, ...]]:
    """Contexts of every length 0..order-1: seen ones, unseen ones and partly unseen ones."""
    seen = sorted({g for s in sentences for m in range(1, order) for g in ngrams(pad(s, order), m)})
    out: list[tuple[str, ...]] = [()]
    for m in range(1, order):
        of_length = [c for c in seen if len(c) == m]
        out += rng.sample(of_length, 6)
        out.append(UNSEEN[:1] * m)  # wholly unseen
        if m > 1:
            out.append(UNSEEN[:1] + of_length[0][1:])  # partly unseen, at the front
            out.append(of_length[1][:-1] + UNSEEN[:1])  # partly unseen, at the end
            out.append((BOS,) * m)  # the start of a sentence
    return out


def compare_with_nltk(sentences, order: int, n_words: int = 60, seed: int = 0) -> int:
    """Assert MLE and Laplace agree with nltk.lm on many (word, context) pairs; return how many."""
    rng = random.Random(seed)
    checked = 0
    for smoothing, kind in (("mle", "MLE"), ("laplace", "Laplace")):
        ours = NGramModel(order, smoothing).fit(sentences)
        theirs = nltk_model(kind, order, sentences)
        assert len(ours.vocab) == len(theirs.vocab)
        assert set(ours.vocab.words) == set(theirs.vocab)
        for context in contexts_to_check(sentences, order, rng):
            # every word seen after this context, a random sample of others, and unseen words
            followers = {g[-1] for s in sentences for g in ngrams(pad(s, order), len(context) + 1)
                         if g[:-1] == context}
            words = sorted(followers) + rng.sample(ours.vocab.words, n_words) + list(UNSEEN) + [EOS]
            for word in words:
                expected = theirs.score(word, context or None)
                assert ours.prob(word, context) == pytest.approx(expected, rel=1e-12, abs=1e-12), \
                    (smoothing, order, word, context)
                checked += 1
            # the whole distribution at once, against nltk word by word
            dist = ours.distribution(context)
            expected = [theirs.score(w, context or None) for w in ours.vocab.words]
            np.testing.assert_allclose(dist, expected, rtol=1e-12, atol=1e-12)
            if smoothing == "mle" and followers:
                assert any(ours.prob(w, context) > 0 for w in followers)
    return checked


# --- the classic example -------------------------------------------------------------------
def test_classic_example_bigrams():
    assert ngrams(CLASSIC.split(" "), 2)[:5] == [
        ("Language", "models"), ("models", "are"), ("are", "a"), ("a", "subset"), ("subset", "of")]


def test_ngrams_of_any_order():
    tokens = "a b c d".split()
    assert ngrams(tokens, 1) == [("a",), ("b",), ("c",), ("d",)]
    assert ngrams(tokens, 3) == [("a", "b", "c"), ("b", "c", "d")]
    assert ngrams(tokens, 5) == []
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        ngrams(tokens, 0)


def test_pad_like_nltk():
    assert pad(["a", "b"], 3) == [BOS, BOS, "a", "b", EOS, EOS]
    assert pad(["a"], 1) == ["a"]


# --- against nltk.lm -----------------------------------------------------------------------
@pytest.mark.parametrize("order", [1, 2, 3])
def test_mle_and_laplace_equal_nltk(order, small):
    assert compare_with_nltk(small, order) > 1000


def test_mle_and_laplace_equal_nltk_on_a_real_book(shared_corpora):
    sentences = tokenize_sentences(load_book("persuasion"))[:300]
    assert compare_with_nltk(sentences, 3, n_words=40, seed=1) > 1000


def test_toy_probabilities_by_hand():
    model = NGramModel(2).fit(TOY)
    assert model.prob("cat", ("the",)) == pytest.approx(2 / 5)  # "the" is followed 5 times
    assert model.prob("the", (BOS,)) == pytest.approx(3 / 4)
    assert model.prob(EOS, (".",)) == 1.0
    assert model.prob("dog", ("cat",)) == 0.0
    assert model.logprob("dog", ("cat",)) == -math.inf
    assert model.logprob("cat", ("the",)) == pytest.approx(math.log(2 / 5))
    laplace = NGramModel(2, "laplace").fit(TOY)
    V = len(laplace.vocab)
    assert V == 14  # 11 words, <s>, </s> and <UNK>
    assert laplace.prob("cat", ("the",)) == pytest.approx(3 / (5 + V))
    addk = NGramModel(2, "add-k", k=0.5).fit(TOY)
    assert addk.prob("cat", ("the",)) == pytest.approx(2.5 / (5 + 0.5 * V))
    assert addk.prob("zyzzyva", ("the",)) == pytest.approx(0.5 / (5 + 0.5 * V))


def test_count_matches_a_hand_counter():
    order = 3
    model = NGramModel(order).fit(TOY)
    hand = Counter(g for s in TOY for n in range(1, order + 1) for g in ngrams(pad(s, order), n))
    for gram, n in hand.items():
        assert model.count(gram) == n, gram
    for j in (1, 2, 3):
        assert model.num_ngrams(j) == sum(1 for g in hand if len(g) == j)
    assert model.count(("the", "cat")) == 2 and model.count((BOS, BOS, "the")) == 3
    assert model.count(("cat", "the")) == 0
    assert model.count(("zyzzyva",)) == 0
    with pytest.raises(ValueError, match="ngram must have 1 to 3 words, got 4"):
        model.count(("a", "b", "c", "d"))


def test_unseen_words_map_to_unk():
    model = NGramModel(2, "laplace").fit(TOY)
    assert model.prob("zyzzyva", ("the",)) == model.prob(UNK, ("the",)) == model.prob("quux", ("the",))
    assert model.prob("cat", ("zyzzyva",)) == model.prob("cat", (UNK,)) == pytest.approx(1 / len(model.vocab))
    assert model.unknown_words("The zyzzyva and the cat") == ["zyzzyva", "and"]


# --- smoothed distributions sum to one -----------------------------------------------------
SMOOTHED = ([("laplace", {})] + [("add-k", {"k": k}) for k in (0.01, 0.5, 2.0)]
            + [("kneser-ney", {"discount": d}) for d in (0.1, 0.75, 1.0)])


@pytest.mark.parametrize("smoothing, options", SMOOTHED)
@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_smoothed_distributions_sum_to_one(order, smoothing, options, small):
    model = NGramModel(order, smoothing, **options).fit(small)
    seen = ngrams(pad(small[3], order), order)
    contexts = [(), (BOS,) * (order - 1), UNSEEN[:1] * (order - 1), ("the",), ("the", "zyzzyva"),
                ("zyzzyva", "the"), ("zyzzyva", "of", "the")]
    contexts += [g[:-1] for g in seen[:4]]
    for context in contexts:
        dist = model.distribution(context)
        assert dist.shape == (len(model.vocab),)
        assert (dist > 0).all(), context
        assert dist.sum() == pytest.approx(1.0, abs=1e-9), (context, dist.sum())
    # distribution() and prob() tell the same story
    context = seen[2][:-1]
    dist = model.distribution(context)
    for i in (0, 1, 5, 50, len(model.vocab) - 1):
        assert model.prob(model.vocab.words[i], context) == pytest.approx(dist[i], rel=1e-12)


def test_mle_distribution_sums_to_one_for_a_seen_context(small):
    model = NGramModel(3).fit(small)
    assert model.distribution((BOS, BOS)).sum() == pytest.approx(1.0)
    assert model.distribution(("zyzzyva", "quux")).sum() == 0.0


# --- perplexity ----------------------------------------------------------------------------
def hand_perplexity(model: NGramModel, sentences) -> float:
    """exp(mean -log P(word | previous order-1 words)); <s>-padded on the left; </s> not scored."""
    nll = []
    for s in sentences:
        padded = [BOS] * (model.order - 1) + list(s)
        for i in range(model.order - 1, len(padded)):
            nll.append(-math.log(model.prob(padded[i], tuple(padded[i - model.order + 1:i]))))
    return math.exp(sum(nll) / len(nll))


@pytest.mark.parametrize("order", [1, 2, 3])
def test_perplexity_by_hand(order, corpus, small):
    model = NGramModel(order, "kneser-ney").fit(small)
    held_out = corpus.test[:20]
    assert model.perplexity(held_out) == pytest.approx(hand_perplexity(model, held_out), rel=1e-9)


def test_perplexity_of_a_toy_sentence():
    model = NGramModel(2).fit(TOY)
    # P(the|<s>) P(cat|the) P(sat|cat) P(.|sat) = 3/4 * 2/5 * 1/3 * 1/2
    expected = (3 / 4 * 2 / 5 * 1 / 3 * 1 / 2) ** (-1 / 4)
    assert model.perplexity([["the", "cat", "sat", "."]]) == pytest.approx(expected)


@pytest.mark.parametrize("smoothing, options", SMOOTHED)
@pytest.mark.parametrize("order", [1, 2, 3])
def test_smoothed_perplexity_is_finite_also_with_unseen_words(order, smoothing, options, corpus, small):
    model = NGramModel(order, smoothing, **options).fit(small)
    odd = [["the", "zyzzyva", "quux", "sat", "."], ["zyzzyva"]]
    for text in (corpus.test, odd, corpus.test + odd):
        value = model.perplexity(text)
        assert math.isfinite(value) and value > 1, (text[:1], value)


def test_mle_perplexity_is_infinite_when_a_word_is_unseen(small):
    for order in (1, 2, 3):
        model = NGramModel(order).fit(small)
        assert math.isfinite(model.perplexity(small[:10]))
        assert model.perplexity(small[:10] + [["the", "zyzzyva", "."]]) == math.inf


def test_kneser_ney_perplexity_falls_with_order_on_the_course_corpus(corpus):
    values = [NGramModel(n, "kneser-ney").fit(corpus.train).perplexity(corpus.test) for n in (1, 2, 3)]
    unigram, bigram, trigram = values
    assert trigram < bigram < unigram
    assert bigram < 0.6 * unigram  # context helps a lot; values are about 400, 190, 190
    mle = NGramModel(1).fit(corpus.train).perplexity(corpus.test)
    assert mle == math.inf  # the test split has words the training split never had


# --- bad input -----------------------------------------------------------------------------
@pytest.mark.parametrize("order", [0, -1, 2.5, "2", None, True])
def test_order_must_be_a_positive_integer(order):
    with pytest.raises(ValueError, match=r"order must be an integer >= 1, got"):
        NGramModel(order)


def test_numpy_integer_order_is_accepted():
    assert NGramModel(np.int64(2)).order == 2


def test_bad_options_name_the_argument():
    for k in (-0.5, 0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match=rf"k must be > 0 for add-k smoothing, got {k}"):
            NGramModel(2, "add-k", k=k)
    with pytest.raises(ValueError, match=r"smoothing must be one of mle, laplace, add-k, kneser-ney; "
                                         r"got 'witten-bell'"):
        NGramModel(2, "witten-bell")
    with pytest.raises(ValueError, match=r"discount must be in \(0, 1\], got 1.5"):
        NGramModel(2, "kneser-ney", discount=1.5)


@pytest.mark.parametrize("sentences", [[], [[], []], iter([])])
def test_empty_corpus_is_rejected(sentences):
    with pytest.raises(ValueError, match="sentences must hold at least one non-empty sentence"):
        NGramModel(2, "laplace").fit(sentences)


def test_bad_sampling_arguments(small):
    model = NGramModel(2, "kneser-ney").fit(small)
    for temperature in (0, -1.0, float("nan"), float("inf"), "hot", True):
        with pytest.raises(ValueError, match="temperature must be a finite number > 0, got"):
            model.generate("the", length=5, temperature=temperature)
    for length in (-1, 2.5, True):
        with pytest.raises(ValueError, match=rf"length must be a whole number >= 0, got {length}"):
            model.generate("the", length=length)
    for k in (0, 2.5, True, None):
        with pytest.raises(ValueError, match=rf"k must be a whole number >= 1, got {k}"):
            model.next_words("the", k=k)
    assert len(model.generate("the", length=np.int64(4), temperature=np.float32(0.7), seed=np.int64(1))) == 4
    assert len(model.next_words("the", k=np.int32(3))) == 3
    with pytest.raises(ValueError, match="sentences must hold at least one non-empty sentence"):
        model.perplexity([[]])
    with pytest.raises(RuntimeError, match="call fit"):
        NGramModel(2).prob("the")


def test_text_where_tokens_belong_is_refused_not_read_letter_by_letter(small):
    with pytest.raises(ValueError, match=r"sentences must be a list of token lists .* got a string; "
                                         r"split text with lmcourse.text.tokenize_sentences"):
        NGramModel(2).fit("some text")
    with pytest.raises(ValueError, match=r"each sentence must be a list of tokens .* got the string 'a sentence'"):
        NGramModel(2).fit(["a sentence"])
    model = NGramModel(2, "laplace").fit(small)
    with pytest.raises(ValueError, match=r"context must be a tuple of words such as \('the',\), "
                                         r"got the string 'the'"):
        model.prob("sea", "the")
    for call in (lambda: model.logprob("sea", "the"), lambda: model.distribution("the"),
                 lambda: model.count("the cat"), lambda: model.perplexity("the cat sat")):
        with pytest.raises(ValueError, match="got (a|the) string"):
            call()
    assert model.prob("cat", ("the",)) == model.prob("cat", ["the"])  # a list of words is fine


# --- prediction and sampling ---------------------------------------------------------------
def test_next_words_sorted_without_start_or_unknown(small):
    model = NGramModel(2, "laplace").fit(small)
    every = model.next_words(("the",), k=len(model.vocab))
    assert len(every) == len(model.vocab) - 2  # all but <s> and <UNK>
    labels = [w for w, _ in every]
    assert BOS not in labels and UNK not in labels and EOS in labels
    probs = [p for _, p in every]
    assert probs == sorted(probs, reverse=True)
    dist = model.distribution(("the",))
    assert every[0] == (model.vocab.words[int(np.argmax(dist))], pytest.approx(dist.max()))
    top = model.next_words(("the",), k=5)
    assert top == every[:5]
    assert all(p == pytest.approx(model.prob(w, ("the",))) for w, p in top)


def test_next_words_reads_typed_text_as_a_sentence_start():
    model = NGramModel(2).fit(TOY)
    assert model.next_words("") == [("the", 0.75), ("a", 0.25)]  # after <s>
    # "the" is followed by cat twice, dog twice, mat once; ties keep the vocabulary's order
    assert model.next_words("The") == [("cat", 0.4), ("dog", 0.4), ("mat", 0.2)]
    assert model.predict("the cat", 2) == model.next_words("the cat", 2) == [("sat", 1 / 3), ("ran", 1 / 3)]
    assert model.next_words("zyzzyva") == []  # MLE: nothing ever followed <UNK>
    trigram = NGramModel(3).fit(TOY)
    assert trigram.next_words("the") == [("cat", 2 / 3), ("dog", 1 / 3)]  # (<s>, the) at a start
    assert trigram.next_words(("saw", "the")) == [("dog", 1.0)]


def test_generate_is_reproducible_with_a_seed(corpus):
    model = NGramModel(3, "kneser-ney").fit(corpus.train)
    first = model.generate("the weather", length=30, temperature=1.0, seed=1)
    assert len(first) == 30
    assert model.generate("the weather", length=30, temperature=1.0, seed=1) == first
    assert model.generate("the weather", length=30, temperature=1.0, seed=2) != first
    assert all(w not in (BOS, EOS, UNK) for w in first)
    assert model.generate("the weather", length=0, seed=1) == []


def test_low_temperature_approaches_the_most_likely_word(corpus):
    model = NGramModel(2, "kneser-ney").fit(corpus.train)
    prompt = "the weather"
    (best, p1), (_, p2) = model.next_words(prompt, k=2)
    assert best != EOS and p1 > 1.2 * p2  # a clear favourite, so the test is about temperature

    def share_of_best(temperature: float) -> float:
        picks = [model.generate(prompt, 1, temperature, seed)[0] for seed in range(40)]
        return picks.count(best) / len(picks)

    hot, warm, cold = share_of_best(1.5), share_of_best(0.5), share_of_best(0.01)
    assert cold == 1.0
    assert hot < warm <= cold
    assert hot < 0.5


def test_greedy_text_at_very_low_temperature(corpus):
    """At temperature 0.01 sampling follows the argmax at every step (the end symbol restarts)."""
    model = NGramModel(2, "kneser-ney").fit(corpus.train)
    context, greedy = [BOS, "the"], []
    while len(greedy) < 8:
        dist = model.distribution(context[-1:])
        dist[model.vocab.ids([BOS, UNK])] = 0
        top2 = np.sort(dist)[-2:]
        assert top2[1] > 1.1 * top2[0]  # no near-tie on this path (1.1 ** 100 > 10,000)
        word = model.vocab.words[int(np.argmax(dist))]
        context = [BOS] if word == EOS else context + [word]
        if word != EOS:
            greedy.append(word)
    for seed in (0, 1, 2):
        assert model.generate("the", length=8, temperature=0.01, seed=seed) == greedy


def test_mle_generation_backs_off_instead_of_getting_stuck():
    model = NGramModel(3).fit(TOY)
    words = model.generate("zyzzyva quux", length=12, seed=0)
    assert len(words) == 12 and set(words) <= set(model.vocab.words) - {BOS, EOS, UNK}


def test_repr_names_order_smoothing_and_vocabulary():
    assert repr(NGramModel(3, "kneser-ney")) == "NGramModel(order=3, smoothing='kneser-ney', not fitted)"
    assert repr(NGramModel(2).fit(TOY)) == "NGramModel(order=2, smoothing='mle', vocabulary=14 words)"
