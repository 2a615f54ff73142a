import pytest

from genorrn.data.sites import annotated_sites, intron_motifs
from genorrn.errors import InputError
from genorrn.io import Genome, check_chromosomes, read_annotation

GTF = (
    'chr1\tt\texon\t11\t20\t.\t+\t.\tgene_id "g1"; transcript_id "t1";\n'
    'chr1\tt\texon\t31\t40\t.\t+\t.\tgene_id "g1"; transcript_id "t1";\n'
    'chr1\tt\texon\t51\t60\t.\t-\t.\tgene_id "g2"; transcript_id "t2";\n'
    'chr1\tt\texon\t71\t80\t.\t-\t.\tgene_id "g2"; transcript_id "t2";\n'
)


def test_coordinates_are_zero_based_half_open_and_strand_aware(tmp_path):
    path = tmp_path / "a.gtf"
    path.write_text(GTF)
    ann = read_annotation(path)
    t1, t2 = ann.transcripts["t1"], ann.transcripts["t2"]
    assert t1.exons == ((10, 20), (30, 40))
    assert t1.introns == [(20, 30)]
    # + strand: donor = last base of exon 1, acceptor = first base of exon 2
    assert t1.splice_sites() == ([30], [19])
    # - strand: the upstream exon in transcript orientation is the right-hand one
    assert t2.splice_sites() == ([59], [70])
    assert (ann.genes["g1"].start, ann.genes["g1"].end) == (10, 40)


@pytest.fixture(scope="module")
def dmel_annotations():
    from conftest import shared_path

    folder = shared_path("splice", "dmel_chr4")
    return folder, read_annotation(folder / "annotation.gtf.gz"), read_annotation(
        folder / "annotation.gff3.gz"
    )


def test_gtf_and_gff3_give_the_same_transcripts(dmel_annotations):
    _, gtf, gff = dmel_annotations
    assert len(gtf.transcripts) == 338
    assert set(gtf.transcripts) == set(gff.transcripts)
    for tid, tx in gtf.transcripts.items():
        other = gff.transcripts[tid]
        assert (tx.chrom, tx.strand, tx.exons) == (other.chrom, other.strand, other.exons), tid


def test_dmel_splice_site_counts_and_motifs(dmel_annotations, tmp_path, monkeypatch):
    folder, gtf, gff = dmel_annotations
    for ann in (gtf, gff):
        sites = annotated_sites(ann)
        assert sum(s.kind == "donor" for s in sites) == 792
        assert sum(s.kind == "acceptor" for s in sites) == 749
    monkeypatch.setenv("GENORRN_CACHE", str(tmp_path))
    genome = Genome(folder / "genome.fna.gz")
    motifs = intron_motifs(genome, gtf)
    assert motifs["GT-AG"] / sum(motifs.values()) >= 0.98
    # every site, checked from its own coordinate: donors precede GT, acceptors follow AG
    canonical = 0
    sites = annotated_sites(gtf)
    for s in sites:
        after = (s.pos + 1, s.pos + 3) if s.strand == "+" else (s.pos - 2, s.pos)
        before = (s.pos - 2, s.pos) if s.strand == "+" else (s.pos + 1, s.pos + 3)
        span = after if s.kind == "donor" else before
        motif = genome.fetch(s.chrom, *span, s.strand).upper()
        canonical += motif == ("GT" if s.kind == "donor" else "AG")
    assert canonical / len(sites) >= 0.98


def test_gtf_without_exon_lines(tmp_path):
    path = tmp_path / "genes.gtf"
    path.write_text('chr1\tt\tgene\t1\t100\t.\t+\t.\tgene_id "g1";\n')
    with pytest.raises(InputError, match="no exon lines"):
        read_annotation(path)


def test_malformed_line_names_the_line(tmp_path):
    path = tmp_path / "bad.gtf"
    path.write_text(GTF + "chr1\texon\t5\n")
    with pytest.raises(InputError, match="line 5: expected 9 tab-separated columns"):
        read_annotation(path)


def test_chromosome_mismatch_offers_chr_prefix_fix(tmp_path):
    path = tmp_path / "a.gtf"
    path.write_text(GTF)
    ann = read_annotation(path)
    with pytest.raises(InputError, match="differ only by a 'chr' prefix: rerun with --chr-prefix strip"):
        check_chromosomes(["1", "2"], ann, "genome.fa")
    check_chromosomes(["1"], ann.with_chrom_prefix("strip"), "genome.fa")
    with pytest.raises(InputError, match="not in genome.fa") as info:
        check_chromosomes(["NC_000001"], ann, "genome.fa")
    assert "prefix" not in str(info.value)
