"""``genorrn {train,evaluate,predict} structure``: protein secondary structure (Q3 / Q8)."""

from __future__ import annotations

import json
import os
import sys
from itertools import islice
from pathlib import Path

from genorrn.cli.common import (
    add_init_options,
    add_streaming_options,
    architecture_given,
    dropout_rate,
    int_list,
    parse_shard,
    shard_bounds,
    starting_model,
)
from genorrn.data.structure_sets import (  # standard library only at module level
    EVALUATION_SETS,
    METHODS,
    TRAINING_POOLS,
)
from genorrn.pretrained import DEFAULT_STRUCTURE_MODEL

DEFAULT_DATA_DIR = "../shared/data/structure"


def _name_list(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def _model_help(p) -> None:
    p.add_argument("--model", default=DEFAULT_STRUCTURE_MODEL, metavar="NAME|PATH",
                   help=f"model name or .keras path (default: the shipped {DEFAULT_STRUCTURE_MODEL})")


def _streaming_options(p) -> None:
    add_streaming_options(p, unit="residues", defaults=(256, 32, 128))


# -- predict --------------------------------------------------------------------------------


def add_predict(sub) -> None:
    p = sub.add_parser(
        "structure",
        help="predict protein secondary structure (Q3 and Q8) from a protein FASTA",
        description="Predict per-residue secondary structure from single sequences (no "
        "alignments) and write it as NetSurfP-2.0-style CSV (one row per residue, Q3 and Q8 "
        "probabilities), PSIPRED .ss2 or PSIPRED .horiz. With ss2/horiz, OUT is one file for "
        "a single-record FASTA, and a folder with one ID.ss2 / ID.horiz file per record when "
        "the input has several records (or OUT is an existing folder). Protein policy: "
        "lowercase = uppercase; B/Z/J as halves of two residues; U, O, X and '*' on the X "
        "channel; one trailing '*' (stop) removed; digits, '-', spaces, an empty record, "
        "duplicate IDs or a DNA FASTA are errors. Residue numbers are the input's.",
    )
    p.add_argument("input", help="protein FASTA (plain or gzip)")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output file (csv; ss2/horiz for one record) or folder (ss2/horiz)")
    p.add_argument("--format", choices=["csv", "ss2", "horiz"], default="csv",
                   help="output format (default: csv)")
    _model_help(p)
    p.add_argument("--shard", metavar="K/N",
                   help="predict only the K-th of N contiguous blocks of records, in input "
                   "order, with about equal numbers of residues (1 <= K <= N); 'genorrn data "
                   "merge-structure' joins shards 1..N into exactly the unsharded output")
    p.add_argument("--plot", metavar="FILE.png|FILE.svg",
                   help="also draw the per-residue Q3 probability profile of one protein")
    p.add_argument("--plot-id", metavar="ID",
                   help="record to plot with --plot (default: the first record)")
    _streaming_options(p)
    p.set_defaults(func=predict_structure)


def _count_and_check(path) -> tuple[list[int], str, str]:
    """Validate the whole FASTA before predicting (errors before any output); return the
    length of every record, and the first record's ID and sequence."""
    from genorrn.data.structure import read_proteins

    lengths = []
    first = ("", "")
    for rid, seq in read_proteins(path):
        if not lengths:
            first = (rid, seq)
        lengths.append(len(seq))
    return lengths, first[0], first[1]


def predict_structure(args) -> int:
    from genorrn.data.structure import read_proteins
    from genorrn.errors import InputError
    from genorrn.io import structure_formats as fmt
    from genorrn.io.outputs import atomic_output, check_output_path

    out = Path(args.output)
    if args.plot:
        if Path(args.plot).suffix.lower() not in (".png", ".svg"):
            raise InputError(f"{args.plot}: --plot must end in .png or .svg")
        check_output_path(args.plot)
    shard = parse_shard(args.shard) if args.shard else None
    if shard and args.plot:
        raise InputError("--plot cannot be combined with --shard (use 'genorrn plot structure')")
    lengths, first_id, _ = _count_and_check(args.input)
    count = len(lengths)
    # the K-th of N contiguous blocks of records (about equal residues); file or folder as for
    # the whole input, so that 'genorrn data merge-structure' of shards 1..N gives exactly the
    # unsharded output
    start, end = shard_bounds(lengths, *shard) if shard else (0, count)
    folder = args.format != "csv" and (out.is_dir() or count > 1)
    if folder:
        if not out.exists():
            check_output_path(out)
            out.mkdir()
    else:
        check_output_path(out)
    plot_id = args.plot_id or first_id
    if args.plot and args.plot_id:
        if args.plot_id not in {rid for rid, _ in read_proteins(args.input)}:
            raise InputError(f"{args.input}: --plot-id {args.plot_id!r}: no such record")

    from tqdm import tqdm

    from genorrn.structure import (
        in_background,
        load_structure_model,
        make_predictor,
        predict_sequences,
        q3_from_q8,
    )

    model, card = load_structure_model(args.model)
    predictor = make_predictor(model, args.chunk_size, args.flank, args.batch_size, card)
    bar = tqdm(total=end - start, unit="protein", desc="predict structure", file=sys.stderr,
               disable=None if end - start > 1 else True, smoothing=0.1)  # fmt: skip
    written: dict[str, str] = {}
    plotted = None
    records = islice(read_proteins(args.input), start, end)
    results = in_background(predict_sequences(predictor, records, progress=bar.update))
    if args.format != "csv" and not folder and start == end:  # an empty shard of one record
        with atomic_output(out) as tmp:
            Path(tmp).write_text("")
    try:
        if args.format == "csv":
            with atomic_output(out) as tmp, open(tmp, "w", newline="") as handle:
                handle.write(fmt.CSV_HEADER + "\n")
                for rid, seq, p8 in results:
                    handle.write(fmt.csv_rows(rid, seq, q3_from_q8(p8), p8))
                    if args.plot and rid == plot_id:
                        plotted = (rid, seq, p8)
        else:
            writer = fmt.ss2_text if args.format == "ss2" else fmt.horiz_text
            for rid, seq, p8 in results:
                if folder:
                    name = fmt.safe_filename(rid) + "." + args.format
                    if name in written:
                        raise InputError(
                            f"{args.input}: records {written[name]!r} and {rid!r} map to the"
                            f" same output file name {name!r}"
                        )
                    written[name] = rid
                    target = out / name
                else:
                    target = out
                with atomic_output(target) as tmp:
                    Path(tmp).write_text(writer(seq, q3_from_q8(p8)))
                if args.plot and rid == plot_id:
                    plotted = (rid, seq, p8)
    finally:
        bar.close()
    if args.plot and plotted is not None:
        from genorrn.structure import plot_profile

        plot_profile(*plotted, args.plot)
    where = f"{out}/ ({end - start} files)" if folder else str(out)
    held = f"records {start + 1}-{end}" if end > start else "no records"
    shard = f" (shard {args.shard}: {held} of {count})" if args.shard else ""
    print(f"genorrn: predicted {end - start} protein(s){shard} -> {where}", file=sys.stderr)
    return 0


# -- train ----------------------------------------------------------------------------------


def add_train(sub) -> None:
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
    p.add_argument("--data-dir", default=DEFAULT_DATA_DIR,
                   help=f"the shared structure data folder (default: {DEFAULT_DATA_DIR})")
    p.add_argument("--pools", type=_name_list, default=list(TRAINING_POOLS),
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
    p.add_argument("--max-chains", type=int,
                   help="use only the first N chains of each pool and of validation (quick runs)")
    p.add_argument("--units", type=int_list,
                   help="LSTM units per BiLSTM layer, comma-separated (128,128)")
    p.add_argument("--conv-filters", type=int, help="conv filters, 0 = none (64)")
    p.add_argument("--conv-kernel", type=int, help="conv kernel width, odd (11)")
    p.add_argument("--conv-layers", type=int, help="conv layers (2)")
    p.add_argument("--dropout", type=dropout_rate,
                   help="dropout before each LSTM layer, training only (0.25)")
    p.add_argument("--epochs", type=int, default=20, help="maximum epochs (20)")
    p.add_argument("--batch-size", type=int, default=32, help="chains per batch (32)")
    p.add_argument("--learning-rate", type=float, default=2e-3, help="Adam learning rate (2e-3)")
    p.add_argument("--lr-schedule", choices=["plateau", "cosine"], default="plateau",
                   help="learning rate per epoch: halve after an epoch without validation gain "
                   "(plateau), or cosine decay from --learning-rate to 0 at --epochs (plateau)")
    p.add_argument("--patience", type=int, default=4, help="early-stopping patience (4)")
    p.add_argument("--max-len", type=int, default=1024,
                   help="longer chains are trained on a random window of this length (1024)")
    p.add_argument("--steps-per-epoch", type=int, help="batches per epoch (default: one pass)")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument("--mixed-precision", action="store_true",
                   help="mixed_float16 on GPU (ignored with a warning on CPU)")
    p.add_argument("--resume", action="store_true",
                   help="continue from OUT/last.keras and OUT/state.json (epoch, best score, "
                   "history, learning rate) when they exist; a different architecture is "
                   "refused")
    add_init_options(p, "structure")
    p.set_defaults(func=train_structure_cmd)


def prepare_training_sets(data_dir, pools, homology, cache_dir, max_chains=None, log=print,
                          result_file=None):
    """Load the pools, apply the homology filter (run here, or read from ``result_file``, a
    'genorrn data homology-filter' result), deduplicate; return ``(train chains, validation
    chains, summary dict for the model card, removed IDs per pool)``."""
    from genorrn.data.structure_sets import (
        filter_candidates,
        load_candidates,
        read_result,
        training_sets,
    )

    sets, candidates = load_candidates(data_dir, pools, max_chains)
    if result_file:
        result = read_result(result_file, sets, candidates)
        log(f"homology filter: {result_file} ({result['detail']['tool']})")
    else:
        result = filter_candidates(sets, candidates, homology, cache_dir, os.cpu_count(), log)
    return training_sets(data_dir, sets, candidates, result, pools, max_chains, log)


def train_structure_cmd(args) -> int:
    from dataclasses import replace

    from genorrn.checkpoints import resumable
    from genorrn.io.outputs import check_output_path
    from genorrn.models import config_of
    from genorrn.structure import (
        StructureTrainConfig,
        log_stderr,
        structure_config,
        train_structure,
    )

    outdir = Path(args.outdir)
    check_output_path(outdir / "state.json") if outdir.exists() else check_output_path(outdir)
    given = architecture_given(args)
    cfg = StructureTrainConfig(
        model=replace(structure_config(), **given),
        epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
        patience=args.patience, max_len=args.max_len, steps_per_epoch=args.steps_per_epoch,
        seed=args.seed, mixed_precision=args.mixed_precision, lr_schedule=args.lr_schedule,
    )  # fmt: skip
    init, started_from = None, {}
    if args.init_from or args.widen:
        init, started_from = starting_model(args, given, "structure")
        cfg.model = config_of(init)
    if args.resume:
        resumable(outdir, cfg.model)  # refuse another architecture before writing anything
    train, validation, summary, removed = prepare_training_sets(
        args.data_dir, args.pools, args.homology, args.cache_dir, args.max_chains, log_stderr,
        result_file=args.homology_result,
    )
    outdir.mkdir(exist_ok=True)
    (outdir / "homology.json").write_text(json.dumps({"summary": summary, "removed": removed},
                                                     indent=1))  # fmt: skip
    log_stderr(f"training on {summary['train_chains']} chains ({summary['train_residues']} "
               f"residues), validating on {summary['validation_chains']}")  # fmt: skip
    command = "genorrn " + " ".join(sys.argv[1:]) if sys.argv and sys.argv[0] else ""
    state = train_structure(train, validation, outdir, cfg, log=log_stderr,
                            extra={"data": summary, "command": command} | started_from,
                            resume=args.resume, init=init)  # fmt: skip
    print(json.dumps({k: state.get(k) for k in ("epoch", "best", "best_epoch", "train_seconds")}))
    return 0


# -- evaluate -------------------------------------------------------------------------------


def add_evaluate(sub) -> None:
    p = sub.add_parser(
        "structure",
        help="score a structure model on CB513 / TS115 / NetSurfP-2.0 test",
        description="Q3, Q8, per-class precision/recall and confusion matrices over the "
        "scored residues of each test set (CB513: disorder == 1 and cb513_mask == 1; TS115: "
        "disorder == 1; NetSurfP-2.0 test: resolved residues, Q3 only, in-distribution). "
        "Predictions run through the streaming engine, as for 'genorrn predict structure'.",
    )
    _model_help(p)
    p.add_argument("--data-dir", default=DEFAULT_DATA_DIR,
                   help=f"the shared structure data folder (default: {DEFAULT_DATA_DIR})")
    p.add_argument("--sets", type=_name_list, default=list(EVALUATION_SETS),
                   help="sets to score, comma-separated (cb513,ts115,netsurfp2_test)")
    p.add_argument("--test-csv", action="append", default=[], metavar="CSV",
                   help="also score a CSV in the ps4-dataset layout (input, dssp3, dssp8, "
                   "disorder[, cb513_mask]); repeatable")
    p.add_argument("--max-chains", type=int, help="score only the first N chains of each set")
    p.add_argument("-o", "--output", metavar="JSON", help="also write the full report here")
    _streaming_options(p)
    p.set_defaults(func=evaluate_structure_cmd)


def load_evaluation_sets(data_dir, names, extra_csvs=(), max_chains=None) -> dict:
    from genorrn.data.structure import load_netsurfp, load_test_csv
    from genorrn.errors import InputError

    data_dir = Path(data_dir)
    sets = {}
    for name in names:
        if name in ("cb513", "ts115"):
            sets[name] = load_test_csv(data_dir / f"{name}.csv.gz", name)
        elif name == "netsurfp2_test":
            sets[name] = load_netsurfp(data_dir / "netsurfp2")["test"]
        else:
            raise InputError(f"--sets: unknown set {name!r}; choose from "
                             f"{', '.join(EVALUATION_SETS)}")  # fmt: skip
    for path in extra_csvs:
        s = load_test_csv(path)
        sets[s.name] = s
    if max_chains:
        sets = {n: s.head(max_chains) for n, s in sets.items()}
    return sets


def evaluate_structure_cmd(args) -> int:
    from genorrn.io.outputs import atomic_output, check_output_path
    from genorrn.structure import evaluate, load_structure_model, make_predictor

    if args.output:
        check_output_path(args.output)
    sets = load_evaluation_sets(args.data_dir, args.sets, args.test_csv, args.max_chains)
    model, card = load_structure_model(args.model)
    predictor = make_predictor(model, args.chunk_size, args.flank, args.batch_size, card)
    report = {"model": str(args.model), "sets": {}}
    for name, chain_set in sets.items():
        report["sets"][name] = evaluate(predictor, chain_set.chains)
        r = report["sets"][name]
        q8 = r.get("q8", {}).get("accuracy")
        print(f"{name}\tchains {r['chains']}\tresidues {r['q3']['residues']}\t"
              f"Q3 {r['q3']['accuracy']}\tQ8 {q8 if q8 is not None else '-'}", file=sys.stderr)
    text = json.dumps(report, indent=1)
    if args.output:
        with atomic_output(args.output) as tmp:
            Path(tmp).write_text(text + "\n")
    summary = {n: {"q3": r["q3"]["accuracy"], "q8": r.get("q8", {}).get("accuracy"),
                   "sov99_q3": r["q3"]["sov99_mean_per_chain"]}
               for n, r in report["sets"].items()}  # fmt: skip
    print(json.dumps(summary))
    return 0


# -- plot -----------------------------------------------------------------------------------


def add_plot(sub) -> None:
    p = sub.add_parser(
        "structure",
        help="plot the per-residue Q3 probability profile of one protein",
        description="Predict one protein of a FASTA and draw P(H), P(E), P(C) per residue "
        "with the predicted Q3 string as a colour strip. The format follows the output suffix "
        "(.png, .svg, .pdf). Same as 'genorrn predict structure --plot'.",
    )
    p.add_argument("input", help="protein FASTA (plain or gzip)")
    p.add_argument("-o", "--output", required=True, help="output image (.png, .svg or .pdf)")
    p.add_argument("--id", dest="record", metavar="ID",
                   help="record to plot (default: the first record)")
    _model_help(p)
    _streaming_options(p)
    p.set_defaults(func=plot_structure_cmd)


def plot_structure_cmd(args) -> int:
    from genorrn.data.structure import read_proteins
    from genorrn.errors import InputError
    from genorrn.io.outputs import check_output_path

    if Path(args.output).suffix.lower() not in (".png", ".svg", ".pdf"):
        raise InputError(f"{args.output}: output must end in .png, .svg or .pdf")
    check_output_path(args.output)
    chosen = None
    for rid, seq in read_proteins(args.input):  # checks every record, as predict does
        if chosen is None and (args.record is None or rid == args.record):
            chosen = (rid, seq)
    if chosen is None:
        raise InputError(f"{args.input}: --id {args.record!r}: no such record")
    from genorrn.structure import (
        load_structure_model,
        make_predictor,
        plot_profile,
        predict_sequences,
    )

    model, card = load_structure_model(args.model)
    predictor = make_predictor(model, args.chunk_size, args.flank, args.batch_size, card)
    ((rid, seq, probs),) = list(predict_sequences(predictor, [chosen]))
    plot_profile(rid, seq, probs, args.output)
    return 0


COMMANDS = {"predict": add_predict, "train": add_train, "evaluate": add_evaluate,
            "plot": add_plot}  # fmt: skip
