"""Many short records vs one record on the same bases: throughput and equality.

    python benchmarks/short_records.py [--model NAME|PATH] [--records 500] [--length 2000]

Cuts ``--records`` consecutive pieces of ``--length`` nt from the A. thaliana test region
(NC_003070.9 from 23,000,001; 1 Mb by default) into a temporary FASTA of many records and one
of the same bases as a single record, and predicts both strands of each with
genorrn.predict.predict_genome (the code path of `genorrn predict splice`) at the model
card's streaming settings. Each is timed cold (a fresh predictor: building and tracing its
step models included) and warm (the same predictor again; ``--repeats 1``: cold only); wall
and CPU seconds are both reported, since a shared machine's load changes the wall time (the
probabilities are the model's, uncalibrated). Then ``--check`` records are
predicted each alone (a FASTA of that record only) and compared with the many-records run:
the largest absolute difference. Target (#18): many records ≥ 80% of the one-record speed,
the same numbers as each record alone.

``--before DIR`` runs the same with the genorrn package in DIR (e.g. ``git archive HEAD |
tar -x -C DIR``), for before/after numbers under the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

START = 23_000_000  # 0-based start of the pieces on NC_003070.9 (the test region)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(model, genome_path, settings, predictor=None):
    """(predictor, wall s, cpu s, outputs {(record, strand): scores}) of one predict_genome."""
    from genorrn.io import Genome
    from genorrn.predict import predict_genome, resolve_regions

    genome = Genome(genome_path)
    wall, cpu = time.perf_counter(), cpu_seconds()
    if predictor is None:  # fresh: its step models are built and traced in this run
        from genorrn.streaming import StreamingPredictor

        predictor = StreamingPredictor(model.members, **settings)
    entries = predict_genome(predictor, genome, resolve_regions(genome, None), [0, 1, 2])
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    outputs = {}
    for entry in entries:
        outputs[entry.chrom, entry.strand] = entry.scores.read(0, entry.scores.length).copy()
        entry.scores.close()
    return predictor, wall, cpu, outputs


def run(args) -> dict:
    import numpy as np

    from common import data_path
    from genorrn.io import Genome
    from genorrn.pretrained import load_model

    source = Genome(data_path("splice", "athaliana_chr1", "genome.fna.gz"))
    total = args.records * args.length
    bases = source.fetch("NC_003070.9", START, START + total)
    model = load_model(args.model)
    settings = {k: v for k, v in model.streaming_defaults().items()}
    out: dict = {"settings": settings}
    with tempfile.TemporaryDirectory() as tmp:
        one, many = Path(tmp, "one.fa"), Path(tmp, "many.fa")
        one.write_text(f">one\n{bases}\n")
        names = [f"r{i:04d}" for i in range(args.records)]
        many.write_text("".join(f">{n}\n{bases[i * args.length:(i + 1) * args.length]}\n"
                                for i, n in enumerate(names)))  # fmt: skip
        results = {}
        kinds = ("cold", "warm")[: args.repeats]
        for label, path in (("one_record", one), ("many_records", many)):
            predictor, results[label] = None, {}
            for kind in kinds:
                predictor, wall, cpu, outputs = timed(model, path, settings, predictor)
                results[label][kind] = {"seconds": round(wall, 1), "cpu_seconds": round(cpu, 1),
                                        "nt_per_s": round(2 * total / wall)}  # fmt: skip
            print(label, json.dumps(results[label]), file=sys.stderr, flush=True)
            if label == "many_records":
                many_outputs = outputs
            else:
                one_outputs = outputs
        worst_alone, worst_slice, single = 0.0, 0.0, None
        step = max(1, args.records // args.check)
        for i in range(0, args.records, step)[: args.check]:
            alone = Path(tmp, f"alone{i}.fa")
            alone.write_text(f">{names[i]}\n{bases[i * args.length:(i + 1) * args.length]}\n")
            single, _, _, outputs = timed(model, alone, settings, single)
            for strand in "+-":
                got = many_outputs[names[i], strand]
                worst_alone = max(worst_alone, float(np.abs(got - outputs[names[i], strand]).max()))
            whole = one_outputs["one", "+"][i * args.length : (i + 1) * args.length]
            worst_slice = max(worst_slice, float(np.abs(many_outputs[names[i], "+"] - whole).max()))
    ratio = {kind: round(results["many_records"][kind]["nt_per_s"]
                         / results["one_record"][kind]["nt_per_s"], 3) for kind in kinds}  # fmt: skip
    cpu_ratio = {kind: round(results["one_record"][kind]["cpu_seconds"]
                             / results["many_records"][kind]["cpu_seconds"], 3)
                 for kind in kinds}  # fmt: skip
    out |= {"records": args.records, "record_length": args.length,
            "positions_both_strands": 2 * total, "results": results,
            "many_vs_one_speed": ratio, "many_vs_one_speed_by_cpu_seconds": cpu_ratio,
            "at_least_80_percent": min(ratio.values()) >= 0.8,
            "checked_records": args.check,
            "max_abs_diff_vs_each_record_alone": worst_alone,
            "max_abs_diff_vs_the_same_bases_in_one_record": worst_slice}  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="default: the shipped splice model")
    parser.add_argument("--records", type=int, default=500)
    parser.add_argument("--length", type=int, default=2000)
    parser.add_argument("--check", type=int, default=20, help="records also predicted alone")
    parser.add_argument("--repeats", type=int, choices=(1, 2), default=2,
                        help="1: cold runs only; 2: cold, then warm (the same predictor again)")
    parser.add_argument("--before", metavar="DIR", help="use the genorrn package in DIR")
    parser.add_argument("--name", default="short_records", help="results/NAME.json")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.before and not args.inner:  # again in a process that imports the other package
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(Path(args.before).resolve()), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}  # fmt: skip
        sys.exit(subprocess.call([sys.executable, *sys.argv, "--inner"], env=env))
    import genorrn
    from common import model_sha256, report
    from genorrn.pretrained import DEFAULT_SPLICE_MODEL

    args.model = args.model or DEFAULT_SPLICE_MODEL
    load = round(os.getloadavg()[0], 1)
    result = run(args)
    command = "python " + " ".join([Path(sys.argv[0]).as_posix(),
                                    *[a for a in sys.argv[1:] if a != "--inner"]])  # fmt: skip
    report(args.name, {"model": args.model, "model_sha256": model_sha256(args.model),
                       "code": f"genorrn from {Path(genorrn.__file__).parent}",
                       "load_average_1min": [load, round(os.getloadavg()[0], 1)],
                       **result}, command=command)  # fmt: skip


if __name__ == "__main__":
    main()
