"""The one contract every model of the course speaks, and the one check of what a student types.

Every model a widget can drive has ``predict(text, k) -> [(label, probability), ...]``; next-word
models also have ``generate(prompt, length, temperature, seed) -> [word, ...]``. Every model checks
its input with the functions here, so the same mistake gets the same message from the n-gram model,
the LSTM, the transformer and the classifier, and a widget simply shows that message.

What a prompt means is the same for every next-word model: an empty prompt is the start of a
sentence, and a prompt longer than the model's context is read through its last window.
"""

from __future__ import annotations

import math
import numbers
import unicodedata
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

MAX_CHARS = 500


@runtime_checkable
class Predictor(Protocol):
    def predict(self, text: str, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` most likely labels (next words, or classes) for ``text``, most likely first."""


@runtime_checkable
class Generator(Protocol):
    def generate(self, prompt: str, length: int, temperature: float, seed: int | None) -> list[str]:
        """``length`` sampled words that continue ``prompt``."""


@dataclass(frozen=True)
class InputRules:
    """What a model accepts as text: how long, which scripts, and whether it may be empty.

    Next-word models read an empty prompt as the start of a sentence (``allow_empty=True``); a
    classifier has nothing to classify in an empty text and refuses it.
    """

    max_chars: int = MAX_CHARS
    latin_only: bool = True  # the course's models learned English only
    allow_empty: bool = True


NEXT_WORD_RULES = InputRules()
CLASSIFIER_RULES = InputRules(allow_empty=False)


def foreign_characters(text: str) -> list[str]:
    """Characters an English model cannot read: emoji, symbols, non-Latin letters (each once)."""
    odd = []
    for ch in text:
        if ch.isascii() or ch.isspace():
            continue
        category = unicodedata.category(ch)
        latin = category.startswith("L") and "LATIN" in unicodedata.name(ch, "")
        if not latin and category not in ("Pd", "Pi", "Pf", "Po") and ch not in odd:
            odd.append(ch)
    return odd


def text_problem(text: object, rules: InputRules = NEXT_WORD_RULES) -> str:
    """Why ``text`` cannot be used under ``rules``, in one sentence, or ``""`` when it is fine."""
    if not isinstance(text, str):
        return f"The text must be a string, got {type(text).__name__}."
    if not text.strip() and not rules.allow_empty:
        return "The text is empty: type a few words."
    if len(text) > rules.max_chars:
        return f"The text is {len(text):,} characters long; keep it under {rules.max_chars:,}."
    odd = foreign_characters(text) if rules.latin_only else []
    if odd:
        return (f"This model reads English text only, so it cannot read {' '.join(odd[:5])}. "
                "Try plain English.")
    return ""


def check_text(text: object, rules: InputRules = NEXT_WORD_RULES) -> str:
    """``text`` itself when ``rules`` accept it, else a ValueError saying why in one sentence."""
    problem = text_problem(text, rules)
    if problem:
        raise ValueError(problem)
    return text  # type: ignore[return-value]


def _whole_number(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def check_k(k: object) -> int:
    """How many labels to show: a whole number >= 1 (numpy integers too)."""
    return _whole_number(k, "k", 1)


def check_length(length: object) -> int:
    """How many words to generate: a whole number >= 0 (numpy integers too)."""
    return _whole_number(length, "length", 0)


def check_temperature(temperature: object) -> float:
    """A sampling temperature: a finite number > 0 (numpy numbers too)."""
    if (isinstance(temperature, bool) or not isinstance(temperature, numbers.Real)
            or not math.isfinite(temperature) or not temperature > 0):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")
    return float(temperature)


def check_seed(seed: object) -> int | None:
    """A sampling seed: None (a fresh draw every time) or a whole number >= 0."""
    return None if seed is None else _whole_number(seed, "seed", 0)
