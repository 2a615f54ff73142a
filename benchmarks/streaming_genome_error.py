"""The streaming engine's error over a whole chromosome strand: where does a 3,000-nt flank
(the backward LSTMs' lookahead) fall short?

    python benchmarks/streaming_genome_error.py [--model splice-athaliana-v3] [--strand -]
        [--reference-flank 12000] [--region CHROM:START-END] [--min-gap N] [--save-npz FILE]
        [--output-name streaming_genome_error]
    python benchmarks/streaming_genome_error.py --from-npz FILE   # report again, no prediction

``benchmarks/streaming_exactness.py`` measures the error on one 200 kb region; this runs the
whole chromosome (default: A. thaliana chr1, the minus strand) twice with the same chunks,
segments and warm-ups — once at the model card's flank, once with a much longer flank — so the
difference is the error the card's flank adds, position by position, genome-wide. Raw model
outputs (no calibration). Reports max |Δ| per class, how many positions exceed 1e-3 / 1e-2 /
0.1, and the largest differences with their forward-strand coordinates, their distance to the
end of their chunk (the positions with the least lookahead) and the N content of the
lookahead (N = the 0.25/0.25/0.25/0.25 rows of the encoding). ``--from-npz`` reports from the
outputs a ``--save-npz`` run kept (same options otherwise). Writes
``benchmarks/results/streaming_genome_error.json``.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from common import data_path, report  # noqa: E402
from genorrn.io import Genome  # noqa: E402
from genorrn.predict import genome_stream, to_stream_interval  # noqa: E402
from genorrn.pretrained import load_model  # noqa: E402
from genorrn.regions import parse_region  # noqa: E402
from genorrn.streaming import Task, plan_tasks  # noqa: E402

THRESHOLDS = (1e-3, 1e-2, 1e-1)


def run(predictor, stream, start: int, end: int) -> tuple[np.ndarray, float]:
    out = np.zeros((end - start, predictor.num_classes), np.float32)

    def sink(_stream, at, probs):
        out[at - start : at - start + len(probs)] = probs

    t = time.perf_counter()
    predictor.run([Task(stream, start, end)], sink)
    return out, time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="splice-athaliana-v3")
    parser.add_argument("--genome", default=str(data_path("splice", "athaliana_chr1",
                                                          "genome.fna.gz")))  # fmt: skip
    parser.add_argument("--strand", default="-", choices=["+", "-"])
    parser.add_argument("--region", help="CHROM:START-END (1-based; default: the first record)")
    parser.add_argument("--reference-flank", type=int, default=12_000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--save-npz", help="also save both runs' outputs (float32) here")
    parser.add_argument("--from-npz", help="the outputs of an earlier --save-npz run (same "
                                           "options): report without predicting")  # fmt: skip
    parser.add_argument("--min-gap", type=int, default=None,
                        help="runs of at least this many N are assembly gaps, sequence "
                             "boundaries (default: the recipe's, 1000; 0: none, every N is "
                             "read through, as before the gap rule)")
    parser.add_argument("--output-name", default="streaming_genome_error")
    args = parser.parse_args()
    model = load_model(args.model, task="splice")
    genome = Genome(args.genome)
    if args.region:
        region = parse_region(args.region)
        chrom, lo, hi = region.chrom, region.start, region.end
    else:
        chrom = next(iter(genome.lengths))
        lo, hi = 0, genome.length(chrom)
    length = genome.length(chrom)
    stream = genome_stream(genome, chrom, args.strand)
    start, end = to_stream_interval(lo, hi, args.strand, length)
    card = model.predictor(calibrated=False)
    reference = model.predictor(flank=args.reference_flank, calibrated=False)
    if args.min_gap is not None:  # the same compiled steps with another gap rule
        rule = model.gap_rule()
        rule = replace(rule, min_length=args.min_gap) if args.min_gap and rule else None
        card, reference = copy.copy(card), copy.copy(reference)
        card.gaps = reference.gaps = rule
    if args.from_npz:
        saved = np.load(args.from_npz)
        if int(saved["stream_start"]) != start or len(saved["card"]) != end - start:
            sys.exit(f"{args.from_npz}: saved for another region or strand")
        a, b = saved["card"], saved["reference"]
        seconds_a, seconds_b = (float(saved[k]) if k in saved else None
                                for k in ("seconds_card", "seconds_reference"))  # fmt: skip
    else:
        a, seconds_a = run(card, stream, start, end)
        b, seconds_b = run(reference, stream, start, end)
    if args.save_npz:
        np.savez_compressed(args.save_npz, card=a, reference=b, stream_start=start,
                            seconds_card=seconds_a, seconds_reference=seconds_b)  # fmt: skip
    delta = np.abs(a - b)
    classes = {1: "acceptor", 2: "donor"}
    per_class = {}
    for c, name in classes.items():
        d = delta[:, c]
        per_class[name] = {"max_abs_delta": float(d.max()),
                           **{f"positions_over_{t:g}": int((d > t).sum()) for t in THRESHOLDS}}  # fmt: skip
    # positions in the run's chunk grid: segments as the engine planned them
    segments = plan_tasks([Task(stream, start, end)], card.batch_size, card.chunk_size)
    seg_starts = np.array(sorted(t.start for t in segments))
    worst = np.argsort(delta[:, 1:].max(axis=1))[::-1][: args.top]
    top = []
    for i in worst:
        pos = start + int(i)  # stream coordinate
        seg = int(seg_starts[np.searchsorted(seg_starts, pos, side="right") - 1])
        to_chunk_end = card.chunk_size - (pos - seg) % card.chunk_size
        ahead = stream.fetch(pos, min(pos + to_chunk_end + card.flank, length))
        forward = pos if args.strand == "+" else length - 1 - pos  # 0-based, forward strand
        c = 1 + int(np.argmax(delta[i, 1:]))
        top.append({"chrom": chrom, "position_1based": forward + 1, "strand": args.strand,
                    "class": classes[c], "card_flank": float(a[i, c]),
                    "reference_flank": float(b[i, c]), "abs_delta": float(delta[i, c]),
                    "lookahead_nt": to_chunk_end + card.flank,
                    "lookahead_n_fraction": round(float((ahead == 0.25).all(axis=1).mean()), 4)})  # fmt: skip
    report(args.output_name, {
        "model": args.model,
        "model_sha256": model.weights_sha256,
        "sequence": f"{chrom}:{lo + 1}-{hi} strand {args.strand}",
        "positions": int(end - start),
        "card": {"chunk_size": card.chunk_size, "flank": card.flank,
                 "batch_size": card.batch_size, "seconds": seconds_a and round(seconds_a, 1)},
        "reference": {"chunk_size": reference.chunk_size, "flank": reference.flank,
                      "batch_size": reference.batch_size, "seconds": seconds_b and round(seconds_b, 1)},
        "note": "same chunks, segments and warm-ups in both runs: the difference is the error "
                "of the card's flank against a much longer one",
        "outputs_from": args.from_npz,
        "min_gap": card.gaps.min_length if card.gaps is not None else None,
        "per_class": per_class,
        "largest": top,
    })  # fmt: skip


if __name__ == "__main__":
    main()
