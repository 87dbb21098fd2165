"""Text for the course: the bundled corpus, and public-domain books from Project Gutenberg.

Where a book comes from, in order: the folder named by ``LMCOURSE_DATA_DIR`` (offline
classrooms), the download cache, then a download with an integrity check and an atomic write.
"""

from __future__ import annotations

import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from lmcourse.text import tokenize_sentences

SPLIT = (0.8, 0.1, 0.1)  # train / validation / test, taken in order within each document
GUTENBERG_URL = "https://www.gutenberg.org/cache/epub/{id}/pg{id}.txt"
START_MARKER = "*** START OF THE PROJECT GUTENBERG EBOOK"
END_MARKER = "*** END OF THE PROJECT GUTENBERG EBOOK"
DOWNLOAD_TIMEOUT_S = 10.0


class DataUnavailableError(RuntimeError):
    """Raised when a data set is neither on disk nor downloadable; the message says what to do."""


@dataclass(frozen=True)
class Book:
    title: str
    author: str
    gutenberg_id: int
    filename: str
    min_bytes: int  # a download smaller than this is truncated


BOOKS: dict[str, Book] = {
    "pride_and_prejudice": Book("Pride and Prejudice", "Jane Austen", 1342, "austen_prideprejudice.txt", 600_000),
    "emma": Book("Emma", "Jane Austen", 158, "austen_emma.txt", 800_000),
    "mansfield_park": Book("Mansfield Park", "Jane Austen", 141, "austen_mansfieldpark.txt", 800_000),
    "northanger_abbey": Book("Northanger Abbey", "Jane Austen", 121, "austen_northangerabbey.txt", 400_000),
    "persuasion": Book("Persuasion", "Jane Austen", 105, "austen_persuasion.txt", 400_000),
    "sense_and_sensibility": Book("Sense and Sensibility", "Jane Austen", 161, "austen_sensesensibility.txt", 600_000),
    "moby_dick": Book("Moby Dick", "Herman Melville", 2701, "melville_mobydick.txt", 1_100_000),
}
AUSTEN = tuple(name for name, book in BOOKS.items() if book.author == "Jane Austen")


@dataclass(frozen=True)
class Corpus:
    """Tokenised sentences with a fixed train / validation / test split."""

    name: str
    source: str
    train: list[list[str]] = field(repr=False)
    valid: list[list[str]] = field(repr=False)
    test: list[list[str]] = field(repr=False)

    def num_tokens(self, split: str = "train") -> int:
        return sum(map(len, getattr(self, split)))

    def summary(self) -> str:
        parts = ", ".join(f"{s} {len(getattr(self, s)):,} sentences / {self.num_tokens(s):,} tokens"
                          for s in ("train", "valid", "test"))
        return f"{self.name} ({self.source}): {parts}"


def split_document(sentences: list[list[str]], fractions: tuple[float, float, float] = SPLIT):
    """Cut one document's sentences, in order, into train / validation / test parts."""
    n = len(sentences)
    a = round(n * fractions[0])
    b = a + round(n * fractions[1])
    return sentences[:a], sentences[a:b], sentences[b:]


def corpus_from_documents(name: str, source: str, documents: list[str],
                          fractions: tuple[float, float, float] = SPLIT) -> Corpus:
    """Tokenise each document and split it, so every document is represented in every split."""
    parts: tuple[list, list, list] = ([], [], [])
    for text in documents:
        for part, sentences in zip(parts, split_document(tokenize_sentences(text), fractions)):
            part.extend(sentences)
    if not parts[0]:
        raise ValueError(f"corpus {name!r} has no training sentences")
    return Corpus(name, source, *parts)


def course_documents() -> dict[str, str]:
    """The bundled course corpus, written for this course: one text per topic, by file name."""
    folder = resources.files("lmcourse") / "resources" / "corpus"
    return {p.name.removesuffix(".txt"): p.read_text(encoding="utf-8")
            for p in sorted(folder.iterdir(), key=lambda p: p.name) if p.name.endswith(".txt")}


def load_course_corpus() -> Corpus:
    """The bundled corpus (about 20,000+ words on twenty everyday topics), split 80/10/10."""
    docs = course_documents()
    return corpus_from_documents("course corpus", f"bundled with lmcourse, {len(docs)} texts",
                                 list(docs.values()))


# --- books -----------------------------------------------------------------------------------
def data_dir() -> Path | None:
    """The folder named by ``LMCOURSE_DATA_DIR``, if set."""
    value = os.environ.get("LMCOURSE_DATA_DIR", "").strip()
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """Where downloads are kept: ``LMCOURSE_CACHE_DIR``, else ``~/.cache/lmcourse``."""
    value = os.environ.get("LMCOURSE_CACHE_DIR", "").strip()
    return Path(value).expanduser() if value else Path.home() / ".cache" / "lmcourse"


def strip_gutenberg(text: str) -> str:
    """The book between Project Gutenberg's start and end markers (the whole text if absent)."""
    start = text.find(START_MARKER)
    if start >= 0:
        text = text[text.find("\n", start) + 1:]
    end = text.find(END_MARKER)
    return text[:end] if end >= 0 else text


def check_download(book: Book, data: bytes) -> None:
    """Raise DataUnavailableError unless ``data`` is a whole Project Gutenberg text of ``book``.

    Project Gutenberg publishes no checksums for its plain-text files, so completeness is checked
    by its start and end markers and a minimum size.
    """
    text = data.decode("utf-8", errors="replace")
    if len(data) < book.min_bytes or START_MARKER not in text or END_MARKER not in text:
        raise DataUnavailableError(
            f"the download of {book.title} is incomplete ({len(data):,} bytes, markers "
            f"{'found' if START_MARKER in text and END_MARKER in text else 'missing'}); try again")


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path`` and rename it: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def book_path(name: str, download: bool = True) -> Path:
    """Path of a book's text on disk, downloading it into the cache if needed and allowed."""
    if name not in BOOKS:
        raise ValueError(f"book must be one of {', '.join(BOOKS)}; got {name!r}")
    book = BOOKS[name]
    local = data_dir()
    candidates = [local / book.filename, local / "corpora" / book.filename] if local else []
    candidates.append(cache_dir() / book.filename)
    for path in candidates:
        if path.is_file():
            return path
    where = " or ".join(str(p.parent) for p in candidates)
    if not download or os.environ.get("HF_HUB_OFFLINE") == "1":
        raise DataUnavailableError(
            f"{book.title} is not in {where}, and this profile is offline. Copy {book.filename} "
            f"into a folder and set LMCOURSE_DATA_DIR to it.")
    url = GUTENBERG_URL.format(id=book.gutenberg_id)
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            data = response.read()
    except (urllib.error.URLError, OSError) as err:
        raise DataUnavailableError(
            f"{book.title} is not in {where} and could not be downloaded from {url} ({err}). "
            f"Copy {book.filename} into a folder and set LMCOURSE_DATA_DIR to it.") from err
    check_download(book, data)
    path = cache_dir() / book.filename
    atomic_write(path, data)
    return path


def load_book(name: str, download: bool = True) -> str:
    """The text of a public-domain book by name (see ``BOOKS``), without Gutenberg's licence."""
    return strip_gutenberg(book_path(name, download).read_text(encoding="utf-8"))


def load_book_corpus(names: str | tuple[str, ...], download: bool = True,
                     fractions: tuple[float, float, float] = SPLIT) -> Corpus:
    """One or more books as a Corpus, each book split in order like the course corpus."""
    names = (names,) if isinstance(names, str) else tuple(names)
    titles = ", ".join(BOOKS[n].title if n in BOOKS else n for n in names)
    texts = [load_book(n, download) for n in names]
    return corpus_from_documents(titles, "Project Gutenberg, public domain", texts, fractions)
