"""Streamed chunked prediction equals the whole-sequence call (fast version of the benchmark)."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from genorrn.encoding import encode_dna  # noqa: E402
from genorrn.models import LabellerConfig, build_labeller, config_of  # noqa: E402
from genorrn.streaming import StreamingPredictor, whole_sequence  # noqa: E402


@pytest.fixture(scope="module")
def real_sequence():
    from conftest import shared_path
    from genorrn.io import Genome

    genome = Genome(shared_path("splice", "athaliana_chr1", "genome.fna.gz"))
    # 12,345 nt: not a multiple of the chunk size, so the padded last chunk is exercised
    return encode_dna(genome.fetch("NC_003070.9", 2_000_000, 2_012_345))


CONFIGS = {
    "forward-only": LabellerConfig(lstm_units=[16, 16], bidirectional=False),
    "bilstm": LabellerConfig(lstm_units=[16, 16]),
    "conv+bilstm": LabellerConfig(lstm_units=[16, 8], conv_filters=8, conv_kernel=5, conv_layers=2),
}


@pytest.mark.parametrize("name", CONFIGS)
@pytest.mark.parametrize("split", [False, True])
def test_streamed_equals_whole_sequence(real_sequence, name, split):
    keras.utils.set_random_seed(1)
    model = build_labeller(CONFIGS[name])
    reference = whole_sequence(model, real_sequence)
    streamed = StreamingPredictor(model, chunk_size=1000, flank=300, batch_size=3).predict_array(
        real_sequence, split=split
    )
    # measured: at most 8.9e-8 for every configuration (float32 rounding; the benchmark,
    # benchmarks/results/streaming_exactness.json, measures 6e-8 on 200 kb)
    assert np.abs(streamed - reference).max() <= 1e-6


def test_too_small_flank_is_measurably_worse(real_sequence):
    """The flank matters: with none, the backward direction is wrong at chunk ends."""
    keras.utils.set_random_seed(2)
    model = build_labeller(CONFIGS["bilstm"])
    reference = whole_sequence(model, real_sequence)
    no_flank = StreamingPredictor(model, chunk_size=1000, flank=0, batch_size=2)
    assert np.abs(no_flank.predict_array(real_sequence) - reference).max() > 1e-3


def test_stateful_bidirectional_would_be_wrong(real_sequence):
    """Documents why states are carried explicitly: a chunked stateful Bidirectional drifts."""
    keras.utils.set_random_seed(3)
    model = build_labeller(CONFIGS["bilstm"])
    seq = real_sequence[:4000]
    reference = whole_sequence(model, seq)
    inp = keras.Input(batch_shape=(1, 1000, 4))
    x = inp
    for i in range(2):
        x = keras.layers.Bidirectional(
            keras.layers.LSTM(16, return_sequences=True, stateful=True), name=f"s{i}"
        )(x)
    stateful = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(x))
    stateful.set_weights(model.get_weights())
    chunks = [stateful.predict_on_batch(seq[None, i : i + 1000])[0] for i in range(0, 4000, 1000)]
    assert np.abs(np.concatenate(chunks) - reference).max() > 1e-3


def test_config_round_trip_and_save_load(tmp_path):
    cfg = CONFIGS["conv+bilstm"]
    model = build_labeller(cfg)
    assert config_of(model) == cfg
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, compile=False)
    assert config_of(loaded) == cfg
    for saved, restored in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(saved, restored)
    x = np.random.default_rng(0).random((1, 50, 4)).astype("float32")
    # same weights, same graph: measured identical
    np.testing.assert_array_equal(model.predict_on_batch(x), loaded.predict_on_batch(x))


@pytest.mark.parametrize("name", CONFIGS)
def test_cpu_step_equals_keras_lstm_layers_bit_for_bit(real_sequence, name):
    """The CPU step model (StreamingLSTMStack: time-major loops, both directions together)
    gives exactly the numbers of the Keras LSTM layers (kept on GPU) at every position inside
    the sequence and in the carried states, with sequences ending in the core, in the flank,
    starting late (left padding) and empty lanes."""
    from genorrn.streaming import build_step_model

    keras.utils.set_random_seed(4)
    model = build_labeller(CONFIGS[name])
    ctx = config_of(model).conv_context
    rng = np.random.default_rng(4)
    for chunk, flank in ((700, 150), (512, 0)):
        window, batch = ctx + chunk + flank, 5
        starts = rng.integers(0, len(real_sequence) - window, batch)
        x = np.stack([real_sequence[s : s + window] for s in starts])
        mask = np.ones((batch, window), bool)
        mask[1, window - flank - 90 :] = False  # ends in the core
        mask[2, window - max(flank // 2, 1) :] = False  # ends in the flank
        mask[3, : ctx + 3] = False  # starts late
        mask[4] = False  # empty lane
        x[~mask] = 0.0
        states = [rng.normal(0, 0.3, (batch, u)).astype(np.float32)
                  for u in config_of(model).lstm_units for _ in "hc"]  # fmt: skip
        keras_out = build_step_model(model, chunk, flank, None, scan=False)[0].predict_on_batch(
            [x, mask, *states])  # fmt: skip
        scan_out = build_step_model(model, chunk, flank, None, scan=True)[0].predict_on_batch(
            [x, mask, *states])  # fmt: skip
        inside = mask[:, ctx : ctx + chunk]
        np.testing.assert_array_equal(np.asarray(scan_out[0])[inside],
                                      np.asarray(keras_out[0])[inside])  # fmt: skip
        for got, expected in zip(scan_out[1:], keras_out[1:]):
            np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))
