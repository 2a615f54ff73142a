"""Streaming prediction throughput (nt/s, both strands counted) after warm-up.

    python benchmarks/streaming_throughput.py [--model NAME|PATH] [--length 2000000]

Runs genorrn.predict.predict_genome (the code path of `genorrn predict splice`, score files
included) over a region of A. thaliana chr1 for several batch and chunk sizes. Default
model: the shipped splice model; ``--random`` uses the splice-sized architecture with random
weights. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import data_path, model_sha256, report  # noqa: E402
from genorrn.io import Genome  # noqa: E402
from genorrn.predict import predict_genome  # noqa: E402
from genorrn.pretrained import DEFAULT_SPLICE_MODEL  # noqa: E402
from genorrn.recipes import SPLICE  # noqa: E402
from genorrn.regions import Region  # noqa: E402
from genorrn.streaming import (  # noqa: E402
    StreamingPredictor,
)


def load(args):
    if args.random:
        import keras

        from genorrn.models import LabellerConfig, build_labeller

        keras.utils.set_random_seed(0)
        cfg = LabellerConfig(lstm_units=[64, 64], conv_filters=48, conv_kernel=11, conv_layers=2)
        return build_labeller(cfg), "random weights, conv 2x48x11 + BiLSTM 64,64"
    from genorrn.pretrained import load_model

    return load_model(args.model).keras, args.model


def rate(predictor, genome, region) -> float:
    start = time.perf_counter()
    entries = predict_genome(predictor, genome, [region], [1, 2])
    seconds = time.perf_counter() - start
    for entry in entries:
        entry.scores.close()
    return 2 * (region.end - region.start) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=DEFAULT_SPLICE_MODEL)
    parser.add_argument("--random", action="store_true")
    parser.add_argument("--length", type=int, default=2_000_000)
    parser.add_argument("--grid", action="store_true", help="also try other batch/chunk sizes")
    parser.add_argument("--chunk-size", type=int, default=SPLICE.streaming["chunk_size"])
    parser.add_argument("--flank", type=int, default=SPLICE.streaming["flank"])
    parser.add_argument("--batch-size", type=int, default=SPLICE.streaming["batch_size"])
    args = parser.parse_args()
    genome = Genome(data_path("splice", "athaliana_chr1", "genome.fna.gz"))
    model, description = load(args)
    region = Region("NC_003070.9", 10_000_000, 10_000_000 + args.length)
    warm = Region("NC_003070.9", 1_000_000, 1_100_000)
    B, C, F = args.batch_size, args.chunk_size, args.flank
    settings = [(B, C, F)]
    if args.grid:
        settings += [(B, C, 500), (16, C, F), (64, C, F), (B, 2000, F), (B, 10000, F)]
    results = []
    for batch, chunk, flank in settings:
        predictor = StreamingPredictor(model, chunk_size=chunk, flank=flank, batch_size=batch)
        rate(predictor, genome, warm)  # trace once
        results.append({"batch_size": batch, "chunk_size": chunk, "flank": flank,
                        "nt_per_s": round(rate(predictor, genome, region))})  # fmt: skip
    report("streaming_throughput" + ("_random" if args.random else ""),
           {"model": description, "model_sha256": None if args.random else model_sha256(args.model),
            "region": str(region), "threads": os.cpu_count(), "results": results})  # fmt: skip


if __name__ == "__main__":
    main()
