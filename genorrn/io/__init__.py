"""File input and output only (pysam, Biopython, pyBigWig); no Keras here."""

from genorrn.io.annotation import Annotation, Gene, Transcript, check_chromosomes, read_annotation
from genorrn.io.fasta import FastaRecord, Genome, iter_fasta


def load_genome_and_annotation(genome_path, annotation_path, chr_prefix=None):
    """Open a genome FASTA and a GTF/GFF3 (``chr_prefix``: ``add``/``strip`` a 'chr' prefix on
    the annotation's names) and check that the annotation's chromosomes exist in the FASTA."""
    genome = Genome(genome_path)
    annotation = read_annotation(annotation_path)
    if chr_prefix:
        annotation = annotation.with_chrom_prefix(chr_prefix)
    check_chromosomes(genome.names, annotation, genome_path)
    return genome, annotation


__all__ = [
    "Annotation",
    "FastaRecord",
    "Gene",
    "Genome",
    "Transcript",
    "check_chromosomes",
    "iter_fasta",
    "load_genome_and_annotation",
    "read_annotation",
]
