"""Regenerate the bundled variant example on the bundled A. thaliana slice.

    python reference_data/make_variants_example.py

Writes ``athaliana_chr1_test_slice.vcf``: SNVs that break the canonical GT/AG dinucleotide of
annotated donors and acceptors, a deletion and an insertion at a donor, an MNV, a
multiallelic record, neutral SNVs deep in introns and exons (≥ 100 nt from any annotated
site), one intergenic SNV and one symbolic ``<DEL>`` (written back unscored). Positions come
from ``athaliana_chr1_test_slice.gff3``; REF from ``athaliana_chr1_test_slice.fa``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genorrn.data.sites import annotated_sites, intron_dinucleotide
from genorrn.io.annotation import read_annotation
from genorrn.io.fasta import Genome

HERE = Path(__file__).resolve().parent
OTHER = {"A": "C", "C": "G", "G": "T", "T": "A"}


def main() -> None:
    genome = Genome(HERE / "athaliana_chr1_test_slice.fa")
    annotation = read_annotation(HERE / "athaliana_chr1_test_slice.gff3")
    chrom = genome.names[0]
    fetch = lambda a, b: genome.fetch(chrom, a, b).upper()  # noqa: E731
    sites = [s for s in annotated_sites(annotation) if s.chrom == chrom]
    site_pos = np.array(sorted({s.pos for s in sites}))
    rows = []  # (pos0, ref, alts, note)
    donors = [s for s in sites if s.kind == "donor"]
    acceptors = [s for s in sites if s.kind == "acceptor"]
    for site in donors[::9][:4] + acceptors[::9][:4]:
        p = intron_dinucleotide(site)[0]
        ref = fetch(p, p + 1)
        rows.append((p, ref, (OTHER[ref],), f"{site.kind}_{site.strand}_dinucleotide"))
    d = donors[3]
    first, second = intron_dinucleotide(d)
    rows.append((first - 1, fetch(first - 1, second + 1), (fetch(first - 1, first),), "deletion_of_donor_GT"))
    rows.append((d.pos, fetch(d.pos, d.pos + 1), (fetch(d.pos, d.pos + 1) + "TTAG",), "insertion_at_donor"))
    a = acceptors[5]
    p = intron_dinucleotide(a)[0]
    rows.append((p, fetch(p, p + 2), ("TT",), "mnv_over_acceptor_AG"))
    p = intron_dinucleotide(acceptors[7])[1]
    ref = fetch(p, p + 1)
    rows.append((p, ref, tuple(b for b in "ACGT" if b != ref), "multiallelic_acceptor"))
    rng = np.random.default_rng(2026)
    genes = [g for g in annotation.genes.values() if g.transcripts and g.end - g.start > 1000]
    neutral = 0
    while neutral < 6:
        gene = genes[int(rng.integers(len(genes)))]
        p = int(rng.integers(gene.start, gene.end))
        if np.abs(site_pos - p).min() < 100:
            continue
        ref = fetch(p, p + 1)
        if ref not in OTHER:
            continue
        rows.append((p, ref, (OTHER[ref],), "neutral_gene_body"))
        neutral += 1
    rows.append((500, fetch(500, 501), (OTHER[fetch(500, 501)],), "intergenic"))
    p = sites[0].pos
    rows.append((p, fetch(p, p + 1), ("<DEL>",), "symbolic"))
    rows.sort()
    lines = [
        "##fileformat=VCFv4.2",
        f"##contig=<ID={chrom},length={genome.lengths[chrom]}>",
        '##INFO=<ID=NOTE,Number=1,Type=String,Description="Why this variant is in the example">',
        "##source=genorrn reference_data/make_variants_example.py",
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
    ]
    for i, (p, ref, alts, note) in enumerate(rows, 1):
        lines.append(f"{chrom}\t{p + 1}\tvar{i}\t{ref}\t{','.join(alts)}\t.\tPASS\tNOTE={note}")
    (HERE / "athaliana_chr1_test_slice.vcf").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
