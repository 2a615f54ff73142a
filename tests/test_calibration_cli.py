"""Calibration end to end: `genorrn models calibrate` fits temperatures on validation data and
stores them in the card; predictions use them by default, `--uncalibrated` gives the raw model;
`evaluate` reports ECE and Brier; `plot calibration` draws them; a card whose calibration was
fitted for other weights is refused."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from conftest import REPO, assert_one_line_error, cli, run_in_process, shared_path

pytest.importorskip("keras")
EXAMPLE = REPO / "reference_data" / "proteins" / "example.faa"


@pytest.fixture
def calibrated_model(tmp_path, structure_model_path):
    """The tiny structure model, calibrated on 40 NetSurfP-2.0 validation chains."""
    data = shared_path("structure")
    model = tmp_path / "tiny.keras"
    shutil.copy(structure_model_path, model)
    assert cli("models", "calibrate", str(model), "--data-dir", str(data),
               "--max-chains", "40") == 0  # fmt: skip
    return model


def _q8(csv_path, record):
    """Q8 probabilities of one record of a `predict structure` CSV, in HGIEBTSC order."""
    from genorrn.alphabets import SS8_CLASSES

    rows = [line.split(",") for line in csv_path.read_text().splitlines()]
    columns = [rows[0].index(f"p[q8_{c}]") for c in SS8_CLASSES]
    return np.array([[float(r[i]) for i in columns] for r in rows[1:] if r[0] == record])


def test_calibrate_predict_and_uncalibrated(tmp_path, calibrated_model, structure_model_path):
    import genorrn
    from genorrn.calibration import apply_group_temperatures
    from genorrn.data.proteins import read_proteins

    card = json.loads(calibrated_model.with_name("tiny.card.json").read_text())
    calibration = card["calibration"]
    # Q3 validation labels: one temperature per Q3 group of Q8 classes
    assert card["task"] == "structure" and calibration["method"] == "group-temperature"
    assert calibration["groups"] == [[0, 1, 2], [3, 4], [5, 6, 7]]
    assert len(calibration["temperatures"]) == 3
    assert calibration["fitted_on"]["set"] == "netsurfp2_validation"
    # fitting lowers the validation NLL it minimises
    assert calibration["validation"]["nll_after"] < calibration["validation"]["nll_before"]
    calibrated, raw = tmp_path / "cal.csv", tmp_path / "raw.csv"
    assert cli("predict", "structure", str(EXAMPLE), "-o", str(calibrated),
               "--model", str(calibrated_model)) == 0  # fmt: skip
    assert cli("predict", "structure", str(EXAMPLE), "-o", str(raw), "--model",
               str(calibrated_model), "--uncalibrated") == 0  # fmt: skip
    uncalibrated_model = tmp_path / "plain.csv"
    assert cli("predict", "structure", str(EXAMPLE), "-o", str(uncalibrated_model),
               "--model", str(structure_model_path)) == 0  # fmt: skip
    assert raw.read_text() == uncalibrated_model.read_text()
    # the Python API: calibrated by default, the card's temperatures on the raw outputs
    rid, seq = next(iter(read_proteins(EXAMPLE)))
    model = genorrn.load_model(calibrated_model)
    api = model.predict(seq)
    api_raw = model.predict(seq, calibrated=False)
    expected = apply_group_temperatures(api_raw, calibration["groups"],
                                        calibration["temperatures"])  # fmt: skip
    np.testing.assert_allclose(api, expected, atol=1e-6)
    # the CLI writes the same numbers (3 decimals), and calibration changed them
    assert np.abs(_q8(calibrated, rid) - api).max() <= 5e-4 + 1e-6
    assert np.abs(_q8(raw, rid) - api_raw).max() <= 5e-4 + 1e-6
    assert np.abs(api - api_raw).max() > 0.005


def test_evaluate_reports_and_plot_calibration(tmp_path, calibrated_model, capsys):
    data = shared_path("structure")
    report = tmp_path / "report.json"
    assert cli("evaluate", "structure", "--model", str(calibrated_model), "--data-dir",
               str(data), "--sets", "ts115", "--max-chains", "10", "-o", str(report)) == 0  # fmt: skip
    per_class = json.loads(report.read_text())["sets"]["ts115"]["q3"]["per_class"]
    for name in "HEC":
        assert 0 <= per_class[name]["ece"] <= 1 and 0 <= per_class[name]["brier"] <= 1
        assert sum(r["n"] for r in per_class[name]["reliability"]) == per_class["H"]["support"] + \
            per_class["E"]["support"] + per_class["C"]["support"]  # every residue binned
    figure = tmp_path / "reliability.svg"
    result = run_in_process(capsys, "plot", "calibration", str(report), "-o", str(figure))
    assert result.returncode == 0, result.stderr
    assert figure.read_text().startswith("<?xml")
    assert result.stderr.splitlines() == [f"genorrn: plotted reliability diagrams (ts115: Q3) -> "
                                          f"{figure}"]  # fmt: skip


def test_calibration_of_other_weights_is_refused(tmp_path, capsys, calibrated_model):
    card_path = calibrated_model.with_name("tiny.card.json")
    card = json.loads(card_path.read_text())
    card["calibration"]["weights_sha256"] = "0" * 64
    card_path.write_text(json.dumps(card))
    result = run_in_process(capsys, "predict", "structure", str(EXAMPLE), "-o",
                            str(tmp_path / "x.csv"), "--model", str(calibrated_model))  # fmt: skip
    assert_one_line_error(result, "tiny.card.json", "fitted for other weights")
    assert not (tmp_path / "x.csv").exists()
    card["calibration"]["weights_sha256"] = json.loads(card_path.read_text())["weights"]["sha256"]
    card["calibration"]["temperatures"] = [1.0, -1.0]
    card_path.write_text(json.dumps(card))
    result = run_in_process(capsys, "predict", "structure", str(EXAMPLE), "-o",
                            str(tmp_path / "x.csv"), "--model", str(calibrated_model))  # fmt: skip
    assert_one_line_error(result, "positive temperatures")


def test_plot_calibration_bad_report(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    result = run_in_process(capsys, "plot", "calibration", str(bad), "-o", str(tmp_path / "x.png"))
    assert_one_line_error(result, "bad.json", "not a 'genorrn evaluate' JSON report")


def test_calibrate_splice_on_a_region(tmp_path):
    import keras

    from genorrn.models import LabellerConfig, build_labeller

    keras.utils.set_random_seed(3)
    model = tmp_path / "tiny_splice.keras"
    build_labeller(LabellerConfig(lstm_units=[4], conv_filters=0), name="genorrn_splice").save(model)
    fasta = REPO / "reference_data" / "athaliana_chr1_test_slice.fa"
    gff = REPO / "reference_data" / "athaliana_chr1_test_slice.gff3"
    region = "NC_003070.9_25000001-25100000:1-30000"
    assert cli("models", "calibrate", str(model), "--genome", str(fasta), "--annotation",
               str(gff), "--region", region) == 0  # fmt: skip
    calibration = json.loads(model.with_name("tiny_splice.card.json").read_text())["calibration"]
    # --method auto: isotonic only if clearly better on the held-out half of the validation
    two_fold = calibration["validation"]["two_fold_mean_ece"]
    isotonic = two_fold["isotonic"] <= 0.8 * two_fold["temperature"]
    assert calibration["method"] == ("isotonic" if isotonic else "temperature")
    assert len(calibration["maps" if isotonic else "temperatures"]) == 3
    assert calibration["fitted_on"]["regions"] == [region]
    validation = calibration["validation"]
    assert validation["nll_after"] < validation["nll_before"]
    assert set(validation["per_class"]) == {"neither", "acceptor", "donor"}
    reports = {}
    for name, extra in (("calibrated", []), ("raw", ["--uncalibrated"])):
        reports[name] = tmp_path / f"{name}.json"
        assert cli("evaluate", "splice", str(fasta), str(gff), "--model", str(model), "--region",
                   region, "-o", str(reports[name]), *extra) == 0  # fmt: skip
    assert json.loads(reports["raw"].read_text())["calibrated"] is False
    assert json.loads(reports["calibrated"].read_text())["calibrated"] is True
    raw = json.loads(reports["raw"].read_text())["metrics"]
    calibrated = json.loads(reports["calibrated"].read_text())["metrics"]
    for site in ("acceptor", "donor"):
        assert raw[site]["ece_floor"] == 0.01 and raw[site]["reliability"]
        # a random model's ~1/3 site probabilities are calibrated down towards the site rate
        assert calibrated[site]["brier"] < raw[site]["brier"]
    assert cli("plot", "calibration", str(reports["raw"]), "-o", str(tmp_path / "r.png")) == 0


def test_calibrate_splice_uses_the_cards_validation_region_and_refuses_its_test_region(
        tmp_path, capsys):  # fmt: skip
    """A card that records its splits (data.splits, as 'data splice' writes them): calibration
    defaults to its validation region, and a --region overlapping its test region is refused
    before anything is predicted or written."""
    import keras

    from genorrn.cards import ModelCard, write_card
    from genorrn.io.checksums import sha256
    from genorrn.models import LabellerConfig, build_labeller

    keras.utils.set_random_seed(4)
    model = tmp_path / "split_splice.keras"
    build_labeller(LabellerConfig(lstm_units=[4], conv_filters=0), name="genorrn_splice").save(model)
    chrom = "NC_003070.9_25000001-25100000"
    splits = [{"split": "train", "regions": [f"{chrom}:1-20000"]},
              {"split": "validation", "regions": [f"{chrom}:20001-45000"]},
              {"split": "test", "regions": [f"{chrom}:50001"]}]  # open end, as the cards write it
    card_file = tmp_path / "split_splice.card.json"
    write_card(ModelCard(name="split_splice", task="splice", classes=["neither", "acceptor", "donor"],
                         weights={"file": model.name, "sha256": sha256(model)},
                         data={"splits": splits}), card_file)  # fmt: skip
    fasta = REPO / "reference_data" / "athaliana_chr1_test_slice.fa"
    gff = REPO / "reference_data" / "athaliana_chr1_test_slice.gff3"
    base = ["models", "calibrate", str(model), "--genome", str(fasta), "--annotation", str(gff)]
    before = card_file.read_bytes()
    result = run_in_process(capsys, *base, "--region", f"{chrom}:40001-60000")
    assert_one_line_error(result, f"{chrom}:40001-60000", "overlaps the model's test region",
                          f"{chrom}:50001")  # fmt: skip
    assert card_file.read_bytes() == before
    assert run_in_process(capsys, *base).returncode == 0
    calibration = json.loads(card_file.read_text())["calibration"]
    assert calibration["fitted_on"]["regions"] == [f"{chrom}:20001-45000"]


def test_recorded_splits_of_an_ensemble_are_its_members():
    from genorrn.cli.models import recorded_splits
    from genorrn.pretrained import load_model

    validation, tests = recorded_splits(load_model("splice-athaliana-ensemble-v1", calibration=False))
    assert validation == ["NC_003070.9:20000001-23000000"]
    assert tests == ["NC_003070.9:23000001"]
