"""``train structure --resume``: continues the epochs from OUT/last.keras + OUT/state.json
(weights, optimizer state, learning rate, history) and refuses another architecture."""

from __future__ import annotations

import json

import numpy as np
import pytest

from genorrn.data.structure import Chain
from genorrn.errors import InputError


def _chains(n: int, seed: int) -> list[Chain]:
    rng = np.random.default_rng(seed)
    chains = []
    for i in range(n):
        length = int(rng.integers(20, 50))
        seq = "".join(rng.choice(list("ACDEFGHIKLMNPQRSTVWY"), length))
        q8 = rng.integers(0, 8, length).astype(np.int8)
        chains.append(Chain(f"c{seed}_{i}", seq, q8, np.full(length, -1, np.int8)))
    return chains


def _config(units=(4,), epochs=2):
    from genorrn.recipes import STRUCTURE
    from genorrn.training import TrainConfig

    return TrainConfig.for_task(
        "structure",
        model=STRUCTURE.labeller_config(lstm_units=list(units), conv_filters=4, conv_kernel=3,
                                        conv_layers=1, dropout=0.0),
        epochs=epochs, batch_size=4, steps_per_epoch=2, patience=10, max_len=64,
    )  # fmt: skip


@pytest.mark.slow
def test_resume_continues_epochs_optimizer_and_learning_rate(tmp_path):
    import keras

    from genorrn.structure import train_structure

    train, validation = _chains(12, 1), _chains(4, 2)
    out = tmp_path / "run"
    first = train_structure(train, validation, out, _config(epochs=2), log=lambda _m: None)
    assert first["epoch"] == 2 and (out / "last.keras").exists()
    history = json.loads((out / "state.json").read_text())["history"]
    # plateau schedule: the rate is --learning-rate x 0.5 per halving recorded in state.json,
    # so a run that had halved twice resumes at a quarter of the base rate (2e-3)
    state = json.loads((out / "state.json").read_text())
    state["halvings"] = 2
    (out / "state.json").write_text(json.dumps(state))
    messages = []
    second = train_structure(train, validation, out, _config(epochs=4), log=messages.append,
                             resume=True)  # fmt: skip
    assert any(m.startswith("resuming after epoch 2") for m in messages), messages
    assert [e["epoch"] for e in second["history"]] == [1, 2, 3, 4]
    assert second["history"][:2] == history
    assert second["history"][2]["lr"] == pytest.approx(2e-3 / 4)
    # the optimizer state went on: 4 epochs x 2 steps, not 2 x 2 of a fresh start
    last = keras.saving.load_model(out / "last.keras")
    assert int(last.optimizer.iterations) == 8
    # nothing left to do
    messages.clear()
    third = train_structure(train, validation, out, _config(epochs=4), log=messages.append,
                            resume=True)  # fmt: skip
    assert "training already finished" in messages and third["epoch"] == 4


@pytest.mark.slow
def test_resume_refuses_another_architecture(tmp_path):
    from genorrn.structure import train_structure

    train, validation = _chains(8, 3), _chains(4, 4)
    out = tmp_path / "run"
    train_structure(train, validation, out, _config(epochs=1), log=lambda _m: None)
    before = (out / "state.json").read_bytes()
    with pytest.raises(InputError, match=r"different architecture.*lstm_units: \[4\] there, \[8\] now"):
        train_structure(train, validation, out, _config(units=(8,), epochs=2),
                        log=lambda _m: None, resume=True)  # fmt: skip
    assert (out / "state.json").read_bytes() == before
    # without --resume the folder is simply trained afresh
    state = train_structure(train, validation, out, _config(units=(8,), epochs=1),
                            log=lambda _m: None)  # fmt: skip
    assert state["epoch"] == 1
