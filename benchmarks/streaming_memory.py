"""Peak memory of `genorrn predict splice` for 1 Mb vs the whole 30 Mb A. thaliana chr1.

    python benchmarks/streaming_memory.py [--model NAME|PATH] [--chunk-size N --flank N]

Each run is a separate process (`genorrn predict splice … --format bigwig`); its peak resident
set size comes from os.wait4's rusage (ru_maxrss). Flat memory means the two peaks differ by
≤ 20%. The 30 Mb run also gives the whole-chromosome prediction speed (start-up and file
writing included). Streaming settings: the model card's unless given.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import data_path, model_sha256, peak_rss_mb, report  # noqa: E402
from genorrn.pretrained import DEFAULT_SPLICE_MODEL  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=DEFAULT_SPLICE_MODEL)
    parser.add_argument("--chunk-size", type=int, help="default: the model card's")
    parser.add_argument("--flank", type=int, help="default: the model card's")
    args = parser.parse_args()
    setting = []
    for option, value in (("--chunk-size", args.chunk_size), ("--flank", args.flank)):
        setting += [option, str(value)] if value is not None else []
    genome = data_path("splice", "athaliana_chr1", "genome.fna.gz")
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, region in (("1Mb", ["--region", "NC_003070.9:5000001-6000000"]), ("30Mb", [])):
            cmd = [sys.executable, "-m", "genorrn", "predict", "splice", str(genome),
                   "-o", f"{tmp}/{label}", "--model", args.model, *region, *setting]  # fmt: skip
            rss, seconds = peak_rss_mb(cmd)
            positions = 2 * (1_000_000 if region else 30_427_671)
            runs[label] = {"peak_rss_mb": round(rss, 1), "seconds": round(seconds, 1),
                           "positions_both_strands": positions,
                           "nt_per_s_incl_startup": round(positions / seconds)}  # fmt: skip
    diff = runs["30Mb"]["peak_rss_mb"] / runs["1Mb"]["peak_rss_mb"] - 1
    report("streaming_memory", {"model": args.model, "model_sha256": model_sha256(args.model),
                                "setting": {"chunk_size": args.chunk_size, "flank": args.flank},
                                "runs": runs,
                                "relative_difference": round(diff, 4),
                                "flat_within_20_percent": abs(diff) <= 0.20})  # fmt: skip


if __name__ == "__main__":
    main()
