"""Text for the course: the bundled corpus, public-domain books, and AG News headlines.

Where a book comes from, in order: the folder named by ``LMCOURSE_DATA_DIR`` (offline
classrooms), the download cache, then a download with an atomic write. Wherever it comes from, a
book passes the same check (UTF-8, a byte-order mark allowed; not cut short) before it is used.
"""

from __future__ import annotations

import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from lmcourse.runtime import AG_NEWS_FILES, AG_NEWS_HUB_ID, offline_switch_on
from lmcourse.text import tokenize_sentences

SPLIT = (0.8, 0.1, 0.1)  # train / validation / test, taken in order within each document
GUTENBERG_URL = "https://www.gutenberg.org/cache/epub/{id}/pg{id}.txt"
START_MARKER = "*** START OF THE PROJECT GUTENBERG EBOOK"
END_MARKER = "*** END OF THE PROJECT GUTENBERG EBOOK"
DOWNLOAD_TIMEOUT_S = 10.0


class DataUnavailableError(RuntimeError):
    """Raised when a data set is neither on disk nor downloadable; the message says what to do."""


class DataFormatError(ValueError):
    """A data file that does not follow its format; the message names the file and the line."""


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


def check_book(book: Book, data: bytes, source: str, gutenberg_file: bool = True) -> str:
    """The text of ``book`` in ``data`` (read from ``source``), once it is known to be whole.

    Project Gutenberg publishes no checksums for its plain-text files, so completeness is checked
    by a minimum size and the start and end markers: a Gutenberg file (a download, or the cache of
    one) must have both; a local file may have been stripped of them, but not of only the end one.
    Raises DataFormatError for bytes that are not UTF-8, DataUnavailableError for a cut-short text.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataFormatError(f"{source}: not UTF-8 text ({err.reason} at byte {err.start:,}); "
                              f"save {book.title} as UTF-8") from err
    start, end = START_MARKER in text, END_MARKER in text
    whole = (start and end) if gutenberg_file else (end or not start)
    if len(data) < book.min_bytes or not whole:
        markers = ("markers found" if start and end else "markers missing" if not start and not end
                   else "end marker missing" if start else "start marker missing")
        raise DataUnavailableError(
            f"{source} holds an incomplete copy of {book.title} ({len(data):,} bytes, {markers}); "
            f"{'try again' if gutenberg_file else 'replace it with a whole copy'}")
    return text


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


def read_book(name: str, download: bool = True) -> tuple[Path, str]:
    """Where a book's text is on disk, and the text, checked by :func:`check_book`; downloads it
    into the cache if needed and allowed. A cached copy that fails the check is downloaded again."""
    if name not in BOOKS:
        raise ValueError(f"book must be one of {', '.join(BOOKS)}; got {name!r}")
    book = BOOKS[name]
    local = data_dir()
    candidates = [local / book.filename, local / "corpora" / book.filename] if local else []
    for path in candidates:
        if path.is_file():
            return path, check_book(book, path.read_bytes(), str(path), gutenberg_file=False)
    cached = cache_dir() / book.filename
    if cached.is_file():
        try:
            return cached, check_book(book, cached.read_bytes(), str(cached))
        except (DataUnavailableError, DataFormatError):
            cached.unlink()  # a broken download: fetch it again below
    candidates.append(cached)
    where = " or ".join(str(p.parent) for p in candidates)
    if not download or offline_switch_on():
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
    text = check_book(book, data, f"the download of {book.title} from {url}")
    atomic_write(cached, data)
    return cached, text


def book_path(name: str, download: bool = True) -> Path:
    """Path of a book's checked text on disk (see :func:`read_book`)."""
    return read_book(name, download)[0]


def load_book(name: str, download: bool = True) -> str:
    """The text of a public-domain book by name (see ``BOOKS``), without Gutenberg's licence."""
    return strip_gutenberg(read_book(name, download)[1])


def load_book_corpus(names: str | tuple[str, ...], download: bool = True,
                     fractions: tuple[float, float, float] = SPLIT) -> Corpus:
    """One or more books as a Corpus, each book split in order like the course corpus."""
    names = (names,) if isinstance(names, str) else tuple(names)
    titles = ", ".join(BOOKS[n].title if n in BOOKS else n for n in names)
    texts = [load_book(n, download) for n in names]
    return corpus_from_documents(titles, "Project Gutenberg, public domain", texts, fractions)


# --- AG News: topic classification (chapter 5) -----------------------------------------------
AG_NEWS_LABELS = ("World", "Sports", "Business", "Sci/Tech")  # class index 1-4 in the CSV
BUNDLED_HEADLINES = "headlines.csv"
BUNDLED_TEST_FRACTION = 0.25
# The share of the training rows held out as a validation split: the Trainer scores every epoch on
# it, and settings are chosen on it, so the test rows are looked at once, at the end.
VALIDATION_FRACTION = 0.15


@dataclass(frozen=True)
class LabelledTexts:
    """Texts with their class indices (0-based, as the model sees them)."""

    texts: list[str] = field(repr=False)
    labels: list[int] = field(repr=False)

    def __len__(self) -> int:
        return len(self.texts)

    def counts(self, label_names: tuple[str, ...] = AG_NEWS_LABELS) -> dict[str, int]:
        return {name: self.labels.count(i) for i, name in enumerate(label_names)}


@dataclass(frozen=True)
class TopicData:
    """A topic-classification data set: training, test and (optionally) validation parts, and where
    it came from (and why). The validation rows are never among the training or test rows."""

    name: str
    source: str
    train: LabelledTexts
    test: LabelledTexts
    label_names: tuple[str, ...] = AG_NEWS_LABELS
    validation: LabelledTexts | None = None

    def summary(self) -> str:
        validation = f"{len(self.validation):,} validation and " if self.validation is not None else ""
        return (f"{self.name} ({self.source}): {len(self.train):,} training, {validation}"
                f"{len(self.test):,} test texts, classes {', '.join(self.label_names)}")

    def with_validation(self, fraction: float = VALIDATION_FRACTION, seed: int = 0) -> "TopicData":
        """Hold out a stratified ``fraction`` of the training rows as the validation split."""
        if self.validation is not None:
            return self
        train, validation = stratified_split(self.train, fraction, seed)
        return replace(self, train=train, validation=validation)

    def all_training_rows(self) -> "TopicData":
        """Training and validation rows together, for a final model once settings are chosen."""
        if self.validation is None:
            return self
        both = LabelledTexts(self.train.texts + self.validation.texts, self.train.labels + self.validation.labels)
        return replace(self, train=both, validation=None,
                       source=f"{self.source}; trained on the training and validation rows together")

    def sampled(self, train_rows: int | None, test_rows: int | None, seed: int = 0) -> "TopicData":
        """At most ``train_rows`` / ``test_rows`` rows of each part (None: all), as seeded stratified
        samples (see :func:`stratified_sample`); the source says what was taken."""
        parts = {"training": (self.train, train_rows), "test": (self.test, test_rows)}
        taken, notes = {}, []
        for part, (rows, n) in parts.items():
            taken[part] = rows if n is None else stratified_sample(rows, n, seed)
            if len(taken[part]) < len(rows):
                notes.append(f"{len(taken[part]):,} of the {len(rows):,} {part} rows")
        if not notes:
            return self
        source = f"{self.source}; a seeded stratified sample of {' and '.join(notes)}"
        return replace(self, source=source, train=taken["training"], test=taken["test"])


def clean_ag_news_text(text: str) -> str:
    """AG News writes a line break as a backslash; read it as a space and squeeze the spaces."""
    return " ".join(text.replace("\\", " ").split())


def read_ag_news_csv(path: Path | str, text: str | None = None) -> LabelledTexts:
    """Rows ``"class","title","description"`` (class 1-4) -> texts "title description", labels 0-3.

    ``text`` reads the CSV from a string instead of the file (``path`` then only names it).
    Any malformed row raises DataFormatError naming the file and the line.
    """
    import csv
    import io

    path = Path(path)
    if text is None:
        try:
            text = path.read_text(encoding="utf-8-sig")  # a byte-order mark is no field
        except UnicodeDecodeError as err:
            raise DataFormatError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from err
    reader = csv.reader(io.StringIO(text), strict=True)
    texts, labels = [], []
    n = len(AG_NEWS_LABELS)
    try:
        for row in reader:
            where = f"{path}, line {reader.line_num}"
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) != 3:
                raise DataFormatError(f"{where}: expected 3 fields (class, title, description), "
                                      f"got {len(row)}: {row[:3]!r}")
            if row[0].strip() not in {str(i) for i in range(1, n + 1)}:
                raise DataFormatError(f"{where}: class must be 1 to {n}, got {row[0]!r}")
            joined = clean_ag_news_text(f"{row[1]} {row[2]}")
            if not joined:
                raise DataFormatError(f"{where}: title and description are both empty")
            texts.append(joined)
            labels.append(int(row[0]) - 1)
    except csv.Error as err:
        raise DataFormatError(f"{path}, line {reader.line_num}: malformed CSV ({err})") from err
    if not texts:
        raise DataFormatError(f"{path}: no rows")
    return LabelledTexts(texts, labels)


def stratified_split(data: LabelledTexts, test_fraction: float, seed: int = 0):
    """Split into (train, test) with the same share of every class in both; fixed by ``seed``."""
    import random

    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    rng = random.Random(seed)
    train, test = [], []
    for label in sorted(set(data.labels)):
        idx = [i for i, y in enumerate(data.labels) if y == label]
        rng.shuffle(idx)
        cut = round(len(idx) * test_fraction)
        test += idx[:cut]
        train += idx[cut:]
    rng.shuffle(train)
    rng.shuffle(test)
    pick = lambda ids: LabelledTexts([data.texts[i] for i in ids], [data.labels[i] for i in ids])  # noqa: E731
    return pick(train), pick(test)


def stratified_sample(data: LabelledTexts, n: int, seed: int = 0) -> LabelledTexts:
    """``n`` rows of ``data`` with each class in proportion (largest remainders round), drawn with
    ``seed``; ``data`` itself, in its order, when it has no more than ``n`` rows."""
    import random

    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a whole number >= 1, got {n!r}")
    if n >= len(data):
        return data
    rng = random.Random(seed)
    by_class = {label: [i for i, y in enumerate(data.labels) if y == label] for label in sorted(set(data.labels))}
    exact = {label: n * len(ids) / len(data) for label, ids in by_class.items()}
    quota = {label: int(share) for label, share in exact.items()}
    for label in sorted(exact, key=lambda c: (quota[c] - exact[c], c))[:n - sum(quota.values())]:
        quota[label] += 1
    picked = []
    for label, ids in by_class.items():
        picked += rng.sample(ids, quota[label])
    rng.shuffle(picked)
    return LabelledTexts([data.texts[i] for i in picked], [data.labels[i] for i in picked])


def ag_news_files(folder: Path) -> tuple[Path, Path] | None:
    """(train CSV, test CSV) in ``folder/ag_news`` or ``folder`` itself; None if absent."""
    for base in (folder / "ag_news", folder):
        test = base / "test.csv"
        for train in (base / "train.csv", base / "train_sample.csv"):
            if train.is_file() and test.is_file():
                return train, test
    return None


def load_local_ag_news(folder: Path | str) -> TopicData:
    """AG News in its original CSV format from ``folder`` (see ``ag_news_files``)."""
    folder = Path(folder).expanduser()
    files = ag_news_files(folder)
    if files is None:
        raise DataUnavailableError(f"no AG News CSV files in {folder}: expected ag_news/test.csv and "
                                   "ag_news/train.csv (or train_sample.csv)")
    train, test = (read_ag_news_csv(p) for p in files)
    return TopicData("AG News", f"local CSV files {files[0].name} and {files[1].name} in "
                     f"{files[0].parent}", train, test)


def load_bundled_headlines(test_fraction: float = BUNDLED_TEST_FRACTION, seed: int = 0) -> TopicData:
    """The course's own news items (written for lmcourse in AG News's format and with its class
    conventions, borderline stories included), split stratified 75/25 into training and test rows."""
    file = resources.files("lmcourse") / "resources" / BUNDLED_HEADLINES
    allrows = read_ag_news_csv(f"lmcourse/resources/{BUNDLED_HEADLINES}", file.read_text(encoding="utf-8"))
    train, test = stratified_split(allrows, test_fraction, seed)
    return TopicData("course headlines", f"bundled with lmcourse, {len(allrows)} headlines written "
                     f"for the course, split {1 - test_fraction:.0%}/{test_fraction:.0%}", train, test)


def load_hub_ag_news(hub_id: str = AG_NEWS_HUB_ID) -> TopicData:
    """AG News's training and test splits from the Hugging Face hub, or from the Hugging Face cache
    when the hub cannot be reached but the files were downloaded before (say, in an earlier online
    run). DataUnavailableError at once when neither works: no waiting for the libraries' retries.

    The parquet files are fetched with ``huggingface_hub`` (which reads its cache when offline;
    ``datasets`` offline does not) and read with ``datasets.load_dataset("parquet", ...)``.
    """
    from huggingface_hub import constants, hf_hub_download

    from lmcourse.runtime import env_flag, hub_unreachable_reason

    why = hub_unreachable_reason() or ("HF_DATASETS_OFFLINE is set" if env_flag("HF_DATASETS_OFFLINE") else "")
    try:
        paths = {split: hf_hub_download(hub_id, file, repo_type="dataset", local_files_only=bool(why))
                 for split, file in AG_NEWS_FILES.items()}
    except Exception as err:  # the hub libraries raise many types; say which and what to do
        hint = "Use the offline profile, or set LMCOURSE_DATA_DIR to a folder holding ag_news/test.csv."
        if why:
            raise DataUnavailableError(f"{hub_id} cannot be downloaded ({why}) and is not in the Hugging "
                                       f"Face cache {constants.HF_HUB_CACHE}. {hint}") from err
        raise DataUnavailableError(f"could not download {hub_id} ({type(err).__name__}: {err}). {hint}") from err
    import datasets

    splits = datasets.load_dataset("parquet", data_files=paths)
    names = tuple(getattr(splits["train"].features["label"], "names", AG_NEWS_LABELS))
    if names != AG_NEWS_LABELS:
        raise DataFormatError(f"{hub_id}: labels are {names}, expected {AG_NEWS_LABELS}")
    part = lambda d: LabelledTexts([clean_ag_news_text(t) for t in d["text"]], list(d["label"]))  # noqa: E731
    where = (f"Hugging Face hub {hub_id}" if not why else
             f"{hub_id} from your Hugging Face cache, a copy from an earlier download, used because {why}")
    return TopicData("AG News", where, part(splits["train"]), part(splits["test"]))


def load_ag_news(profile: str = "offline", train_rows: int | None = None, test_rows: int | None = None,
                 seed: int = 0) -> TopicData:
    """AG News for a profile: a local copy in LMCOURSE_DATA_DIR first; then the hub or its cache
    (cpu, gpu) or the bundled course headlines (offline, which never reads the Hugging Face cache).
    Each part is cut to at most ``train_rows`` / ``test_rows`` rows by a seeded stratified sample.
    Then a stratified VALIDATION_FRACTION of the training rows is held out as the validation split.
    The ``source`` says which data, why, and how much of it."""
    from lmcourse.runtime import check_profile

    check_profile(profile)
    local = data_dir()
    if local is not None and ag_news_files(local) is not None:
        data = load_local_ag_news(local)
    elif profile != "offline":
        data = load_hub_ag_news()
    else:
        data = load_bundled_headlines()
        why = ("LMCOURSE_DATA_DIR is not set" if local is None
               else "LMCOURSE_DATA_DIR holds no ag_news/test.csv")
        data = replace(data, source=f"{data.source}; {why}")
    return data.sampled(train_rows, test_rows, seed).with_validation(seed=seed)
