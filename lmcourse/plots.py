"""Figures for the chapters. Each function draws one figure and returns it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import matplotlib.pyplot as plt
import numpy as np

MILESTONES = [
    (1948, "Shannon: predicting English\nletter by letter"),
    (1980, "n-gram models in\nspeech recognition"),
    (1997, "LSTM: a recurrent network\nwith long memory"),
    (2003, "Neural probabilistic\nlanguage model"),
    (2013, "word2vec: words\nas vectors"),
    (2014, "seq2seq and attention\nfor translation"),
    (2017, "The Transformer:\n'attention is all you need'"),
    (2018, "GPT and BERT:\npretrain, then fine-tune"),
    (2020, "GPT-3: few-shot\nlearning at scale"),
    (2022, "Chat assistants trained\nwith human feedback"),
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


def bigram_heatmap(model, words: Sequence[str]):
    """P(column word | row word) under a bigram ``model``, for a handful of ``words``."""
    matrix = np.array([[model.prob(b, (a,)) for b in words] for a in words])
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * len(words), 0.8 + 0.5 * len(words)))
    image = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(words)), words, rotation=60, ha="right")
    ax.set_yticks(range(len(words)), words)
    ax.set_xlabel("next word")
    ax.set_ylabel("previous word")
    ax.set_title("Bigram probabilities P(next | previous)")
    for (i, j), p in np.ndenumerate(matrix):
        if p >= 0.005:
            ax.text(j, i, f"{p:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if p > matrix.max() / 2 else "black")
    fig.colorbar(image, ax=ax, label="probability")
    fig.tight_layout()
    return fig


def zipf(tokens: Iterable[str], label: str = "corpus"):
    """Word frequency against frequency rank on log-log axes, with the ideal 1/rank line."""
    counts = np.array(sorted(Counter(tokens).values(), reverse=True), dtype=float)
    ranks = np.arange(1, len(counts) + 1)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(ranks, counts, ".", ms=3, label=label)
    ax.loglog(ranks, counts[0] / ranks, "--", color="0.4", label="Zipf: frequency ~ 1 / rank")
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
    matrix = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(1.6 + 1.0 * len(labels), 1.2 + 0.9 * len(labels)))
    image = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    for (i, j), n in np.ndenumerate(matrix):
        ax.text(j, i, f"{n:,}", ha="center", va="center", fontsize=9,
                color="white" if n > matrix.max() / 2 else "black")
    fig.colorbar(image, ax=ax, label="number of texts")
    fig.tight_layout()
    return fig


def attention_map(tokens: Sequence[str], weights, title: str = "Attention weights"):
    """How much each token (row) attends to each token (column); each row sums to 1."""
    weights = np.asarray(weights)
    size = 1.5 + 0.32 * len(tokens)
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    image = ax.imshow(weights, cmap="viridis", vmin=0)
    ax.set_xticks(range(len(tokens)), tokens, rotation=90, fontsize=8)
    ax.set_yticks(range(len(tokens)), tokens, fontsize=8)
    ax.set_xlabel("attended-to token (key)")
    ax.set_ylabel("attending token (query)")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="attention weight (share of 1)")
    fig.tight_layout()
    return fig
