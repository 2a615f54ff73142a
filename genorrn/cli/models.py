"""``genorrn models …``: list, inspect and average models."""

from __future__ import annotations

import json


def add_parsers(sub) -> None:
    p = sub.add_parser("list", help="list the pretrained models this installation ships")
    p.set_defaults(func=list_models)
    p = sub.add_parser("show", help="print a model's card (JSON)")
    p.add_argument("name", help="model name (see 'genorrn models list') or path to a .keras file")
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


def list_models(args) -> int:
    from genorrn.pretrained import available_models

    models = available_models()
    if not models:
        print("no pretrained models installed")
    for name, card in models.items():
        print(f"{name}\t{card.task or '?'}\t{card.description}\t{card.metrics_summary}")
    return 0


def show_model(args) -> int:
    from genorrn.pretrained import model_card

    print(json.dumps(model_card(args.name).to_dict(), indent=2))
    return 0


COMMANDS = {"models": add_parsers}
