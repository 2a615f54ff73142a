"""The splice workflow at full size with the local profile and a shipped model (no training).

    python benchmarks/workflow_fullsize.py                       # the full run (about an hour)
    python benchmarks/workflow_fullsize.py --predict-region NC_003070.9:1-600000 \\
        --evaluate-region NC_003070.9:23000001-23200000 --scatter-size 200000   # a quick check

`snakemake splice_all --profile profiles/local` on A. thaliana chr1 with `splice.model` set
(default splice-athaliana-v3): evaluation on the test region of the fixed split
(NC_003070.9:23,000,001-30,427,671) and genome-wide prediction of chr1 in scattered parts
(`splice.predict.scatter_size`, default 5 Mb: 7 jobs) merged into one bigWig per class and
strand plus a sites BED. Then one unscattered `genorrn predict splice` of the same region, and
the merged tracks are compared with it (max |Δ| per track; sites BED lines in common).

Recorded: the workflow's wall time; per job (every `genorrn` the rules run goes through a
measuring wrapper first on PATH: wall seconds, CPU seconds and peak resident set size from
os.wait4's rusage, exact rather than sampled); the same for the unscattered run; the
evaluation metrics. Writes results/workflow_fullsize.json (results/workflow_fullsize_small.json
when a region option is given, so a quick check never replaces the full-size record).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, SHARED_DATA, data_path, model_sha256, report  # noqa: E402

TRACKS = ("acceptor.plus", "acceptor.minus", "donor.plus", "donor.minus")

#: a `genorrn` that runs the real one and appends its wall time and peak memory to $MEASURE_LOG
WRAPPER = """#!{python}
import json, os, subprocess, sys, time
start = time.time()
proc = subprocess.Popen([{real!r}, *sys.argv[1:]])
_, status, usage = os.wait4(proc.pid, 0)
with open(os.environ["MEASURE_LOG"], "a") as log:
    log.write(json.dumps({{"args": sys.argv[1:], "seconds": round(time.time() - start, 1),
                          "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
                          "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
                          "exit": os.waitstatus_to_exitcode(status)}}) + "\\n")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def job_name(args: list[str]) -> str:
    """A measured `genorrn` command -> the rule (and scatter part) that ran it."""
    if args[:2] == ["predict", "splice"]:
        return f"splice_predict_chunk {args[args.index('--region') + 1]}"
    if args[:2] == ["evaluate", "splice"]:
        return "splice_evaluate"
    if args[:2] == ["data", "merge-splice"]:
        return "splice_merge_predictions"
    return " ".join(args[:2])


def track_values(prefix: str, regions: list[tuple[str, int, int]]) -> dict:
    import numpy as np
    import pyBigWig

    out = {}
    for track in TRACKS:
        bw = pyBigWig.open(f"{prefix}.{track}.bw")
        try:
            out[track] = np.concatenate([
                np.nan_to_num(np.asarray(bw.values(chrom, start, end), dtype=np.float32))
                for chrom, start, end in regions
            ])  # fmt: skip
        finally:
            bw.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--model", default="splice-athaliana-v3")
    parser.add_argument("--predict-region", action="append",
                        help="default: every record of the genome (chr1, whole length)")
    parser.add_argument("--evaluate-region", action="append",
                        help="default: the test split (NC_003070.9:23000001-30427671)")
    parser.add_argument("--scatter-size", type=int, default=5_000_000)
    parser.add_argument("--cores", default="all", help="snakemake --cores (default: all)")
    parser.add_argument("--workdir", type=Path, help="keep the run here (default: a temporary "
                        "folder, removed at the end)")  # fmt: skip
    args = parser.parse_args()
    genome = data_path("splice", "athaliana_chr1", "genome.fna.gz")
    data_path("splice", "athaliana_chr1", "annotation.gtf.gz")
    small = bool(args.predict_region or args.evaluate_region)
    name = "workflow_fullsize_small" if small else "workflow_fullsize"

    sys.path.insert(0, str(REPO / "workflows"))
    from helpers import fasta_lengths, resolve_regions  # the workflow's own region parsing

    regions = resolve_regions(args.predict_region or list(fasta_lengths(str(genome))), str(genome))
    positions = sum(r.end - r.start for r in regions)

    work = args.workdir or Path(tempfile.mkdtemp(prefix="genorrn-workflow-fullsize-"))
    work.mkdir(parents=True, exist_ok=True)
    bindir = work / "measure-bin"
    bindir.mkdir(exist_ok=True)
    real = shutil.which("genorrn", path=str(Path(sys.executable).parent)) or shutil.which("genorrn")
    wrapper = bindir / "genorrn"
    wrapper.write_text(WRAPPER.format(python=sys.executable, real=real))
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    measure_log = work / "jobs.jsonl"
    measure_log.unlink(missing_ok=True)

    config = {
        "targets": ["splice"],
        "results": str(work / "results"),
        "splice": {
            "model": args.model,
            "evaluate": {"regions": args.evaluate_region},
            "predict": {"name": "athaliana_chr1", "regions": args.predict_region,
                        "scatter_size": args.scatter_size},
        },
    }  # fmt: skip
    (work / "config.yaml").write_text(json.dumps(config, indent=2))  # JSON is YAML
    env = {**os.environ, "MEASURE_LOG": str(measure_log), "TF_CPP_MIN_LOG_LEVEL": "3",
           "PATH": os.pathsep.join([str(bindir), str(Path(sys.executable).parent),
                                    os.environ.get("PATH", "")])}  # fmt: skip
    command = [sys.executable, "-m", "snakemake", "splice_all",
               "--profile", str(REPO / "workflows" / "profiles" / "local"), "--cores", args.cores,
               "--snakefile", str(REPO / "workflows" / "Snakefile"), "--directory", str(work),
               "--configfile", str(work / "config.yaml"), "--config", f"shared_data={SHARED_DATA}"]  # fmt: skip
    start = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    workflow_seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"workflow failed:\n{(result.stdout + result.stderr)[-6000:]}")
    jobs = [json.loads(line) for line in measure_log.read_text().splitlines()]
    merged_prefix = str(work / "results" / "splice" / "predictions" / "athaliana_chr1")
    metrics = json.loads((work / "results" / "splice" / "metrics.json").read_text())

    # one unscattered prediction of the same region(s)
    whole = str(work / "unscattered" / "athaliana_chr1")
    Path(whole).parent.mkdir(exist_ok=True)
    region_args = [a for r in (args.predict_region or []) for a in ("--region", r)]
    single_log = work / "unscattered.jsonl"
    single_log.unlink(missing_ok=True)
    single_cmd = [str(wrapper), "predict", "splice", str(genome), "-o", whole, "--model",
                  args.model, "--format", "bigwig", *region_args]  # fmt: skip
    done = subprocess.run(single_cmd, env={**env, "MEASURE_LOG": str(single_log)},
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"unscattered prediction failed:\n{done.stderr[-4000:]}")
    single = json.loads(single_log.read_text())

    import numpy as np

    spans = [(r.chrom, r.start, r.end) for r in regions]
    merged, unscattered = track_values(merged_prefix, spans), track_values(whole, spans)
    max_delta = {t: float(np.abs(merged[t] - unscattered[t]).max()) for t in TRACKS}
    merged_bed = set(Path(f"{merged_prefix}.sites.bed").read_text().splitlines())
    single_bed = set(Path(f"{whole}.sites.bed").read_text().splitlines())

    per_job = {job_name(j["args"]): {k: j[k] for k in ("seconds", "cpu_seconds", "peak_rss_mb")}
               for j in jobs}  # fmt: skip
    report(name, {
        "model": args.model,
        "model_sha256": model_sha256(args.model),
        "workflow": "snakemake splice_all --profile profiles/local (splice.model set: no training)",
        "predicted": {"regions": [str(r) for r in regions], "positions": positions,
                      "positions_both_strands": 2 * positions,
                      "scatter_size": args.scatter_size,
                      "jobs": sum(1 for j in per_job if j.startswith("splice_predict_chunk"))},
        "evaluated": metrics["regions"],
        "wall_seconds": round(workflow_seconds, 1),
        "jobs": per_job,
        "peak_rss_mb_max": max(j["peak_rss_mb"] for j in jobs),
        "jobs_cpu_seconds": round(sum(j["cpu_seconds"] for j in jobs), 1),
        "unscattered": {k: single[k] for k in ("seconds", "cpu_seconds", "peak_rss_mb")}
                       | {"command": "genorrn predict splice GENOME --model MODEL --format bigwig"
                                     + (" --region ..." if region_args else "")},
        "agreement": {"max_abs_delta": max_delta, "max_abs_delta_all": max(max_delta.values()),
                      "sites_merged": len(merged_bed), "sites_unscattered": len(single_bed),
                      "sites_in_both": len(merged_bed & single_bed)},
        "metrics": {cls: {k: m[k] for k in ("top_k", "pr_auc") if k in m}
                    for cls, m in metrics["metrics"].items()},
        "workdir": str(work) if args.workdir else None,
    })  # fmt: skip
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
