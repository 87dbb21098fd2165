"""How much sooner chapter 4's transformer reaches the LSTM's best validation perplexity.

Peer: chapter 3's LSTM (Embedding -> LSTM -> softmax). Both sides use the same vocabulary
(chapter 2's, built from the training split), the same held-out split of Pride and Prejudice, the
same layout (one row per sentence, padded to 32 tokens, a target at every real position:
lmcourse.neural) and the same context rule (lmcourse.scoring: a word is predicted from the earlier
words of its own sentence only), and about the same number of weights (both printed). Each trains
with Adam at its chapter's learning rate, on the same rows in the same order per epoch.

The LSTM trains for a fixed budget; its best validation perplexity is the target. The transformer
then trains until it reaches that target (or the same budget). Clocks count training only, not
evaluation. Printed: training tokens per second for each, the seconds each needs to reach the
target, and the ratio. Usage::

    python benchmarks/transformer_vs_lstm.py [--data-dir ../shared/data/corpora] [--budget 150]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from lstm_speed import add_data_dir, load  # the same book, found the same way

REPO = Path(__file__).resolve().parents[1]
WINDOW = 32
BATCH_ROWS = 64  # both sides (the chapters train with 16; larger batches use 2 cores better)
CHUNKS_PER_EPOCH = 4  # evaluate four times per pass over the training rows


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_data_dir(parser)
    parser.add_argument("--budget", type=float, default=150.0, help="training seconds for the LSTM (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def run(lm, rows, valid, name: str, budget: float, seed: int, target: float | None = None):
    """Train ``lm`` a chunk of rows at a time until the budget is spent (or ``target`` is reached),
    evaluating validation perplexity after each chunk; return (seconds, tokens, perplexity) points."""
    import numpy as np

    rng = np.random.default_rng(seed)
    trained, tokens, curve = 0.0, 0, []
    while trained < budget:
        for part in np.array_split(rng.permutation(len(rows.x)), CHUNKS_PER_EPOCH):
            start = time.perf_counter()
            lm.model.fit(rows.x[part], rows.y[part], sample_weight=rows.weights[part], batch_size=BATCH_ROWS,
                         epochs=1, verbose=0, shuffle=False)
            trained += time.perf_counter() - start
            tokens += int(rows.weights[part].sum())
            ppl = lm.perplexity(valid)
            curve.append((trained, tokens, ppl))
            print(f"  {name:<12} {trained:7.1f} s trained, {tokens:>10,} target tokens, "
                  f"validation perplexity {ppl:8.1f}", flush=True)
            if trained >= budget or (target is not None and ppl <= target):
                return curve
    return curve


def main() -> None:
    args = parse_args()
    sys.path.insert(0, str(REPO))
    corpus = load(args.data_dir, "transformer_vs_lstm")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import lmcourse

    lmcourse.setup("transformer", profile="offline", seed=args.seed, verbose=False)
    import keras

    from lmcourse import lstm, neural, transformer

    vocab = neural.build_vocabulary(corpus.train)
    rows = neural.sentence_rows(corpus.train, vocab, WINDOW, unk_share=0.5, seed=args.seed)
    print(corpus.summary())
    print(f"vocabulary: {len(vocab):,} entries; {len(rows.x):,} sentence rows x {WINDOW} positions, "
          f"{rows.tokens:,} targets; keras {keras.__version__}, backend {keras.backend.backend()}")

    keras.utils.set_random_seed(args.seed)
    lstm_config = lstm.LSTMConfig(embedding_dim=64, units=64)
    lstm_lm = lstm.LSTMLanguageModel.build(vocab, lstm_config)
    keras.utils.set_random_seed(args.seed)
    t_config = transformer.TransformerConfig(model_dim=96, heads=4, layers=2, mlp_dim=384)
    t_lm = transformer.TransformerLanguageModel.build(vocab, t_config)
    print(f"LSTM:        embedding {lstm_config.embedding_dim}, {lstm_config.units} units, dropout "
          f"{lstm_config.dropout}, Adam({lstm_config.learning_rate}): {lstm_lm.model.count_params():,} weights")
    print(f"transformer: {t_config.layers} pre-norm blocks, {t_config.heads} heads, d={t_config.model_dim}, MLP "
          f"{t_config.mlp_dim}, tied embeddings, dropout {t_config.dropout}, Adam({t_config.learning_rate}): "
          f"{t_lm.model.count_params():,} weights")
    print(f"batches of {BATCH_ROWS} sentence rows on both sides; LSTM budget {args.budget:.0f} s of training")

    print("LSTM (peer), for the budget:")
    curve_l = run(lstm_lm, rows, corpus.valid, "LSTM", args.budget, args.seed)
    best = min(p for _, _, p in curve_l)
    t_l = next(t for t, _, p in curve_l if p == best)
    print(f"transformer, until validation perplexity <= {best:.1f} (or {args.budget:.0f} s):")
    curve_t = run(t_lm, rows, corpus.valid, "transformer", args.budget, args.seed, target=best)
    reached = [t for t, _, p in curve_t if p <= best]

    tok_l, tok_t = curve_l[-1][1] / curve_l[-1][0], curve_t[-1][1] / curve_t[-1][0]
    print()
    print(f"{'model':<13} {'weights':>10} {'training tokens/s':>18} {'best val. ppl':>14} {'s to reach ' + format(best, '.1f'):>16}")
    print(f"{'LSTM':<13} {lstm_lm.model.count_params():>10,} {tok_l:>18,.0f} {best:>14.1f} {t_l:>16.1f}")
    print(f"{'transformer':<13} {t_lm.model.count_params():>10,} {tok_t:>18,.0f} "
          f"{min(p for _, _, p in curve_t):>14.1f} {(format(reached[0], '.1f') if reached else 'not reached'):>16}")
    print(f"training tokens/s, transformer / LSTM: {tok_t / tok_l:.2f}x")
    if reached:
        ratio = t_l / reached[0]
        print(f"time to the LSTM's best validation perplexity: the transformer is {ratio:.1f}x sooner "
              f"(target >= 2x: {'met' if ratio >= 2 else 'NOT met'})")
    else:
        print(f"the transformer did not reach {best:.1f} within {args.budget:.0f} s")


if __name__ == "__main__":
    main()
