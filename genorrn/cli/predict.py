"""``genorrn predict splice``: per-base acceptor/donor probabilities for a genome FASTA."""

from __future__ import annotations

import json
import sys

from genorrn.cli.common import Progress, add_streaming_options, add_zoom_option
from genorrn.pretrained import DEFAULT_SPLICE_MODEL


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "splice",
        help="predict splice sites on both strands of a FASTA",
        description="Predict per-base acceptor and donor probabilities on both strands and "
        "write PREFIX.{acceptor,donor}.{plus,minus}.bw (or .bedgraph) in chromosome "
        "coordinates, and PREFIX.sites.bed (BED6: sites with probability >= --threshold, "
        "score = 1000 x probability). Long sequences are streamed in chunks with carried "
        "LSTM states, so memory stays flat.",
    )
    p.add_argument("input", help="DNA FASTA (plain, bgzip or gzip)")
    p.add_argument("-o", "--output", required=True, metavar="PREFIX", help="output prefix")
    p.add_argument("--model", default=DEFAULT_SPLICE_MODEL, metavar="NAME|PATH",
                   help=f"model name or .keras path (default: {DEFAULT_SPLICE_MODEL})")
    p.add_argument("--region", action="append", metavar="CHROM:START-END",
                   help="region to predict, samtools style (1-based, repeatable; default: "
                   "every record)")
    p.add_argument("--format", choices=["bigwig", "bedgraph"], default="bigwig",
                   help="per-base score format (default: bigwig)")
    p.add_argument("--threshold", type=float, default=0.5,
                   help="probability for a site to be written to PREFIX.sites.bed (0.5)")
    add_zoom_option(p)
    add_streaming_options(p)
    p.set_defaults(func=predict_splice)


def predict_splice(args) -> int:
    from genorrn.errors import InputError
    from genorrn.io.fasta import Genome
    from genorrn.io.outputs import check_output_path
    from genorrn.predict import resolve_regions
    from genorrn.pretrained import load_model
    from genorrn.regions import parse_region
    from genorrn.splice import output_paths, predict_to_files

    if not 0.0 <= args.threshold <= 1.0:
        raise InputError(f"--threshold {args.threshold}: must be between 0 and 1")
    for path in output_paths(args.output, args.format).values():
        check_output_path(path)
    genome = Genome(args.input)
    regions = resolve_regions(genome, [parse_region(r) for r in args.region or []])
    model = load_model(args.model, task="splice")
    predictor = model.predictor(args.chunk_size, args.flank, args.batch_size)
    total = 2 * sum(r.end - r.start for r in regions)
    with Progress(total, "predict splice") as bar:
        summary = predict_to_files(predictor, genome, regions, args.output, args.format,
                                   args.threshold, progress=bar.update,
                                   zoom_levels=args.zoom_levels)  # fmt: skip
    summary["nt_per_s"] = round(bar.rate)
    print(json.dumps(summary), file=sys.stderr)
    return 0


COMMANDS = {"predict": add_parsers}
