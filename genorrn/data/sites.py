"""Annotated splice sites (the labels' ground truth) and intron-motif statistics."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from genorrn.io.annotation import Annotation
from genorrn.io.fasta import Genome


@dataclass(frozen=True, order=True)
class Site:
    chrom: str
    pos: int  # 0-based
    strand: str
    kind: str  # "acceptor" or "donor"


def annotated_sites(annotation: Annotation) -> list[Site]:
    """Unique splice sites of all multi-exon transcripts, sorted by chromosome and position."""
    sites = {
        Site(chrom, pos, strand, kind)
        for (chrom, strand), by_kind in annotation.splice_sites().items()
        for kind, positions in by_kind.items()
        for pos in positions
    }
    return sorted(sites)


def intron_motifs(genome: Genome, annotation: Annotation) -> Counter:
    """Count unique introns by their (strand-aware) dinucleotide motifs, e.g. ``"GT-AG"``."""
    introns = {
        (tx.chrom, start, end, tx.strand)
        for tx in annotation.transcripts.values()
        for start, end in tx.introns
    }
    motifs: Counter = Counter()
    for chrom, start, end, strand in introns:
        seq = genome.fetch(chrom, start, end, strand).upper()
        motifs[f"{seq[:2]}-{seq[-2:]}"] += 1
    return motifs


def intron_dinucleotide(site: Site) -> tuple[int, int]:
    """Forward-strand 0-based positions of the intron dinucleotide next to ``site``: the GT
    after a donor (+1/+2) or the AG before an acceptor (-2/-1), in transcript orientation."""
    if site.kind == "donor":
        return (site.pos + 1, site.pos + 2) if site.strand == "+" else (site.pos - 2, site.pos - 1)
    return (site.pos - 2, site.pos - 1) if site.strand == "+" else (site.pos + 1, site.pos + 2)
