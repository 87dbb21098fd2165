"""Tokenising text the same way for every chapter: sentences, words, and a vocabulary.

Chapters 2, 3 and 4 share this tokenizer and vocabulary so that the perplexities of the n-gram
models, the LSTM and the transformer are measured on exactly the same tokens.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

BOS, EOS, UNK = "<s>", "</s>", "<UNK>"

# Words (letters with inner apostrophes or hyphens), numbers, and sentence punctuation.
TOKEN_RE = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*|\d+(?:[.,:]\d+)*|[.,!?;:]")
# Abbreviations that end in a full stop but not a sentence: titles before a name ("Mr. Darcy"),
# and single capital initials ("J. Smith"; not "I", which ends sentences as a word).
TITLES = ("Mr", "Mrs", "Ms", "Dr", "St", "Jr", "Sr", "Mme", "Mlle", "Messrs", "Prof", "Rev", "Capt", "Col",
          "Gen", "Lt", "Sgt", "Hon", "Gov", "Sen", "Rep", "Mt")
NOT_AN_END = "".join(f"(?<!\\b{title}\\.)" for title in TITLES) + r"(?<!\b[A-HJ-Z]\.)"
# A sentence ends at . ! or ? (maybe followed by up to two closing quotes or brackets, which stay
# with it) before a capital or a quote, unless the full stop ends one of those abbreviations.
SENTENCE_END_RE = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]])|(?<=[.!?][\"')\]]{2}))" + NOT_AN_END
                             + r"\s+(?=[\"'(\[]*[A-Z0-9])")
QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "_": " "})


def normalise(text: str) -> str:
    """Fold curly quotes to straight ones, drop underscores (Gutenberg italics), squash spaces."""
    text = unicodedata.normalize("NFKC", text).translate(QUOTES)
    return re.sub(r"\s+", " ", text).strip()


def tokenize(text: str) -> list[str]:
    """Lower-cased word and punctuation tokens: ``"Don't stop!"`` -> ``["don't", 'stop', '!']``."""
    return TOKEN_RE.findall(normalise(text).lower())


def split_sentences(text: str) -> list[str]:
    """Split running text into sentences at . ! ? followed by a capital letter (not after "Mr."
    and other titles, or after an initial such as "J.")."""
    return [s for s in SENTENCE_END_RE.split(normalise(text)) if s]


def tokenize_sentences(text: str) -> list[list[str]]:
    """Sentences of ``text``, each as a list of tokens; empty sentences are dropped."""
    return [tokens for tokens in map(tokenize, split_sentences(text)) if tokens]


def detokenize(tokens: Iterable[str]) -> str:
    """Join tokens into readable text: no space before punctuation, none for special symbols."""
    out = ""
    for token in tokens:
        if token in (BOS, EOS):
            continue
        out += token if (not out or token in ".,!?;:") else " " + token
    return out


@dataclass(frozen=True)
class Vocabulary:
    """Words known to a model, most frequent first; anything else maps to ``<UNK>``."""

    words: tuple[str, ...]

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], min_count: int = 1,
              specials: Sequence[str] = (UNK,)) -> "Vocabulary":
        if min_count < 1:
            raise ValueError(f"min_count must be >= 1, got {min_count}")
        counts = Counter(token for sentence in sentences for token in sentence)
        kept = sorted((w for w, c in counts.items() if c >= min_count and w not in specials),
                      key=lambda w: (-counts[w], w))
        return cls(tuple(specials) + tuple(kept))

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {w: i for i, w in enumerate(self.words)})

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self._index  # type: ignore[attr-defined]

    def lookup(self, word: str) -> str:
        """``word`` itself when known, else ``<UNK>``."""
        return word if word in self else UNK

    def ids(self, tokens: Iterable[str]) -> list[int]:
        """Integer ids of ``tokens``; unknown words get the id of ``<UNK>``."""
        index = self._index  # type: ignore[attr-defined]
        unk = index[UNK]
        return [index.get(t, unk) for t in tokens]
