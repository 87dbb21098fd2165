"""Widget latency: the time from a changed text to new bars, for every model's explorer.

For each model a student can drive with ``widgets.Explorer`` (the chapters' n-gram model, LSTM,
transformer and topic classifier; add new ones to ``EXPLORERS``), and for chapter 4's
``widgets.SideBySide`` (one prompt to the trigram, the LSTM and the transformer at once), 200 prompts from the course text are typed into
the explorer one after another: its text box is set, as a keystroke does, and the time until the
bars are redrawn is taken. Prints the median and the 95th percentile per model against the 50 ms
budget of an interface that feels instant, and, measured side by side on the same prompts, the
model's own ``predict()`` as the peer: the ratio is what the widget adds on top of the model.

    python benchmarks/widget_latency.py [--prompts 200] [--seed 0]

The LSTM, the transformer and the classifier are the chapters' sizes (the LSTM and the transformer
untrained, the classifier's topic head fresh): how long a prediction takes does not depend on the
weights' values. The side-by-side widget's peer is the three models' ``predict()`` calls together.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
BUDGET_MS = 50.0
K = 8  # bars shown by the chapters' explorers


def ngram(corpus):
    from lmcourse.ngrams import NGramModel

    return NGramModel(3, "kneser-ney").fit(corpus.train), "trigram, Kneser-Ney (chapter 2)"


def lstm(corpus):
    import lmcourse

    lmcourse.setup("lstm", profile="offline", verbose=False)
    from lmcourse import lstm as chapter3

    model = chapter3.LSTMLanguageModel.build(chapter3.build_vocabulary(corpus.train), chapter3.LSTMConfig())
    return model, "LSTM, window 32, 128 units (chapter 3's size)"


def transformer(corpus):
    import lmcourse

    lmcourse.setup("transformer", profile="offline", verbose=False)
    from lmcourse import transformer as chapter4

    model = chapter4.TransformerLanguageModel.build(chapter4.build_vocabulary(corpus.train),
                                                    chapter4.TransformerConfig())
    return model, "transformer, window 32, 2 blocks, 4 heads, d=64 (chapter 4's size)"


def every_model(corpus):
    models = {"trigram": ngram(corpus)[0], "LSTM": lstm(corpus)[0], "transformer": transformer(corpus)[0]}
    return models, "SideBySide: trigram + LSTM + transformer (chapter 4)"


def classifier(corpus):
    import lmcourse

    lmcourse.setup("distilbert", profile="offline", verbose=False)
    from lmcourse import classifier as clf
    from lmcourse.data import load_bundled_headlines

    model = clf.load_classifier("offline", load_bundled_headlines())
    return model, f"{model.name} topic classifier (chapter 5's offline model)"


EXPLORERS: dict[str, Callable] = {"n-gram": ngram, "LSTM": lstm, "transformer": transformer,
                                  "every model": every_model, "classifier": classifier}


def prompts(corpus, n: int, seed: int) -> list[str]:
    """``n`` prompts: the start of a random sentence of the course text, one to twelve words long."""
    from lmcourse.text import detokenize

    rng = random.Random(seed)
    sentences = [s for part in (corpus.train, corpus.valid, corpus.test) for s in part if len(s) > 1]
    return [detokenize(s[:rng.randint(1, min(12, len(s) - 1))]) for s in rng.sample(sentences, n)]


def time_ms(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def measure(model, texts: list[str]) -> tuple[list[float], list[float]]:
    """(widget times, predict() times) in ms, alternating on the same prompts after a warm-up.
    ``model`` is one predictor (an Explorer) or a dict of them (a SideBySide)."""
    from lmcourse import widgets

    if isinstance(model, dict):
        explorer = widgets.SideBySide(model, text="", k=K)
        predict = lambda text: [m.predict(text, K) for m in model.values()]  # noqa: E731
        shown = lambda: [bars.value for _, bars in explorer.columns.values()]  # noqa: E731
    else:
        explorer = widgets.Explorer(model, text="", k=K)
        predict = lambda text: [model.predict(text, K)]  # noqa: E731
        shown = lambda: [explorer.bars.value]  # noqa: E731
    for text in texts[:5]:  # the first calls build graphs and caches
        explorer.text.value, explorer.text.value = text, ""
        predict(text)
    widget, bare = [], []
    for text in texts:
        widget.append(time_ms(lambda: setattr(explorer.text, "value", text)))
        bare.append(time_ms(lambda: predict(text)))
        assert shown() == [widgets.bars_html(items) for items in predict(text)], text  # new bars, right ones
        explorer.text.value = ""  # the next prompt is a change again
    return widget, bare


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", nargs="*", default=list(EXPLORERS), choices=list(EXPLORERS))
    args = parser.parse_args()
    os.environ.setdefault("LMCOURSE_PROFILE", "offline")
    from lmcourse.data import load_course_corpus

    corpus = load_course_corpus()
    texts = prompts(corpus, args.prompts, args.seed)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; {len(texts)} prompts "
          f"from the course corpus's sentences, k={K}")
    print(f"{'model':<12} {'widget median':>13} {'p95':>8} {'budget':>8} | {'predict() median':>16} "
          f"{'widget / predict':>16}")
    worst = 0.0
    for name in args.models:
        model, what = EXPLORERS[name](corpus)
        widget, bare = measure(model, texts)
        p95 = percentile(widget, 95)
        worst = max(worst, p95)
        ratio = statistics.median(widget) / statistics.median(bare)
        print(f"{name:<12} {statistics.median(widget):10.1f} ms {p95:5.1f} ms "
              f"{'ok' if p95 <= BUDGET_MS else 'OVER':>8} | {statistics.median(bare):13.1f} ms {ratio:15.2f}x"
              f"   ({what})")
    print(f"Every model's 95th percentile within {BUDGET_MS:.0f} ms: {'yes' if worst <= BUDGET_MS else 'no'} "
          f"(worst {worst:.1f} ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
