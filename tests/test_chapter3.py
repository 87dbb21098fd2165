"""Chapter 3's mechanism and exercises: one LSTM step by hand against keras.layers.LSTM, the
seed study of the original example, and every chapter-3 solution against its check."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

import lmcourse
from lmcourse import exercises, lstm


@pytest.fixture(scope="module", autouse=True)
def lstm_chapter():
    lmcourse.setup("lstm", profile="offline", verbose=False)


def test_one_lstm_step_by_hand_equals_keras_lstm():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 6, 5)).astype("float32")
    layer = keras.layers.LSTM(7, return_sequences=True, return_state=True)
    outputs, last_h, last_c = (keras.ops.convert_to_numpy(t) for t in layer(x))
    kernel, recurrent_kernel, bias = layer.get_weights()
    h = c = np.zeros((3, 7), dtype="float32")
    for t in range(6):
        h, c = lstm.lstm_step(x[:, t], h, c, kernel, recurrent_kernel, bias)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(h), outputs[:, t], atol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(c), last_c, atol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(h), last_h, atol=1e-5)


def test_seed_study_trains_each_seed_from_scratch():
    ids = [[1, 2, 3, 4], [1, 2, 5], [6, 2, 3]]
    x, y = lstm.pad_prefixes(lstm.prefix_sequences(ids))
    prompt = keras.utils.pad_sequences([[1, 2]], maxlen=x.shape[1], padding="pre")
    probs = lstm.seed_study(x, y, 7, prompt, seeds=[0, 1, 0], epochs=3, batch_size=32)
    assert probs.shape == (3, 7)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(probs[0], probs[2], atol=1e-6)  # the same seed gives the same model
    assert not np.allclose(probs[0], probs[1])
    keras.utils.set_random_seed(1)  # seed 1 alone, in a model of its own, gives what the study gave
    alone = lstm.prefix_model(7)
    alone.fit(x, y, epochs=3, batch_size=32, verbose=0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(alone.predict_on_batch(prompt))[0], probs[1], atol=1e-5)


def test_lstm_step_exercise():
    assert exercises.check_lstm_step(lstm.lstm_step).ok
    wrong = exercises.check_lstm_step(lambda x, h, c, k, r, b: (h, c))
    assert not wrong.ok and "Hint:" in wrong.message
    broken = exercises.check_lstm_step(lambda x, h, c, k, r, b: undefined_name)  # noqa: F821
    assert not broken.ok and "NameError" in broken.message
    assert exercises.check_lstm_step(...).message.startswith("No answer yet: replace ... with")


def test_chapter_3_solutions_pass_their_own_checks(capsys):
    probabilities = [0.5, 0.3, 0.15, 0.05]
    lengths = [8, 7, 6, 8]
    losses = [4.0, 1.0, 5.6, 0.9]
    checks = {
        "padded-positions": lambda a: exercises.check_padded_positions(lengths, a),
        "perplexity-from-losses": lambda a: exercises.check_perplexity_from_losses(losses, a),
        "greedy-temperature": lambda a: exercises.check_greedy_temperature(probabilities, a),
        "lstm-step": lambda a: exercises.check_lstm_step(a),
    }
    for name, check in checks.items():
        exercises.show_solution(name)
        namespace = {"np": np, "math": math, "lengths": lengths, "losses": losses, "probabilities": probabilities}
        exec(capsys.readouterr().out, namespace)
        assert check(namespace["answer"]).ok, name
