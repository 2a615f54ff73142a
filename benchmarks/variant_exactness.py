"""Variant scores vs whole-region streaming: the error that the variant lanes add.

    python benchmarks/variant_exactness.py [--model NAME] [--variants 12] [--contexts 3000,2000,1000]

For SNVs, 3-nt insertions and 3-nt deletions at annotated splice sites of the A. thaliana chr1
**test region** (seeded draw, each scored on its gene's strand), compares
``VariantScorer`` (lanes with ``--flank`` = each context) with
``genorrn.variants.whole_region_delta`` (the whole reference and the whole mutated region
±15 kb, streamed at the model card's settings, forward states carried from the region start):
max |Δ| over the four delta scores, and how often the four positions agree.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import data_path, model_sha256, report  # noqa: E402
from genorrn import load_model  # noqa: E402
from genorrn.io.annotation import read_annotation  # noqa: E402
from genorrn.io.fasta import Genome  # noqa: E402
from genorrn.pretrained import DEFAULT_SPLICE_MODEL  # noqa: E402
from genorrn.variants import GeneIndex, Variant, VariantScorer, whole_region_delta  # noqa: E402

TEST = ("NC_003070.9", 23_000_000, 30_427_671)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_SPLICE_MODEL)
    parser.add_argument("--variants", type=int, default=12, help="sites (3 variants each)")
    parser.add_argument("--contexts", default="3000,2000,1000")
    parser.add_argument("--distance", type=int, default=50)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    folder = data_path("splice", "athaliana_chr1")
    genome = Genome(folder / "genome.fna.gz")
    annotation = read_annotation(folder / "annotation.gff3.gz")
    model = load_model(args.model, task="splice")
    chrom, lo, hi = TEST
    genes = GeneIndex(annotation)
    rng = np.random.default_rng(args.seed)
    sites = sorted({(pos, g.strand) for g in annotation.genes.values()
                    if g.chrom == chrom and lo <= g.start and g.end <= hi
                    for tx in g.transcripts for part in tx.splice_sites() for pos in part})  # fmt: skip
    variants = []
    for i in rng.choice(len(sites), args.variants, replace=False):
        pos = sites[int(i)][0] + int(rng.integers(-3, 4))
        ref = genome.fetch(chrom, pos, pos + 1).upper()
        variants += [Variant(chrom, pos, ref, ("A" if ref != "A" else "G",)),
                     Variant(chrom, pos, ref, (ref + "TTA",)),
                     Variant(chrom, pos, genome.fetch(chrom, pos, pos + 4).upper(), (ref,))]  # fmt: skip
    start = time.perf_counter()
    reference = {}
    for v in variants:
        for target in genes.targets(chrom, v.pos, v.pos + len(v.ref)):
            reference[v, target.symbol] = whole_region_delta(model, genome, v, v.alts[0], target,
                                                             args.distance)  # fmt: skip
    whole_seconds = time.perf_counter() - start
    rows = []
    for context in [int(c) for c in args.contexts.split(",")]:
        scorer = VariantScorer(model, genome, annotation, distance=args.distance, context=context)
        start = time.perf_counter()
        results = list(scorer.score(variants))
        seconds = time.perf_counter() - start
        errors, same_place = [], 0
        for v, result in zip(variants, results):
            for entry in result.entries:
                ref = reference[v, entry.symbol]
                errors.append(max(abs(a - b) for a, b in zip(
                    (entry.ds_ag, entry.ds_al, entry.ds_dg, entry.ds_dl),
                    (ref.ds_ag, ref.ds_al, ref.ds_dg, ref.ds_dl))))  # fmt: skip
                same_place += (entry.dp_ag, entry.dp_al, entry.dp_dg, entry.dp_dl) == (
                    ref.dp_ag, ref.dp_al, ref.dp_dg, ref.dp_dl)  # fmt: skip
        rows.append({"context": context, "entries": len(errors),
                     "max_abs_error": float(np.max(errors)),
                     "mean_abs_error": float(np.mean(errors)),
                     "positions_identical_fraction": round(same_place / len(errors), 4),
                     "seconds": round(seconds, 1)})  # fmt: skip
        print(rows[-1], file=sys.stderr)
    report("variant_exactness", {
        "model": args.model, "model_sha256": model_sha256(args.model),
        "variants": len(variants), "kinds": "SNV, 3-nt insertion, 3-nt deletion at sites",
        "distance": args.distance,
        "reference": "whole region +-15 kb, streamed at the card's chunk/flank, one lane",
        "reference_seconds": round(whole_seconds, 1), "results": rows,
    })  # fmt: skip


if __name__ == "__main__":
    main()
