"""``genorrn models …``: list, inspect, average, ensemble and calibrate models."""

from __future__ import annotations

import json

from genorrn.cli.common import add_chr_prefix_option, int_range
from genorrn.data.splice import SPLIT_PRESETS
from genorrn.recipes import SPLICE, STRUCTURE


def add_parsers(sub) -> None:
    p = sub.add_parser("list", help="list the pretrained models this installation ships")
    p.set_defaults(func=list_models)
    p = sub.add_parser("show", help="print a model's card (JSON)")
    p.add_argument("name", help="model name (see 'genorrn models list'), path to a .keras file "
                   "or to a .card.json (an ensemble's)")
    p.set_defaults(func=show_model)
    p = sub.add_parser(
        "average",
        help="average the weights of checkpoints of one architecture into a new model",
        description="Weight averaging (Polyak/SWA): OUT gets the mean of every weight over "
        "the given models (e.g. the last epochs' OUT/epoch_NNN.keras of 'genorrn train splice "
        "--keep-checkpoints'). Compare the result with the best single epoch on validation "
        "data (e.g. 'genorrn evaluate splice' on the validation region), never on test data.",
    )
    p.add_argument("models", nargs="+", metavar="MODEL", help="model names or .keras paths (>= 2)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.keras", help="averaged model")
    p.set_defaults(func=average_cmd)

    p = sub.add_parser(
        "ensemble",
        help="make an ensemble of models of one task (a card listing them; copies nothing)",
        description="Write NAME.card.json, an ensemble card: it lists the member models (name, "
        "file relative to the card's folder, sha256) and has no weights of its own. Predicting "
        "with it (--model NAME.card.json, or NAME when the card is in a models folder) averages "
        "the members' probabilities in one streamed pass, then applies the ensemble's own "
        "calibration ('genorrn models calibrate NAME.card.json'). Members must share the task, "
        "alphabet and classes and may differ in size; loading checks every member's sha256. "
        "Streaming defaults: the members' largest flank, smallest chunk and batch size.",
    )
    p.add_argument("models", nargs="+", metavar="MODEL", help="model names or .keras paths (>= 2)")
    p.add_argument("-o", "--output", required=True, metavar="NAME[.card.json]",
                   help="the ensemble's card (.card.json is added when missing); must not exist")
    p.add_argument("--description", default="", help="one line for the card (default: the "
                   "members' names)")
    p.set_defaults(func=ensemble_cmd)

    p = sub.add_parser(
        "calibrate",
        help="fit a per-class calibration on validation data and store it in the model card",
        description="Predict the validation data with the raw model and fit, per class, a "
        "temperature (softmax(log p / T), minimising the negative log-likelihood) or an "
        "isotonic map (--method); write it, with the validation NLL, ECE and Brier score before "
        "and after, into the model's card (beside the .keras file; an ensemble's own card; or "
        "-o). Predictions then use it by default (--uncalibrated: raw). "
        "Splice: gene bodies of the validation region (default: the one recorded in the "
        "model's card, data.splits, else the fixed split's "
        f"{', '.join(SPLIT_PRESETS[SPLICE.splits]['validation'])}) of --genome and "
        "--annotation; a region overlapping the card's test region is refused. Structure: the "
        "NetSurfP-2.0 validation set of --data-dir (Q3 labels: the likelihood of a residue is "
        "its Q3 group's summed Q8 probability). Never fit on a test set.",
    )
    p.add_argument("model", metavar="MODEL",
                   help="model name, .keras path or ensemble card (NAME.card.json)")
    p.add_argument("--genome", metavar="FASTA", help="splice: genome FASTA")
    p.add_argument("--annotation", metavar="GTF|GFF3", help="splice: annotation")
    p.add_argument("--region", action="append", metavar="CHROM:START-END",
                   help="splice: validation region (1-based, repeatable; default: the card's "
                   "recorded validation region, else the fixed split's)")
    add_chr_prefix_option(p)
    p.add_argument("--data-dir", default=STRUCTURE.data_dir,
                   help=f"structure: the shared structure data folder (default: {STRUCTURE.data_dir})")
    p.add_argument("--max-chains", type=int_range(1),
                   help="structure: only the first N validation chains (quick runs)")
    p.add_argument("--method", choices=["auto", "temperature", "isotonic"], default="auto",
                   help="per-class temperatures, per-class isotonic maps, or auto (the default): "
                   "2-fold on the validation data, isotonic only when its held-out ECE is at "
                   "least 20%% lower; structure (Q3 labels) always uses temperatures")
    p.add_argument("-o", "--output", metavar="CARD.json",
                   help="write the card here (default: the model's card, NAME.card.json beside it)")
    p.set_defaults(func=calibrate_cmd)


def average_cmd(args) -> int:
    from genorrn.checkpoints import save_model
    from genorrn.errors import InputError
    from genorrn.io.outputs import check_output_path
    from genorrn.models.average import average_models
    from genorrn.pretrained import load_model, sha256

    if not str(args.output).endswith(".keras"):
        raise InputError(f"{args.output}: the averaged model's file name must end in .keras")
    check_output_path(args.output)
    loaded = [load_model(m) for m in args.models]
    for m in loaded:
        if m.is_ensemble:
            raise InputError(f"{m.path}: is an ensemble (weights of different models cannot be "
                             "averaged; average checkpoints of one run)")  # fmt: skip
    tasks = {m.task for m in loaded}
    if len(tasks) > 1:
        raise InputError(f"{', '.join(args.models)}: models of different tasks ({sorted(tasks)})")
    try:
        averaged = average_models([m.keras for m in loaded])
    except ValueError as exc:
        raise InputError(f"{', '.join(args.models)}: {exc}") from None
    save_model(averaged, args.output)
    print(json.dumps({"output": str(args.output), "sha256": sha256(args.output),
                      "sources": [{"model": str(m.path), "sha256": sha256(m.path)}
                                  for m in loaded]}, indent=2))  # fmt: skip
    return 0


def ensemble_cmd(args) -> int:
    from pathlib import Path

    from genorrn.cards import SUFFIX, write_card
    from genorrn.ensembles import ensemble_card
    from genorrn.errors import InputError, OutputError
    from genorrn.io.outputs import check_output_path
    from genorrn.pretrained import load_model

    text = str(args.output)
    if text.endswith(".keras"):
        raise InputError(f"{text}: an ensemble is a card alone: give NAME or NAME{SUFFIX}")
    out = Path(text if text.endswith(SUFFIX) else text + SUFFIX)
    check_output_path(out)
    weights = out.with_name(out.name.removesuffix(SUFFIX) + ".keras")
    for existing in (out, weights):
        if existing.exists():
            raise OutputError(f"{existing}: exists; remove it or choose another name")
    if len(args.models) < 2:  # before loading anything (ensemble_card checks it too)
        raise InputError(f"{out}: an ensemble needs at least 2 members ({len(args.models)} given)")
    members = [load_model(m, calibration=False) for m in args.models]
    card = ensemble_card(members, out, args.description)
    write_card(card, out)
    print(json.dumps({"card": str(out), "task": card.task, "streaming": card.streaming,
                      "members": card.members}, indent=2))  # fmt: skip
    return 0


def calibrate_cmd(args) -> int:
    import numpy as np

    from genorrn.calibration import fit_record
    from genorrn.cards import ModelCard, write_card
    from genorrn.errors import InputError
    from genorrn.io.outputs import check_output_path
    from genorrn.pretrained import load_model, sha256
    from genorrn.recipes import recipe

    loaded = load_model(args.model, calibration=False)
    out = args.output or loaded.card_file
    check_output_path(out)
    raw = loaded.predictor(calibrated=False)
    classes = list(loaded.card.classes or recipe(loaded.task).classes)
    if loaded.task == "splice":
        from genorrn.io import load_genome_and_annotation
        from genorrn.predict import resolve_regions
        from genorrn.regions import parse_region
        from genorrn.splice import gene_body_scores

        if not (args.genome and args.annotation):
            raise InputError(f"{args.model}: a splice model is calibrated on a genome and its "
                             "annotation: give --genome and --annotation")  # fmt: skip
        validation, tests = recorded_splits(loaded)
        texts = args.region or validation or SPLIT_PRESETS[SPLICE.splits]["validation"]
        for text in texts:
            region = parse_region(text)
            for test in tests:
                if region.overlaps(parse_region(test)):
                    raise InputError(f"{args.model}: calibration region {text} overlaps the "
                                     f"model's test region {test} (its card's data.splits); "
                                     "calibrate on validation data only")  # fmt: skip
        genome, annotation = load_genome_and_annotation(args.genome, args.annotation,
                                                        args.chr_prefix)  # fmt: skip
        regions = resolve_regions(genome, [parse_region(r) for r in texts])
        labels, probs = gene_body_scores(raw, genome, annotation, regions)
        allowed = np.eye(len(classes))[labels]
        fitted_on = {"genome": {"path": str(args.genome), "sha256": sha256(args.genome)},
                     "annotation": {"path": str(args.annotation),
                                    "sha256": sha256(args.annotation)},
                     "regions": [str(r) for r in regions]}  # fmt: skip
        floor = 0.01
    else:
        from pathlib import Path

        from genorrn.data.structure import load_netsurfp
        from genorrn.structure import chain_scores

        chains = load_netsurfp(Path(args.data_dir) / "netsurfp2")["validation"]
        if args.max_chains:
            chains = chains.head(args.max_chains)
        allowed, probs = chain_scores(raw, chains.chains)
        fitted_on = {"set": "netsurfp2_validation", "chains": len(chains),
                     "data_dir": str(args.data_dir)}  # fmt: skip
        floor = 0.0
    try:
        record = fit_record(probs, allowed, classes, loaded.weights_sha256, fitted_on, floor,
                            method=args.method,
                            background=recipe(loaded.task).background)  # fmt: skip
    except ValueError as exc:
        raise InputError(f"{args.model}: --method {args.method}: {exc}") from None
    card = loaded.card if loaded.card.task else ModelCard(
        name=loaded.name, task=loaded.task, alphabet=recipe(loaded.task).alphabet,
        classes=classes, weights={"file": loaded.path.name, "sha256": loaded.weights_sha256})
    card.calibration = record
    write_card(card, out)
    print(json.dumps({"card": str(out)} | record, indent=2))
    return 0


def recorded_splits(loaded) -> tuple[list[str], list[str]]:
    """``(validation regions, test regions)`` recorded in a splice model's card
    (``data.splits``; an ensemble's: its members' cards — the validation regions only when
    every member recorded the same ones; the test regions of all of them)."""
    cards = [loaded.card]
    if loaded.is_ensemble:
        from genorrn.ensembles import member_cards

        cards = member_cards(loaded.card, loaded.card_file)
    recorded = []
    for card in cards:
        splits = (card.data or {}).get("splits") or []
        recorded.append({s["split"]: list(s.get("regions", [])) for s in splits
                         if isinstance(s, dict) and "split" in s})  # fmt: skip
    validations = {tuple(r.get("validation", [])) for r in recorded}
    validation = list(validations.pop()) if len(validations) == 1 else []
    tests = sorted({t for r in recorded for t in r.get("test", [])})
    return validation, tests


#: the columns of 'genorrn models list' (tab-separated, one model a line)
LIST_HEADER = ("name", "task", "default", "description", "test metrics")


def fixed_decimals(text: str, places: int = 3) -> str:
    """``text`` with every fraction written with a decimal point (``0.785``, ``0.8106``,
    ``1.0``) shown with ``places`` decimals, so the metrics of all models line up; other
    numbers (counts, percentages such as SOV 67.3) are left as they are."""
    import re

    return re.sub(r"(?<![\d.])(?:0\.\d+|1\.0+)(?![\d.])",
                  lambda m: f"{float(m.group()):.{places}f}", text)  # fmt: skip


def list_models(args) -> int:
    from genorrn.pretrained import available_models
    from genorrn.recipes import RECIPES

    models = available_models()
    if not models:
        print("no pretrained models installed")
        return 0
    defaults = {r.default_model: task for task, r in RECIPES.items()}
    print("\t".join(LIST_HEADER))
    for name, card in models.items():
        kind = f"ensemble of {len(card.members)}: " if card.members else ""
        default = "yes" if defaults.get(name) == card.task else "-"
        print(f"{name}\t{card.task or '?'}\t{default}\t{kind}{card.description}\t"
              f"{fixed_decimals(card.metrics_summary) or '-'}")  # fmt: skip
    return 0


def show_model(args) -> int:
    from genorrn.pretrained import model_card

    print(json.dumps(model_card(args.name).to_dict(), indent=2))
    return 0


COMMANDS = {"models": add_parsers}
