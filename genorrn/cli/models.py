"""``genorrn models …``: list and inspect pretrained models."""

from __future__ import annotations

import json


def add_parsers(sub) -> None:
    p = sub.add_parser("list", help="list the pretrained models this installation ships")
    p.set_defaults(func=list_models)
    p = sub.add_parser("show", help="print a model's card (JSON)")
    p.add_argument("name", help="model name (see 'genorrn models list') or path to a .keras file")
    p.set_defaults(func=show_model)


def list_models(args) -> int:
    from genorrn.pretrained import available_models

    models = available_models()
    if not models:
        print("no pretrained models installed")
    for name, card in models.items():
        metrics = card.get("metrics_summary", "")
        print(f"{name}\t{card.get('task', '?')}\t{card.get('description', '')}\t{metrics}")
    return 0


def show_model(args) -> int:
    from genorrn.pretrained import read_card

    print(json.dumps(read_card(args.name), indent=2))
    return 0


COMMANDS = {"models": add_parsers}
