"""Replace a shipped splice model's test metrics and/or speed with new measurements, and
rewrite its Markdown card (e.g. after a change to the streaming engine, or on another machine).

    python benchmarks/splice_accuracy.py --model NAME --output-name splice_accuracy_NAME
    python benchmarks/splice_card_metrics.py models/NAME.card.json \
        benchmarks/results/splice_accuracy_NAME.json
    # speed: a streaming_throughput.py result and/or the flat part of streaming_memory.py's
    python benchmarks/splice_card_metrics.py models/NAME.card.json \
        --throughput benchmarks/results/streaming_throughput_NAME.json \
        --memory benchmarks/results/streaming_memory.json

Every result must have been measured on the card's weights (sha256) at the card's streaming
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


def _measured_on(card: dict, path: Path) -> dict:
    """The result in ``path``, if it was measured on the card's weights."""
    result = json.loads(path.read_text())
    if result.get("model_sha256") != card["weights"]["sha256"]:
        sys.exit(f"{path}: measured on other weights than {card['name']}'s")
    return result


def set_metrics(card: dict, path: Path, setting: dict) -> None:
    """Test metrics from a ``splice_accuracy.py`` result."""
    result = _measured_on(card, path)
    if result.get("streaming") != setting:
        sys.exit(f"{path}: measured at {result.get('streaming')}, the card says {setting}")
    if result.get("calibrated") != bool(card.get("calibration")):
        sys.exit(f"{path}: calibrated={result.get('calibrated')} but the card "
                 f"{'has' if card.get('calibration') else 'has no'} calibration")  # fmt: skip
    card["metrics"] = {
        name: test_set | {"metrics": {c: {k: m[k] for k in CARD_KEYS if k in m}
                                      for c, m in test_set["metrics"].items()}}
        for name, test_set in result["test_sets"].items()
    }  # fmt: skip
    card["metrics_summary"] = metrics_summary(result["test_sets"])


def set_throughput(speed: dict, card: dict, path: Path, setting: dict) -> None:
    """Prediction speed at the card's settings from a ``streaming_throughput.py`` result."""
    result = _measured_on(card, path)
    rows = [r for r in result["results"]
            if {"chunk_size": r["chunk_size"], "flank": r["flank"]} == setting]  # fmt: skip
    if not rows:
        sys.exit(f"{path}: no row at the card's setting {setting}")
    speed["prediction_nt_per_s"] = rows
    speed["machine"] = result["machine"]
    speed.setdefault("measured", {})["throughput"] = {"date": result["date"],
                                                      "command": result["command"]}


def set_memory(speed: dict, card: dict, path: Path, setting: dict) -> None:
    """Whole-chromosome speed and peak memory from the flat part of ``streaming_memory.py``."""
    result = _measured_on(card, path)
    flat = result.get("flat")
    if not flat:
        sys.exit(f"{path}: no flat part (run it with --parts flat)")
    if flat.get("setting") not in (None, setting):  # None: run at the card's settings
        sys.exit(f"{path}: measured at {flat['setting']}, the card says {setting}")
    measured = flat.get("measured", {"date": result["date"], "command": result["command"]})
    speed["memory"] = {k: {f: v for f, v in run.items() if f not in ("label", "options")}
                       for k, run in flat["runs"].items()}  # fmt: skip
    speed["memory_flat_within_20_percent"] = flat["flat_within_20_percent"]
    speed.setdefault("measured", {})["memory"] = {"date": measured["date"],
                                                  "command": measured["command"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("card", type=Path)
    parser.add_argument("accuracy", type=Path, nargs="?",
                        help="a benchmarks/splice_accuracy.py result")
    parser.add_argument("--throughput", type=Path,
                        help="a benchmarks/streaming_throughput.py result")
    parser.add_argument("--memory", type=Path,
                        help="a benchmarks/streaming_memory.py result with a flat part")
    args = parser.parse_args()
    if not (args.accuracy or args.throughput or args.memory):
        parser.error("give an accuracy result, --throughput and/or --memory")
    card = json.loads(args.card.read_text())
    if card.get("members"):
        sys.exit(f"{args.card}: an ensemble (use benchmarks/ensemble_card.py)")
    setting = {k: card["streaming"][k] for k in ("chunk_size", "flank")}
    if args.accuracy:
        set_metrics(card, args.accuracy, setting)
    speed = card.setdefault("extra", {}).setdefault("speed", {})
    if args.throughput:
        set_throughput(speed, card, args.throughput, setting)
    if args.memory:
        set_memory(speed, card, args.memory, setting)
    card["input"]["policy"] = DNA_POLICY
    card = ModelCard.from_dict(card)
    write_card(card, args.card)
    args.card.with_name(args.card.name.replace(".card.json", ".md")).write_text(
        markdown(card.to_dict()))
    used = [str(p) for p in (args.accuracy, args.throughput, args.memory) if p]
    print(f"updated {args.card} from {', '.join(used)}")


if __name__ == "__main__":
    main()
