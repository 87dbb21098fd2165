"""Chapter 1's exercises: each check accepts the right answer and explains a wrong one, and each
solution a student can open passes its own check, on the chapter's first-taste model."""

from __future__ import annotations

import math

import pytest

from lmcourse import exercises, plots
from lmcourse.data import load_course_corpus
from lmcourse.exercises import (check_milestone_year, check_next_word, check_sentence_probability,
                                sentence_probability)
from lmcourse.ngrams import NGramModel

SENTENCES = [["the", "cat", "sat", "."], ["the", "dog", "sat", "."], ["a", "cat", "ran", "."]]
MILESTONES = [(1948, "Shannon: letter and\nword statistics"), (1951, "Shannon: people guess\nthe next letter"),
              (2017, "The Transformer")]


@pytest.fixture(scope="module")
def bigram():
    return NGramModel(2).fit(SENTENCES)


@pytest.fixture(scope="module")
def first_taste():
    """The chapter's model: a Kneser-Ney trigram on the course corpus."""
    return NGramModel(3, "kneser-ney").fit(load_course_corpus().train)


def assert_wrong(feedback, *phrases: str) -> None:
    assert not feedback.ok and not feedback
    assert "Hint:" in feedback.message
    for phrase in phrases:
        assert phrase in feedback.message


def assert_missing(feedback) -> None:
    assert not feedback.ok
    assert feedback.message.startswith("No answer yet: replace ... with")


def test_next_word(bigram):
    # After "the": "cat" and "dog" each follow it once, so they tie and either is right.
    assert bigram.prob("cat", ("the",)) == bigram.prob("dog", ("the",)) == 0.5
    assert check_next_word(bigram, "the", "cat").ok
    assert check_next_word(bigram, "the", "dog").ok
    assert check_next_word(bigram, "the", " Cat ").ok  # the model's words are lower case
    assert check_next_word(bigram, "the cat", "sat").ok  # "cat" is followed by "sat" and "ran" once each
    assert check_next_word(bigram, "a cat sat", ".").ok
    assert_wrong(check_next_word(bigram, "the cat sat", "the"), "never predicts 'the'", "model.predict")
    assert_wrong(check_next_word(bigram, "the", "piano"), "never predicts 'piano'")
    assert_wrong(check_next_word(bigram, "the", ("cat", 0.5)), "got the pair")
    assert_wrong(check_next_word(bigram, "the", 3), "a word in quotes")
    assert_missing(check_next_word(bigram, "the", ...))


def test_next_word_on_the_chapters_model(first_taste):
    word, p = first_taste.next_words("language models are", k=1)[0]
    assert (word, round(p, 3)) == ("trained", 0.252)  # as chapter 1 prints it
    assert check_next_word(first_taste, "language models are", "trained").ok
    assert_wrong(check_next_word(first_taste, "language models are", "a"), "probability 0.040")


def test_sentence_probability(bigram):
    # By hand: P(the | <s>) = 2/3, P(cat | the) = 1/2, P(sat | cat) = 1/2.
    right = 2 / 3 * 1 / 2 * 1 / 2
    assert sentence_probability(bigram, ["the", "cat", "sat"]) == pytest.approx(right)
    assert check_sentence_probability(bigram, ["the", "cat", "sat"], right).ok
    assert check_sentence_probability(bigram, ["the", "cat", "sat"], math.exp(math.log(right))).ok
    no_start = bigram.prob("the") * 1 / 2 * 1 / 2  # forgot the <s> context of the first word
    assert_wrong(check_sentence_probability(bigram, ["the", "cat", "sat"], no_start), "too low", "('<s>',)")
    assert_wrong(check_sentence_probability(bigram, ["the", "cat", "sat"], 2 / 3 + 1 / 2 + 1 / 2), "too high")
    assert_wrong(check_sentence_probability(bigram, ["the", "cat", "sat"], "a third"), "Expected a number")
    assert_missing(check_sentence_probability(bigram, ["the", "cat", "sat"], ...))


def test_sentence_probability_is_relative_even_when_tiny(first_taste):
    words = "the dog sat on the piano in the garden".split()
    tiny = sentence_probability(first_taste, words)
    assert 0 < tiny < 1e-12
    assert check_sentence_probability(first_taste, words, tiny).ok
    assert_wrong(check_sentence_probability(first_taste, words, tiny * 2), "too high")
    assert_wrong(check_sentence_probability(first_taste, words, 0), "too low")


def test_sentence_probability_uses_two_start_symbols_for_a_trigram(first_taste):
    words = ["language", "models", "are", "trained"]
    by_hand = (first_taste.prob("language", ("<s>", "<s>")) * first_taste.prob("models", ("<s>", "language"))
               * first_taste.prob("are", ("language", "models")) * first_taste.prob("trained", ("models", "are")))
    assert sentence_probability(first_taste, words) == pytest.approx(by_hand, rel=1e-12)
    assert check_sentence_probability(first_taste, words, by_hand).ok
    assert_wrong(check_sentence_probability(first_taste, words, 0.5), "('<s>', '<s>')", "the last 2 words")


def test_milestone_year():
    assert check_milestone_year(MILESTONES, "guess", 1951).ok
    assert check_milestone_year(MILESTONES, "GUESS", "1951").ok
    assert check_milestone_year(MILESTONES, "guess", 1951).message == (
        "Correct: 'Shannon: people guess the next letter' is from 1951.")
    assert_wrong(check_milestone_year(MILESTONES, "guess", 1948), "the year of 'Shannon: letter and word statistics'")
    assert_wrong(check_milestone_year(MILESTONES, "guess", 1960), "too late")
    assert_wrong(check_milestone_year(MILESTONES, "guess", 1900), "too early")
    assert_missing(check_milestone_year(MILESTONES, "guess", ...))
    with pytest.raises(ValueError, match="matches 2"):
        check_milestone_year(MILESTONES, "Shannon", 1948)
    with pytest.raises(ValueError, match="matches 0"):
        check_milestone_year(MILESTONES, "GPT", 2018)


def test_the_timeline_tells_shannons_two_papers_apart():
    """1948: statistical approximations of English; 1951: people guessing the next letter."""
    shannon = [(year, " ".join(label.split())) for year, label in plots.MILESTONES if "Shannon" in label]
    assert [year for year, _ in shannon] == [1948, 1951]
    assert "statistics" in shannon[0][1] and "guess" in shannon[1][1]
    assert check_milestone_year(plots.MILESTONES, "guess", 1951).ok


def test_chapter_1_solutions_pass_their_own_checks(capsys, first_taste):
    """The solutions a student opens are run here with the names the notebook's cells have."""
    prompt = "every saturday morning she"
    words = ["language", "models", "are", "trained"]
    checks = {"next-word": lambda a: exercises.check_next_word(first_taste, prompt, a),
              "sentence-probability": lambda a: exercises.check_sentence_probability(first_taste, words, a),
              "guessing-year": lambda a: exercises.check_milestone_year(plots.MILESTONES, "guess", a)}
    assert set(checks) <= set(exercises.SOLUTIONS)
    for name, check in checks.items():
        exercises.show_solution(name)
        code = capsys.readouterr().out
        namespace = {"model": first_taste, "prompt": prompt, "words": list(words), "plots": plots}
        exec(code, namespace)
        assert check(namespace["answer"]).ok, name
