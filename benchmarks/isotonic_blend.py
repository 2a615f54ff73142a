"""How much of the raw probability an isotonic calibration keeps (``ISOTONIC_BLEND``), chosen
on the validation region — never the test region.

    python benchmarks/isotonic_blend.py [--model splice-athaliana-v3]

One raw streamed pass over the gene bodies of the fixed validation region
(NC_003070.9:20,000,001-23,000,000, both strands); the card's isotonic maps are then applied
with each blend weight ``λ`` (``(1 − λ)·map(p) + λ·p``, float32 output as ``predict`` writes).
A ranking-preserving calibration leaves top-k and PR-AUC at the raw values; ``λ`` too small
loses the order of positions on one flat step in float32 rounding, too large moves the
probabilities away from the map (ECE). Writes ``benchmarks/results/isotonic_blend_<model>.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import data_path, report  # noqa: E402
from genorrn.calibration import apply_isotonic  # noqa: E402
from genorrn.data.splice import SPLIT_PRESETS  # noqa: E402
from genorrn.metrics import site_metrics  # noqa: E402
from genorrn.pretrained import load_model  # noqa: E402

VALIDATION = SPLIT_PRESETS["athaliana-chr1"]["validation"][0]
BLENDS = (1e-6, 1e-4, 1e-3, 1e-2)


def main() -> None:
    from genorrn.io import Genome, read_annotation
    from genorrn.predict import resolve_regions
    from genorrn.regions import parse_region
    from genorrn.splice import gene_body_scores

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="splice-athaliana-v3")
    args = parser.parse_args()
    model = load_model(args.model, task="splice")
    record = model.card.calibration or {}
    if record.get("method") != "isotonic":
        sys.exit(f"{args.model}: its calibration is not isotonic")
    genome = Genome(data_path("splice", "athaliana_chr1", "genome.fna.gz"))
    annotation = read_annotation(data_path("splice", "athaliana_chr1", "annotation.gff3.gz"))
    regions = resolve_regions(genome, [parse_region(VALIDATION)])
    labels, probs = gene_body_scores(model.predictor(calibrated=False), genome, annotation,
                                     regions)  # fmt: skip
    classes = {1: "acceptor", 2: "donor"}
    keys = ("top_k", "pr_auc", "ece", "brier")

    def summary(scored) -> dict:
        metrics = site_metrics(labels, scored, classes)
        return {name: {k: metrics[name][k] for k in keys} for name in classes.values()}

    results = {"raw": summary(probs)}
    for blend in BLENDS:
        calibrated = apply_isotonic(probs, record["maps"], record.get("remainder"), blend)
        results[f"blend_{blend:g}"] = summary(calibrated)
    report(f"isotonic_blend_{model.name}", {
        "model": args.model,
        "model_sha256": model.weights_sha256,
        "validation_region": VALIDATION,
        "positions": int(len(labels)),
        "note": "the maps were fitted on this region, so calibrated ECE here is in-sample; the "
                "point is the ranking metrics (top-k, PR-AUC) against raw",
        "results": results,
    })  # fmt: skip


if __name__ == "__main__":
    main()
