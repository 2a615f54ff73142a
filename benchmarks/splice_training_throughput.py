"""Training throughput of the splice labeller (nt/s through forward + backward + update).

    python benchmarks/splice_training_throughput.py [--steps 10] [--batch-size 128] [--width 1900]

Builds the shipped architecture (conv 2x48x11 + BiLSTM 64,64), trains on random one-hot
windows for a few steps after one warm-up step; with a GPU it measures float32 and
mixed_float16. Run on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from common import report  # noqa: E402
from genorrn.models import LabellerConfig, build_labeller  # noqa: E402
from genorrn.training import gpu_available  # noqa: E402


def measure(policy: str, steps: int, batch: int, width: int) -> float:
    keras.config.set_dtype_policy(policy)
    keras.utils.set_random_seed(0)
    cfg = LabellerConfig(lstm_units=[64, 64], conv_filters=48, conv_kernel=11, conv_layers=2)
    model = build_labeller(cfg)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (batch, width))]
    y = rng.integers(0, 3, (batch, width)).astype(np.int32)
    model.train_on_batch(x, y)
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return batch * width * steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--width", type=int, default=1900)
    args = parser.parse_args()
    policies = ["float32", "mixed_float16"] if gpu_available() else ["float32"]
    result = {
        "batch_size": args.batch_size,
        "window": args.width,
        "nt_per_s": {p: round(measure(p, args.steps, args.batch_size, args.width)) for p in policies},
    }
    report("splice_training_throughput" + ("_gpu" if gpu_available() else "_cpu"), result)


if __name__ == "__main__":
    main()
