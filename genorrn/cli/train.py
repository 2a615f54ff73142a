"""``genorrn train …``: train models from prepared shards."""

from __future__ import annotations

import json
import sys

from genorrn.cli.common import (
    add_init_options,
    architecture_given,
    dropout_rate,
    int_list,
    starting_model,
)


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "splice",
        help="train a splice-site BiLSTM from 'genorrn data splice' shards",
        description="Train on DIR/train.npz of every shard folder, select the model on "
        "DIR/validation.npz (mean PR-AUC of acceptor and donor), stop early, and write "
        "OUT/model.keras (best, float32), OUT/last.keras (for --resume) and OUT/state.json. "
        "Test shards are never read.",
    )
    p.add_argument("shards", nargs="+", help="shard folder(s) written by 'genorrn data splice'")
    p.add_argument("-o", "--outdir", required=True, help="output folder")
    p.add_argument("--units", type=int_list,
                   help="LSTM units per BiLSTM layer, comma-separated (64,64)")
    p.add_argument("--conv-filters", type=int, help="conv front-end filters, 0 = none (48)")
    p.add_argument("--conv-kernel", type=int, help="conv kernel width, odd (11)")
    p.add_argument("--conv-layers", type=int, help="conv front-end layers (2)")
    p.add_argument("--dropout", type=dropout_rate,
                   help="dropout before each LSTM layer, training only (0); with --init-from "
                   "it needs --widen like the other architecture options")
    p.add_argument("--epochs", type=int, default=12, help="maximum epochs (12)")
    p.add_argument("--batch-size", type=int, default=128, help="windows per batch (128)")
    p.add_argument("--learning-rate", type=float, default=4e-3, help="Adam learning rate (4e-3)")
    p.add_argument("--lr-schedule", choices=["constant", "cosine"], default="constant",
                   help="learning rate per epoch: constant, or cosine decay from --learning-rate "
                   "to 0 at --epochs (constant)")
    p.add_argument("--site-weight", type=float, default=10.0,
                   help="loss weight of acceptor/donor positions vs 'neither' (10)")
    p.add_argument("--patience", type=int, default=3, help="early-stopping patience in epochs (3)")
    p.add_argument("--steps-per-epoch", type=int, help="batches per epoch (default: one pass)")
    p.add_argument("--max-windows", type=int,
                   help="use only the first N training windows (quick runs, tests)")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument("--mixed-precision", action="store_true",
                   help="mixed_float16 on GPU (ignored with a warning on CPU, where it is slower)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.keras")
    p.add_argument("--keep-checkpoints", action="store_true",
                   help="also save every epoch's model as OUT/epoch_NNN.keras (for 'genorrn "
                   "models average')")
    add_init_options(p, "splice")
    p.set_defaults(func=train_splice)


#: architecture of a new model (the workflow's and v1's)
ARCHITECTURE_DEFAULTS = {"lstm_units": [64, 64], "conv_filters": 48, "conv_kernel": 11, "conv_layers": 2}


def train_splice(args) -> int:
    from dataclasses import replace
    from pathlib import Path

    from genorrn.alphabets import SPLICE_CLASSES
    from genorrn.data.splice import load_shards
    from genorrn.io.outputs import check_output_path
    from genorrn.models import LabellerConfig, config_of
    from genorrn.training import TrainConfig, train

    outdir = Path(args.outdir)
    check_output_path(outdir / "state.json") if outdir.exists() else check_output_path(outdir)
    given = architecture_given(args)
    init, extra = None, {}
    if args.init_from or args.widen:  # option errors before any data is read
        init, extra = starting_model(args, given, "splice")
    train_arrays = load_shards([Path(d) / "train.npz" for d in args.shards])
    if args.max_windows:
        train_arrays = {k: v[: args.max_windows] for k, v in train_arrays.items()}
    validation = load_shards([Path(d) / "validation.npz" for d in args.shards])
    for name, arrays in (("train", train_arrays), ("validation", validation)):
        if not len(arrays["seq"]):
            from genorrn.errors import InputError

            raise InputError(f"{', '.join(args.shards)}: the {name} shards hold no windows")
    cfg = TrainConfig(
        model=LabellerConfig(alphabet_size=4, num_classes=3, **ARCHITECTURE_DEFAULTS),
        epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
        site_weight=args.site_weight, patience=args.patience,
        steps_per_epoch=args.steps_per_epoch, seed=args.seed,
        mixed_precision=args.mixed_precision, lr_schedule=args.lr_schedule,
        keep_checkpoints=args.keep_checkpoints,
    )  # fmt: skip
    cfg.model = config_of(init) if init is not None else replace(cfg.model, **given)
    classes = {1: SPLICE_CLASSES[1], 2: SPLICE_CLASSES[2]}

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    state = train(train_arrays, validation, outdir, cfg, classes, "genorrn_splice",
                  resume=args.resume, log=log, init_weights=init, extra=extra)  # fmt: skip
    print(json.dumps({k: state[k] for k in ("epoch", "best", "best_epoch")}))
    return 0


COMMANDS = {"train": add_parsers}
