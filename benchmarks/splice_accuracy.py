"""Splice model accuracy on the fixed test sets (SpliceAI's top-k and PR-AUC per class).

    python benchmarks/splice_accuracy.py [--model NAME|PATH] [--chunk-size N --flank N]
        [--output-name splice_accuracy]

* A. thaliana chr1 test region NC_003070.9:23,000,001-30,427,671 (never used for training or
  model selection), every gene body, both strands;
* D. melanogaster chr4 (cross-species, never trained on), whole chromosome.

Each is the same computation as `genorrn evaluate splice` (streamed prediction; streaming
settings: the model card's unless given; calibrated when the card has a calibration, as
``predict`` gives them). Writes ``benchmarks/results/splice_accuracy.json`` (or
``--output-name``.json); ``model_sha256`` is the weights' (an ensemble's: its members').
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import data_path, report  # noqa: E402
from genorrn.io import Genome, read_annotation  # noqa: E402
from genorrn.predict import resolve_regions  # noqa: E402
from genorrn.pretrained import DEFAULT_SPLICE_MODEL, load_model  # noqa: E402
from genorrn.regions import parse_region  # noqa: E402
from genorrn.splice import evaluate  # noqa: E402

TEST_SETS = {
    "athaliana_chr1_test": ("athaliana_chr1", "NC_003070.9:23000001-30427671"),
    "dmel_chr4": ("dmel_chr4", None),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=DEFAULT_SPLICE_MODEL)
    parser.add_argument("--chunk-size", type=int, help="default: the model card's")
    parser.add_argument("--flank", type=int, help="default: the model card's")
    parser.add_argument("--output-name", default="splice_accuracy")
    args = parser.parse_args()
    model = load_model(args.model, task="splice")
    predictor = model.predictor(args.chunk_size, args.flank)
    results = {}
    for name, (folder, region) in TEST_SETS.items():
        genome = Genome(data_path("splice", folder, "genome.fna.gz"))
        annotation = read_annotation(data_path("splice", folder, "annotation.gff3.gz"))
        regions = resolve_regions(genome, [parse_region(region)] if region else None)
        start = time.perf_counter()
        results[name] = evaluate(predictor, genome, annotation, regions)
        results[name]["seconds"] = round(time.perf_counter() - start, 1)
    report(args.output_name, {
        "model": str(model.path),
        "model_sha256": model.weights_sha256,
        "calibrated": predictor.transform is not None,
        "streaming": {"chunk_size": predictor.chunk_size, "flank": predictor.flank},
        "test_sets": results,
    })  # fmt: skip


if __name__ == "__main__":
    main()
