"""``genorrn predict variants``: the bundled example end to end, pipes, SpliceAI's field name
and masking, unsorted/gzip/lowercase input, and every bad-input path."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pysam
import pytest

from conftest import assert_one_line_error, run_in_process

REFERENCE = Path(__file__).resolve().parents[1] / "reference_data"
VCF = REFERENCE / "athaliana_chr1_test_slice.vcf"
GFF3 = REFERENCE / "athaliana_chr1_test_slice.gff3"
FIELDS = "ALLELE|SYMBOL|DS_AG|DS_AL|DS_DG|DS_DL|DP_AG|DP_AL|DP_DG|DP_DL"
#: the smallest shipped model (flank 1,000 instead of 3,000): where the model is not under test
SMALL = "splice-athaliana-v1"


@pytest.fixture(scope="module")
def fasta(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("genome") / "slice.fa"
    path.write_bytes((REFERENCE / "athaliana_chr1_test_slice.fa").read_bytes())
    return path


def _summary(stderr: str) -> dict:
    lines = [line for line in stderr.splitlines() if line.startswith("{")]
    return json.loads(lines[-1])


def _entries(record, info_id="genorrn") -> list[list[str]]:
    return [entry.split("|") for entry in record.info.get(info_id, ())]


@pytest.fixture(scope="module")
def example_output(tmp_path_factory, fasta):
    """The README's command on the bundled example (bgzipped output with an index)."""
    from conftest import cli

    out = tmp_path_factory.mktemp("variants") / "example.vcf.gz"
    import io
    from contextlib import redirect_stderr

    err = io.StringIO()
    with redirect_stderr(err):
        code = cli("predict", "variants", str(VCF), "-R", str(fasta), "-A", str(GFF3),
                   "-o", str(out))  # fmt: skip
    assert code == 0, err.getvalue()
    return out, _summary(err.getvalue())


@pytest.mark.slow
def test_example_keeps_every_header_line_and_record(example_output):
    out, summary = example_output
    assert Path(f"{out}.tbi").exists()
    original = pysam.VariantFile(str(VCF))
    scored = pysam.VariantFile(str(out))
    for line in str(original.header).splitlines()[:-1]:
        assert line in str(scored.header)
    info = scored.header.info["genorrn"]
    assert info.number == "." and info.type == "String"
    assert FIELDS in info.description and "sha256 " in info.description
    assert "splice-athaliana-v3" in info.description
    before = [(r.chrom, r.pos, r.id, r.ref, r.alts, r.info["NOTE"]) for r in original]
    after = list(scored)
    assert [(r.chrom, r.pos, r.id, r.ref, r.alts, r.info["NOTE"]) for r in after] == before
    assert summary["records"] == len(before) == 20
    assert summary["scored"] == 18
    assert summary["not_scored"] == {"symbolic_alt": 1, "outside_genes": 1}
    # a tabix query works on the indexed output
    assert len(list(scored.fetch(after[0].chrom, 38_000, 40_000))) == 2


@pytest.mark.slow
def test_example_biology(example_output):
    """Breaking an annotated GT/AG is a large loss at that site; neutral SNVs score low."""
    out, _ = example_output
    checked = {"dinucleotide": 0, "neutral": 0}
    for record in pysam.VariantFile(str(out)):
        note = record.info["NOTE"]
        entries = _entries(record)
        if note in ("symbolic", "intergenic"):
            assert not entries
            continue
        assert len(entries) == len(record.alts)  # one gene overlaps each variant here
        for entry in entries:
            assert entry[0] in record.alts and len(entry) == 10
            ds = [float(x) for x in entry[2:6]]
            assert all(0.0 <= x <= 1.0 for x in ds)
            assert all(-50 <= int(x) <= 50 for x in entry[6:])
            if note.endswith("_dinucleotide"):
                loss = ds[1] if note.startswith("acceptor") else ds[3]
                assert loss >= 0.5, (record, entry)
                # the lost site is next to the variant (+/-2 nt of the dinucleotide)
                place = int(entry[7] if note.startswith("acceptor") else entry[9])
                assert abs(place) <= 2, (record, entry)
                checked["dinucleotide"] += 1
            if note == "neutral_gene_body":
                assert max(ds) < 0.2, (record, entry)
                checked["neutral"] += 1
    assert checked == {"dinucleotide": 8, "neutral": 6}  # the example VCF's records


@pytest.mark.slow
def test_pipe_stdin_to_stdout_both_strands(fasta):
    """`… | genorrn predict variants - -R GENOME -o - | …`, without an annotation (with the
    small shipped model, SMALL: the pipes are under test, not the model)."""
    text = "".join(line for line in VCF.read_text().splitlines(keepends=True)
                   if line.startswith("#") or "var14\t" in line or "var1\t" in line)  # fmt: skip
    result = subprocess.run([sys.executable, "-m", "genorrn", "predict", "variants", "-",
                             "-R", str(fasta), "-o", "-", "--model", SMALL], input=text,
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stderr
    body = [line for line in result.stdout.splitlines() if not line.startswith("#")]
    assert len(body) == 2
    info = dict(kv.split("=", 1) for kv in body[1].split("\t")[7].split(";"))
    entries = [e.split("|") for e in info["genorrn"].split(",")]
    assert [e[1] for e in entries] == [".:+", ".:-"]
    assert float(entries[0][5]) >= 0.5  # the + strand donor of AT1G67060 is lost
    assert _summary(result.stderr)["scored"] == 2


@pytest.mark.slow
def test_spliceai_field_mask_unsorted_gzip_lowercase(tmp_path, fasta, capsys, example_output):
    """--info-id SpliceAI -M on an unsorted, plain-gzip VCF with lowercase alleles: each masked
    score is the example's unmasked score, except where the unmasked maximum sits at a masked
    position (a gain at an annotated site, a loss at a non-site of that class), which counts 0."""
    lines = VCF.read_text().splitlines(keepends=True)
    header = [line for line in lines if line.startswith("#")]
    body = [line for line in lines if not line.startswith("#")][::-1]
    body = ["\t".join(c.lower() if i in (3, 4) and not c.startswith("<") else c
                      for i, c in enumerate(line.split("\t"))) for line in body]  # fmt: skip
    source = tmp_path / "unsorted.vcf.gz"
    with gzip.open(source, "wt") as handle:  # plain gzip, not bgzip
        handle.write("".join(header + body))
    out = tmp_path / "masked.vcf"
    result = run_in_process(capsys, "predict", "variants", str(source), "-R", str(fasta), "-A",
                            str(GFF3), "-o", str(out), "--info-id", "SpliceAI", "-M")  # fmt: skip
    assert result.returncode == 0, result.stderr
    masked = {r.id: _entries(r, "SpliceAI") for r in pysam.VariantFile(str(out))}
    plain = {r.id: _entries(r) for r in pysam.VariantFile(str(example_output[0]))}
    assert list(masked) == [line.split("\t")[2] for line in body]  # input order kept
    from genorrn.io import read_annotation

    sites = {}  # gene symbol -> (annotated acceptors, annotated donors), 0-based
    for gene in read_annotation(GFF3).genes.values():
        pairs = [tx.splice_sites() for tx in gene.transcripts]
        sites[gene.symbol] = tuple({int(x) for pair in pairs for x in pair[k]} for k in (0, 1))
    positions = {r.id: r.pos - 1 for r in pysam.VariantFile(str(VCF))}
    masked_here = 0
    for vid, entries in plain.items():
        assert len(masked[vid]) == len(entries)
        for m, p in zip(masked[vid], entries):
            assert m[0].upper() == p[0] and m[1] == p[1]
            acceptors, donors = sites[p[1]]
            for k, (annotated, gain) in enumerate(((acceptors, True), (acceptors, False),
                                                   (donors, True), (donors, False))):  # fmt: skip
                place = positions[vid] + int(p[6 + k])  # the unmasked maximum
                if (place in annotated) == gain:  # masked position: counts 0 now
                    assert float(m[2 + k]) <= float(p[2 + k]), (vid, k, m, p)
                    masked_here += m[2 + k] != p[2 + k]
                else:  # unmasked maximum: the same score at the same place
                    assert (m[2 + k], m[6 + k]) == (p[2 + k], p[6 + k]), (vid, k, m, p)
    # measured: var10's A and G alleles gain most (0.01) at -8, an annotated acceptor of TRM22
    assert masked_here >= 1
    # a site-breaking SNV keeps its loss at the annotated site
    assert float(masked["var14"][0][5]) >= 0.5


def test_strict_ref_mismatch_and_counting(tmp_path, fasta, capsys):
    lines = VCF.read_text().splitlines(keepends=True)
    bad = [line if "var14\t" not in line else line.replace("\tG\tT\t", "\tC\tT\t") for line in lines]
    source = tmp_path / "mismatch.vcf"
    source.write_text("".join(bad[:5] + [line for line in bad[5:] if "var14\t" in line]))
    out = tmp_path / "out.vcf"
    result = run_in_process(capsys, "predict", "variants", str(source), "-R", str(fasta),
                            "-o", str(out), "--strict")  # fmt: skip
    assert_one_line_error(result, str(source), "38977", "REF 'C'", "'G'", "--strict")
    assert not out.exists() and not list(tmp_path.glob(".*tmp*"))
    result = run_in_process(capsys, "predict", "variants", str(source), "-R", str(fasta),
                            "-o", str(out))  # fmt: skip
    assert result.returncode == 0
    assert _summary(result.stderr)["not_scored"] == {"ref_mismatch": 1}
    assert "genorrn=" not in out.read_text().splitlines()[-1]


@pytest.mark.slow
def test_contig_not_in_fasta_with_prefix_hint(tmp_path, fasta, capsys):
    text = VCF.read_text().replace("NC_003070.9_25000001", "chrNC_003070.9_25000001")
    source = tmp_path / "chr.vcf"
    source.write_text("\n".join(line for line in text.splitlines() if "var14\t" in line or
                                line.startswith("#")) + "\n")  # fmt: skip
    out = tmp_path / "out.vcf"
    result = run_in_process(capsys, "predict", "variants", str(source), "-R", str(fasta),
                            "-o", str(out), "--model", SMALL)  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = _summary(result.stderr)
    assert summary["not_scored"] == {"contig_not_in_fasta": 1}
    assert "--chr-prefix strip" in summary["hint"]
    result = run_in_process(capsys, "predict", "variants", str(source), "-R", str(fasta),
                            "-o", str(out), "--chr-prefix", "strip", "--model", SMALL)  # fmt: skip
    assert result.returncode == 0 and _summary(result.stderr)["scored"] == 1
    assert "chrNC_003070.9" in out.read_text().splitlines()[-1]  # names kept in the output


@pytest.mark.parametrize(
    "case, fragments",
    [
        ("fasta_as_vcf", ["not a readable VCF"]),
        ("no_chrom_header", ["not a readable VCF", "#CHROM"]),
        ("empty", ["VCF file is empty"]),
        ("missing", ["VCF file not found"]),
        ("missing_folder", ["does not exist"]),
        ("mask_without_annotation", ["--mask needs an annotation"]),
        ("bad_info_id", ["not a valid VCF INFO ID"]),
        ("info_id_taken", ["already has an INFO/NOTE field"]),
    ],
)
def test_bad_input(tmp_path, fasta, capsys, case, fragments):
    source, extra = VCF, []
    out = tmp_path / "out.vcf.gz"
    if case == "fasta_as_vcf":
        source = fasta
    elif case == "no_chrom_header":
        source = tmp_path / "nochrom.vcf"
        source.write_text("".join(line for line in VCF.read_text().splitlines(keepends=True)
                                  if not line.startswith("#CHROM")))  # fmt: skip
    elif case == "empty":
        source = tmp_path / "empty.vcf"
        source.write_text("")
    elif case == "missing":
        source = tmp_path / "absent.vcf"
    elif case == "missing_folder":
        out = tmp_path / "no" / "such" / "out.vcf.gz"
    elif case == "mask_without_annotation":
        extra = ["-M"]
    elif case == "bad_info_id":
        extra = ["--info-id", "9bad id"]
    elif case == "info_id_taken":
        extra = ["--info-id", "NOTE"]
    result = run_in_process(capsys, "predict", "variants", str(source), "-R", str(fasta),
                            "-o", str(out), *extra)  # fmt: skip
    assert_one_line_error(result, *fragments)
    assert not out.exists()
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".out")]


@pytest.mark.parametrize("option", [["-D", "-1"], ["-D", "10001"], ["--chunk-size", "0"],
                                    ["--flank", "-5"], ["--batch-size", "0"]])
def test_numeric_options_refused_at_parse_time(fasta, capsys, option):
    result = run_in_process(capsys, "predict", "variants", str(VCF), "-R", str(fasta),
                            "-o", "-", *option)  # fmt: skip
    assert result.returncode == 2
    assert "must be" in result.stderr and "Traceback" not in result.stderr

