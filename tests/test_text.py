"""lmcourse.text: the tokenizer, sentence splitter and vocabulary that chapters 2 and 3 share."""

from __future__ import annotations

import pytest

from lmcourse.text import (BOS, EOS, UNK, Vocabulary, detokenize, normalise, split_sentences,
                           tokenize, tokenize_sentences)


@pytest.mark.parametrize("text, tokens", [
    ("Hello World", ["hello", "world"]),
    ("HELLO, World!", ["hello", ",", "world", "!"]),
    ("Don't stop!", ["don't", "stop", "!"]),
    # curly quotes fold to straight ones; quotation marks themselves are not tokens
    ("It\u2019s \u201cfine\u201d.", ["it's", "fine", "."]),
    ("rock\u2019n\u2019roll", ["rock'n'roll"]),
    ("'quoted' words", ["quoted", "words"]),
    ("a well-known e-mail", ["a", "well-known", "e-mail"]),
    ("Wait; what? Yes: now.", ["wait", ";", "what", "?", "yes", ":", "now", "."]),
    ("3.14 is pi, 1,000 cats", ["3.14", "is", "pi", ",", "1,000", "cats"]),
    ("_Emma_ smiled", ["emma", "smiled"]),  # Gutenberg's _italics_
    ("Na\u00efve caf\u00e9", ["na\u00efve", "caf\u00e9"]),
    ("the end -- really?", ["the", "end", "really", "?"]),
    ("   ", []),
])
def test_tokenize(text, tokens):
    assert tokenize(text) == tokens


def test_tokenize_folds_apostrophe_variants_to_the_same_token():
    assert tokenize("don\u2019t") == tokenize("don't") == ["don't"]


def test_normalise_squashes_spaces_and_folds_quotes():
    assert normalise("  \u201cHi\u201d\n\tthere  ") == '"Hi" there'


def test_split_sentences():
    assert split_sentences("Models learn from data. They don't read like we do! Do they?") == [
        "Models learn from data.", "They don't read like we do!", "Do they?"]


def test_split_sentences_keeps_closing_quotes_and_brackets_with_their_sentence():
    assert split_sentences('"Fine!" She left. (Really.) Then 3 cats ran. (He said "no.") End.') == [
        '"Fine!"', "She left.", "(Really.)", "Then 3 cats ran.", '(He said "no.")', "End."]


def test_split_sentences_needs_a_capital_after_the_stop():
    assert split_sentences("It was 3 p.m. when we left. the end") == ["It was 3 p.m. when we left. the end"]
    assert split_sentences("  one line \n") == ["one line"]
    assert split_sentences("") == []


def test_split_sentences_does_not_end_at_titles_or_initials():
    assert split_sentences('"My dear Mr. Bennet," said his lady. Mrs. Long and Dr. J. R. Ward came to '
                           "St. James's. It was I. Then they left.") == [
        '"My dear Mr. Bennet," said his lady.', "Mrs. Long and Dr. J. R. Ward came to St. James's.",
        "It was I.", "Then they left."]


def test_no_sentence_of_pride_and_prejudice_ends_at_a_title_or_an_initial(shared_corpora):
    """Before titles were known, 1,093 of its 6,851 "sentences" ended at "Mr.", "Mrs.", "St." or "P."."""
    import re

    from lmcourse.data import load_book

    sentences = split_sentences(load_book("pride_and_prejudice"))
    cut = [s for s in sentences if re.search(r"\b(Mr|Mrs|Ms|Dr|St|[A-HJ-Z])\.$", s)]
    assert cut == []
    assert 5_500 < len(sentences) < 6_000, len(sentences)  # 6,851 - 1,093 = 5,758 sentences


def test_tokenize_sentences_drops_empty_sentences():
    assert tokenize_sentences("Hi there! \u201cOK.\u201d") == [["hi", "there", "!"], ["ok", "."]]
    assert tokenize_sentences("-- \u2014 --") == []


def test_detokenize():
    assert detokenize([BOS, BOS, "i", "don't", "know", ";", "do", "you", "?", EOS]) == "i don't know; do you?"
    assert detokenize(["hello", ",", "world", "!"]) == "hello, world!"
    assert detokenize([]) == ""
    assert detokenize(tokenize("Cats sleep, dogs bark.")) == "cats sleep, dogs bark."


def test_vocabulary_most_frequent_first_ties_alphabetical():
    vocab = Vocabulary.build([["b", "a", "c"], ["a", "b", "a"], ["d"]])
    assert vocab.words == (UNK, "a", "b", "c", "d")  # a x3, b x2, then c and d once each
    assert len(vocab) == 5


def test_vocabulary_maps_unknown_words_to_unk():
    vocab = Vocabulary.build([["the", "cat"], ["the", "dog"]])
    assert vocab.words == (UNK, "the", "cat", "dog")
    assert vocab.ids(["the", "dog", "zebra", UNK]) == [1, 3, 0, 0]
    assert vocab.lookup("zebra") == UNK
    assert vocab.lookup("cat") == "cat"
    assert "cat" in vocab and "zebra" not in vocab


def test_vocabulary_does_not_count_specials_twice():
    vocab = Vocabulary.build([[UNK, "x", UNK]])
    assert vocab.words == (UNK, "x")


def test_vocabulary_min_count():
    sentences = [["a", "a", "b", "c"], ["a", "b"]]
    assert Vocabulary.build(sentences, min_count=2).words == (UNK, "a", "b")
    assert Vocabulary.build(sentences, min_count=3).words == (UNK, "a")
    assert Vocabulary.build(sentences, min_count=2).ids(["c"]) == [0]


@pytest.mark.parametrize("bad", [0, -1])
def test_vocabulary_min_count_must_be_positive(bad):
    with pytest.raises(ValueError, match=rf"min_count must be >= 1, got {bad}"):
        Vocabulary.build([["a"]], min_count=bad)
