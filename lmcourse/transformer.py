"""A small decoder-only transformer (a GPT) written from scratch in Keras 3 (chapter 4).

The pieces, each a few lines that the chapter shows:

- :func:`attention`: scaled dot-product attention, ``softmax(Q Kᵀ / √d) V``, with an optional mask;
- :func:`causal_mask`: position i may look at positions 0..i only;
- :class:`SelfAttention`: several heads, each with its own query, key and value projections, then
  one output projection. Its weights have exactly the shapes of ``keras.layers.MultiHeadAttention``
  (the tests copy them across and check that both give the same output);
- :class:`Block`: attention and an MLP, each inside a residual connection, with layer
  normalisation before each (the "pre-norm" arrangement of GPT-2);
- :class:`NextWordTransformer`: token embeddings + learned position embeddings, the blocks, a final
  layer norm, and an output layer that reuses the token embeddings (tied weights).

It reads text, trains, is scored and answers the widgets exactly like chapter 3's LSTM, through
:class:`lmcourse.neural.WindowLanguageModel`. Only ``keras.*`` is used (no ``tf.*``), so it runs
on any Keras 3 backend; the course runs it on TensorFlow and a test trains it on torch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from lmcourse.neural import TrainingConfig, WindowLanguageModel, build_vocabulary  # noqa: F401 (re-exported)
from lmcourse.text import EOS, Vocabulary, tokenize

Sentences = Iterable[Sequence[str]]


# --- attention, by hand ------------------------------------------------------------------------
def attention(q, k, v, mask=None):
    """Scaled dot-product attention: ``softmax(q kᵀ / √d) v``, and the weights.

    ``q``: (..., queries, d), ``k`` and ``v``: (..., keys, d). ``mask`` (queries, keys) is True
    where a query may look at a key; the others get weight 0.
    """
    scores = ops.matmul(q, ops.swapaxes(k, -1, -2)) / ops.sqrt(ops.cast(ops.shape(q)[-1], q.dtype))
    if mask is not None:
        scores = ops.where(mask, scores, ops.full_like(scores, -1e9))
    scores = ops.exp(scores - ops.max(scores, axis=-1, keepdims=True))  # softmax over the keys
    weights = scores / ops.sum(scores, axis=-1, keepdims=True)
    return ops.matmul(weights, v), weights


def causal_mask(length: int):
    """(length, length) booleans, True on and below the diagonal: no position sees the future."""
    return ops.tril(ops.ones((length, length), dtype="bool"))


# --- the layers --------------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package="lmcourse")
class SelfAttention(keras.layers.Layer):
    """Multi-head causal self-attention, written with :func:`attention`.

    Weights (as in ``keras.layers.MultiHeadAttention``): query, key and value kernels
    (model_dim, heads, head_dim) with biases (heads, head_dim); an output kernel
    (heads, head_dim, model_dim) with a bias (model_dim,).
    """

    def __init__(self, heads: int, head_dim: int, causal: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.heads, self.head_dim, self.causal = heads, head_dim, causal

    def build(self, input_shape):
        d, shape = input_shape[-1], (input_shape[-1], self.heads, self.head_dim)
        for name in ("query", "key", "value"):
            setattr(self, f"{name}_kernel", self.add_weight(shape=shape, initializer="glorot_uniform",
                                                            name=f"{name}_kernel"))
            setattr(self, f"{name}_bias", self.add_weight(shape=shape[1:], initializer="zeros",
                                                          name=f"{name}_bias"))
        self.output_kernel = self.add_weight(shape=(self.heads, self.head_dim, d),
                                             initializer="glorot_uniform", name="output_kernel")
        self.output_bias = self.add_weight(shape=(d,), initializer="zeros", name="output_bias")

    def call(self, x, return_weights=False):
        # (batch, time, model_dim) x (model_dim, heads, head_dim) -> (batch, heads, time, head_dim)
        q = ops.einsum("btd,dhk->bhtk", x, self.query_kernel) + self.query_bias[:, None, :]
        k = ops.einsum("btd,dhk->bhtk", x, self.key_kernel) + self.key_bias[:, None, :]
        v = ops.einsum("btd,dhk->bhtk", x, self.value_kernel) + self.value_bias[:, None, :]
        mask = causal_mask(ops.shape(x)[1]) if self.causal else None
        mixed, weights = attention(q, k, v, mask)  # (batch, heads, time, head_dim)
        out = ops.einsum("bhtk,hkd->btd", mixed, self.output_kernel) + self.output_bias
        return (out, weights) if return_weights else out

    def get_config(self) -> dict:
        return {**super().get_config(), "heads": self.heads, "head_dim": self.head_dim,
                "causal": self.causal}


@keras.saving.register_keras_serializable(package="lmcourse")
class Block(keras.layers.Layer):
    """x + attention(norm(x)), then x + mlp(norm(x)): the transformer block (pre-norm)."""

    def __init__(self, model_dim: int, heads: int, mlp_dim: int, dropout: float = 0.0,
                 causal: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.model_dim, self.heads, self.mlp_dim = model_dim, heads, mlp_dim
        self.dropout_rate, self.causal = dropout, causal
        self.norm1 = keras.layers.LayerNormalization(epsilon=1e-5)
        self.attention = SelfAttention(heads, model_dim // heads, causal)
        self.norm2 = keras.layers.LayerNormalization(epsilon=1e-5)
        self.mlp_in = keras.layers.Dense(mlp_dim, activation="gelu")
        self.mlp_out = keras.layers.Dense(model_dim)
        self.dropout = keras.layers.Dropout(dropout)

    def call(self, x, training=False, return_weights=False):
        mixed, weights = self.attention(self.norm1(x), return_weights=True)
        x = x + self.dropout(mixed, training=training)
        x = x + self.dropout(self.mlp_out(self.mlp_in(self.norm2(x))), training=training)
        return (x, weights) if return_weights else x

    def get_config(self) -> dict:
        return {**super().get_config(), "model_dim": self.model_dim, "heads": self.heads,
                "mlp_dim": self.mlp_dim, "dropout": self.dropout_rate, "causal": self.causal}


@keras.saving.register_keras_serializable(package="lmcourse")
class NextWordTransformer(keras.Model):
    """Token + position embeddings -> blocks -> layer norm -> softmax over the vocabulary.

    The output layer multiplies by the token embeddings' transpose (tied weights, as in GPT-2):
    fewer weights, which matters on a small corpus. The vocabulary and window travel in the
    config, so one ``.keras`` file is the whole model.
    """

    def __init__(self, words: Sequence[str], window: int = 32, model_dim: int = 64, heads: int = 4,
                 layers: int = 2, mlp_dim: int = 256, dropout: float = 0.3, causal: bool = True, **kwargs):
        super().__init__(**kwargs)
        if model_dim % heads:
            raise ValueError(f"model_dim ({model_dim}) must be a multiple of heads ({heads})")
        self.words, self.window = list(words), int(window)
        self.model_dim, self.heads, self.layers_count, self.mlp_dim = model_dim, heads, layers, mlp_dim
        self.dropout_rate, self.causal = dropout, causal
        self.tokens = keras.layers.Embedding(len(self.words), model_dim)
        self.positions = keras.layers.Embedding(self.window, model_dim)
        self.dropout = keras.layers.Dropout(dropout)
        self.blocks = [Block(model_dim, heads, mlp_dim, dropout, causal, name=f"block_{i}")
                       for i in range(layers)]
        self.norm = keras.layers.LayerNormalization(epsilon=1e-5)
        self.output_bias = self.add_weight(shape=(len(self.words),), initializer="zeros", name="output_bias")

    def hidden(self, ids, training=False):
        """The last block's output (after the final norm), and each block's attention weights."""
        length = ops.shape(ids)[1]
        x = self.tokens(ids) + self.positions(ops.arange(length))[None, :, :]
        x = self.dropout(x, training=training)
        maps = []
        for block in self.blocks:
            x, weights = block(x, training=training, return_weights=True)
            maps.append(weights)
        return self.norm(x), maps

    def call(self, ids, training=False):
        x, _ = self.hidden(ids, training=training)
        logits = ops.matmul(x, ops.transpose(self.tokens.embeddings)) + self.output_bias
        return ops.softmax(logits, axis=-1)

    def get_config(self) -> dict:
        return {"name": self.name, "words": self.words, "window": self.window, "model_dim": self.model_dim,
                "heads": self.heads, "layers": self.layers_count, "mlp_dim": self.mlp_dim,
                "dropout": self.dropout_rate, "causal": self.causal}


@dataclass(frozen=True)
class TransformerConfig(TrainingConfig):
    """Size and training of the transformer (training settings in :class:`TrainingConfig`)."""

    model_dim: int = 64
    heads: int = 4
    layers: int = 2
    mlp_dim: int = 256
    dropout: float = 0.3
    learning_rate: float = 0.002

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.model_dim % self.heads:
            raise ValueError(f"model_dim ({self.model_dim}) must be a multiple of heads ({self.heads})")


class TransformerLanguageModel(WindowLanguageModel):
    """A trained transformer with the course's predictor protocol (like the LSTM's)."""

    model_class = NextWordTransformer
    config_class = TransformerConfig
    family = "transformer"

    def __repr__(self) -> str:
        m = self.model
        return (f"TransformerLanguageModel(window={self.window}, layers={m.layers_count}, heads={m.heads}, "
                f"model_dim={m.model_dim}, parameters={m.count_params():,}, vocabulary={len(self.vocab):,} words)")

    @classmethod
    def keras_model(cls, vocab: Vocabulary, config: TransformerConfig) -> NextWordTransformer:
        return NextWordTransformer(vocab.words, config.window, config.model_dim, config.heads, config.layers,
                                   config.mlp_dim, config.dropout)

    def attention_maps(self, text: str) -> tuple[list[str], np.ndarray]:
        """The tokens the model reads for ``text`` (the start symbol first) and its attention weights:
        (layers, heads, tokens, tokens); row i says how much token i looks at each earlier token."""
        ids = self.encode_prompt(text)[:self.window]
        _, maps = self.model.hidden(np.asarray([ids], dtype=np.int32))
        weights = np.stack([keras.ops.convert_to_numpy(m)[0] for m in maps])
        return [EOS if i == 0 else self.vocab.words[t] for i, t in enumerate(ids)], weights


def train_transformer(train: Sentences, valid: Sentences, config: TransformerConfig = TransformerConfig(),
                      callbacks: Sequence[keras.callbacks.Callback] = ()) -> TransformerLanguageModel:
    """Build the vocabulary of ``train``, then build and fit a transformer on it."""
    return TransformerLanguageModel.trained(train, valid, config, callbacks)


def head_roles(model: TransformerLanguageModel, sentences: Sentences, limit: int = 200) -> dict[str, np.ndarray]:
    """Where each head's attention goes, averaged over the positions of up to ``limit`` sentences:
    the share on the start symbol, on the token itself and on the token just before.

    Each value is a (layers, heads) array; the three shares of a head need not sum to 1 (the rest
    goes to other earlier tokens). Position 0 (the start symbol itself, which can only look at
    itself) is left out.
    """
    totals = {"start symbol": 0.0, "itself": 0.0, "previous token": 0.0}
    count = 0
    for sentence in list(sentences)[:limit]:
        if len(sentence) < 2:
            continue
        _, maps = model.attention_maps(" ".join(sentence))
        n = maps.shape[-1]
        rows = np.arange(1, n)
        totals["start symbol"] = totals["start symbol"] + maps[:, :, rows, 0].sum(-1)
        totals["itself"] = totals["itself"] + maps[:, :, rows, rows].sum(-1)
        totals["previous token"] = totals["previous token"] + maps[:, :, rows, rows - 1].sum(-1)
        count += len(rows)
    if not count:
        raise ValueError("sentences must hold at least one sentence of two or more words")
    return {name: total / count for name, total in totals.items()}


def masked_example(sentence: str, masked: Sequence[int]) -> tuple[list[str], list[str]]:
    """The masked (BERT-style) objective on one sentence: the input with ``[MASK]`` at the chosen
    positions, and the words the model must recover there (every other position has no target)."""
    tokens = tokenize(sentence)
    bad = [i for i in masked if not 0 <= i < len(tokens)]
    if bad:
        raise ValueError(f"positions {bad} are outside the sentence's {len(tokens)} tokens")
    return ([("[MASK]" if i in masked else t) for i, t in enumerate(tokens)],
            [(t if i in masked else "-") for i, t in enumerate(tokens)])
