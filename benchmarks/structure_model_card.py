"""Ship a trained structure model: copy it to models/NAME.keras and write its model card.

    python benchmarks/structure_model_card.py RUN_DIR [--name structure-q8-v1]
        [--accuracy benchmarks/results/structure_accuracy.json]
        [--throughput benchmarks/results/structure_throughput.json]

RUN_DIR is the output folder of ``genorrn train structure`` (model.keras, state.json,
train_config.json, homology.json). Writes models/NAME.keras, models/NAME.card.json
(machine-readable: task, data + sha256, splits, homology filtering, alphabet policy,
architecture, training command and hardware, metrics, genorrn version, sha256 of the weights)
and models/NAME.md (the same for people).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REPO, machine  # noqa: E402
from genorrn import __version__  # noqa: E402
from genorrn.alphabets import PROTEIN_ALPHABET, PROTEIN_POLICY, SS3_CLASSES, SS8_CLASSES  # noqa: E402
from genorrn.cards import SCHEMA, ModelCard, write_card  # noqa: E402
from genorrn.pretrained import sha256  # noqa: E402
from genorrn.recipes import STRUCTURE  # noqa: E402

#: how each learning-rate schedule of genorrn.training ran, for the card
SCHEDULE_TEXT = {
    "plateau": "learning rate halved after an epoch without gain; early stop after "
               "{patience} epochs without gain",
    "cosine": "cosine learning rate from {learning_rate} to 0 over {epochs} epochs",
    "constant": "constant learning rate {learning_rate}",
}


def _distillation(teacher: dict | None) -> str:
    if not teacher:
        return ""
    return (f"; knowledge distillation: (1 - {teacher['weight']}) x that + {teacher['weight']} "
            f"x the cross-entropy to the raw Q8 probabilities of the teacher {teacher['model']} "
            f"(sha256 {teacher['sha256'][:16]}…) on every residue inside a chain")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--name", default="structure-q8-v1")
    parser.add_argument("--accuracy", type=Path,
                        default=REPO / "benchmarks/results/structure_accuracy.json")
    parser.add_argument("--throughput", type=Path,
                        default=REPO / "benchmarks/results/structure_throughput.json")
    parser.add_argument("--hardware", default="CPU only (AMD EPYC, 2 cores, no GPU), run at "
                        "nice 10 while a splice training job used the same 2 cores throughout")
    args = parser.parse_args()
    run = args.run_dir
    cfg = json.loads((run / "train_config.json").read_text())
    state = json.loads((run / "state.json").read_text())
    data = cfg["data"]
    models = REPO / "models"
    weights = models / f"{args.name}.keras"
    shutil.copyfile(run / "model.keras", weights)
    accuracy = json.loads(args.accuracy.read_text()) if args.accuracy.exists() else None
    throughput = json.loads(args.throughput.read_text()) if args.throughput.exists() else None
    metrics = accuracy["summary"] if accuracy else {}
    m = cfg["model"]
    card = {
        "schema": SCHEMA,  # this layout (an older one would be migrated)
        "name": args.name,
        "task": "structure",
        "description": "protein secondary structure, Q8 (DSSP) with Q3 derived, single "
                       "sequence (one-hot, no alignments)",
        "alphabet": "protein",
        "input": {"channels": list(PROTEIN_ALPHABET), "policy": PROTEIN_POLICY},
        "classes": list(SS8_CLASSES),
        "architecture": {
            "factory": "genorrn.models.build_labeller",
            "config": m,
            "summary": f"{m['conv_layers']}x Conv1D {m['conv_filters']}x{m['conv_kernel']} "
                       f"(ReLU) -> BiLSTM {m['lstm_units']} (dropout {m['dropout']} before each "
                       "LSTM in training) -> Dense softmax over 8 DSSP states (float32)",
            "parameters": None,
        },
        "streaming": dict(STRUCTURE.streaming),
        "training": {
            "command": cfg.get("command"),
            "hardware": args.hardware,
            "machine": machine(),
            "wall_time_s": state.get("train_seconds"),
            "epochs_run": state["epoch"],
            "best_epoch": state["best_epoch"],
            "selection": "best NetSurfP-2.0 validation Q3 (never a test set); "
                         + SCHEDULE_TEXT[cfg.get("lr_schedule", "plateau")].format(**cfg),
            "loss": "masked cross-entropy: Q8 labels (PISCES) -> -log p(q8); Q3-only labels "
                    "(NetSurfP-2.0) -> -log of the derived Q3 probability; unresolved residues "
                    "and padding masked" + _distillation(cfg.get("teacher")),
            **({"teacher": cfg["teacher"]} if cfg.get("teacher") else {}),
            "batching": "length-bucketed batches (padded to a multiple of 64), chains longer "
                        f"than {cfg.get('options', cfg)['max_len']} trained on a random window",
            "optimizer": f"Adam lr {cfg['learning_rate']} clipnorm 1.0, batch {cfg['batch_size']}",
            "seed": cfg["seed"],
            "history": state["history"],
        },
        "data": {
            "sha256": data["data_sha256"],
            "origin": {
                "netsurfp2": "FLIP secondary_structure split (AFL-3.0), Klausen et al. 2019",
                "pisces2018": "PISCES cullpdb_pc25_res2.0_R0.25_d180531 with RCSB DSSP labels "
                              "2018-06-06 (Kaggle / zyxue curation)",
                "cb513_ts115": "ps4-dataset (CC0), NetSurfP-2.0 / ProtTrans versions",
            },
            "training_pools": data["pools"],
            "train_chains": data["train_chains"],
            "train_residues": data["train_residues"],
            "validation": data["validation"],
            "validation_chains": data["validation_chains"],
            "test_sets": "CB513 (disorder==1 and cb513_mask==1), TS115 (disorder==1), "
                         "NetSurfP-2.0 test (resolved; random in-distribution sample)",
            "homology_filter": data["homology_filter"],
        },
        "metrics": metrics,
        "metrics_summary": " ".join(
            f"{k} Q3 {v['q3']:.3f}" + (f" Q8 {v['q8']:.3f}" if v.get("q8") is not None else "")
            for k, v in metrics.items()
        ),
        "extra": {
            "q3_classes": list(SS3_CLASSES),
            "q3_from_q8": "P(H)=P(H)+P(G)+P(I); P(E)=P(E)+P(B); P(C)=P(T)+P(S)+P(C)",
            "metrics_whole_protein": (accuracy or {}).get("whole_protein_reference"),
            "targets": {
                "cb513_q3": 0.74, "cb513_q8": 0.60, "throughput_proteins_per_s": 200,
                "met": bool(metrics) and metrics["cb513"]["q3"] >= 0.74
                       and metrics["cb513"]["q8"] >= 0.60,
            },
            "throughput": None if throughput is None else {
                k: throughput.get(k) for k in ("proteins", "seconds", "proteins_per_s",
                                               "residues_per_s", "cores_used_on_average",
                                               "other_jobs_running", "date")
            } | {"machine": throughput["machine"]["cpu"], "cores": throughput["machine"]["cores"]},
        },  # fmt: skip
        "genorrn_version": __version__,
        "weights": {"file": weights.name, "sha256": sha256(weights)},
        "licence": "weights: MIT (genorrn); training data licences as listed under data.origin",
    }
    import keras

    card["architecture"]["parameters"] = int(keras.saving.load_model(weights, compile=False)
                                             .count_params())  # fmt: skip
    card = ModelCard.from_dict(card)  # the schema of genorrn/cards.py
    write_card(card, models / f"{args.name}.card.json")
    accuracy_file = args.accuracy.resolve().relative_to(REPO) if args.accuracy.exists() else None
    (models / f"{args.name}.md").write_text(markdown(card.to_dict(), accuracy_file))
    print(json.dumps({"name": card.name, "sha256": card.weights["sha256"],
                      "metrics_summary": card.metrics_summary}, indent=2))


def markdown(card: dict, accuracy_file: Path | None = None) -> str:
    card = card | card["extra"] | {"sha256": card["weights"]["sha256"]}  # flat view for the text
    h = card["data"]["homology_filter"]
    t = card["training"]
    rows = "\n".join(
        f"| {name} | {v['chains']} | {v['scored_residues']} | {v['q3']:.3f} | "
        + (f"{v['q8']:.3f}" if v.get("q8") is not None else "–") + " |"
        for name, v in card["metrics"].items()
    )
    removed = "\n".join(
        f"| {pool} | {c['chains']} | {c['removed']} | {c['removed_kmer']} | "
        f"{c['removed_mmseqs']} | {c['kept']} |"
        for pool, c in h["removed_per_pool"].items()
    )
    sums = "\n".join(f"| `{k}` | `{v}` |" for k, v in card["data"]["sha256"].items())
    tp = card.get("throughput")
    tp_line = (f"{tp['proteins_per_s']} proteins/s ({tp['proteins']} A. thaliana chr1 proteins in "
               f"{tp['seconds']} s, CSV output, file IO included) on a {tp['cores']}-core CPU "
               f"({tp['machine']})"
               + (f" shared with a training job: the command got {tp['cores_used_on_average']} "
                  "cores on average, so this is not the idle 2-core figure the target (200/s) "
                  "asks for" if tp.get("other_jobs_running") else "")
               if tp else "see benchmarks/results/structure_throughput.json")  # fmt: skip
    whole = card.get("metrics_whole_protein") or {}
    whole_line = ", ".join(
        f"{k} Q3 {v['q3']:.4f}" + (f" Q8 {v['q8']:.4f}" if v.get("q8") is not None else "")
        for k, v in whole.items()
    )
    target = card["targets"]
    target_line = (
        "The issue's targets (CB513 Q3 ≥ 0.74, Q8 ≥ 0.60) are **met**." if target["met"] else
        "The issue's targets (CB513 Q3 ≥ 0.74, Q8 ≥ 0.60) are **not met** by this model: a "
        f"single-sequence (one-hot) BiLSTM trained on CPU in {t['wall_time_s'] / 3600:.1f} h on "
        f"{card['data']['train_chains']:,} chains; "
        "semi-supervised training on many unlabelled sequences (as S4PRED does) or a larger "
        "model trained on a GPU are the known ways up."
    )
    overlap = ", ".join(f"{k} {v}" for k, v in h["removed_for_validation_overlap"].items())
    dups = ", ".join(f"{k} {v}" for k, v in h["exact_duplicates_dropped"].items())
    return f"""# {card['name']} — protein secondary structure (Q8, Q3 derived)

{card['description']}. Load it with `genorrn.load_model("{card['name']}")` or use it through
`genorrn predict structure INPUT.fa -o OUT --model {card['name']} --format csv|ss2|horiz`.

## Metrics (scored residues as in the data README; predictions through the streaming engine)

| test set | chains | scored residues | Q3 | Q8 |
| --- | ---: | ---: | ---: | ---: |
{rows}

NetSurfP-2.0 "test" is a random 5% sample of the NetSurfP pool, not homology-reduced: it is an
in-distribution figure only. CB513 and TS115 are the real tests; they were never used for
training or model selection. {target_line}

The same model on whole proteins (one chunk longer than any chain) scores {whole_line or "n/a"}:
streaming costs at most 0.002. SOV'99 (Q3, mean per chain) and per-class precision/recall and
confusion matrices are in `{accuracy_file}`.

Throughput: {tp_line}.

## Model

* Input: one-hot over `{''.join(card['input']['channels'])}` (21 channels). Policy: {card['input']['policy']}.
* Architecture: {card['architecture']['summary']}; {card['architecture']['parameters']:,} parameters.
* Output: 8 DSSP states `{''.join(card['classes'])}`; **Q3 is derived from Q8** by summing
  probabilities (H,G,I → H; E,B → E; T,S,C → C) — one head, so Q3 and Q8 agree.
* Streaming (prediction): chunk {card['streaming']['chunk_size']}, flank {card['streaming']['flank']},
  batch {card['streaming']['batch_size']} proteins; a protein is one lane (forward states exact
  from residue 1; proteins up to the chunk length are predicted exactly as a whole-sequence call).

## Data

Training pools: {', '.join(card['data']['training_pools'])} ({card['data']['train_chains']} chains,
{card['data']['train_residues']:,} residues after filtering and exact-duplicate removal; PISCES
kept first because it has Q8 labels, NetSurfP-2.0 chains contribute Q3-only loss).
Validation (model selection): {card['data']['validation']} ({card['data']['validation_chains']} chains).

### Homology filter (evaluation sets: {', '.join(f"{k} {v}" for k, v in h['evaluation_sets'].items())})

A training or validation chain is removed when it shares a 30-residue substring with any
evaluation chain, or when {h['tool']} (`-s {h['params'].get('sensitivity')}`) aligns it to one
with E ≤ {h['params'].get('evalue')} or ≥ {int(100 * h['params'].get('min_identity', 0))}% identity over ≥
{h['params'].get('min_aligned')} aligned residues (hits reported up to E = {h['params'].get('search_evalue')}).

| pool | chains | removed | by shared 30-mer | by MMseqs2 | kept |
| --- | ---: | ---: | ---: | ---: | ---: |
{removed}

Also removed from training: chains sharing a 30-mer with a validation chain (so that model
selection is honest: {overlap}), and exact duplicate sequences across pools ({dups}; the
PISCES copy, which has Q8 labels, is kept). For scale: against CB513 alone the search finds
1,126 homologous PISCES chains, the "~1,100" of the data README; reporting hits up to E = 10
instead would let chance 25 %-identity alignments remove about half of every pool.

### Checksums (sha256 of the data files)

| file | sha256 |
| --- | --- |
{sums}

## Training

* Command: `{t['command']}`
* Hardware: {t['hardware']}; wall time {t['wall_time_s']} s; {t['epochs_run']} epochs, best epoch {t['best_epoch']}.
* {t['optimizer']}; {t['batching']}; seed {t['seed']}.
* Loss: {t['loss']}.
* Selection: {t['selection']}.

genorrn {card['genorrn_version']}; weights sha256 `{card['sha256']}`.
"""


if __name__ == "__main__":
    main()
