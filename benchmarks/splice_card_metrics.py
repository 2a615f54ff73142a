"""Replace a shipped splice model's test metrics with a new measurement, and rewrite its
Markdown card (e.g. after a change to the streaming engine changed predictions).

    python benchmarks/splice_accuracy.py --model NAME --output-name splice_accuracy_NAME
    python benchmarks/splice_card_metrics.py models/NAME.card.json \
        benchmarks/results/splice_accuracy_NAME.json

The result must have been measured on the card's weights (sha256) at the card's streaming
settings; the card's input policy is brought up to date (:data:`genorrn.alphabets.DNA_POLICY`).
Training, data and everything else in the card stay as they are. Ensembles take their metrics
from ``benchmarks/calibration.py`` through ``benchmarks/ensemble_card.py`` instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from splice_model_card import markdown, metrics_summary  # noqa: E402

from genorrn.alphabets import DNA_POLICY  # noqa: E402
from genorrn.cards import ModelCard, write_card  # noqa: E402

#: per class, what a card keeps of an evaluation (ECE and reliability bins are in the
#: calibration benchmark's result)
CARD_KEYS = ("top_k", "pr_auc", "sites", "calls")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("card", type=Path)
    parser.add_argument("accuracy", type=Path, help="a benchmarks/splice_accuracy.py result")
    args = parser.parse_args()
    card = json.loads(args.card.read_text())
    result = json.loads(args.accuracy.read_text())
    if card.get("members"):
        sys.exit(f"{args.card}: an ensemble (use benchmarks/ensemble_card.py)")
    if result.get("model_sha256") != card["weights"]["sha256"]:
        sys.exit(f"{args.accuracy}: measured on other weights than {args.card}'s")
    setting = {k: card["streaming"][k] for k in ("chunk_size", "flank")}
    if result.get("streaming") != setting:
        sys.exit(f"{args.accuracy}: measured at {result.get('streaming')}, the card says {setting}")
    if result.get("calibrated") != bool(card.get("calibration")):
        sys.exit(f"{args.accuracy}: calibrated={result.get('calibrated')} but the card "
                 f"{'has' if card.get('calibration') else 'has no'} calibration")  # fmt: skip
    card["metrics"] = {
        name: test_set | {"metrics": {c: {k: m[k] for k in CARD_KEYS if k in m}
                                      for c, m in test_set["metrics"].items()}}
        for name, test_set in result["test_sets"].items()
    }  # fmt: skip
    card["metrics_summary"] = metrics_summary(result["test_sets"])
    card["input"]["policy"] = DNA_POLICY
    card = ModelCard.from_dict(card)
    write_card(card, args.card)
    args.card.with_name(args.card.name.replace(".card.json", ".md")).write_text(
        markdown(card.to_dict()))
    print(f"updated {args.card} from {args.accuracy}")


if __name__ == "__main__":
    main()
