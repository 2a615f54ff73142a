"""The ``genorrn`` command line: thin argument parsing over the library.

One module per verb (``predict``, ``train``, ``evaluate``, ``plot``, ``data``, ``models``), each
registering its subcommands for every task; they import nothing from each other, only
:mod:`genorrn.cli.common`; handlers import heavy libraries (TensorFlow) lazily so that
``genorrn --help`` stays fast. User errors print one line and exit non-zero; ``--debug``
shows the traceback.
"""

from __future__ import annotations

import argparse
import sys

from genorrn import __version__, _quiet_tensorflow  # noqa: E402
from genorrn.errors import GenorrnError  # noqa: E402

GROUPS = {
    "predict": "label sequences with a trained model",
    "train": "train a model",
    "evaluate": "score a model against annotated data",
    "models": "list and inspect pretrained models",
    "data": "build datasets and labels from genomes and annotations",
    "plot": "draw predictions of a region",
}


#: Modules that add subcommands: each has ``COMMANDS = {group: add_parser_function}``.
COMMAND_MODULES = ["data", "models", "train", "evaluate", "predict", "plot"]


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="genorrn",
        description="Per-position sequence labelling of DNA and proteins with BiLSTMs "
        "(splice sites, protein secondary structure).",
    )
    parser.add_argument("--version", action="version", version=f"genorrn {__version__}")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    groups = parser.add_subparsers(dest="group", metavar="COMMAND")
    subs = {}
    for name, help_text in GROUPS.items():
        group = groups.add_parser(name, help=help_text, description=help_text)
        subs[name] = group.add_subparsers(dest="command", metavar="SUBCOMMAND")
        group.set_defaults(func=lambda args, group=group: group.print_help() or 2)
    for module_name in COMMAND_MODULES:
        module = importlib.import_module(f"genorrn.cli.{module_name}")
        for group_name, add_parser in module.COMMANDS.items():
            add_parser(subs[group_name])
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.group is None:
        parser.print_help()
        return 2
    if (args.group in ("predict", "train", "evaluate", "plot") and args.command) or (
        args.group == "models" and args.command in ("average", "ensemble", "calibrate")
    ):
        _quiet_tensorflow()
    try:
        return int(args.func(args) or 0)
    except GenorrnError as exc:
        if args.debug:
            raise
        print(f"genorrn: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # output piped into `head` etc.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("genorrn: interrupted", file=sys.stderr)
        return 130


def run() -> None:  # console-script entry point
    sys.exit(main())
