"""How much faster chapter 3's sentence layout trains than the original every-prefix layout.

Peer: the original Keras example's approach (every prefix of every sentence, pre-padded to the
longest, one target per sequence). Both sides use the same model (Embedding(10) -> LSTM(50) ->
softmax, Adam, sparse categorical cross-entropy), the same vocabulary (chapter 2's, built from the
training split) and the same held-out split of Pride and Prejudice. Only the data layout differs.

Both follow the course's one context rule (lmcourse.scoring): a word is predicted from the earlier
words of its own sentence only. The chapter's layout is one row per sentence (``</s> w1 .. wn``),
padded at the end to 32 tokens, with a target at every real position (lmcourse.neural).
Validation perplexity is measured on the same tokens for both: every word of every validation
sentence except its first (the prefix layout never predicts a word from an empty prefix).

The original trains for a fixed budget; its best validation perplexity is the target. The window
model then trains until it reaches that target (or the same budget). Clocks count training only,
not evaluation. Usage::

    python benchmarks/lstm_speed.py [--data-dir ../shared/data/corpora] [--budget 180]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BOOK = "pride_and_prejudice"
LEARNING_RATE = 0.01  # Adam, the same on both sides
TARGETS_PER_STEP = 128  # both sides: 128 prefixes, or about 128 targets in sentence rows


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    """--data-dir: where Pride and Prejudice is (also used by benchmarks/transformer_vs_lstm.py)."""
    default_dir = os.environ.get("LMCOURSE_DATA_DIR") or str(REPO.parent / "shared" / "data" / "corpora")
    parser.add_argument("--data-dir", default=default_dir,
                        help="folder holding austen_prideprejudice.txt (default: %(default)s)")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_data_dir(parser)
    parser.add_argument("--budget", type=float, default=180.0,
                        help="training seconds for each approach (default: %(default)s)")
    parser.add_argument("--window", type=int, default=32, help="window length of the chapter's approach")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def load(data_dir: str, script: str = "lstm_speed"):
    """Pride and Prejudice from ``data_dir`` only (no download); exit with a message if absent."""
    from lmcourse.data import BOOKS, DataUnavailableError, load_book_corpus

    os.environ["LMCOURSE_DATA_DIR"] = data_dir
    try:
        return load_book_corpus(BOOK, download=False)
    except DataUnavailableError:
        sys.exit(f"{script}: {BOOKS[BOOK].filename} not found in {data_dir} (or its corpora/ folder). "
                 f"Pass --data-dir FOLDER or set LMCOURSE_DATA_DIR.")


class Side:
    """Training data ``x``, ``y`` and a Keras ``model``, trained a chunk of rows at a time."""

    def start_epochs(self, np) -> None:
        self.rng = np.random.default_rng(0)
        self.order, self.cursor = self.rng.permutation(len(self.x)), 0

    def rows(self) -> int:
        return len(self.x)

    weights = None  # per-target weights (the sentence layout's padding has weight 0)

    def train(self, n_rows: int, batch_size: int) -> int:
        """Train on the next ``n_rows`` rows of this epoch's shuffled order; return how many real
        targets they held."""
        if self.cursor >= len(self.order):
            self.order, self.cursor = self.rng.permutation(len(self.x)), 0
        part = self.order[self.cursor:self.cursor + n_rows]
        self.cursor += len(part)
        weights = None if self.weights is None else self.weights[part]
        self.model.fit(self.x[part], self.y[part], sample_weight=weights, batch_size=batch_size, epochs=1,
                       verbose=0, shuffle=False)
        return len(part) if weights is None else int(weights.sum())


class PrefixSide(Side):
    """The original layout. Ids are shifted by one so that 0 is only padding."""

    def __init__(self, corpus, vocab, lstm, keras, np):
        self.np, self.keras = np, keras
        train_ids = [[i + 1 for i in vocab.ids(s)] for s in corpus.train]
        self.x, self.y = lstm.pad_prefixes(lstm.prefix_sequences(train_ids))
        self.width = self.x.shape[1]
        valid_ids = [[i + 1 for i in vocab.ids(s)] for s in corpus.valid]
        vx = keras.utils.pad_sequences([s[:i] for s in valid_ids for i in range(1, len(s))],
                                       maxlen=self.width, padding="pre", truncating="pre")
        self.vx, self.vy = vx, np.array([s[i] for s in valid_ids for i in range(1, len(s))])
        self.model = lstm.prefix_model(len(vocab) + 1, learning_rate=LEARNING_RATE)
        self.start_epochs(np)

    def perplexity(self) -> float:
        np = self.np
        probs = self.model.predict(self.vx, batch_size=1024, verbose=0)
        return float(np.exp(-np.mean(np.log(probs[np.arange(len(self.vy)), self.vy]))))


class WindowSide(Side):
    """The chapter's layout: one row per sentence, a target at every real position."""

    def __init__(self, corpus, vocab, lstm, keras, np, window: int):
        from lmcourse.neural import sentence_rows

        self.np = np
        rows = sentence_rows(corpus.train, vocab, window)
        self.x, self.y, self.weights = rows.x, rows.y, rows.weights
        self.lm = lstm.LSTMLanguageModel.build(
            vocab, lstm.LSTMConfig(window=window, embedding_dim=10, units=50, dropout=0.0,
                                   learning_rate=LEARNING_RATE, unk_share=0.0))
        self.valid = corpus.valid
        # the first word of each sentence is not scored (the prefix layout cannot predict it)
        self.scored = np.concatenate([np.arange(len(s)) > 0 for s in corpus.valid if len(s)])
        self.model = self.lm.model
        self.start_epochs(np)

    def perplexity(self) -> float:
        logprobs = self.lm.token_logprobs(self.valid)[self.scored]
        return float(self.np.exp(-self.np.mean(logprobs)))


def run(side, name: str, budget: float, chunk_rows: int, batch_size: int, target: float | None = None):
    """Train in chunks until the budget is spent (or ``target`` is reached); evaluate after each."""
    trained, cpu, tokens, curve = 0.0, 0.0, 0, []
    while trained < budget:
        start, start_cpu = time.perf_counter(), time.process_time()
        targets = side.train(chunk_rows, batch_size)
        trained += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
        tokens += targets
        ppl = side.perplexity()
        curve.append((trained, tokens, ppl, cpu))
        print(f"  {name:<8} {trained:7.1f} s trained ({cpu:6.1f} s CPU), {tokens:>10,} target tokens, "
              f"validation perplexity {ppl:8.1f}", flush=True)
        if target is not None and ppl <= target:
            break
    return curve


def main() -> None:
    args = parse_args()
    corpus = load(args.data_dir)
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import lmcourse

    lmcourse.setup("lstm", profile="offline", seed=args.seed, verbose=False)
    import keras
    import numpy as np

    from lmcourse import lstm

    vocab = lstm.build_vocabulary(corpus.train)
    print(corpus.summary())
    print(f"vocabulary: {len(vocab):,} entries (chapter 2's words of the training split, plus <UNK> and </s>); "
          f"keras {keras.__version__}, backend {keras.backend.backend()}")

    prefix = PrefixSide(corpus, vocab, lstm, keras, np)
    window = WindowSide(corpus, vocab, lstm, keras, np, args.window)
    print(f"original: {prefix.rows():,} prefix sequences x {prefix.width} steps (pre-padded), 1 target each")
    print(f"chapter:  {window.rows():,} sentence rows x {args.window} steps, a target at every real step "
          f"({int(window.weights.sum()):,} targets)")
    print(f"same model on both sides: Embedding(10) -> LSTM(50) -> softmax; Adam({LEARNING_RATE}), "
          f"{TARGETS_PER_STEP} targets per step; budget {args.budget:.0f} s of training each")

    print(f"original approach (every prefix, pre-padded, batch {TARGETS_PER_STEP}):")
    curve_p = run(prefix, "original", args.budget, chunk_rows=-(-prefix.rows() // 8), batch_size=TARGETS_PER_STEP)
    best = min(p for _, _, p, _ in curve_p)
    t_p, cpu_p = next((t, c) for t, _, p, c in curve_p if p == best)
    tok_p = curve_p[-1][1] / curve_p[-1][0]

    per_row = window.weights.sum() / window.rows()
    batch = max(1, round(TARGETS_PER_STEP / per_row))
    print(f"chapter's approach (sentence rows of {args.window}, batch {batch} = about {batch * per_row:.0f} targets "
          f"per step), until validation perplexity <= {best:.1f}:")
    curve_w = run(window, "sentences", args.budget, chunk_rows=-(-window.rows() // 8), batch_size=batch, target=best)
    tok_w = curve_w[-1][1] / curve_w[-1][0]
    reached = [(t, c) for t, _, p, c in curve_w if p <= best]

    print()
    print(f"{'approach':<34} {'training tokens/s':>18} {'best val. ppl':>14} {'s to reach ' + format(best, '.1f'):>18}")
    print(f"{'original (prefixes, padded)':<34} {tok_p:>18,.0f} {best:>14.1f} {t_p:>18.1f}")
    best_w = min(p for _, _, p, _ in curve_w)
    print(f"{'chapter (sentences, every position)':<34} {tok_w:>18,.0f} {best_w:>14.1f} "
          f"{(format(reached[0][0], '.1f') if reached else 'not reached'):>18}")
    print(f"training tokens/s ratio: {tok_w / tok_p:.1f}x")
    if reached:
        ratio = t_p / reached[0][0]
        print(f"time to the original's best perplexity: {ratio:.1f}x faster (target >= 3x: "
              f"{'met' if ratio >= 3 else 'NOT met'})")
        # on a shared machine the wall clock depends on other load; process CPU time does not
        print(f"the same in process CPU time: {cpu_p:.1f} s against {reached[0][1]:.1f} s, "
              f"{cpu_p / reached[0][1]:.1f}x")
    else:
        print(f"the chapter's approach did not reach {best:.1f} within {args.budget:.0f} s")


if __name__ == "__main__":
    main()
