"""``genorrn predict splice``: per-base acceptor/donor probabilities for a genome FASTA."""

from __future__ import annotations

import json
import sys

from genorrn.cli.common import Progress, add_streaming_options, add_zoom_option, int_range, parse_shard
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
    add_variants_parser(sub)


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


def add_variants_parser(sub) -> None:
    from genorrn.variants import DEFAULT_DISTANCE, DEFAULT_TILE, FIELDS, MAX_DISTANCE

    p = sub.add_parser(
        "variants",
        help="score VCF variants for splicing changes (SpliceAI-style delta scores)",
        description="Score every ALT allele of a VCF for gains and losses of acceptor and "
        "donor sites within --distance of the variant, on each overlapping gene's strand "
        "(-A) or on both strands, and write the VCF back with every header line and record "
        f"kept and one INFO field {FIELDS} per ALT x gene (SpliceAI's layout; delta scores "
        "0-1 rounded to 2 decimals, positions relative to POS on the forward strand). Records "
        "that cannot be scored (no ALT, symbolic or '*' ALT, ALT not A/C/G/T, REF not matching the "
        "genome, contig not in the FASTA, outside every gene with -A) are written unchanged "
        "and counted in the summary on stderr. The VCF may be unsorted, plain or gzip/bgzip, "
        "or '-' (standard input, read once); the genome must be an indexable FASTA file.",
    )
    p.add_argument("input", metavar="INPUT.vcf[.gz]", help="VCF to score, or - for standard input")
    p.add_argument("-R", "--reference", required=True, metavar="GENOME.fa",
                   help="genome FASTA (plain or bgzip; lowercase accepted)")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT.vcf[.gz]",
                   help="output VCF: .vcf.gz is bgzipped with a tabix index, - writes to "
                   "standard output")
    p.add_argument("-A", "--annotation", metavar="GTF|GFF3",
                   help="genes and strands from this annotation (plain or gzip); without it "
                   "both strands are scored and SYMBOL is .:+ or .:-")
    p.add_argument("-D", "--distance", type=int_range(0, MAX_DISTANCE), default=DEFAULT_DISTANCE, metavar="N",
                   help=f"largest gain/loss sought within N positions of the variant "
                   f"(default {DEFAULT_DISTANCE}, at most {MAX_DISTANCE})")
    p.add_argument("-M", "--mask", action="store_true",
                   help="SpliceAI masking (needs -A): a gain at an annotated site of the gene and "
                   "a loss at a position that is not one count 0")
    p.add_argument("--model", default=DEFAULT_SPLICE_MODEL, metavar="NAME|PATH",
                   help=f"splice model name or .keras path (default: {DEFAULT_SPLICE_MODEL})")
    p.add_argument("--chr-prefix", choices=["add", "strip"],
                   help="add or strip a 'chr' prefix on the VCF's contig names to match the "
                   "FASTA (the output keeps the VCF's names)")
    p.add_argument("--info-id", default="genorrn", metavar="ID",
                   help="INFO field name (default genorrn; SpliceAI makes the output a drop-in "
                   "for tools that read SpliceAI's field)")
    p.add_argument("--strict", action="store_true",
                   help="stop with an error at a REF that does not match the genome (default: "
                   "count it and write the record unscored)")
    p.add_argument("--chunk-size", type=int_range(1), default=DEFAULT_TILE, metavar="N",
                   help=f"reference tile: the reference is predicted in tiles of N positions "
                   f"shared by nearby variants (default {DEFAULT_TILE})")
    p.add_argument("--flank", type=int_range(0), default=None, metavar="N",
                   help="context predicted before and after every scored window (forward "
                   "warm-up and backward lookahead; default: the model card's streaming flank, "
                   "which keeps scores within the engine's own streaming error)")
    p.add_argument("--batch-size", type=int_range(1), default=None, metavar="N",
                   help="lanes per model call (default: the model card's)")
    p.add_argument("--shard", metavar="K/N",
                   help="score only the K-th of N contiguous blocks of records (equal counts, "
                   "file order; needs a file, not -): run 1/N … N/N as separate jobs and join "
                   "them with `genorrn data merge-variants` into exactly the unsharded output")
    p.set_defaults(func=predict_variants)


def predict_variants(args) -> int:
    from genorrn.vcf_scoring import score_vcf

    shard = parse_shard(args.shard) if args.shard else None
    summary = score_vcf(
        args.input, args.reference, args.output, model=args.model, annotation=args.annotation,
        distance=args.distance, mask=args.mask, chr_prefix=args.chr_prefix,
        info_id=args.info_id, strict=args.strict, tile=args.chunk_size, context=args.flank,
        batch_size=args.batch_size, shard=shard,
    )
    print(json.dumps(summary), file=sys.stderr)
    return 0


COMMANDS = {"predict": add_parsers}
