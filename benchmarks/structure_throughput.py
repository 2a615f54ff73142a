"""Proteins per second of ``genorrn predict structure`` over a real proteome, file IO included.

    python benchmarks/structure_throughput.py [--model structure-q8-v1] [--format csv]

Input: ``../shared/data/splice/athaliana_chr1/proteins.faa.gz`` (gzip FASTA, every annotated
protein of A. thaliana chromosome 1). The timed part is the command itself, run in-process
(``genorrn.cli.main``): reading and checking the FASTA, loading the model, building the
streaming step, predicting, writing the output. Importing TensorFlow is reported apart.
Writes ``benchmarks/results/structure_throughput.json``.
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))
t_import = time.perf_counter()
import keras  # noqa: E402,F401

t_import = time.perf_counter() - t_import

from common import data_path, model_sha256, report  # noqa: E402
from genorrn.cli import main as cli_main  # noqa: E402
from genorrn.pretrained import DEFAULT_STRUCTURE_MODEL as DEFAULT_MODEL  # noqa: E402


def other_jobs() -> list[str]:
    """Other genorrn training jobs running on the machine (the timing is not on an idle machine
    then); jobs paused with SIGSTOP (state T) do not count."""
    try:
        out = subprocess.run(["pgrep", "-af", "genorrn train"], capture_output=True, text=True)
    except OSError:
        return []
    jobs = []
    for line in out.stdout.splitlines():
        pid, _, command = line.partition(" ")
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "T":
            jobs.append(command[:120])
    return jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--format", default="csv", choices=["csv", "ss2", "horiz"])
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--chunk-size", type=int)
    parser.add_argument("--flank", type=int)
    parser.add_argument("--output-name", default="structure_throughput")
    args = parser.parse_args()
    fasta = data_path("splice", "athaliana_chr1", "proteins.faa.gz")
    with gzip.open(fasta, "rt") as handle:
        lengths = []
        for line in handle:
            if line.startswith(">"):
                lengths.append(0)
            else:
                lengths[-1] += len(line.strip())
    extra = []
    if args.batch_size:
        extra += ["--batch-size", str(args.batch_size)]
    if args.chunk_size:
        extra += ["--chunk-size", str(args.chunk_size)]
    if args.flank is not None:
        extra += ["--flank", str(args.flank)]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / ("out.csv" if args.format == "csv" else "out")
        load_before = os.getloadavg()
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        code = cli_main(["predict", "structure", str(fasta), "-o", str(out), "--format",
                         args.format, "--model", args.model, *extra])  # fmt: skip
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu_seconds = (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)
        load_after = os.getloadavg()
        if code != 0:
            sys.exit(f"predict failed with exit code {code}")
        size = out.stat().st_size if out.is_file() else sum(p.stat().st_size for p in out.iterdir())
    proteins, residues = len(lengths), sum(lengths)
    report(args.output_name, {
        "input": "shared/data/splice/athaliana_chr1/proteins.faa.gz",
        "model": args.model,
        "model_sha256": model_sha256(args.model),
        "format": args.format,
        "proteins": proteins,
        "residues": residues,
        "seconds": round(seconds, 2),
        "proteins_per_s": round(proteins / seconds, 1),
        "residues_per_s": round(residues / seconds),
        "output_bytes": size,
        "cpu_seconds": round(cpu_seconds, 1),
        "cores_used_on_average": round(cpu_seconds / seconds, 2),
        "load_average_1min_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        "other_jobs_running": other_jobs(),
        "tensorflow_import_seconds": round(t_import, 2),
        "target_proteins_per_s": 200,
        "note": "timed: the whole 'genorrn predict structure' command in-process (FASTA read "
        "and check, model load, streaming step build, prediction, output write); CPU threads: "
        "TensorFlow default",
    })  # fmt: skip


if __name__ == "__main__":
    main()
