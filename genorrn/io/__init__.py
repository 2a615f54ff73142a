"""File input and output only (pysam, Biopython, pyBigWig); no Keras here."""

from genorrn.io.annotation import Annotation, Gene, Transcript, check_chromosomes, read_annotation
from genorrn.io.fasta import FastaRecord, Genome, iter_fasta

__all__ = [
    "Annotation",
    "FastaRecord",
    "Gene",
    "Genome",
    "Transcript",
    "check_chromosomes",
    "iter_fasta",
    "read_annotation",
]
