"""``genorrn plot splice|structure``: a region's splice scores above its exons; a protein's Q3 profile."""

from __future__ import annotations

from pathlib import Path

from genorrn.cli.common import add_chr_prefix_option, add_model_option, add_streaming_options


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
    add_model_option(p, "splice")
    add_chr_prefix_option(p)
    add_streaming_options(p, "splice")
    p.set_defaults(func=plot_splice)
    add_structure_parser(sub)


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
        from genorrn.io import load_genome_and_annotation

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


def add_structure_parser(sub) -> None:
    p = sub.add_parser(
        "structure",
        help="plot the per-residue Q3 probability profile of one protein",
        description="Predict one protein of a FASTA and draw P(H), P(E), P(C) per residue "
        "with the predicted Q3 string as a colour strip. The format follows the output suffix "
        "(.png, .svg, .pdf). Same as 'genorrn predict structure --plot'.",
    )
    p.add_argument("input", help="protein FASTA (plain or gzip)")
    p.add_argument("-o", "--output", required=True, help="output image (.png, .svg or .pdf)")
    p.add_argument("--id", dest="record", metavar="ID",
                   help="record to plot (default: the first record)")
    add_model_option(p, "structure")
    add_streaming_options(p, "structure")
    p.set_defaults(func=plot_structure)


def plot_structure(args) -> int:
    from genorrn.data.proteins import read_proteins
    from genorrn.errors import InputError
    from genorrn.io.outputs import check_output_path

    if Path(args.output).suffix.lower() not in (".png", ".svg", ".pdf"):
        raise InputError(f"{args.output}: output must end in .png, .svg or .pdf")
    check_output_path(args.output)
    chosen = None
    for rid, seq in read_proteins(args.input):  # checks every record, as predict does
        if chosen is None and (args.record is None or rid == args.record):
            chosen = (rid, seq)
    if chosen is None:
        raise InputError(f"{args.input}: --id {args.record!r}: no such record")
    from genorrn.plots import plot_profile
    from genorrn.predict import predict_sequences
    from genorrn.pretrained import load_model

    model = load_model(args.model, task="structure")
    predictor = model.predictor(args.chunk_size, args.flank, args.batch_size)
    ((rid, seq, probs),) = list(predict_sequences(predictor, [chosen]))
    plot_profile(rid, seq, probs, args.output)
    return 0


COMMANDS = {"plot": add_parsers}
