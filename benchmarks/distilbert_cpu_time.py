"""How long chapter 5's cpu profile takes on this CPU, with a full-size DistilBERT built locally.

The hub is unreachable here, so `distilbert-base-uncased` itself cannot be downloaded, but its
compute can be rebuilt exactly: `DistilBertConfig()` is its architecture (6 layers, 768 wide, 66
million parameters), with random weights, and MiniLM's tokenizer has bert-base-uncased's vocabulary,
so headlines become the same word pieces. The data are real AG News rows from ../shared/data, as many
as the cpu profile takes, sampled as it samples them (test rows stand in for training rows beyond
the 581 of the training sample; the lengths are what matter). The chapter's heavy steps are timed as
the notebook runs them: loading, training one epoch with the evaluation after it, then section 6's
evaluation. As the peer, the offline stand-in (MiniLM-L6) does the same work side by side.

    python benchmarks/distilbert_cpu_time.py [--data DIR] [--write] [--no-peer]

--write stores the figures in lmcourse/resources/reference/distilbert_cpu.json (with the command,
data, date, machine and versions), which the cpu profile's set-up line quotes.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
REFERENCE = REPO / "lmcourse" / "resources" / "reference" / "distilbert_cpu.json"


def cpu_profile_rows(data_dir: Path):
    """The cpu profile's training and test rows, from the real CSVs, sampled as the profile does."""
    from lmcourse import classifier as clf
    from lmcourse.data import LabelledTexts, TopicData, load_local_ag_news, stratified_sample

    settings = clf.profile_settings("cpu")
    real = load_local_ag_news(data_dir)
    extra = stratified_sample(real.test, settings.train_rows - len(real.train), seed=1)
    taken = set(extra.texts)
    kept = [(t, y) for t, y in zip(real.test.texts, real.test.labels) if t not in taken]
    train = LabelledTexts(real.train.texts + extra.texts, real.train.labels + extra.labels)
    test = LabelledTexts([t for t, _ in kept], [y for _, y in kept])
    return TopicData("AG News", "real rows", train, test).sampled(settings.train_rows, settings.test_rows).with_validation()


def full_size_distilbert(labels):
    """distilbert-base-uncased's architecture with random weights, and bert-base-uncased's vocabulary."""
    import torch
    from transformers import AutoTokenizer, DistilBertConfig, DistilBertForSequenceClassification

    from lmcourse import classifier as clf

    torch.manual_seed(0)
    model = DistilBertForSequenceClassification(DistilBertConfig(**clf.label_maps(labels)))
    tokenizer = AutoTokenizer.from_pretrained(clf.minilm_path())
    return clf.TopicClassifier(model, tokenizer, name="DistilBERT, full size (random weights)",
                               source="DistilBertConfig()", label_names=labels)


def time_chapter(make_model, data) -> dict[str, float]:
    """Seconds of the notebook's heavy steps in the cpu profile."""
    from lmcourse import classifier as clf

    seconds = {}
    start = time.perf_counter()
    model = make_model()
    seconds["load"] = time.perf_counter() - start
    config = clf.profile_settings("cpu").config
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        clf.train(model, data, config, out, progress=False)  # scores data.validation each epoch
    seconds["train and evaluate"] = time.perf_counter() - start
    start = time.perf_counter()
    clf.evaluate(model, data.test)
    seconds["evaluate again"] = time.perf_counter() - start
    seconds["total"] = sum(seconds.values())
    print(f"  {model.name}: {model.num_parameters / 1e6:.1f}M parameters; "
          + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items()), flush=True)
    return seconds


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} minutes" if seconds >= 90 else f"{seconds:.0f} seconds"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path,
                        default=Path(os.environ.get("LMCOURSE_TEST_DATA", REPO.parent / "shared" / "data")))
    parser.add_argument("--write", action="store_true", help=f"store the figures in {REFERENCE.relative_to(REPO)}")
    parser.add_argument("--no-peer", action="store_true", help="skip the MiniLM stand-in's run")
    args = parser.parse_args()
    os.environ["LMCOURSE_PROFILE"] = "offline"  # nothing from the hub; the model is built here

    import torch
    import transformers

    import lmcourse
    from lmcourse import classifier as clf
    from lmcourse import runtime

    lmcourse.setup("distilbert", profile="offline", verbose=False)
    data = cpu_profile_rows(args.data)
    machine = f"{runtime.cpu_name()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"
    print(f"{machine}; {len(data.train):,} training and {len(data.test):,} test rows, "
          f"config {clf.profile_settings('cpu').config}", flush=True)
    bert = time_chapter(lambda: full_size_distilbert(data.label_names), data)
    line = f"DistilBERT, cpu profile: {bert['total']:.0f} s ({minutes(bert['total'])})"
    mini = None
    if not args.no_peer:
        mini = time_chapter(lambda: clf.load_classifier("offline", data), data)
        line += (f"; the MiniLM stand-in doing the same work: {mini['total']:.0f} s, "
                 f"{bert['total'] / mini['total']:.1f}x faster")
    print(line)
    if args.write:
        REFERENCE.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "what": "chapter 5 in the cpu profile: loading, one epoch of fine-tuning with the evaluation after "
                    "it, and section 6's evaluation, as the notebook runs them",
            "command": "python benchmarks/distilbert_cpu_time.py --write",
            "data": f"real AG News rows from ../shared/data: {len(data.train):,} training, {len(data.test):,} test",
            "model": "DistilBertConfig() (distilbert-base-uncased's architecture), random weights; "
                     "bert-base-uncased's vocabulary",
            "date": datetime.date.today().isoformat(), "machine": machine,
            "versions": {"python": platform.python_version(), "torch": torch.__version__,
                         "transformers": transformers.__version__},
            "seconds": {k: round(v, 1) for k, v in bert.items()},
            "peer_seconds": {k: round(v, 1) for k, v in mini.items()} if mini else None,
            "peer": "the offline profile's MiniLM-L6 stand-in doing the same work",
            "summary": f"about {minutes(bert['total'])} measured on a {os.cpu_count()}-core {runtime.cpu_name()}",
        }
        REFERENCE.write_text(json.dumps(record, indent=2) + "\n")
        print(f"Wrote {REFERENCE.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
