"""lmcourse.protocol: one contract for every model. The same input gets the same answer or the
same message from the n-gram model, the LSTM and the classifier, and so from every widget."""

from __future__ import annotations

import numpy as np
import pytest

import lmcourse
from lmcourse import protocol, widgets
from lmcourse.data import load_bundled_headlines
from lmcourse.ngrams import NGramModel

LONG = "the cat sat " * 200  # 2,400 characters


@pytest.fixture(scope="module")
def ngram(corpus):
    return NGramModel(3, "kneser-ney").fit(corpus.train)


@pytest.fixture(scope="module")
def lstm_model(corpus):
    lmcourse.setup("lstm", profile="offline", verbose=False)
    from lmcourse import lstm

    config = lstm.LSTMConfig(window=6, embedding_dim=8, units=8, dropout=0.0)
    return lstm.LSTMLanguageModel.build(lstm.build_vocabulary(corpus.train), config)  # untrained is enough


@pytest.fixture(scope="module")
def transformer_model(corpus):
    lmcourse.setup("transformer", profile="offline", verbose=False)
    from lmcourse import transformer

    config = transformer.TransformerConfig(window=6, model_dim=8, heads=2, layers=1, mlp_dim=8)
    return transformer.TransformerLanguageModel.build(transformer.build_vocabulary(corpus.train), config)


@pytest.fixture(scope="module")
def classifier():
    lmcourse.setup("distilbert", profile="offline", verbose=False)
    from lmcourse import classifier as clf

    return clf.load_classifier("offline", load_bundled_headlines(), model=clf.TINY)


FIXTURES = {"lstm": "lstm_model", "transformer": "transformer_model"}


@pytest.fixture(params=["ngram", "lstm", "transformer", "classifier"])
def model(request):
    return request.getfixturevalue(FIXTURES.get(request.param, request.param))


@pytest.fixture(params=["ngram", "lstm", "transformer"])
def next_word_model(request):
    return request.getfixturevalue(FIXTURES.get(request.param, request.param))


@pytest.mark.parametrize("text, message", [
    (LONG, "The text is 2,400 characters long; keep it under 500."),
    ("I love \U0001F355", "This model reads English text only, so it cannot read \U0001F355. Try plain English."),
    ("\u043f\u0440\u0438\u0432\u0435\u0442", "This model reads English text only, so it cannot read "
                                             "\u043f \u0440 \u0438 \u0432 \u0435. Try plain English."),
    (42, "The text must be a string, got int."),
], ids=["too-long", "emoji", "cyrillic", "not-text"])
def test_the_same_bad_text_gets_the_same_message_from_every_model(model, text, message):
    with pytest.raises(ValueError) as err:
        model.predict(text, 3)
    assert str(err.value) == message
    if isinstance(text, str):
        assert widgets.explore(model, text, 3) == widgets.Prediction([], message)


@pytest.mark.parametrize("k", [0, -1, 2.5, True, None, "3"])
def test_a_bad_k_gets_the_same_message_from_every_model(model, k):
    with pytest.raises(ValueError) as err:
        model.predict("the weather", k)
    assert str(err.value) == f"k must be a whole number >= 1, got {k!r}"


def test_numpy_numbers_are_accepted_everywhere(model, next_word_model):
    assert len(model.predict("the weather", np.int64(2))) == 2
    words = next_word_model.generate("the weather", length=np.int32(3), temperature=np.float32(0.7),
                                     seed=np.int64(1))
    assert len(words) == 3


@pytest.mark.parametrize("temperature", [0, -1.0, float("inf"), float("nan"), "hot", None])
def test_a_bad_temperature_gets_the_same_message_from_every_generator(next_word_model, temperature):
    with pytest.raises(ValueError) as err:
        next_word_model.generate("the weather", length=3, temperature=temperature)
    assert str(err.value) == f"temperature must be a finite number > 0, got {temperature!r}"


@pytest.mark.parametrize("length", [-1, 2.5, True, "3"])
def test_a_bad_length_gets_the_same_message_from_every_generator(next_word_model, length):
    with pytest.raises(ValueError) as err:
        next_word_model.generate("the weather", length=length)
    assert str(err.value) == f"length must be a whole number >= 0, got {length!r}"


@pytest.mark.parametrize("empty", ["", "   ", "\n\t"])
def test_an_empty_prompt_starts_a_sentence_for_every_next_word_model(next_word_model, empty):
    start = next_word_model.predict("", 5)
    assert len(start) == 5 and next_word_model.predict(empty, 5) == start
    assert len(next_word_model.generate(empty, length=4, seed=0)) == 4
    assert widgets.explore(next_word_model, empty, 5) == widgets.Prediction(start, widgets.SENTENCE_START_NOTE)


def test_a_classifier_has_nothing_to_classify_in_an_empty_text(classifier):
    for empty in ("", "   "):
        with pytest.raises(ValueError, match=r"^The text is empty: type a few words\.$"):
            classifier.predict(empty)


def test_a_long_prompt_is_read_through_the_models_context(ngram, lstm_model):
    words = "in the morning the weather is cold and the wind blows over the hills".split()
    assert ngram.predict(" ".join(words), 5) == ngram.predict(" ".join(words[-2:]), 5)
    assert lstm_model.predict(" ".join(words), 5) == lstm_model.predict(" ".join(words[-lstm_model.window:]), 5)


def test_every_model_speaks_the_protocol(model, next_word_model):
    assert isinstance(model, protocol.Predictor) and isinstance(next_word_model, protocol.Generator)
    assert model.input_rules in (protocol.NEXT_WORD_RULES, protocol.CLASSIFIER_RULES)


def test_the_model_modules_do_not_depend_on_the_widgets():
    import ast
    from pathlib import Path

    package = Path(protocol.__file__).parent
    for name in ("ngrams", "lstm", "neural", "transformer", "scoring", "classifier", "protocol", "text", "data"):
        tree = ast.parse((package / f"{name}.py").read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert "lmcourse.widgets" not in imported, name
