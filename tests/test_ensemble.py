"""Ensembles (#16): `genorrn models ensemble` writes a card listing members of one task; a
prediction is the mean of the members' probabilities, computed in one streamed pass (each input
window read once, one model call per chunk); bad inputs are one-line errors and write nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import REPO, assert_one_line_error, cli, run_in_process

keras = pytest.importorskip("keras")

EXAMPLE_FA = REPO / "reference_data" / "athaliana_chr1_test_slice.fa"
RECORD = "NC_003070.9_25000001-25100000"
#: members of different sizes and conv contexts (0, 2 and 4 positions)
MEMBERS = {
    "a": {"lstm_units": [6], "conv_filters": 0},
    "b": {"lstm_units": [8, 4], "conv_filters": 4, "conv_kernel": 5, "conv_layers": 1},
    "c": {"lstm_units": [5], "conv_filters": 3, "conv_kernel": 5, "conv_layers": 2},
}
#: small streaming settings so that a few hundred positions span several chunks
STREAMING = {"chunk_size": 200, "flank": 60, "batch_size": 2}


@pytest.fixture(scope="module")
def members(tmp_path_factory):
    """Three tiny random splice labellers with cards (streaming settings) in one folder."""
    from genorrn.cards import ModelCard, write_card
    from genorrn.models import LabellerConfig, build_labeller
    from genorrn.pretrained import sha256

    folder = tmp_path_factory.mktemp("members")
    keras.utils.set_random_seed(16)
    paths = {}
    for name, config in MEMBERS.items():
        path = folder / f"{name}.keras"
        build_labeller(LabellerConfig(**config), name="genorrn_splice").save(path)
        write_card(ModelCard(name=name, task="splice", alphabet="dna",
                             classes=["neither", "acceptor", "donor"], streaming=STREAMING,
                             weights={"file": path.name, "sha256": sha256(path)}),
                   folder / f"{name}.card.json")  # fmt: skip
        paths[name] = path
    return paths


@pytest.fixture
def ensemble(members, capsys):
    """`genorrn models ensemble a b c -o ens` in the members' folder: the card's path."""
    out = members["a"].with_name("ens.card.json")
    out.unlink(missing_ok=True)
    result = run_in_process(capsys, "models", "ensemble", *(str(members[n]) for n in "abc"),
                            "-o", str(out.with_name("ens")))  # fmt: skip
    assert result.returncode == 0, result.stderr
    return out


def _sequence(length: int, seed: int = 0) -> str:
    return "".join(np.random.default_rng(seed).choice(list("ACGT"), length))


def test_ensemble_card(ensemble, members):
    from genorrn.pretrained import sha256

    card = json.loads(ensemble.read_text())
    assert card["task"] == "splice" and card["alphabet"] == "dna"
    assert card["classes"] == ["neither", "acceptor", "donor"]
    assert card["weights"] == {} and not ensemble.with_name("ens.keras").exists()
    assert card["members"] == [{"name": n, "file": f"{n}.keras", "sha256": sha256(members[n])}
                               for n in "abc"]  # fmt: skip
    assert card["streaming"] == STREAMING
    assert card["genorrn_version"] and card["created"]


def test_ensemble_predicts_the_mean_of_its_members(ensemble, members):
    import genorrn

    seq = _sequence(937)  # several chunks, not a multiple of the chunk size
    model = genorrn.load_model(ensemble)
    assert model.is_ensemble and len(model.members) == 3 and model.task == "splice"
    assert model.conv_context == 4  # member c's
    singles = [genorrn.load_model(members[n]) for n in "abc"]
    for strand in "+-":
        expected = np.mean([m.predict(seq, strand=strand) for m in singles], axis=0)
        # measured: at most 6e-8 (float32 rounding of the mean)
        assert np.abs(model.predict(seq, strand=strand) - expected).max() <= 1e-6
    # by name, through a models folder
    from genorrn.pretrained import load_model

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GENORRN_MODELS", str(ensemble.parent))
        np.testing.assert_array_equal(load_model("ens").predict(seq), model.predict(seq))


def test_ensemble_reads_each_window_once(ensemble, members):
    """One pass: the ensemble fetches the input exactly as a single model does (the same
    windows, the same number of times) and makes one model call per chunk step."""
    import genorrn
    from genorrn.encoding import encode_dna
    from genorrn.streaming import Stream, Task

    onehot = encode_dna(_sequence(1500, seed=1))
    predictors = {"ensemble": genorrn.load_model(ensemble).predictor(),
                  "single": genorrn.load_model(members["c"]).predictor()}  # fmt: skip
    for split in (True, False):  # lanes with warm-up chunks, and one lane
        counts = {}
        for name, predictor in predictors.items():
            fetches, calls = [], []
            stream = Stream("s", len(onehot), lambda a, b: fetches.append((a, b)) or onehot[a:b])
            step = predictor.step.predict_on_batch
            predictor.step.predict_on_batch = lambda inputs: calls.append(1) or step(inputs)
            try:
                predictor.run([Task(stream, 0, len(onehot))], lambda *_: None, split=split)
            finally:
                del predictor.step.predict_on_batch
            counts[name] = (sorted(fetches), len(calls))
        assert counts["ensemble"] == counts["single"]
    fetches, calls = counts["ensemble"]  # one lane: 8 chunks, each window read once
    # (plus one read of the whole sequence by the search for assembly gaps, runs of N)
    fetches.remove((0, len(onehot)))
    assert len(set(fetches)) == len(fetches) == calls == 8


def test_predict_splice_with_an_ensemble(tmp_path, ensemble, members):
    import pyBigWig

    import genorrn

    region = f"{RECORD}:20001-20800"  # 4 chunks: one lane per strand, as in predict_region
    assert cli("predict", "splice", str(EXAMPLE_FA), "--region", region, "--model",
               str(ensemble), "-o", str(tmp_path / "ens")) == 0  # fmt: skip
    singles = [genorrn.load_model(members[n]) for n in "abc"]
    for strand, name in (("+", "plus"), ("-", "minus")):
        expected = np.mean([m.predict_region(EXAMPLE_FA, region, strand=strand)
                            for m in singles], axis=0)  # fmt: skip
        for column, site in ((1, "acceptor"), (2, "donor")):
            with pyBigWig.open(str(tmp_path / f"ens.{site}.{name}.bw")) as bw:
                written = np.array(bw.values(RECORD, 20000, 20800), np.float32)
            assert np.abs(written - expected[:, column]).max() <= 1e-6


def test_variant_scoring_runs_every_member(ensemble, members):
    """VariantScorer builds its own predictors: for an ensemble they average the members."""
    import genorrn
    from genorrn.io.fasta import Genome
    from genorrn.variants import Variant, VariantScorer

    genome = Genome(EXAMPLE_FA)
    options = {"distance": 50, "context": 60, "batch_size": 2}
    ref = genome.fetch(RECORD, 30_000, 30_001)
    variant = Variant(RECORD, 30_000, ref, ("A" if ref.upper() != "A" else "C",))
    results = {}
    for name, path in [("ensemble", ensemble)] + [(n, members[n]) for n in "abc"]:
        scorer = VariantScorer(genorrn.load_model(path), genome, None, **options)
        lanes = [scorer._alt_lane(variant, variant.alts[0], strand, genome.lengths[RECORD])
                 for strand in "+-"] + [scorer._tile_lane(RECORD, "-", 7)]  # fmt: skip
        results[name] = scorer._run(lanes)
        if name == "ensemble":
            assert scorer.ctx == 4  # the largest member context
            (scored,) = scorer.score([variant])
            assert scored.reason is None and len(scored.entries) == 2
    for lane, probs in results["ensemble"].items():
        expected = np.mean([results[n][lane] for n in "abc"], axis=0)
        assert np.abs(probs - expected).max() <= 1e-6


def test_models_list_and_show(ensemble, capsys, monkeypatch):
    monkeypatch.setenv("GENORRN_MODELS", str(ensemble.parent))
    result = run_in_process(capsys, "models", "list")
    assert result.returncode == 0
    line = next(row for row in result.stdout.splitlines() if row.startswith("ens\t"))
    assert "ensemble of 3" in line and "\tsplice\t" in line
    for name in "abc":  # the members are listed as models of their own
        assert any(row.startswith(f"{name}\t") for row in result.stdout.splitlines())
    result = run_in_process(capsys, "models", "show", "ens")
    assert result.returncode == 0 and len(json.loads(result.stdout)["members"]) == 3


def test_calibrated_ensemble(tmp_path, ensemble, capsys):
    """`models calibrate` fits the ensemble's own temperatures (for its members' sha256s);
    a card whose members changed afterwards is refused."""
    import genorrn
    from genorrn.calibration import apply_temperatures
    from genorrn.cards import members_sha256

    gff = REPO / "reference_data" / "athaliana_chr1_test_slice.gff3"
    assert cli("models", "calibrate", str(ensemble), "--genome", str(EXAMPLE_FA), "--annotation",
               str(gff), "--region", f"{RECORD}:1-20000") == 0  # fmt: skip
    card = json.loads(ensemble.read_text())
    assert card["calibration"]["weights_sha256"] == members_sha256(card["members"])
    model = genorrn.load_model(ensemble)
    seq = _sequence(500, seed=2)
    np.testing.assert_allclose(model.predict(seq), apply_temperatures(
        model.predict(seq, calibrated=False), card["calibration"]["temperatures"]), atol=1e-6)
    report = tmp_path / "evaluate.json"
    assert cli("evaluate", "splice", str(EXAMPLE_FA), str(gff), "--model", str(ensemble),
               "--region", f"{RECORD}:1-20000", "-o", str(report)) == 0  # fmt: skip
    assert json.loads(report.read_text())["model_sha256"] == members_sha256(card["members"])
    report.unlink()
    card["members"] = card["members"][:2]  # another ensemble, the old calibration
    ensemble.write_text(json.dumps(card))
    result = run_in_process(capsys, "predict", "splice", str(EXAMPLE_FA), "--model",
                            str(ensemble), "-o", str(tmp_path / "x"))  # fmt: skip
    assert_one_line_error(result, "ens.card.json", "fitted for other weights")
    assert not list(tmp_path.iterdir())


def _refused(capsys, tmp_path, *args, fragments=()):
    """`genorrn ARGS` fails with one line containing ``fragments`` and writes nothing."""
    before = sorted(tmp_path.rglob("*"))
    result = run_in_process(capsys, *args)
    assert_one_line_error(result, *fragments)
    assert sorted(tmp_path.rglob("*")) == before


def test_bad_ensembles_are_refused(tmp_path, capsys, members, structure_model_path):
    out = str(tmp_path / "bad")
    a, b = str(members["a"]), str(members["b"])
    _refused(capsys, tmp_path, "models", "ensemble", a, "-o", out,
             fragments=("bad.card.json", "at least 2 members"))
    _refused(capsys, tmp_path, "models", "ensemble", a, str(structure_model_path), "-o", out,
             fragments=("bad.card.json", "different tasks"))
    _refused(capsys, tmp_path, "models", "ensemble", a, b, a, "-o", out,
             fragments=("a.keras", "given twice"))
    (tmp_path / "taken.card.json").write_text("{}")
    _refused(capsys, tmp_path, "models", "ensemble", a, b, "-o", str(tmp_path / "taken"),
             fragments=("taken.card.json", "exists"))
    _refused(capsys, tmp_path, "models", "ensemble", a, b, "-o", str(tmp_path / "x.keras"),
             fragments=("x.keras", "card alone"))


def _ensemble_copy(tmp_path, members, capsys, names="ab"):
    """An ensemble of copies of members ``names`` in ``tmp_path``."""
    import shutil

    for n in names:
        shutil.copy(members[n], tmp_path / f"{n}.keras")
    assert cli("models", "ensemble", *(str(tmp_path / f"{n}.keras") for n in names),
               "-o", str(tmp_path / "ens")) == 0  # fmt: skip
    capsys.readouterr()
    return tmp_path / "ens.card.json"


def test_altered_or_missing_member_is_refused(tmp_path, capsys, members):
    card = _ensemble_copy(tmp_path, members, capsys)
    predict = ("predict", "splice", str(EXAMPLE_FA), "--model", str(card), "-o",
               str(tmp_path / "out"))  # fmt: skip
    with (tmp_path / "b.keras").open("ab") as handle:  # altered after the card was written
        handle.write(b"\0")
    _refused(capsys, tmp_path, *predict, fragments=("ens.card.json", "'b'", "does not match"))
    (tmp_path / "b.keras").unlink()
    _refused(capsys, tmp_path, *predict, fragments=("ens.card.json", "'b'", "not found"))
    with pytest.raises(Exception, match="member 'b' not found"):
        import genorrn

        genorrn.load_model(card)


def test_card_with_members_of_mixed_tasks_is_refused(tmp_path, capsys, members,
                                                     structure_model_path):  # fmt: skip
    """A hand-edited card whose members are of different tasks fails on loading."""
    import shutil

    from genorrn.pretrained import sha256

    card = _ensemble_copy(tmp_path, members, capsys)
    shutil.copy(structure_model_path, tmp_path / "s.keras")
    data = json.loads(card.read_text())
    data["members"][1] = {"name": "s", "file": "s.keras", "sha256": sha256(tmp_path / "s.keras")}
    card.write_text(json.dumps(data))
    result = run_in_process(capsys, "predict", "splice", str(EXAMPLE_FA), "--model", str(card),
                            "-o", str(tmp_path / "out"))  # fmt: skip
    assert_one_line_error(result, "ens.card.json", "different tasks")
    assert not list(tmp_path.glob("out*"))
