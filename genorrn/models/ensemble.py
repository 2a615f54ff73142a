"""Ensembles in the streaming engine: one step model that runs every member on one window.

An ensemble's prediction is the mean of its members' probabilities. The streaming engine
(:class:`genorrn.streaming.StreamingPredictor`) builds one chunk-step model per member and
joins them here into a single Keras model, so that one ``predict_on_batch`` call per chunk runs
every member on the same input window (read and encoded once):

* inputs ``[window, mask, h/c of member 1's forward LSTMs, h/c of member 2's, …]``;
* outputs ``[mean of the members' probabilities, new h/c of member 1, of member 2, …]``.

Members may differ in size, including their convolutional context: the window carries the
largest context and each member reads it from its own context on (``window[:, max - own:]``).
"""

from __future__ import annotations

from dataclasses import dataclass

import keras

from genorrn.models.labeller import LabellerConfig, config_of


@dataclass(frozen=True)
class EnsembleConfig:
    """What the streaming engine reads of its model, for several members: their shared
    alphabet and classes and the largest convolutional context."""

    members: tuple[LabellerConfig, ...]

    @property
    def alphabet_size(self) -> int:
        return self.members[0].alphabet_size

    @property
    def num_classes(self) -> int:
        return self.members[0].num_classes

    @property
    def conv_context(self) -> int:
        return max(m.conv_context for m in self.members)


def ensemble_config(models: list[keras.Model]) -> EnsembleConfig:
    """The :class:`EnsembleConfig` of ``models``; ``ValueError`` unless they share the input
    alphabet and the classes."""
    configs = tuple(config_of(m) for m in models)
    shapes = {(c.alphabet_size, c.num_classes) for c in configs}
    if len(shapes) > 1:
        found = ", ".join(f"{m.name}: {c.alphabet_size} channels, {c.num_classes} classes"
                          for m, c in zip(models, configs))  # fmt: skip
        raise ValueError(f"ensemble members differ in input channels or classes ({found})")
    return EnsembleConfig(configs)


def combine_steps(steps: list[keras.Model], contexts: list[int], units: list[list[int]],
                  batch_size: int) -> keras.Model:  # fmt: skip
    """One step model running every member step (built by
    :func:`genorrn.streaming.build_step_model`, each named uniquely) on one window; see the
    module doc. ``contexts``: each member's conv context; ``units``: its forward LSTM units."""
    ctx = max(contexts)
    member_window, alphabet = steps[0].inputs[0].shape[1:]
    window = member_window - contexts[0] + ctx
    x_in = keras.Input((window, alphabet), batch_size=batch_size, name="window")
    m_in = keras.Input((window,), batch_size=batch_size, dtype="bool", name="mask")
    state_ins, state_outs, probs = [], [], []
    for k, (step, own, member_units) in enumerate(zip(steps, contexts, units)):
        ins = [keras.Input((u,), batch_size=batch_size, name=f"m{k}_{kind}_{i}")
               for i, u in enumerate(member_units) for kind in "hc"]  # fmt: skip
        outs = step([x_in[:, ctx - own :], m_in[:, ctx - own :], *ins])
        state_ins += ins
        probs.append(outs[0])
        state_outs += list(outs[1:])
    mean = keras.ops.mean(keras.ops.stack(probs, axis=0), axis=0)
    return keras.Model([x_in, m_in, *state_ins], [mean, *state_outs], name="ensemble_step")
