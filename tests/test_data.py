"""lmcourse.data: the bundled course corpus and its split, and public-domain books by name."""

from __future__ import annotations

import io
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from lmcourse import data
from lmcourse.data import (BOOKS, DataFormatError, DataUnavailableError, atomic_write, check_book, load_book,
                           load_course_corpus, strip_gutenberg)
from lmcourse.text import tokenize_sentences

PUNCTUATION = set(".,!?;:")
BOOK = BOOKS["persuasion"]


def gutenberg_bytes(body: str = "Chapter 1\n\nAnne Elliot walked to the shore.\n",
                    size: int = BOOK.min_bytes + 1000) -> bytes:
    """A text shaped like a Project Gutenberg download: header, markers, the book, licence."""
    head = ("The Project Gutenberg eBook of Persuasion\n\nThis eBook is for the use of anyone.\n"
            f"{data.START_MARKER} PERSUASION ***\n")
    tail = f"{data.END_MARKER} PERSUASION ***\n\nSection 1. General Terms of Use.\n"
    filler = "\nThe end of the walk was near. " * ((size - len(head) - len(tail) - len(body)) // 31 + 1)
    return (head + body + filler + tail).encode("utf-8")


@pytest.fixture()
def empty_dirs(tmp_path, monkeypatch) -> Path:
    """No local data folder and an empty download cache in ``tmp_path/cache``."""
    monkeypatch.delenv("LMCOURSE_DATA_DIR", raising=False)
    monkeypatch.setenv("LMCOURSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return tmp_path / "cache"


@pytest.fixture()
def no_downloads(monkeypatch):
    def refuse(*args, **kwargs):
        pytest.fail("tried to download")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


# --- the course corpus ---------------------------------------------------------------------
def test_course_corpus_has_twenty_documents_and_enough_words():
    docs = data.course_documents()
    assert len(docs) == 20
    assert all(len(text.split()) >= 500 for text in docs.values())
    corpus = load_course_corpus()
    words = sum(1 for part in (corpus.train, corpus.valid, corpus.test)
                for sentence in part for token in sentence if token not in PUNCTUATION)
    assert words >= 20_000
    assert sum(len(text.split()) for text in docs.values()) >= 20_000


def test_course_corpus_split_is_fixed():
    a, b = load_course_corpus(), load_course_corpus()
    assert (len(a.train), len(a.valid), len(a.test)) == (len(b.train), len(b.valid), len(b.test))
    assert (a.train, a.valid, a.test) == (b.train, b.valid, b.test)
    total = len(a.train) + len(a.valid) + len(a.test)
    assert 0.78 < len(a.train) / total < 0.82
    assert 0.08 < len(a.valid) / total < 0.12 and 0.08 < len(a.test) / total < 0.12


def test_course_corpus_splits_each_document_in_order():
    """Per document: the first 80% of its sentences train, the next 10% validate, the rest test."""
    corpus = load_course_corpus()
    at = {"train": 0, "valid": 0, "test": 0}
    for name, text in data.course_documents().items():
        sentences = tokenize_sentences(text)
        n = len(sentences)
        cut_a, cut_b = round(0.8 * n), round(0.8 * n) + round(0.1 * n)
        for split, part in (("train", sentences[:cut_a]), ("valid", sentences[cut_a:cut_b]),
                            ("test", sentences[cut_b:])):
            assert part, f"{name} has no {split} sentences"
            taken = getattr(corpus, split)[at[split]:at[split] + len(part)]
            assert taken == part, f"{name}: {split} is not the document's sentences in order"
            at[split] += len(part)
    assert at == {s: len(getattr(corpus, s)) for s in at}  # nothing else is in any split


def test_corpus_summary_counts_sentences_and_tokens():
    corpus = load_course_corpus()
    assert corpus.num_tokens("test") == sum(map(len, corpus.test))
    assert f"test {len(corpus.test):,} sentences / {corpus.num_tokens('test'):,} tokens" in corpus.summary()


def test_corpus_without_sentences_is_an_error():
    with pytest.raises(ValueError, match="no training sentences"):
        data.corpus_from_documents("empty", "test", ["", "-- --"])


# --- books ---------------------------------------------------------------------------------
def test_unknown_book_is_rejected_with_the_names_allowed():
    with pytest.raises(ValueError, match=r"book must be one of pride_and_prejudice, .*moby_dick; got 'ulysses'"):
        load_book("ulysses")


def test_book_from_lmcourse_data_dir(tmp_path, empty_dirs, no_downloads, monkeypatch):
    (tmp_path / BOOK.filename).write_bytes(gutenberg_bytes())
    monkeypatch.setenv("LMCOURSE_DATA_DIR", str(tmp_path))
    assert data.book_path("persuasion") == tmp_path / BOOK.filename
    assert load_book("persuasion").startswith("Chapter 1\n\nAnne Elliot walked to the shore.")


def test_book_from_the_corpora_subfolder_of_lmcourse_data_dir(tmp_path, empty_dirs, no_downloads,
                                                              monkeypatch):
    (tmp_path / "corpora").mkdir()
    (tmp_path / "corpora" / BOOK.filename).write_bytes(gutenberg_bytes())
    monkeypatch.setenv("LMCOURSE_DATA_DIR", str(tmp_path))
    assert data.book_path("persuasion") == tmp_path / "corpora" / BOOK.filename


def test_real_book_from_shared_data(shared_corpora, no_downloads):
    text = load_book("persuasion")
    assert text.lstrip().startswith("Persuasion")
    assert "Sir Walter Elliot, of Kellynch Hall" in text[:1000]
    assert data.START_MARKER not in text and data.END_MARKER not in text
    corpus = data.load_book_corpus("persuasion")
    assert corpus.name == "Persuasion"
    assert 70_000 < corpus.num_tokens("train") < 90_000  # about 98k tokens, 80% to train


def test_cached_book_is_used_without_network(empty_dirs, no_downloads):
    empty_dirs.mkdir()
    (empty_dirs / BOOK.filename).write_bytes(gutenberg_bytes(body="Cached copy.\n"))
    assert data.book_path("persuasion") == empty_dirs / BOOK.filename
    assert load_book("persuasion").startswith("Cached copy.")


def test_offline_without_files_fails_at_once_naming_lmcourse_data_dir(empty_dirs, no_downloads,
                                                                       monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(DataUnavailableError, match="LMCOURSE_DATA_DIR") as err:
        load_book("persuasion")
    assert time.perf_counter() - start < 1.0
    assert "offline" in str(err.value) and BOOK.filename in str(err.value)


def test_download_refused_when_not_allowed(empty_dirs, no_downloads):
    with pytest.raises(DataUnavailableError, match="LMCOURSE_DATA_DIR"):
        load_book("persuasion", download=False)


def test_failed_download_raises_data_unavailable(empty_dirs, monkeypatch):
    def unreachable(url, timeout=None):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", unreachable)
    with pytest.raises(DataUnavailableError) as err:
        load_book("persuasion")
    message = str(err.value)
    assert "could not be downloaded from https://www.gutenberg.org/cache/epub/105/pg105.txt" in message
    assert "Name or service not known" in message and "LMCOURSE_DATA_DIR" in message
    assert not empty_dirs.exists() or not any(empty_dirs.iterdir())


def fake_urlopen(payload: bytes, calls: list):
    def urlopen(url, timeout=None):
        calls.append(url)
        return io.BytesIO(payload)  # a context manager with read(), like an HTTP response

    return urlopen


def test_download_is_checked_written_to_the_cache_and_stripped(empty_dirs, monkeypatch):
    payload = gutenberg_bytes()
    calls: list[str] = []
    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen(payload, calls))
    text = load_book("persuasion")
    assert calls == ["https://www.gutenberg.org/cache/epub/105/pg105.txt"]
    assert (empty_dirs / BOOK.filename).read_bytes() == payload
    assert [p.name for p in empty_dirs.iterdir()] == [BOOK.filename]  # no temporary file left
    assert text.startswith("Chapter 1\n\nAnne Elliot walked to the shore.")
    assert "Project Gutenberg" not in text and "General Terms" not in text
    load_book("persuasion")  # the second time comes from the cache
    assert len(calls) == 1


def test_truncated_download_is_not_cached(empty_dirs, monkeypatch):
    payload = gutenberg_bytes()[: BOOK.min_bytes // 2]
    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen(payload, []))
    with pytest.raises(DataUnavailableError, match="incomplete"):
        load_book("persuasion")
    assert not (empty_dirs / BOOK.filename).exists()


def test_check_book_rejects_truncated_and_unmarked_downloads():
    whole = gutenberg_bytes()
    assert check_book(BOOK, whole, "x").startswith("The Project Gutenberg eBook")  # a whole download
    with pytest.raises(DataUnavailableError, match=r"incomplete copy of Persuasion \(200,000 bytes, "
                                                   r"end marker missing\); try again"):
        check_book(BOOK, whole[:200_000], "x")  # cut before the end marker
    small = gutenberg_bytes(size=10_000)
    with pytest.raises(DataUnavailableError, match=r"markers found"):
        check_book(BOOK, small, "x")  # both markers, but far too small
    no_markers = ("Just some text.\n" * 40_000).encode()
    assert len(no_markers) > BOOK.min_bytes
    with pytest.raises(DataUnavailableError, match="markers missing"):
        check_book(BOOK, no_markers, "x")


def test_check_book_lets_a_local_file_lose_its_markers_but_not_its_end():
    no_markers = ("Just some text.\n" * 40_000).encode()
    assert check_book(BOOK, no_markers, "local", gutenberg_file=False).startswith("Just some text.")
    cut = gutenberg_bytes()[:-200]  # the end marker is gone, the start marker is not
    with pytest.raises(DataUnavailableError, match="local holds an incomplete copy.*replace it"):
        check_book(BOOK, cut, "local", gutenberg_file=False)
    with pytest.raises(DataUnavailableError, match="incomplete"):
        check_book(BOOK, no_markers[:50_000], "local", gutenberg_file=False)


def test_a_byte_order_mark_is_accepted(tmp_path, empty_dirs, no_downloads, monkeypatch):
    (tmp_path / BOOK.filename).write_bytes(b"\xef\xbb\xbf" + gutenberg_bytes())
    monkeypatch.setenv("LMCOURSE_DATA_DIR", str(tmp_path))
    assert load_book("persuasion").startswith("Chapter 1\n\nAnne Elliot")


def test_a_book_that_is_not_utf8_is_named(tmp_path, empty_dirs, no_downloads, monkeypatch):
    (tmp_path / BOOK.filename).write_bytes(gutenberg_bytes().decode().replace("Anne", "Ann\u00e9").encode("latin-1"))
    monkeypatch.setenv("LMCOURSE_DATA_DIR", str(tmp_path))
    with pytest.raises(DataFormatError, match=rf"{tmp_path / BOOK.filename}: not UTF-8 text .* save Persuasion as UTF-8"):
        load_book("persuasion")


def test_a_truncated_local_book_is_named(tmp_path, empty_dirs, no_downloads, monkeypatch):
    (tmp_path / BOOK.filename).write_bytes(gutenberg_bytes()[:100_000])
    monkeypatch.setenv("LMCOURSE_DATA_DIR", str(tmp_path))
    with pytest.raises(DataUnavailableError, match=rf"{tmp_path / BOOK.filename} holds an incomplete copy"):
        load_book("persuasion")


def test_a_broken_cached_book_is_downloaded_again(empty_dirs, monkeypatch):
    empty_dirs.mkdir()
    (empty_dirs / BOOK.filename).write_bytes(gutenberg_bytes()[:100_000])  # a download cut short
    calls: list[str] = []
    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen(gutenberg_bytes(), calls))
    assert load_book("persuasion").startswith("Chapter 1")
    assert len(calls) == 1 and (empty_dirs / BOOK.filename).read_bytes() == gutenberg_bytes()


def test_strip_gutenberg():
    text = f"header\n{data.START_MARKER} X ***\nBody line.\n{data.END_MARKER} X ***\nlicence"
    assert strip_gutenberg(text) == "Body line.\n"
    assert strip_gutenberg("No markers here.") == "No markers here."


def test_atomic_write_leaves_no_partial_file_when_the_write_fails(tmp_path, monkeypatch):
    target = tmp_path / "book.txt"
    target.write_bytes(b"the old, complete file")
    real_fdopen = os.fdopen

    class DiskFull:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()
            return False

        def write(self, payload):
            self.f.write(payload[: len(payload) // 2])
            self.f.flush()
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(data.os, "fdopen", lambda fd, mode: DiskFull(real_fdopen(fd, mode)))
    with pytest.raises(OSError, match="No space left"):
        atomic_write(target, b"x" * 10_000)
    assert target.read_bytes() == b"the old, complete file"
    assert [p.name for p in tmp_path.iterdir()] == ["book.txt"]
    with pytest.raises(OSError):
        atomic_write(tmp_path / "new" / "other.txt", b"y" * 100)
    assert list((tmp_path / "new").iterdir()) == []


def test_atomic_write_writes_the_bytes(tmp_path):
    target = tmp_path / "sub" / "book.txt"
    atomic_write(target, b"complete")
    assert target.read_bytes() == b"complete"
    assert [p.name for p in target.parent.iterdir()] == ["book.txt"]
