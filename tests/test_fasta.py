import gzip
import os
import stat

import pysam
import pytest

from genorrn.errors import InputError
from genorrn.io import Genome, iter_fasta

FASTA = ">chr1 first\nACGTACGTAC\nGTacgtNNRA\nTT\n>chr2\nGGGGCCCCAA\n"


@pytest.fixture
def fasta(tmp_path):
    path = tmp_path / "genome.fa"
    path.write_text(FASTA)
    return path


@pytest.fixture
def default_index_place(monkeypatch):
    """Without GENORRN_INDEX_DIR (which conftest sets for the session): the documented default,
    the index beside the FASTA when its folder is writable."""
    monkeypatch.delenv("GENORRN_INDEX_DIR")


def test_fetch_plain_creates_index_and_reverse_complements(fasta, default_index_place):
    genome = Genome(fasta)
    assert genome.names == ["chr1", "chr2"]
    assert genome.lengths == {"chr1": 22, "chr2": 10}
    assert (fasta.parent / "genome.fa.fai").exists()
    assert genome.fetch("chr1", 8, 14) == "ACGTac"
    assert genome.fetch("chr1", 8, 14, "-") == "gtACGT"
    assert genome.fetch("chr2") == "GGGGCCCCAA"


def test_bgzip_and_plain_gzip_give_the_same_sequence(fasta, tmp_path):
    bgz = tmp_path / "genome.bgz.fa.gz"
    pysam.tabix_compress(str(fasta), str(bgz))
    gz = tmp_path / "genome.gz.fa.gz"
    gz.write_bytes(gzip.compress(fasta.read_bytes()))
    plain = Genome(fasta)
    for path, kind in [(bgz, "bgzip"), (gz, "gzip")]:
        genome = Genome(path)
        assert genome.compression == kind
        assert genome.lengths == plain.lengths
        assert genome.fetch("chr1", 3, 21, "-") == plain.fetch("chr1", 3, 21, "-")


def test_read_only_folder_uses_cache(fasta, tmp_path, monkeypatch, default_index_place):
    monkeypatch.setenv("GENORRN_CACHE", str(tmp_path / "cache"))
    folder = fasta.parent / "ro"
    folder.mkdir()
    target = folder / "g.fa"
    target.write_text(FASTA)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        assert Genome(target).fetch("chr2", 0, 4) == "GGGG"
        assert not (folder / "g.fa.fai").exists()
        assert [p.name for p in (tmp_path / "cache" / "faidx").rglob("*.fai")] == ["g.fa.fai"]
    finally:
        folder.chmod(stat.S_IRWXU)


def test_real_bgzip_genome_in_read_only_shared_folder(dmel_dir, tmp_path, monkeypatch):
    from genorrn.io.outputs import is_writable_dir

    monkeypatch.setenv("GENORRN_CACHE", str(tmp_path / "cache"))
    read_only = not is_writable_dir(dmel_dir)
    if read_only:  # the documented fallback itself (else the session's GENORRN_INDEX_DIR)
        monkeypatch.delenv("GENORRN_INDEX_DIR")
    before = sorted(p.name for p in dmel_dir.iterdir())
    genome = Genome(dmel_dir / "genome.fna.gz")
    assert sorted(p.name for p in dmel_dir.iterdir()) == before  # nothing written there
    if read_only:
        indexes = sorted(p.name for p in (tmp_path / "cache" / "faidx").rglob("genome.fna.gz.*"))
        assert indexes == ["genome.fna.gz.fai", "genome.fna.gz.gzi"]
    assert genome.lengths == {"NC_004353.4": 1_348_131}
    assert genome.fetch("NC_004353.4", 0, 10).upper() == "TTATTATATT"


def test_genome_is_picklable(fasta):
    import pickle

    genome = Genome(fasta)
    genome.fetch("chr1", 0, 3)
    clone = pickle.loads(pickle.dumps(genome))
    assert clone.fetch("chr1", 0, 3) == "ACG"


@pytest.mark.parametrize(
    "content,message",
    [
        (None, "not found"),
        ("", "is empty"),
        ("hello world\nACGT\n", "not a FASTA file"),
        (">a\nACGT\n>a\nGGGG\n", "record 'a': duplicate record ID"),
        (">p1\nMKVLAAGIEFQ\n", "record 'p1': not DNA"),
    ],
)
def test_genome_bad_input(tmp_path, content, message):
    path = tmp_path / "bad.fa"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError, match=message) as info:
        Genome(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_fetch_outside_sequence(fasta):
    with pytest.raises(InputError, match="record 'chr2': interval 5-11 is outside the sequence"):
        Genome(fasta).fetch("chr2", 5, 11)
    with pytest.raises(InputError, match="no record named 'chrX'"):
        Genome(fasta).fetch("chrX", 0, 1)


def test_iter_fasta_streams_records(tmp_path):
    path = tmp_path / "p.faa.gz"
    path.write_bytes(gzip.compress(b">p1 kinase\nMKV\nLA\n>p2\nGG*\n"))
    records = list(iter_fasta(path))
    assert [(r.id, r.description, r.sequence) for r in records] == [
        ("p1", "kinase", "MKVLA"),
        ("p2", "", "GG*"),
    ]


def test_iter_fasta_real_proteins(athaliana_dir):
    n = 0
    for n, record in enumerate(iter_fasta(athaliana_dir / "proteins.faa.gz"), 1):
        assert record.sequence
    assert n > 5000


@pytest.mark.parametrize(
    "content,message",
    [
        (">a\nMK\n>a\nMK\n", "duplicate record ID"),
        (">a\n\n>b\nMK\n", "record 'a': empty sequence"),
        ("MKV\n", "not a FASTA file"),
    ],
)
def test_iter_fasta_bad_input(tmp_path, content, message):
    path = tmp_path / "bad.faa"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        list(iter_fasta(path))


def test_index_dir_is_used_instead_of_a_writable_folder(fasta, tmp_path, monkeypatch):
    """GENORRN_INDEX_DIR (set by conftest for the test session): no index beside the FASTA
    even where that folder is writable; the index goes to the given folder and is reused."""
    monkeypatch.setenv("GENORRN_INDEX_DIR", str(tmp_path / "indexes"))
    assert Genome(fasta).fetch("chr2", 0, 4) == "GGGG"
    assert sorted(p.name for p in fasta.parent.iterdir()) == ["genome.fa", "indexes"]
    (index,) = (tmp_path / "indexes").rglob("genome.fa.fai")
    stamp = index.stat().st_mtime_ns
    assert Genome(fasta).lengths == {"chr1": 22, "chr2": 10}
    assert index.stat().st_mtime_ns == stamp  # reused, not rebuilt


def test_stale_index_is_rebuilt(fasta, default_index_place):
    assert Genome(fasta).lengths["chr2"] == 10
    os.utime(fasta.parent / "genome.fa.fai", (1, 1))  # index older than the FASTA
    fasta.write_text(">chrZ\nACGT\n")
    assert Genome(fasta).lengths == {"chrZ": 4}
