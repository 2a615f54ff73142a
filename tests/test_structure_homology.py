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
