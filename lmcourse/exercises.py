"""Self-check functions for the exercises: each says whether an answer is right, and if not,
what is wrong and a hint. Expected values are computed from the inputs, never stored."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer; shows as its message in a notebook."""

    ok: bool
    message: str

    def __repr__(self) -> str:
        return self.message

    def __bool__(self) -> bool:
        return self.ok


def _missing(answer) -> bool:
    return answer is None or answer is Ellipsis


def _number(answer, expected: float, what: str, hint: str, rel: float = 1e-3) -> Feedback:
    if _missing(answer):
        return Feedback(False, f"No answer yet: replace ... with {what}. Hint: {hint}")
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return Feedback(False, f"Expected a number for {what}, got {answer!r}. Hint: {hint}")
    if math.isclose(value, expected, rel_tol=rel, abs_tol=1e-9):
        return Feedback(True, f"Correct: {what} is {expected:.6g}.")
    direction = "too high" if value > expected else "too low"
    return Feedback(False, f"Not quite: {value:.6g} is {direction}. Hint: {hint}")


# --- chapter 2: n-grams ----------------------------------------------------------------------
def check_bigram_count(tokens: Sequence[str], answer) -> Feedback:
    """How many bigrams does a sentence of ``len(tokens)`` tokens have (without padding)?"""
    return _number(answer, max(len(tokens) - 1, 0), f"the number of bigrams in {len(tokens)} tokens",
                   "every token except the last starts exactly one bigram.")


def check_mle(model, word: str, context: tuple[str, ...], answer) -> Feedback:
    """The maximum-likelihood P(word | context), computed from the model's counts by hand."""
    return _number(answer, model.prob(word, context), f"P({word!r} | {' '.join(context)!r})",
                   "divide count(context + word) by the count of the context followed by any word; "
                   "model.count(...) gives n-gram counts.", rel=1e-6)


def check_perplexity(probabilities: Sequence[float], answer) -> Feedback:
    """Perplexity of a text whose words got ``probabilities``."""
    expected = math.exp(-sum(math.log(p) for p in probabilities) / len(probabilities))
    return _number(answer, expected, "the perplexity",
                   "take the mean of -log(p) over the words, then exp() of that mean.")


def check_laplace_k(answer) -> Feedback:
    """Which k makes add-k smoothing the same as Laplace smoothing?"""
    return _number(answer, 1.0, "k", "Laplace smoothing is also called add-one smoothing.")
