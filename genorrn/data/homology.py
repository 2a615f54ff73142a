"""Homology filter: remove from training pools every chain related to an evaluation set.

A pool chain is removed when, against any chain of any reference (evaluation) set,

1. it shares a **30-residue substring** (this catches the verbatim copies the data README
   lists; chains shorter than 30 residues are removed when they occur inside a reference
   chain or contain one), or
2. **MMseqs2** (``mmseqs easy-search -s 7.5 -e 0.1``, the field's standard tool) finds an
   alignment with **E ≤ 1e-2**, or **≥ 25 % identity over ≥ 40 aligned residues** (among the
   alignments it reports, E ≤ 0.1; see :class:`HomologyParams`).

The result (removed IDs per pool, with the reason) is cached as JSON in ``cache_dir``
(default ``runs/homology``) under a key made of the sha256 of every input sequence and the
parameters, so re-running is instant and reproducible. MMseqs2 is a Debian package:
``apt-get update && apt-get install -y mmseqs2``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from genorrn.errors import InputError

INSTALL_HINT = (
    "the homology filter needs MMseqs2 ('mmseqs' not found on PATH); install it with: "
    "apt-get update && apt-get install -y mmseqs2  (or: conda install -c bioconda mmseqs2)"
)

Records = Sequence[tuple[str, str]]  # (id, sequence)


@dataclass
class HomologyParams:
    evalue: float = 1e-2
    min_identity: float = 0.25
    min_aligned: int = 40
    kmer: int = 30
    sensitivity: float = 7.5
    #: hits reported by the search. The identity rule applies to these (E ≤ 0.1): at E up to
    #: 10, 25 %-identity local alignments of 40+ residues occur by chance and would remove
    #: about half of every pool (4,882 of 9,078 PISCES chains); at 0.1 the PISCES chains
    #: homologous to CB513 are 1,126, the "~1,100" of the data README.
    search_evalue: float = 0.1
    max_seqs: int = 1000


@dataclass
class HomologyResult:
    """Per pool: ``removed[pool][chain id] = reason`` and chain counts (``counts[pool]``:
    chains, removed, removed_kmer, removed_mmseqs, kept)."""

    params: HomologyParams
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    removed: dict[str, dict[str, str]] = field(default_factory=dict)
    mmseqs_version: str = ""
    cache_key: str = ""
    cached: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> HomologyResult:
        data = json.loads(text)
        data["params"] = HomologyParams(**data["params"])
        return cls(**data)


def mmseqs_path() -> str:
    path = shutil.which("mmseqs")
    if path is None:
        raise InputError(INSTALL_HINT)
    return path


def mmseqs_version() -> str:
    out = subprocess.run([mmseqs_path(), "version"], capture_output=True, text=True)
    return out.stdout.strip()


def _feed(digest, records: Records) -> None:
    for rid, seq in records:
        digest.update(f"{rid}\t{seq}\n".encode())


def records_sha256(records: Records) -> str:
    """Hex SHA-256 of ``(id, sequence)`` records in order (what a filter result was made of)."""
    digest = hashlib.sha256()
    _feed(digest, records)
    return digest.hexdigest()


def _key(pools: Mapping[str, Records], refs: Mapping[str, Records], params: HomologyParams) -> str:
    digest = hashlib.sha256(json.dumps(asdict(params), sort_keys=True).encode())
    for kind, sets in (("pool", pools), ("ref", refs)):
        for name in sorted(sets):
            digest.update(f"\n#{kind}:{name}\n".encode())
            _feed(digest, sets[name])
    return digest.hexdigest()[:24]


def shared_kmer_hits(
    pool: Records, refs: Mapping[str, Records], k: int = 30
) -> dict[str, str]:
    """``{pool id: reason}`` for pool chains sharing a ``k``-residue substring with a reference
    chain (or, when shorter than ``k``, occurring inside one / containing one)."""
    index: dict[str, str] = {}
    short_refs: list[tuple[str, str]] = []
    for name, records in refs.items():
        for rid, seq in records:
            seq = seq.upper()
            if len(seq) < k:
                short_refs.append((f"{name}:{rid}", seq))
            for i in range(len(seq) - k + 1):
                index.setdefault(seq[i : i + k], f"{name}:{rid}")
    joined = "\n".join(f"{seq.upper()}" for records in refs.values() for _, seq in records)
    hits = {}
    for pid, seq in pool:
        seq = seq.upper()
        if len(seq) >= k:
            for i in range(len(seq) - k + 1):
                ref = index.get(seq[i : i + k])
                if ref is not None:
                    hits[pid] = f"shares a {k}-mer with {ref}"
                    break
        elif seq and seq in joined:
            hits[pid] = "occurs inside an evaluation chain"
        if pid not in hits:
            for ref, rseq in short_refs:
                if rseq and rseq in seq:
                    hits[pid] = f"contains {ref}"
                    break
    return hits


def _write_fasta(path: Path, records: Sequence[tuple[str, str]]) -> None:
    with open(path, "w") as handle:
        for rid, seq in records:
            handle.write(f">{rid}\n{seq}\n")


def mmseqs_hits(
    pools: Mapping[str, Records],
    refs: Mapping[str, Records],
    params: HomologyParams,
    threads: int | None = None,
    log: Callable[[str], None] = lambda _m: None,
    keep_hits: Path | None = None,
) -> dict[str, dict[str, str]]:
    """``{pool: {id: reason}}`` from one ``mmseqs easy-search`` of all pools against all
    reference sets (``keep_hits``: also copy the raw hit table there, gzip-compressed)."""
    exe = mmseqs_path()
    removed: dict[str, dict[str, str]] = {name: {} for name in pools}
    with tempfile.TemporaryDirectory(prefix="genorrn-mmseqs-") as tmp:
        tmp = Path(tmp)
        query = [(f"{p}|{i}", s) for p, recs in pools.items() for i, s in recs if s]
        target = [(f"{r}|{i}", s) for r, recs in refs.items() for i, s in recs if s]
        if not query or not target:
            return removed
        _write_fasta(tmp / "query.fa", query)
        _write_fasta(tmp / "target.fa", target)
        cmd = [
            exe, "easy-search", str(tmp / "query.fa"), str(tmp / "target.fa"),
            str(tmp / "hits.m8"), str(tmp / "work"),
            "-s", str(params.sensitivity), "-e", str(params.search_evalue),
            "--max-seqs", str(params.max_seqs),
            "--format-output", "query,target,fident,alnlen,evalue",
            "-v", "1",
        ]  # fmt: skip
        if threads:
            cmd += ["--threads", str(threads)]
        log("running: " + " ".join(cmd[:2] + ["QUERY", "TARGET", "HITS", "TMP"] + cmd[6:]))
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-1:] or ["?"]
            raise InputError(f"mmseqs easy-search failed (exit {proc.returncode}): {tail[0]}")
        if keep_hits is not None:
            import gzip

            keep_hits.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp / "hits.m8", "rb") as src, gzip.open(keep_hits, "wb") as dst:
                shutil.copyfileobj(src, dst)
        with open(tmp / "hits.m8") as handle:
            for line in handle:
                qid, tid, fident, alnlen, evalue = line.rstrip("\n").split("\t")
                fident, alnlen, evalue = float(fident), int(alnlen), float(evalue)
                by_e = evalue <= params.evalue
                by_id = fident >= params.min_identity and alnlen >= params.min_aligned
                if not (by_e or by_id):
                    continue
                pool, pid = qid.split("|", 1)
                if pid not in removed[pool]:
                    removed[pool][pid] = (
                        f"mmseqs hit {tid.replace('|', ':')} (E={evalue:.1e},"
                        f" identity {fident:.2f} over {alnlen})"
                    )
    return removed


def homology_filter(
    pools: Mapping[str, Records],
    refs: Mapping[str, Records],
    *,
    cache_dir: str | os.PathLike | None = "runs/homology",
    params: HomologyParams | None = None,
    threads: int | None = None,
    log: Callable[[str], None] = lambda _m: None,
) -> HomologyResult:
    """Chains of each pool to remove because they are related to a reference set.

    ``pools`` and ``refs`` map a set name to ``(id, sequence)`` records. The result is cached
    in ``cache_dir`` (``None``: no cache) under a key of the inputs' checksums and parameters.
    """
    params = params or HomologyParams()
    key = _key(pools, refs, params)
    cache = Path(cache_dir) / f"homology-{key}.json" if cache_dir is not None else None
    if cache is not None and cache.exists():
        result = HomologyResult.from_json(cache.read_text())
        result.cached = True
        log(f"homology filter: cached result {cache}")
        return result
    version = mmseqs_version()  # fails early with the install hint
    result = HomologyResult(params=params, mmseqs_version=version, cache_key=key)
    hits_path = cache.with_suffix(".hits.tsv.gz") if cache is not None else None
    searched = mmseqs_hits(pools, refs, params, threads=threads, log=log, keep_hits=hits_path)
    for name, records in pools.items():
        kmer = shared_kmer_hits(records, refs, params.kmer)
        removed = dict(searched[name])
        removed.update(kmer)  # the k-mer reason is the more specific one
        result.removed[name] = dict(sorted(removed.items()))
        result.counts[name] = {
            "chains": len(records),
            "removed": len(removed),
            "removed_kmer": len(kmer),
            "removed_mmseqs": len(searched[name]),
            "kept": len(records) - len(removed),
        }
        log(f"homology filter: {name}: removed {len(removed)} of {len(records)} chains"
            f" ({len(kmer)} by shared {params.kmer}-mers, {len(searched[name])} by mmseqs)")  # fmt: skip
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(cache.name + f".tmp-{os.getpid()}")
        tmp.write_text(result.to_json())
        os.replace(tmp, cache)
    return result
