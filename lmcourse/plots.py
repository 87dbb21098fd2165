"""Figures for the chapters. Each function draws one figure and returns it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import matplotlib.pyplot as plt
import numpy as np

MILESTONES = [
    (1948, "Shannon: English from letter\nand word statistics"),
    (1951, "Shannon: people guess\nthe next letter"),
    (1983, "IBM (Bahl, Jelinek, Mercer):\ntrigram models in\nspeech recognition"),
    (1997, "LSTM: a recurrent network\nwith long memory"),
    (2003, "Neural probabilistic\nlanguage model"),
    (2013, "word2vec: words\nas vectors"),
    (2014, "seq2seq and attention\nfor translation"),
    (2017, "The Transformer:\n'attention is all you need'"),
    (2018, "GPT and BERT:\npretrain, then fine-tune"),
    (2020, "GPT-3: few-shot\nlearning at scale"),
    (2022, "InstructGPT: following\ninstructions, trained\nwith human feedback"),
]


def timeline(milestones: Sequence[tuple[int, str]] = MILESTONES):
    """Milestones of language modelling, evenly spaced in order, labels alternating above and below."""
    fig, ax = plt.subplots(figsize=(12, 3.6))
    ax.axhline(0, color="0.4", lw=1.5, zorder=1)
    for i, (year, label) in enumerate(milestones):
        up = 1 if i % 2 == 0 else -1
        ax.plot([i, i], [0, 0.55 * up], color="0.6", lw=0.8)
        ax.scatter([i], [0], color="#4c72b0", zorder=2)
        ax.text(i, 0.6 * up, f"{year}\n{label}" if up > 0 else f"{label}\n{year}", ha="center",
                va="bottom" if up > 0 else "top", fontsize=8.5)
    ax.set_xlim(-0.8, len(milestones) - 0.2)
    ax.set_ylim(-1.7, 1.7)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("time (in order, not to scale)")
    ax.set_title("From counting words to transformers: milestones in language modelling")
    for side in ("left", "right", "top", "bottom"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    return fig


def matrix_figure(matrix, rows: Sequence[str], cols: Sequence[str], figsize: tuple[float, float],
                  title: str, xlabel: str, ylabel: str, colorbar: str, cell_format: str | None = None,
                  cell_min: float = 0.0, cmap: str = "Blues", xtick: dict | None = None,
                  ytick: dict | None = None, fontsize: float = 7):
    """A labelled heatmap of ``matrix``; cells at or above ``cell_min`` show ``cell_format``."""
    matrix = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=figsize)
    image = ax.imshow(matrix, cmap=cmap, vmin=0)
    ax.set_xticks(range(len(cols)), cols, **(xtick or {}))
    ax.set_yticks(range(len(rows)), rows, **(ytick or {}))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if cell_format:
        for (i, j), value in np.ndenumerate(matrix):
            if value >= cell_min:
                ax.text(j, i, format(value, cell_format), ha="center", va="center", fontsize=fontsize,
                        color="white" if value > matrix.max() / 2 else "black")
    fig.colorbar(image, ax=ax, label=colorbar)
    fig.tight_layout()
    return fig


def bigram_heatmap(model, words: Sequence[str]):
    """P(column word | row word) under a bigram ``model``, for a handful of ``words``."""
    matrix = np.array([[model.prob(b, (a,)) for b in words] for a in words])
    return matrix_figure(matrix, words, words, (1.0 + 0.55 * len(words), 0.8 + 0.5 * len(words)),
                         "Bigram probabilities P(next | previous)", "next word", "previous word",
                         "probability", cell_format=".2f", cell_min=0.005,
                         xtick={"rotation": 60, "ha": "right"})


def _ranked_counts(tokens: Iterable[str]) -> np.ndarray:
    """How often each distinct token occurs, most frequent first (index 0 is rank 1)."""
    return np.array(sorted(Counter(tokens).values(), reverse=True), dtype=float)


def _fit_ranked(counts: np.ndarray, ranks: tuple[int, int | None]) -> tuple[float, float, int, int]:
    """(slope, intercept, first rank, last rank) of the least-squares line through the ranked counts."""
    first, last = ranks
    last = len(counts) if last is None else last
    if not 1 <= first < last <= len(counts):
        raise ValueError(f"ranks must be (first, last) with 1 <= first < last <= {len(counts)} "
                         f"(the number of distinct words; last=None means {len(counts)}), got {ranks}")
    r = np.arange(first, last + 1)
    slope, intercept = np.polyfit(np.log(r), np.log(counts[first - 1:last]), 1)
    return float(slope), float(intercept), first, last


def zipf_fit(tokens: Iterable[str], ranks: tuple[int, int | None] = (1, None)) -> tuple[float, float]:
    """Least-squares line log(frequency) = intercept + slope * log(rank) over ranks first..last
    (inclusive, natural logs; ``None``: the last rank). Zipf's 1/rank is a slope of -1."""
    slope, intercept, _, _ = _fit_ranked(_ranked_counts(tokens), ranks)
    return slope, intercept


def zipf(tokens: Iterable[str], label: str = "corpus", ranks: tuple[int, int | None] = (1, None)):
    """Word frequency against frequency rank on log-log axes, with the ideal 1/rank line and the
    least-squares line of :func:`zipf_fit` over ``ranks``."""
    counts = _ranked_counts(tokens)
    slope, intercept, first, last = _fit_ranked(counts, ranks)
    ranked = np.arange(1, len(counts) + 1)
    fitted = np.arange(first, last + 1)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(ranked, counts, ".", ms=3, label=label)
    ax.loglog(ranked, counts[0] / ranked, "--", color="0.4", label="Zipf: frequency ~ 1 / rank")
    ax.loglog(fitted, np.exp(intercept) * fitted ** slope, "-", color="#c44e52",
              label=f"least squares, ranks {first}–{last}: slope {slope:.2f}")
    ax.set_xlabel("rank of the word (1 = most frequent)")
    ax.set_ylabel("number of occurrences")
    ax.set_title("Zipf's law: a few words are everywhere, most are rare")
    ax.legend()
    fig.tight_layout()
    return fig


def bars(values: dict[str, float], title: str, xlabel: str, log: bool = False):
    """A horizontal bar chart of named values, e.g. perplexities of several models."""
    names = list(values)
    fig, ax = plt.subplots(figsize=(7, 0.5 + 0.45 * len(names)))
    ax.barh(names, [values[n] for n in names], color="#4c72b0", log=log)
    ax.invert_yaxis()
    for i, n in enumerate(names):
        ax.text(values[n], i, f" {values[n]:,.1f}", va="center", fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def distribution(items: Sequence[tuple[str, float]], title: str):
    """Bars of (label, probability) pairs, most likely at the top."""
    fig, ax = plt.subplots(figsize=(6, 0.6 + 0.35 * len(items)))
    labels = [label for label, _ in items]
    ax.barh(labels, [p for _, p in items], color="#4c72b0")
    ax.invert_yaxis()
    ax.set_xlabel("probability")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def loss_curve(series: dict[str, Sequence[float]], title: str, ylabel: str = "cross-entropy loss (nats)",
               pyplot: bool = True):
    """Loss per epoch, one line per named series (e.g. training and validation).

    ``pyplot=False`` builds the figure outside pyplot, so a live plot can redraw it without
    Jupyter also showing it again at the end of the cell.
    """
    if pyplot:
        fig, ax = plt.subplots(figsize=(6, 3.5))
    else:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6, 3.5))
        ax = fig.subplots()
    for name, values in series.items():
        if len(values):
            ax.plot(range(1, len(values) + 1), values, marker="o", ms=3, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig


def confusion(matrix, labels: Sequence[str], title: str = "Confusion matrix"):
    """Counts of (true class, predicted class); the diagonal holds the right answers."""
    n = len(labels)
    return matrix_figure(matrix, labels, labels, (1.6 + 1.0 * n, 1.2 + 0.9 * n), title,
                         "predicted class", "true class", "number of texts", cell_format=",",
                         xtick={"rotation": 30, "ha": "right"}, fontsize=9)


def attention_map(tokens: Sequence[str], weights, title: str = "Attention weights"):
    """How much each token (row) attends to each token (column); each row sums to 1."""
    size = 1.5 + 0.32 * len(tokens)
    return matrix_figure(weights, tokens, tokens, (size + 1.2, size), title,
                         "attended-to token (key)", "attending token (query)",
                         "attention weight (share of 1)", cmap="viridis",
                         xtick={"rotation": 90, "fontsize": 8}, ytick={"fontsize": 8})


def perplexity_columns(scores, title: str = "Test perplexity (lower is better)"):
    """Two panels of bars: perplexity over all words and over known words, one bar per model.

    ``scores`` maps a model's name to a :class:`lmcourse.scoring.Score`. The panels can rank the
    models differently, which is why both are drawn.
    """
    names = list(scores)
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.9 + 0.45 * len(names)), sharey=True)
    for ax, (column, label) in zip(axes, (("perplexity", "all words"), ("known", "known words only"))):
        values = [getattr(scores[n], column) for n in names]
        best = int(np.argmin(values))
        ax.barh(names, values, color=["#dd8452" if i == best else "#4c72b0" for i in range(len(names))])
        for i, v in enumerate(values):
            ax.text(v, i, f" {v:,.1f}", va="center", fontsize=8)
        ax.set_xlim(0, max(values) * 1.2)
        ax.set_title(label)
        ax.set_xlabel("perplexity (orange: lowest)")
    axes[0].invert_yaxis()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def data_size_curve(rows: Sequence[dict], models: Sequence[str], title: str):
    """Test perplexity against training words (log scale), all words and known words, one line
    per model; ``rows`` as in ``reference_results("data_size")["rows"]``."""
    words = [row["train words"] for row in rows]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for ax, column in zip(axes, ("all words", "known words")):
        for name in models:
            ax.plot(words, [row[name][column] for row in rows], marker="o", label=name)
        ax.set_xscale("log")
        ax.set_xlabel("training words (log scale)")
        ax.set_ylabel("test perplexity")
        ax.set_title(column)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def attention_grid(tokens: Sequence[str], maps, title: str = "Attention weights, per layer and head"):
    """One small heatmap per (layer, head): row i shows how much token i looks at each token."""
    maps = np.asarray(maps)
    layers, heads = maps.shape[:2]
    size = 0.9 + 0.22 * len(tokens)
    fig, axes = plt.subplots(layers, heads, figsize=(heads * size + 0.6, layers * size + 0.4), squeeze=False)
    for (layer, head), ax in np.ndenumerate(axes):
        ax.imshow(maps[layer, head], cmap="viridis", vmin=0, vmax=1)
        ax.set_title(f"layer {layer + 1}, head {head + 1}", fontsize=9)
        ax.set_xticks(range(len(tokens)), tokens if layer == layers - 1 else [], rotation=90, fontsize=7)
        ax.set_yticks(range(len(tokens)), tokens if head == 0 else [], fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def masks(length: int, tokens: Sequence[str] | None = None):
    """The causal mask of a GPT beside the full attention of BERT: who may look at whom."""
    tokens = list(tokens or range(1, length + 1))
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
    for ax, (matrix, title) in zip(axes, ((np.tril(np.ones((length, length))), "causal (GPT): only earlier words"),
                                          (np.ones((length, length)), "bidirectional (BERT): every word"))):
        ax.imshow(matrix, cmap="Blues", vmin=0, vmax=1.3)
        ax.set_xticks(range(length), tokens, rotation=90, fontsize=8)
        ax.set_yticks(range(length), tokens, fontsize=8)
        ax.set_xlabel("may look at (key)")
        ax.set_ylabel("word (query)")
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def lstm_cell():
    """A diagram of one LSTM step: the cell state runs along the top; the forget, input and output
    gates (sigmoids, 0 = shut, 1 = open) decide what is kept, what is written and what is shown."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    fig, ax = plt.subplots(figsize=(9, 4.2))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 5.2)
    ax.axis("off")

    def box(x, y, text, color, w=1.1, h=0.6):
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.05", fc=color, ec="0.3"))
        ax.text(x, y, text, ha="center", va="center", fontsize=9)

    def arrow(a, b, **kw):
        ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=12, color="0.3", lw=1.2, **kw))

    def op(x, y, text):
        ax.add_patch(plt.Circle((x, y), 0.25, fc="white", ec="0.3"))
        ax.text(x, y, text, ha="center", va="center", fontsize=11)

    arrow((0.3, 4.3), (9.7, 4.3))  # the cell state
    ax.text(0.3, 4.65, "cell state $c_{t-1}$", fontsize=9)
    ax.text(9.7, 4.65, "$c_t$", fontsize=9, ha="right")
    op(3.0, 4.3, "×")
    op(5.2, 4.3, "+")
    for x, label, color in ((3.0, "forget gate\n$f_t = \\sigma(\\cdot)$", "#f4c7c3"),
                            (4.4, "input gate\n$i_t = \\sigma(\\cdot)$", "#c6dbef"),
                            (6.0, "candidate\n$g_t = \\tanh(\\cdot)$", "#c6dbef"),
                            (7.6, "output gate\n$o_t = \\sigma(\\cdot)$", "#c7e9c0")):
        box(x, 2.0, label, color, w=1.45, h=0.8)
    op(5.2, 3.2, "×")
    arrow((3.0, 2.45), (3.0, 4.05))
    arrow((4.4, 2.45), (5.0, 3.05))
    arrow((6.0, 2.45), (5.4, 3.05))
    arrow((5.2, 3.45), (5.2, 4.05))
    op(8.6, 3.2, "×")
    box(8.6, 4.3 - 0.02, "tanh", "white", w=0.7, h=0.4)
    arrow((8.6, 4.05), (8.6, 3.45))
    arrow((7.6, 2.45), (8.4, 3.05))
    arrow((8.85, 3.2), (9.7, 3.2))
    ax.text(9.7, 2.85, "$h_t$ (output,\nnext step)", fontsize=9, ha="right", va="top")
    ax.add_patch(FancyBboxPatch((1.2, 0.35), 7.6, 0.55, boxstyle="round,pad=0.05", fc="#eeeeee", ec="0.5"))
    ax.text(5.0, 0.62, "every gate reads the input $x_t$ and the previous output $h_{t-1}$", ha="center",
            va="center", fontsize=9)
    for x in (3.0, 4.4, 6.0, 7.6):
        arrow((x, 0.95), (x, 1.55))
    ax.set_title("One LSTM step: the gates decide what the cell state keeps, adds and shows")
    fig.tight_layout()
    return fig


def seed_spread(studies: dict[str, np.ndarray], words: Sequence[str], focus: Sequence[str],
                title: str = "The same model trained with different seeds"):
    """One dot per seed: the probability each run gives to each ``focus`` word, one panel per
    training configuration (``studies`` maps its name to a (seeds, vocabulary) array)."""
    fig, axes = plt.subplots(1, len(studies), figsize=(5 * len(studies), 3.2), sharey=True, squeeze=False)
    rng = np.random.default_rng(0)  # horizontal jitter only, so that dots do not hide each other
    for ax, (name, probs) in zip(axes[0], studies.items()):
        for j, word in enumerate(focus):
            values = probs[:, list(words).index(word)]
            ax.scatter(j + rng.uniform(-0.12, 0.12, len(values)), values, s=18, alpha=0.7)
        ax.set_xticks(range(len(focus)), [f"P({w})" for w in focus])
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(name, fontsize=10)
    axes[0][0].set_ylabel("probability after the prompt")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def reliability(rows: Sequence[dict], title: str = "Reliability diagram"):
    """Accuracy against confidence, one bar per confidence group (``classifier.reliability``), with
    the diagonal where a calibrated model's bars would end; bar labels give each group's size."""
    fig, ax = plt.subplots(figsize=(5.6, 4.2))
    width = rows[0]["to"] - rows[0]["from"] if rows else 0.1
    for row in rows:
        ax.bar(row["from"], row["accuracy"], width=width, align="edge", color="tab:blue", alpha=0.75,
               edgecolor="white")
        ax.plot(row["mean confidence"], row["accuracy"], "o", color="black", markersize=4)
        ax.annotate(f"{row['texts']:,}", (row["from"] + width / 2, row["accuracy"]), ha="center",
                    va="bottom", fontsize=8)
    ax.plot([0, 1], [0, 1], "--", color="gray", label="calibrated: accuracy = confidence")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.08)
    ax.set_xlabel("confidence: the probability given to the predicted topic")
    ax.set_ylabel("accuracy of the texts in the group")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def learning_curve(curves: dict[str, Sequence[dict]], title: str, reference: dict[str, Sequence[dict]] | None = None):
    """Test accuracy against training examples per class (log scale): for each method the mean
    over its random draws with a band of one standard deviation; ``reference`` methods (read from
    a reference-results file) are drawn dashed. "all" sits at its real number of texts per class."""
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    styles = [(curves, "-"), (reference or {}, "--")]
    for group, line in styles:
        for name, points in group.items():
            x = [p["train_texts"] / 4 for p in points]
            mean = np.array([p["mean"] for p in points])
            spread = np.array([p["spread"] for p in points])
            label = name if line == "-" else f"{name} (reference run)"
            (drawn,) = ax.plot(x, mean, line, marker="o", label=label)
            ax.fill_between(x, mean - spread, mean + spread, color=drawn.get_color(), alpha=0.15)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("training examples per class (log scale; the last point: all of them)")
    ax.set_ylabel("test accuracy")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig
