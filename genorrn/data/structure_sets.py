"""Training sets of the structure model: pools, the homology filter as a step of its own.

:func:`load_candidates` reads the training pools (PISCES-2018, NetSurfP-2.0 train) and the
NetSurfP-2.0 validation set; :func:`filter_candidates` removes every chain related to an
evaluation set (:mod:`genorrn.data.homology`) and returns a **filter result**: per pool the
removed chain IDs with the reason, the kept IDs, the counts, and a checksum of the chains it
was made from. ``genorrn data homology-filter`` writes that result as JSON
(:func:`write_result`); ``genorrn train structure --homology-result`` reads it back
(:func:`read_result`), refusing a result made from other chains (another ``--data-dir``,
``--pools`` or ``--max-chains``), and :func:`training_sets` builds the training and
validation chains from it.

Only the standard library is imported at module level (the command line imports the
constants while it builds its parser); the loaders are imported where they are used.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from genorrn.data.homology import homology_filter, records_sha256, shared_kmer_hits
from genorrn.errors import InputError

EVALUATION_SETS = ("cb513", "ts115", "netsurfp2_test")
TRAINING_POOLS = ("pisces2018", "netsurfp2")
VALIDATION = "netsurfp2_validation"
#: the ``format`` field of a filter result file
RESULT_FORMAT = "genorrn-homology-filter/1"
METHODS = ("mmseqs", "kmer")


def check_pools(pools: Iterable[str]) -> list[str]:
    pools = list(pools)
    unknown = set(pools) - set(TRAINING_POOLS)
    if unknown or not pools:
        raise InputError(f"--pools: unknown pool(s) {sorted(unknown)}; choose from "
                         f"{', '.join(TRAINING_POOLS)}")  # fmt: skip
    return pools


def load_candidates(data_dir, pools, max_chains=None) -> tuple[dict, dict]:
    """``(all sets by name, candidates)``: the candidates are the validation set and the
    chosen pools (``netsurfp2`` → ``netsurfp2_train``), cut to ``max_chains`` each."""
    from genorrn.data.structure import load_all

    pools = check_pools(pools)
    sets = load_all(Path(data_dir))
    if max_chains:
        sets = {name: s if name in EVALUATION_SETS else s.head(max_chains)
                for name, s in sets.items()}  # fmt: skip
    candidates = {VALIDATION: sets[VALIDATION]}
    if "pisces2018" in pools:
        candidates["pisces2018"] = sets["pisces2018"]
    if "netsurfp2" in pools:
        candidates["netsurfp2_train"] = sets["netsurfp2_train"]
    return sets, candidates


def _records(chain_set) -> list[tuple[str, str]]:
    return [(c.id, c.seq) for c in chain_set.chains]


def _references(sets) -> dict[str, list[tuple[str, str]]]:
    return {n: _records(sets[n]) for n in EVALUATION_SETS}


def filter_candidates(
    sets: dict,
    candidates: dict,
    method: str = "mmseqs",
    cache_dir: str | os.PathLike | None = "runs/homology",
    threads: int | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    """Run the homology filter (``mmseqs``: shared 30-mers + MMseqs2, cached in ``cache_dir``;
    ``kmer``: shared 30-mers only) on the candidates; return the filter result (a dict)."""
    records = {n: _records(s) for n, s in candidates.items()}
    refs = _references(sets)
    if method == "mmseqs":
        result = homology_filter(records, refs, cache_dir=cache_dir, threads=threads, log=log)
        removed, counts = result.removed, result.counts
        detail = {"tool": f"MMseqs2 {result.mmseqs_version} easy-search",
                  "params": vars(result.params), "cache_key": result.cache_key}  # fmt: skip
    elif method == "kmer":
        log("homology filter: shared 30-mers only (--homology kmer); not for a shipped model")
        removed, counts = {}, {}
        for name, recs in records.items():
            removed[name] = shared_kmer_hits(recs, refs, 30)
            counts[name] = {"chains": len(recs), "removed": len(removed[name]),
                            "removed_kmer": len(removed[name]), "removed_mmseqs": 0,
                            "kept": len(recs) - len(removed[name])}  # fmt: skip
        detail = {"tool": "shared 30-mers only", "params": {"kmer": 30}}
    else:
        raise InputError(f"--homology: unknown method {method!r}; choose from {', '.join(METHODS)}")
    return {
        "format": RESULT_FORMAT,
        "method": method,
        "detail": detail,
        "evaluation_sets": {n: {"chains": len(recs), "sha256": records_sha256(recs)}
                            for n, recs in refs.items()},  # fmt: skip
        "pools": {
            name: {
                "sha256": records_sha256(recs),
                "counts": counts[name],
                "removed": dict(sorted(removed[name].items())),
                "kept": [rid for rid, _ in recs if rid not in removed[name]],
            }
            for name, recs in records.items()
        },
    }


def write_result(path: str | os.PathLike, result: dict) -> None:
    """Write a filter result as JSON, atomically."""
    from genorrn.io.outputs import atomic_output

    with atomic_output(path) as tmp:
        Path(tmp).write_text(json.dumps(result, indent=1) + "\n")


def read_result(path: str | os.PathLike, sets: dict, candidates: dict) -> dict:
    """A filter result file, checked against the chains it must have been made from."""
    path = Path(path)
    hint = "rerun 'genorrn data homology-filter' with the same --data-dir, --pools and --max-chains"
    try:
        result = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: homology filter result not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a homology filter result ({exc})") from None
    if not isinstance(result, dict) or result.get("format") != RESULT_FORMAT:
        raise InputError(f"{path}: not a 'genorrn data homology-filter' result (no format "
                         f"{RESULT_FORMAT!r}; a 'train structure' OUT/homology.json is a "
                         "summary, not a filter result)")  # fmt: skip
    try:
        for name, recs in _references(sets).items():
            if result["evaluation_sets"][name]["sha256"] != records_sha256(recs):
                raise InputError(f"{path}: made against another {name} than the one in the data "
                                 f"folder; {hint}")  # fmt: skip
        for name, chain_set in candidates.items():
            pool = result["pools"].get(name)
            if pool is None:
                raise InputError(f"{path}: has no result for {name!r} (it filtered "
                                 f"{', '.join(result['pools'])}); {hint}")  # fmt: skip
            recs = _records(chain_set)
            if pool["sha256"] != records_sha256(recs):
                raise InputError(f"{path}: made from other {name} chains than these "
                                 f"({len(recs)} chains); {hint}")  # fmt: skip
            if set(pool["removed"]) | set(pool["kept"]) != {rid for rid, _ in recs}:
                raise InputError(f"{path}: {name}: removed and kept IDs do not add up to the "
                                 f"pool's chains; {hint}")  # fmt: skip
    except (KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"{path}: malformed homology filter result (missing {exc})") from None
    return result


def training_sets(data_dir, sets, candidates, result, pools, max_chains=None, log=print):
    """Apply a filter result; deduplicate; return ``(train chains, validation chains,
    summary dict for the model card, removed IDs per pool)``."""
    from genorrn.data.structure import PISCES_FILE
    from genorrn.io.checksums import sha256 as file_sha256

    data_dir = Path(data_dir)
    removed = {n: result["pools"][n]["removed"] for n in candidates}
    counts = {n: result["pools"][n]["counts"] for n in candidates}
    kept = {n: candidates[n].without(removed[n]) for n in candidates}
    validation = kept.pop(VALIDATION)
    # keep validation honest: no training chain shares a 30-mer with a validation chain
    val_refs = {VALIDATION: _records(validation)}
    train, dedup, val_overlap = [], {}, {}
    seen: set[str] = set()
    for name in ("pisces2018", "netsurfp2_train"):  # PISCES first: it has Q8 labels
        if name not in kept:
            continue
        hits = shared_kmer_hits(_records(kept[name]), val_refs, 30)
        val_overlap[name] = len(hits)
        duplicates = 0
        for chain in kept[name].chains:
            if chain.id in hits:
                continue
            if chain.seq in seen:
                duplicates += 1
                continue
            seen.add(chain.seq)
            train.append(chain)
        dedup[name] = duplicates
    for name in counts:
        log(f"{name}: {counts[name]['removed']} of {counts[name]['chains']} chains removed as "
            "homologous to an evaluation set")  # fmt: skip
    files = {
        "netsurfp2/sequences.fasta.gz": data_dir / "netsurfp2" / "sequences.fasta.gz",
        "netsurfp2/labels_q3.fasta.gz": data_dir / "netsurfp2" / "labels_q3.fasta.gz",
        "netsurfp2/resolved_mask.fasta.gz": data_dir / "netsurfp2" / "resolved_mask.fasta.gz",
        f"pisces2018/{PISCES_FILE}": data_dir / "pisces2018" / PISCES_FILE,
        "cb513.csv.gz": data_dir / "cb513.csv.gz",
        "ts115.csv.gz": data_dir / "ts115.csv.gz",
    }
    summary = {
        "data_sha256": {name: file_sha256(path) for name, path in files.items()},
        "pools": list(pools),
        "max_chains": max_chains,
        "homology_filter": {
            **result["detail"],
            "evaluation_sets": {n: len(sets[n]) for n in EVALUATION_SETS},
            "removed_per_pool": counts,
            "removed_for_validation_overlap": val_overlap,
            "exact_duplicates_dropped": dedup,
        },
        "train_chains": len(train),
        "train_residues": sum(len(c.seq) for c in train),
        "validation": "netsurfp2 SET=train VALIDATION=True, after the homology filter",
        "validation_chains": len(validation),
    }
    return train, validation.chains, summary, removed
