"""``genorrn train splice|structure``: train a labeller (one loop: :func:`genorrn.training.train`)."""

from __future__ import annotations

import json
from pathlib import Path

from genorrn.cli.common import (
    add_training_options,
    command_line,
    int_range,
    log_stderr,
    name_list,
    positive_float,
    probability,
    train_config,
)
from genorrn.data.structure_sets import METHODS, TRAINING_POOLS  # standard library only
from genorrn.recipes import SPLICE, STRUCTURE


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
    add_training_options(p, "splice")
    p.add_argument("--site-weight", type=positive_float, default=SPLICE.training["site_weight"],
                   help="loss weight of acceptor/donor positions vs 'neither' "
                   f"({SPLICE.training['site_weight']:g})")
    p.add_argument("--max-windows", type=int_range(1),
                   help="use only the first N training windows (quick runs, tests)")
    p.set_defaults(func=train_splice)

    p = sub.add_parser(
        "structure",
        help="train a Q8/Q3 protein secondary-structure BiLSTM",
        description="Train on PISCES-2018 (Q8) and/or NetSurfP-2.0 train (Q3 only: the loss "
        "is the cross-entropy of the Q3 derived from Q8) after removing every chain homologous "
        "to an evaluation set (CB513, TS115, NetSurfP-2.0 test: shared 30-mers, and MMseqs2 "
        "E <= 1e-2 or >= 25%% identity over >= 40 residues; cached), or with the result of "
        "'genorrn data homology-filter' (--homology-result). Select the model on NetSurfP-2.0 "
        "validation Q3 (never on a test set), stop early, write OUT/model.keras (best, "
        "float32), OUT/last.keras (latest epoch with optimizer state, for --resume), "
        "OUT/state.json, OUT/train_config.json and OUT/homology.json.",
    )
    p.add_argument("-o", "--outdir", required=True, help="output folder")
    p.add_argument("--data-dir", default=STRUCTURE.data_dir,
                   help=f"the shared structure data folder (default: {STRUCTURE.data_dir})")
    p.add_argument("--pools", type=name_list, default=list(TRAINING_POOLS),
                   help="training pools, comma-separated: pisces2018,netsurfp2 (both)")
    filters = p.add_mutually_exclusive_group()
    filters.add_argument("--homology", choices=METHODS, default="mmseqs",
                         help="homology filter run here: mmseqs (shared 30-mers + MMseqs2, the "
                         "default) or kmer (shared 30-mers only: quick runs and tests, not for "
                         "a shipped model)")
    filters.add_argument("--homology-result", metavar="HOMOLOGY.json",
                         help="use this 'genorrn data homology-filter' result instead of "
                         "running the filter (made from the same chains: the same --data-dir "
                         "and --max-chains, and at least these --pools; else refused)")
    p.add_argument("--cache-dir", default="runs/homology",
                   help="homology filter cache folder (default: runs/homology; not used "
                   "with --homology-result)")
    p.add_argument("--max-chains", type=int_range(1),
                   help="use only the first N chains of each pool and of validation (quick runs)")
    add_training_options(p, "structure")
    max_len = STRUCTURE.training["max_len"]
    p.add_argument("--max-len", type=int_range(1), default=max_len,
                   help=f"longer chains are trained on a random window of this length ({max_len})")
    p.add_argument("--teacher", metavar="NAME|PATH",
                   help="knowledge distillation: also learn this structure model's Q8 "
                   "probabilities (raw, its card's streaming settings), e.g. an ensemble card, "
                   "predicted once for every training chain and cached in OUT/teacher.npz")
    p.add_argument("--distill-weight", type=probability,
                   help="with --teacher: the loss is (1 - W) x the labels' cross-entropy + W x "
                   "the cross-entropy to the teacher's probabilities (default: 0.5)")
    p.set_defaults(func=train_structure)


def _check_outdir(outdir: Path) -> None:
    from genorrn.io.outputs import check_output_path

    check_output_path(outdir / "state.json") if outdir.exists() else check_output_path(outdir)


def train_splice(args) -> int:
    from genorrn.data.splice import load_shards
    from genorrn.errors import InputError
    from genorrn.splice import train_splice as train

    outdir = Path(args.outdir)
    _check_outdir(outdir)
    cfg, init, started_from = train_config(args, "splice")
    train_arrays = load_shards([Path(d) / "train.npz" for d in args.shards])
    if args.max_windows:
        train_arrays = {k: v[: args.max_windows] for k, v in train_arrays.items()}
    validation = load_shards([Path(d) / "validation.npz" for d in args.shards])
    for name, arrays in (("train", train_arrays), ("validation", validation)):
        if not len(arrays["seq"]):
            raise InputError(f"{', '.join(args.shards)}: the {name} shards hold no windows")
    state = train(train_arrays, validation, outdir, cfg, resume=args.resume, init=init, log=log_stderr,
                  extra={"command": command_line()} | started_from)  # fmt: skip
    print(json.dumps({k: state.get(k) for k in ("epoch", "best", "best_epoch", "train_seconds")}))
    return 0


def train_structure(args) -> int:
    from genorrn.checkpoints import resumable
    from genorrn.errors import InputError
    from genorrn.structure import prepare_training_sets
    from genorrn.structure import train_structure as train

    if args.distill_weight is not None and not args.teacher:
        raise InputError("--distill-weight needs --teacher")
    weight = 0.5 if args.distill_weight is None else args.distill_weight
    outdir = Path(args.outdir)
    _check_outdir(outdir)
    cfg, init, started_from = train_config(args, "structure")
    teacher_model = None
    if args.teacher:  # checked before the (long) homology filter
        from genorrn.pretrained import load_model

        teacher_model = load_model(args.teacher, task="structure")
    if args.resume:
        resumable(outdir, cfg.model)  # refuse another architecture before the homology filter
    chains, validation, summary, removed = prepare_training_sets(
        args.data_dir, args.pools, args.homology, args.cache_dir, args.max_chains, log_stderr,
        result_file=args.homology_result,
    )
    outdir.mkdir(exist_ok=True)
    (outdir / "homology.json").write_text(json.dumps({"summary": summary, "removed": removed},
                                                     indent=1))  # fmt: skip
    log_stderr(f"training on {summary['train_chains']} chains ({summary['train_residues']} "
               f"residues), validating on {summary['validation_chains']}")  # fmt: skip
    teacher = None
    if teacher_model is not None:
        from genorrn.structure import teacher_probabilities

        teacher = teacher_probabilities(teacher_model, chains, weight, outdir / "teacher.npz",
                                        log_stderr)  # fmt: skip
    state = train(chains, validation, outdir, cfg, teacher=teacher, resume=args.resume, init=init,
                  log=log_stderr, extra={"data": summary, "command": command_line()} | started_from)  # fmt: skip
    print(json.dumps({k: state.get(k) for k in ("epoch", "best", "best_epoch", "train_seconds")}))
    return 0


COMMANDS = {"train": add_parsers}
