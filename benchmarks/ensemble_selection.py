"""Choose ensemble members and their number on validation data only (never a test set).

    python benchmarks/ensemble_selection.py --task structure \
        structure-q8-v1 runs/structure-s1/model.keras runs/structure-s2/model.keras
    python benchmarks/ensemble_selection.py --task splice \
        splice-athaliana-v3 splice-athaliana-v2 runs/splice-m1/model.keras

Each candidate predicts the validation data once (raw probabilities, streaming settings of its
card): structure: NetSurfP-2.0 validation (1,080 chains, Q3 labels); splice: the gene bodies of
the fixed split's validation region NC_003070.9:20,000,001-23,000,000, both strands. An
ensemble's prediction is the mean of its members' probabilities (what ``genorrn models
ensemble`` builds), so every subset is scored from these arrays without predicting again.

Greedy forward selection: start from the best single candidate; add the candidate that raises
the selection score most; stop when no candidate raises it. Selection score: structure, Q3;
splice, the mean of the acceptor and donor PR-AUC (the training's model-selection metric).
Every single candidate and every step is reported. Writes
``benchmarks/results/ensemble_selection_<task>.json`` (or ``--output-name``.json).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import data_path, model_sha256, report  # noqa: E402
from genorrn.data.splice import SPLIT_PRESETS  # noqa: E402
from genorrn.metrics import score_chains, site_metrics  # noqa: E402
from genorrn.pretrained import load_model  # noqa: E402
from genorrn.recipes import SPLICE  # noqa: E402


def structure_scorer():
    """``(predict(model) → per-chain probabilities, score(probabilities) → metrics)``."""
    from genorrn.data.structure_sets import VALIDATION
    from genorrn.predict import predict_sequences
    from genorrn.structure import load_evaluation_sets

    chains = load_evaluation_sets(data_path("structure"), [VALIDATION])[VALIDATION].chains

    def predict(model):
        predictor = model.predictor(calibrated=False)
        return [p for _, _, p in predict_sequences(predictor, ((c.id, c.seq) for c in chains))]

    def score(probs) -> dict:
        report = score_chains(chains, probs)
        return {"score": report["q3"]["accuracy"], "q3": report["q3"]["accuracy"]}

    return predict, score, lambda runs: [np.mean(parts, axis=0) for parts in zip(*runs)]


def splice_scorer():
    from genorrn.io import Genome, read_annotation
    from genorrn.predict import resolve_regions
    from genorrn.regions import parse_region
    from genorrn.splice import gene_body_scores

    folder = data_path("splice", "athaliana_chr1")
    genome = Genome(folder / "genome.fna.gz")
    annotation = read_annotation(folder / "annotation.gff3.gz")
    regions = resolve_regions(genome, [parse_region(r) for r in
                                       SPLIT_PRESETS[SPLICE.splits]["validation"]])  # fmt: skip
    labels = []

    def predict(model):
        found, probs = gene_body_scores(model.predictor(calibrated=False), genome, annotation,
                                        regions)  # fmt: skip
        if labels and not np.array_equal(labels[0], found):
            sys.exit("candidates scored different positions")
        labels[:] = [found]
        return probs

    def score(probs) -> dict:
        m = site_metrics(labels[0], probs, {1: "acceptor", 2: "donor"})
        out = {f"{c}_{k}": m[c][k] for c in ("acceptor", "donor") for k in ("top_k", "pr_auc")}
        return {"score": round((m["acceptor"]["pr_auc"] + m["donor"]["pr_auc"]) / 2, 5)} | out

    return predict, score, lambda runs: np.mean(runs, axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=["splice", "structure"], required=True)
    parser.add_argument("candidates", nargs="+", help="model names or .keras paths")
    parser.add_argument("--output-name", help="results file name without .json (default: "
                        "ensemble_selection_TASK)")
    args = parser.parse_args()
    predict, score, mean = (splice_scorer if args.task == "splice" else structure_scorer)()
    outputs, singles = {}, {}
    for name in args.candidates:
        start = time.perf_counter()
        outputs[name] = predict(load_model(name, task=args.task, calibration=False))
        singles[name] = score(outputs[name]) | {
            "sha256": model_sha256(name), "seconds": round(time.perf_counter() - start, 1)}
        print(name, singles[name], file=sys.stderr, flush=True)
    chosen = [max(singles, key=lambda n: singles[n]["score"])]
    steps = [{"members": list(chosen), **singles[chosen[0]]}]
    while len(chosen) < len(outputs):
        trials = {n: score(mean([outputs[m] for m in [*chosen, n]]))
                  for n in outputs if n not in chosen}  # fmt: skip
        best = max(trials, key=lambda n: trials[n]["score"])
        if trials[best]["score"] <= steps[-1]["score"]:
            steps.append({"stopped": f"no candidate raises the score (best: {best}, "
                                     f"{trials[best]['score']})"})  # fmt: skip
            break
        chosen.append(best)
        steps.append({"members": list(chosen), **trials[best]})
        print(steps[-1], file=sys.stderr, flush=True)
    everything = score(mean(list(outputs.values())))
    report(args.output_name or f"ensemble_selection_{args.task}", {
        "validation": "NetSurfP-2.0 validation (1,080 chains)" if args.task == "structure"
        else f"gene bodies of {', '.join(SPLIT_PRESETS[SPLICE.splits]['validation'])}",
        "selection_score": "Q3" if args.task == "structure"
        else "mean of acceptor and donor PR-AUC",
        "candidates": singles, "greedy_steps": steps, "chosen": chosen,
        "all_candidates_mean": everything,
    })  # fmt: skip


if __name__ == "__main__":
    main()
