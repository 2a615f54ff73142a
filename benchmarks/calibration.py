"""Calibration of a model on its test sets: ECE and Brier score per class, raw vs calibrated.

    python benchmarks/calibration.py --model splice-athaliana-v3
    python benchmarks/calibration.py --model structure-q8-v1

One streamed pass with the raw model per test set; the calibrated probabilities are the card's
calibration applied to the same outputs (what ``predict`` does by default), so both columns
come from one prediction. The calibration must have been fitted on validation data
(``genorrn models calibrate``); the test sets are never used for fitting.

* splice: A. thaliana chr1 test region NC_003070.9:23,000,001-30,427,671 and D. melanogaster
  chr4 (cross-species), gene bodies, both strands; ECE over positions with probability >= 0.01;
* structure: CB513, TS115, NetSurfP-2.0 test; Q3 and Q8 classes, every scored residue.

Writes ``benchmarks/results/calibration_<model>.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import calibration_sha256, data_path, report  # noqa: E402
from genorrn.metrics import score_chains, site_metrics  # noqa: E402
from genorrn.pretrained import load_model  # noqa: E402

SPLICE_SETS = {
    "athaliana_chr1_test": ("athaliana_chr1", "NC_003070.9:23000001-30427671"),
    "dmel_chr4": ("dmel_chr4", None),
}


def _compare(raw: dict, calibrated: dict) -> dict:
    """Per class: ECE and Brier raw → calibrated (and the rest of the calibrated metrics)."""
    out = {}
    for name, m in calibrated.items():
        r = raw[name]
        out[name] = {"ece_raw": r["ece"], "ece_calibrated": m["ece"],
                     "brier_raw": r["brier"], "brier_calibrated": m["brier"]}  # fmt: skip
        for key in ("top_k", "pr_auc", "calls"):
            if key in m:
                out[name][key] = m[key]
        if "calls" in r:
            out[name]["calls_raw"] = r["calls"]
    return out


def splice(model, calibrate) -> dict:
    from genorrn.io import Genome, read_annotation
    from genorrn.predict import resolve_regions
    from genorrn.regions import parse_region
    from genorrn.splice import gene_body_scores

    predictor = model.predictor(calibrated=False)
    results = {}
    for name, (folder, region) in SPLICE_SETS.items():
        genome = Genome(data_path("splice", folder, "genome.fna.gz"))
        annotation = read_annotation(data_path("splice", folder, "annotation.gff3.gz"))
        regions = resolve_regions(genome, [parse_region(region)] if region else None)
        start = time.perf_counter()
        labels, probs = gene_body_scores(predictor, genome, annotation, regions)
        classes = {1: "acceptor", 2: "donor"}
        raw = site_metrics(labels, probs, classes)
        calibrated = site_metrics(labels, calibrate(probs), classes)
        results[name] = {"positions": int(len(labels)), "classes": _compare(raw, calibrated),
                         "seconds": round(time.perf_counter() - start, 1)}  # fmt: skip
        print(name, results[name]["classes"], file=sys.stderr, flush=True)
    return results


def structure(model, calibrate) -> dict:
    from genorrn.data.structure_sets import EVALUATION_SETS
    from genorrn.predict import predict_sequences
    from genorrn.structure import load_evaluation_sets

    predictor = model.predictor(calibrated=False)
    results = {}
    for name, chain_set in load_evaluation_sets(data_path("structure"), EVALUATION_SETS).items():
        chains = chain_set.chains
        probs = [p for _, _, p in predict_sequences(predictor, ((c.id, c.seq) for c in chains))]
        raw = score_chains(chains, probs)
        calibrated = score_chains(chains, [calibrate(p) for p in probs])
        results[name] = {level: {"accuracy_raw": raw[level]["accuracy"],
                                 "accuracy_calibrated": calibrated[level]["accuracy"],
                                 "classes": _compare(raw[level]["per_class"],
                                                     calibrated[level]["per_class"])}
                         for level in ("q3", "q8") if level in raw}  # fmt: skip
        print(name, {k: v["classes"] for k, v in results[name].items()}, file=sys.stderr,
              flush=True)  # fmt: skip
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    args = parser.parse_args()
    model = load_model(args.model)
    if model.calibrator is None:
        sys.exit(f"{args.model}: no calibration in its card (genorrn models calibrate)")
    run = splice if model.task == "splice" else structure
    results = run(model, model.calibrator)
    report(f"calibration_{model.name}", {
        "model": str(model.path),
        "model_sha256": model.weights_sha256,  # an ensemble: its members' fingerprint
        "method": model.card.calibration["method"],
        "temperatures": model.card.calibration.get("temperatures"),
        "fitted_on": model.card.calibration.get("fitted_on"),
        "calibration_sha256": calibration_sha256(model.card.calibration),
        "test_sets": results,
    })  # fmt: skip


if __name__ == "__main__":
    main()
