"""A Hugging Face hub cache built locally, laid out as the hub libraries write it after a download.

``build_hub_cache(home, ag_news_dir)`` fills ``home/hub`` with two repositories under the real ids
the course asks the hub for, so the course's own loading code runs against it unchanged, as it
would for a student who ran chapter 5 online once:

- ``distilbert-base-uncased``: a small DistilBERT (``DistilBertConfig``; random weights, saved as
  safetensors by ``save_pretrained``) with a word-piece vocabulary trained on the headlines;
- ``fancyzhx/ag_news`` (a dataset): ``data/train-00000-of-00001.parquet`` and the test file, with
  the hub's columns ``text`` (title and description) and ``label`` (a ClassLabel, 0-3), made from
  AG News's original CSV files, or from the course's bundled headlines when they are absent.
"""

from __future__ import annotations

import csv
from pathlib import Path

AG_NEWS_LABELS = ("World", "Sports", "Business", "Sci/Tech")
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def snapshot(home: Path, repo_type: str, repo_id: str, commit: str) -> Path:
    """The snapshot folder of ``repo_id`` at ``commit``, with refs/main naming it."""
    repo = home / "hub" / f"{repo_type}s--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    folder = repo / "snapshots" / commit
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def ag_news_rows(ag_news_dir: Path | None) -> dict[str, tuple[list[str], list[int]]]:
    """Texts and 0-based labels of the training and test splits, as the hub's parquet files hold them."""
    if ag_news_dir is None:
        from lmcourse.data import load_bundled_headlines

        data = load_bundled_headlines()
        return {"train": (data.train.texts, data.train.labels), "test": (data.test.texts, data.test.labels)}
    rows = {}
    for split, name in (("train", "train_sample.csv"), ("test", "test.csv")):
        path = ag_news_dir / ("train.csv" if (ag_news_dir / "train.csv").is_file() and split == "train" else name)
        with path.open(encoding="utf-8", newline="") as f:
            records = list(csv.reader(f))
        # The hub's text joins title and description with a space and keeps the backslashes.
        rows[split] = ([f"{title} {description}" for _, title, description in records],
                       [int(label) - 1 for label, _, _ in records])
    return rows


def word_piece_tokenizer(texts: list[str], folder: Path, vocab_size: int = 4000) -> int:
    """Train an uncased word-piece vocabulary on ``texts`` and save a DistilBERT tokenizer with it."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import DistilBertTokenizer

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIALS))
    vocab = tokenizer.get_vocab()
    DistilBertTokenizer(vocab=vocab).save_pretrained(folder)
    return len(vocab)


def build_hub_cache(home: Path, ag_news_dir: Path | None = None) -> Path:
    """Fill ``home/hub`` (see the module docstring) and return ``home``, to be used as HF_HOME."""
    import datasets
    from transformers import DistilBertConfig, DistilBertForMaskedLM

    rows = ag_news_rows(ag_news_dir)
    features = datasets.Features({"text": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=list(AG_NEWS_LABELS))})
    data = snapshot(home, "dataset", "fancyzhx/ag_news", "a" * 40) / "data"
    data.mkdir(exist_ok=True)
    for split, (texts, labels) in rows.items():
        table = datasets.Dataset.from_dict({"text": texts, "label": labels}, features=features)
        table.to_parquet(str(data / f"{split}-00000-of-00001.parquet"))

    model = snapshot(home, "model", "distilbert-base-uncased", "b" * 40)
    vocab_size = word_piece_tokenizer(rows["train"][0], model)
    config = DistilBertConfig(vocab_size=vocab_size, dim=64, n_layers=2, n_heads=2, hidden_dim=128,
                              max_position_embeddings=128, pad_token_id=0)
    DistilBertForMaskedLM(config).save_pretrained(model)  # safetensors, as on the hub
    return home
