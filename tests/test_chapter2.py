"""Chapter 2's exercises: each check accepts the right answer, explains a wrong one with a hint,
says "No answer yet" for ``...``; and each solution a student can open passes its own check."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from lmcourse import exercises
from lmcourse.exercises import (Feedback, check_kn_discount, check_mle, check_next_word_sampler,
                                check_padded_ngram_count, check_perplexity)
from lmcourse.ngrams import NGramModel, ngrams, pad

TOY = [["the", "cat", "sat", "on", "the", "mat", "."],
       ["the", "dog", "sat", "."],
       ["a", "cat", "saw", "the", "dog", "."],
       ["the", "cat", "ran", "!"]]
TOY_VALID = [["the", "dog", "sat", "on", "the", "mat", "."], ["a", "cat", "sat", "."]]


def assert_wrong(feedback: Feedback, *phrases: str) -> None:
    assert not feedback.ok and not feedback
    assert "Hint:" in feedback.message
    for phrase in phrases:
        assert phrase in feedback.message, feedback.message


def assert_missing(feedback: Feedback) -> None:
    assert not feedback.ok
    assert feedback.message.startswith("No answer yet: replace ... with"), feedback.message


# --- exercise 1: trigrams of a padded sentence -------------------------------------------------
def test_padded_ngram_count_is_what_the_model_counts():
    tokens = "language models predict the next word .".split()
    for order in (1, 2, 3, 4):
        model = NGramModel(order).fit([tokens])
        counted = sum(model.count(g) for g in set(ngrams(pad(tokens, order), order)))
        assert counted == len(tokens) + order - 1
        assert check_padded_ngram_count(tokens, order, counted).ok
    assert check_padded_ngram_count(tokens, 3, 9).message == (
        "Correct: the number of 3-grams in the padded sentence (7 tokens before padding) is 9.")
    assert_wrong(check_padded_ngram_count(tokens, 3, len(tokens) - 2), "5 is too low", "2 <s> in front")
    assert_wrong(check_padded_ngram_count(tokens, 3, len(tokens) + 4), "11 is too high")
    assert_missing(check_padded_ngram_count(tokens, 3, ...))


# --- exercises 2 and 3 are tested in test_exercises.py (check_mle, check_perplexity) -------------

# --- exercise 4: a next-word sampler -------------------------------------------------------------
def right_sampler(model, context, rng):
    probs = model.distribution(context)
    return model.vocab.words[rng.choice(len(probs), p=probs)]


def test_next_word_sampler_accepts_samplers_that_follow_the_model(kn3):
    assert check_next_word_sampler(kn3, ("on", "the"), right_sampler).ok
    # Another source of randomness than the rng passed in is fine, as long as the shares are right.
    other = np.random.default_rng(12345)
    feedback = check_next_word_sampler(kn3, ("on", "the"), lambda m, c, rng: right_sampler(m, c, other))
    assert feedback.ok, feedback.message
    assert feedback.message.startswith("Correct: in 2,000 draws after 'on the'")


def test_next_word_sampler_refuses_samplers_with_the_wrong_shares(kn3):
    top = kn3.next_words(("on", "the"), k=1)[0][0]

    def greedy(model, context, rng):
        return model.vocab.words[int(np.argmax(model.distribution(context)))]

    def uniform(model, context, rng):
        return model.vocab.words[rng.integers(len(model.vocab))]

    def last_word_only(model, context, rng):  # a bigram's view: ignores "on"
        return right_sampler(model, context[-1:], rng)

    def no_context(model, context, rng):
        return right_sampler(model, (), rng)

    assert_wrong(check_next_word_sampler(kn3, ("on", "the"), greedy), f"{top!r} came out 100.0% of the time")
    for wrong in (uniform, last_word_only, no_context):
        assert_wrong(check_next_word_sampler(kn3, ("on", "the"), wrong), "Not quite", "model.distribution")


def test_next_word_sampler_explains_what_it_could_not_use(kn3):
    assert_wrong(check_next_word_sampler(kn3, ("on", "the"), lambda m, c, rng: 3), "returned 3", "a string")
    assert_wrong(check_next_word_sampler(kn3, ("on", "the"), lambda m, c, rng: "qwxz"), "not in the model's vocabulary")
    assert_wrong(check_next_word_sampler(kn3, ("on", "the"), lambda m, c, rng: 1 / 0),
                 "raised ZeroDivisionError")
    assert_wrong(check_next_word_sampler(kn3, ("on", "the"), "day"), "Expected a function")
    assert_missing(check_next_word_sampler(kn3, ("on", "the"), ...))


# --- exercise 5: tuning the Kneser-Ney discount ----------------------------------------------------
def test_kn_discount_is_the_lowest_validation_perplexity():
    discounts = [0.1, 0.4, 0.7, 1.0]
    perplexity = {d: NGramModel(3, "kneser-ney", discount=d).fit(TOY).perplexity(TOY_VALID) for d in discounts}
    best = min(perplexity, key=perplexity.get)
    worst = max(perplexity, key=perplexity.get)
    assert perplexity[worst] > perplexity[best] * 1.01  # the choice matters on this data
    feedback = check_kn_discount(TOY, TOY_VALID, discounts, best)
    assert feedback.ok and feedback.message.startswith(f"Correct: discount {best:g} gives")
    assert_wrong(check_kn_discount(TOY, TOY_VALID, discounts, worst), f"{perplexity[worst]:.1f}",
                 "validation split (not the test split)")
    assert_wrong(check_kn_discount(TOY, TOY_VALID, discounts, 0.55), "not one of the discounts to try")
    assert_missing(check_kn_discount(TOY, TOY_VALID, discounts, ...))


# --- the solutions ---------------------------------------------------------------------------------
def test_chapter_2_solutions_pass_their_own_checks(capsys, corpus, kn3):
    """The solutions a student opens are run with the names the notebook's exercise cells have."""
    tokens = "language models are a subset of machine learning models .".split()
    bigram_mle = NGramModel(2, "mle").fit(corpus.train)
    probabilities = [0.2, 0.1, 0.5, 0.05]
    discounts = [0.25, 0.5, 0.75, 1.0]
    small = SimpleNamespace(train=corpus.train[:400], valid=corpus.valid[:60])  # a quicker discount search
    checks = {"padded-trigrams": lambda a: check_padded_ngram_count(tokens, 3, a),
              "mle-by-hand": lambda a: check_mle(bigram_mle, "water", ("the",), a),
              "perplexity-by-hand": lambda a: check_perplexity(probabilities, a),
              "sample-next": lambda a: check_next_word_sampler(kn3, ("on", "the"), a),
              "kn-discount": lambda a: check_kn_discount(small.train, small.valid, discounts, a)}
    assert {name for name in exercises.SOLUTIONS if name in checks} == set(checks)
    for name, check in checks.items():
        exercises.show_solution(name)
        code = capsys.readouterr().out
        namespace = {"tokens": tokens, "ngrams": ngrams, "bigram_mle": bigram_mle, "probabilities": probabilities,
                     "kn3": kn3, "corpus": small, "discounts": discounts, "NGramModel": NGramModel}
        exec(code, namespace)
        feedback = check(namespace["answer"])
        assert feedback.ok, (name, feedback.message)
