"""Self-check functions for the exercises: each says whether an answer is right, and if not,
what is wrong and a hint. Expected values are computed from the inputs, never stored."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Each exercise's solution, as code a student can read and run, by name; each chapter's section adds
# its own. A student opens one on purpose with show_solution(name); the tests run every solution
# against the check it is meant to pass.
SOLUTIONS: dict[str, str] = {}


def show_solution(name: str) -> None:
    """Print one exercise's solution: run this only when you have tried (see ``SOLUTIONS``)."""
    if name not in SOLUTIONS:
        raise ValueError(f"no solution called {name!r}; the solutions are {', '.join(SOLUTIONS)}")
    print(SOLUTIONS[name])


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


def _parse(answer, what: str, hint: str) -> float | Feedback:
    """The answer as a number, or the Feedback that says why it is not one."""
    if _missing(answer):
        return Feedback(False, f"No answer yet: replace ... with {what}. Hint: {hint}")
    try:
        return float(answer)
    except (TypeError, ValueError):
        return Feedback(False, f"Expected a number for {what}, got {answer!r}. Hint: {hint}")


def _number(answer, expected: float, what: str, hint: str, rel: float = 1e-3) -> Feedback:
    value = _parse(answer, what, hint)
    if isinstance(value, Feedback):
        return value
    if math.isclose(value, expected, rel_tol=rel, abs_tol=1e-9):
        return Feedback(True, f"Correct: {what} is {expected:.6g}.")
    direction = "too high" if value > expected else "too low"
    return Feedback(False, f"Not quite: {value:.6g} is {direction}. Hint: {hint}")


# --- chapter 1: introduction ------------------------------------------------------------------


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


# --- chapter 4: attention and a small transformer --------------------------------------------
def check_causal_mask(answer, length: int = 4) -> Feedback:
    """A (length, length) causal mask: True (or 1) where a word may look, on and below the diagonal."""
    import numpy as np

    hint = ("row i is the word at position i; it may look at positions 0..i and not at later ones, "
            "so row 0 has one True and the last row is all True.")
    if _missing(answer):
        return Feedback(False, f"No answer yet: replace ... with a {length} x {length} array. Hint: {hint}")
    try:
        got = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        return Feedback(False, f"Expected a {length} x {length} array of True/False or 1/0. Hint: {hint}")
    if got.shape != (length, length):
        return Feedback(False, f"Expected shape ({length}, {length}), got {got.shape}. Hint: {hint}")
    expected = np.tril(np.ones((length, length)))
    if np.array_equal(got != 0, expected != 0):
        return Feedback(True, "Correct: every word sees itself and the words before it, never a later one.")
    wrong = [f"({i}, {j})" for i, j in zip(*np.nonzero((got != 0) != (expected != 0)))]
    return Feedback(False, f"Not quite: the entries {', '.join(wrong[:4])} are wrong. Hint: {hint}")


def check_attention_weight(q, k, query: int, key: int, answer) -> Feedback:
    """The causal attention weight of word ``query`` on word ``key``: softmax(q kᵀ / √d), row ``query``."""
    import numpy as np

    q, k = np.asarray(q, dtype=float), np.asarray(k, dtype=float)
    scores = q[query] @ k[:query + 1].T / math.sqrt(q.shape[-1])  # only keys 0..query are visible
    weights = np.exp(scores - scores.max())
    weights /= weights.sum()
    expected = float(weights[key]) if key <= query else 0.0
    return _number(answer, expected, f"the weight of word {query} on word {key}",
                   f"take the dot products of q[{query}] with k[0] ... k[{query}], divide by √d "
                   f"(d = {q.shape[-1]}), then softmax them: exp of each over the sum of the exps.", rel=1e-3)


def block_parameters(model_dim: int, mlp_dim: int) -> int:
    """Weights in one transformer block: attention (4 projections with biases), 2 layer norms, the MLP."""
    d, m = model_dim, mlp_dim
    return 4 * (d * d + d) + 2 * (2 * d) + (d * m + m) + (m * d + d)


def check_block_parameters(model_dim: int, mlp_dim: int, answer) -> Feedback:
    """How many weights does one block hold? (The heads split model_dim; their number does not matter.)"""
    return _number(answer, block_parameters(model_dim, mlp_dim), "the number of weights in one block",
                   "query, key, value and output are each a d x d matrix plus d biases; each layer norm "
                   "has a scale and a shift of d numbers; the MLP is d x m + m, then m x d + d.", rel=0)


SOLUTIONS.update({
    "causal-mask": (
        "# Row i may look at columns 0..i: ones on and below the diagonal.\n"
        "answer = np.tril(np.ones((4, 4), dtype=bool))"),
    "attention-weight": (
        "# Word 2 sees words 0, 1 and 2. Scores are dot products over sqrt(d); softmax turns them into weights.\n"
        "scores = q[2] @ k[:3].T / np.sqrt(q.shape[-1])\n"
        "weights = np.exp(scores) / np.exp(scores).sum()\n"
        "answer = weights[0]"),
    "block-parameters": (
        "d, m = config.model_dim, config.mlp_dim\n"
        "attention = 4 * (d * d + d)          # query, key, value and output projections, with biases\n"
        "norms = 2 * (2 * d)                  # two layer norms: a scale and a shift each\n"
        "mlp = (d * m + m) + (m * d + d)      # d -> m -> d, with biases\n"
        "answer = attention + norms + mlp"),
})


# --- chapter 5: fine-tuning a transformer classifier ---------------------------------------
def check_padding_count(attention_mask: Sequence[int], answer) -> Feedback:
    """How many positions of a padded headline are padding (attention mask 0)?"""
    mask = [int(m) for m in attention_mask]
    return _number(answer, mask.count(0), "the number of padding positions",
                   "the attention mask is 1 for a real token and 0 for padding; count the zeros.")


def check_accuracy_from_confusion(confusion, answer) -> Feedback:
    """Accuracy read off a confusion matrix (rows: true class, columns: predicted class)."""
    rows = [[int(n) for n in row] for row in confusion]
    right = sum(rows[i][i] for i in range(len(rows)))
    return _number(answer, right / sum(map(sum, rows)), "the accuracy (a fraction between 0 and 1)",
                   "the right answers are on the diagonal; divide their sum by the sum of all cells.",
                   rel=1e-3)


def check_recall(confusion, labels: Sequence[str], label: str, answer) -> Feedback:
    """Recall of one class: the share of its true texts that the model put in that class."""
    if label not in labels:
        return Feedback(False, f"label must be one of {', '.join(labels)}; got {label!r}")
    i = list(labels).index(label)
    row = [int(n) for n in confusion[i]]
    return _number(answer, row[i] / sum(row), f"the recall of {label}",
                   f"take the row of {label} (its true texts): the diagonal cell divided by the row's sum.")


def check_top_label(probabilities: Sequence[float], labels: Sequence[str], answer) -> Feedback:
    """Which label does the classifier predict, given its probability for each label?"""
    expected = labels[max(range(len(labels)), key=lambda i: probabilities[i])]
    if _missing(answer):
        return Feedback(False, "No answer yet: replace ... with a label name in quotes, e.g. \"Sports\".")
    if answer == expected:
        return Feedback(True, f"Correct: the prediction is the label with the largest probability, {expected}.")
    if answer not in labels:
        return Feedback(False, f"{answer!r} is not a label; the labels are {', '.join(labels)}.")
    return Feedback(False, f"Not quite: {answer} is not the most probable label. Hint: look for the "
                    "largest probability.")


# --- chapter 3: LSTM -------------------------------------------------------------------------
def check_padded_positions(sentence_lengths: Sequence[int], answer) -> Feedback:
    """How many padding zeros does the prefix layout hold for sentences of these lengths?

    A sentence of n tokens gives the inputs of lengths 1..n-1 (one per target); every input is
    pre-padded to the longest input, which is (longest sentence - 1) tokens.
    """
    width = max(sentence_lengths) - 1
    expected = sum(width - k for n in sentence_lengths for k in range(1, n))
    return _number(answer, expected, "the number of padding positions",
                   f"the inputs are padded to {width} tokens; a sentence of n tokens gives inputs of "
                   "1, 2, ..., n-1 real tokens, and each is padded up to that width.", rel=0)


def check_perplexity_from_losses(losses: Sequence[float], answer) -> Feedback:
    """Perplexity from per-word cross-entropy losses (natural logs), as Keras reports them."""
    expected = math.exp(sum(losses) / len(losses))
    return _number(answer, expected, "the perplexity",
                   "a loss is -log(p) of the right word; perplexity is exp() of the mean loss "
                   "(math.exp, not 10 ** or 2 **, because Keras uses natural logs).")


def check_greedy_temperature(probabilities: Sequence[float], answer, share: float = 0.99) -> Feedback:
    """Pick a temperature at which the most likely word gets at least ``share`` of the mass."""
    hint = ("sampling uses p ** (1 / temperature), renormalised: temperature 1 changes nothing, "
            "above 1 flattens the distribution, and towards 0 it becomes greedy.")
    t = _parse(answer, "a temperature", hint)
    if isinstance(t, Feedback):
        return t
    if not t > 0:
        return Feedback(False, f"The temperature must be > 0 (the sampler divides by it), got {t:g}. "
                               f"Hint: {hint}")
    logs = [math.log(p) / t for p in probabilities if p > 0]
    top = max(logs)
    weights = [math.exp(v - top) for v in logs]
    top_share = 1 / sum(weights)  # the top word's weight is exp(0) = 1
    if top_share >= share:
        return Feedback(True, f"Correct: at temperature {t:g} the most likely word gets "
                              f"{top_share:.1%} of the probability, so sampling is (almost) greedy.")
    return Feedback(False, f"Not yet: at temperature {t:g} the most likely word gets only {top_share:.1%} "
                           f"(need {share:.0%}). Hint: {hint}")
