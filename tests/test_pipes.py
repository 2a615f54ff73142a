"""Standard input (``-``) and pipes (``<(zcat x.gz)``, a FIFO) are read once wherever an input
can be streamed (protein FASTA, DNA FASTA of ``predict splice`` without ``--region``, the VCF of
``predict variants``), and refused with one line where a real file is needed. Most tests run
in this process with tiny models; the two marked slow run the shell pipelines of the README."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
import threading

import pytest

from conftest import REPO, assert_one_line_error, cli, run_in_process
from genorrn.errors import InputError
from genorrn.io import Genome, iter_fasta

EXAMPLE_FA = REPO / "reference_data" / "athaliana_chr1_test_slice.fa"
EXAMPLE_VCF = REPO / "reference_data" / "athaliana_chr1_test_slice.vcf"
PROTEINS = REPO / "reference_data" / "proteins" / "example.faa"


def fifo_with(tmp_path, data: bytes, name: str = "pipe"):
    """A named pipe that a background thread fills with ``data`` once a reader opens it."""
    path = tmp_path / name
    os.mkfifo(path)

    def write():
        with open(path, "wb") as handle:
            try:
                handle.write(data)
            except BrokenPipeError:
                pass

    threading.Thread(target=write, daemon=True).start()
    return path


@pytest.fixture
def stdin_bytes(monkeypatch):
    """Make standard input these bytes (as ``cat file | genorrn …`` would)."""

    def feed(data: bytes):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))

    return feed


@pytest.fixture(scope="module")
def splice_model(tmp_path_factory):
    import keras

    from genorrn.models import LabellerConfig, build_labeller

    keras.utils.set_random_seed(7)
    path = tmp_path_factory.mktemp("splice_model") / "tiny_splice.keras"
    build_labeller(LabellerConfig(lstm_units=[4], conv_filters=0), name="genorrn_splice").save(path)
    return path


@pytest.fixture
def small_genome(tmp_path):
    """The first 12 kb of the bundled slice (two strands, a few chunks)."""
    path = tmp_path / "small.fa"
    lines = EXAMPLE_FA.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:151]))
    return path


# -- the readers ----------------------------------------------------------------------------
def test_iter_fasta_reads_a_gzip_pipe_once(tmp_path):
    data = gzip.compress(b">p1 kinase\nMKV\nLA\n>p2\nGG*\n")
    records = list(iter_fasta(fifo_with(tmp_path, data)))
    assert [(r.id, r.description, r.sequence) for r in records] == [("p1", "kinase", "MKVLA"),
                                                                    ("p2", "", "GG*")]  # fmt: skip


def test_read_proteins_from_standard_input(stdin_bytes):
    from genorrn.data.proteins import read_proteins

    stdin_bytes(gzip.compress(PROTEINS.read_bytes()))
    from_stdin = list(read_proteins("-"))
    assert from_stdin == list(read_proteins(PROTEINS)) and len(from_stdin) > 1
    stdin_bytes(b">a\nMKV\n>b\n")
    with pytest.raises(InputError, match=r"^standard input: record 'b': empty sequence"):
        list(read_proteins("-"))


def test_truncated_gzip_on_standard_input(stdin_bytes):
    data = gzip.compress(PROTEINS.read_bytes())
    stdin_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"^standard input: cannot read .*truncated"):
        list(iter_fasta("-"))


def test_genome_from_a_pipe_is_spooled_and_indexed(tmp_path, small_genome):
    data = gzip.compress(small_genome.read_bytes())
    piped = Genome(fifo_with(tmp_path, data), stream=True)
    whole = Genome(small_genome)
    assert piped.lengths == whole.lengths
    name = piped.names[0]
    assert piped.fetch(name, 100, 9000, "-") == whole.fetch(name, 100, 9000, "-")
    spool = piped.path.parent
    assert spool.is_dir() and spool != tmp_path
    del piped
    import gc

    gc.collect()
    assert not spool.exists()  # the temporary copy and its index are removed


def test_genome_from_a_pipe_checks_every_base(tmp_path):
    data = b">a\nACGT\n>b\nACGTACGT\nACGJ\n"
    with pytest.raises(InputError, match=r"pipe2: record 'b': not DNA: character 'J' at "
                                         r"position 12$"):  # fmt: skip
        Genome(fifo_with(tmp_path, data, "pipe2"), stream=True)


def test_genome_refuses_a_pipe_unless_asked(tmp_path):
    path = fifo_with(tmp_path, b">a\nACGT\n")
    with pytest.raises(InputError, match="a pipe or standard input cannot be read here: .*random "
                                         "access"):  # fmt: skip
        Genome(path)
    with pytest.raises(InputError, match="^standard input: a pipe"):
        Genome("-")


# -- commands that need a real file ----------------------------------------------------------
def test_region_needs_a_file(capsys, tmp_path):
    result = run_in_process(capsys, "predict", "splice", "-", "--region", "chr1:1-100", "-o",
                            str(tmp_path / "x"))  # fmt: skip
    assert_one_line_error(result, "standard input", "--region", "random access")
    assert os.listdir(tmp_path) == []


def test_variant_genome_and_shard_need_files(capsys, tmp_path):
    out = str(tmp_path / "out.vcf")
    result = run_in_process(capsys, "predict", "variants", str(EXAMPLE_VCF), "-R", "-", "-o", out)
    assert_one_line_error(result, "standard input", "random access")
    vcf = fifo_with(tmp_path, EXAMPLE_VCF.read_bytes(), "v.vcf")
    result = run_in_process(capsys, "predict", "variants", str(vcf), "-R", str(EXAMPLE_FA), "-o",
                            out, "--shard", "1/2")  # fmt: skip
    assert_one_line_error(result, str(vcf), "--shard")
    assert sorted(os.listdir(tmp_path)) == ["v.vcf"]


def test_annotation_and_genome_of_data_commands_need_files(capsys, tmp_path):
    gff = REPO / "reference_data" / "athaliana_chr1_test_slice.gff3"
    out = tmp_path / "sites.bed"
    result = run_in_process(capsys, "data", "sites", "-", str(gff), "-o", str(out))
    assert_one_line_error(result, "standard input", "random access")
    result = run_in_process(capsys, "data", "sites", str(EXAMPLE_FA), "-", "-o", str(out))
    assert_one_line_error(result, "standard input", "annotation must be a file")
    assert not out.exists()


def test_help_says_which_inputs_need_files(capsys):
    texts = {}
    for command in ("splice", "variants", "structure"):
        result = run_in_process(capsys, "predict", command, "--help")
        texts[command] = " ".join(result.stdout.split())
    assert "--region needs a FASTA file" in texts["splice"]
    assert "The genome (-R) must be a FASTA file" in texts["variants"]
    assert "not with --shard" in texts["variants"]
    assert "INPUT may be - (standard input) or a pipe" in texts["structure"]


# -- commands reading a pipe, in this process -------------------------------------------------
def test_predict_structure_from_standard_input(tmp_path, capsys, stdin_bytes,
                                               structure_model_path):  # fmt: skip
    model = ("--model", str(structure_model_path))
    assert cli("predict", "structure", str(PROTEINS), "-o", str(tmp_path / "file.csv"), *model) == 0
    stdin_bytes(gzip.compress(PROTEINS.read_bytes()))
    result = run_in_process(capsys, "predict", "structure", "-", "-o", str(tmp_path / "pipe.csv"),
                            *model)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "pipe.csv").read_text() == (tmp_path / "file.csv").read_text()
    assert f"-> {tmp_path / 'pipe.csv'}" in result.stderr
    # an error in the piped input: named as standard input, nothing written, no copy left
    stdin_bytes(b">a\nMKV\n>b\nMK1\n")
    result = run_in_process(capsys, "predict", "structure", "-", "-o", str(tmp_path / "bad.csv"),
                            *model)  # fmt: skip
    assert_one_line_error(result, "standard input: record 'b'")
    assert sorted(os.listdir(tmp_path)) == ["file.csv", "pipe.csv"]


def test_predict_splice_from_a_pipe_lists_what_it_wrote(tmp_path, capsys, splice_model,
                                                        small_genome):  # fmt: skip
    common = ("--model", str(splice_model), "--format", "bedgraph", "--chunk-size", "2000",
              "--flank", "500")  # fmt: skip
    assert cli("predict", "splice", str(small_genome), "-o", str(tmp_path / "file"), *common) == 0
    pipe = fifo_with(tmp_path, gzip.compress(small_genome.read_bytes()))
    result = run_in_process(capsys, "predict", "splice", str(pipe), "-o", str(tmp_path / "pipe"),
                            *common)  # fmt: skip
    assert result.returncode == 0, result.stderr
    names = [f"{s}.{t}.bedgraph" for s in ("acceptor", "donor") for t in ("plus", "minus")]
    names.append("sites.bed")
    wrote = [line for line in result.stderr.splitlines() if line.startswith("genorrn: predicted")]
    assert len(wrote) == 1, result.stderr
    assert wrote[0].startswith("genorrn: predicted 12000 bases on both strands (24000 positions, "
                               "1 region(s)) in ")  # fmt: skip
    assert wrote[0].endswith(" -> " + ", ".join(str(tmp_path / f"pipe.{n}") for n in names))
    for name in names:
        assert (tmp_path / f"pipe.{name}").read_text() == (tmp_path / f"file.{name}").read_text()


def test_predict_splice_summary_counts_bases_and_says_what_its_rate_includes(
        tmp_path, capsys, splice_model, small_genome):  # fmt: skip
    """Issue #18: '"positions": 24000' for 12 kb did not say it counts both strands, and the
    rate of a short run (mostly start-up: model loading, tracing) came without a hint."""
    import json

    common = ("--model", str(splice_model), "--format", "bedgraph", "--flank", "500",
              "--batch-size", "2")  # fmt: skip
    for chunk, steps in (("20000", 1), ("2000", 6)):  # a strand in one lane: 1 or 6 chunks
        result = run_in_process(capsys, "predict", "splice", str(small_genome), "-o",
                                str(tmp_path / f"c{chunk}"), *common, "--chunk-size", chunk)  # fmt: skip
        assert result.returncode == 0, result.stderr
        lines = result.stderr.splitlines()
        summary = json.loads(next(line for line in lines if line.startswith("{")))
        assert "positions" not in summary
        assert summary["bases"] == 12000 and summary["positions_both_strands"] == 24000
        assert summary["seconds"] > 0 and summary["nt_per_s_incl_startup"] > 0
        (said,) = [line for line in lines if line.startswith("genorrn: predicted")]
        assert "12000 bases on both strands (24000 positions" in said
        if steps == 1:  # nothing to time but start-up: say so
            assert summary["nt_per_s_steady"] is None
            assert f"{summary['nt_per_s_incl_startup']} nt/s including start-up" in said
        else:
            assert summary["nt_per_s_steady"] > 0
            assert f"{summary['nt_per_s_steady']} nt/s after the first batch" in said


def test_predict_variants_reads_a_vcf_pipe_once(tmp_path, capsys, splice_model):
    lines = EXAMPLE_VCF.read_text().splitlines(keepends=True)
    header = [line for line in lines if line.startswith("#")]
    vcf = tmp_path / "some.vcf"  # the header and 4 records: an SNV, <DEL>, an indel
    vcf.write_text("".join(header + [lines[len(header) + i] for i in (0, 1, 2, 5)]))
    common = ("-R", str(EXAMPLE_FA), "--model", str(splice_model), "--uncalibrated", "-D", "5",
              "--flank", "200")  # fmt: skip
    assert cli("predict", "variants", str(vcf), "-o", str(tmp_path / "file.vcf"), *common) == 0
    pipe = fifo_with(tmp_path, gzip.compress(vcf.read_bytes()), "in.vcf")
    result = run_in_process(capsys, "predict", "variants", str(pipe), "-o",
                            str(tmp_path / "pipe.vcf"), *common)  # fmt: skip
    assert result.returncode == 0, result.stderr
    records = [(tmp_path / f"{n}.vcf").read_text().split("#CHROM")[1] for n in ("file", "pipe")]
    assert records[0] == records[1] and "genorrn=" in records[0]


# -- the README's shell pipelines ----------------------------------------------------------------
def _shell(command: str, cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "GENORRN": f"{sys.executable} -m genorrn"}
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, cwd=cwd,
                          env=env)  # fmt: skip


@pytest.mark.slow
def test_shell_pipe_and_process_substitution_structure(tmp_path, structure_model_path):
    (tmp_path / "p.faa.gz").write_bytes(gzip.compress(PROTEINS.read_bytes()))
    model = f"--model {structure_model_path}"
    result = _shell(f"zcat p.faa.gz | $GENORRN predict structure - -o a.csv {model} && "
                    f"$GENORRN predict structure <(zcat p.faa.gz) -o b.csv {model}", tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()
    assert (tmp_path / "a.csv").read_text().count("\n") > 100


@pytest.mark.slow
def test_shell_process_substitution_splice(tmp_path, splice_model, small_genome):
    (tmp_path / "g.fa.gz").write_bytes(gzip.compress(small_genome.read_bytes()))
    result = _shell(f"$GENORRN predict splice <(zcat g.fa.gz) -o pred --format bedgraph --model "
                    f"{splice_model} --chunk-size 2000 --flank 500", tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "pred.sites.bed" in result.stderr
    assert (tmp_path / "pred.acceptor.plus.bedgraph").stat().st_size > 0
    result = _shell(f"$GENORRN predict splice <(zcat g.fa.gz) -o pred2 --region x:1-10 "
                    f"--model {splice_model}", tmp_path)  # fmt: skip
    assert result.returncode != 0 and "random access" in result.stderr
    assert "Traceback" not in result.stderr and not list(tmp_path.glob("pred2*"))
