"""Robust inputs (issue #18): empty records, truncated compressed files, indexes that belong to
another file, and zero/negative/out-of-range numbers are one-line errors that name the file,
the record or the option, exit non-zero and leave no output behind. Every check here happens
before a model is loaded, so the commands run in this process on tiny files."""

from __future__ import annotations

import gzip
import os
import shutil
import stat

import numpy as np
import pysam
import pytest

from conftest import REPO, assert_one_line_error, run_in_process
from genorrn.errors import InputError
from genorrn.io import Genome

EXAMPLE_FA = REPO / "reference_data" / "athaliana_chr1_test_slice.fa"
EXAMPLE_VCF = REPO / "reference_data" / "athaliana_chr1_test_slice.vcf"
GTF = ('chr1\tt\texon\t11\t20\t.\t+\t.\tgene_id "g"; transcript_id "t";\n'
       'chr1\tt\texon\t31\t40\t.\t+\t.\tgene_id "g"; transcript_id "t";\n')  # fmt: skip


def _write(path, text):
    path.write_text(text)
    return path


def _bgzip(path):
    out = path.with_name(path.name + ".gz")
    pysam.tabix_compress(str(path), str(out), force=True)
    return out


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


# -- empty records --------------------------------------------------------------------------
@pytest.mark.parametrize("content", [
    ">a\nACGTACGT\n>b\nACGT\n>empty\n",          # last: samtools' own message had a literal \n
    ">a\nACGTACGT\n>empty\n>b\nACGT\n",          # middle: samtools indexed it as length 0
    ">empty\n\n>a\nACGTACGT\n",                  # first, with a blank line
])  # fmt: skip
@pytest.mark.parametrize("compressed", [False, True])
def test_empty_record_names_file_and_record(tmp_path, content, compressed):
    path = _write(tmp_path / "g.fa", content)
    path = _bgzip(path) if compressed else path
    with pytest.raises(InputError) as info:
        Genome(path)
    message = str(info.value)
    assert message.startswith(f"{path}: record 'empty': empty sequence"), message
    assert "\\n" not in message and "samtools" not in message


def test_empty_record_in_an_existing_samtools_index(tmp_path, monkeypatch):
    """An index that samtools built (beside the FASTA) lists the empty record with length 0."""
    path = _write(tmp_path / "g.fa", ">a\nACGTACGT\n>empty\n>b\nACGT\n")
    pysam.faidx(str(path))
    with pytest.raises(InputError, match="record 'empty': empty sequence"):
        Genome(path)


def test_predict_splice_empty_record_is_one_line_error(tmp_path, capsys):
    path = _write(tmp_path / "g.fa", ">a\nACGTACGT\n>b\nACGT\n>empty\n")
    result = run_in_process(capsys, "predict", "splice", str(path), "-o", str(tmp_path / "out"))
    assert_one_line_error(result, str(path), "record 'empty'", "empty sequence")
    assert _files(tmp_path) == ["g.fa"]


# -- truncated compressed inputs ------------------------------------------------------------
def _truncated(tmp_path, source, name, keep=0.5, bgzip=True):
    whole = tmp_path / ("whole-" + name)
    if bgzip:
        pysam.tabix_compress(str(source), str(whole), force=True)
    else:
        whole.write_bytes(gzip.compress(source.read_bytes()))
    data = whole.read_bytes()
    whole.unlink()
    path = tmp_path / name
    path.write_bytes(data[: int(len(data) * keep)])
    return path


@pytest.mark.parametrize("keep", [0.5, 0.999])
def test_truncated_bgzip_genome(tmp_path, keep):
    path = _truncated(tmp_path, EXAMPLE_FA, "g.fa.gz", keep)
    with pytest.raises(InputError, match="truncated bgzip file") as info:
        Genome(path)
    assert str(info.value).startswith(str(path))


def test_truncated_bgzip_genome_cli(tmp_path, capsys):
    """Was a Python traceback (EOFError) while scanning the file before indexing."""
    path = _truncated(tmp_path, EXAMPLE_FA, "g.fa.gz")
    gtf = _write(tmp_path / "a.gtf", GTF)
    out = tmp_path / "sites.bed"
    result = run_in_process(capsys, "data", "sites", str(path), str(gtf), "-o", str(out))
    assert_one_line_error(result, str(path), "truncated")
    assert not out.exists()


def test_truncated_plain_gzip_genome(tmp_path):
    path = _truncated(tmp_path, EXAMPLE_FA, "g.fa.gz", bgzip=False)
    with pytest.raises(InputError, match="is it truncated") as info:
        Genome(path)
    assert str(info.value).startswith(str(path))


def test_truncated_protein_fasta(tmp_path, capsys):
    source = _write(tmp_path / "p.faa", "".join(f">p{i}\n{'MKVLAAGIEF' * 40}\n" for i in range(40)))
    path = _truncated(tmp_path, source, "p.faa.gz", bgzip=False)
    out = tmp_path / "out.csv"
    result = run_in_process(capsys, "predict", "structure", str(path), "-o", str(out))
    assert_one_line_error(result, str(path), "truncated")
    assert not out.exists()


def test_truncated_annotation(tmp_path, capsys):
    source = _write(tmp_path / "big.gtf", GTF * 2000)
    path = _truncated(tmp_path, source, "a.gtf.gz", bgzip=False)
    fa = _write(tmp_path / "g.fa", ">chr1\n" + "ACGT" * 30 + "\n")
    out = tmp_path / "sites.bed"
    result = run_in_process(capsys, "data", "sites", str(fa), str(path), "-o", str(out))
    assert_one_line_error(result, str(path), "truncated")
    assert not out.exists()


def test_truncated_test_set_csv(tmp_path, capsys):
    """Was an EOFError traceback: 'evaluate structure --test-csv' on a cut-off CB513 copy."""
    from conftest import shared_path

    data = shared_path("structure", "cb513.csv.gz").read_bytes()
    path = tmp_path / "cb513.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    result = run_in_process(capsys, "evaluate", "structure", "--sets", "", "--test-csv", str(path))
    assert_one_line_error(result, str(path), "truncated")


def test_truncated_pisces_csv(tmp_path):
    from genorrn.data.structure import load_pisces

    source = _write(tmp_path / "p.csv", "pdb_id,chain_code,seq,sst8,sst3\n"
                    + "".join(f"1A{i:02d},A,{'MKV' * 50},{'HEC' * 50},{'HEC' * 50}\n"
                              for i in range(200)))  # fmt: skip
    path = _truncated(tmp_path, source, "p.csv.gz", bgzip=False)
    with pytest.raises(InputError, match="is it truncated") as info:
        load_pisces(path)
    assert str(info.value).startswith(str(path))


def test_truncated_bgzip_vcf(tmp_path, capsys):
    path = _truncated(tmp_path, EXAMPLE_VCF, "v.vcf.gz", keep=0.9)
    out = tmp_path / "out.vcf"
    result = run_in_process(capsys, "predict", "variants", str(path), "-R", str(EXAMPLE_FA),
                            "-o", str(out))  # fmt: skip
    assert_one_line_error(result, str(path), "truncated")
    assert not out.exists()


def test_truncated_splice_shard(tmp_path):
    from genorrn.data.splice import load_shards

    path = tmp_path / "train.npz"
    np.savez_compressed(path, seq=np.zeros((9, 5), np.uint8), label=np.zeros((9, 5), np.uint8),
                        weight=np.ones((9, 5), np.uint8))  # fmt: skip
    path.write_bytes(path.read_bytes()[:150])
    with pytest.raises(InputError, match="truncated") as info:
        load_shards([path])
    assert str(info.value).startswith(str(path))


# -- indexes of other files -----------------------------------------------------------------
A = ">chr1\n" + "ACGTACGTAC\n" * 3 + ">chr2\nGGGGGGGGGG\n"


@pytest.mark.parametrize("other", [
    ">chrA\n" + "TTTTTTTTTT\n" * 3 + ">chrB\nCCCCCCCCCC\n",    # other names, same layout
    ">chr2\nCCCCCCCCCC\n>chr1\n" + "TTTTTTTTTT\n" * 3,        # the same names, swapped
    ">chr1\n" + "TTTTTTTTTTTT\n" * 3 + ">chr2\nCCCCCCCCCC\n",  # other line length
    ">chr1\n" + "TTTTTTTTTT\n" * 4 + ">chr2\nCCCCCCCCCC\n",    # longer first record
])  # fmt: skip
@pytest.mark.parametrize("compressed", [False, True])
def test_index_of_another_file_is_rebuilt(tmp_path, capsys, other, compressed):
    """Such an index used to be trusted (its mtime is newer): errors about records that do not
    exist, or another record's sequence with exit status 0."""
    fasta = _write(tmp_path / "a.fa", A)
    donor = _write(tmp_path / "b.fa", other)
    if compressed:
        fasta, donor = _bgzip(fasta), _bgzip(donor)
    pysam.faidx(str(donor))
    for suffix in (".fai", ".gzi") if compressed else (".fai",):
        shutil.copy(f"{donor}{suffix}", f"{fasta}{suffix}")  # a newer, wrong index
    wrong = (tmp_path / f"{fasta.name}.fai").read_bytes()
    genome = Genome(fasta)
    assert genome.lengths == {"chr1": 30, "chr2": 10}
    assert genome.fetch("chr1", 0, 12) == "ACGTACGTACAC"
    assert genome.fetch("chr2") == "GGGGGGGGGG"
    assert "does not belong to it" in capsys.readouterr().err
    # GENORRN_INDEX_DIR (conftest): the new index went there; the wrong one is left alone
    assert (tmp_path / f"{fasta.name}.fai").read_bytes() == wrong


def test_index_of_a_many_block_bgzip_genome(tmp_path, capsys):
    """40 records over several BGZF blocks (only some records are sampled): the file's own
    index passes; one of the same records in another order (same names, lengths, layout) is
    caught and rebuilt."""
    from genorrn.io.faidx import index_problem, read_gzi

    rng = np.random.default_rng(1)
    records = [(f"c{i}", "".join(rng.choice(list("ACGT"), 6000 + 10 * i))) for i in range(40)]

    def fasta(name, order):
        text = "".join(f">{records[i][0]}\n" + "\n".join(records[i][1][j:j + 60] for j in
                       range(0, len(records[i][1]), 60)) + "\n" for i in order)  # fmt: skip
        return _bgzip(_write(tmp_path / name, text))

    good = fasta("a.fa", range(40))
    pysam.faidx(str(good))
    assert len(read_gzi(f"{good}.gzi")) >= 4  # several blocks
    assert index_problem(good, "bgzip", f"{good}.fai", f"{good}.gzi") is None
    other = fasta("b.fa", [*range(20), 21, 20, *range(22, 40)])  # two middle records swapped
    for suffix in (".fai", ".gzi"):
        shutil.copy(f"{good}{suffix}", f"{other}{suffix}")
    genome = Genome(other)
    assert genome.fetch("c20", 0, 50) == records[20][1][:50]
    assert genome.fetch("c39", 6000, 6390) == records[39][1][6000:]
    assert "does not belong to it" in capsys.readouterr().err


def test_matching_index_beside_the_fasta_is_used(tmp_path, monkeypatch):
    fasta = _bgzip(_write(tmp_path / "a.fa", A))
    pysam.faidx(str(fasta))
    monkeypatch.setenv("GENORRN_INDEX_DIR", str(tmp_path / "indexes"))
    assert Genome(fasta).fetch("chr2", 0, 4) == "GGGG"
    assert not (tmp_path / "indexes").exists()  # nothing built


def test_index_problem_checks_the_end_of_the_file(tmp_path):
    from genorrn.io.faidx import index_problem

    fasta = _write(tmp_path / "a.fa", A)
    pysam.faidx(str(fasta))
    assert index_problem(fasta, "none", f"{fasta}.fai") is None
    with open(fasta, "a") as handle:
        handle.write(">chr3\nACGT\n")  # a record the index does not list
    assert "continues after the last indexed record" in index_problem(fasta, "none", f"{fasta}.fai")


def test_wrong_index_and_no_writable_folder_is_refused(tmp_path, monkeypatch):
    fasta = _write(tmp_path / "a.fa", A)
    donor = _write(tmp_path / "b.fa", ">chrA\n" + "TTTTTTTTTT\n" * 3 + ">chrB\nCCCCCCCCCC\n")
    pysam.faidx(str(donor))
    shutil.copy(f"{donor}.fai", f"{fasta}.fai")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)  # read-only (checked by mode, so even for root)
    monkeypatch.setenv("GENORRN_INDEX_DIR", str(locked))
    try:
        with pytest.raises(InputError) as info:
            Genome(fasta)
    finally:
        locked.chmod(stat.S_IRWXU)
    message = str(info.value)
    assert message.startswith(f"{fasta}: the index {fasta}.fai does not belong to it")
    assert "not writable" in message and "GENORRN_CACHE" in message
    assert not any(locked.iterdir())


def test_index_is_written_under_a_temporary_name(tmp_path, monkeypatch):
    """A failed build leaves no index (else the next run would trust a broken one)."""
    fasta = _write(tmp_path / "a.fa", ">a\nACGTAC\nACG\nACGTAC\n")  # lines of unequal length
    monkeypatch.setenv("GENORRN_INDEX_DIR", str(tmp_path / "indexes"))
    with pytest.raises(InputError, match="cannot index FASTA .*same length"):
        Genome(fasta)
    assert [p for p in (tmp_path / "indexes").rglob("*") if p.is_file()] == []


# -- regions naming missing records ---------------------------------------------------------
def test_region_on_a_missing_record_lists_the_records(tmp_path, capsys):
    result = run_in_process(capsys, "predict", "splice", str(EXAMPLE_FA), "--region",
                            "NC_003070.9:25000001-25001000", "-o", str(tmp_path / "x"))  # fmt: skip
    assert_one_line_error(result, "no record named 'NC_003070.9'",
                          "records: 'NC_003070.9_25000001-25100000'")
    assert _files(tmp_path) == []


def test_missing_record_lists_at_most_five_names(tmp_path):
    path = _write(tmp_path / "g.fa", "".join(f">c{i}\nACGT\n" for i in range(8)))
    with pytest.raises(InputError, match=r"records: 'c0', 'c1', 'c2', 'c3', 'c4' … \(8 in all\)"):
        Genome(path).fetch("chrX", 0, 1)


# -- numbers on the command line ------------------------------------------------------------
FA, GFF = str(EXAMPLE_FA), str(REPO / "reference_data" / "athaliana_chr1_test_slice.gff3")
NUMBERS = [
    (("predict", "splice", FA, "-o", "x"), "--chunk-size", "0"),
    (("predict", "splice", FA, "-o", "x"), "--chunk-size", "-5"),
    (("predict", "splice", FA, "-o", "x"), "--batch-size", "0"),
    (("predict", "splice", FA, "-o", "x"), "--flank", "-1"),
    (("predict", "splice", FA, "-o", "x"), "--threshold", "1.5"),
    (("predict", "splice", FA, "-o", "x"), "--threshold", "nan"),
    (("predict", "splice", FA, "-o", "x"), "--zoom-levels", "11"),
    (("predict", "structure", FA, "-o", "x"), "--chunk-size", "0"),
    (("predict", "structure", FA, "-o", "x"), "--batch-size", "0"),
    (("predict", "structure", FA, "-o", "x"), "--flank", "-3"),
    (("predict", "variants", "v.vcf", "-R", FA, "-o", "x"), "--distance", "-1"),
    (("predict", "variants", "v.vcf", "-R", FA, "-o", "x"), "--chunk-size", "0"),
    (("predict", "variants", "v.vcf", "-R", FA, "-o", "x"), "--batch-size", "0"),
    (("predict", "variants", "v.vcf", "-R", FA, "-o", "x"), "--flank", "-1"),
    (("evaluate", "splice", FA, GFF), "--chunk-size", "0"),
    (("evaluate", "structure",), "--batch-size", "0"),
    (("plot", "splice", FA, "--region", "x", "-o", "x.png"), "--flank", "-2"),
    (("plot", "structure", FA, "-o", "x.png"), "--chunk-size", "0"),
    (("data", "splice", FA, GFF, "-o", "x"), "--core", "0"),
    (("data", "splice", FA, GFF, "-o", "x"), "--context", "-1"),
    (("data", "splice", FA, GFF, "-o", "x"), "--offset", "-1"),
    (("data", "homology-filter", "-o", "x"), "--max-chains", "0"),
    (("data", "homology-filter", "-o", "x"), "--threads", "0"),
    (("train", "splice", "shards", "-o", "x"), "--units", "64,0"),
    (("train", "splice", "shards", "-o", "x"), "--learning-rate", "0"),
    (("train", "splice", "shards", "-o", "x"), "--learning-rate", "-1e-3"),
    (("train", "splice", "shards", "-o", "x"), "--seed", "-1"),
    (("train", "splice", "shards", "-o", "x"), "--epochs", "0"),
    (("train", "splice", "shards", "-o", "x"), "--batch-size", "0"),
    (("train", "structure", "-o", "x"), "--max-len", "0"),
    (("train", "structure", "-o", "x"), "--dropout", "1"),
    (("models", "calibrate", "m"), "--max-chains", "0"),
    (("evaluate", "structure",), "--max-chains", "0"),
    (("evaluate", "structure",), "--max-chains", "-1"),
    (("evaluate", "splice", FA, GFF), "--threshold", "1.5"),
    (("train", "splice", "shards", "-o", "x"), "--site-weight", "0"),
    (("train", "splice", "shards", "-o", "x"), "--site-weight", "-2"),
]


@pytest.mark.parametrize("command,option,value", NUMBERS,
                         ids=[f"{' '.join(c[:2])} {o} {v}" for c, o, v in NUMBERS])  # fmt: skip
def test_bad_numbers_are_refused_when_parsed(tmp_path, capsys, monkeypatch, command, option,
                                             value):  # fmt: skip
    monkeypatch.chdir(tmp_path)
    result = run_in_process(capsys, *command, f"{option}={value}")
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert f"argument {option}" in last or option.lstrip("-") in last, last
    assert "Traceback" not in result.stderr
    assert os.listdir(tmp_path) == []


def test_good_numbers_still_parse():
    from genorrn.cli import build_parser

    args = build_parser().parse_args(["predict", "splice", "g.fa", "-o", "x", "--flank", "0",
                                      "--chunk-size", "1", "--threshold", "1"])  # fmt: skip
    assert (args.flank, args.chunk_size, args.threshold) == (0, 1, 1.0)
    args = build_parser().parse_args(["train", "splice", "s", "-o", "x", "--units", "8,4",
                                      "--learning-rate", "1e-4", "--seed", "0"])  # fmt: skip
    assert (args.units, args.learning_rate, args.seed) == ([8, 4], 1e-4, 0)


# -- data splice leaves nothing behind ------------------------------------------------------
def test_data_splice_gff3_without_exons_leaves_no_folder(tmp_path, capsys):
    fa = _write(tmp_path / "g.fa", ">chr1\n" + "ACGT" * 30 + "\n")
    gff = _write(tmp_path / "genes.gff3", "##gff-version 3\nchr1\tt\tgene\t1\t50\t.\t+\t.\tID=g1\n")
    out = tmp_path / "shards"
    result = run_in_process(capsys, "data", "splice", str(fa), str(gff), "-o", str(out))
    assert_one_line_error(result, str(gff), "no exon lines")
    assert not out.exists()


def test_data_splice_failing_write_removes_the_folder_it_made(tmp_path, monkeypatch):
    import genorrn.data.splice as splice

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(splice.np, "savez_compressed", fail)
    arrays = {"seq": np.zeros((1, 3), np.uint8)}
    with pytest.raises(OSError, match="disk full"):
        splice.write_shards(tmp_path / "new", {"train": arrays, "test": arrays}, {})
    assert not (tmp_path / "new").exists()
    kept = tmp_path / "old"
    kept.mkdir()
    (kept / "manifest.json").write_text("{}")
    with pytest.raises(OSError, match="disk full"):
        splice.write_shards(kept, {"train": arrays}, {"new": 1})
    assert _files(kept) == ["manifest.json"] and (kept / "manifest.json").read_text() == "{}"
