"""``genorrn data …``: labels and datasets from genomes and annotations."""

from __future__ import annotations

import json
import sys


def add_parsers(sub) -> None:
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
