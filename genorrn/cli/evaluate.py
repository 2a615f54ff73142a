"""``genorrn evaluate splice``: top-k accuracy and PR-AUC per class against an annotation."""

from __future__ import annotations

import json

from genorrn.cli.common import Progress, add_streaming_options
from genorrn.cli.data import add_chr_prefix_option, load_genome_and_annotation
from genorrn.pretrained import DEFAULT_SPLICE_MODEL


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "splice",
        help="score a splice model on annotated gene bodies (top-k, PR-AUC), JSON out",
        description="Predict every gene body inside the regions (default: the whole genome) on "
        "the gene's strand and report, per class, SpliceAI's top-k accuracy and PR-AUC "
        "(average precision). Genes that cross a region boundary are left out.",
    )
    p.add_argument("genome", help="genome FASTA")
    p.add_argument("annotation", help="GTF or GFF3")
    p.add_argument("--model", default=DEFAULT_SPLICE_MODEL, metavar="NAME|PATH",
                   help=f"model name or .keras path (default: {DEFAULT_SPLICE_MODEL})")
    p.add_argument("--region", action="append", metavar="CHROM:START-END",
                   help="region to evaluate (1-based, repeatable; default: every record)")
    p.add_argument("-o", "--output", help="write the metrics JSON here (also printed)")
    p.add_argument("--threshold", type=float, default=0.5,
                   help="also report precision/recall of the sites called at this probability, "
                   "as 'predict splice --threshold' calls them (0.5)")
    add_chr_prefix_option(p)
    add_streaming_options(p)
    p.set_defaults(func=evaluate_splice)


def evaluate_splice(args) -> int:
    from genorrn import __version__
    from genorrn.io.outputs import atomic_output, check_output_path
    from genorrn.predict import resolve_regions
    from genorrn.pretrained import load_model, sha256
    from genorrn.regions import parse_region
    from genorrn.splice import evaluate

    if args.output:
        check_output_path(args.output)
    if not 0.0 <= args.threshold <= 1.0:
        from genorrn.errors import InputError

        raise InputError(f"--threshold {args.threshold}: must be between 0 and 1")
    genome, annotation = load_genome_and_annotation(args.genome, args.annotation, args.chr_prefix)
    if not annotation.multi_exon_transcripts():
        from genorrn.errors import InputError

        raise InputError(f"{args.annotation}: no multi-exon transcripts: there are no splice sites")
    regions = resolve_regions(genome, [parse_region(r) for r in args.region or []])
    model = load_model(args.model, task="splice")
    predictor = model.predictor(args.chunk_size, args.flank, args.batch_size)
    with Progress(None, "evaluate splice") as bar:
        result = evaluate(predictor, genome, annotation, regions, progress=bar.update,
                          threshold=args.threshold)  # fmt: skip
    result = {
        "model": str(model.path),
        "model_sha256": sha256(model.path),
        "genome": {"path": str(args.genome), "sha256": sha256(args.genome)},
        "annotation": {"path": str(args.annotation), "sha256": sha256(args.annotation)},
        "streaming": {"chunk_size": predictor.chunk_size, "flank": predictor.flank},
        "genorrn_version": __version__,
    } | result
    text = json.dumps(result, indent=2)
    if args.output:
        with atomic_output(args.output) as tmp:
            tmp.write_text(text + "\n")
    print(text)
    return 0


COMMANDS = {"evaluate": add_parsers}
