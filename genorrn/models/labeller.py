"""The per-position sequence labeller: [Conv1D front end] → BiLSTM stack → softmax per position.

cuDNN-compatible by construction (tanh/sigmoid, ``use_bias=True``, ``recurrent_dropout=0``,
no ``unroll``); the softmax head is float32 so ``mixed_float16`` can be switched on for
training. Layer names are fixed (``conv_{i}``, ``bilstm_{i}`` / ``lstm_{i}``, ``head``) because
the streaming engine (:mod:`genorrn.streaming`) reads the weights by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
import numpy as np


@dataclass
class LabellerConfig:
    """Everything needed to rebuild a labeller; stored in the saved model's name-free config."""

    alphabet_size: int = 4
    num_classes: int = 3
    lstm_units: list[int] = field(default_factory=lambda: [64, 64])
    bidirectional: bool = True
    conv_filters: int = 0  # 0: no convolutional front end
    conv_kernel: int = 9
    conv_layers: int = 1
    dropout: float = 0.0  # input dropout between layers (training only; not recurrent)

    @property
    def conv_context(self) -> int:
        """Positions of input each side that a position's conv features depend on."""
        if not self.conv_filters:
            return 0
        return self.conv_layers * (self.conv_kernel // 2)


def build_labeller(config: LabellerConfig, name: str = "genorrn_labeller") -> keras.Model:
    """Return an uncompiled ``keras.Model`` mapping ``(batch, length, alphabet)`` one-hot input
    to ``(batch, length, classes)`` per-position probabilities, for any length."""
    if config.conv_filters and config.conv_kernel % 2 == 0:
        raise ValueError("conv_kernel must be odd so that 'same' padding is centred")
    inputs = keras.Input(shape=(None, config.alphabet_size), name="onehot")
    x = inputs
    for i in range(config.conv_layers if config.conv_filters else 0):
        x = keras.layers.Conv1D(
            config.conv_filters, config.conv_kernel, padding="same", activation="relu",
            name=f"conv_{i}",
        )(x)  # fmt: skip
    for i, units in enumerate(config.lstm_units):
        if config.dropout:
            x = keras.layers.Dropout(config.dropout, name=f"dropout_{i}")(x)
        lstm = keras.layers.LSTM(
            units,
            return_sequences=True,
            activation="tanh",
            recurrent_activation="sigmoid",
            use_bias=True,
            recurrent_dropout=0.0,
            unroll=False,
            name=f"lstm_{i}",
        )
        if config.bidirectional:
            lstm = keras.layers.Bidirectional(lstm, merge_mode="concat", name=f"bilstm_{i}")
        x = lstm(x)
    outputs = keras.layers.Dense(
        config.num_classes, activation="softmax", dtype="float32", name="head"
    )(x)
    model = keras.Model(inputs, outputs, name=name)
    return model


def float32_labeller(config: LabellerConfig, weights: list, name: str) -> keras.Model:
    """A float32 labeller (whatever the global dtype policy) holding ``weights``: inference
    files are saved in float32, also after mixed-precision training."""
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        model = build_labeller(config, name=name)
    finally:
        keras.config.set_dtype_policy(policy)
    model.set_weights([np.asarray(w, np.float32) for w in weights])
    return model


def config_of(model: keras.Model) -> LabellerConfig:
    """Recover the :class:`LabellerConfig` of a model built by :func:`build_labeller`."""
    names = {layer.name: layer for layer in model.layers}
    convs = [layer for n, layer in names.items() if n.startswith("conv_")]
    bidirectional = any(n.startswith("bilstm_") for n in names)
    lstms = [layer for n, layer in names.items() if n.startswith("bilstm_" if bidirectional else "lstm_")]
    if not lstms or "head" not in names:
        raise ValueError(f"model {model.name!r} is not a genorrn labeller (no LSTM stack/head)")
    unit = (lambda layer: layer.forward_layer.units) if bidirectional else (lambda layer: layer.units)
    dropouts = [layer.rate for n, layer in names.items() if n.startswith("dropout_")]
    return LabellerConfig(
        alphabet_size=model.input_shape[-1],
        num_classes=names["head"].units,
        lstm_units=[unit(layer) for layer in lstms],
        bidirectional=bidirectional,
        conv_filters=convs[0].filters if convs else 0,
        conv_kernel=convs[0].kernel_size[0] if convs else 9,
        conv_layers=len(convs) if convs else 1,
        dropout=dropouts[0] if dropouts else 0.0,
    )
