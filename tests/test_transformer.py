"""The transformer's pieces, written by hand with keras.ops, checked against Keras's own layers and
against plain numpy; attention maps and what the heads attend to."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import lmcourse
from lmcourse import transformer
from lmcourse.data import load_course_corpus
from lmcourse.neural import build_vocabulary
from lmcourse.text import EOS


@pytest.fixture(scope="module", autouse=True)
def transformer_chapter():
    lmcourse.setup("transformer", profile="offline", verbose=False)


def numpy_attention(q, k, v, mask=None):
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    return weights @ v, weights


def test_attention_matches_the_formula_on_a_three_word_example():
    rng = np.random.default_rng(0)
    q, k, v = (rng.normal(size=(3, 2)).astype("float32") for _ in range(3))
    out, weights = transformer.attention(q, k, v, transformer.causal_mask(3))
    ref_out, ref_weights = numpy_attention(q, k, v, np.tril(np.ones((3, 3), bool)))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(weights), ref_weights, atol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out), ref_out, atol=1e-6)
    w = keras.ops.convert_to_numpy(weights)
    assert w[0].tolist() == [1.0, 0.0, 0.0]  # the first word can only look at itself
    np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-6)


def test_causal_mask_is_lower_triangular():
    mask = keras.ops.convert_to_numpy(transformer.causal_mask(4))
    assert mask.tolist() == np.tril(np.ones((4, 4), bool)).tolist()


@pytest.mark.parametrize("causal", [True, False])
def test_self_attention_equals_keras_multi_head_attention_with_the_same_weights(causal):
    heads, head_dim, d = 4, 8, 32
    x = np.random.default_rng(1).normal(size=(2, 6, d)).astype("float32")
    ours = transformer.SelfAttention(heads, head_dim, causal=causal)
    ours(x)
    keras_layer = keras.layers.MultiHeadAttention(num_heads=heads, key_dim=head_dim)
    keras_layer(x, x, use_causal_mask=causal)
    mapping = {"query": keras_layer._query_dense, "key": keras_layer._key_dense,
               "value": keras_layer._value_dense, "output": keras_layer._output_dense}
    for name, dense in mapping.items():
        kernel = keras.ops.convert_to_numpy(getattr(ours, f"{name}_kernel"))
        assert tuple(dense.kernel.shape) == kernel.shape
        dense.kernel.assign(kernel)
        dense.bias.assign(keras.ops.convert_to_numpy(getattr(ours, f"{name}_bias")) + 0.1)
        getattr(ours, f"{name}_bias").assign(keras.ops.convert_to_numpy(dense.bias))
    out, weights = ours(x, return_weights=True)
    expected, expected_weights = keras_layer(x, x, use_causal_mask=causal, return_attention_scores=True)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out), keras.ops.convert_to_numpy(expected), atol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(weights),
                               keras.ops.convert_to_numpy(expected_weights), atol=1e-6)


def test_a_causal_model_never_looks_ahead():
    vocab = build_vocabulary([["a", "b", "c", "d"]])
    model = transformer.TransformerLanguageModel.build(vocab, transformer.TransformerConfig(
        window=6, model_dim=16, heads=2, layers=2, mlp_dim=32))
    ids = np.array([[1, 2, 3, 4, 5, 2]], dtype=np.int32)
    changed = ids.copy()
    changed[0, 4:] = [3, 3]
    a = keras.ops.convert_to_numpy(model.model(ids))
    b = keras.ops.convert_to_numpy(model.model(changed))
    np.testing.assert_allclose(a[0, :4], b[0, :4], atol=1e-6)  # positions before the change agree
    assert not np.allclose(a[0, 4:], b[0, 4:])


def test_output_layer_reuses_the_token_embeddings():
    vocab = build_vocabulary([["a", "b"]])
    config = transformer.TransformerConfig(window=4, model_dim=8, heads=2, layers=1, mlp_dim=16)
    model = transformer.TransformerLanguageModel.build(vocab, config)
    # embeddings V*d + positions 4*d + output bias V + one block + final norm; no separate output matrix
    d, V = 8, len(vocab)
    block = 4 * (d * d + d) + 2 * 2 * d + (d * 16 + 16) + (16 * d + d)
    assert model.model.count_params() == V * d + 4 * d + V + block + 2 * d


def test_attention_maps_and_head_roles():
    corpus = load_course_corpus()
    keras.utils.set_random_seed(0)
    config = transformer.TransformerConfig(window=12, model_dim=16, heads=2, layers=2, mlp_dim=32,
                                           dropout=0.0, epochs=2)
    model = transformer.train_transformer(corpus.train[:300], corpus.valid[:30], config)
    tokens, maps = model.attention_maps("The weather is cold")
    assert tokens == [EOS, "the", "weather", "is", "cold"]
    assert maps.shape == (2, 2, 5, 5)
    np.testing.assert_allclose(maps.sum(-1), 1.0, atol=1e-5)
    assert np.allclose(np.triu(maps, 1), 0)  # nothing attends to later tokens
    roles = transformer.head_roles(model, corpus.test[:20])
    assert set(roles) == {"start symbol", "itself", "previous token"}
    for share in roles.values():
        assert share.shape == (2, 2) and np.all((share >= 0) & (share <= 1))
    total = sum(roles.values())
    assert np.all(total <= 1 + 1e-6)
    with pytest.raises(ValueError, match="two or more words"):
        transformer.head_roles(model, [["one"]])


def test_masked_example_hides_the_chosen_words():
    inputs, targets = transformer.masked_example("The cat sat on the mat.", [1, 4])
    assert inputs == ["the", "[MASK]", "sat", "on", "[MASK]", "mat", "."]
    assert targets == ["-", "cat", "-", "-", "the", "-", "-"]
    with pytest.raises(ValueError, match="outside"):
        transformer.masked_example("The cat", [5])
