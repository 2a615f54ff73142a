"""Knowledge distillation of a structure model (``train structure --teacher``): the loss, the
teacher's probabilities in the batches (aligned with the labels, also in random windows of long
chains), the cache of the teacher's predictions, and the bad inputs."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from test_structure_resume import _chains

from conftest import assert_one_line_error, run_in_process


def _numpy_loss(codes, teacher, probs, weight):
    from genorrn.data.structure import ALLOWED

    allowed = ALLOWED[codes]
    labelled = allowed.sum(-1) > 0
    hard = -np.log(np.clip((probs * allowed).sum(-1), 1e-7, 1))[labelled].mean()
    scored = teacher.sum(-1) > 0
    soft = -(teacher * np.log(np.clip(probs, 1e-7, 1))).sum(-1)[scored].mean()
    return (1 - weight) * hard + weight * soft


def test_distillation_loss_mixes_label_and_teacher_cross_entropy():
    import keras

    from genorrn.data.structure import IGNORE
    from genorrn.models.masked import AllowedSetLoss, DistillationLoss

    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(8), (3, 10)).astype(np.float32)
    codes = rng.integers(0, 11, (3, 10)).astype(np.uint8)  # Q8 codes and Q3-only codes 8..10
    codes[0, 7:] = IGNORE  # padding
    codes[1, 2] = IGNORE  # an unresolved residue inside the chain: the teacher still scores it
    teacher = rng.dirichlet(np.ones(8), (3, 10)).astype(np.float32)
    teacher[0, 7:] = 0.0
    y_true = np.concatenate([codes[..., None].astype(np.float32), teacher], axis=-1)
    for weight in (0.0, 0.3, 1.0):
        got = float(DistillationLoss(weight)(y_true, probs))
        assert got == pytest.approx(_numpy_loss(codes, teacher, probs, weight), rel=1e-5)
    # weight 0 is the ordinary allowed-set loss
    assert float(DistillationLoss(0.0)(y_true, probs)) == pytest.approx(
        float(AllowedSetLoss()(codes, probs)), rel=1e-6)
    # saved with a model: the weight survives
    restored = keras.losses.deserialize(keras.losses.serialize(DistillationLoss(0.25)))
    assert isinstance(restored, DistillationLoss) and restored.weight == 0.25
    with pytest.raises(ValueError, match="weight"):
        DistillationLoss(1.5)


def test_batches_carry_the_teacher_aligned_with_the_labels():
    """A teacher that 'knows' the Q8 labels (one-hot of them): in every batch, also in the
    random windows cut from chains longer than max_len, the teacher's class is the label."""
    from genorrn.data.protein_batches import make_batches
    from genorrn.data.structure import IGNORE

    chains = _chains(10, 5) + [_long_chain(300, 7), _long_chain(500, 8)]
    soft = [np.eye(8, dtype=np.float16)[c.codes()] for c in chains]  # codes are Q8 here
    batches = make_batches(chains, 4, max_len=64, shuffle=True, seed=1, soft=soft)
    seen = 0
    for epoch in range(3):
        for i in range(len(batches)):
            (_x, mask), targets = batches[i]
            assert targets.shape == (*mask.shape, 9) and targets.dtype == np.float32
            codes, teacher = targets[..., 0], targets[..., 1:]
            assert np.all(codes[mask] != IGNORE) and np.all(teacher[~mask] == 0)
            assert np.array_equal(teacher[mask].argmax(-1), codes[mask])
            seen += int(mask.sum())
        batches.on_epoch_end()
    assert seen == 3 * sum(min(len(c.seq), 64) for c in chains)
    with pytest.raises(ValueError, match="lengths"):
        make_batches(chains, 4, soft=soft[:-1] + [soft[0]])


def _long_chain(length, seed):
    from genorrn.data.structure import Chain

    rng = np.random.default_rng(seed)
    seq = "".join(rng.choice(list("ACDEFGHIKLMNPQRSTVWY"), length))
    return Chain(f"long{seed}", seq, rng.integers(0, 8, length).astype(np.int8),
                 np.full(length, -1, np.int8))  # fmt: skip


TINY = ["--units", "4", "--conv-filters", "4", "--conv-kernel", "3", "--conv-layers", "1",
        "--dropout", "0", "--batch-size", "4", "--steps-per-epoch", "2", "--max-len", "64"]


@pytest.mark.slow
def test_train_with_a_teacher_caches_its_predictions_and_records_it(tmp_path, capsys,
                                                                    structure_model_path,
                                                                    monkeypatch):  # fmt: skip
    import genorrn
    import genorrn.structure as structure

    train, validation = _chains(12, 1), _chains(4, 2)
    monkeypatch.setattr(structure, "prepare_training_sets", lambda *_a, **_k: (
        train, validation, {"train_chains": 12, "train_residues": 0, "validation_chains": 4}, {}))
    out = tmp_path / "student"
    args = ["train", "structure", "-o", str(out), "--teacher", str(structure_model_path),
            "--distill-weight", "0.7", *TINY]  # fmt: skip
    result = run_in_process(capsys, *args, "--epochs", "1")
    assert result.returncode == 0, result.stderr
    assert "teacher probabilities of 12 chains" in result.stderr
    config = json.loads((out / "train_config.json").read_text())
    assert config["teacher"] == {"model": str(structure_model_path), "weight": 0.7,
                                 "sha256": hashlib.sha256(structure_model_path.read_bytes()).hexdigest()}
    # the cache holds the teacher's raw predictions of the training chains (float16)
    teacher = genorrn.load_model(structure_model_path)
    with np.load(out / "teacher.npz") as saved:
        cached = np.split(saved["probs"], saved["offsets"][1:-1])
    for chain, probs in zip(train, cached):
        expected = teacher.predict(chain.seq, calibrated=False)
        assert np.abs(probs.astype(np.float32) - expected).max() < 2e-3  # float16
    # a resumed run reads the cache instead of predicting again
    result = run_in_process(capsys, *args, "--epochs", "2", "--resume")
    assert result.returncode == 0, result.stderr
    assert "(cached)" in result.stderr and "resuming after epoch 1" in result.stderr
    # another weight is another training objective: not resumable
    result = run_in_process(capsys, *args[:-2], "--distill-weight", "0.2", "--epochs", "3",
                            "--resume")  # fmt: skip
    assert_one_line_error(result, "other training/validation data")


def test_teacher_options_are_checked_before_any_data_is_read(tmp_path, capsys):
    base = ["train", "structure", "-o", str(tmp_path / "out"), "--data-dir",
            str(tmp_path / "no-such-data")]  # fmt: skip
    assert_one_line_error(run_in_process(capsys, *base, "--distill-weight", "0.3"),
                          "--distill-weight needs --teacher")  # fmt: skip
    assert_one_line_error(run_in_process(capsys, *base, "--teacher", "splice-athaliana-v1"),
                          "not 'structure'")  # fmt: skip
    assert_one_line_error(run_in_process(capsys, *base, "--teacher", str(tmp_path / "none.keras")),
                          "none.keras")  # fmt: skip
    result = run_in_process(capsys, *base, "--teacher", "structure-q8-v1", "--distill-weight", "2")
    assert result.returncode == 2 and "between 0 and 1" in result.stderr
    assert not (tmp_path / "out").exists()
