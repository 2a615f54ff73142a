"""``genorrn plot splice|structure``: a region's splice scores above its exons; a protein's Q3 profile."""

from __future__ import annotations

import sys
from pathlib import Path

from genorrn.cli.common import (
    add_chr_prefix_option,
    add_model_option,
    add_streaming_options,
    predictor_of,
)


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "splice",
        help="plot acceptor/donor probabilities of a region with the annotated exons",
        description="Predict both strands of a region and draw acceptor/donor probabilities "
        "(plus strand up, minus strand down; the annotated sites marked) above the annotated "
        "transcripts (labelled by gene name, coloured by strand). The format follows the "
        "output suffix (.png, .svg, .pdf).",
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
    add_calibration_parser(sub)


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
    predictor = predictor_of(model, args)
    entries = predict_genome(predictor, genome, [region], [0, 1, 2])  # both strands, one pass
    try:
        scores = {e.strand: e.scores.read(region.start, region.end) for e in entries}
    finally:
        for entry in entries:
            entry.scores.close()
    plot_splice_region(args.output, region, scores["+"], scores["-"], annotation)
    wrote(f"region {region}", args.output)
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
    predictor = predictor_of(model, args)
    ((rid, seq, probs),) = list(predict_sequences(predictor, [chosen]))
    plot_profile(rid, seq, probs, args.output)
    wrote(f"protein {rid}", args.output)
    return 0


def add_calibration_parser(sub) -> None:
    p = sub.add_parser(
        "calibration",
        help="draw reliability diagrams from a 'genorrn evaluate' JSON report",
        description="Read the JSON written by 'genorrn evaluate splice -o' or 'genorrn evaluate "
        "structure -o' and draw, per class, the fraction of true positions against the mean "
        "predicted probability in each bin (the diagonal is perfect calibration), with the "
        "number of positions per bin below. Splice bins cover probabilities >= 0.01 (the "
        "near-zero mass would hide the error); structure bins cover every residue.",
    )
    p.add_argument("report", metavar="EVALUATION.json", help="'genorrn evaluate … -o' output")
    p.add_argument("-o", "--output", required=True, help="output image (.png, .svg or .pdf)")
    p.add_argument("--set", metavar="NAME",
                   help="structure: the test set to draw (default: the first in the report)")
    p.add_argument("--level", choices=["q3", "q8"], default="q3",
                   help="structure: Q3 or Q8 classes (default: q3)")
    p.set_defaults(func=plot_calibration)


def plot_calibration(args) -> int:
    import json

    from genorrn.errors import InputError
    from genorrn.io.outputs import check_output_path
    from genorrn.plots import plot_reliability

    if Path(args.output).suffix.lower() not in (".png", ".svg", ".pdf"):
        raise InputError(f"{args.output}: output must end in .png, .svg or .pdf")
    check_output_path(args.output)
    try:
        report = json.loads(Path(args.report).read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{args.report}: cannot read the evaluation report ({exc})") from None
    if isinstance(report, dict) and "metrics" in report:  # evaluate splice
        per_class, title = report["metrics"], f"{Path(args.report).name}: splice sites"
    elif isinstance(report, dict) and report.get("sets"):  # evaluate structure
        name = args.set or next(iter(report["sets"]))
        if name not in report["sets"]:
            raise InputError(f"{args.report}: --set {name!r}: not in the report (sets: "
                             f"{', '.join(report['sets'])})")  # fmt: skip
        level = report["sets"][name].get(args.level)
        if level is None:
            raise InputError(f"{args.report}: set {name!r} has no {args.level} labels")
        per_class, title = level["per_class"], f"{name}: {args.level.upper()}"
    else:
        raise InputError(f"{args.report}: not a 'genorrn evaluate' JSON report")
    curves = {c: m["reliability"] for c, m in per_class.items() if m.get("reliability")}
    if not curves:
        raise InputError(f"{args.report}: no reliability bins to draw (no position reached the "
                         "ECE probability floor, or an older genorrn wrote the report)")  # fmt: skip
    plot_reliability(curves, args.output, title)
    wrote(f"reliability diagrams ({title})", args.output)
    return 0


def wrote(what: str, path) -> None:
    """The one line on stderr that names a figure written (as 'predict' names its outputs)."""
    print(f"genorrn: plotted {what} -> {path}", file=sys.stderr)


COMMANDS = {"plot": add_parsers}
