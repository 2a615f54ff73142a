"""Streaming prediction throughput (nt/s, both strands counted) after warm-up.

    python benchmarks/streaming_throughput.py [--model NAME|PATH] [--length 2000000]

Runs genorrn.predict.predict_genome (the code path of `genorrn predict splice`, score files
included) over a region of A. thaliana chr1, at the model card's streaming settings (or
``--chunk-size``/``--flank``/``--batch-size``; ``--grid`` adds other batch and chunk sizes).
Default model: the shipped splice model; ``--random`` uses the splice-sized architecture with
random weights. Wall and CPU seconds are both reported (on a shared machine the wall time
follows the load; compare versions back to back). Run it on an otherwise idle machine for
the README's numbers. ``--before DIR`` runs the same with the genorrn package in DIR (e.g.
``git archive HEAD | tar -x -C DIR``).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))
if "--before" in sys.argv and "--inner" not in sys.argv:  # again, importing the other package
    folder = Path(sys.argv[sys.argv.index("--before") + 1]).resolve()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(folder), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}  # fmt: skip
    sys.exit(subprocess.call([sys.executable, *sys.argv, "--inner"], env=env))

from common import data_path, model_sha256, report  # noqa: E402
from genorrn.io import Genome  # noqa: E402
from genorrn.predict import predict_genome  # noqa: E402
from genorrn.pretrained import DEFAULT_SPLICE_MODEL  # noqa: E402
from genorrn.recipes import SPLICE  # noqa: E402
from genorrn.regions import Region  # noqa: E402
from genorrn.streaming import (  # noqa: E402
    StreamingPredictor,
)


def load(args):
    if args.random:
        import keras

        from genorrn.models import LabellerConfig, build_labeller

        keras.utils.set_random_seed(0)
        cfg = LabellerConfig(lstm_units=[64, 64], conv_filters=48, conv_kernel=11, conv_layers=2)
        return build_labeller(cfg), "random weights, conv 2x48x11 + BiLSTM 64,64"
    from genorrn.pretrained import load_model

    return load_model(args.model).members, args.model  # an ensemble: every member


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rate(predictor, genome, region) -> tuple[float, float]:
    """nt/s by the wall clock and by this process's CPU seconds."""
    start, cpu = time.perf_counter(), cpu_seconds()
    entries = predict_genome(predictor, genome, [region], [1, 2])
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    for entry in entries:
        entry.scores.close()
    positions = 2 * (region.end - region.start)
    return positions / seconds, positions / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=DEFAULT_SPLICE_MODEL)
    parser.add_argument("--random", action="store_true")
    parser.add_argument("--length", type=int, default=2_000_000)
    parser.add_argument("--grid", action="store_true", help="also try other batch/chunk sizes")
    parser.add_argument("--chunk-size", type=int, help="default: the card's")
    parser.add_argument("--flank", type=int, help="default: the card's")
    parser.add_argument("--batch-size", type=int, help="default: the card's")
    parser.add_argument("--before", metavar="DIR", help="use the genorrn package in DIR")
    parser.add_argument("--name", help="results/NAME.json (default: streaming_throughput)")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    genome = Genome(data_path("splice", "athaliana_chr1", "genome.fna.gz"))
    model, description = load(args)
    if args.random:
        card = dict(SPLICE.streaming)
    else:
        from genorrn.pretrained import load_model

        card = load_model(args.model).streaming_defaults()
    for key in ("chunk_size", "flank", "batch_size"):
        if getattr(args, key) is None:
            setattr(args, key, card[key])
    load_average = round(os.getloadavg()[0], 1)
    region = Region("NC_003070.9", 10_000_000, 10_000_000 + args.length)
    B, C, F = args.batch_size, args.chunk_size, args.flank
    settings = [(B, C, F)]
    if args.grid:
        settings += [(B, C, 500), (16, C, F), (64, C, F), (B, 2000, F), (B, 10000, F)]
    results = []
    for batch, chunk, flank in settings:
        predictor = StreamingPredictor(model, chunk_size=chunk, flank=flank, batch_size=batch)
        # trace once, at the batch the measured run uses (a full batch: B lanes of 4 chunks)
        rate(predictor, genome, Region("NC_003070.9", 1_000_000, 1_000_000 + 2 * batch * chunk))
        wall, cpu = rate(predictor, genome, region)
        results.append({"batch_size": batch, "chunk_size": chunk, "flank": flank,
                        "nt_per_s": round(wall), "nt_per_cpu_s": round(cpu)})  # fmt: skip
    import genorrn

    name = args.name or "streaming_throughput" + ("_random" if args.random else "")
    command = "python " + " ".join([Path(sys.argv[0]).as_posix(),
                                    *[a for a in sys.argv[1:] if a != "--inner"]])  # fmt: skip
    report(name, {"model": description,
                  "model_sha256": None if args.random else model_sha256(args.model),
                  "code": f"genorrn from {Path(genorrn.__file__).parent}",
                  "region": str(region), "threads": os.cpu_count(),
                  "load_average_1min": [load_average, round(os.getloadavg()[0], 1)],
                  "results": results}, command=command)  # fmt: skip


if __name__ == "__main__":
    main()
