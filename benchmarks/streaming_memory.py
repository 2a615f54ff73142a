"""Peak memory of the streaming engine: the memory model, `predict splice` runs, flatness.

    python benchmarks/streaming_memory.py [--model NAME|PATH] [--parts fit,runs,flat]

Every number is the peak resident set size (ru_maxrss) of a separate process:

* ``fit``: one chunk step of each shipped model (and a 3-member ensemble of v1) at two batch
  sizes, in fresh processes: the measured bytes per lane-position (the slope between the two
  batch sizes, and the whole rise over what the process held before the call divided by
  lanes × window, which includes tracing) against :func:`genorrn.memory.memory_model`, the
  engine's estimate, which must be above the slope (the rest is covered by
  ``RUN_OVERHEAD``); v3 also with Keras' LSTM layers (the step before #18, kept on GPU).
* ``runs``: `genorrn predict splice … --format bigwig` on the 300 kb region
  NC_003070.9:23000001-23300000 with chunk 5000 / 50000 / 300000 (flank: the card's) under
  ``--max-memory 2G`` and at the defaults, and on the bundled 100 kb example under
  ``--max-memory 2G`` and at the defaults. A setting the engine refuses (it does not fit at
  batch 1) is reported with its one-line error.
* ``flat``: 1 Mb vs the whole 30 Mb chromosome at the defaults or ``--chunk-size``/``--flank``
  (flat memory: peaks within 20%); the 30 Mb run also gives the whole-chromosome speed
  (start-up and file writing included).

``--before DIR`` runs the CLI parts with the genorrn package found in DIR (e.g. an export of
the previous commit: ``git archive HEAD | tar -x -C DIR``), for before/after tables; it has no
``--max-memory``, so its runs are at its defaults (``--chunks 5000`` keeps them safe: the
previous engine holds a full batch of 50 kb windows, 13 GB, whatever the memory).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import data_path, model_sha256, report  # noqa: E402

REGION = "NC_003070.9:23000001-23300000"
EXAMPLE = Path(__file__).resolve().parents[1] / "reference_data" / "athaliana_chr1_test_slice.fa"

PROBE = r"""
import json, os, resource, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import genorrn
from genorrn.memory import current_rss, trim_memory
from genorrn.streaming import StreamingPredictor
names, chunk, flank, batch = sys.argv[1].split("+"), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
members = [m for n in names for m in genorrn.load_model(n).members]
p = StreamingPredictor(members, chunk, flank, batch)
W = p.window()
per_position, per_lane = p.memory_model
x = np.zeros((batch, W, p.config.alphabet_size), np.float32)
x[..., 0] = 1
mask = np.ones((batch, W), bool)
states = [np.zeros((batch, u), np.float32) for u in p.units for _ in range(2)]
trim_memory()
base = current_rss()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
for _ in range(2):  # the first call traces
    p.step.predict_on_batch([x, mask, *states])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"base": base, "peak_before_call": before, "peak": peak, "window": W,
                  "estimated_bytes_per_position": per_position + round(per_lane / W)}))
"""


def probe(model: str, chunk: int, flank: int, batch: int, env: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, model, str(chunk), str(flank), str(batch)],
                         capture_output=True, text=True, env=env)  # fmt: skip
    if out.returncode != 0:
        sys.exit(f"probe failed: {model} {chunk} {flank} {batch}\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def fit(args, env) -> dict:
    """Measured vs estimated bytes per lane-position, per model, at two batch sizes."""
    cases = [("splice-athaliana-v3", 10000, 3000, (4, 16), "scan"),
             ("splice-athaliana-v3", 10000, 3000, (4, 16), "keras"),
             ("splice-athaliana-v1", 5000, 1000, (8, 32), "scan"),
             ("structure-q8-v1", 256, 32, (128, 512), "scan"),
             ("splice-athaliana-v1+splice-athaliana-v1+splice-athaliana-v1", 5000, 1000, (4, 16),
              "scan")]  # fmt: skip
    rows = []
    for model, chunk, flank, (b1, b2), lstm in cases:
        # scan: the CPU step (StreamingLSTMStack); keras: Keras' LSTM layers (the GPU step, and
        # the CPU step before #18)
        lstm_env = {**env, "GENORRN_STREAMING_LSTM": lstm}
        small, large = probe(model, chunk, flank, b1, lstm_env), probe(model, chunk, flank, b2, lstm_env)
        window = large["window"]
        slope = (large["peak"] - small["peak"]) / ((b2 - b1) * window)
        rise = (large["peak"] - large["base"]) / (b2 * window)
        rows.append({"model": model, "lstm_step": lstm, "chunk_size": chunk, "flank": flank,
                     "window": window,
                     "batches": [b1, b2],
                     "base_mb": round(large["base"] / 2**20),
                     "peak_mb": [round(small["peak"] / 2**20), round(large["peak"] / 2**20)],
                     "measured_bytes_per_position_slope": round(slope),
                     "measured_bytes_per_position_rise": round(rise),
                     "overhead_mb_at_small_batch": round(
                         (small["peak"] - small["base"] - b1 * window * slope) / 2**20),
                     "estimated_bytes_per_position": large["estimated_bytes_per_position"],
                     "estimate_above_measured_slope": large["estimated_bytes_per_position"]
                     >= slope})  # fmt: skip
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return {"bytes_per_position": rows}


def measure(cmd: list[str], env: dict) -> tuple[float, float, str | None]:
    """Run ``cmd``: its peak RSS (MB, os.wait4), wall seconds and, if it failed, its last
    stderr line (a refusal is a one-line error)."""
    import time

    start = time.perf_counter()
    # run from a scratch folder: `python -m` puts the working folder first on sys.path, which
    # would take ./genorrn over the package of --before
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                            cwd=tempfile.gettempdir())  # fmt: skip
    err = proc.stderr.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    lines = [line for line in err.strip().splitlines() if line.strip()]
    failed = (lines[-1] if lines else f"exit status {status}") if status else None
    return usage.ru_maxrss / 1024, seconds, failed


def cli_run(genome, label: str, options: list[str], env: dict, tmp: str) -> dict:
    cmd = [sys.executable, "-m", "genorrn", "predict", "splice", str(genome), "-o",
           f"{tmp}/{label}", *options]  # fmt: skip
    rss, seconds, failed = measure(cmd, env)
    row = {"label": label, "options": options, "peak_rss_mb": round(rss, 1),
           "seconds": round(seconds, 1)}  # fmt: skip
    if failed:
        row["failed"] = failed
    print(json.dumps(row), file=sys.stderr, flush=True)
    return row


def runs(args, env) -> dict:
    genome = data_path("splice", "athaliana_chr1", "genome.fna.gz")
    model = ["--model", args.model]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        # a previous version has no --max-memory: its runs are at its defaults
        budget, tag = ([], "") if args.before else (["--max-memory", "2G"], "_2G")
        for chunk in args.chunks:
            rows.append(cli_run(genome, f"region_chunk{chunk}{tag}",
                                ["--region", REGION, "--chunk-size", str(chunk), *budget, *model],
                                env, tmp))  # fmt: skip
        rows.append(cli_run(genome, "region_defaults", ["--region", REGION, *model], env, tmp))
        if budget:
            rows.append(cli_run(EXAMPLE, "example_2G", [*budget, *model], env, tmp))
        rows.append(cli_run(EXAMPLE, "example_defaults", model, env, tmp))
    for row in rows:
        if "region" in row["label"]:
            row["nt_per_s_incl_startup"] = round(2 * 300_000 / row["seconds"])
    return {"region": REGION, "runs": rows}


def flat(args, env) -> dict:
    genome = data_path("splice", "athaliana_chr1", "genome.fna.gz")
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, region in (("1Mb", ["--region", "NC_003070.9:5000001-6000000"]), ("30Mb", [])):
            setting = []
            for option, value in (("--chunk-size", args.chunk_size), ("--flank", args.flank)):
                setting += [option, str(value)] if value is not None else []
            row = cli_run(genome, label, [*region, "--model", args.model, *setting], env, tmp)
            positions = 2 * (1_000_000 if region else 30_427_671)
            row |= {"positions_both_strands": positions,
                    "nt_per_s_incl_startup": round(positions / row["seconds"])}  # fmt: skip
            out[label] = row
    diff = out["30Mb"]["peak_rss_mb"] / out["1Mb"]["peak_rss_mb"] - 1
    return {"runs": out, "relative_difference": round(diff, 4),
            "flat_within_20_percent": abs(diff) <= 0.20}  # fmt: skip


def main() -> None:
    from genorrn.pretrained import DEFAULT_SPLICE_MODEL

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=DEFAULT_SPLICE_MODEL)
    parser.add_argument("--parts", default="fit,runs", help="fit, runs and/or flat (default fit,runs)")
    parser.add_argument("--chunks", default="5000,50000,300000",
                        type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--chunk-size", type=int, help="flat part: default the card's")
    parser.add_argument("--flank", type=int, help="flat part: default the card's")
    parser.add_argument("--before", metavar="DIR",
                        help="run the CLI parts with the genorrn package in DIR (a previous version)")
    parser.add_argument("--name", default="streaming_memory", help="results/NAME.json")
    args = parser.parse_args()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    if args.before:
        env["PYTHONPATH"] = os.pathsep.join([str(Path(args.before).resolve()),
                                             env.get("PYTHONPATH", "")]).rstrip(os.pathsep)  # fmt: skip
    parts = args.parts.split(",")
    result = {"model": args.model, "model_sha256": model_sha256(args.model),
              "code": f"package from {args.before}" if args.before else "this checkout",
              "load_average_1min_at_start": round(os.getloadavg()[0], 1)}  # fmt: skip
    if "fit" in parts and not args.before:
        result["fit"] = fit(args, env)
    if "runs" in parts:
        result["runs"] = runs(args, env)
    if "flat" in parts:
        result["flat"] = flat(args, env)
    result["load_average_1min_at_end"] = round(os.getloadavg()[0], 1)
    report(args.name, keep_earlier_parts(args.name, result, parts))


def keep_earlier_parts(name: str, result: dict, parts: list[str]) -> dict:
    """``result`` with the parts not run now carried over from results/NAME.json (each with
    the date and command that measured it), so that one file holds every part."""
    from common import RESULTS

    path = RESULTS / f"{name}.json"
    if not path.exists():
        return result
    earlier = json.loads(path.read_text())
    if "relative_difference" in earlier and "flat" not in earlier:  # the format before #18
        earlier["flat"] = {key: earlier[key] for key in
                           ("runs", "relative_difference", "flat_within_20_percent")}  # fmt: skip
        earlier["flat"]["setting"] = earlier.get("setting")
        earlier.pop("runs")
    for part in ("fit", "runs", "flat"):
        if part not in result and part in earlier:
            carried = dict(earlier[part])
            carried.setdefault("measured", {"date": earlier.get("date"),
                                            "command": earlier.get("command"),
                                            "code": earlier.get("code", "before #18")})  # fmt: skip
            result[part] = carried
    return result


if __name__ == "__main__":
    main()
