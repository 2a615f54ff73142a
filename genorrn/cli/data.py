"""``genorrn data …``: labels, datasets and homology filtering from genomes, annotations and
protein sets; merging of sharded prediction outputs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from genorrn.cli.common import (
    add_chr_prefix_option,
    add_zoom_option,
    log_stderr,
    name_list,
    non_negative_int,
    positive_int,
)
from genorrn.data.structure_sets import METHODS, TRAINING_POOLS  # standard library only
from genorrn.recipes import STRUCTURE


def add_parsers(sub) -> None:
    """Register ``genorrn data sites`` and ``genorrn data splice``."""
    p = sub.add_parser(
        "sites",
        help="write the annotated splice sites of a genome as BED6",
        description="Write every annotated acceptor and donor (exon boundaries of transcripts "
        "with >= 2 exons, on the transcript strand) as BED6, and print intron-motif statistics "
        "as JSON on stdout. Both inputs must be files, not pipes: the genome is read at every "
        "intron through its .fai index (random access).",
    )
    p.add_argument("genome", help="genome FASTA file (plain, bgzip or gzip)")
    p.add_argument("annotation", help="GTF or GFF3 file (plain or gzip)")
    p.add_argument("-o", "--output", required=True, help="output BED6 file")
    add_chr_prefix_option(p)
    p.set_defaults(func=sites)

    p = sub.add_parser(
        "splice",
        help="build labelled splice-site windows (train/validation/test shards)",
        description="Cut the gene bodies of both strands into windows with per-nucleotide labels "
        "(0 neither, 1 acceptor, 2 donor) and write OUTDIR/{train,validation,test}.npz plus "
        "OUTDIR/manifest.json. Splits are genomic regions; genes that span a split boundary are "
        "excluded. Use --only-region to build one scatter part of a large genome. Both inputs "
        "must be files, not pipes: the genome is read at every gene through its .fai index "
        "(random access), and the manifest records both files' checksums.",
    )
    p.add_argument("genome", help="genome FASTA file (plain, bgzip or gzip)")
    p.add_argument("annotation", help="GTF or GFF3 file (plain or gzip)")
    p.add_argument("-o", "--outdir", required=True,
                   help="output folder (created if missing, only once the windows are built)")
    p.add_argument("--splits", default="athaliana-chr1",
                   help="split preset (default: athaliana-chr1, the fixed split of the data README)")
    for name in ("train", "validation", "test"):
        p.add_argument(f"--{name}-region", action="append", metavar="CHROM:START-END",
                       help=f"{name} region (1-based, repeatable); replaces the preset's {name} regions")
    p.add_argument("--only-region", action="append", metavar="CHROM:START-END",
                   help="keep only windows starting in this region (repeatable; for scattering)")
    p.add_argument("--core", type=positive_int, default=1500,
                   help="labelled positions per window (1500)")
    p.add_argument("--context", type=non_negative_int, default=200,
                   help="unlabelled sequence context on each side of a window (200)")
    p.add_argument("--offset", type=non_negative_int, default=0,
                   help="start each gene body's tiling this many positions earlier, 0 <= OFFSET "
                        "< CORE (0); a second shard set with --offset CORE/2 is training-set "
                        "augmentation: 'train splice' takes both folders")
    add_chr_prefix_option(p)
    p.set_defaults(func=splice)

    p = sub.add_parser(
        "merge-splice",
        help="merge scattered 'predict splice --region' outputs into one set of files",
        description="Merge PART.{acceptor,donor}.{plus,minus}.bw and PART.sites.bed of several "
        "bigWig prediction parts (disjoint regions of one FASTA) into PREFIX.* files.",
    )
    p.add_argument("parts", nargs="+", metavar="PART_PREFIX", help="output prefix of each part")
    p.add_argument("-o", "--output", required=True, metavar="PREFIX", help="merged output prefix")
    p.add_argument("--format", choices=["bigwig", "bedgraph"], default="bigwig")
    add_zoom_option(p)
    p.set_defaults(func=merge_splice)

    p = sub.add_parser(
        "merge-variants",
        help="join 'predict variants --shard K/N' outputs into one VCF",
        description="Join the VCFs written by 'genorrn predict variants --shard 1/N' … 'N/N' "
        "(give them in that order) into one VCF: exactly the unsharded output. A .vcf.gz "
        "output is bgzipped with a tabix index (when the records are sorted).",
    )
    p.add_argument("parts", nargs="+", metavar="PART.vcf[.gz]", help="the parts, in shard order")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT.vcf[.gz]",
                   help="merged VCF (- for standard output)")
    p.set_defaults(func=merge_variants)
    add_structure_parsers(sub)


def sites(args) -> int:
    from genorrn.data.sites import annotated_sites, intron_motifs
    from genorrn.io.outputs import check_output_path
    from genorrn.io.tracks import write_bed6

    check_output_path(args.output)
    from genorrn.io import load_genome_and_annotation

    genome, annotation = load_genome_and_annotation(args.genome, args.annotation, args.chr_prefix)
    rows = [(s.chrom, s.pos, s.pos + 1, s.kind, 0, s.strand) for s in annotated_sites(annotation)]
    write_bed6(args.output, rows)
    motifs = intron_motifs(genome, annotation)
    total = sum(motifs.values())
    summary = {
        "transcripts": len(annotation.transcripts),
        "multi_exon_transcripts": len(annotation.multi_exon_transcripts()),
        "acceptors": sum(1 for r in rows if r[3] == "acceptor"),
        "donors": sum(1 for r in rows if r[3] == "donor"),
        "introns": total,
        "fraction_GT_AG": round(motifs["GT-AG"] / total, 4) if total else None,
        "top_motifs": dict(motifs.most_common(5)),
    }
    json.dump(summary, sys.stdout, indent=2)
    print()
    return 0


def splice(args) -> int:
    from pathlib import Path

    from genorrn.data.splice import check_offset, collect_windows, split_regions, write_shards
    from genorrn.errors import InputError, OutputError
    from genorrn.io.outputs import check_output_path
    from genorrn.pretrained import sha256
    from genorrn.regions import parse_region

    check_offset(args.offset, args.core)  # before anything is read
    outdir = Path(args.outdir)
    if outdir.exists() and not outdir.is_dir():
        raise OutputError(f"{outdir}: exists and is not a folder (-o is the output folder)")
    # a missing folder is made only once there is something to write (a failed run leaves none)
    check_output_path(outdir / "manifest.json" if outdir.is_dir() else outdir)
    from genorrn.io import load_genome_and_annotation

    genome, annotation = load_genome_and_annotation(args.genome, args.annotation, args.chr_prefix)
    if not annotation.multi_exon_transcripts():
        raise InputError(f"{args.annotation}: no multi-exon transcripts: there are no splice sites")
    splits = split_regions(
        args.splits,
        train=args.train_region,
        validation=args.validation_region,
        test=args.test_region,
    )
    only = [parse_region(r) for r in args.only_region] if args.only_region else None
    shards = {
        name: collect_windows(genome, annotation, name, splits, core=args.core,
                              context=args.context, only=only, offset=args.offset)
        for name in ("train", "validation", "test")
    }  # fmt: skip
    summaries = [json.loads(str(arrays["summary"])) for arrays in shards.values()]
    if not any(s["windows"] for s in summaries):
        where = ", ".join(args.only_region) if args.only_region else "any split region"
        raise InputError(f"{args.annotation}: no gene bodies in {where}: nothing to write")
    manifest = {
        "genome": {"path": str(args.genome), "sha256": sha256(args.genome)},
        "annotation": {"path": str(args.annotation), "sha256": sha256(args.annotation)},
        "only_regions": args.only_region,
        "splits": summaries,
    }
    write_shards(outdir, shards, manifest)
    json.dump(manifest, sys.stdout, indent=2)
    print()
    return 0


def merge_splice(args) -> int:
    from genorrn.splice import merge_parts

    print(json.dumps(merge_parts(args.parts, args.output, args.format, args.zoom_levels)))
    return 0


def merge_variants(args) -> int:
    from genorrn.vcf_scoring import merge_parts

    print(json.dumps(merge_parts(args.parts, args.output)), file=sys.stderr)
    return 0


def add_structure_parsers(sub) -> None:
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
    p.add_argument("--data-dir", default=STRUCTURE.data_dir,
                   help=f"the shared structure data folder (default: {STRUCTURE.data_dir})")
    p.add_argument("--pools", type=name_list, default=list(TRAINING_POOLS),
                   help="training pools, comma-separated: pisces2018,netsurfp2 (both)")
    p.add_argument("--homology", choices=METHODS, default="mmseqs",
                   help="mmseqs (shared 30-mers + MMseqs2, the default) or kmer (shared 30-mers "
                   "only: quick runs and tests, not for a shipped model)")
    p.add_argument("--max-chains", type=positive_int,
                   help="only the first N chains of each pool and of validation (quick runs; "
                   "train structure must then use the same --max-chains)")
    p.add_argument("--cache-dir", default="runs/homology",
                   help="MMseqs2 result cache folder (default: runs/homology)")
    p.add_argument("--threads", type=positive_int, default=None,
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
                   help="the FASTA that was predicted (a file, - or a pipe; read once): check "
                   "that the shard outputs hold exactly its records, none missing, repeated or "
                   "out of order (recommended)")
    p.set_defaults(func=merge_structure_cmd)


def homology_filter_cmd(args) -> int:
    from genorrn.data.structure_sets import filter_candidates, load_candidates, write_result
    from genorrn.errors import OutputError
    from genorrn.io.outputs import check_output_path

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
        from genorrn.data.proteins import read_proteins

        expected = [rid for rid, _ in read_proteins(args.fasta)]
    summary = merge_structure(args.parts, args.output, args.format, expected)
    print(json.dumps(summary))
    print(f"genorrn: merged {summary['parts']} shard output(s) -> {summary['output']}",
          file=sys.stderr)  # fmt: skip
    return 0


COMMANDS = {"data": add_parsers}
