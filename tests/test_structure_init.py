"""``train structure --init-from M [--widen …] [--lr-schedule cosine]``: training starts from
an existing structure model's weights (grown first with ``--widen``), and the cosine schedule
follows the epoch."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
from test_structure_resume import _chains, _config

from conftest import assert_one_line_error, run_in_process, tiny_structure_model


def _probe(model, length=40, seed=3):
    rng = np.random.default_rng(seed)
    x = np.zeros((2, length, 21), np.float32)
    x[np.arange(2)[:, None], np.arange(length)[None, :], rng.integers(0, 20, (2, length))] = 1.0
    return np.asarray(model(x, training=False))


@pytest.mark.slow
def test_training_starts_from_the_widened_model_and_follows_the_cosine_schedule(tmp_path):
    from dataclasses import replace

    import keras

    from genorrn.models import config_of
    from genorrn.models.widen import widen_labeller
    from genorrn.structure import train_structure

    small = tiny_structure_model()
    grown = widen_labeller(small, replace(config_of(small), lstm_units=[12], conv_layers=2))
    assert np.abs(_probe(grown) - _probe(small)).max() <= 1e-6  # measured: identical
    train, validation = _chains(12, 1), _chains(4, 2)
    # a zero learning rate leaves the starting weights as they are: the selected model is the
    # grown model, so it computes what the small one did
    cfg = replace(_config(), model=config_of(grown), learning_rate=0.0, epochs=1)
    train_structure(train, validation, tmp_path / "frozen", cfg, log=lambda _m: None, init=grown)
    selected = keras.saving.load_model(tmp_path / "frozen" / "model.keras")
    assert config_of(selected).lstm_units == [12]
    assert np.abs(_probe(selected) - _probe(small)).max() <= 1e-6  # measured: identical
    # cosine: rate(epoch e of E) = base * (1 + cos(pi e / E)) / 2, whatever validation does
    cfg = replace(cfg, learning_rate=1e-3, epochs=3, lr_schedule="cosine")
    state = train_structure(train, validation, tmp_path / "cosine", cfg, log=lambda _m: None,
                            init=grown)  # fmt: skip
    rates = [entry["lr"] for entry in state["history"]]
    expected = [1e-3 * (1 + math.cos(math.pi * e / 3)) / 2 for e in range(3)]
    assert rates == pytest.approx(expected, rel=1e-5)
    trained = keras.saving.load_model(tmp_path / "cosine" / "last.keras")
    assert np.abs(np.asarray(trained.get_weights()[0]) - grown.get_weights()[0]).max() > 0


def test_init_from_options_are_checked_before_any_data_is_read(tmp_path, capsys,
                                                              structure_model_path):  # fmt: skip
    base = ["train", "structure", "-o", str(tmp_path / "out"), "--data-dir",
            str(tmp_path / "no-such-data")]  # fmt: skip
    assert_one_line_error(run_in_process(capsys, *base, "--widen", "--units", "16"),
                          "--widen needs --init-from")  # fmt: skip
    start = [*base, "--init-from", str(structure_model_path)]
    assert_one_line_error(run_in_process(capsys, *start, "--units", "16"), "need --widen")
    assert_one_line_error(run_in_process(capsys, *start, "--widen"),
                          "--widen needs at least one of")  # fmt: skip
    assert_one_line_error(run_in_process(capsys, *start, "--widen", "--units", "4"),
                          "cannot widen", "smaller")  # fmt: skip
    assert_one_line_error(run_in_process(capsys, *base, "--init-from", "splice-athaliana-v1"),
                          "not 'structure'")  # fmt: skip
    assert not (tmp_path / "out").exists()


def test_init_from_is_recorded(tmp_path, capsys, structure_model_path, monkeypatch):
    """The CLI passes the grown model to the trainer and records where it came from."""
    import genorrn.structure as structure

    seen = {}

    def fake_sets(*_args, **_kwargs):
        return _chains(8, 1), _chains(4, 2), {"train_chains": 8, "train_residues": 0,
                                                "validation_chains": 4}, {}  # fmt: skip

    def fake_train(train, validation, out, cfg, log, extra, resume, init, teacher=None):
        seen.update(cfg=cfg, extra=extra, init=init)
        return {"epoch": 0, "best": 0.0, "best_epoch": 0}

    monkeypatch.setattr(structure, "prepare_training_sets", fake_sets)
    monkeypatch.setattr(structure, "train_structure", fake_train)
    result = run_in_process(capsys, "train", "structure", "-o", str(tmp_path / "out"),
                            "--init-from", str(structure_model_path), "--widen",
                            "--units", "10", "--conv-filters", "8", "--dropout", "0.1",
                            "--lr-schedule", "cosine")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert seen["cfg"].model.lstm_units == [10] and seen["cfg"].model.conv_filters == 8
    assert seen["cfg"].model.dropout == 0.1 and seen["cfg"].lr_schedule == "cosine"
    small = tiny_structure_model()
    assert seen["init"].count_params() > small.count_params()
    # the grown model the trainer starts from computes what --init-from's model does
    # (measured: 6e-8; dropout is off at inference)
    assert np.abs(_probe(seen["init"]) - _probe(small)).max() <= 1e-6
    assert seen["extra"]["init_from"]["widened"] is True
    assert seen["extra"]["init_from"]["sha256"] == hashlib.sha256(
        structure_model_path.read_bytes()).hexdigest()
