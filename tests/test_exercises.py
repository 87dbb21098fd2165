"""lmcourse.exercises: every self-check accepts the right answer and explains a wrong one."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from lmcourse.exercises import (Feedback, check_accuracy_from_confusion, check_attention_weight,
                                check_block_parameters, check_causal_mask, check_greedy_temperature, check_mle, check_padded_positions,
                                check_padding_count, check_perplexity, check_perplexity_from_losses,
                                check_recall, check_top_label)
from lmcourse.ngrams import NGramModel

SENTENCES = [["the", "cat", "sat", "."], ["the", "dog", "sat", "."], ["a", "cat", "ran", "."]]


def hand_mle(word: str, previous: str) -> float:
    """count(previous word) / count(previous followed by anything), on <s> ... </s> sentences."""
    pairs = Counter(p for s in SENTENCES for p in zip(["<s>"] + s, s + ["</s>"]))
    return pairs[previous, word] / sum(n for (a, _), n in pairs.items() if a == previous)


@pytest.fixture(scope="module")
def bigram():
    return NGramModel(2).fit(SENTENCES)


def assert_wrong(feedback: Feedback, *phrases: str) -> None:
    assert not feedback.ok and not feedback
    assert "Hint:" in feedback.message
    for phrase in phrases:
        assert phrase in feedback.message


def assert_missing(feedback: Feedback) -> None:
    assert not feedback.ok
    assert feedback.message.startswith("No answer yet: replace ... with")


def test_mle(bigram):
    right = hand_mle("cat", "the")  # "the" starts two bigrams, one with "cat"
    assert right == 0.5
    assert check_mle(bigram, "cat", ("the",), right).ok
    assert check_mle(bigram, "cat", ("the",), 1 / 2).ok
    assert check_mle(bigram, "sat", ("cat",), hand_mle("sat", "cat")).ok
    assert_wrong(check_mle(bigram, "cat", ("the",), 2 / 3), "too high", "model.count")
    assert_wrong(check_mle(bigram, "cat", ("the",), 2 / 12), "too low")  # divided by all tokens
    assert_missing(check_mle(bigram, "cat", ("the",), ...))


def test_perplexity():
    probabilities = [0.5, 0.25, 0.125]
    right = (0.5 * 0.25 * 0.125) ** (-1 / 3)  # the inverse geometric mean: 4
    assert right == pytest.approx(4.0)
    assert check_perplexity(probabilities, right).ok
    assert check_perplexity(probabilities, 4).ok
    assert_wrong(check_perplexity(probabilities, 1 / 3 * sum(-math.log(p) for p in probabilities)),
                 "too low", "exp()")  # forgot the exp
    assert_wrong(check_perplexity(probabilities, 1 / 0.125), "too high")
    assert_missing(check_perplexity(probabilities, ...))


def test_a_non_number_says_what_was_expected():
    feedback = check_perplexity([0.5, 0.5], "one")
    assert not feedback.ok
    assert feedback.message.startswith("Expected a number for the perplexity, got 'one'. Hint:")
    assert_missing(check_perplexity([0.5, 0.5], None))


def test_feedback_shows_as_its_message():
    feedback = check_perplexity([0.5, 0.5], 2)
    assert repr(feedback) == feedback.message == "Correct: the perplexity is 2."


# --- chapter 3: LSTM -------------------------------------------------------------------------
def test_padded_positions():
    lengths = [4, 2, 3]
    width = max(lengths) - 1  # the longest input: a 4-token sentence predicts from up to 3 tokens
    inputs = [[0] * (width - k) + [1] * k for n in lengths for k in range(1, n)]  # pre-padded prefixes
    right = sum(row.count(0) for row in inputs)
    assert right == 8
    assert check_padded_positions(lengths, right).ok
    assert_wrong(check_padded_positions(lengths, 9), "too high", "padded to 3 tokens")
    assert_wrong(check_padded_positions(lengths, 7.9), "too low")
    assert_missing(check_padded_positions(lengths, ...))


def test_perplexity_from_losses():
    losses = [1.0, 2.0, 3.0]  # natural logs, as Keras reports them
    right = math.e ** 2
    assert check_perplexity_from_losses(losses, right).ok
    assert_wrong(check_perplexity_from_losses(losses, 10 ** 2), "too high", "natural log")
    assert_wrong(check_perplexity_from_losses(losses, 2 ** 2), "too low")
    assert_missing(check_perplexity_from_losses(losses, ...))


def test_greedy_temperature():
    probabilities = [0.5, 0.3, 0.2]

    def top_share(t):
        weights = [p ** (1 / t) for p in probabilities]
        return weights[0] / sum(weights)

    assert top_share(0.05) >= 0.99 and top_share(1.0) == pytest.approx(0.5)
    assert check_greedy_temperature(probabilities, 0.05).ok
    feedback = check_greedy_temperature(probabilities, 1.0)
    assert_wrong(feedback, "only 50.0%", "need 99%")
    assert_wrong(check_greedy_temperature(probabilities, 0.5), f"only {top_share(0.5):.1%}")
    assert_wrong(check_greedy_temperature(probabilities, 0), "must be > 0")
    assert_missing(check_greedy_temperature(probabilities, ...))


# --- chapter 5: a transformer classifier -----------------------------------------------------
CONFUSION = [[5, 1, 0], [2, 7, 0], [1, 0, 4]]  # rows: true class, columns: predicted class
LABELS = ["World", "Sports", "Business"]


def test_padding_count():
    mask = [1, 1, 1, 1, 0, 0, 0]
    assert check_padding_count(mask, len(mask) - sum(mask)).ok
    assert_wrong(check_padding_count(mask, sum(mask)), "too high", "count the zeros")
    assert_missing(check_padding_count(mask, ...))


def test_accuracy_from_confusion():
    right = (5 + 7 + 4) / 20
    assert check_accuracy_from_confusion(CONFUSION, right).ok
    assert check_accuracy_from_confusion(CONFUSION, 0.8).ok
    assert_wrong(check_accuracy_from_confusion(CONFUSION, 16), "too high", "diagonal")
    assert_wrong(check_accuracy_from_confusion(CONFUSION, 5 / 20), "too low")
    assert_missing(check_accuracy_from_confusion(CONFUSION, ...))


def test_recall():
    right = 7 / (2 + 7 + 0)  # of the true Sports texts, the share predicted Sports
    assert check_recall(CONFUSION, LABELS, "Sports", right).ok
    precision = 7 / (1 + 7 + 0)  # the column instead of the row
    assert_wrong(check_recall(CONFUSION, LABELS, "Sports", precision), "too high", "row of Sports")
    assert_missing(check_recall(CONFUSION, LABELS, "Sports", ...))
    unknown = check_recall(CONFUSION, LABELS, "Weather", 0.5)
    assert not unknown.ok and unknown.message == "label must be one of World, Sports, Business; got 'Weather'"


def test_top_label():
    probabilities = [0.1, 0.6, 0.3]
    right = LABELS[probabilities.index(max(probabilities))]
    assert check_top_label(probabilities, LABELS, right).ok
    assert_wrong(check_top_label(probabilities, LABELS, "Business"), "Not quite", "largest probability")
    not_a_label = check_top_label(probabilities, LABELS, "Politics")
    assert not not_a_label.ok
    assert not_a_label.message == "'Politics' is not a label; the labels are World, Sports, Business."
    assert_missing(check_top_label(probabilities, LABELS, ...))


def test_every_check_function_and_solution_is_tested():
    """A new check_* in lmcourse.exercises needs its right/wrong/missing test, and each solution a
    test that runs it against its check: here or in a chapter's test file (tests/test_chapter*.py)."""
    import re
    from pathlib import Path

    from lmcourse import exercises

    here = Path(__file__).parent
    text = "".join(p.read_text() for p in [here / "test_exercises.py", *sorted(here.glob("test_chapter*.py"))])
    defined = {name for name in vars(exercises) if name.startswith("check_")}
    tested = set(re.findall(r"\b(check_\w+)\(", text))
    assert defined <= tested, f"untested: {', '.join(sorted(defined - tested))}"
    untested = [name for name in exercises.SOLUTIONS if f'"{name}"' not in text]
    assert not untested, f"solutions no test runs: {', '.join(untested)}"


# --- chapter 4: attention ------------------------------------------------------------------------
def test_causal_mask_exercise():
    import numpy as np


    assert check_causal_mask(np.tril(np.ones((4, 4)))).ok
    assert check_causal_mask([[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]]).ok
    assert_wrong(check_causal_mask(np.ones((4, 4))), "(0, 1)")
    assert_wrong(check_causal_mask(np.triu(np.ones((4, 4)))))
    assert_wrong(check_causal_mask(np.ones((3, 3))), "shape (4, 4)")
    assert_missing(check_causal_mask(...))


def test_attention_weight_exercise_follows_the_formula():
    import numpy as np


    q = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    k = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    s = np.array([1.0, 2.0, 1.0]) / math.sqrt(2)  # q[2] . k[0], k[1], k[2]
    expected = math.exp(s[0]) / np.exp(s).sum()
    assert check_attention_weight(q, k, 2, 0, expected).ok
    assert_wrong(check_attention_weight(q, k, 2, 0, 1 / 3), "too high")  # not uniform: k[1] scores higher
    assert check_attention_weight(q, k, 0, 2, 0.0).ok  # a later word gets no weight
    assert check_attention_weight(q, k, 0, 0, 1.0).ok


def test_block_parameter_count_matches_keras():
    import lmcourse
    from lmcourse.exercises import block_parameters

    lmcourse.setup("transformer", profile="offline", verbose=False)
    import numpy as np

    from lmcourse.transformer import Block

    block = Block(model_dim=16, heads=4, mlp_dim=40)
    block(np.zeros((1, 3, 16), dtype="float32"))
    assert block_parameters(16, 40) == block.count_params()
    assert check_block_parameters(16, 40, block.count_params()).ok
    assert_wrong(check_block_parameters(16, 40, block.count_params() - 16))


def test_chapter_4_solutions_pass_their_own_checks(capsys):
    """The solutions a student opens are run here, against the checks they are meant to pass."""
    import numpy as np

    from lmcourse import exercises
    from lmcourse.transformer import TransformerConfig

    q = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    k = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    config = TransformerConfig()
    checks = {"causal-mask": lambda a: exercises.check_causal_mask(a),
              "attention-weight": lambda a: exercises.check_attention_weight(q, k, 2, 0, a),
              "block-parameters": lambda a: exercises.check_block_parameters(config.model_dim, config.mlp_dim, a)}
    assert set(checks) <= set(exercises.SOLUTIONS)
    for name, check in checks.items():
        exercises.show_solution(name)
        code = capsys.readouterr().out
        namespace = {"np": np, "q": q, "k": k, "config": config}
        exec(code, namespace)
        assert check(namespace["answer"]).ok, name
    with pytest.raises(ValueError, match="no solution called"):
        exercises.show_solution("nope")
