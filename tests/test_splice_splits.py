"""The fixed A. thaliana chr1 split (train < 20 Mb <= validation < 23 Mb <= test): windows built
by ``genorrn.data.splice`` never cross a boundary — no weighted position and no real sequence
of another split in any window (zero padding instead), and no weight inside a gene that spans
a boundary (shared/data/README.md; the module docstring of genorrn.data.splice).

Real data: the windows near both boundaries, with the annotation cut to the genes near them
(fast; skipped with the reason when ../shared/data is absent).
"""

from __future__ import annotations

import gzip
import re

import numpy as np
import pytest

from conftest import shared_path

CHROM = "NC_003070.9"
BOUNDARIES = (20_000_000, 23_000_000)
NEAR = 40_000  # windows starting this close to a boundary
CORE = 1500
SIDES = {("train", 20_000_000), ("validation", 20_000_000), ("validation", 23_000_000),
         ("test", 23_000_000)}  # fmt: skip


@pytest.fixture(scope="module")
def athaliana(tmp_path_factory):
    """(Genome, annotation of the genes within 100 kb of a boundary, genes spanning one)."""
    from genorrn.io import Genome, read_annotation

    folder = shared_path("splice", "athaliana_chr1")
    lines: dict[str, list[str]] = {}
    spans: dict[str, list[int]] = {}
    with gzip.open(folder / "annotation.gtf.gz", "rt") as handle:
        for line in handle:
            fields = line.split("\t")
            if len(fields) < 9 or fields[0] != CHROM:
                continue
            start, end = int(fields[3]) - 1, int(fields[4])
            if not any(abs(start - b) < 400_000 for b in BOUNDARIES):
                continue
            gene = re.search(r'gene_id "([^"]+)"', fields[8]).group(1)
            lines.setdefault(gene, []).append(line)
            span = spans.setdefault(gene, [start, end])
            span[0], span[1] = min(span[0], start), max(span[1], end)
    keep = [g for g, (s, e) in spans.items()
            if any(s < b + 100_000 and b - 100_000 < e for b in BOUNDARIES)]  # fmt: skip
    gtf = tmp_path_factory.mktemp("boundaries") / "near_boundaries.gtf"
    gtf.write_text("".join(line for g in keep for line in lines[g]))
    annotation = read_annotation(gtf)
    spanning = [g for g in annotation.genes.values()
                if any(g.start < b < g.end for b in BOUNDARIES)]  # fmt: skip
    return Genome(folder / "genome.fna.gz"), annotation, spanning


@pytest.mark.shared_data
@pytest.mark.parametrize("context", [200, 10_000])
def test_windows_never_cross_the_split_boundaries(athaliana, context):
    from genorrn.alphabets import reverse_complement
    from genorrn.data.splice import collect_windows, split_regions
    from genorrn.regions import parse_region

    genome, annotation, spanning = athaliana
    assert [g.start < 20_000_000 < g.end for g in spanning] == [True]  # AT1G53590, + strand
    splits = split_regions("athaliana-chr1")
    length = genome.lengths[CHROM]
    width = CORE + 2 * context
    clipped_sides = set()
    windows = 0
    for name, regions in splits.items():
        (region,) = [r.clip(length) for r in regions]
        only = [parse_region(f"{CHROM}:{max(b - NEAR, 0) + 1}-{b + NEAR}") for b in BOUNDARIES]
        arrays = collect_windows(genome, annotation, name, splits, core=CORE, context=context,
                                 only=only)  # fmt: skip
        for start, strand, seq, label, weight in zip(arrays["start"], arrays["strand"],
                                                     arrays["seq"], arrays["label"],
                                                     arrays["weight"]):  # fmt: skip
            windows += 1
            a = int(start) - context  # forward position of the window's first column
            if strand == "-":  # back to forward orientation
                seq, label, weight = seq[::-1], label[::-1], weight[::-1]
            positions = np.arange(a, a + width)
            inside = (positions >= region.start) & (positions < region.end)
            # weight only inside the split, and never in a gene that spans a boundary
            assert inside[weight.astype(bool)].all(), (name, start, strand)
            for gene in spanning:
                if gene.strand == strand:
                    in_gene = (positions >= gene.start) & (positions < gene.end)
                    assert not weight[in_gene].any(), (name, start, gene)
            # real sequence exactly where the split is, zero padding elsewhere
            assert not seq[~inside].any() and not label[~inside].any(), (name, start, strand)
            lo, hi = positions[inside][[0, -1]]
            real = genome.fetch(CHROM, int(lo), int(hi) + 1).upper()
            text = seq[inside].tobytes().decode()
            assert text == (real if strand == "+" else reverse_complement(real)[::-1]), (name, start)
            for b in BOUNDARIES:
                if a < b < a + width and (region.start == b or region.end == b):
                    clipped_sides.add((name, b))
    assert windows > 20
    # the windows that would reach across a boundary are there, so the checks above bite
    expected = SIDES if context == 10_000 else {("validation", 23_000_000), ("test", 23_000_000)}
    assert clipped_sides == expected
