"""The splice trainer's run folder: learning-rate schedule, resume checks, starting models."""

import json

import numpy as np
import pytest

from conftest import assert_one_line_error, run_in_process

keras = pytest.importorskip("keras")


def _arrays(seed, windows=6, width=80):
    """Synthetic shard arrays (ASCII bases, labels, weights) — the trainer's input format."""
    rng = np.random.default_rng(seed)
    seq = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, (windows, width))]
    label = np.zeros((windows, width), np.uint8)
    label[:, 20], label[:, 50] = 1, 2
    return {"seq": seq, "label": label, "weight": np.ones((windows, width), np.float32)}


def _cfg(epochs):
    from genorrn.models import LabellerConfig
    from genorrn.training import TrainConfig

    return TrainConfig.for_task("splice", model=LabellerConfig(lstm_units=[4], conv_filters=0),
                                epochs=epochs, batch_size=3, patience=10, lr_schedule="cosine")


def _train(out, arrays, epochs, resume=False):
    from genorrn.splice import train_splice

    return train_splice(arrays, arrays, out, _cfg(epochs), resume=resume, log=lambda message: None)


def test_cosine_schedule():
    from genorrn.training import TrainConfig, learning_rate

    cfg = TrainConfig.for_task("splice", epochs=4, learning_rate=1e-3, lr_schedule="cosine")
    rates = [learning_rate(cfg, e) for e in range(4)]
    assert rates[0] == pytest.approx(1e-3) and rates[2] == pytest.approx(5e-4)
    assert all(a > b for a, b in zip(rates, rates[1:])) and rates[-1] > 0
    constant = TrainConfig.for_task("splice", epochs=4, learning_rate=1e-3)
    assert [learning_rate(constant, e) for e in range(4)] == [1e-3] * 4
    plateau = TrainConfig.for_task("splice", learning_rate=1e-3, lr_schedule="plateau")
    assert learning_rate(plateau, 3, halvings=2) == pytest.approx(2.5e-4)


@pytest.mark.slow
def test_resume_continues_and_refuses_other_data(tmp_path):
    from genorrn.errors import InputError

    out = tmp_path / "run"
    _train(out, _arrays(0), epochs=1)
    state = _train(out, _arrays(0), epochs=2, resume=True)
    assert [h["epoch"] for h in state["history"]] == [1, 2]
    lrs = [h["lr"] for h in state["history"]]
    assert lrs[1] < lrs[0]  # the cosine schedule follows the epoch, also after a resume
    with pytest.raises(InputError, match="other training/validation data"):
        _train(out, _arrays(1), epochs=3, resume=True)
    (out / "state.json").write_text("{truncated")
    with pytest.raises(InputError, match="state.json: cannot read it"):
        _train(out, _arrays(0), epochs=3, resume=True)


def _shards_and_model(tmp_path):
    from genorrn.data.splice import write_shard
    from genorrn.models import LabellerConfig, build_labeller

    shards = tmp_path / "shards"
    shards.mkdir()
    for split in ("train", "validation"):
        write_shard(shards / f"{split}.npz", _arrays(0))
    model = tmp_path / "small.keras"
    build_labeller(LabellerConfig(lstm_units=[4], conv_filters=4, conv_kernel=5),
                   name="genorrn_splice").save(model)  # fmt: skip
    return ["train", "splice", str(shards), "-o", str(tmp_path / "out"), "--init-from", str(model)]


def test_init_from_options(tmp_path, capsys):
    """Architecture options with --init-from need --widen, and --widen needs one of them."""
    base = _shards_and_model(tmp_path)
    assert_one_line_error(run_in_process(capsys, *base, "--units", "8"), "need --widen")
    assert_one_line_error(run_in_process(capsys, *base, "--widen"), "--widen needs at least one of")
    assert_one_line_error(run_in_process(capsys, *base, "--dropout", "0.2"), "need --widen")
    bad = run_in_process(capsys, *base, "--widen", "--dropout", "1.5")
    assert bad.returncode == 2 and "a dropout rate is in [0, 1)" in bad.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_init_from_widen_trains_and_keeps_checkpoints(tmp_path, capsys):
    import hashlib

    from genorrn.models import config_of
    from genorrn.pretrained import load_model

    base = _shards_and_model(tmp_path)
    result = run_in_process(capsys, *base, "--widen", "--units", "6", "--dropout", "0.2",
                            "--epochs", "2", "--batch-size", "3", "--keep-checkpoints")  # fmt: skip
    assert result.returncode == 0, result.stderr
    # --keep-checkpoints: one float32 inference model per epoch, loadable as a splice model
    epochs = sorted(p.name for p in (tmp_path / "out").glob("epoch_*.keras"))
    assert epochs == ["epoch_001.keras", "epoch_002.keras"]
    kept = load_model(tmp_path / "out" / "epoch_002.keras", task="splice").keras
    assert config_of(kept).lstm_units == [6] and config_of(kept).conv_filters == 4
    assert {w.dtype for w in kept.weights} == {"float32"}
    config = json.loads((tmp_path / "out" / "train_config.json").read_text())
    assert config["model"]["lstm_units"] == [6] and config["model"]["conv_filters"] == 4
    assert config["model"]["dropout"] == 0.2
    small = tmp_path / "small.keras"
    assert config["init_from"]["widened"] is True
    assert config["init_from"]["sha256"] == hashlib.sha256(small.read_bytes()).hexdigest()
