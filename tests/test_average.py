"""``genorrn models average``: the mean of every weight over checkpoints of one architecture;
other architectures, other tasks, a single model or a bad output name are one-line errors."""

from __future__ import annotations

import json

import numpy as np

from conftest import assert_one_line_error, run_in_process


def _splice_model(path, seed, units=4):
    import keras

    from genorrn.models import LabellerConfig, build_labeller

    keras.utils.set_random_seed(seed)
    model = build_labeller(LabellerConfig(lstm_units=[units], conv_filters=3, conv_kernel=5),
                           name="genorrn_splice")  # fmt: skip
    model.save(path)
    return model


def test_average_is_the_mean_of_every_weight(tmp_path, capsys):
    from genorrn.pretrained import load_model

    models = [_splice_model(tmp_path / f"m{i}.keras", seed=i) for i in range(3)]
    out = tmp_path / "avg.keras"
    result = run_in_process(capsys, "models", "average", *(str(tmp_path / f"m{i}.keras")
                                                           for i in range(3)), "-o", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert len(report["sources"]) == 3 and len(report["sha256"]) == 64
    averaged = load_model(out, task="splice").keras
    for i, weight in enumerate(averaged.get_weights()):
        expected = np.mean([m.get_weights()[i] for m in models], axis=0)
        np.testing.assert_allclose(weight, expected, rtol=1e-6, atol=1e-7)
    kernel = averaged.get_weights()[0]  # the first conv kernel: really a new model
    assert all(not np.allclose(kernel, m.get_weights()[0]) for m in models)


def test_averaging_one_model_with_itself_changes_nothing(tmp_path, capsys):
    from genorrn.pretrained import load_model

    model = _splice_model(tmp_path / "m.keras", seed=5)
    out = tmp_path / "same.keras"
    m = str(tmp_path / "m.keras")
    assert run_in_process(capsys, "models", "average", m, m, "-o", str(out)).returncode == 0
    averaged = load_model(out).keras
    for mean, weight in zip(averaged.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(mean, weight)  # (w + w) / 2 == w exactly in float32
    x = np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, (2, 300))]
    np.testing.assert_array_equal(averaged(x), model(x))  # measured: identical


def test_bad_inputs(tmp_path, capsys, structure_model_path):
    a, b = str(tmp_path / "a.keras"), str(tmp_path / "b.keras")
    _splice_model(a, seed=1, units=4)
    _splice_model(b, seed=2, units=6)
    out = tmp_path / "out.keras"
    cases = [
        ((a, b), "different architectures"),
        ((a, str(structure_model_path)), "different tasks"),
        ((a,), "at least two models"),
    ]
    for models, message in cases:
        assert_one_line_error(run_in_process(capsys, "models", "average", *models, "-o", str(out)),
                              message)  # fmt: skip
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes((tmp_path / "a.keras").read_bytes()[:500])
    assert_one_line_error(run_in_process(capsys, "models", "average", a, str(truncated), "-o",
                                         str(out)), str(truncated))  # fmt: skip
    assert_one_line_error(run_in_process(capsys, "models", "average", a, a, "-o",
                                         str(tmp_path / "avg.h5")), "must end in .keras")  # fmt: skip
    assert not out.exists() and not list(tmp_path.glob(".*tmp*"))
