"""Fill an ensemble's card with what was measured, and write its Markdown card.

    genorrn models ensemble A B C -o models/NAME            # the card: members + sha256
    genorrn models calibrate models/NAME.card.json ...      # its calibration (validation)
    python benchmarks/ensemble_selection.py --task TASK ... # how the members were chosen
    python benchmarks/calibration.py --model models/NAME.card.json   # test metrics
    python benchmarks/ensemble_card.py models/NAME.card.json [--throughput J …] [--selection J]

Reads ``benchmarks/results/calibration_NAME.json`` (test metrics, raw and calibrated, from one
prediction pass), ``benchmarks/results/ensemble_selection_TASK.json`` (or ``--selection``) and,
when given, throughput results (``--throughput``, repeatable: the host's speed varies from run
to run, so each measurement is kept with its date and time); each must have been measured on
these members (the members' sha256 fingerprint). Writes the card's metrics, metrics summary,
members' training commands, selection and throughput, and ``NAME.md`` beside the card.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from splice_model_card import metrics_summary  # noqa: E402

from common import RESULTS, calibration_sha256  # noqa: E402
from genorrn import __version__  # noqa: E402
from genorrn.cards import members_sha256, read_card, write_card  # noqa: E402
from genorrn.pretrained import model_card  # noqa: E402


def _load(path: Path, fingerprint: str, what: str, key: str = "model_sha256") -> dict:
    if not path.exists():
        sys.exit(f"{path}: missing ({what})")
    result = json.loads(path.read_text())
    if result.get(key) != fingerprint:
        sys.exit(f"{path}: measured on other members ({what})")
    return result


def _metrics(task: str, tests: dict) -> tuple[dict, str]:
    """The card's ``metrics`` (calibrated, with the raw figures beside) and its summary."""
    if task == "splice":
        metrics = {name: {"evaluated_positions": t["positions"], "metrics": t["classes"]}
                   for name, t in tests.items()}  # fmt: skip
        return metrics, metrics_summary(metrics)
    metrics = {name: {level: {"accuracy": v["accuracy_calibrated"],
                              "accuracy_raw": v["accuracy_raw"], "classes": v["classes"]}
                      for level, v in t.items()}
               for name, t in tests.items()}  # fmt: skip
    summary = " ".join(
        f"{name} Q3 {t['q3']['accuracy_calibrated']:.3f}"
        + (f" Q8 {t['q8']['accuracy_calibrated']:.3f}" if "q8" in t else "")
        for name, t in tests.items()
    )
    return metrics, summary


def _speed(throughput: dict) -> str:
    """One throughput measurement as a line of JSON (its speed, settings and date)."""
    if "results" in throughput:  # streaming_throughput.py: one row per setting
        throughput = throughput["results"][0] | {"date": throughput["date"]}
    return json.dumps({k: throughput[k] for k in ("nt_per_s", "proteins_per_s", "seconds",
                                                  "chunk_size", "flank", "batch_size", "date")
                       if k in throughput})  # fmt: skip


def markdown(card, selection: dict, tests: dict, throughputs: list[dict]) -> str:
    rows = []
    for name, t in tests.items():
        levels = t["classes"] if card.task == "splice" else {
            f"{level} {c}": v for level, lv in t.items() for c, v in lv["classes"].items()}
        for cls, v in levels.items():
            extra = (f"top-k {v['top_k']}, PR-AUC {v['pr_auc']}" if "top_k" in v else "")
            rows.append(f"| {name} | {cls} | {v['ece_raw']} → {v['ece_calibrated']} | "
                        f"{v['brier_raw']} → {v['brier_calibrated']} | {extra} |")
    accuracy = ""
    if card.task == "structure":
        accuracy = "\n".join(
            f"| {name} | " + " | ".join(
                f"{t[level]['accuracy_raw']} → {t[level]['accuracy_calibrated']}"
                if level in t else "–" for level in ("q3", "q8")) + " |"
            for name, t in tests.items())  # fmt: skip
        accuracy = ("| test set | Q3 raw → calibrated | Q8 raw → calibrated |\n"
                    f"| --- | --- | --- |\n{accuracy}\n\n")  # fmt: skip
    members = "\n".join(f"* `{m['name']}` (sha256 `{m['sha256'][:16]}…`): "
                        f"{(card.training.get('members') or {}).get(m['name'], '')}"
                        for m in card.members)  # fmt: skip
    steps = "\n".join(f"* {json.dumps(s)}" for s in selection["greedy_steps"])
    singles = "\n".join(f"* {name}: {json.dumps({k: v for k, v in s.items() if k != 'sha256'})}"
                        for name, s in selection["candidates"].items())  # fmt: skip
    speed = "\n".join(f"* {_speed(t)}" for t in throughputs) or "not measured"
    return f"""# {card.name} — ensemble of {len(card.members)} ({card.task})

{card.description}. Predictions average the members' probabilities in one streamed pass (the
input is read once), then apply the ensemble's own calibration
(`{card.calibration.get('method', 'none')}`, fitted on validation only). Use it with
`--model {card.name}` or `genorrn.load_model("{card.name}")`.

## Members
{members}

## Choosing the members (validation only; {selection['validation']})
Selection score: {selection['selection_score']}. Candidates:
{singles}

Greedy forward selection:
{steps}

## Test metrics (calibrated; raw → calibrated for ECE and Brier)
{accuracy}| test set | class | ECE | Brier | ranking |
| --- | --- | --- | --- | --- |
{chr(10).join(rows)}

Summary: {card.metrics_summary}

Throughput (2 CPU cores; the host's speed differs from run to run, so each measurement is
listed with its date and time):
{speed}

genorrn {card.genorrn_version}; streaming {json.dumps(card.streaming)}.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("card", type=Path)
    parser.add_argument("--throughput", type=Path, action="append", default=[],
                        help="a throughput result of this ensemble (repeatable: one per "
                        "measurement)")
    parser.add_argument("--selection", type=Path, help="ensemble_selection result (default: "
                        "benchmarks/results/ensemble_selection_TASK.json)")
    args = parser.parse_args()
    card = read_card(args.card)
    if not card.members:
        sys.exit(f"{args.card}: not an ensemble card")
    fingerprint = members_sha256(card.members)
    if (card.calibration or {}).get("weights_sha256") != fingerprint:
        sys.exit(f"{args.card}: calibrate it first (genorrn models calibrate {args.card})")
    measured = _load(RESULTS / f"calibration_{card.name}.json", fingerprint,
                     "python benchmarks/calibration.py --model CARD")  # fmt: skip
    recorded = measured.get("calibration_sha256")  # absent in results older than the check
    if recorded and recorded != calibration_sha256(card.calibration):
        sys.exit(f"{args.card}: calibrated again after benchmarks/calibration.py ran; run it again")
    tests = measured["test_sets"]
    selection_file = args.selection or RESULTS / f"ensemble_selection_{card.task}.json"
    selection = json.loads(selection_file.read_text())
    chosen = {selection["candidates"][c]["sha256"] for c in selection["chosen"]}
    if chosen != {m["sha256"] for m in card.members}:
        sys.exit(f"{args.card}: its members are not the ones ensemble_selection chose")
    throughputs = [_load(path, fingerprint, "throughput") for path in args.throughput]
    card.metrics, card.metrics_summary = _metrics(card.task, tests)
    folder = args.card.parent
    card.training = {
        "members": {m["name"]: model_card(folder / m["file"]).training.get("command", "")
                    for m in card.members},
        "selection": {k: selection[k] for k in ("validation", "selection_score",
                                                "greedy_steps", "chosen")},
    }  # fmt: skip
    card.genorrn_version = __version__
    card.input = dict(model_card(folder / card.members[0]["file"]).input)  # the policy as now
    if throughputs:
        card.extra["throughput"] = [
            {k: v for k, v in t.items() if k != "machine"} | {"machine": t["machine"]}
            for t in throughputs]
    write_card(card, args.card)
    md = args.card.with_name(args.card.name.removesuffix(".card.json") + ".md")
    md.write_text(markdown(card, selection, tests, throughputs))
    print(json.dumps({"card": str(args.card), "metrics_summary": card.metrics_summary},
                     indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
