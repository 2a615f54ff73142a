"""The command line: version and help, one-line errors, no partial outputs. Commands run in
this process (``run_in_process``) except where the process itself is under test (the module
entry point, a traceback on stderr)."""

import pytest

from conftest import assert_one_line_error, run_cli, run_in_process
from genorrn import __version__


def test_version_and_help(capsys):
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"genorrn {__version__}"
    result = run_in_process(capsys, "--help")
    assert result.returncode == 0
    for group in ("predict", "train", "evaluate", "models", "data"):
        assert group in result.stdout


def test_data_sites_on_real_data(dmel_dir, tmp_path, capsys):
    out = tmp_path / "sites.bed"
    result = run_in_process(
        capsys, "data", "sites", str(dmel_dir / "genome.fna.gz"), str(dmel_dir / "annotation.gff3.gz"),
        "-o", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in out.read_text().splitlines()]
    assert len(rows) == 792 + 749
    assert all(len(r) == 6 and int(r[2]) - int(r[1]) == 1 and r[5] in "+-" for r in rows)
    assert '"fraction_GT_AG": 0.98' in result.stdout


def test_missing_input_is_one_line_error(tmp_path, capsys):
    out = tmp_path / "sites.bed"
    result = run_in_process(capsys, "data", "sites", str(tmp_path / "nope.fa"), str(tmp_path / "a.gtf"), "-o", str(out))
    assert_one_line_error(result, "nope.fa", "not found")
    assert not out.exists()


def test_debug_shows_traceback(tmp_path):
    result = run_cli("--debug", "data", "sites", "nope.fa", "a.gtf", "-o", str(tmp_path / "x.bed"))
    assert result.returncode != 0 and "Traceback" in result.stderr


def _genome_and_gtf(tmp_path, chrom="chr1"):
    fa = tmp_path / "g.fa"
    fa.write_text(">chr1\n" + "ACGT" * 30 + "\n")
    gtf = tmp_path / "a.gtf"
    gtf.write_text(
        f'{chrom}\tt\texon\t11\t20\t.\t+\t.\tgene_id "g"; transcript_id "t";\n'
        f'{chrom}\tt\texon\t31\t40\t.\t+\t.\tgene_id "g"; transcript_id "t";\n'
    )
    return fa, gtf


def test_chromosome_mismatch_cli(tmp_path, capsys):
    fa, gtf = _genome_and_gtf(tmp_path, chrom="1")
    out = tmp_path / "sites.bed"
    result = run_in_process(capsys, "data", "sites", str(fa), str(gtf), "-o", str(out))
    assert_one_line_error(result, "a.gtf", "'1'", "--chr-prefix add")
    assert not out.exists()
    result = run_in_process(capsys, "data", "sites", str(fa), str(gtf), "-o", str(out),
                            "--chr-prefix", "add")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert out.read_text() == "chr1\t19\t20\tdonor\t0\t+\nchr1\t30\t31\tacceptor\t0\t+\n"


def test_protein_fasta_where_dna_expected(tmp_path, capsys):
    fa = tmp_path / "p.faa"
    fa.write_text(">sp|P1\nMKVLAAGIEFQWER\n")
    _, gtf = _genome_and_gtf(tmp_path)
    result = run_in_process(capsys, "data", "sites", str(fa), str(gtf), "-o", str(tmp_path / "s.bed"))
    assert_one_line_error(result, "p.faa", "not DNA", "protein")


def test_missing_output_folder(tmp_path, capsys):
    fa, gtf = _genome_and_gtf(tmp_path)
    result = run_in_process(capsys, "data", "sites", str(fa), str(gtf), "-o", str(tmp_path / "no" / "s.bed"))
    assert_one_line_error(result, "does not exist")


def test_unwritable_output_folder(tmp_path, capsys):
    fa, gtf = _genome_and_gtf(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    result = run_in_process(capsys, "data", "sites", str(fa), str(gtf), "-o", str(locked / "s.bed"))
    assert_one_line_error(result, "not writable")
    assert list(locked.iterdir()) == []


def test_output_path_whose_parent_is_a_file(tmp_path, capsys):
    fa, gtf = _genome_and_gtf(tmp_path)
    result = run_in_process(capsys, "data", "sites", str(fa), str(gtf), "-o", str(fa / "s.bed"))
    assert_one_line_error(result, "is not a folder")


def test_no_partial_output_when_writing_fails(tmp_path, monkeypatch):
    """A crash in the middle of writing leaves neither the output nor its temporary file."""
    from genorrn.io.tracks import write_bed6

    out = tmp_path / "sites.bed"

    def rows():
        yield ("chr1", 0, 1, "donor", 0, "+")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_bed6(out, rows())
    assert list(tmp_path.iterdir()) == []


def test_group_without_subcommand_prints_help(capsys):
    result = run_in_process(capsys, "models")
    assert result.returncode == 2 and "list" in result.stdout
