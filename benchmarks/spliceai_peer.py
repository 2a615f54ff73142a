#!/usr/bin/env python3
"""Run SpliceAI 1.3.1 on a VCF as a benchmark peer and print one JSON line.

SpliceAI is a peer for comparison only, not a dependency of genorrn. It lives in its own
virtual environment (see ``benchmarks/spliceai_env.sh``); this script uses only the standard
library, so it runs under any Python 3.9+, that venv's included, and never imports genorrn,
tensorflow or pysam.

    python benchmarks/spliceai_peer.py --vcf IN.vcf --fasta GENOME.fa.gz \
        --annotation ANNOT.gff3.gz --distance 50 --out OUT.vcf --workdir DIR \
        [--spliceai-bin /work/spliceai-venv/bin/spliceai]

Steps:

1. the FASTA is uncompressed (or copied) into DIR once; pyfaidx writes its ``.fai`` next to it;
2. the NCBI-style GFF3 becomes a SpliceAI gene table in DIR once (one row per gene, from the
   gene's longest transcript by summed exon length; any RNA biotype with exons counts);
3. ``spliceai -I VCF -O OUT -R FASTA -A TABLE -D DISTANCE`` runs, its stdout/stderr (TF logs and
   one Keras progress bar per predict call) go to ``DIR/spliceai.log``;
4. one JSON object is printed: records in, records with a ``SpliceAI=`` INFO field, wall seconds
   of the spliceai process alone (model loading included), variants/s and peak RSS.

SpliceAI's table format (as in its bundled grch37.txt):
``#NAME CHROM STRAND TX_START TX_END EXON_START EXON_END``, tab-separated, starts 0-based and
ends 1-based inclusive (UCSC style: ``spliceai/utils.py`` adds 1 to TX_START and to every
EXON_START, never to the ends), exon lists comma-separated with a trailing comma.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from urllib.parse import unquote

DEFAULT_BIN = "/work/spliceai-venv/bin/spliceai"
VERSION = "1.3.1"
TABLE_HEADER = "#NAME\tCHROM\tSTRAND\tTX_START\tTX_END\tEXON_START\tEXON_END\n"


def _open_text(path: str):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":  # gzip or bgzip
        return gzip.open(path, "rt")
    return open(path, "rt")


def _stem(path: str) -> str:
    name = os.path.basename(path)
    for suffix in (".gz", ".bgz"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name


def prepare_fasta(fasta: str, workdir: str) -> str:
    """Plain FASTA in ``workdir`` (pyfaidx needs it uncompressed or bgzip+biopython)."""
    dest = os.path.join(workdir, _stem(fasta))
    if not dest.endswith((".fa", ".fasta", ".fna")):
        dest += ".fa"
    if os.path.exists(dest):
        return dest
    tmp = dest + ".tmp"
    with open(fasta, "rb") as fh:
        magic = fh.read(2)
    opener = gzip.open if magic == b"\x1f\x8b" else open
    with opener(fasta, "rb") as src, open(tmp, "wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
    os.replace(tmp, dest)
    return dest


def _attrs(text: str) -> dict[str, str]:
    out = {}
    for item in text.strip().split(";"):
        if "=" in item:
            key, value = item.split("=", 1)
            out[key.strip()] = value.strip()
    return out


def _clean_name(name: str) -> str:
    # the name lands inside a VCF INFO value: no separators it uses
    return re.sub(r"[\s;,|=]", "_", unquote(name)) or "."


def gff3_to_table_rows(gff3: str) -> list[tuple]:
    """One SpliceAI table row per gene, from its longest transcript (summed exon length)."""
    features: dict[str, tuple[str, str]] = {}  # ID -> (type, first Parent)
    gene_info: dict[str, tuple[str, str, str]] = {}  # gene ID -> (name, chrom, strand)
    exons: dict[str, list[tuple[int, int]]] = {}  # transcript ID -> [(start1, end1)]
    tx_loc: dict[str, tuple[str, str]] = {}  # transcript ID -> (chrom, strand) from its exons
    order: list[str] = []
    with _open_text(gff3) as fh:
        for line in fh:
            if not line or line[0] == "#":
                continue
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 9:
                continue
            chrom, ftype, start, end, strand, attrs = (
                cols[0], cols[2], int(cols[3]), int(cols[4]), cols[6], _attrs(cols[8]))
            fid = attrs.get("ID")
            parent = attrs.get("Parent", "").split(",")[0]
            if fid and fid not in features:
                features[fid] = (ftype, parent)
                if ftype in ("gene", "pseudogene") and not parent:
                    name = attrs.get("Name") or attrs.get("locus_tag") or fid.removeprefix("gene-")
                    gene_info[fid] = (_clean_name(name), chrom, strand)
            if ftype == "exon" and strand in "+-":
                for par in attrs.get("Parent", "").split(","):
                    if not par:
                        continue
                    if par not in exons:
                        exons[par] = []
                        tx_loc[par] = (chrom, strand)
                        order.append(par)
                    if tx_loc[par] == (chrom, strand):  # skip trans-spliced pieces elsewhere
                        exons[par].append((start, end))

    def gene_of(tid: str) -> str | None:
        seen = set()
        cur = tid
        while cur in features and cur not in seen:
            seen.add(cur)
            ftype, parent = features[cur]
            if cur in gene_info:
                return cur
            if not parent:
                return None
            cur = parent
        return cur if cur in gene_info else None

    best: dict[str, tuple[int, str]] = {}  # gene ID -> (exonic length, transcript ID)
    for tid in order:
        if tid in gene_info:  # exons hung straight on a gene record: not a transcript
            continue
        gid = gene_of(tid)
        if gid is None:
            continue
        length = sum(e - s + 1 for s, e in exons[tid])
        if gid not in best or length > best[gid][0]:
            best[gid] = (length, tid)

    rows = []
    for gid, (_, tid) in best.items():
        name = gene_info[gid][0]
        chrom, strand = tx_loc[tid]
        ex = sorted(set(exons[tid]))
        starts0 = [s - 1 for s, _ in ex]
        ends = [e for _, e in ex]
        rows.append((name, chrom, strand, min(starts0), max(ends), starts0, ends))
    rows.sort(key=lambda r: (r[1], r[3], r[4], r[0]))
    return rows


def prepare_table(gff3: str, workdir: str) -> str:
    dest = os.path.join(workdir, _stem(gff3) + ".spliceai.txt")
    if os.path.exists(dest):
        return dest
    tmp = dest + ".tmp"
    with open(tmp, "w") as out:
        out.write(TABLE_HEADER)
        for name, chrom, strand, tx_start, tx_end, starts, ends in gff3_to_table_rows(gff3):
            out.write(
                f"{name}\t{chrom}\t{strand}\t{tx_start}\t{tx_end}\t"
                + "".join(f"{s}," for s in starts) + "\t"
                + "".join(f"{e}," for e in ends) + "\n")
    os.replace(tmp, dest)
    return dest


def count_records(vcf: str) -> tuple[int, int]:
    """(records, records whose INFO has a SpliceAI= field)."""
    records = scored = 0
    with _open_text(vcf) as fh:
        for line in fh:
            if not line.strip() or line[0] == "#":
                continue
            records += 1
            cols = line.split("\t", 8)
            if len(cols) > 7 and any(f.startswith("SpliceAI=") for f in cols[7].split(";")):
                scored += 1
    return records, scored


def spliceai_version(spliceai_bin: str) -> str:
    python = os.path.join(os.path.dirname(spliceai_bin), "python")
    if os.path.exists(python):
        try:
            out = subprocess.run(
                [python, "-c", "import importlib.metadata as m; print(m.version('spliceai'))"],
                capture_output=True, text=True, timeout=60)
            if out.returncode == 0 and out.stdout.strip():
                return out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return VERSION


def run_spliceai(cmd: list[str], log_path: str) -> tuple[float, float | None]:
    """Run ``cmd``; return (wall seconds, peak RSS in MB)."""
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    gnu_time = "/usr/bin/time"
    use_time = os.access(gnu_time, os.X_OK)
    time_file = log_path + ".time"
    full = [gnu_time, "-v", "-o", time_file] + cmd if use_time else cmd
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    with open(log_path, "w") as log:
        t0 = time.perf_counter()
        proc = subprocess.run(full, stdout=log, stderr=subprocess.STDOUT, env=env)
        seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        with open(log_path, errors="replace") as fh:
            tail = fh.read()[-4000:]
        sys.stderr.write(tail)
        sys.exit(f"spliceai failed (exit {proc.returncode}); log: {log_path}")
    peak = None
    if use_time and os.path.exists(time_file):
        with open(time_file) as fh:
            for line in fh:
                if "Maximum resident set size" in line:
                    peak = int(line.rsplit(":", 1)[1]) / 1024.0
    if peak is None:
        after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
        if after > before:
            peak = after / 1024.0
    return seconds, peak


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--vcf", required=True, help="input VCF (plain or gzip)")
    p.add_argument("--fasta", required=True, help="reference FASTA (plain, gzip or bgzip)")
    p.add_argument("--annotation", required=True, help="NCBI-style GFF3 (plain or gzip)")
    p.add_argument("--distance", type=int, default=50, help="spliceai -D (0..4999)")
    p.add_argument("--out", required=True, help="output VCF")
    p.add_argument("--workdir", required=True, help="where FASTA and gene table are kept")
    p.add_argument("--spliceai-bin", default=DEFAULT_BIN)
    p.add_argument("--mask", type=int, choices=(0, 1), default=0, help="spliceai -M")
    args = p.parse_args(argv)

    if not os.path.exists(args.spliceai_bin):
        sys.exit(f"{args.spliceai_bin} not found: create it with benchmarks/spliceai_env.sh")
    if not 0 <= args.distance < 5000:
        sys.exit("--distance must be in 0..4999 (spliceai's own limit)")
    os.makedirs(args.workdir, exist_ok=True)
    fasta = prepare_fasta(args.fasta, args.workdir)
    table = prepare_table(args.annotation, args.workdir)

    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    cmd = [args.spliceai_bin, "-I", args.vcf, "-O", args.out, "-R", fasta, "-A", table,
           "-D", str(args.distance), "-M", str(args.mask)]
    seconds, peak = run_spliceai(cmd, os.path.join(args.workdir, "spliceai.log"))

    variants, _ = count_records(args.vcf)
    _, scored = count_records(args.out)
    result = {
        "tool": "SpliceAI",
        "version": spliceai_version(args.spliceai_bin),
        "variants": variants,
        "scored": scored,
        "seconds": round(seconds, 3),
        "variants_per_s": round(variants / seconds, 4) if seconds > 0 else None,
        "peak_rss_mb": round(peak, 1) if peak is not None else None,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
