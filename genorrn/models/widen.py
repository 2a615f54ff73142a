"""Grow a trained labeller into a wider/deeper one that computes exactly the same function.

Used to continue training with more capacity without starting over (``genorrn train splice
--init-from NAME --widen``). The construction (in the spirit of Net2Net, Chen et al. 2016):

* **New conv filters / LSTM units** get small random *incoming* weights, but every weight
  *leaving* them (into old units, the next layer or the head) is zero, so the old units — and
  the output — are unchanged. Gradients reach the zero outgoing weights at once, so the new
  units start learning on the first step.
* **Extra conv layers** are appended to the front end as identities (centre tap 1, bias 0):
  their input is a ReLU output, so ``relu(identity(x)) == x``.

``tests/test_widen.py`` checks that the grown model reproduces the small model's output (and
its streamed output) and that the new units learn.
"""

from __future__ import annotations

import keras
import numpy as np

from genorrn.models.labeller import LabellerConfig, build_labeller, config_of

#: scale of the random incoming weights of new units (small: they start as a perturbation)
NEW_WEIGHT_SCALE = 0.05


def check_growable(small: LabellerConfig, big: LabellerConfig) -> None:
    """Raise ``ValueError`` unless ``big`` only adds units, filters or conv layers to ``small``."""
    if not (small.bidirectional and big.bidirectional):
        raise ValueError("cannot widen: only bidirectional labellers can be grown")
    same = ("alphabet_size", "num_classes", "conv_kernel")
    for name in same:
        if getattr(small, name) != getattr(big, name):
            raise ValueError(f"cannot widen: {name} differs ({getattr(small, name)} vs {getattr(big, name)})")
    if len(small.lstm_units) != len(big.lstm_units):
        raise ValueError("cannot widen: the number of LSTM layers must stay the same")
    if any(b < s for s, b in zip(small.lstm_units, big.lstm_units)):
        raise ValueError(f"cannot widen: LSTM units {big.lstm_units} smaller than {small.lstm_units}")
    if not small.conv_filters or big.conv_filters < small.conv_filters:
        raise ValueError(f"cannot widen: conv filters {big.conv_filters} < {small.conv_filters} "
                         "(the conv front end must exist and not shrink)")  # fmt: skip
    if big.conv_layers < small.conv_layers:
        raise ValueError(f"cannot widen: {big.conv_layers} conv layers, fewer than the starting "
                         f"model's {small.conv_layers}")  # fmt: skip


def _lstm_weights(old, in_map, n_in, units_old, units_new, rng):
    """Kernel, recurrent kernel, bias of a widened LSTM direction (gate order i, f, c, o).

    ``in_map``: new row index of each old input row. Rows of new inputs into old gates are 0.
    """
    kernel, recurrent, bias = old
    cols = np.concatenate([g * units_new + np.arange(units_old) for g in range(4)])
    new_cols = np.setdiff1d(np.arange(4 * units_new), cols)
    k = np.zeros((n_in, 4 * units_new), np.float32)
    k[:, new_cols] = rng.normal(0.0, NEW_WEIGHT_SCALE, (n_in, len(new_cols)))
    k[np.ix_(in_map, cols)] = kernel
    r = np.zeros((units_new, 4 * units_new), np.float32)
    r[:, new_cols] = rng.normal(0.0, NEW_WEIGHT_SCALE, (units_new, len(new_cols)))
    r[np.ix_(np.arange(units_old), cols)] = recurrent
    b = np.zeros(4 * units_new, np.float32)
    b[units_new : 2 * units_new] = 1.0  # forget-gate bias 1, as Keras initialises it
    b[cols] = bias
    return [k, r, b]


def widen_labeller(small: keras.Model, big: LabellerConfig, seed: int = 0, name=None) -> keras.Model:
    """Return a model of architecture ``big`` computing the same function as ``small``."""
    cfg = config_of(small)
    check_growable(cfg, big)
    rng = np.random.default_rng(seed)
    model = build_labeller(big, name=name or small.name)
    old = {layer.name: layer for layer in small.layers}
    new = {layer.name: layer for layer in model.layers}
    f_old, f_new = cfg.conv_filters, big.conv_filters
    for i in range(big.conv_layers):
        layer = new[f"conv_{i}"]
        kernel_shape = tuple(layer.kernel.shape)
        if i < cfg.conv_layers:
            w, b = old[f"conv_{i}"].get_weights()
            kernel = np.zeros(kernel_shape, np.float32)
            kernel[..., f_old:] = rng.normal(0.0, NEW_WEIGHT_SCALE, kernel[..., f_old:].shape)
            kernel[:, : w.shape[1], :f_old] = w  # new input channels feed old filters nothing
            bias = np.zeros(f_new, np.float32)
            bias[:f_old] = b
            layer.set_weights([kernel, bias])
        else:  # identity on its non-negative (ReLU) input
            kernel = np.zeros(kernel_shape, np.float32)
            kernel[big.conv_kernel // 2, np.arange(f_new), np.arange(f_new)] = 1.0
            layer.set_weights([kernel, np.zeros(f_new, np.float32)])
    in_map, n_in = np.arange(f_old), f_new
    for i, (u_old, u_new) in enumerate(zip(cfg.lstm_units, big.lstm_units)):
        wrapper_old, wrapper_new = old[f"bilstm_{i}"], new[f"bilstm_{i}"]
        for direction in ("forward_layer", "backward_layer"):
            weights = _lstm_weights(
                getattr(wrapper_old, direction).get_weights(), in_map, n_in, u_old, u_new, rng
            )  # fmt: skip
            getattr(wrapper_new, direction).set_weights(weights)
        # the next layer sees [forward units, backward units]
        in_map = np.concatenate([np.arange(u_old), u_new + np.arange(u_old)])
        n_in = 2 * u_new
    w, b = old["head"].get_weights()
    head = np.zeros((n_in, big.num_classes), np.float32)
    head[in_map] = w
    new["head"].set_weights([head, b])
    return model

