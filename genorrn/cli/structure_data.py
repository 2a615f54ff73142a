"""``genorrn data homology-filter`` and ``genorrn data merge-structure``: the structure
workflow's homology filter as a step of its own, and the join of sharded predictions."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from genorrn.cli.structure import DEFAULT_DATA_DIR, _name_list
from genorrn.data.structure_sets import METHODS, TRAINING_POOLS


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "homology-filter",
        help="remove structure training chains homologous to CB513/TS115/NetSurfP-2.0 test",
        description="Run the homology filter of 'genorrn train structure' on its own: every "
        "chain of the training pools and of NetSurfP-2.0 validation that shares a 30-residue "
        "substring with an evaluation chain (CB513, TS115, NetSurfP-2.0 test), or that MMseqs2 "
        "aligns to one with E <= 1e-2 or >= 25%% identity over >= 40 residues, is removed. "
        "Writes OUT/homology.json (per pool: removed chain IDs with the reason, kept IDs, "
        "counts, and a checksum of the chains), which 'genorrn train structure "
        "--homology-result OUT/homology.json' uses instead of filtering again. The MMseqs2 "
        "search is cached in --cache-dir (keyed by the sequences and parameters), so a rerun "
        "is instant. Needs 'mmseqs' on PATH (Debian/Ubuntu: apt-get install -y mmseqs2; conda: "
        "conda install -c bioconda mmseqs2) unless --homology kmer.",
    )
    p.add_argument("-o", "--outdir", required=True, metavar="OUT",
                   help="output folder (created if missing); the result is OUT/homology.json")
    p.add_argument("--data-dir", default=DEFAULT_DATA_DIR,
                   help=f"the shared structure data folder (default: {DEFAULT_DATA_DIR})")
    p.add_argument("--pools", type=_name_list, default=list(TRAINING_POOLS),
                   help="training pools, comma-separated: pisces2018,netsurfp2 (both)")
    p.add_argument("--homology", choices=METHODS, default="mmseqs",
                   help="mmseqs (shared 30-mers + MMseqs2, the default) or kmer (shared 30-mers "
                   "only: quick runs and tests, not for a shipped model)")
    p.add_argument("--max-chains", type=int,
                   help="only the first N chains of each pool and of validation (quick runs; "
                   "train structure must then use the same --max-chains)")
    p.add_argument("--cache-dir", default="runs/homology",
                   help="MMseqs2 result cache folder (default: runs/homology)")
    p.add_argument("--threads", type=int, default=None,
                   help="MMseqs2 threads (default: all CPUs)")
    p.set_defaults(func=homology_filter_cmd)

    p = sub.add_parser(
        "merge-structure",
        help="join 'predict structure --shard K/N' outputs into the unsharded output",
        description="Join the outputs of 'genorrn predict structure --shard 1/N' ... "
        "'--shard N/N' (give them in shard order) into exactly what one unsharded run writes: "
        "csv: one header, then every shard's rows; ss2/horiz: one folder with every shard's "
        "per-protein files (or, for a one-record input, the one non-empty file). Written "
        "under a temporary name and renamed; a folder output must not exist or be empty.",
    )
    p.add_argument("parts", nargs="+", metavar="SHARD_OUTPUT",
                   help="shard outputs (files, or folders for ss2/horiz), in shard order")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="merged file or folder")
    p.add_argument("--format", choices=["csv", "ss2", "horiz"], default="csv",
                   help="format of the shard outputs (default: csv)")
    p.add_argument("--fasta", metavar="INPUT",
                   help="the FASTA that was predicted: check that the shard outputs hold exactly "
                   "its records, none missing, repeated or out of order (recommended)")
    p.set_defaults(func=merge_structure_cmd)


def homology_filter_cmd(args) -> int:
    from genorrn.data.structure_sets import filter_candidates, load_candidates, write_result
    from genorrn.errors import OutputError
    from genorrn.io.outputs import check_output_path

    def log_stderr(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    out = Path(args.outdir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder (-o is the output folder)")
    check_output_path(out / "homology.json") if out.is_dir() else check_output_path(out)
    sets, candidates = load_candidates(args.data_dir, args.pools, args.max_chains)
    result = filter_candidates(sets, candidates, args.homology, args.cache_dir,
                               args.threads or os.cpu_count(), log_stderr)  # fmt: skip
    result["made_with"] = {"data_dir": str(args.data_dir), "pools": args.pools,
                           "max_chains": args.max_chains}  # fmt: skip
    out.mkdir(exist_ok=True)  # only now: a failed filter leaves no empty folder
    write_result(out / "homology.json", result)
    counts = {name: pool["counts"] for name, pool in result["pools"].items()}
    print(json.dumps({"output": str(out / "homology.json"), "method": args.homology,
                      "counts": counts}))  # fmt: skip
    return 0


def merge_structure_cmd(args) -> int:
    from genorrn.io.structure_merge import merge_structure

    expected = None
    if args.fasta:
        from genorrn.data.structure import read_proteins

        expected = [rid for rid, _ in read_proteins(args.fasta)]
    summary = merge_structure(args.parts, args.output, args.format, expected)
    print(json.dumps(summary))
    print(f"genorrn: merged {summary['parts']} shard output(s) -> {summary['output']}",
          file=sys.stderr)  # fmt: skip
    return 0


COMMANDS = {"data": add_parsers}
