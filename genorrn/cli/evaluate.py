"""``genorrn evaluate splice|structure``: a model's metrics on annotated genes or labelled proteins."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from genorrn.cli.common import (
    Progress,
    add_chr_prefix_option,
    add_model_option,
    add_streaming_options,
    name_list,
    positive_int,
    predictor_of,
    probability,
)
from genorrn.data.structure_sets import EVALUATION_SETS  # standard library only
from genorrn.recipes import STRUCTURE


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "splice",
        help="score a splice model on annotated gene bodies (top-k, PR-AUC), JSON out",
        description="Predict every gene body inside the regions (default: the whole genome) on "
        "the gene's strand and report, per class, SpliceAI's top-k accuracy and PR-AUC "
        "(average precision). Genes that cross a region boundary are left out.",
    )
    p.add_argument("genome", help="genome FASTA")
    p.add_argument("annotation", help="GTF or GFF3")
    add_model_option(p, "splice")
    p.add_argument("--region", action="append", metavar="CHROM:START-END",
                   help="region to evaluate (1-based, repeatable; default: every record)")
    p.add_argument("-o", "--output", help="write the metrics JSON here (also printed)")
    p.add_argument("--threshold", type=probability, default=0.5,
                   help="also report precision/recall of the sites called at this probability, "
                   "as 'predict splice --threshold' calls them (0.5)")
    add_chr_prefix_option(p)
    add_streaming_options(p, "splice")
    p.set_defaults(func=evaluate_splice)
    add_structure_parser(sub)


def evaluate_splice(args) -> int:
    from genorrn import __version__
    from genorrn.io.outputs import atomic_output, check_output_path
    from genorrn.predict import resolve_regions
    from genorrn.pretrained import load_model, sha256
    from genorrn.regions import parse_region
    from genorrn.splice import evaluate

    if args.output:
        check_output_path(args.output)
    from genorrn.io import load_genome_and_annotation

    genome, annotation = load_genome_and_annotation(args.genome, args.annotation, args.chr_prefix)
    if not annotation.multi_exon_transcripts():
        from genorrn.errors import InputError

        raise InputError(f"{args.annotation}: no multi-exon transcripts: there are no splice sites")
    regions = resolve_regions(genome, [parse_region(r) for r in args.region or []])
    model = load_model(args.model, task="splice")
    predictor = predictor_of(model, args)
    with Progress(None, "evaluate splice") as bar:
        result = evaluate(predictor, genome, annotation, regions, progress=bar.update,
                          threshold=args.threshold)  # fmt: skip
    result = {
        "model": str(model.path),
        "model_sha256": model.weights_sha256,
        "calibrated": predictor.transform is not None,
        "genome": {"path": str(args.genome), "sha256": sha256(args.genome)},
        "annotation": {"path": str(args.annotation), "sha256": sha256(args.annotation)},
        "streaming": {"chunk_size": predictor.chunk_size, "flank": predictor.flank},
        "genorrn_version": __version__,
    } | result
    text = json.dumps(result, indent=2)
    if args.output:
        with atomic_output(args.output) as tmp:
            tmp.write_text(text + "\n")
    print(text)
    return 0


def add_structure_parser(sub) -> None:
    p = sub.add_parser(
        "structure",
        help="score a structure model on CB513 / TS115 / NetSurfP-2.0 test",
        description="Q3, Q8, per-class precision/recall and confusion matrices over the "
        "scored residues of each test set (CB513: disorder == 1 and cb513_mask == 1; TS115: "
        "disorder == 1; NetSurfP-2.0 test: resolved residues, Q3 only, in-distribution). "
        "Predictions run through the streaming engine, as for 'genorrn predict structure'.",
    )
    add_model_option(p, "structure")
    p.add_argument("--data-dir", default=STRUCTURE.data_dir,
                   help=f"the shared structure data folder (default: {STRUCTURE.data_dir})")
    p.add_argument("--sets", type=name_list, default=list(EVALUATION_SETS),
                   help="sets to score, comma-separated (cb513,ts115,netsurfp2_test); "
                   "netsurfp2_validation scores the validation set, for choosing models and "
                   "ensemble members without touching a test set")
    p.add_argument("--test-csv", action="append", default=[], metavar="CSV",
                   help="also score a CSV in the ps4-dataset layout (input, dssp3, dssp8, "
                   "disorder[, cb513_mask]); repeatable")
    p.add_argument("--max-chains", type=positive_int,
                   help="score only the first N chains of each set")
    p.add_argument("-o", "--output", metavar="JSON", help="also write the full report here")
    add_streaming_options(p, "structure")
    p.set_defaults(func=evaluate_structure)


def evaluate_structure(args) -> int:
    from genorrn.io.outputs import atomic_output, check_output_path
    from genorrn.pretrained import load_model
    from genorrn.structure import evaluate, load_evaluation_sets

    if args.output:
        check_output_path(args.output)
    sets = load_evaluation_sets(args.data_dir, args.sets, args.test_csv, args.max_chains)
    model = load_model(args.model, task="structure")
    predictor = predictor_of(model, args)
    report = {"model": str(args.model), "model_sha256": model.weights_sha256,
              "calibrated": predictor.transform is not None, "sets": {}}  # fmt: skip
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


COMMANDS = {"evaluate": add_parsers}
