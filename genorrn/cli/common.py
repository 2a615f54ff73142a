"""Options and helpers shared by the command modules (the only module they import from).

Defaults shown and used here come from :mod:`genorrn.recipes` (one recipe per task)."""

from __future__ import annotations

import re
import sys

from genorrn.progress import Progress  # noqa: F401  (for the commands: bar or log lines)
from genorrn.recipes import SCHEDULES, recipe

UNITS = {"splice": "positions", "structure": "residues"}


def log_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def name_list(text: str) -> list[str]:
    """argparse type for ``a,b``."""
    return [x.strip() for x in text.split(",") if x.strip()]


def int_range(low: int, high: int | None = None):
    """argparse type for an integer in ``[low, high]`` (no upper bound for ``None``), so that
    a bad number is refused when the command line is parsed."""
    import argparse

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f">= {low}"
            raise argparse.ArgumentTypeError(f"{value}: must be {bound}")
        return value

    return parse


#: argparse types: an integer >= 1 / >= 0 (chunk sizes, counts / flanks, offsets, seeds)
positive_int = int_range(1)
non_negative_int = int_range(0)


def positive_int_list(text: str) -> list[int]:
    """argparse type for ``64,64``: one or more integers >= 1."""
    import argparse

    values = [positive_int(x) for x in text.split(",") if x.strip()]
    if not values:
        raise argparse.ArgumentTypeError(f"{text!r}: expected integers >= 1, e.g. 64,64")
    return values


def _finite(text: str) -> float:
    import argparse
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text}: must be a finite number")
    return value


def probability(text: str) -> float:
    """argparse type for a probability in [0, 1] (thresholds)."""
    import argparse

    value = _finite(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text}: must be between 0 and 1")
    return value


def positive_float(text: str) -> float:
    """argparse type for a finite number > 0 (learning rates, loss weights)."""
    import argparse

    value = _finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text}: must be > 0")
    return value


def dropout_rate(text: str) -> float:
    """argparse type for a dropout rate in [0, 1)."""
    import argparse

    rate = float(text)
    if not 0.0 <= rate < 1.0:
        raise argparse.ArgumentTypeError(f"{text}: a dropout rate is in [0, 1)")
    return rate


def parse_shard(text: str) -> tuple[int, int]:
    """``K/N`` (the K-th of N shards, 1 <= K <= N) → ``(K, N)``; a one-line error otherwise."""
    from genorrn.errors import InputError

    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise InputError(f"--shard {text!r}: expected K/N with 1 <= K <= N (e.g. 2/8)")
    return int(match[1]), int(match[2])


def shard_bounds(sizes: list[int], k: int, n: int) -> tuple[int, int]:
    """``[start, end)`` of the K-th of N contiguous blocks of items (in order) holding nearly
    equal shares of ``sum(sizes)`` (e.g. residues): an item belongs to the block in which it
    starts. Blocks 1..N tile ``range(len(sizes))``; some are empty when items are few or large."""
    from bisect import bisect_left
    from itertools import accumulate

    total = sum(sizes)
    scaled = [n * offset for offset in accumulate(sizes[:-1], initial=0)] if sizes else []

    def bound(j: int) -> int:  # items starting before j/N of the total
        return len(sizes) if j == n else bisect_left(scaled, j * total)

    return bound(k - 1), bound(k)


def add_model_option(parser, task: str) -> None:
    """``--model``, defaulting to the task's shipped model."""
    default = recipe(task).default_model
    parser.add_argument("--model", default=default, metavar="NAME|PATH",
                        help=f"{task} model name, .keras path or ensemble card (NAME.card.json) "
                        f"(default: the shipped {default})")


def add_streaming_options(parser, task: str) -> None:
    """``--chunk-size``, ``--flank``, ``--batch-size``, ``--max-memory``: the streaming engine's
    knobs (None: the model card's, else the task recipe's, and the default memory budget;
    resolved by ``LoadedModel.predictor``)."""
    from genorrn.memory import SAFE_SHARE

    d, unit = recipe(task).streaming, UNITS[task]
    parser.add_argument("--chunk-size", type=int_range(1), default=None, metavar="N",
                        help=f"{unit} per chunk (default: the model card's, else "
                        f"{d['chunk_size']})")
    parser.add_argument("--flank", type=int_range(0), default=None, metavar="N",
                        help=f"lookahead {unit} for the backward LSTMs (default: the model "
                        f"card's, else {d['flank']})")
    parser.add_argument("--batch-size", type=int_range(1), default=None, metavar="N",
                        help=f"most chunks (lanes) per call (default: the model card's, else "
                        f"{d['batch_size']}); fewer when there are fewer lanes or "
                        "--max-memory holds fewer")
    parser.add_argument("--max-memory", type=memory_size, default=None, metavar="SIZE",
                        help="memory budget of the streaming engine, e.g. 2G or 1500M (default: "
                        f"{round(100 * SAFE_SHARE)}%% of the memory available to the process, "
                        "cgroup limits included); the batch shrinks to fit, and a chunk + flank "
                        "that cannot fit at batch 1 is refused")
    if recipe(task).min_gap:
        add_gap_option(parser)
    add_calibration_option(parser)


def add_gap_option(parser) -> None:
    """``--min-gap``: the shortest run of N that is an assembly gap (a sequence boundary)."""
    from genorrn.alphabets import ASSEMBLY_GAP_MIN

    parser.add_argument("--min-gap", type=int_range(0), default=None, metavar="N",
                        help="runs of at least N 'N' are assembly gaps: each side is predicted "
                        "as a sequence of its own and the gap scores as 'neither' (default: "
                        f"{ASSEMBLY_GAP_MIN:,}; e.g. 100 where an assembly writes gaps of "
                        "unknown size as 100 N; 0: read every N through)")


def memory_size(text: str) -> int:
    """argparse type for a memory size (``2G``, ``1500M``, bytes): bytes."""
    import argparse

    from genorrn.memory import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_calibration_option(parser) -> None:
    parser.add_argument("--uncalibrated", action="store_true",
                        help="raw model probabilities (default: calibrated with the model "
                        "card's calibration — temperatures or isotonic maps — when it has one)")


def predictor_of(model, args):
    """The streaming predictor a command asked for (``--chunk-size``, ``--flank``,
    ``--batch-size``, ``--max-memory``, ``--min-gap``, ``--uncalibrated``)."""
    return model.predictor(args.chunk_size, args.flank, args.batch_size,
                           calibrated=not args.uncalibrated,
                           max_memory=getattr(args, "max_memory", None),
                           min_gap=getattr(args, "min_gap", None))  # fmt: skip


def add_chr_prefix_option(parser) -> None:
    parser.add_argument(
        "--chr-prefix",
        choices=["add", "strip"],
        help="add or strip a 'chr' prefix on the annotation's chromosome names to match the FASTA",
    )


def add_training_options(parser, task: str) -> None:
    """Architecture, optimisation, resume and ``--init-from`` options of ``genorrn train TASK``
    (defaults: the task recipe's). Architecture options default to None, so that
    ``--init-from`` can tell 'not given' from 'given the default'."""
    r = recipe(task)
    a, t = r.architecture, r.training
    units = ",".join(str(u) for u in a["lstm_units"])
    parser.add_argument("--units", type=positive_int_list,
                        help=f"LSTM units per BiLSTM layer, comma-separated ({units})")
    parser.add_argument("--conv-filters", type=int_range(0),
                        help=f"conv front-end filters, 0 = none ({a['conv_filters']})")
    parser.add_argument("--conv-kernel", type=int_range(1),
                        help=f"conv kernel width, odd ({a['conv_kernel']})")
    parser.add_argument("--conv-layers", type=int_range(1),
                        help=f"conv front-end layers ({a['conv_layers']})")
    parser.add_argument("--dropout", type=dropout_rate,
                        help=f"dropout before each LSTM layer, training only ({a['dropout']:g}); "
                        "with --init-from it needs --widen like the other architecture options")
    parser.add_argument("--epochs", type=int_range(1), default=t["epochs"],
                        help=f"maximum epochs ({t['epochs']})")
    parser.add_argument("--batch-size", type=int_range(1), default=t["batch_size"],
                        help=f"{'windows' if task == 'splice' else 'chains'} per batch "
                        f"({t['batch_size']})")
    parser.add_argument("--learning-rate", type=positive_float, default=t["learning_rate"],
                        help=f"Adam learning rate ({t['learning_rate']:g})")
    parser.add_argument("--lr-schedule", choices=SCHEDULES, default=t["lr_schedule"],
                        help="learning rate per epoch: constant, cosine decay from "
                        "--learning-rate to 0 at --epochs, or plateau (halve after an epoch "
                        f"without validation gain) ({t['lr_schedule']})")
    parser.add_argument("--patience", type=int_range(1), default=t["patience"],
                        help=f"early-stopping patience in epochs ({t['patience']})")
    parser.add_argument("--steps-per-epoch", type=int_range(1),
                        help="batches per epoch (default: one pass)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="random seed (0)")
    parser.add_argument("--mixed-precision", action="store_true",
                        help="mixed_float16 on GPU (ignored with a warning on CPU, where it is "
                        "slower)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in OUT (OUT/last.keras: weights and optimizer "
                        "state; OUT/state.json: epoch, best score, history); a different "
                        "architecture or other data is refused; the learning rate follows the "
                        "options given now (see README: Resume rule)")
    parser.add_argument("--keep-checkpoints", action="store_true",
                        help="also save every epoch's model as OUT/epoch_NNN.keras (for 'genorrn "
                        "models average')")
    add_init_options(parser, task)


def train_config(args, task: str):
    """``(TrainConfig, --init-from model or None, facts about it)`` from the parsed options."""
    from dataclasses import replace

    from genorrn.models import config_of
    from genorrn.training import TrainConfig

    given = architecture_given(args)
    init, started_from = None, {}
    if args.init_from or args.widen:  # option errors before any data is read
        init, started_from = starting_model(args, given, task)
    task_options = {k: getattr(args, k) for k in recipe(task).training if hasattr(args, k)}
    cfg = TrainConfig.for_task(
        task, **task_options, steps_per_epoch=args.steps_per_epoch, seed=args.seed,
        mixed_precision=args.mixed_precision, keep_checkpoints=args.keep_checkpoints,
    )  # fmt: skip
    cfg.model = config_of(init) if init is not None else replace(cfg.model, **given)
    return cfg, init, started_from


def command_line() -> str:
    """The command being run, for train_config.json and model cards."""
    return "genorrn " + " ".join(sys.argv[1:]) if sys.argv and sys.argv[0] else ""


#: architecture options of the trainers → the LabellerConfig fields they set
ARCHITECTURE_OPTIONS = {"units": "lstm_units", "conv_filters": "conv_filters",
                        "conv_kernel": "conv_kernel", "conv_layers": "conv_layers",
                        "dropout": "dropout"}  # fmt: skip


def architecture_given(args) -> dict:
    """The LabellerConfig fields set on the command line (architecture options default None,
    so that ``--init-from`` can tell 'not given' from 'given the default')."""
    return {field: getattr(args, option) for option, field in ARCHITECTURE_OPTIONS.items()
            if getattr(args, option) is not None}  # fmt: skip


def add_init_options(parser, task: str) -> None:
    """``--init-from`` and ``--widen``: start training from an existing model of ``task``."""
    parser.add_argument("--init-from", metavar="NAME|PATH",
                        help=f"start from the weights of an existing {task} model (fine-tuning, "
                        "or continuing a shipped model's training); its architecture is used")
    parser.add_argument("--widen", action="store_true",
                        help="with --init-from: grow the starting model to the architecture "
                        "given by the architecture options (more units, filters or conv "
                        "layers), computing the same function at first (new units start with "
                        "zero outgoing weights, extra conv layers as identities)")


def starting_model(args, given: dict, task: str):
    """The ``--init-from`` model of ``task`` (grown to the ``given`` architecture fields with
    ``--widen``) and what ``train_config.json`` records about it."""
    from dataclasses import replace

    from genorrn.errors import InputError
    from genorrn.models import config_of
    from genorrn.pretrained import load_model, sha256

    if args.widen and not args.init_from:
        raise InputError("--widen needs --init-from (the model to grow)")
    loaded = load_model(args.init_from, task=task)
    if loaded.is_ensemble:
        raise InputError(f"{args.init_from}: is an ensemble; start from one of its members")
    init = loaded.keras
    if given and not args.widen:
        raise InputError(f"{args.init_from}: architecture options with --init-from need --widen "
                         "(without it the starting model's architecture is used)")  # fmt: skip
    if args.widen:
        if not given:
            raise InputError("--widen needs at least one of the architecture options "
                             "(--units, --conv-filters, --conv-layers, …)")
        from genorrn.models.widen import widen_labeller

        try:
            init = widen_labeller(init, replace(config_of(init), **given), seed=args.seed)
        except ValueError as exc:
            raise InputError(f"{args.init_from}: {exc}") from None
    return init, {"init_from": {"model": str(args.init_from), "sha256": sha256(loaded.path),
                                "widened": bool(args.widen), "widen_seed": args.seed}}  # fmt: skip


def add_zoom_option(parser) -> None:
    """``--zoom-levels``: bigWig zoom summaries (off by default: they cost memory)."""
    parser.add_argument("--zoom-levels", type=int, choices=range(11), default=0, metavar="N",
                        help="bigWig zoom levels, 0-10 (0: none, memory stays flat; 10 as UCSC's "
                        "bedGraphToBigWig writes, for fast whole-chromosome browser views at the "
                        "cost of memory that grows with the genome)")
