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


def _not_a_function(answer, what: str, signature: str, hint: str) -> Feedback | None:
    """The Feedback for a function answer that is missing or not a function; None for a function."""
    if _missing(answer):
        return Feedback(False, f"No answer yet: replace ... with {what}. Hint: {hint}")
    if not callable(answer):
        return Feedback(False, f"Expected a function {signature}, got {answer!r}. Hint: {hint}")
    return None


def _number(answer, expected: float, what: str, hint: str, rel: float = 1e-3) -> Feedback:
    value = _parse(answer, what, hint)
    if isinstance(value, Feedback):
        return value
    if math.isclose(value, expected, rel_tol=rel, abs_tol=1e-9):
        return Feedback(True, f"Correct: {what} is {expected:.6g}.")
    direction = "too high" if value > expected else "too low"
    return Feedback(False, f"Not quite: {value:.6g} is {direction}. Hint: {hint}")


# --- chapter 1: introduction ------------------------------------------------------------------
def check_next_word(model, prompt: str, answer) -> Feedback:
    """The word ``model`` finds likeliest after ``prompt`` (a word tied with it counts too)."""
    hint = ("model.predict(prompt, k) lists the k likeliest next words as (word, probability) pairs, "
            "the likeliest first; the answer is the word alone, in quotes.")
    if _missing(answer):
        return Feedback(False, f"No answer yet: replace ... with a word in quotes. Hint: {hint}")
    if isinstance(answer, tuple) and answer and isinstance(answer[0], str):
        return Feedback(False, f"Expected a word, got the pair {answer!r}. Hint: {hint}")
    if not isinstance(answer, str):
        return Feedback(False, f"Expected a word in quotes, got {answer!r}. Hint: {hint}")
    ranked = dict(model.predict(prompt, k=len(model.vocab)))
    top = max(ranked.values(), default=0.0)
    guess = answer.strip().lower()
    if guess in ranked and math.isclose(ranked[guess], top, rel_tol=1e-9):
        return Feedback(True, f"Correct: after {prompt!r} the likeliest next word is {guess!r}, "
                              f"with probability {top:.3f}.")
    if guess not in ranked:
        return Feedback(False, f"Not quite: the model never predicts {guess!r} after {prompt!r}. Hint: {hint}")
    return Feedback(False, f"Not quite: the model gives {guess!r} probability {ranked[guess]:.3f} after "
                           f"{prompt!r}, and another word more. Hint: {hint}")


def sentence_probability(model, words: Sequence[str]) -> float:
    """P(a sentence starts with ``words``) by the chain rule: the product of each word's probability
    given the ``order - 1`` words before it, with ``<s>`` symbols before the first word."""
    from lmcourse.text import BOS

    n = model.order
    context, p = [BOS] * (n - 1), 1.0
    for word in words:
        p *= model.prob(word, tuple(context[len(context) - (n - 1):]))
        context.append(word)
    return p


def check_sentence_probability(model, words: Sequence[str], answer) -> Feedback:
    """P(a sentence starts with ``words``) under an n-gram ``model``, multiplied out by the student."""
    from lmcourse.text import BOS

    n = model.order
    start = (BOS,) * (n - 1)
    what = f"P({' '.join(words)!r} at the start of a sentence)"
    hint = (f"a sentence starts after {n - 1} <s> symbols, so the first word's context is {start}; multiply "
            f"model.prob(word, context) over the words, and before each next word make the context "
            f"the last {n - 1} words so far.")
    value = _parse(answer, what, hint)
    if isinstance(value, Feedback):
        return value
    expected = sentence_probability(model, words)
    # Relative only: a sentence's probability is often far below _number's absolute tolerance.
    if math.isclose(value, expected, rel_tol=1e-6):
        return Feedback(True, f"Correct: {what} is {expected:.6g}.")
    direction = "too high" if value > expected else "too low"
    return Feedback(False, f"Not quite: {value:.6g} is {direction}. Hint: {hint}")


def check_milestone_year(milestones: Sequence[tuple[int, str]], keyword: str, answer) -> Feedback:
    """The year of the one milestone whose label mentions ``keyword``, read off the timeline."""
    found = [(year, label) for year, label in milestones if keyword.lower() in label.lower()]
    if len(found) != 1:
        raise ValueError(f"keyword must match exactly one milestone's label, got {keyword!r}, "
                         f"which matches {len(found)}")
    year, label = found[0]
    label = " ".join(label.split())
    hint = f"find the milestone about {keyword!r} in the timeline above and read the year printed with it."
    value = _parse(answer, f"the year of {label!r}", hint)
    if isinstance(value, Feedback):
        return value
    if value == year:
        return Feedback(True, f"Correct: {label!r} is from {year}.")
    others = [" ".join(other.split()) for y, other in milestones if y == value]
    if others:
        return Feedback(False, f"Not quite: {value:g} is the year of {others[0]!r}. Hint: {hint}")
    return Feedback(False, f"Not quite: {value:g} is {'too late' if value > year else 'too early'}. "
                           f"Hint: {hint}")


SOLUTIONS.update({
    "next-word": (
        "# predict gives (word, probability) pairs, the likeliest first: take the first pair's word.\n"
        "answer = model.predict(prompt, k=1)[0][0]"),
    "sentence-probability": (
        "# The chain rule: multiply each word's probability given the two words before it.\n"
        "context = [\"<s>\", \"<s>\"]  # a sentence starts after two start symbols\n"
        "answer = 1.0\n"
        "for word in words:\n"
        "    answer *= model.prob(word, tuple(context[-2:]))\n"
        "    context.append(word)"),
    "guessing-year": (
        "# Shannon's 1948 paper built English from letter and word statistics; people guessing the\n"
        "# next letter is his later paper, 'Prediction and Entropy of Printed English' (1951).\n"
        "answer = 1951"),
})


# --- chapter 2: n-grams ----------------------------------------------------------------------
def check_padded_ngram_count(tokens: Sequence[str], order: int, answer) -> Feedback:
    """How many ``order``-grams does ``NGramModel(order)`` count in one sentence of ``tokens``,
    padded with ``order - 1`` ``<s>`` in front and ``order - 1`` ``</s>`` at the end?"""
    padded = len(tokens) + 2 * (order - 1) if tokens else 0  # the model skips empty sentences
    return _number(answer, max(padded - order + 1, 0),
                   f"the number of {order}-grams in the padded sentence ({len(tokens)} tokens before padding)",
                   f"write out the padded sentence ({order - 1} <s> in front, {order - 1} </s> at the end) "
                   f"and count the positions where a window of {order} words can start.", rel=0)


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


def check_next_word_sampler(model, context: tuple[str, ...], answer, draws: int = 2000,
                            seed: int = 0) -> Feedback:
    """Does ``answer(model, context, rng) -> word`` draw next words with the model's probabilities?

    It is called ``draws`` times. The shares of the ten likeliest words, and of all other words
    together, must match the model's probabilities: total variation distance under 0.06, which
    a correct sampler stays far below (its distance is about 0.02 at 2,000 draws).
    """
    from collections import Counter

    import numpy as np

    hint = ("model.distribution(context) holds every word's probability, in the order of "
            "model.vocab.words; draw one index at random with those probabilities as weights "
            "(not always the likeliest one), and return the word at that index.")
    if (feedback := _not_a_function(answer, "your function sample_next", "sample_next(model, context, rng)",
                                    hint)) is not None:
        return feedback
    rng = np.random.default_rng(seed)
    try:
        words = [answer(model, context, rng) for _ in range(draws)]
    except Exception as err:  # noqa: BLE001  (the student's code: say what went wrong)
        return Feedback(False, f"Your function raised {type(err).__name__}: {err}. Hint: {hint}")
    probs = model.distribution(context)
    top = [int(i) for i in np.argsort(-probs, kind="stable")[:10]]
    for word in words:
        if not isinstance(word, str):
            return Feedback(False, f"Your function returned {word!r}; return the word itself, a string such "
                                   f"as {model.vocab.words[top[0]]!r}. Hint: {hint}")
        if word not in model.vocab:
            return Feedback(False, f"Your function returned {word!r}, which is not in the model's "
                                   f"vocabulary. Hint: {hint}")
    chosen = Counter(words)
    names = [model.vocab.words[i] for i in top] + ["any other word"]
    expected = np.append(probs[top], 1 - probs[top].sum())
    observed = np.array([chosen[model.vocab.words[i]] for i in top] + [0.0]) / draws
    observed[-1] = 1 - observed[:-1].sum()
    worst = int(np.argmax(np.abs(observed - expected)))
    shares = (f"{names[worst]!r} came out {observed[worst]:.1%} of the time, and the model gives it "
              f"{expected[worst]:.1%}")
    if 0.5 * np.abs(observed - expected).sum() < 0.06:
        return Feedback(True, f"Correct: in {draws:,} draws after {' '.join(context)!r} every likely word came "
                              f"out about as often as the model says (the farthest: {shares}).")
    return Feedback(False, f"Not quite: in {draws:,} draws after {' '.join(context)!r}, {shares}. Hint: {hint}")


def check_kn_discount(train, valid, discounts: Sequence[float], answer, order: int = 3) -> Feedback:
    """The discount of ``discounts`` whose Kneser-Ney model of ``order``, fitted on ``train``, has the
    lowest perplexity on ``valid``. The check fits one model per discount itself."""
    from lmcourse.ngrams import NGramModel

    hint = (f"fit NGramModel({order}, \"kneser-ney\", discount=d) on the training split for every d of the "
            "list, score each model with .perplexity on the validation split (not the test split), and "
            "keep the d whose perplexity is lowest.")
    value = _parse(answer, "a discount", hint)
    if isinstance(value, Feedback):
        return value
    tried = [float(d) for d in discounts]
    chosen = next((d for d in tried if math.isclose(value, d)), None)
    if chosen is None:
        return Feedback(False, f"{value:g} is not one of the discounts to try "
                               f"({', '.join(f'{d:g}' for d in tried)}). Hint: {hint}")
    perplexity = {d: NGramModel(order, "kneser-ney", discount=d).fit(train).perplexity(valid) for d in tried}
    if perplexity[chosen] > min(perplexity.values()) * (1 + 1e-9):
        return Feedback(False, f"Not quite: discount {chosen:g} gives a validation perplexity of "
                               f"{perplexity[chosen]:.1f}, and another discount of the list gives less. "
                               f"Hint: {hint}")
    default = NGramModel(order, "kneser-ney").discount
    versus = (f"; the default discount, {default:g}, gives {perplexity[default]:.1f}"
              if default in perplexity and default != chosen else "")
    return Feedback(True, f"Correct: discount {chosen:g} gives the lowest validation perplexity of the list, "
                          f"{perplexity[chosen]:.1f}{versus}.")


SOLUTIONS.update({
    "padded-trigrams": (
        "# A trigram model puts two <s> before the sentence and two </s> after it; a window of three\n"
        "# words starts at every position of the padded sentence except the last two.\n"
        "padded = [\"<s>\", \"<s>\"] + list(tokens) + [\"</s>\", \"</s>\"]\n"
        "answer = len(ngrams(padded, 3))"),
    "mle-by-hand": (
        "# Section 5: C(the water) over the number of bigrams that start with 'the'. In the padded\n"
        "# model every 'the' is followed by a word or by </s>, so that number is the count of 'the'.\n"
        "answer = bigram_mle.count((\"the\", \"water\")) / bigram_mle.count((\"the\",))"),
    "perplexity-by-hand": (
        "# exp of the mean negative log-probability (natural logs), as in section 10.\n"
        "import math\n"
        "answer = math.exp(-sum(math.log(p) for p in probabilities) / len(probabilities))"),
    "sample-next": (
        "def sample_next(model, context, rng):\n"
        "    probs = model.distribution(context)           # one probability per vocabulary word\n"
        "    index = rng.choice(len(probs), p=probs)       # an index, drawn with those weights\n"
        "    return model.vocab.words[index]\n"
        "\n"
        "answer = sample_next"),
    "kn-discount": (
        "# One model per discount, fitted on the training split and scored on the validation split.\n"
        "valid_perplexity = {d: NGramModel(3, \"kneser-ney\", discount=d).fit(corpus.train).perplexity(corpus.valid)\n"
        "                    for d in discounts}\n"
        "for d, value in valid_perplexity.items():\n"
        "    print(f\"discount {d:.1f}: validation perplexity {value:.1f}\")\n"
        "answer = min(valid_perplexity, key=valid_perplexity.get)"),
})


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


def check_macro_f1(answer, confusion=None) -> Feedback:
    """The student's ``macro_f1(confusion) -> float``: the mean over classes of F1 = 2PR / (P + R),
    with P = precision (diagonal / column sum) and R = recall (diagonal / row sum), and F1 = 0 for
    a class the model never gets right. Checked against scikit-learn on ``confusion`` and on 50
    random matrices, including ones with an empty column."""
    import numpy as np
    from sklearn.metrics import f1_score

    hint = ("for class i: tp = confusion[i, i]; precision = tp / (column i's sum), recall = tp / (row "
            "i's sum); F1 = 2 * precision * recall / (precision + recall), and 0 when tp is 0; "
            "macro-F1 is the plain mean of the four F1s.")
    if (feedback := _not_a_function(answer, "your function macro_f1", "macro_f1(confusion)", hint)) is not None:
        return feedback
    rng = np.random.default_rng(0)
    tests = [] if confusion is None else [np.asarray(confusion)]
    for n in range(50):
        m = rng.integers(0, 30, size=(4, 4))
        if n % 5 == 0:
            m[:, n % 4] = 0  # a class never predicted: its precision is undefined, its F1 is 0
        tests.append(m)
    for m in tests:
        truth = np.repeat(np.arange(4), m.sum(1))
        predicted = np.concatenate([np.repeat(np.arange(4), row) for row in m])
        expected = f1_score(truth, predicted, labels=range(4), average="macro", zero_division=0)
        try:
            got = float(answer(m.copy()))
        except Exception as err:  # noqa: BLE001  (the student's code: say what went wrong)
            return Feedback(False, f"Your function raised {type(err).__name__}: {err} on the matrix "
                                   f"{m.tolist()}. Hint: {hint}")
        if not math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-9):
            return Feedback(False, f"Not quite: for the matrix {m.tolist()} your function gives {got:.4f}, "
                                   f"scikit-learn's f1_score gives {expected:.4f}. Hint: {hint}")
    return Feedback(True, f"Correct: your function matches scikit-learn's macro-F1 on {len(tests)} matrices"
                          + (" including the chapter's." if confusion is not None else "."))


def check_least_sure(probabilities, answer) -> Feedback:
    """The index of the test text whose predicted topic got the lowest probability."""
    import numpy as np

    confidence = np.asarray(probabilities).max(-1)
    hint = ("the model's confidence in a text is its largest probability (probabilities.max(axis=1)); "
            "np.argmin gives the position of the smallest.")
    value = _parse(answer, "the index of the least sure text", hint)
    if isinstance(value, Feedback):
        return value
    expected = int(np.argmin(confidence))
    if value == expected:
        return Feedback(True, f"Correct: text {expected} is the one the model is least sure about; it gave its "
                              f"answer only {confidence[expected]:.1%}.")
    if value.is_integer() and 0 <= value < len(confidence):
        return Feedback(False, f"Not quite: the model gave text {int(value)} {confidence[int(value)]:.1%}, and "
                               f"another text less. Hint: {hint}")
    return Feedback(False, f"{answer!r} is not the position of a test text (0 to {len(confidence) - 1}). "
                           f"Hint: {hint}")


SOLUTIONS.update({
    "padding-count": (
        "# 1 marks a real token, 0 a padding position.\n"
        "answer = list(encoded[\"attention_mask\"]).count(0)"),
    "recall": (
        "# The Business row holds every true Business text; the diagonal cell, the ones labelled Business.\n"
        "i = data.label_names.index(\"Business\")\n"
        "business_recall = result.confusion[i, i] / result.confusion[i].sum()"),
    "macro-f1": (
        "def macro_f1(confusion):\n"
        "    confusion = np.asarray(confusion)\n"
        "    scores = []\n"
        "    for i in range(len(confusion)):\n"
        "        tp = confusion[i, i]\n"
        "        if tp == 0:\n"
        "            scores.append(0.0)  # never right: precision or recall is 0 (or undefined)\n"
        "            continue\n"
        "        precision = tp / confusion[:, i].sum()  # of the texts labelled i, the share that are i\n"
        "        recall = tp / confusion[i].sum()        # of the texts that are i, the share labelled i\n"
        "        scores.append(2 * precision * recall / (precision + recall))\n"
        "    return float(np.mean(scores))"),
    "least-sure": (
        "# The confidence in each text is its largest probability; take the smallest.\n"
        "least_sure = int(np.argmin(result.probabilities.max(axis=1)))\n"
        "print(data.test.texts[least_sure], result.probabilities[least_sure].round(2))"),
    "top-label": (
        "# The prediction is the label with the largest probability.\n"
        "topic = max(probabilities, key=probabilities.get)"),
})


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
                   "each loss is -log p of the right word, in natural logs. Chapter 2 defined perplexity "
                   "from the mean of exactly these numbers: which function undoes a natural log?")


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


def check_lstm_step(step) -> Feedback:
    """The student's ``step(x, h, c, kernel, recurrent_kernel, bias) -> (h, c)`` against
    ``keras.layers.LSTM`` itself, on random weights and inputs."""
    import keras
    import numpy as np

    hint = ("z = x @ kernel + h @ recurrent_kernel + bias holds the four gates side by side, in the "
            "order input, forget, candidate, output (split it in 4 along the last axis); the gates use "
            "a sigmoid, the candidate a tanh; the new c keeps f * c and adds i * g; the new h is o * tanh(c).")
    if (feedback := _not_a_function(step, "your step function", "step(x, h, c, kernel, recurrent_kernel, bias)",
                                    hint)) is not None:
        return feedback
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 5)).astype("float32")  # 2 sequences, 3 steps, 5 features
    layer = keras.layers.LSTM(4, return_sequences=True)
    expected = keras.ops.convert_to_numpy(layer(x))
    kernel, recurrent_kernel, bias = (keras.ops.convert_to_numpy(w) for w in layer.get_weights())
    h = c = np.zeros((2, 4), dtype="float32")
    try:
        for t in range(3):
            h, c = step(x[:, t], h, c, kernel, recurrent_kernel, bias)
            got = keras.ops.convert_to_numpy(h)
            if got.shape != (2, 4):
                return Feedback(False, f"Your h has shape {got.shape}, expected (2, 4). Hint: {hint}")
            if not np.allclose(got, expected[:, t], atol=1e-5):
                return Feedback(False, f"Not quite: your h differs from keras.layers.LSTM's at step {t + 1}. "
                                       f"Hint: {hint}")
    except Exception as err:  # noqa: BLE001  (the student's code: say what went wrong)
        return Feedback(False, f"Your function raised {type(err).__name__}: {err}. Hint: {hint}")
    return Feedback(True, "Correct: your step gives keras.layers.LSTM's output at every step.")


SOLUTIONS.update({
    "padded-positions": (
        "# Inputs are the prefixes without their last word, pre-padded to the longest input.\n"
        "width = max(lengths) - 1\n"
        "answer = sum(width - k for n in lengths for k in range(1, n))"),
    "perplexity-from-losses": (
        "# Each loss is -log p of the right word (natural log); perplexity is exp of their mean.\n"
        "answer = math.exp(sum(losses) / len(losses))"),
    "greedy-temperature": (
        "# p ** (1 / T), renormalised: halve T until the top word gets 99% of the probability.\n"
        "p = np.array(probabilities)\n"
        "p = p[p > 0] / p.max()\n"
        "answer = 1.0\n"
        "while 1 / np.sum(p ** (1 / answer)) < 0.99:\n"
        "    answer /= 2"),
    "lstm-step": (
        "def my_step(x, h, c, kernel, recurrent_kernel, bias):\n"
        "    z = x @ kernel + h @ recurrent_kernel + bias\n"
        "    i, f, g, o = np.split(z, 4, axis=-1)\n"
        "    sigmoid = lambda v: 1 / (1 + np.exp(-v))\n"
        "    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)\n"
        "    h = sigmoid(o) * np.tanh(c)\n"
        "    return h, c\n"
        "\n"
        "answer = my_step"),
})
