"""Assembly gaps (long runs of N) are sequence boundaries for the streaming engine: each stretch
between gaps is predicted as a record of its own, exactly as a whole-sequence call on it, and
the gap's positions get the background class — whatever the chunk, flank, split or strand."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from genorrn.encoding import encode_dna, reverse_complement_onehot  # noqa: E402
from genorrn.models import LabellerConfig, build_labeller  # noqa: E402
from genorrn.streaming import (  # noqa: E402
    GapRule,
    Stream,
    StreamingPredictor,
    Task,
    find_gaps,
    split_at_gaps,
    whole_sequence,
)

N_ROW = encode_dna("N")[0]
FILL = np.array([1.0, 0.0, 0.0], np.float32)  # splice: neither
RULE = GapRule(row=N_ROW, min_length=1000, fill=FILL)
# A. thaliana chr1 (0-based): a run of exactly 1,000 N at 15,086,045-15,087,045 and one of
# 100 N at 13,201,252-13,201,352 (an NCBI gap of unknown size)
GAP_1000 = (15_086_045, 15_087_045)
GAP_100 = (13_201_252, 13_201_352)


def _stream(onehot: np.ndarray) -> Stream:
    return Stream("s", len(onehot), lambda s, e: onehot[s:e])


@pytest.fixture(scope="module")
def chr1():
    from conftest import shared_path
    from genorrn.io import Genome

    return Genome(shared_path("splice", "athaliana_chr1", "genome.fna.gz"))


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(7)
    return build_labeller(LabellerConfig(lstm_units=[16, 8], conv_filters=8, conv_kernel=5,
                                         conv_layers=2))  # fmt: skip


def _pieces_reference(model, onehot, gaps):
    """Whole-sequence calls on each stretch between ``gaps``; the fill inside them."""
    out = np.zeros((len(onehot), 3), np.float32)
    bounds = [0] + [x for g in gaps for x in g] + [len(onehot)]
    for k in range(0, len(bounds), 2):
        a, b = bounds[k], bounds[k + 1]
        if a < b:
            out[a:b] = whole_sequence(model, onehot[a:b])
        if k + 2 < len(bounds):
            out[b : bounds[k + 2]] = FILL
    return out


def test_find_gaps_and_split():
    x = encode_dna("A" * 50 + "N" * 30 + "C" * 20 + "N" * 10 + "G" * 5 + "N" * 40)
    stream = _stream(x)
    rule = GapRule(row=N_ROW, min_length=30, fill=FILL)
    assert find_gaps(stream, 0, len(x), rule) == [(50, 80), (115, 155)]
    assert find_gaps(stream, 60, len(x), rule) == [(115, 155)]  # the first run cut to 20 inside
    kept, gaps = split_at_gaps([Task(stream, 10, 150)], rule, before=0, after=0)
    assert [(t.start, t.end, t.stream.length) for t in kept] == [(10, 50, 50), (0, 35, 35)]
    assert [(g[1], g[2]) for g in gaps] == [(50, 80), (115, 150)]
    # the second stretch is a stream of its own that reads the parent from 80 on
    sub = kept[1].stream
    assert sub.parent is stream and sub.offset == 80 and kept[0].stream.offset == 0
    np.testing.assert_array_equal(sub.fetch(0, 35), x[80:115])
    # a task inside a gap is all fill; one far from any gap is kept as it is
    kept, gaps = split_at_gaps([Task(stream, 120, 130)], rule, before=0, after=0)
    assert kept == [] and [(g[1], g[2]) for g in gaps] == [(120, 130)]
    far = encode_dna("ACGT" * 100 + "N" * 40)
    task = Task(_stream(far), 0, 100)
    kept, gaps = split_at_gaps([task], rule, before=0, after=50)
    assert kept == [task] and gaps == []


def test_gap_beyond_the_task_end_is_found_wherever_the_task_ends(model):
    """The last chunk of a task reads up to a chunk + flank past its end: a gap there is a
    boundary however far inside that reach it starts, so a result does not depend on where
    the task ends (a search reaching only flank + min_length past the end measured the gap
    at 7,011-11,811 as 999 N for the task ending at 7,000, and read 2,999 of its N; the test
    model's memory is short, so the gap starts 11 nt after the end)."""
    rng = np.random.default_rng(3)
    seq = "".join(rng.choice(list("ACGT"), 7_011))
    x = encode_dna(seq + "N" * 4_800 + "".join(rng.choice(list("ACGT"), 3_000)))
    predictor = StreamingPredictor(model, 5_000, 10, batch_size=1, gaps=RULE)
    results = []
    for end in (7_000, 7_300):
        out = np.zeros((end, 3), np.float32)

        def sink(stream, start, probs, out=out):
            out[start : start + len(probs)] = probs

        predictor.run([Task(_stream(x), 0, end)], sink, split=False)
        results.append(out)
    np.testing.assert_array_equal(results[0], results[1][:7_000])


def test_a_callers_stretch_keeps_its_own_coordinates(model):
    """A task on a stretch the caller cut (Stream.stretch) is reported on that stretch."""
    rng = np.random.default_rng(4)
    x = encode_dna("".join(rng.choice(list("ACGT"), 3_000)) + "N" * 1_200 + "ACGT" * 500)
    sub = _stream(x).stretch(500, len(x))
    seen = []
    predictor = StreamingPredictor(model, 1_000, 300, batch_size=2, gaps=RULE)
    predictor.run([Task(sub, 0, 1_000)], lambda stream, start, probs: seen.append(stream))
    assert seen and all(stream is sub for stream in seen)


@pytest.mark.parametrize("chunk,flank,split", [(1000, 300, True), (700, 600, False),
                                                (1500, 250, True)])  # fmt: skip
def test_stretches_equal_whole_sequence_calls(chr1, model, chunk, flank, split):
    """A real 1,000-N gap: both sides equal whole-sequence calls on them, the gap is filled —
    with any chunk or flank (without the rule, a flank shorter than the gap looks only into N)."""
    lo = GAP_1000[0] - 5_045
    x = encode_dna(chr1.fetch("NC_003070.9", lo, GAP_1000[1] + 5_455))
    gaps = [(GAP_1000[0] - lo, GAP_1000[1] - lo)]
    reference = _pieces_reference(model, x, gaps)
    predictor = StreamingPredictor(model, chunk, flank, batch_size=3, gaps=RULE)
    streamed = predictor.predict_array(x, split=split)
    assert np.abs(streamed - reference).max() <= 1e-6
    # and on the minus strand (the gap sits at the mirrored place)
    rc = reverse_complement_onehot(x).copy()
    rc_gaps = [(len(x) - gaps[0][1], len(x) - gaps[0][0])]
    rc_streamed = predictor.predict_array(rc, split=split)
    assert np.abs(rc_streamed - _pieces_reference(model, rc, rc_gaps)).max() <= 1e-6


def test_short_runs_of_n_are_sequence(chr1, model):
    """A 100-N run (shorter than min_length) is read through, as without the rule."""
    lo = GAP_100[0] - 4_000
    x = encode_dna(chr1.fetch("NC_003070.9", lo, GAP_100[1] + 4_000))
    predictor = StreamingPredictor(model, 1000, 300, batch_size=3, gaps=RULE)
    assert np.abs(predictor.predict_array(x) - whole_sequence(model, x)).max() <= 1e-6


def test_gap_at_the_ends_and_progress(model):
    """Gaps at the start and the end of a sequence; progress counts the gap's positions."""
    rng = np.random.default_rng(0)
    seq = "".join(rng.choice(list("ACGT"), 2_500))
    x = encode_dna("N" * 1_200 + seq + "N" * 1_500)
    done = []
    predictor = StreamingPredictor(model, 1000, 300, batch_size=2, gaps=RULE)
    out = np.zeros((len(x), 3), np.float32)

    def sink(_stream, start, probs):
        out[start : start + len(probs)] = probs

    predictor.run([Task(_stream(x), 0, len(x))], sink, progress=done.append)
    reference = _pieces_reference(model, x, [(0, 1_200), (3_700, 5_200)])
    assert np.abs(out - reference).max() <= 1e-6
    assert sum(done) == len(x)


def test_loaded_dna_models_use_the_rule_and_proteins_do_not():
    import genorrn

    splice = genorrn.load_model("splice-athaliana-v1", task="splice")
    rule = splice.gap_rule()
    assert rule.min_length == 1000
    assert rule.fill.tolist() == [1.0, 0.0, 0.0]  # neither
    assert splice.predictor().gaps.min_length == 1000
    assert genorrn.load_model("structure-q8-v1", task="structure").gap_rule() is None


def test_variant_lanes_cut_by_a_gap_equal_whole_region(chr1, tmp_path):
    """A variant 600 nt from the 1,000-N gap: its lane's window holds the gap (several engine
    results per lane); the scores equal the whole-region reference, which cuts there too."""
    import genorrn
    from genorrn.delta import Target, Variant
    from genorrn.io.fasta import Genome
    from genorrn.variants import VariantScorer, whole_region_delta

    lo, hi = GAP_1000[0] - 9_000, GAP_1000[1] + 9_000
    fasta = tmp_path / "gap.fa"
    fasta.write_text(">gap\n" + chr1.fetch("NC_003070.9", lo, hi) + "\n")
    genome = Genome(fasta)
    model = genorrn.load_model("splice-athaliana-v1", task="splice")
    scorer = VariantScorer(model, genome, None, distance=200, batch_size=4)
    pos = GAP_1000[0] - lo - 600
    ref = genome.fetch("gap", pos, pos + 1)
    variant = Variant("gap", pos, ref, ("A" if ref.upper() != "A" else "C",))
    (result,) = scorer.score([variant])
    assert result.reason is None
    for entry, strand in zip(result.entries, "+-"):
        expected = whole_region_delta(model, genome, variant, variant.alts[0],
                                      Target(entry.symbol, strand), 200, margin=4_900)
        got = np.array([entry.ds_ag, entry.ds_al, entry.ds_dg, entry.ds_dl])
        want = np.array([expected.ds_ag, expected.ds_al, expected.ds_dg, expected.ds_dl])
        assert np.abs(got - want).max() <= 1e-5


def test_variant_window_ending_inside_a_gap_is_cut_there(chr1, tmp_path):
    """A variant whose plus-strand window ends 600 N into the 1,000-N gap: the window takes
    the rest of the gap in, so the engine cuts at the gap as genome-wide prediction does (the
    window alone holds only 600 N, which it read through)."""
    import genorrn
    from genorrn.delta import Target, Variant
    from genorrn.io.fasta import Genome
    from genorrn.variants import VariantScorer, whole_region_delta

    lo, hi = GAP_1000[0] - 9_000, GAP_1000[1] + 9_000
    fasta = tmp_path / "gap.fa"
    fasta.write_text(">gap\n" + chr1.fetch("NC_003070.9", lo, hi) + "\n")
    genome = Genome(fasta)
    model = genorrn.load_model("splice-athaliana-v1", task="splice")
    flank, distance = model.streaming_defaults()["flank"], 200
    scorer = VariantScorer(model, genome, None, distance=distance, batch_size=4)
    pos = GAP_1000[0] - lo + 600 - flank - distance - 1  # the window ends at gap start + 600
    ref = genome.fetch("gap", pos, pos + 1)
    variant = Variant("gap", pos, ref, ("A" if ref.upper() != "A" else "C",))
    (result,) = scorer.score([variant])
    entry = result.entries[0]
    expected = whole_region_delta(model, genome, variant, variant.alts[0],
                                  Target(entry.symbol, "+"), distance, margin=4_900)
    got = np.array([entry.ds_ag, entry.ds_al, entry.ds_dg, entry.ds_dl])
    want = np.array([expected.ds_ag, expected.ds_al, expected.ds_dg, expected.ds_dl])
    assert np.abs(got - want).max() <= 1e-5
    with pytest.raises(genorrn.errors.InputError, match="--min-gap -1"):
        VariantScorer(model, genome, None, min_gap=-1)


def test_take_in_gaps():
    from genorrn.variants import _take_in_gaps

    seq = "AC" + "N" * 6 + "ACGTACGT" + "N" * 3 + "GG"
    assert _take_in_gaps(seq, 4, 16, 5) == (2, 16)  # 4 N before + 2 after a: a gap, taken
    assert _take_in_gaps(seq, 4, 17, 5) == (2, 17)  # b inside a 3-N run: not a gap, kept
    assert _take_in_gaps(seq, 8, 17, 3) == (8, 19)  # the same run is a gap with min 3
    assert _take_in_gaps(seq, 2, 8, 5) == (2, 8)  # ends on the run's edges: nothing to take
    assert _take_in_gaps(seq, 4, 16, 7) == (4, 16)  # 6 N < 7


def test_genome_prediction_both_strands_cut_at_a_gap(chr1, tmp_path):
    """predict_region (the path of `genorrn predict splice`): on both strands each side of a
    1,500-N gap equals predicting that side alone; the gap scores acceptor = donor = 0."""
    import genorrn

    left = chr1.fetch("NC_003070.9", 2_000_000, 2_006_000)
    right = chr1.fetch("NC_003070.9", 2_010_000, 2_015_000)
    fasta = tmp_path / "gap.fa"
    fasta.write_text(">r\n" + left + "N" * 1_500 + right + "\n")
    model = genorrn.load_model("splice-athaliana-v1", task="splice")
    for strand in "+-":
        whole = model.predict_region(fasta, "r:1-12500", strand=strand)
        assert whole.shape == (12_500, 3)
        np.testing.assert_array_equal(whole[6_000:7_500], np.tile(FILL, (1_500, 1)))
        for piece, at in ((left, 0), (right, 7_500)):
            alone = model.predict(piece, strand=strand)
            assert np.abs(whole[at : at + len(piece)] - alone).max() <= 1e-5


def test_min_gap_option_sets_the_shortest_gap(chr1, tmp_path, capsys):
    """``min_gap`` (``--min-gap``): a 150-N run is read through by default, a gap with
    ``min_gap=100`` (each side then equals predicting it alone); ``min_gap=0`` turns the rule
    off. The CLI option reaches the engine; a negative value is refused by the parser."""
    import genorrn
    from conftest import run_in_process

    left = chr1.fetch("NC_003070.9", 2_000_000, 2_003_000)
    right = chr1.fetch("NC_003070.9", 2_010_000, 2_013_000)
    fasta = tmp_path / "gap.fa"
    fasta.write_text(">r\n" + left + "N" * 150 + right + "\n")
    model = genorrn.load_model("splice-athaliana-v1", task="splice")
    region, run = "r:1-6150", slice(3_000, 3_150)
    default = model.predict_region(fasta, region)
    assert not np.array_equal(default[run], np.tile(FILL, (150, 1)))  # read through
    cut = model.predict_region(fasta, region, min_gap=100)
    np.testing.assert_array_equal(cut[run], np.tile(FILL, (150, 1)))
    for piece, at in ((left, 0), (right, 3_150)):
        assert np.abs(cut[at : at + len(piece)] - model.predict(piece)).max() <= 1e-5
    assert np.abs(model.predict_region(fasta, region, min_gap=0) - default).max() <= 1e-6
    with pytest.raises(ValueError, match="min_gap -1"):
        model.gap_rule(-1)

    outputs = {}
    for option in ((), ("--min-gap", "100")):
        prefix = tmp_path / ("cut" if option else "default")
        result = run_in_process(capsys, "predict", "splice", str(fasta), "-o", str(prefix),
                                "--model", "splice-athaliana-v1", "--format", "bedgraph",
                                *option)  # fmt: skip
        assert result.returncode == 0, result.stderr
        outputs[option] = sorted(p.read_text() for p in tmp_path.glob(f"{prefix.name}*"))
    assert outputs[()] != outputs[("--min-gap", "100")]
    result = run_in_process(capsys, "predict", "splice", str(fasta), "-o", str(tmp_path / "bad"),
                            "--min-gap", "-1")  # fmt: skip
    assert result.returncode == 2 and "argument --min-gap: -1: must be >= 0" in result.stderr
    assert not list(tmp_path.glob("bad*"))
    for command in (("predict", "variants"), ("evaluate", "splice"), ("plot", "splice")):
        help_text = run_in_process(capsys, *command, "--help").stdout
        assert "--min-gap" in help_text
