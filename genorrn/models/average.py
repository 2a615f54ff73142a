"""Average the weights of several checkpoints of one labeller (Polyak / stochastic weight
averaging, Izmailov et al. 2018): the checkpoints of the last epochs of a decaying learning-rate
schedule lie close together, and their mean often generalises better than any one of them.

Used by ``genorrn models average``; choose between the average and the single best epoch on
validation data only.
"""

from __future__ import annotations

import keras
import numpy as np

from genorrn.models.labeller import config_of, float32_labeller


def average_models(models: list[keras.Model], name: str | None = None) -> keras.Model:
    """A float32 labeller whose every weight is the mean of that weight over ``models``.

    Raises ``ValueError`` for fewer than two models or models of different architectures.
    """
    if len(models) < 2:
        raise ValueError("averaging needs at least two models")
    config = config_of(models[0])
    for other in models[1:]:
        if config_of(other) != config:
            raise ValueError(f"models {models[0].name!r} and {other.name!r} have different "
                             "architectures")  # fmt: skip
    weights = [[np.asarray(w, np.float64) for w in m.get_weights()] for m in models]
    mean = [np.mean(ws, axis=0) for ws in zip(*weights)]
    return float32_labeller(config, mean, name or models[0].name)
