"""Homology filter: shared 30-mers always; MMseqs2 hits. Without ``mmseqs`` the MMseqs2 tests
are skipped on a developer machine and fail on CI (``CI`` set; ``.ci/run`` installs it)."""

from __future__ import annotations

import gzip
import json

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
def mmseqs():
    from conftest import require_tool

    return require_tool("mmseqs", "apt-get install -y mmseqs2")


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


def test_mmseqs_filter_and_cache(sets, tmp_path, mmseqs):
    pools, refs = sets
    result = homology_filter(pools, refs, cache_dir=tmp_path, threads=1)
    removed = result.removed["pisces"]
    assert set(removed) == {"exact", "shares30", "homolog", "short"}
    assert removed["homolog"].startswith("mmseqs hit cb513:t1")
    assert removed["short"] == "contains ts115:u1"  # 9 residues: below MMseqs2's reach
    # MMseqs2 finds exact, shares30 (35 identical residues) and homolog (~55 % identity)
    assert result.counts["pisces"] == {"chains": 5, "removed": 4, "removed_kmer": 3,
                                       "removed_mmseqs": 3, "kept": 1}  # fmt: skip
    again = homology_filter(pools, refs, cache_dir=tmp_path)
    assert again.cached and again.removed == result.removed
    assert len(list(tmp_path.glob("homology-*.json"))) == 1


def _fasta_gz(path, records):
    with gzip.open(path, "wt") as handle:
        handle.writelines(f">{header}\n{seq}\n" for header, seq in records)


def _test_csv(path, seqs):
    rows = ["input, dssp3, dssp8, disorder, cb513_mask"]
    for seq in seqs:
        rows.append(",".join([" ".join(seq), " ".join("C" * len(seq)), " ".join("C" * len(seq)),
                              " ".join(["1.0"] * len(seq)), " ".join(["1.0"] * len(seq))]))
    with gzip.open(path, "wt") as handle:
        handle.write("\n".join(rows) + "\n")


@pytest.fixture
def tiny_structure_data(tmp_path):
    """A structure data folder in the layout of ../shared/data/structure, made of random chains
    with known relations to the evaluation sets; returns (folder, expected removals)."""
    rng = np.random.default_rng(11)
    cb513 = [_random(rng, 150), _random(rng, 120)]
    ts115 = [_random(rng, 100)]
    nsp_test = _random(rng, 90)
    shared = ts115[0][30:65]
    # mutated copies: ~55-60 % identity over the whole chain, and no shared 30-mer
    pisces = {
        "1abc-A": _mutate(rng, cb513[0], 0.45),
        "1abd-A": _random(rng, 40) + shared + _random(rng, 40),  # 35 residues of ts115_1
        "1abe-A": _random(rng, 160),
        "1abf-A": _mutate(rng, nsp_test, 0.4),
    }
    nsp_train = {"nt1": _random(rng, 110), "nt2": _mutate(rng, cb513[1], 0.4)}
    nsp_validation = {"nv1": _random(rng, 95), "nv2": _mutate(rng, ts115[0], 0.4)}
    folder = tmp_path / "structure"
    (folder / "netsurfp2").mkdir(parents=True)
    (folder / "pisces2018").mkdir()
    nsp = ([(i, s, "SET=train VALIDATION=False") for i, s in nsp_train.items()]
           + [(i, s, "SET=train VALIDATION=True") for i, s in nsp_validation.items()]
           + [("ns1", nsp_test, "SET=test VALIDATION=False")])  # fmt: skip
    _fasta_gz(folder / "netsurfp2" / "sequences.fasta.gz", [(i, s) for i, s, _ in nsp])
    _fasta_gz(folder / "netsurfp2" / "labels_q3.fasta.gz",
              [(f"{i} {h}", "C" * len(s)) for i, s, h in nsp])  # fmt: skip
    _fasta_gz(folder / "netsurfp2" / "resolved_mask.fasta.gz", [(i, "1" * len(s)) for i, s, _ in nsp])
    lines = ["pdb_id,chain_code,seq,sst8,sst3"]
    lines += [f"{cid[:4]},{cid[5:]},{s},{'C' * len(s)},{'C' * len(s)}" for cid, s in pisces.items()]
    with gzip.open(folder / "pisces2018" / "pdb_intersect_pisces_2018-06-06.csv.gz", "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    _test_csv(folder / "cb513.csv.gz", cb513)
    _test_csv(folder / "ts115.csv.gz", ts115)
    kmer = {"pisces2018": {"1abd-A": "shares a 30-mer with ts115:ts115_1"}}
    mmseqs = {
        "pisces2018": {"1abc-A": "cb513:cb513_1", "1abf-A": "netsurfp2_test:ns1"},
        "netsurfp2_train": {"nt2": "cb513:cb513_2"},
        "netsurfp2_validation": {"nv2": "ts115:ts115_1"},
    }
    return folder, kmer, mmseqs


def test_filter_command_mmseqs_removes_homologs_without_shared_kmers(capsys, tmp_path, mmseqs,
                                                                    tiny_structure_data):  # fmt: skip
    """``genorrn data homology-filter --homology mmseqs`` on a small data folder: mutated copies
    of evaluation chains (no shared 30-mer) are removed by MMseqs2, and kept by the k-mer-only
    filter; the shared 30-mer is removed by both; unrelated chains are kept."""
    from conftest import run_in_process

    data, kmer, by_mmseqs = tiny_structure_data
    results = {}
    for method in ("kmer", "mmseqs"):
        out = tmp_path / method
        result = run_in_process(capsys, "data", "homology-filter", "-o", str(out), "--data-dir",
                                str(data), "--homology", method, "--cache-dir",
                                str(tmp_path / "cache"), "--threads", "1")  # fmt: skip
        assert result.returncode == 0, result.stderr
        results[method] = json.loads((out / "homology.json").read_text())
    pools = {"pisces2018": ["1abc-A", "1abd-A", "1abe-A", "1abf-A"],
             "netsurfp2_train": ["nt1", "nt2"], "netsurfp2_validation": ["nv1", "nv2"]}  # fmt: skip
    assert set(results["kmer"]["pools"]) == set(results["mmseqs"]["pools"]) == set(pools)
    for name, chains in pools.items():
        removed_kmer = results["kmer"]["pools"][name]["removed"]
        assert removed_kmer == kmer.get(name, {})
        assert results["kmer"]["pools"][name]["kept"] == [c for c in chains if c not in removed_kmer]
        removed = results["mmseqs"]["pools"][name]["removed"]
        expected = {**by_mmseqs.get(name, {}), **kmer.get(name, {})}
        assert set(removed) == set(expected), (name, removed)
        for chain, hit in by_mmseqs.get(name, {}).items():
            assert removed[chain].startswith(f"mmseqs hit {hit} "), removed[chain]
        assert results["mmseqs"]["pools"][name]["kept"] == [c for c in chains if c not in expected]
    counts = results["mmseqs"]["pools"]["pisces2018"]["counts"]
    assert counts == {"chains": 4, "removed": 3, "removed_kmer": 1, "removed_mmseqs": 3, "kept": 1}
    assert results["mmseqs"]["detail"]["tool"].startswith("MMseqs2")
    assert len(list((tmp_path / "cache").glob("homology-*.json"))) == 1


def test_missing_mmseqs_says_how_to_install(sets, tmp_path, monkeypatch):
    monkeypatch.setattr(homology.shutil, "which", lambda _name: None)
    with pytest.raises(InputError, match="apt-get install -y mmseqs2"):
        homology_filter(*sets, cache_dir=tmp_path)


# -- `genorrn data homology-filter` as a step of its own, consumed by `train structure` -----------

TINY_TRAIN = ("--units", "4", "--conv-filters", "4", "--conv-layers", "1", "--dropout", "0",
              "--epochs", "1", "--steps-per-epoch", "1", "--batch-size", "8", "--max-len", "128")


def _filter_then_train(capsys, monkeypatch, tmp_path, method, data, pools, max_chains):
    """Run the filter command, then train from its result with the filter itself disabled;
    return (filter result, the training run's homology.json)."""
    from conftest import run_in_process
    from genorrn.data import structure_sets

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


@pytest.mark.slow
def test_kmer_filter_command_is_used_by_train(capsys, monkeypatch, tmp_path, tiny_structure_data):
    """On the small data folder (one training step: seconds, not the real data's minute)."""
    data, kmer, _ = tiny_structure_data
    filtered, trained = _filter_then_train(capsys, monkeypatch, tmp_path, "kmer", data,
                                           "pisces2018,netsurfp2", 4)  # fmt: skip
    assert filtered["method"] == "kmer"
    assert set(filtered["pools"]) == {"netsurfp2_validation", "netsurfp2_train", "pisces2018"}
    for name, pool in filtered["pools"].items():
        assert pool["removed"] == kmer.get(name, {})
        assert pool["counts"]["chains"] == len(pool["removed"]) + len(pool["kept"])
    assert filtered["pools"]["pisces2018"]["kept"] == ["1abc-A", "1abe-A", "1abf-A"]
    summary = trained["summary"]["homology_filter"]
    assert summary["tool"] == "shared 30-mers only"
    assert summary["removed_per_pool"] == {n: p["counts"] for n, p in filtered["pools"].items()}
    assert trained["removed"] == {n: p["removed"] for n, p in filtered["pools"].items()}


@pytest.mark.slow
def test_mmseqs_filter_command_is_used_by_train(capsys, monkeypatch, tmp_path, mmseqs):
    """On the real data: PISCES-2018 overlaps CB513 (shared/data/README.md)."""
    from conftest import shared_path

    filtered, trained = _filter_then_train(capsys, monkeypatch, tmp_path, "mmseqs",
                                           shared_path("structure"), "pisces2018", 60)  # fmt: skip
    counts = filtered["pools"]["pisces2018"]["counts"]
    assert counts["chains"] == 60 and counts["removed"] >= counts["removed_kmer"] > 0
    assert filtered["detail"]["tool"].startswith("MMseqs2")
    assert list(tmp_path.glob("cache/homology-*.json"))  # cached for the next run
    summary = trained["summary"]["homology_filter"]
    assert summary["tool"] == filtered["detail"]["tool"]
    assert summary["removed_per_pool"]["pisces2018"] == counts


def test_filter_command_without_mmseqs_says_how_to_install(capsys, monkeypatch, tmp_path,
                                                           tiny_structure_data):  # fmt: skip
    from conftest import assert_one_line_error, run_in_process

    data = tiny_structure_data[0]
    monkeypatch.setattr(homology.shutil, "which", lambda _name: None)
    result = run_in_process(capsys, "data", "homology-filter", "-o", str(tmp_path / "hf"),
                            "--data-dir", str(data), "--pools", "netsurfp2", "--max-chains", "5",
                            "--cache-dir", str(tmp_path / "cache"))  # fmt: skip
    assert_one_line_error(result, "mmseqs", "apt-get install -y mmseqs2")
    assert not (tmp_path / "hf" / "homology.json").exists()


def test_bad_or_mismatched_homology_result_is_a_one_line_error(capsys, tmp_path,
                                                               tiny_structure_data):  # fmt: skip
    from conftest import assert_one_line_error, run_in_process

    data = tiny_structure_data[0]
    selection = ("--data-dir", str(data), "--pools", "netsurfp2", "--max-chains", "2")
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
        (good, ("--data-dir", str(data), "--pools", "netsurfp2", "--max-chains", "1"),
         ("other netsurfp2_validation chains", "--max-chains")),
        (good, ("--data-dir", str(data), "--pools", "pisces2018", "--max-chains", "2"),
         ("no result for 'pisces2018'", "--pools")),
    ]
    for path, chosen, fragments in cases:
        result = run_in_process(capsys, "train", "structure", "-o", str(tmp_path / "run"),
                                "--homology-result", str(path), *chosen, *TINY_TRAIN)  # fmt: skip
        assert_one_line_error(result, str(path), *fragments)
    assert not (tmp_path / "run").exists()
