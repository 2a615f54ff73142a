"""Variant scoring benchmark: biology (site-breaking vs neutral SNVs), speed, memory, peer.

    python benchmarks/variant_effect.py [--model NAME] [--sites 500] [--speed 10000]
        [--memory 1000,100000] [--spliceai 200] [--distance 50]

On the A. thaliana chr1 **test region** [23,000,000, 30,427,671) (never trained on), with the
NCBI annotation (genes wholly inside the region):

* **biology** — ``--sites`` SNVs that break the canonical dinucleotide of annotated sites (GT at
  donor +1/+2, AG at acceptor −2/−1; only sites whose dinucleotide is canonical) and as many
  SNVs at random gene-body positions ≥ 100 nt from every annotated site. ROC-AUC of the
  largest delta score (site-breaking = positive), mean DS_AL of acceptor-breaking and DS_DL
  of donor-breaking SNVs.
* **speed** — ``--speed`` random gene-body SNVs spread over the region, the whole
  ``genorrn predict variants … -A`` process (start-up included), 2 cores as the machine has.
* **memory** — peak RSS for each size in ``--memory`` (flat = independent of the count).
* **peer** — SpliceAI 1.3.1 (``benchmarks/spliceai_env.sh``; skipped with a note when its venv
  is missing) on ``--spliceai`` of the biology SNVs (half site-breaking) with the same
  distance: its variants/s and the Spearman correlation of its largest delta with genorrn's.

Variants are drawn with a fixed seed; every command is printed in the result.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import data_path, model_sha256, peak_rss_mb, report  # noqa: E402
from genorrn.data.sites import Site, intron_dinucleotide  # noqa: E402
from genorrn.io.annotation import read_annotation  # noqa: E402
from genorrn.io.fasta import Genome  # noqa: E402
from genorrn.pretrained import DEFAULT_SPLICE_MODEL  # noqa: E402

TEST = ("NC_003070.9", 23_000_000, 30_427_671)
SPLICEAI_BIN = os.environ.get("SPLICEAI_BIN", "/work/spliceai-venv/bin/spliceai")
OTHER = np.array(list("ACGT"))


def rank(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their average rank."""
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, ranks)
    return (sums / counts)[inverse]


def roc_auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Mann-Whitney U / (n+ n-), ties counted half."""
    ranks = rank(np.concatenate([positive, negative]))
    u = ranks[: len(positive)].sum() - len(positive) * (len(positive) + 1) / 2
    return float(u / (len(positive) * len(negative)))


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(rank(a), rank(b))[0, 1])


def draw_variants(genome, annotation, n_sites: int, n_random: int, seed: int):
    """``(site_breaking, random_gene_body)`` lists of ``(pos0, ref, alt, label)``."""
    chrom, lo, hi = TEST
    rng = np.random.default_rng(seed)
    genes = [g for g in annotation.genes.values()
             if g.chrom == chrom and lo <= g.start and g.end <= hi and g.strand in "+-"]  # fmt: skip
    sites = sorted({Site(chrom, pos, g.strand, kind)
                    for g in genes for tx in g.transcripts
                    for kind, positions in zip(("acceptor", "donor"), tx.splice_sites())
                    for pos in positions})  # fmt: skip
    all_sites = np.array(sorted({s.pos for s in sites}))
    canonical = []
    for site in sites:
        a, b = intron_dinucleotide(site)
        motif = genome.fetch(chrom, a, b + 1, site.strand).upper()
        if motif == ("GT" if site.kind == "donor" else "AG"):
            canonical.append(site)
    breaking = []
    for i in rng.choice(len(canonical), min(n_sites, len(canonical)), replace=False):
        site = canonical[int(i)]
        p = intron_dinucleotide(site)[int(rng.integers(2))]
        ref = genome.fetch(chrom, p, p + 1).upper()
        alt = str(rng.choice(OTHER[OTHER != ref]))
        breaking.append((p, ref, alt, site.kind))
    spans = np.array([g.end - g.start for g in genes], float)
    neutral = []
    while len(neutral) < n_random:
        g = genes[int(rng.choice(len(genes), p=spans / spans.sum()))]
        p = int(rng.integers(g.start, g.end))
        near = np.abs(all_sites - p).min() if len(all_sites) else 10**9
        ref = genome.fetch(chrom, p, p + 1).upper()
        if near < 100 or ref not in "ACGT":
            continue
        neutral.append((p, ref, str(rng.choice(OTHER[OTHER != ref])), "neutral"))
    return breaking, neutral


def write_vcf(path: Path, rows) -> None:
    chrom = TEST[0]
    lines = ["##fileformat=VCFv4.2", f"##contig=<ID={chrom},length=30427671>",
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]  # fmt: skip
    for i, (p, ref, alt, label) in sorted(enumerate(rows), key=lambda r: r[1][0]):
        lines.append(f"{chrom}\t{p + 1}\t{label}_{i}\t{ref}\t{alt}\t.\t.\t.")
    path.write_text("\n".join(lines) + "\n")


def read_max_delta(path: Path, field: str) -> dict[str, tuple[float, list[float]]]:
    """``{record ID: (largest delta over entries, [DS_AG, DS_AL, DS_DG, DS_DL] of the entry
    holding it)}`` from an output VCF (plain text)."""
    out = {}
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            continue
        cols = line.split("\t")
        for item in cols[7].split(";"):
            if item.startswith(field + "="):
                best = max((list(map(float, e.split("|")[2:6])) for e in item[len(field) + 1:].split(",")),
                           key=max)  # fmt: skip
                out[cols[2]] = (max(best), best)
    return out


def genorrn_cmd(vcf: Path, out: Path, fasta: Path, gff: Path, model: str, distance: int) -> list[str]:
    return [sys.executable, "-m", "genorrn", "predict", "variants", str(vcf), "-R", str(fasta),
            "-A", str(gff), "-o", str(out), "--model", model, "-D", str(distance)]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_SPLICE_MODEL)
    parser.add_argument("--sites", type=int, default=500)
    parser.add_argument("--speed", type=int, default=10_000)
    parser.add_argument("--memory", default="1000,100000")
    parser.add_argument("--spliceai", type=int, default=200)
    parser.add_argument("--distance", type=int, default=50)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    folder = data_path("splice", "athaliana_chr1")
    fasta, gff = folder / "genome.fna.gz", folder / "annotation.gff3.gz"
    genome, annotation = Genome(fasta), read_annotation(gff)
    work = Path(tempfile.mkdtemp(prefix="genorrn-variant-bench-"))
    result: dict = {"model": args.model, "model_sha256": model_sha256(args.model),
                    "region": f"{TEST[0]}:{TEST[1] + 1}-{TEST[2]}", "distance": args.distance,
                    "seed": args.seed}  # fmt: skip

    # biology
    breaking, neutral = draw_variants(genome, annotation, args.sites, args.sites, args.seed)
    bio_vcf, bio_out = work / "biology.vcf", work / "biology.out.vcf"
    write_vcf(bio_vcf, breaking + neutral)
    rss, seconds = peak_rss_mb(genorrn_cmd(bio_vcf, bio_out, fasta, gff, args.model, args.distance))
    scores = read_max_delta(bio_out, "genorrn")
    pos = np.array([v[0] for k, v in scores.items() if not k.startswith("neutral")])
    neg = np.array([v[0] for k, v in scores.items() if k.startswith("neutral")])
    result["biology"] = {
        "site_breaking_snvs": len(breaking), "random_gene_body_snvs": len(neutral),
        "scored": len(scores),
        "roc_auc_max_delta": round(roc_auc(pos, neg), 4),
        "mean_ds_al_acceptor_breaking": round(float(np.mean(
            [v[1][1] for k, v in scores.items() if k.startswith("acceptor")])), 4),
        "mean_ds_dl_donor_breaking": round(float(np.mean(
            [v[1][3] for k, v in scores.items() if k.startswith("donor")])), 4),
        "mean_max_delta_random": round(float(neg.mean()), 4),
        "seconds": round(seconds, 1), "peak_rss_mb": round(rss, 1),
    }  # fmt: skip
    print(result["biology"], file=sys.stderr)

    # peer: SpliceAI on a subset of the same variants
    if args.spliceai and Path(SPLICEAI_BIN).exists():
        half = args.spliceai // 2
        subset = breaking[:half] + neutral[: args.spliceai - half]
        peer_vcf, peer_out = work / "peer.vcf", work / "peer.spliceai.vcf"
        write_vcf(peer_vcf, subset)
        run = subprocess.run([sys.executable, str(Path(__file__).parent / "spliceai_peer.py"),
                              "--vcf", str(peer_vcf), "--fasta", str(fasta), "--annotation",
                              str(gff), "--distance", str(args.distance), "--out", str(peer_out),
                              "--workdir", str(work / "spliceai"), "--spliceai-bin", SPLICEAI_BIN],
                             capture_output=True, text=True, check=True)  # fmt: skip
        import json

        peer = json.loads(run.stdout.strip().splitlines()[-1])
        theirs = read_max_delta(peer_out, "SpliceAI")
        # genorrn on exactly these records, timed the same way (whole process)
        ours_out = work / "peer.genorrn.vcf"
        _, ours_seconds = peak_rss_mb(genorrn_cmd(peer_vcf, ours_out, fasta, gff, args.model,
                                                  args.distance))  # fmt: skip
        ours = read_max_delta(ours_out, "genorrn")
        both = sorted(set(theirs) & set(ours))
        a = np.array([theirs[k][0] for k in both])
        b = np.array([ours[k][0] for k in both])
        pos_t = np.array([theirs[k][0] for k in both if not k.startswith("neutral")])
        neg_t = np.array([theirs[k][0] for k in both if k.startswith("neutral")])
        result["peer"] = peer | {
            "variants_in_both": len(both),
            "spearman_max_delta_vs_genorrn": round(spearman(a, b), 4),
            "spliceai_roc_auc_on_subset": round(roc_auc(pos_t, neg_t), 4),
            "genorrn_seconds_same_records": round(ours_seconds, 1),
            "genorrn_variants_per_s_same_records": round(len(subset) / ours_seconds, 2),
        }  # fmt: skip
        print(result["peer"], file=sys.stderr)
    else:
        result["peer"] = {"skipped": f"SpliceAI not installed at {SPLICEAI_BIN} "
                          "(bash benchmarks/spliceai_env.sh)"}  # fmt: skip

    # speed and memory: random gene-body SNVs (a new draw per size, same seed family)
    sizes = sorted({args.speed, *[int(x) for x in args.memory.split(",") if x]})
    runs = {}
    for n in sizes:
        _, rows = draw_variants(genome, annotation, 0, n, args.seed + n)
        vcf, out = work / f"speed_{n}.vcf", work / f"speed_{n}.out.vcf"
        write_vcf(vcf, rows)
        rss, seconds = peak_rss_mb(genorrn_cmd(vcf, out, fasta, gff, args.model, args.distance))
        runs[str(n)] = {"seconds": round(seconds, 1), "variants_per_s": round(n / seconds, 2),
                        "peak_rss_mb": round(rss, 1)}  # fmt: skip
        print(n, runs[str(n)], file=sys.stderr)
        for path in (vcf, out):
            path.unlink()
    result["speed_and_memory"] = runs
    speed = runs[str(args.speed)]["variants_per_s"]
    if "variants_per_s" in result["peer"]:
        result["speedup_vs_spliceai"] = round(speed / result["peer"]["variants_per_s"], 1)
    report("variant_effect", result)


if __name__ == "__main__":
    main()
