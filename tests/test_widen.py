"""Growing a trained labeller (``train splice --init-from M --widen``) keeps its function."""

import dataclasses

import numpy as np
import pytest

from conftest import assert_one_line_error, run_in_process

keras = pytest.importorskip("keras")


@pytest.fixture(scope="module")
def small():
    from genorrn.models import LabellerConfig, build_labeller

    keras.utils.set_random_seed(3)
    model = build_labeller(LabellerConfig(lstm_units=[6, 5], conv_filters=4, conv_kernel=5, conv_layers=1))
    # non-trivial biases, as in a trained model
    model.set_weights([w + np.random.default_rng(0).normal(0, 0.3, w.shape) for w in model.get_weights()])
    return model


def _onehot(length, seed=0):
    return np.eye(4, dtype=np.float32)[np.random.default_rng(seed).integers(0, 4, (2, length))]


def test_widened_model_computes_the_same_function(small):
    from genorrn.models import config_of
    from genorrn.models.widen import widen_labeller
    from genorrn.streaming import StreamingPredictor

    big_cfg = dataclasses.replace(config_of(small), lstm_units=[9, 8], conv_filters=7, conv_layers=3)
    big = widen_labeller(small, big_cfg, seed=1)
    assert config_of(big) == big_cfg and big.count_params() > small.count_params()
    x = _onehot(700)
    # measured: 1.8e-7 (float32 sums over more, zero-weighted units)
    np.testing.assert_allclose(big.predict_on_batch(x), small.predict_on_batch(x), rtol=0, atol=1e-6)
    # the streaming engine handles the deeper front end (larger conv context) the same way;
    # measured: 1.2e-7
    streamed = StreamingPredictor(big, chunk_size=200, flank=150, batch_size=2).predict_array(x[0], split=False)
    np.testing.assert_allclose(streamed, small.predict_on_batch(x[:1])[0], rtol=0, atol=2e-6)


def test_new_units_learn(small):
    """Zero outgoing weights of new units get gradients: one step makes them non-zero."""
    from genorrn.models import config_of
    from genorrn.models.widen import widen_labeller

    base = config_of(small)
    big = widen_labeller(small, dataclasses.replace(base, lstm_units=[6, 8]), seed=1)
    big.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    y = np.random.default_rng(1).integers(0, 3, (2, 300)).astype(np.int32)
    big.train_on_batch(_onehot(300), y)
    head = big.get_layer("head").get_weights()[0]  # rows: [fwd 8 units, bwd 8 units]
    new_rows = np.r_[5:8, 13:16]
    assert np.abs(head[new_rows]).max() > 0


@pytest.mark.parametrize(
    "change, problem",
    [({"lstm_units": [4, 5]}, "smaller"), ({"conv_layers": 0}, "fewer"),
     ({"conv_kernel": 7}, "conv_kernel differs"), ({"lstm_units": [6]}, "number of LSTM layers")],
)  # fmt: skip
def test_cannot_shrink(small, change, problem):
    from genorrn.models import config_of
    from genorrn.models.widen import widen_labeller

    with pytest.raises(ValueError, match=problem):
        widen_labeller(small, dataclasses.replace(config_of(small), **change))


def test_widen_needs_init_from(tmp_path, capsys):
    shards = tmp_path / "shards"
    shards.mkdir()
    result = run_in_process(capsys, "train", "splice", str(shards), "-o", str(tmp_path / "out"), "--widen")
    assert_one_line_error(result, "--widen")
