"""Secondary-structure accuracy of a model on CB513, TS115 and the NetSurfP-2.0 test set.

    python benchmarks/structure_accuracy.py [--model structure-q8-v1]

Scored residues as the data README says (CB513: disorder == 1 and cb513_mask == 1; TS115:
disorder == 1; NetSurfP-2.0 test: resolved residues, Q3 only — a random in-distribution
sample, not a homology-reduced test). Predictions go through the streaming engine with the
model card's chunk/flank, exactly as ``genorrn predict structure``. Writes
``benchmarks/results/structure_accuracy.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import data_path, report  # noqa: E402
from genorrn.data.structure_sets import EVALUATION_SETS  # noqa: E402
from genorrn.pretrained import DEFAULT_STRUCTURE_MODEL as DEFAULT_MODEL  # noqa: E402
from genorrn.pretrained import load_model  # noqa: E402
from genorrn.structure import evaluate, load_evaluation_sets  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--output-name", default="structure_accuracy")
    args = parser.parse_args()
    data_dir = data_path("structure")
    loaded = load_model(args.model, task="structure")
    predictor = loaded.predictor()
    sets = load_evaluation_sets(data_dir, EVALUATION_SETS)
    results = {}
    for name, chain_set in sets.items():
        results[name] = evaluate(predictor, chain_set.chains)
        print(name, results[name]["q3"]["accuracy"], results[name].get("q8", {}).get("accuracy"),
              file=sys.stderr, flush=True)
    summary = {
        name: {
            "q3": r["q3"]["accuracy"],
            "q8": r.get("q8", {}).get("accuracy"),
            "sov99_q3": r["q3"]["sov99_mean_per_chain"],
            "scored_residues": r["q3"]["residues"],
            "chains": r["chains"],
        }
        for name, r in results.items()
    }
    # the same model on whole proteins (one chunk longer than any chain): streaming's effect
    whole = loaded.predictor(chunk_size=2048, flank=predictor.flank, batch_size=32)
    exact = {}
    for name, chain_set in sets.items():
        r = evaluate(whole, chain_set.chains)
        exact[name] = {"q3": r["q3"]["accuracy"], "q8": r.get("q8", {}).get("accuracy")}
    report(args.output_name, {
        "model": args.model,
        "model_sha256": loaded.weights_sha256,  # an ensemble's: its members'
        "calibrated": predictor.transform is not None,
        "streaming": {"chunk_size": predictor.chunk_size, "flank": predictor.flank,
                      "batch_size": predictor.batch_size},
        "targets": {"cb513_q3": 0.74, "cb513_q8": 0.60},
        "summary": summary,
        "whole_protein_reference": exact,
        "details": results,
    })  # fmt: skip


if __name__ == "__main__":
    main()
