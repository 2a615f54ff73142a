"""Exactness of streamed chunked inference vs one whole-sequence call, on real sequence.

    python benchmarks/streaming_exactness.py [--length 200000] [--start 5000000] [--model PATH]
        [--chunk-size N --flank N] [--output-name NAME]

Default model: the splice-sized labeller (conv 32×9 + BiLSTM 64,64) with random weights (seed
0); ``--model`` measures a trained model instead. Reports max |Δp| for a forward-only LSTM and
for the BiLSTM at the default chunk/flank, and the curve of error vs flank and chunk size.
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

from common import data_path, model_sha256, report  # noqa: E402
from genorrn.encoding import encode_dna  # noqa: E402
from genorrn.io import Genome  # noqa: E402
from genorrn.models import LabellerConfig, build_labeller, config_of  # noqa: E402
from genorrn.recipes import SPLICE  # noqa: E402
from genorrn.streaming import (  # noqa: E402
    StreamingPredictor,
    whole_sequence,
)


def max_error(model, seq, reference, chunk, flank, split=True) -> float:
    predictor = StreamingPredictor(model, chunk_size=chunk, flank=flank, batch_size=8)
    return float(np.abs(predictor.predict_array(seq, split=split) - reference).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--length", type=int, default=200_000)
    parser.add_argument("--start", type=int, default=5_000_000, help="0-based start on chr1")
    parser.add_argument("--model", help="trained .keras model (default: random weights)")
    parser.add_argument("--chunk-size", type=int, default=SPLICE.streaming["chunk_size"],
                        help="the setting to check (and the fixed chunk of the flank sweep)")
    parser.add_argument("--flank", type=int, default=SPLICE.streaming["flank"],
                        help="the setting to check (and the fixed flank of the chunk sweep)")
    parser.add_argument("--output-name", help="default: streaming_exactness, or "
                        "streaming_exactness_trained with --model")
    args = parser.parse_args()
    chunk_size, flank_size = args.chunk_size, args.flank
    genome = Genome(data_path("splice", "athaliana_chr1", "genome.fna.gz"))
    seq = encode_dna(genome.fetch("NC_003070.9", args.start, args.start + args.length))
    keras.utils.set_random_seed(0)
    if args.model:
        model = keras.saving.load_model(args.model, compile=False)
        description = f"trained model {args.model}"
    else:
        model = build_labeller(LabellerConfig(lstm_units=[64, 64], conv_filters=32, conv_kernel=9))
        description = "random weights, conv 32x9 + BiLSTM 64,64"
    t = time.perf_counter()
    reference = whole_sequence(model, seq)
    whole_s = time.perf_counter() - t
    result = {
        "sequence": f"NC_003070.9:{args.start + 1}-{args.start + args.length}",
        "model": description,
        "model_sha256": model_sha256(args.model) if args.model else None,
        "whole_sequence_seconds": round(whole_s, 1),
        "setting": {
            "chunk_size": chunk_size,
            "flank": flank_size,
            "max_abs_error": max_error(model, seq, reference, chunk_size, flank_size),
            "max_abs_error_unsplit": max_error(
                model, seq, reference, chunk_size, flank_size, split=False
            ),
        },
        "error_vs_flank": {
            flank: max_error(model, seq, reference, chunk_size, flank)
            for flank in (10, 25, 50, 100, 200, 300, 500, 1000, 2000, 3000, 4000, 5000)
            if flank >= config_of(model).conv_context  # the engine needs the conv context
        },
        "error_vs_chunk": {
            chunk: max_error(model, seq, reference, chunk, flank_size)
            for chunk in (500, 1000, 2000, 5000, 10000, 20000)
        },
    }
    if not args.model:  # the forward direction is carried exactly
        keras.utils.set_random_seed(0)
        forward = build_labeller(
            LabellerConfig(lstm_units=[64, 64], conv_filters=32, conv_kernel=9, bidirectional=False)
        )
        ref_fwd = whole_sequence(forward, seq)
        result["forward_only"] = {
            "max_abs_error_split": max_error(forward, seq, ref_fwd, SPLICE.streaming["chunk_size"], 10),
            "max_abs_error_unsplit": max_error(
                forward, seq, ref_fwd, SPLICE.streaming["chunk_size"], 10, split=False
            ),
        }
    name = args.output_name or "streaming_exactness" + ("_trained" if args.model else "")
    report(name, result)


if __name__ == "__main__":
    main()
