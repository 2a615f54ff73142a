"""Homology filter: shared 30-mers always; MMseqs2 hits (skipped when mmseqs is missing)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from genorrn.data import homology
from genorrn.data.homology import homology_filter, shared_kmer_hits
from genorrn.errors import InputError

AA = list("ACDEFGHIKLMNPQRSTVWY")


def _random(rng, n):
    return "".join(rng.choice(AA, n))


def _mutate(rng, seq, fraction):
    seq = list(seq)
    for i in rng.choice(len(seq), int(len(seq) * fraction), replace=False):
        seq[i] = rng.choice([a for a in AA if a != seq[i]])
    return "".join(seq)


@pytest.fixture
def sets():
    rng = np.random.default_rng(7)
    ref = _random(rng, 150)
    refs = {"cb513": [("t1", ref), ("t2", _random(rng, 120))], "ts115": [("u1", "MKVLAAG")]}
    pool = [
        ("exact", ref),
        ("shares30", _random(rng, 40) + ref[50:85] + _random(rng, 40)),
        ("homolog", _mutate(rng, ref, 0.45)),  # ~55 % identity over 150 residues, no 30-mer
        ("unrelated", _random(rng, 160)),
        ("short", "AMKVLAAGW"),  # contains a short evaluation chain
    ]
    return {"pisces": pool}, refs


def test_shared_kmers(sets):
    pools, refs = sets
    hits = shared_kmer_hits(pools["pisces"], refs, 30)
    assert set(hits) == {"exact", "shares30", "short"}
    assert "cb513:t1" in hits["exact"]


@pytest.mark.skipif(shutil.which("mmseqs") is None,
                    reason="mmseqs not installed (apt-get install -y mmseqs2)")
def test_mmseqs_filter_and_cache(sets, tmp_path):
    pools, refs = sets
    result = homology_filter(pools, refs, cache_dir=tmp_path, threads=1)
    removed = result.removed["pisces"]
    assert set(removed) == {"exact", "shares30", "homolog", "short"}
    assert removed["homolog"].startswith("mmseqs hit cb513:t1")
    assert result.counts["pisces"] == {"chains": 5, "removed": 4, "removed_kmer": 3,
                                       "removed_mmseqs": result.counts["pisces"]["removed_mmseqs"],
                                       "kept": 1}  # fmt: skip
    again = homology_filter(pools, refs, cache_dir=tmp_path)
    assert again.cached and again.removed == result.removed
    assert len(list(tmp_path.glob("homology-*.json"))) == 1


def test_missing_mmseqs_says_how_to_install(sets, tmp_path, monkeypatch):
    monkeypatch.setattr(homology.shutil, "which", lambda _name: None)
    with pytest.raises(InputError, match="apt-get install -y mmseqs2"):
        homology_filter(*sets, cache_dir=tmp_path)


# -- `genorrn data homology-filter` as a step of its own, consumed by `train structure` -----------

TINY_TRAIN = ("--units", "4", "--conv-filters", "4", "--conv-layers", "1", "--dropout", "0",
              "--epochs", "1", "--steps-per-epoch", "1", "--batch-size", "8", "--max-len", "128")


def _filter_then_train(capsys, monkeypatch, tmp_path, method, pools, max_chains):
    """Run the filter command, then train from its result with the filter itself disabled;
    return (filter result, the training run's homology.json)."""
    import json

    from conftest import run_in_process, shared_path
    from genorrn.data import structure_sets

    data = shared_path("structure")
    selection = ("--data-dir", str(data), "--pools", pools, "--max-chains", str(max_chains))
    result = run_in_process(capsys, "data", "homology-filter", "-o", str(tmp_path / "hf"),
                            "--homology", method, "--cache-dir", str(tmp_path / "cache"),
                            "--threads", "1", *selection)  # fmt: skip
    assert result.returncode == 0, result.stderr
    filtered = json.loads((tmp_path / "hf" / "homology.json").read_text())

    def no_filter(*_args, **_kwargs):
        raise AssertionError("train structure ran the homology filter again")

    monkeypatch.setattr(structure_sets, "filter_candidates", no_filter)
    result = run_in_process(capsys, "train", "structure", "-o", str(tmp_path / "run"),
                            "--homology-result", str(tmp_path / "hf" / "homology.json"),
                            *selection, *TINY_TRAIN)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "run" / "model.keras").exists()
    trained = json.loads((tmp_path / "run" / "homology.json").read_text())
    return filtered, trained


def test_kmer_filter_command_is_used_by_train(capsys, monkeypatch, tmp_path):
    filtered, trained = _filter_then_train(capsys, monkeypatch, tmp_path, "kmer", "netsurfp2", 30)
    assert filtered["method"] == "kmer"
    assert set(filtered["pools"]) == {"netsurfp2_validation", "netsurfp2_train"}
    for pool in filtered["pools"].values():
        assert pool["counts"]["chains"] == 30
        assert len(pool["removed"]) + len(pool["kept"]) == 30
    summary = trained["summary"]["homology_filter"]
    assert summary["tool"] == "shared 30-mers only"
    assert summary["removed_per_pool"] == {n: p["counts"] for n, p in filtered["pools"].items()}
    assert trained["removed"] == {n: p["removed"] for n, p in filtered["pools"].items()}


@pytest.mark.skipif(shutil.which("mmseqs") is None,
                    reason="mmseqs not installed (apt-get install -y mmseqs2)")
def test_mmseqs_filter_command_is_used_by_train(capsys, monkeypatch, tmp_path):
    filtered, trained = _filter_then_train(capsys, monkeypatch, tmp_path, "mmseqs", "pisces2018",
                                           60)  # fmt: skip
    counts = filtered["pools"]["pisces2018"]["counts"]
    assert counts["chains"] == 60 and counts["removed"] >= counts["removed_kmer"] > 0
    assert filtered["detail"]["tool"].startswith("MMseqs2")
    assert list(tmp_path.glob("cache/homology-*.json"))  # cached for the next run
    summary = trained["summary"]["homology_filter"]
    assert summary["tool"] == filtered["detail"]["tool"]
    assert summary["removed_per_pool"]["pisces2018"] == counts


def test_filter_command_without_mmseqs_says_how_to_install(capsys, monkeypatch, tmp_path):
    from conftest import assert_one_line_error, run_in_process, shared_path

    data = shared_path("structure")
    monkeypatch.setattr(homology.shutil, "which", lambda _name: None)
    result = run_in_process(capsys, "data", "homology-filter", "-o", str(tmp_path / "hf"),
                            "--data-dir", str(data), "--pools", "netsurfp2", "--max-chains", "5",
                            "--cache-dir", str(tmp_path / "cache"))  # fmt: skip
    assert_one_line_error(result, "mmseqs", "apt-get install -y mmseqs2")
    assert not (tmp_path / "hf" / "homology.json").exists()


def test_bad_or_mismatched_homology_result_is_a_one_line_error(capsys, tmp_path):
    import json

    from conftest import assert_one_line_error, run_in_process, shared_path

    data = shared_path("structure")
    selection = ("--data-dir", str(data), "--pools", "netsurfp2", "--max-chains", "10")
    hf = tmp_path / "hf"
    assert run_in_process(capsys, "data", "homology-filter", "-o", str(hf), "--homology", "kmer",
                          *selection).returncode == 0  # fmt: skip
    good = hf / "homology.json"
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    summary = tmp_path / "summary.json"  # what train structure writes: not a filter result
    summary.write_text(json.dumps({"summary": {}, "removed": {}}))
    cases = [
        (tmp_path / "missing.json", selection, ("not found",)),
        (broken, selection, ("not a homology filter result",)),
        (summary, selection, ("not a 'genorrn data homology-filter' result",)),
        (good, ("--data-dir", str(data), "--pools", "netsurfp2", "--max-chains", "12"),
         ("other netsurfp2_validation chains", "--max-chains")),
        (good, ("--data-dir", str(data), "--pools", "pisces2018", "--max-chains", "10"),
         ("no result for 'pisces2018'", "--pools")),
    ]
    for path, chosen, fragments in cases:
        result = run_in_process(capsys, "train", "structure", "-o", str(tmp_path / "run"),
                                "--homology-result", str(path), *chosen, *TINY_TRAIN)  # fmt: skip
        assert_one_line_error(result, str(path), *fragments)
    assert not (tmp_path / "run").exists()
