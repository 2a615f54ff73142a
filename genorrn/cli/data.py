"""``genorrn data …``: labels and datasets from genomes and annotations."""

from __future__ import annotations

import json
import sys

from genorrn.cli.common import add_zoom_option


def add_parsers(sub) -> None:
    """Register ``genorrn data sites`` and ``genorrn data splice``."""
    p = sub.add_parser(
        "sites",
        help="write the annotated splice sites of a genome as BED6",
        description="Write every annotated acceptor and donor (exon boundaries of transcripts "
        "with >= 2 exons, on the transcript strand) as BED6, and print intron-motif statistics "
        "as JSON on stdout.",
    )
    p.add_argument("genome", help="genome FASTA (plain, bgzip or gzip)")
    p.add_argument("annotation", help="GTF or GFF3 (plain or gzip)")
    p.add_argument("-o", "--output", required=True, help="output BED6 file")
    add_chr_prefix_option(p)
    p.set_defaults(func=sites)

    p = sub.add_parser(
        "splice",
        help="build labelled splice-site windows (train/validation/test shards)",
        description="Cut the gene bodies of both strands into windows with per-nucleotide labels "
        "(0 neither, 1 acceptor, 2 donor) and write OUTDIR/{train,validation,test}.npz plus "
        "OUTDIR/manifest.json. Splits are genomic regions; genes that span a split boundary are "
        "excluded. Use --only-region to build one scatter part of a large genome.",
    )
    p.add_argument("genome", help="genome FASTA (plain, bgzip or gzip)")
    p.add_argument("annotation", help="GTF or GFF3 (plain or gzip)")
    p.add_argument("-o", "--outdir", required=True, help="output folder (created if missing)")
    p.add_argument("--splits", default="athaliana-chr1",
                   help="split preset (default: athaliana-chr1, the fixed split of the data README)")
    for name in ("train", "validation", "test"):
        p.add_argument(f"--{name}-region", action="append", metavar="CHROM:START-END",
                       help=f"{name} region (1-based, repeatable); replaces the preset's {name} regions")
    p.add_argument("--only-region", action="append", metavar="CHROM:START-END",
                   help="keep only windows starting in this region (repeatable; for scattering)")
    p.add_argument("--core", type=int, default=1500, help="labelled positions per window (1500)")
    p.add_argument("--context", type=int, default=200,
                   help="unlabelled sequence context on each side of a window (200)")
    p.add_argument("--offset", type=int, default=0,
                   help="start each gene body's tiling this many positions earlier, 0 <= OFFSET "
                        "< CORE (0); a second shard set with --offset CORE/2 is training-set "
                        "augmentation: 'train splice' takes both folders")
    add_chr_prefix_option(p)
    p.set_defaults(func=splice)

    p = sub.add_parser(
        "merge-splice",
        help="merge scattered 'predict splice --region' outputs into one set of files",
        description="Merge PART.{acceptor,donor}.{plus,minus}.bw and PART.sites.bed of several "
        "bigWig prediction parts (disjoint regions of one FASTA) into PREFIX.* files.",
    )
    p.add_argument("parts", nargs="+", metavar="PART_PREFIX", help="output prefix of each part")
    p.add_argument("-o", "--output", required=True, metavar="PREFIX", help="merged output prefix")
    p.add_argument("--format", choices=["bigwig", "bedgraph"], default="bigwig")
    add_zoom_option(p)
    p.set_defaults(func=merge_splice)

    p = sub.add_parser(
        "merge-variants",
        help="join 'predict variants --shard K/N' outputs into one VCF",
        description="Join the VCFs written by 'genorrn predict variants --shard 1/N' … 'N/N' "
        "(give them in that order) into one VCF: exactly the unsharded output. A .vcf.gz "
        "output is bgzipped with a tabix index (when the records are sorted).",
    )
    p.add_argument("parts", nargs="+", metavar="PART.vcf[.gz]", help="the parts, in shard order")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT.vcf[.gz]",
                   help="merged VCF (- for standard output)")
    p.set_defaults(func=merge_variants)


def add_chr_prefix_option(parser) -> None:
    parser.add_argument(
        "--chr-prefix",
        choices=["add", "strip"],
        help="add or strip a 'chr' prefix on the annotation's chromosome names to match the FASTA",
    )


def load_genome_and_annotation(genome_path, annotation_path, chr_prefix=None):
    """Open both inputs and check that the annotation's chromosomes exist in the FASTA."""
    from genorrn.io import Genome, check_chromosomes, read_annotation

    genome = Genome(genome_path)
    annotation = read_annotation(annotation_path)
    if chr_prefix:
        annotation = annotation.with_chrom_prefix(chr_prefix)
    check_chromosomes(genome.names, annotation, genome_path)
    return genome, annotation


def sites(args) -> int:
    from genorrn.data.sites import annotated_sites, intron_motifs
    from genorrn.io.outputs import check_output_path
    from genorrn.io.tracks import write_bed6

    check_output_path(args.output)
    genome, annotation = load_genome_and_annotation(args.genome, args.annotation, args.chr_prefix)
    rows = [(s.chrom, s.pos, s.pos + 1, s.kind, 0, s.strand) for s in annotated_sites(annotation)]
    write_bed6(args.output, rows)
    motifs = intron_motifs(genome, annotation)
    total = sum(motifs.values())
    summary = {
        "transcripts": len(annotation.transcripts),
        "multi_exon_transcripts": len(annotation.multi_exon_transcripts()),
        "acceptors": sum(1 for r in rows if r[3] == "acceptor"),
        "donors": sum(1 for r in rows if r[3] == "donor"),
        "introns": total,
        "fraction_GT_AG": round(motifs["GT-AG"] / total, 4) if total else None,
        "top_motifs": dict(motifs.most_common(5)),
    }
    json.dump(summary, sys.stdout, indent=2)
    print()
    return 0


def splice(args) -> int:
    from pathlib import Path

    from genorrn.data.splice import check_offset, collect_windows, split_regions, write_shard
    from genorrn.io.outputs import atomic_output, check_output_path
    from genorrn.pretrained import sha256
    from genorrn.regions import parse_region

    check_offset(args.offset, args.core)  # before anything is read
    outdir = Path(args.outdir)
    if not outdir.exists():
        check_output_path(outdir)  # parent must exist and be writable
        outdir.mkdir()
    check_output_path(outdir / "manifest.json")
    genome, annotation = load_genome_and_annotation(args.genome, args.annotation, args.chr_prefix)
    if not annotation.multi_exon_transcripts():
        from genorrn.errors import InputError

        raise InputError(f"{args.annotation}: no multi-exon transcripts: there are no splice sites")
    splits = split_regions(
        args.splits,
        train=args.train_region,
        validation=args.validation_region,
        test=args.test_region,
    )
    only = [parse_region(r) for r in args.only_region] if args.only_region else None
    shards = {
        name: collect_windows(genome, annotation, name, splits, core=args.core,
                              context=args.context, only=only, offset=args.offset)
        for name in ("train", "validation", "test")
    }  # fmt: skip
    summaries = [json.loads(str(arrays["summary"])) for arrays in shards.values()]
    if not any(s["windows"] for s in summaries):
        from genorrn.errors import InputError

        where = ", ".join(args.only_region) if args.only_region else "any split region"
        raise InputError(f"{args.annotation}: no gene bodies in {where}: nothing to write")
    for name, arrays in shards.items():
        write_shard(outdir / f"{name}.npz", arrays)
    manifest = {
        "genome": {"path": str(args.genome), "sha256": sha256(args.genome)},
        "annotation": {"path": str(args.annotation), "sha256": sha256(args.annotation)},
        "only_regions": args.only_region,
        "splits": summaries,
    }
    with atomic_output(outdir / "manifest.json") as tmp:
        tmp.write_text(json.dumps(manifest, indent=2))
    json.dump(manifest, sys.stdout, indent=2)
    print()
    return 0



def merge_splice(args) -> int:
    from genorrn.splice import merge_parts

    print(json.dumps(merge_parts(args.parts, args.output, args.format, args.zoom_levels)))
    return 0


def merge_variants(args) -> int:
    from genorrn.vcf_scoring import merge_parts

    print(json.dumps(merge_parts(args.parts, args.output)), file=sys.stderr)
    return 0


COMMANDS = {"data": add_parsers}
