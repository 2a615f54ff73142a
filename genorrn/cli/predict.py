"""``genorrn predict splice|variants|structure``: label a genome, score a VCF, label proteins."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from genorrn.cli.common import (
    Progress,
    add_calibration_option,
    add_gap_option,
    add_model_option,
    add_streaming_options,
    add_zoom_option,
    int_range,
    parse_shard,
    predictor_of,
    probability,
    shard_bounds,
)


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "splice",
        help="predict splice sites on both strands of a FASTA",
        description="Predict per-base acceptor and donor probabilities on both strands and "
        "write PREFIX.{acceptor,donor}.{plus,minus}.bw (or .bedgraph) in chromosome "
        "coordinates, and PREFIX.sites.bed (BED6: sites with probability >= --threshold, "
        "score = 1000 x probability). Long sequences are streamed in chunks with carried "
        "LSTM states, so memory stays flat. INPUT may be a pipe or - (standard input) without "
        "--region: it is read once and copied, decompressed, to a temporary file in $TMPDIR "
        "that is indexed there; --region needs a FASTA file (only the regions are read, "
        "through the file's .fai index: random access).",
    )
    p.add_argument("input", help="DNA FASTA (plain, bgzip or gzip); without --region also - "
                   "or a pipe (read once)")
    p.add_argument("-o", "--output", required=True, metavar="PREFIX", help="output prefix")
    add_model_option(p, "splice")
    p.add_argument("--region", action="append", metavar="CHROM:START-END",
                   help="region to predict, samtools style (1-based, repeatable; default: "
                   "every record)")
    p.add_argument("--format", choices=["bigwig", "bedgraph"], default="bigwig",
                   help="per-base score format (default: bigwig)")
    p.add_argument("--threshold", type=probability, default=0.5,
                   help="probability for a site to be written to PREFIX.sites.bed, 0-1 (0.5)")
    add_zoom_option(p)
    add_streaming_options(p, "splice")
    p.set_defaults(func=predict_splice)
    add_variants_parser(sub)
    add_structure_parser(sub)


def predict_splice(args) -> int:
    from genorrn.io.fasta import Genome
    from genorrn.io.outputs import check_output_path
    from genorrn.predict import resolve_regions
    from genorrn.pretrained import load_model
    from genorrn.regions import check_region, parse_region
    from genorrn.splice import output_paths, predict_to_files

    started = time.perf_counter()
    outputs = list(output_paths(args.output, args.format).values())
    for path in outputs:
        check_output_path(path)
    asked = [parse_region(r) for r in args.region or []]
    genome = Genome(args.input, stream=not asked,
                    why="--region reads parts of the FASTA through its .fai index (random "
                    "access): give a FASTA file, or leave out --region to read a pipe")  # fmt: skip
    for region in asked:
        check_region(region, genome.lengths, genome.name)
    regions = resolve_regions(genome, asked)
    model = load_model(args.model, task="splice")
    predictor = predictor_of(model, args)
    total = 2 * sum(r.end - r.start for r in regions)
    with Progress(total, "predict splice") as bar:
        summary = predict_to_files(predictor, genome, regions, args.output, args.format,
                                   args.threshold, progress=bar.update,
                                   zoom_levels=args.zoom_levels)  # fmt: skip
    seconds = time.perf_counter() - started
    positions = summary["positions_both_strands"]
    steady = bar.steady_rate()
    summary |= {"seconds": round(seconds, 1),
                "nt_per_s_incl_startup": round(positions / max(seconds, 1e-9)),
                "nt_per_s_steady": None if steady is None else round(steady)}  # fmt: skip
    if steady is None:  # one batch: nothing to time apart from start-up
        rate = (f"{summary['nt_per_s_incl_startup']} nt/s including start-up; a run of one "
                "batch is mostly input indexing, model loading and tracing")  # fmt: skip
    else:
        rate = f"{summary['nt_per_s_steady']} nt/s after the first batch"
    print(json.dumps(summary), file=sys.stderr)
    print(f"genorrn: predicted {summary['bases']} bases on both strands ({positions} positions, "
          f"{len(regions)} region(s)) in {seconds:.1f} s ({rate}) -> "
          f"{', '.join(str(p) for p in outputs)}", file=sys.stderr)  # fmt: skip
    return 0


def add_variants_parser(sub) -> None:
    from genorrn.delta import DEFAULT_DISTANCE, DEFAULT_TILE, FIELDS, MAX_DISTANCE

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
        "- (standard input) or a pipe such as <(bcftools view …), read once (not with "
        "--shard, which counts the records first). The genome (-R) must be a FASTA file: it "
        "is read around every variant through its .fai index (random access). The "
        "annotation (-A) must be a file: its name is recorded in the output header.",
    )
    p.add_argument("input", metavar="INPUT.vcf[.gz]",
                   help="VCF to score; - or a pipe (read once) unless --shard")
    p.add_argument("-R", "--reference", required=True, metavar="GENOME.fa",
                   help="genome FASTA file (plain or bgzip; lowercase accepted; not a pipe: "
                   "random access)")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT.vcf[.gz]",
                   help="output VCF: .vcf.gz is bgzipped with a tabix index, - writes to "
                   "standard output")
    p.add_argument("-A", "--annotation", metavar="GTF|GFF3",
                   help="genes and strands from this annotation file (plain or gzip); without it "
                   "both strands are scored and SYMBOL is .:+ or .:-")
    p.add_argument("-D", "--distance", type=int_range(0, MAX_DISTANCE), default=DEFAULT_DISTANCE, metavar="N",
                   help=f"largest gain/loss sought within N positions of the variant "
                   f"(default {DEFAULT_DISTANCE}, at most {MAX_DISTANCE})")
    p.add_argument("-M", "--mask", action="store_true",
                   help="SpliceAI masking (needs -A): a gain at an annotated site of the gene and "
                   "a loss at a position that is not one count 0")
    add_model_option(p, "splice")
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
    add_gap_option(p)
    add_calibration_option(p)
    p.add_argument("--shard", metavar="K/N",
                   help="score only the K-th of N contiguous blocks of records (equal counts, "
                   "file order; needs a file, not -): run 1/N … N/N as separate jobs and join "
                   "them with `genorrn data merge-variants` into exactly the unsharded output")
    p.set_defaults(func=predict_variants)


def predict_variants(args) -> int:
    from genorrn.io.streams import refuse_stream
    from genorrn.vcf_scoring import score_vcf

    shard = parse_shard(args.shard) if args.shard else None
    if shard:
        refuse_stream(args.input, "VCF", "--shard reads it twice (it counts the records "
                      "first)")  # fmt: skip
    summary = score_vcf(
        args.input, args.reference, args.output, model=args.model, annotation=args.annotation,
        distance=args.distance, mask=args.mask, chr_prefix=args.chr_prefix,
        info_id=args.info_id, strict=args.strict, tile=args.chunk_size, context=args.flank,
        batch_size=args.batch_size, shard=shard, calibrated=not args.uncalibrated,
        min_gap=args.min_gap,
    )
    print(json.dumps(summary), file=sys.stderr)
    return 0


def add_structure_parser(sub) -> None:
    p = sub.add_parser(
        "structure",
        help="predict protein secondary structure (Q3 and Q8) from a protein FASTA",
        description="Predict per-residue secondary structure from single sequences (no "
        "alignments) and write it as NetSurfP-2.0-style CSV (one row per residue, Q3 and Q8 "
        "probabilities), PSIPRED .ss2 or PSIPRED .horiz. With ss2/horiz, OUT is one file for "
        "a single-record FASTA, and a folder with one ID.ss2 / ID.horiz file per record when "
        "the input has several records (or OUT is an existing folder). Protein policy: "
        "lowercase = uppercase; B/Z/J as halves of two residues; U, O, X and '*' on the X "
        "channel; one trailing '*' (stop) removed; digits, '-', spaces, an empty record, "
        "duplicate IDs or a DNA FASTA are errors. Residue numbers are the input's. "
        "INPUT may be - (standard input) or a pipe such as <(zcat x.faa.gz): it is read once "
        "and copied, decompressed, to a temporary file in $TMPDIR (every record is checked "
        "before anything is written).",
    )
    p.add_argument("input", help="protein FASTA (plain or gzip), - or a pipe (read once)")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output file (csv; ss2/horiz for one record) or folder (ss2/horiz)")
    p.add_argument("--format", choices=["csv", "ss2", "horiz"], default="csv",
                   help="output format (default: csv)")
    add_model_option(p, "structure")
    p.add_argument("--shard", metavar="K/N",
                   help="predict only the K-th of N contiguous blocks of records, in input "
                   "order, with about equal numbers of residues (1 <= K <= N); 'genorrn data "
                   "merge-structure' joins shards 1..N into exactly the unsharded output")
    p.add_argument("--plot", metavar="FILE.png|FILE.svg",
                   help="also draw the per-residue Q3 probability profile of one protein")
    p.add_argument("--plot-id", metavar="ID",
                   help="record to plot with --plot (default: the first record)")
    add_streaming_options(p, "structure")
    p.set_defaults(func=predict_structure)


def _count_and_check(path, name: str) -> tuple[list[int], list[str]]:
    """Validate the whole FASTA before predicting (errors before any output); return the
    length and the ID of every record."""
    from genorrn.data.proteins import read_proteins

    lengths, ids = [], []
    for rid, seq in read_proteins(path, name):
        lengths.append(len(seq))
        ids.append(rid)
    return lengths, ids


def predict_structure(args) -> int:
    """A pipe or - is read once into a temporary file, which the two passes then read."""
    from genorrn.io.streams import display_name, is_stream, spool

    if not is_stream(args.input):
        return _predict_structure(args, args.input, display_name(args.input))
    copy = spool(args.input, suffix=".faa")
    try:
        return _predict_structure(args, copy, display_name(args.input))
    finally:
        copy.unlink()


def _predict_structure(args, source, name: str) -> int:
    from itertools import islice

    from genorrn.data.proteins import read_proteins
    from genorrn.errors import InputError
    from genorrn.io.outputs import atomic_output, check_files_folder, check_output_path
    from genorrn.predict import in_background, predict_sequences
    from genorrn.pretrained import load_model
    from genorrn.structure import write_predictions

    out = Path(args.output)
    if args.plot:
        if Path(args.plot).suffix.lower() not in (".png", ".svg"):
            raise InputError(f"{args.plot}: --plot must end in .png or .svg")
        check_output_path(args.plot)
    shard = parse_shard(args.shard) if args.shard else None
    if shard and args.plot:
        raise InputError("--plot cannot be combined with --shard (use 'genorrn plot structure')")
    lengths, ids = _count_and_check(source, name)
    count = len(lengths)
    # the K-th of N contiguous blocks of records (about equal residues); file or folder as for
    # the whole input, so that 'genorrn data merge-structure' of shards 1..N gives exactly the
    # unsharded output
    start, end = shard_bounds(lengths, *shard) if shard else (0, count)
    folder = args.format != "csv" and (out.is_dir() or count > 1)
    if folder:  # filled in a temporary folder, renamed at the end (write_predictions)
        check_files_folder(out)
    else:
        check_output_path(out)
    if args.plot and args.plot_id and args.plot_id not in ids:
        raise InputError(f"{name}: --plot-id {args.plot_id!r}: no such record")
    plot_id = (args.plot_id or ids[0]) if args.plot else None

    model = load_model(args.model, task="structure")
    predictor = predictor_of(model, args)
    bar = Progress(end - start, "predict structure", unit="protein", enabled=end - start > 1)
    records = islice(read_proteins(source, name), start, end)
    results = in_background(predict_sequences(predictor, records, progress=bar.update))
    if args.format != "csv" and not folder and start == end:  # an empty shard of one record
        with atomic_output(out) as tmp:
            Path(tmp).write_text("")
    try:
        plotted = write_predictions(results, out, args.format, folder, name, keep=plot_id)
    finally:
        bar.close()
    if plotted is not None:
        from genorrn.plots import plot_profile

        plot_profile(*plotted, args.plot)
    where = f"{out}/ ({end - start} files)" if folder else str(out)
    held = f"records {start + 1}-{end}" if end > start else "no records"
    shard = f" (shard {args.shard}: {held} of {count})" if args.shard else ""
    print(f"genorrn: predicted {end - start} protein(s){shard} -> {where}", file=sys.stderr)
    if plotted is not None:
        from genorrn.cli.plot import wrote

        wrote(f"protein {plotted[0]}", args.plot)
    return 0


COMMANDS = {"predict": add_parsers}
