"""Splice-site prediction end to end: CLI outputs, Python API, bad input, a tiny training run."""

import json
import math
import shutil

import numpy as np
import pytest

from conftest import REPO, assert_one_line_error, run_in_process

keras = pytest.importorskip("keras")
pyBigWig = pytest.importorskip("pyBigWig")

EXAMPLE_FA = REPO / "reference_data" / "athaliana_chr1_test_slice.fa"
EXAMPLE_GFF = REPO / "reference_data" / "athaliana_chr1_test_slice.gff3"
RECORD = "NC_003070.9_25000001-25100000"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A small random-weight splice labeller with a model card (fixed seed)."""
    from genorrn.models import LabellerConfig, build_labeller

    keras.utils.set_random_seed(7)
    folder = tmp_path_factory.mktemp("model")
    model = build_labeller(LabellerConfig(lstm_units=[8, 8], conv_filters=4), name="genorrn_splice")
    path = folder / "tiny.keras"
    model.save(path)
    card = {"task": "splice", "alphabet": "dna", "classes": ["neither", "acceptor", "donor"],
            "streaming": {"chunk_size": 2000, "flank": 200, "batch_size": 8}}  # fmt: skip
    (folder / "tiny.card.json").write_text(json.dumps(card))
    return path


@pytest.fixture
def example(tmp_path):
    fa = tmp_path / "example.fa"
    shutil.copy(EXAMPLE_FA, fa)
    return fa


def test_predict_writes_four_bigwigs_and_sites(tiny_model, example, tmp_path, capsys):
    prefix = tmp_path / "out" / "ex"
    prefix.parent.mkdir()
    result = run_in_process(capsys, "predict", "splice", str(example), "-o", str(prefix), "--model",
                                    str(tiny_model), "--threshold", "0.34")  # fmt: skip
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in prefix.parent.iterdir())
    assert names == sorted(
        [f"ex.{s}.{d}.bw" for s in ("acceptor", "donor") for d in ("plus", "minus")] + ["ex.sites.bed"]
    )
    for site in ("acceptor", "donor"):
        for strand in ("plus", "minus"):
            bw = pyBigWig.open(str(prefix) + f".{site}.{strand}.bw")
            assert bw.chroms() == {RECORD: 100_000}
            values = np.array(bw.values(RECORD, 0, 100_000))
            assert np.isfinite(values).all() and (values >= 0).all() and (values <= 1).all()
    rows = [line.split("\t") for line in (prefix.parent / "ex.sites.bed").read_text().splitlines()]
    assert rows and all(len(r) == 6 and r[3] in ("acceptor", "donor") and r[5] in "+-" for r in rows)
    assert all(0 <= int(r[4]) <= 1000 for r in rows)


def test_bedgraph_matches_bigwig_and_region(tiny_model, example, tmp_path, capsys):
    common = ["--model", str(tiny_model), "--region", f"{RECORD}:1001-3000"]
    assert run_in_process(capsys, "predict", "splice", str(example), "-o", str(tmp_path / "b"), *common).returncode == 0
    result = run_in_process(capsys, "predict", "splice", str(example), "-o", str(tmp_path / "g"), "--format",
                                    "bedgraph", *common)  # fmt: skip
    assert result.returncode == 0, result.stderr
    bw = pyBigWig.open(str(tmp_path / "b.donor.minus.bw"))
    lines = (tmp_path / "g.donor.minus.bedgraph").read_text().splitlines()
    first = lines[0].split("\t")
    assert first[0] == RECORD and int(first[1]) == 1000
    assert int(lines[-1].split("\t")[2]) == 3000
    ends = [int(line.split("\t")[1]) for line in lines[1:]]
    assert ends == [int(line.split("\t")[2]) for line in lines[:-1]]  # contiguous runs
    for line in lines:
        chrom, start, end, value = line.split("\t")
        got = bw.values(chrom, int(start), int(end))
        # bedGraph values have 4 decimals (rounding error <= 5e-5) and bigWig stores float32;
        # measured: 4.996e-5 at most
        assert np.allclose(got, float(value), rtol=0, atol=5.1e-5)
    assert math.isnan(bw.values(RECORD, 999, 1000)[0])  # not predicted


def test_python_api_strings_strands_and_regions(tiny_model):
    import genorrn
    from genorrn.alphabets import reverse_complement

    model = genorrn.load_model(tiny_model)
    seq = EXAMPLE_FA.read_text().split("\n", 1)[1].replace("\n", "")[:6000]
    plus = model.predict(seq)
    assert plus.shape == (6000, 3)
    np.testing.assert_allclose(plus.sum(axis=1), 1.0, atol=1e-5)
    minus = model.predict(seq, strand="-")
    # the same lanes, reversed: measured identical (0.0)
    np.testing.assert_allclose(minus, model.predict(reverse_complement(seq))[::-1], rtol=0,
                               atol=1e-7)  # fmt: skip
    # a region with the genome as context equals the same positions of a whole-record call
    # (streaming error; measured 0.0 here, ~9e-8 in test_streaming)
    region = model.predict_region(EXAMPLE_FA, f"{RECORD}:2001-4000")
    assert region.shape == (2000, 3)
    np.testing.assert_allclose(region, plus[2000:4000], rtol=0, atol=1e-6)


@pytest.mark.slow
def test_tiny_training_learns(tmp_path, capsys):
    """data splice → train splice → evaluate splice on a real 1.4 Mb slice of A. thaliana chr1."""
    from conftest import shared_path

    folder = shared_path("splice", "athaliana_chr1")
    # the GTF: same transcripts as the GFF3 (test_annotation), parsed about twice as fast
    genome, annotation = folder / "genome.fna.gz", folder / "annotation.gtf.gz"
    shards = tmp_path / "shards"
    result = run_in_process(capsys, "data", "splice", str(genome), str(annotation), "-o", str(shards),
                                    "--train-region", "NC_003070.9:1-1000000",
                                    "--validation-region", "NC_003070.9:1000001-1300000",
                                    "--test-region", "NC_003070.9:1300001-1400000",
                                    "--core", "1000", "--context", "100")  # fmt: skip
    assert result.returncode == 0, result.stderr
    manifest = json.loads((shards / "manifest.json").read_text())
    validation = next(s for s in manifest["splits"] if s["split"] == "validation")
    prior = (validation["acceptors"] + validation["donors"]) / 2 / validation["positions"]
    out = tmp_path / "model"
    result = run_in_process(capsys, "train", "splice", str(shards), "-o", str(out), "--units", "16",
                                    "--conv-filters", "16", "--epochs", "4", "--steps-per-epoch", "15",
                                    "--batch-size", "32", "--learning-rate", "5e-3", "--seed", "1")  # fmt: skip
    assert result.returncode == 0, result.stderr
    state = json.loads((out / "state.json").read_text())
    assert state["best"] > 10 * prior, (state, prior)  # validation PR-AUC ≫ class prior
    result = run_in_process(capsys, "evaluate", "splice", str(genome), str(annotation), "--model",
                                    str(out / "model.keras"), "--region", "NC_003070.9:1300001-1400000")  # fmt: skip
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)["metrics"]
    assert metrics["donor"]["pr_auc"] > 10 * prior and metrics["acceptor"]["sites"] > 20
    for name, report in metrics.items():  # what 'predict splice --threshold 0.5' would call
        calls = report["calls"]
        assert calls["threshold"] == 0.5, name
        if calls["called"]:  # hits = precision x called = recall x sites (4-decimal rounding)
            hits = calls["precision"] * calls["called"]
            assert round(hits) == round(calls["recall"] * report["sites"]), (name, report)
            assert abs(hits - round(hits)) < 1e-4 * calls["called"] + 1e-9, (name, report)
        else:  # this tiny model calls nothing at 0.5 (measured); precision is then undefined
            assert calls["precision"] is None and calls["recall"] == 0.0, (name, report)


# ---- bad input: one line, non-zero exit, no partial output ------------------------------------


def _no_outputs(folder, stem):
    return not any(p.name.startswith(stem) or p.name.startswith("." + stem) for p in folder.iterdir())


def test_region_outside_sequence(tiny_model, example, tmp_path, capsys):
    result = run_in_process(capsys, "predict", "splice", str(example), "-o", str(tmp_path / "r"), "--model",
                                    str(tiny_model), "--region", f"{RECORD}:99001-100500")  # fmt: skip
    assert_one_line_error(result, "outside the sequence", "length 100000")
    assert _no_outputs(tmp_path, "r.")


def test_output_prefix_in_missing_folder(tiny_model, example, tmp_path, capsys):
    result = run_in_process(capsys, "predict", "splice", str(example), "-o", str(tmp_path / "nope" / "r"),
                                    "--model", str(tiny_model))  # fmt: skip
    assert_one_line_error(result, "does not exist")


def test_truncated_model_file(tiny_model, example, tmp_path, capsys):
    broken = tmp_path / "broken.keras"
    broken.write_bytes(tiny_model.read_bytes()[:2000])
    result = run_in_process(capsys, "predict", "splice", str(example), "-o", str(tmp_path / "t"), "--model", str(broken))
    assert_one_line_error(result, "broken.keras", "truncated")
    assert _no_outputs(tmp_path, "t.")


def test_model_of_another_task(example, tmp_path, capsys):
    from genorrn.models import LabellerConfig, build_labeller

    path = tmp_path / "structure.keras"
    build_labeller(LabellerConfig(alphabet_size=21, num_classes=8, lstm_units=[4]),
                   name="genorrn_structure").save(path)  # fmt: skip
    result = run_in_process(capsys, "predict", "splice", str(example), "-o", str(tmp_path / "s"), "--model", str(path))
    assert_one_line_error(result, "task 'structure', not 'splice'")
    assert _no_outputs(tmp_path, "s.")


def test_fasta_without_the_annotation_chromosomes(tiny_model, dmel_dir, tmp_path, capsys):
    result = run_in_process(capsys, "evaluate", "splice", str(dmel_dir / "genome.fna.gz"), str(EXAMPLE_GFF),
                                    "--model", str(tiny_model), "-o", str(tmp_path / "m.json"))  # fmt: skip
    assert_one_line_error(result, "chromosome name(s) not in", RECORD)
    assert not (tmp_path / "m.json").exists()


def test_annotation_without_multi_exon_transcripts(tiny_model, example, tmp_path, capsys):
    gtf = tmp_path / "single.gtf"
    gtf.write_text(f'{RECORD}\tt\texon\t101\t900\t.\t+\t.\tgene_id "g"; transcript_id "t";\n')
    for args in (
        ["evaluate", "splice", str(example), str(gtf), "--model", str(tiny_model)],
        ["data", "splice", str(example), str(gtf), "-o", str(tmp_path / "shards")],
    ):
        assert_one_line_error(run_in_process(capsys, *args), "no multi-exon transcripts")


@pytest.mark.slow
def test_scattered_parts_merge_to_the_whole(tiny_model, example, tmp_path, capsys):
    """predict splice per region + data merge-splice == one whole-record run."""
    parts = []
    for i, region in enumerate(("1-30000", "30001-100000")):
        prefix = tmp_path / f"part{i}"
        result = run_in_process(capsys, "predict", "splice", str(example), "-o", str(prefix), "--model",
                                        str(tiny_model), "--region", f"{RECORD}:{region}", "--threshold", "0.34")  # fmt: skip
        assert result.returncode == 0, result.stderr
        parts.append(str(prefix))
    whole = tmp_path / "whole"
    assert run_in_process(capsys, "predict", "splice", str(example), "-o", str(whole), "--model",
                                  str(tiny_model), "--threshold", "0.34").returncode == 0  # fmt: skip
    result = run_in_process(capsys, "data", "merge-splice", *parts, "-o", str(tmp_path / "merged"),
                                    "--zoom-levels", "4")  # fmt: skip
    assert result.returncode == 0, result.stderr
    for name in ("acceptor.plus", "donor.minus"):
        merged = pyBigWig.open(str(tmp_path / f"merged.{name}.bw"))
        reference = pyBigWig.open(str(tmp_path / f"whole.{name}.bw"))
        assert merged.chroms() == reference.chroms()
        # parts streamed separately vs one run: measured 8.9e-8
        np.testing.assert_allclose(
            merged.values(RECORD, 0, 100_000), reference.values(RECORD, 0, 100_000), rtol=0,
            atol=1e-6,
        )
        # zoom summaries only where asked for (default off: memory stays flat)
        assert reference.header()["nLevels"] == 0 and merged.header()["nLevels"] > 0
        np.testing.assert_allclose(merged.stats(RECORD, 0, 100_000, type="mean", nBins=10),
                                   reference.stats(RECORD, 0, 100_000, type="mean", nBins=10),
                                   atol=1e-2)  # zoom bins are coarser than 10 kb  # fmt: skip
    merged_sites = (tmp_path / "merged.sites.bed").read_text().splitlines()
    whole_sites = (tmp_path / "whole.sites.bed").read_text().splitlines()
    assert merged_sites and sorted(merged_sites) == sorted(whole_sites)


def test_zoom_levels_out_of_range_is_refused(tiny_model, example, tmp_path, capsys):
    result = run_in_process(capsys, "predict", "splice", str(example), "-o", str(tmp_path / "ex"), "--model",
                                    str(tiny_model), "--zoom-levels", "11")  # fmt: skip
    assert result.returncode == 2 and "--zoom-levels" in result.stderr
    assert not list(tmp_path.glob("ex.*"))


def test_plot_region_png_and_svg(tiny_model, example, tmp_path, capsys):
    for suffix in ("png", "svg"):
        out = tmp_path / f"region.{suffix}"
        result = run_in_process(capsys, "plot", "splice", str(example), str(EXAMPLE_GFF), "--region",
                                        f"{RECORD}:1-8000", "-o", str(out), "--model", str(tiny_model))  # fmt: skip
        assert result.returncode == 0, result.stderr
        plotted = [line for line in result.stderr.splitlines() if line.startswith("genorrn: plotted")]
        assert plotted == [f"genorrn: plotted region {RECORD}:1-8000 -> {out}"]  # was silent
        head = out.read_bytes()[:200]
        assert head.startswith(b"\x89PNG") if suffix == "png" else b"<svg" in out.read_bytes()[:2000]


def test_plot_splice_labels_genes_marks_sites_and_keeps_labels_apart(athaliana_dir):
    """Issue #18, on the real A. thaliana chr1 annotation (30 kb, 19 transcripts):
    transcripts are labelled by their gene's name (GFF3 Name of the parent gene), strand
    colours have a legend, the annotated sites are marked in the score panel, and no two
    labels overlap."""
    import gzip
    from itertools import combinations

    import matplotlib.pyplot as plt

    from genorrn.io import read_annotation
    from genorrn.plots import splice_region_figure, transcripts_in
    from genorrn.regions import Region

    gff3 = athaliana_dir / "annotation.gff3.gz"
    names = {}  # gene ID -> Name, read here from the file itself
    with gzip.open(gff3, "rt") as handle:
        for line in handle:
            cols = line.rstrip("\n").split("\t")
            attrs = dict(a.split("=", 1) for a in cols[-1].split(";") if "=" in a)
            if len(cols) == 9 and attrs.get("ID", "").startswith("gene-"):  # genes, pseudogenes
                names[attrs["ID"].removeprefix("gene-")] = attrs.get("Name", "")
    annotation = read_annotation(gff3)
    region = Region("NC_003070.9", 25_000_000, 25_030_000)
    flat = np.full((region.end - region.start, 3), 1 / 3)
    fig = splice_region_figure(region, flat, flat, annotation)
    try:
        top, bottom = fig.axes
        transcripts = transcripts_in(annotation, region)
        assert len(transcripts) == 19
        labels = sorted(t.get_text() for t in bottom.texts)
        assert labels == sorted(f"{names[tx.gene_id]} ({tx.id})" if names.get(tx.gene_id)
                                else tx.id for tx in transcripts)  # fmt: skip
        assert "SNC4 (NM_105369.3)" in labels and "TRM22 (NM_105374.2)" in labels
        strands = [t.get_text() for t in bottom.get_legend().get_texts()]
        assert strands == ["+ strand transcript", "− strand transcript"]
        marks = {line.get_label(): line for line in top.get_lines()}
        assert {"annotated acceptor", "annotated donor"} <= set(top.get_legend_handles_labels()[1])
        sites = annotation.splice_sites()
        for kind in ("acceptor", "donor"):
            drawn = set(marks[f"annotated {kind}"].get_xdata())  # the + strand's, 1-based
            expected = {p + 1 for p in sites["NC_003070.9", "+"][kind]
                        if region.start <= p < region.end}  # fmt: skip
            assert drawn == expected and expected
        fig.canvas.draw()
        boxes = [t.get_window_extent() for t in bottom.texts]
        overlapping = [(a.get_text(), b.get_text()) for (a, ba), (b, bb)
                       in combinations(zip(bottom.texts, boxes), 2) if ba.overlaps(bb)]  # fmt: skip
        assert not overlapping
        axes = bottom.get_window_extent()
        assert all(axes.x0 - 1 <= box.x0 and box.x1 <= axes.x1 + 1 for box in boxes)  # inside
    finally:
        plt.close(fig)


def test_stack_rows_packs_spans_without_overlap():
    from genorrn.plots import stack_rows

    assert stack_rows([(0, 10), (5, 8), (9, 20), (11, 12), (21, 30)]) == [0, 1, 1, 0, 0]
    assert stack_rows([]) == []


def test_plot_splice_options_all_have_help():
    from genorrn.cli import build_parser

    def subcommand(parser, name):
        return parser._subparsers._group_actions[0].choices[name]

    splice = subcommand(subcommand(build_parser(), "plot"), "splice")
    assert [a.option_strings for a in splice._actions if a.option_strings and not a.help] == []
    (model,) = [a for a in splice._actions if "--model" in a.option_strings]
    assert "splice model" in model.help


def _weighted_sites(arrays, core, context):
    """(strand, forward position, label) of every weighted site position of shard arrays."""
    width = core + 2 * context
    found = set()
    for start, strand, label, weight in zip(arrays["start"], arrays["strand"], arrays["label"],
                                            arrays["weight"]):  # fmt: skip
        for j in np.flatnonzero(weight.astype(bool) & (label > 0)):
            k = j if strand == "+" else width - 1 - j
            found.add((str(strand), int(start) - context + int(k), int(label[j])))
    return found


def test_window_offset_retiles_the_same_sites():
    """--offset shifts where windows start but labels every annotated site exactly as before."""
    from genorrn.data.splice import collect_windows
    from genorrn.errors import InputError
    from genorrn.io import Genome, read_annotation
    from genorrn.regions import parse_region

    genome, annotation = Genome(EXAMPLE_FA), read_annotation(EXAMPLE_GFF)
    splits = {"train": [parse_region(RECORD)]}
    plain = collect_windows(genome, annotation, "train", splits, core=1000, context=100)
    shifted = collect_windows(genome, annotation, "train", splits, core=1000, context=100,
                              offset=500)  # fmt: skip
    sites = _weighted_sites(plain, 1000, 100)
    assert len(sites) > 50
    assert _weighted_sites(shifted, 1000, 100) == sites
    assert {s % 1000 for s in plain["start"]} != {s % 1000 for s in shifted["start"]}
    assert json.loads(str(shifted["summary"]))["offset"] == 500
    with pytest.raises(InputError, match="offset 1000"):
        collect_windows(genome, annotation, "train", splits, core=1000, offset=1000)


def test_window_offset_out_of_range_is_refused(example, tmp_path, capsys):
    result = run_in_process(capsys, "data", "splice", str(example), str(EXAMPLE_GFF), "-o", str(tmp_path / "s"),
                                    "--offset", "1500")  # fmt: skip
    assert_one_line_error(result, "--offset 1500")
    assert not (tmp_path / "s").exists()
