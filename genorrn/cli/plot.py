"""``genorrn plot splice``: a region's acceptor/donor scores above its annotated exons."""

from __future__ import annotations

from genorrn.cli.common import add_streaming_options
from genorrn.cli.data import add_chr_prefix_option
from genorrn.pretrained import DEFAULT_SPLICE_MODEL


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "splice",
        help="plot acceptor/donor probabilities of a region with the annotated exons",
        description="Predict both strands of a region and draw acceptor/donor probabilities "
        "(plus strand up, minus strand down) above the annotated transcripts. The format "
        "follows the output suffix (.png, .svg, .pdf).",
    )
    p.add_argument("input", help="DNA FASTA")
    p.add_argument("annotation", nargs="?", help="GTF or GFF3 to draw below (optional)")
    p.add_argument("--region", required=True, metavar="CHROM:START-END",
                   help="region to draw (1-based, samtools style; keep it below ~200 kb)")
    p.add_argument("-o", "--output", required=True, help="output image (.png, .svg or .pdf)")
    p.add_argument("--model", default=DEFAULT_SPLICE_MODEL, metavar="NAME|PATH")
    add_chr_prefix_option(p)
    add_streaming_options(p)
    p.set_defaults(func=plot_splice)


def plot_splice(args) -> int:
    from genorrn.errors import InputError
    from genorrn.io.outputs import check_output_path
    from genorrn.plots import plot_splice_region
    from genorrn.predict import predict_genome, resolve_regions
    from genorrn.pretrained import load_model
    from genorrn.regions import parse_region

    if not str(args.output).lower().endswith((".png", ".svg", ".pdf")):
        raise InputError(f"{args.output}: output must end in .png, .svg or .pdf")
    check_output_path(args.output)
    annotation = None
    if args.annotation:
        from genorrn.cli.data import load_genome_and_annotation

        genome, annotation = load_genome_and_annotation(args.input, args.annotation, args.chr_prefix)
    else:
        from genorrn.io.fasta import Genome

        genome = Genome(args.input)
    (region,) = resolve_regions(genome, [parse_region(args.region)])
    model = load_model(args.model, task="splice")
    predictor = model.predictor(args.chunk_size, args.flank, args.batch_size)
    entries = predict_genome(predictor, genome, [region], [0, 1, 2])  # both strands, one pass
    try:
        scores = {e.strand: e.scores.read(region.start, region.end) for e in entries}
    finally:
        for entry in entries:
            entry.scores.close()
    plot_splice_region(args.output, region, scores["+"], scores["-"], annotation)
    return 0


COMMANDS = {"plot": add_parsers}
