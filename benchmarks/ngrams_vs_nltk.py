"""lmcourse.ngrams against nltk.lm: fit plus held-out perplexity, side by side in one run.

Data: the six Jane Austen novels (about 700k words) from LMCOURSE_DATA_DIR or ../shared/data/corpora,
tokenised by lmcourse.text, split 90/10 by sentence within each book. Both libraries get the same
token lists and score the same held-out n-grams (every word, context padded with <s>).

nltk's KneserNeyInterpolated takes tens of milliseconds per scored n-gram, so the Kneser-Ney rows
score the first --kn-tokens held-out words with both libraries (fit is always on all training text).

    python benchmarks/ngrams_vs_nltk.py [--data-dir DIR] [--kn-tokens 1500]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from nltk.lm import KneserNeyInterpolated, Laplace
from nltk.lm.preprocessing import padded_everygram_pipeline

from lmcourse.data import AUSTEN, load_book_corpus
from lmcourse.ngrams import NGramModel
from lmcourse.text import BOS

DEFAULT_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "corpora"


def heldout_ngrams(sentences, order):
    """The (context..., word) tuples lmcourse.ngrams scores in perplexity(): every word of every sentence."""
    out = []
    for s in sentences:
        padded = [BOS] * (order - 1) + list(s)
        out.extend(tuple(padded[i - order + 1:i + 1]) for i in range(order - 1, len(padded)))
    return out


def truncate(sentences, tokens):
    """The first sentences holding about ``tokens`` words."""
    out, n = [], 0
    for s in sentences:
        if n >= tokens:
            break
        out.append(s)
        n += len(s)
    return out


def time_ours(order, smoothing, train, test):
    start = time.perf_counter()
    model = NGramModel(order, smoothing).fit(train)
    fitted = time.perf_counter()
    pp = model.perplexity(test)
    return fitted - start, time.perf_counter() - fitted, pp


def time_nltk(order, cls, train, test):
    start = time.perf_counter()
    data, vocab = padded_everygram_pipeline(order, train)
    model = cls(order)
    model.fit(data, vocab)
    fitted = time.perf_counter()
    pp = model.perplexity(heldout_ngrams(test, order))
    return fitted - start, time.perf_counter() - fitted, pp


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("LMCOURSE_DATA_DIR", str(DEFAULT_DIR)))
    parser.add_argument("--kn-tokens", type=int, default=1500, help="held-out words scored in the Kneser-Ney rows")
    args = parser.parse_args()
    if not Path(args.data_dir).is_dir():
        print(f"no corpus folder at {args.data_dir}: pass --data-dir or set LMCOURSE_DATA_DIR", file=sys.stderr)
        return 2
    os.environ["LMCOURSE_DATA_DIR"] = args.data_dir
    corpus = load_book_corpus(AUSTEN, download=False, fractions=(0.9, 0.0, 0.1))
    train, test = corpus.train, corpus.test
    print(f"{corpus.name}: {corpus.num_tokens('train'):,} training words, "
          f"{corpus.num_tokens('test'):,} held-out words ({len(test):,} sentences)")
    kn_test = truncate(test, args.kn_tokens)
    rows = [(2, "laplace", Laplace, test), (3, "laplace", Laplace, test),
            (2, "kneser-ney", KneserNeyInterpolated, kn_test), (3, "kneser-ney", KneserNeyInterpolated, kn_test)]
    print(f"\n{'model':<14}{'scored':>9} | {'lmcourse fit':>12}{'score':>8}{'PP':>9} | "
          f"{'nltk.lm fit':>11}{'score':>8}{'PP':>9} | {'speed-up':>8}")
    for order, smoothing, cls, held in rows:
        o_fit, o_score, o_pp = time_ours(order, smoothing, train, held)
        n_fit, n_score, n_pp = time_nltk(order, cls, train, held)
        ratio = (n_fit + n_score) / (o_fit + o_score)
        name = f"{order}-gram {'KN' if smoothing == 'kneser-ney' else 'Laplace'}"
        print(f"{name:<14}{sum(map(len, held)):>9,} | {o_fit:>11.2f}s{o_score:>7.2f}s{o_pp:>9.1f} | "
              f"{n_fit:>10.2f}s{n_score:>7.2f}s{n_pp:>9.1f} | {ratio:>7.1f}x")
    print("\nspeed-up = nltk.lm (fit + score) time / lmcourse (fit + score) time; target >= 20x per row.")
    print("nltk's Kneser-Ney gives inf where a held-out word is unseen; lmcourse's interpolates "
          "down to a uniform distribution, so it stays finite.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
