"""The masked training graph and the allowed-set loss of labellers trained on padded chains.

**Graph.** :func:`masked_graph` builds a ``(onehot, mask) → probs`` model that shares a
labeller's layers: the conv output is zeroed outside the chain and the LSTMs get the padding
mask, exactly as the streaming engine treats a sequence end, so right padding never leaks into
the backward LSTMs. The labeller itself (one input) is what is saved and predicted with.

**Loss.** Each residue has a target *code* (:mod:`genorrn.data.structure`): a Q8 class, a Q3
class only (NetSurfP-2.0 has Q3 labels), or masked (unresolved residue, padding).
:class:`AllowedSetLoss` is ``-log Σ p(q8)`` over the Q8 classes the code allows — ordinary
cross-entropy for Q8 labels, cross-entropy of the derived Q3 for Q3 labels — averaged over the
unmasked residues. :class:`DistillationLoss` mixes it with the cross-entropy to a teacher's
Q8 probabilities (knowledge distillation of an ensemble into one model).
"""

from __future__ import annotations

import keras

from genorrn.data.structure import ALLOWED
from genorrn.models.labeller import LabellerConfig


def masked_graph(labeller: keras.Model, config: LabellerConfig) -> keras.Model:
    """A ``(onehot, mask) → probs`` model sharing ``labeller``'s layers, masking the padding."""
    layers = {layer.name: layer for layer in labeller.layers}
    x_in = keras.Input((None, config.alphabet_size), name="onehot")
    m_in = keras.Input((None,), dtype="bool", name="mask")
    inside = keras.ops.expand_dims(keras.ops.cast(m_in, "float32"), -1)
    x = x_in
    for i in range(config.conv_layers if config.conv_filters else 0):
        x = layers[f"conv_{i}"](x)
        x = x * keras.ops.cast(inside, x.dtype)
    for i in range(len(config.lstm_units)):
        if config.dropout:
            x = layers[f"dropout_{i}"](x)
        x = layers[f"bilstm_{i}" if config.bidirectional else f"lstm_{i}"](x, mask=m_in)
    probs = layers["head"](x)
    return keras.Model([x_in, m_in], probs, name=labeller.name + "_train")


@keras.saving.register_keras_serializable(package="genorrn")
class AllowedSetLoss(keras.losses.Loss):
    """``-log Σ_{c allowed by the target code} p(c)``, averaged over unmasked residues."""

    def __init__(self, name="allowed_set_crossentropy", **kwargs):
        kwargs.setdefault("reduction", "sum")
        super().__init__(name=name, **kwargs)

    def __call__(self, y_true, y_pred, sample_weight=None):
        # The masked training graph's output carries a Keras mask; Loss.__call__ would weight
        # this already-averaged scalar by it again. The masking is done in call().
        return self.call(y_true, y_pred)

    def call(self, y_true, y_pred):
        return allowed_set_nll(y_true, y_pred)


def allowed_set_nll(codes, y_pred):
    """Mean ``-log Σ_{allowed} p`` over the residues whose code allows any class."""
    table = keras.ops.convert_to_tensor(ALLOWED)
    codes = keras.ops.reshape(keras.ops.cast(codes, "int32"), keras.ops.shape(y_pred)[:-1])
    allowed = keras.ops.take(table, codes, axis=0)
    p = keras.ops.sum(keras.ops.cast(y_pred, "float32") * allowed, axis=-1)
    weight = keras.ops.cast(keras.ops.sum(allowed, axis=-1) > 0, "float32")
    nll = -keras.ops.log(keras.ops.clip(p, 1e-7, 1.0)) * weight
    return keras.ops.sum(nll) / keras.ops.maximum(keras.ops.sum(weight), 1.0)


@keras.saving.register_keras_serializable(package="genorrn")
class DistillationLoss(AllowedSetLoss):
    """``(1 − w) ·`` the allowed-set loss ``+ w ·`` the cross-entropy ``-Σ q log p`` to a
    teacher's Q8 probabilities ``q``, each averaged over its own residues: the labelled ones for
    the first, every residue the teacher scored (``Σ q > 0``: inside the chain, unresolved
    residues included) for the second. ``y_true``: ``(B, T, 1 + 8)`` float — the target code,
    then ``q`` (zeros on padding).
    """

    def __init__(self, weight: float = 0.5, name="distillation_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"distillation weight must be in [0, 1], not {weight}")
        self.weight = float(weight)

    def call(self, y_true, y_pred):
        y_true = keras.ops.cast(y_true, "float32")
        hard = allowed_set_nll(y_true[..., 0], y_pred)
        teacher = y_true[..., 1:]
        log_p = keras.ops.log(keras.ops.clip(keras.ops.cast(y_pred, "float32"), 1e-7, 1.0))
        scored = keras.ops.cast(keras.ops.sum(teacher, axis=-1) > 0, "float32")
        soft = -keras.ops.sum(keras.ops.sum(teacher * log_p, axis=-1) * scored)
        soft = soft / keras.ops.maximum(keras.ops.sum(scored), 1.0)
        return (1.0 - self.weight) * hard + self.weight * soft

    def get_config(self):
        return super().get_config() | {"weight": self.weight}


