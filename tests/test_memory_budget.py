"""Memory bounded by design (#18): the streaming engine estimates a run's peak before it
allocates, fits the batch to the lanes that exist and to the budget (``--max-memory``), and
refuses with one line only a setting that cannot fit at batch 1; whole short records run in
length buckets with the same numbers as each record alone."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, assert_one_line_error, run_in_process

keras = pytest.importorskip("keras")

import genorrn.streaming as streaming  # noqa: E402
from genorrn.memory import (  # noqa: E402
    RUN_OVERHEAD,
    MemoryBudgetError,
    default_budget,
    memory_available,
    memory_model,
    parse_size,
)
from genorrn.models import LabellerConfig, build_labeller  # noqa: E402
from genorrn.streaming import Stream, StreamingPredictor, Task  # noqa: E402

EXAMPLE_FA = REPO / "reference_data" / "athaliana_chr1_test_slice.fa"
CONFIG = LabellerConfig(lstm_units=[8, 6], conv_filters=4, conv_kernel=5, conv_layers=2)
BASE = 1 << 30  # a pretend resident size, so that budgets are exact


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(18)
    return build_labeller(CONFIG)


def _sequence(length: int, seed: int) -> np.ndarray:
    return np.eye(4, dtype=np.float32)[np.random.default_rng(seed).integers(0, 4, length)]


def _run(predictor, records, split=True):
    """Predict whole records; ``{index: probs}``."""
    out = {}
    tasks = [Task(Stream(i, len(r), lambda a, b, r=r: r[a:b]), 0, len(r))
             for i, r in enumerate(records)]  # fmt: skip

    def sink(stream, start, probs):
        out.setdefault(stream.name, np.full((stream.length, probs.shape[1]), np.nan, np.float32))
        out[stream.name][start : start + len(probs)] = probs

    predictor.run(tasks, sink, split=split)
    return out


def test_sizes_parse_and_bad_ones_are_refused():
    assert parse_size("2G") == 2 * 2**30
    assert parse_size("1500M") == 1500 * 2**20
    assert parse_size("512MiB") == 512 * 2**20
    assert parse_size("1.5GB") == 3 * 2**29
    assert parse_size(" 64k ") == 64 * 2**10
    assert parse_size("123456") == parse_size(123456) == 123456
    for bad in ("", "G", "2X", "-1G", "0", "two gigs", "1e9"):
        with pytest.raises(ValueError, match="memory size"):
            parse_size(bad)


def test_default_budget_is_a_share_of_what_is_available():
    available = memory_available()
    assert 0 < default_budget() <= available
    assert default_budget() >= 0.5 * available


def test_cgroup_limits_are_read(tmp_path, monkeypatch):
    """cgroup v2 (memory.max - memory.current) and v1 (limit - usage) bound what is
    available; 'max' or v1's huge 'no limit' value bounds nothing."""
    import genorrn.memory as memory

    v2 = tmp_path / "v2"
    (v2 / "job").mkdir(parents=True)
    (v2 / "job" / "memory.max").write_text("4294967296\n")
    (v2 / "job" / "memory.current").write_text("1073741824\n")
    (tmp_path / "v2.cgroup").write_text("0::/job\n")
    assert memory._cgroup_room(str(tmp_path / "v2.cgroup"), str(v2)) == 3 * 2**30
    (v2 / "job" / "memory.max").write_text("max\n")
    assert memory._cgroup_room(str(tmp_path / "v2.cgroup"), str(v2)) is None
    v1 = tmp_path / "v1"
    (v1 / "memory" / "slurm").mkdir(parents=True)
    (v1 / "memory" / "slurm" / "memory.limit_in_bytes").write_text(str(2 * 2**30))
    (v1 / "memory" / "slurm" / "memory.usage_in_bytes").write_text(str(2**29))
    (tmp_path / "v1.cgroup").write_text("5:cpu:/\n4:memory:/slurm\n")
    assert memory._cgroup_room(str(tmp_path / "v1.cgroup"), str(v1)) == 3 * 2**29
    (v1 / "memory" / "slurm" / "memory.limit_in_bytes").write_text(str(2**63 - 4096))
    assert memory._cgroup_room(str(tmp_path / "v1.cgroup"), str(v1)) is None
    # the smaller of the machine's and the cgroup's room, plus what the process holds
    monkeypatch.setattr(memory, "_cgroup_room", lambda: 2**28)
    monkeypatch.setattr(memory, "current_rss", lambda: 2**30)
    assert memory.memory_available() == 2**30 + 2**28
    assert memory.default_budget() == int(0.75 * (2**30 + 2**28))


def test_memory_model_grows_with_the_model_and_adds_up_for_ensembles():
    small, per_lane = memory_model(CONFIG)
    wide, _ = memory_model(LabellerConfig(lstm_units=[96, 96], conv_filters=64, conv_layers=3,
                                          conv_kernel=11))  # fmt: skip
    assert 0 < small < wide and per_lane > 0
    two, _ = memory_model([CONFIG, CONFIG])
    assert small < two < 2 * small + 1  # members add up; the one-hot input is shared


def test_batch_shrinks_to_the_lanes_that_exist(model):
    """One record, one lane (split=False): the call holds 1 lane, not batch_size."""
    predictor = StreamingPredictor(model, chunk_size=300, flank=60, batch_size=16)
    _run(predictor, [_sequence(1000, 1)], split=False)
    (call,) = predictor.last_run["calls"]
    assert call["lanes"] == 1 and call["batch"] == 1


def test_budget_shrinks_the_batch_with_the_same_numbers(model, monkeypatch):
    """A budget that holds 3 lanes of a batch of 8 runs 3 at a time; the lanes are planned for
    8 either way, so the numbers are the same up to float32 rounding."""
    monkeypatch.setattr(streaming, "current_rss", lambda: BASE)
    seq = _sequence(20_000, 2)
    free = StreamingPredictor(model, chunk_size=1000, flank=200, batch_size=8, max_memory="1T")
    reference = _run(free, [seq])[0]
    assert free.last_run["calls"][0]["batch"] == 5  # 20 chunks: 5 segments of 4 (5 lanes)
    lane = free.lane_bytes()
    budget = BASE + RUN_OVERHEAD + int(3.5 * lane)
    tight = StreamingPredictor(model, chunk_size=1000, flank=200, batch_size=8, max_memory=budget)
    got = _run(tight, [seq])[0]
    (call,) = tight.last_run["calls"]
    assert call["lanes"] == 5 and call["batch"] == 3
    assert call["estimated_peak"] <= budget
    # ≤ 1e-6: float32 rounding of other batch shapes (measured: 8.9e-8)
    assert np.abs(got - reference).max() <= 1e-6


def test_setting_that_cannot_fit_at_batch_1_is_a_one_line_error(model, monkeypatch):
    monkeypatch.setattr(streaming, "current_rss", lambda: BASE)
    predictor = StreamingPredictor(model, chunk_size=1000, flank=200, batch_size=8)
    predictor.max_memory = BASE + RUN_OVERHEAD + predictor.lane_bytes() - 1
    with pytest.raises(MemoryBudgetError) as error:
        _run(predictor, [_sequence(5000, 3)])
    message = str(error.value)
    assert "\n" not in message
    for option in ("--chunk-size", "--flank", "--max-memory"):
        assert option in message
    predictor.max_memory += 1  # exactly one lane fits
    _run(predictor, [_sequence(5000, 3)])
    assert predictor.last_run["calls"][0]["batch"] == 1


def test_cli_refuses_a_chunk_that_cannot_fit_and_writes_nothing(tmp_path, capsys):
    result = run_in_process(capsys, "predict", "splice", str(EXAMPLE_FA), "-o",
                            str(tmp_path / "example"), "--chunk-size", "300000",
                            "--max-memory", "1G")  # fmt: skip
    assert_one_line_error(result, "--chunk-size", "--max-memory", "1.0 GB")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", ["lots", "0", "-2G"])
def test_cli_refuses_a_bad_size_when_parsed(tmp_path, capsys, value):
    result = run_in_process(capsys, "predict", "splice", str(EXAMPLE_FA), "-o",
                            str(tmp_path / "x"), f"--max-memory={value}")  # fmt: skip
    assert result.returncode == 2
    assert "--max-memory" in result.stderr and "Traceback" not in result.stderr


def test_short_records_run_in_buckets_with_the_numbers_of_each_alone(model, monkeypatch):
    """Many short records: bucketed calls (windows of the record's power of two, no flank)
    give each record's numbers alone (one lane, full window), and retrace at most twice."""
    monkeypatch.setattr(streaming, "BUCKET_MIN_SAVING", 0)
    rng = np.random.default_rng(4)
    records = [_sequence(int(n), i) for i, n in enumerate(rng.integers(20, 1000, 40))]
    records += [_sequence(1500, 98), _sequence(3000, 99)]  # above the largest bucket (1024)
    predictor = StreamingPredictor(model, chunk_size=2000, flank=300, batch_size=4)
    got = _run(predictor, records)
    calls = predictor.last_run["calls"]
    assert calls[0]["window"] == predictor.window() and calls[0]["lanes"] == 2
    assert len(calls) > 2 and sum(c["lanes"] for c in calls) == len(records)
    # a bucket call holds about as many lane-positions as a full batch: more lanes
    assert any(c["batch"] > 4 for c in calls[1:])
    monkeypatch.setattr(streaming, "BUCKET_MIN_SAVING", 10**18)  # alone: a full window
    alone = StreamingPredictor(model, chunk_size=2000, flank=300, batch_size=1)
    worst = 0.0
    for i, record in enumerate(records):
        assert not np.isnan(got[i]).any()
        worst = max(worst, float(np.abs(got[i] - _run(alone, [record])[0]).max()))
    # measured: at most 8.9e-8 here, 3e-7 with the shipped splice model (float32 rounding)
    assert worst <= 1e-6
    again = _run(predictor, records[:25])  # other batch sizes: no retracing per input
    for step in [predictor.step, *predictor._buckets.values()]:
        assert step.predict_function.experimental_get_tracing_count() <= 2
    assert max(float(np.abs(again[j] - got[j]).max()) for j in range(25)) <= 1e-6


def test_few_short_records_keep_full_windows(model):
    """Below BUCKET_MIN_SAVING padded positions no bucket model is built (it would cost more
    than it saves)."""
    predictor = StreamingPredictor(model, chunk_size=2000, flank=300, batch_size=4)
    _run(predictor, [_sequence(100, 5), _sequence(200, 6)])
    assert not predictor._buckets
    assert {c["window"] for c in predictor.last_run["calls"]} == {predictor.window()}


@pytest.mark.slow
def test_estimate_is_above_the_measured_peak_of_a_shipped_model():
    """In a fresh process, a step of splice-athaliana-v1 (8 lanes of 5000 + 1000) rises less
    above what the process held than the engine's estimate of it."""
    code = (
        "import json, resource, numpy as np, genorrn\n"
        "from genorrn.memory import RUN_OVERHEAD, current_rss, trim_memory\n"
        "from genorrn.streaming import StreamingPredictor\n"
        "p = StreamingPredictor(genorrn.load_model('splice-athaliana-v1').members, 5000, 1000, 8)\n"
        "W = p.window(); x = np.zeros((8, W, 4), np.float32); x[..., 0] = 1\n"
        "m = np.ones((8, W), bool); s = [np.zeros((8, u), np.float32) for u in p.units for _ in 'hc']\n"
        "trim_memory(); base = current_rss()\n"
        "try:\n"  # restart the peak here (Linux), so that a higher peak of loading can't count
        "    open('/proc/self/clear_refs', 'w').write('5'); reset = True\n"
        "except OSError:\n"
        "    reset = False\n"
        "p.step.predict_on_batch([x, m, *s]); p.step.predict_on_batch([x, m, *s])\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')] if reset else []\n"
        "peak = (int(hwm[0].split()[1]) * 1024 if hwm else\n"
        "        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)\n"
        "print(json.dumps({'rise': peak - base, 'estimate': p.estimate_peak(8, W, base) - base,"
        " 'lanes': 8 * p.lane_bytes(W), 'overhead': RUN_OVERHEAD}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "3"})  # fmt: skip
    assert out.returncode == 0, out.stderr
    measured = json.loads(out.stdout.strip().splitlines()[-1])
    # measured: a rise of 166-170 MB (8 lanes: 104 MB, the rest tracing) against 305 MB estimated
    assert 0 < measured["rise"] <= measured["estimate"], measured
