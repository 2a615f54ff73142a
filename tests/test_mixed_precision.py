"""Mixed precision is tested code: GENORRN_FORCE_MIXED_PRECISION runs the mixed_float16 path on
CPU (slow there, so only tests use it). A tiny splice and a tiny structure model train a few
steps in mixed precision through the one training loop; the saved inference model is float32
and predicts what the mixed-precision training graph in the run folder predicts."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_structure_resume import _chains
from test_training import _arrays

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.slow

#: float16 activations vs float32: measured max |diff| 1.2e-4 (splice) and 1.7e-5 (structure)
#: on these tiny models (2026-11-29); 2e-3 leaves a margin and still fails if the weights were
#: not carried over or the float32 copy computed something else
TOLERANCE = 2e-3


def _float32_everywhere(model) -> bool:
    return all(w.dtype == "float32" for w in model.weights) and all(
        layer.dtype_policy.name == "float32" for layer in model.layers if layer.weights
    )


def _check_run(out, predict_mixed, inputs):
    config = json.loads((out / "train_config.json").read_text())
    assert config["mixed_precision_used"] is True
    assert keras.config.dtype_policy().name == "float32"  # the trainer restores the policy
    saved = keras.saving.load_model(out / "model.keras")
    assert _float32_everywhere(saved)
    mixed = keras.saving.load_model(out / "last.keras", compile=False)  # training graph, mixed
    assert any(layer.dtype_policy.name == "mixed_float16" for layer in mixed.layers)
    want = predict_mixed(mixed)
    got = np.asarray(saved.predict_on_batch(inputs))
    assert want.shape == got.shape
    diff = float(np.abs(want - got).max())
    assert diff < TOLERANCE, diff
    print(f"max |float32 - mixed_float16| = {diff:.1e}")
    return diff


def test_splice_trains_in_mixed_precision(tmp_path, monkeypatch):
    from genorrn.models import LabellerConfig
    from genorrn.splice import train_splice
    from genorrn.training import FORCE_MIXED_ENV, TrainConfig

    monkeypatch.setenv(FORCE_MIXED_ENV, "1")
    arrays = _arrays(0)
    cfg = TrainConfig.for_task("splice", model=LabellerConfig(lstm_units=[8], conv_filters=4,
                               conv_kernel=5), epochs=1, batch_size=3, mixed_precision=True)  # fmt: skip
    train_splice(arrays, arrays, tmp_path, cfg, log=lambda _m: None)
    from genorrn.encoding import DNA_TABLE

    x = DNA_TABLE[arrays["seq"][:2]]
    _check_run(tmp_path, lambda mixed: np.asarray(mixed.predict_on_batch(x), np.float32), x)


def test_structure_trains_in_mixed_precision(tmp_path, monkeypatch):
    import genorrn.models.masked  # noqa: F401  (registers the loss the run folder names)
    from genorrn.encoding import PROTEIN_TABLE
    from genorrn.recipes import STRUCTURE
    from genorrn.structure import train_structure
    from genorrn.training import FORCE_MIXED_ENV, TrainConfig

    monkeypatch.setenv(FORCE_MIXED_ENV, "1")
    model = STRUCTURE.labeller_config(lstm_units=[8], conv_filters=4, conv_kernel=3,
                                      conv_layers=1, dropout=0.0)  # fmt: skip
    cfg = TrainConfig.for_task("structure", model=model, epochs=1, batch_size=4,
                               steps_per_epoch=2, max_len=64, mixed_precision=True)  # fmt: skip
    chain = _chains(1, 5)[0]
    train_structure(_chains(12, 1), _chains(4, 2), tmp_path, cfg, log=lambda _m: None)
    x = PROTEIN_TABLE[np.frombuffer(chain.seq.encode(), np.uint8)][None]
    mask = np.ones(x.shape[:2], bool)
    _check_run(tmp_path, lambda mixed: np.asarray(mixed.predict_on_batch([x, mask]), np.float32), x)
