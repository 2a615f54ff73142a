"""Splice known answers on a hand-made genome: labels of both strands, windows in transcript
orientation, minus-strand predictions, and ``genorrn evaluate splice`` metrics worked out by hand.

The model is a fixed "motif model": a one-layer forward LSTM whose gates ignore the past
(forget gate ~0), so the probabilities at a position depend only on the base there:

    base  neither  acceptor  donor      acceptor order: G > C > T > A
    A     0.9951   0.0025    0.0025     donor order:    C > G > T > A
    C     0.0159   0.1173    0.8668
    G     0.0177   0.9647    0.0177
    T     0.9465   0.0471    0.0064

The genome (300 nt, record ``chrT``) is all A except the bases placed at the sites below, so
every score and metric follows from the table.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import run_in_process

keras = pytest.importorskip("keras")

RECORD = "chrT"
LENGTH = 300
#: softmax logits per base (rows A, C, G, T; columns neither, acceptor, donor)
LOGITS = np.array([[6, 0, 0], [0, 2, 4], [0, 4, 0], [3, 0, -2]], np.float32)
TABLE = np.exp(LOGITS) / np.exp(LOGITS).sum(axis=1, keepdims=True)

# + strand gene g1, exons [20,40) [50,60) [70,90): donors 39, 59; acceptors 50, 70
# - strand gene g2, exons [150,180) [200,250): in transcript orientation the upstream exon is
#   [200,250), so its donor is 200 (its lowest base) and the acceptor is 179 (the highest base
#   of [150,180))
GTF = (
    f'{RECORD}\tt\texon\t21\t40\t.\t+\t.\tgene_id "g1"; transcript_id "t1";\n'
    f'{RECORD}\tt\texon\t51\t60\t.\t+\t.\tgene_id "g1"; transcript_id "t1";\n'
    f'{RECORD}\tt\texon\t71\t90\t.\t+\t.\tgene_id "g1"; transcript_id "t1";\n'
    f'{RECORD}\tt\texon\t151\t180\t.\t-\t.\tgene_id "g2"; transcript_id "t2";\n'
    f'{RECORD}\tt\texon\t201\t250\t.\t-\t.\tgene_id "g2"; transcript_id "t2";\n'
)
PLUS_SITES = {50: 1, 70: 1, 39: 2, 59: 2}  # forward position: 1 acceptor, 2 donor
MINUS_SITES = {179: 1, 200: 2}
#: the base at each site, read on the gene's strand
BASE_AT_SITE = {("+", 39): "C", ("+", 59): "C", ("+", 50): "G", ("+", 70): "T",
                ("-", 200): "C", ("-", 179): "G"}  # fmt: skip


def _genome_sequence() -> str:
    """All A; the + gene's sites: donors C, acceptors G (at 50) and T (at 70); the - gene's
    sites read on the - strand: donor C, acceptor G (so forward G at 200, C at 179). Minus gene
    body: forward T (A on its strand)."""
    seq = ["A"] * LENGTH
    seq[150:250] = ["T"] * 100
    for pos, base in {39: "C", 59: "C", 50: "G", 70: "T", 200: "G", 179: "C"}.items():
        seq[pos] = base
    return "".join(seq)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("known")
    fasta, gtf = folder / "genome.fa", folder / "genes.gtf"
    fasta.write_text(f">{RECORD}\n{_genome_sequence()}\n")
    gtf.write_text(GTF)
    return fasta, gtf


@pytest.fixture(scope="module")
def motif_model(tmp_path_factory):
    from genorrn.models import LabellerConfig, build_labeller

    keras.config.set_dtype_policy("float32")
    model = build_labeller(LabellerConfig(lstm_units=[4], bidirectional=False, conv_filters=0),
                           name="genorrn_splice")  # fmt: skip
    u = 4  # Keras LSTM gate blocks: input, forget, cell, output
    kernel = np.zeros((4, 4 * u), np.float32)
    kernel[np.arange(4), 2 * u + np.arange(4)] = 5.0  # cell unit j <- base j
    bias = np.zeros(4 * u, np.float32)
    bias[:u], bias[u : 2 * u], bias[3 * u :] = 30.0, -30.0, 30.0  # input/output open, forget shut
    h = np.tanh(np.tanh(5.0))  # a unit's output at its own base
    model.set_weights([kernel, np.zeros((u, 4 * u), np.float32), bias,
                       (LOGITS / h).astype(np.float32), np.zeros(3, np.float32)])  # fmt: skip
    path = tmp_path_factory.mktemp("motif") / "motif.keras"
    model.save(path)
    return path


def test_motif_model_scores_each_base_by_the_table(motif_model):
    import genorrn

    seq = "ACGTTGCA"
    probs = genorrn.load_model(motif_model).predict(seq)
    np.testing.assert_allclose(probs, TABLE[["ACGT".index(b) for b in seq]], atol=1e-6)


def test_strand_labels_of_both_strands(files):
    from genorrn.data.splice import strand_labels
    from genorrn.io import read_annotation
    from genorrn.regions import Region

    annotation = read_annotation(files[1])
    whole = [Region(RECORD, 0, LENGTH)]
    for strand, sites, body in (("+", PLUS_SITES, (20, 90)), ("-", MINUS_SITES, (150, 250))):
        lab = strand_labels(annotation, RECORD, strand, LENGTH, whole)
        assert {int(p): int(lab.label[p]) for p in np.flatnonzero(lab.label)} == sites, strand
        assert np.flatnonzero(lab.in_gene).tolist() == list(range(*body)), strand
        assert not lab.excluded.any()


def test_minus_strand_windows_are_in_transcript_orientation(files):
    """Each window reads its gene's strand: a minus-strand window is the reverse complement,
    with labels reversed, so its acceptor is a G and its donor a C, as on the + strand."""
    from genorrn.data.splice import collect_windows
    from genorrn.io import Genome, read_annotation
    from genorrn.regions import Region

    genome, annotation = Genome(files[0]), read_annotation(files[1])
    core, context = 50, 10
    arrays = collect_windows(genome, annotation, "all", {"all": [Region(RECORD, 0, LENGTH)]},
                             core=core, context=context)  # fmt: skip
    assert arrays["strand"].tolist() == ["+", "+", "-", "-"]
    assert arrays["start"].tolist() == [20, 70, 150, 200]
    found = {"+": {}, "-": {}}
    forward = _genome_sequence()
    for start, strand, seq, label, weight in zip(arrays["start"], arrays["strand"], arrays["seq"],
                                                 arrays["label"], arrays["weight"]):  # fmt: skip
        text = seq.tobytes().decode()
        a = start - context
        expected = forward[a : a + core + 2 * context]
        if strand == "-":
            from genorrn.alphabets import reverse_complement

            expected = reverse_complement(expected)
        assert text == expected
        assert weight.tolist() == [0] * context + [1] * core + [0] * context
        for j in np.flatnonzero(label):
            position = a + (j if strand == "+" else core + 2 * context - 1 - j)
            found[str(strand)][int(position)] = int(label[j])
            assert text[j] == BASE_AT_SITE[str(strand), int(position)]
    assert found == {"+": PLUS_SITES, "-": MINUS_SITES}


def test_minus_strand_prediction_rows_are_forward_positions(motif_model):
    """``predict(seq, strand="-")``: row i scores forward position i read on the - strand, i.e.
    the complement of base i; the known answer of the table."""
    import genorrn

    seq = _genome_sequence()
    minus = genorrn.load_model(motif_model).predict(seq, strand="-")
    complement = {"A": "T", "C": "G", "G": "C", "T": "A"}
    np.testing.assert_allclose(minus, TABLE[["ACGT".index(complement[b]) for b in seq]], atol=1e-6)
    assert minus[179, 1] > 0.96 and minus[200, 2] > 0.86  # the minus gene's sites


def test_evaluate_splice_hand_computed_metrics(files, motif_model, capsys, tmp_path):
    """Evaluated: + gene body [20, 90) and - gene body [150, 250), 170 positions.
    Acceptor scores: sites 50 (G), 179 (G on -) 0.965 > donors 39, 59, 200 (C) 0.117 > site 70
    (T) 0.047 > the rest (A) 0.0025. k = 3: {50, 179, one C} -> top-k 2/3; AP = (1/1 + 2/2 +
    3/6) / 3 = 0.8333; called at 0.5: 50, 179 -> precision 1, recall 2/3.
    Donor scores: the 3 donors (C) 0.867 above everything: top-k 1, AP 1, all called."""
    out = tmp_path / "metrics.json"
    result = run_in_process(capsys, "evaluate", "splice", str(files[0]), str(files[1]), "--model",
                            str(motif_model), "--chunk-size", "64", "--flank", "16", "-o",
                            str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["evaluated_positions"] == 170
    ranking = {name: {k: m[k] for k in ("top_k", "pr_auc", "sites", "calls")}
               for name, m in report["metrics"].items()}  # fmt: skip
    # (ECE, Brier and reliability bins are checked by hand in test_metrics.py)
    assert {m["ece_floor"] for m in report["metrics"].values()} == {0.01}
    assert ranking == {
        "acceptor": {"top_k": 0.6667, "pr_auc": 0.8333, "sites": 3,
                     "calls": {"threshold": 0.5, "called": 2, "precision": 1.0, "recall": 0.6667}},
        "donor": {"top_k": 1.0, "pr_auc": 1.0, "sites": 3,
                  "calls": {"threshold": 0.5, "called": 3, "precision": 1.0, "recall": 1.0}},
    }  # fmt: skip
