"""Progress of streamed runs (#18): lines in logs (not only a bar on a terminal), a rate and
ETA without the start-up step; and a quiet Python API (no TensorFlow start-up noise)."""

from __future__ import annotations

import io
import os
import subprocess
import sys

from genorrn.progress import Progress


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _progress(total, **options):
    clock, out = Clock(), io.StringIO()
    return Progress(total, "predict splice", file=out, clock=clock, **options), clock, out


def test_logs_get_lines_every_tenth_and_interval_and_a_last_line():
    bar, clock, out = _progress(1_000_000)
    assert not bar.terminal
    clock.now = 20.0  # the first step: building and tracing the model
    bar.update(10_000)
    for _ in range(99):
        clock.now += 1.0
        bar.update(10_000)
    bar.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 11, lines  # every tenth (10 s apart here: before 30 s), then done
    assert lines[0] == "predict splice: 100,000/1,000,000 nt (10%), 0:29, 10k nt/s, ETA 1:30"
    assert "(100%)" in lines[-2]
    assert lines[-1].startswith("predict splice: done, 1,000,000 nt in 1:59")


def test_rate_and_eta_leave_out_the_first_step():
    bar, clock, out = _progress(1_000_000)
    clock.now = 30.0  # start-up: a rate from here would be 30x too slow
    bar.update(10_000)
    assert bar.eta() is None and "warming up" in bar._speed()
    clock.now = 31.0
    bar.update(10_000)
    assert bar.steady_rate() == 10_000
    assert bar.eta() == 98.0  # 980,000 left at 10,000/s, not 980,000 / (20,000 / 31 s)
    assert "ETA 1:38" in bar._status()


def test_interval_without_total_and_silence_for_short_runs():
    bar, clock, out = _progress(None, interval=30.0)
    for _ in range(100):
        clock.now += 1.0
        bar.update(1000)
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and "nt/s" in lines[-1]  # at 30, 60 and 90 s
    bar.close()
    short, clock, out = _progress(100)
    for _ in range(10):
        clock.now += 0.1
        short.update(10)
    short.close()
    assert out.getvalue() == ""


def test_terminal_bar_shows_genorrn_rate():
    bar, clock, out = _progress(100, terminal=True)
    assert bar.terminal and bar.bar is not None
    clock.now = 10.0
    bar.update(10)
    clock.now = 11.0
    bar.update(10)
    bar.close()
    assert "ETA 0:08" in out.getvalue()


def test_python_api_prints_no_tensorflow_noise():
    """`genorrn.load_model` silences TensorFlow's C++ start-up logs as the CLI does."""
    code = "import genorrn; genorrn.load_model('splice-athaliana-v1'); print('loaded')"
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "GENORRN_TF_LOGS")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "loaded"
    assert result.stderr == "", result.stderr
