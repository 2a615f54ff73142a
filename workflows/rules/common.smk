# Helper functions only (no rules): paths, regions, scatter parts, command-line options.
#
# Regions in config and on the genorrn command line are 1-based inclusive, samtools style
# (CHROM:START-END); inside these helpers they are (chrom, start0, end), 0-based half-open.

import functools
import hashlib
import json
import os
import re
import shlex
from pathlib import Path

#: The repository root (the parent of workflows/).
REPO_ROOT = Path(workflow.basedir).resolve().parent

_REGION = re.compile(r"^(?P<chrom>[^\s]+?)(?::(?P<start>[0-9,]+)(?:-(?P<end>[0-9,]+))?)?$")


# -- paths ------------------------------------------------------------------------------------


def shared_data():
    """The shared data folder (config `shared_data`; a relative path is resolved against the
    repository root)."""
    path = Path(os.path.expanduser(str(config["shared_data"])))
    return Path(os.path.normpath(path if path.is_absolute() else REPO_ROOT / path))


def data_path(value):
    """An input path from config. `{shared_data}` and `{repo}` (the repository root) are
    substituted; other relative paths stay relative to the working directory, as usual."""
    if value is None:
        return None
    value = str(value)
    if "{shared_data}" in value:
        value = value.replace("{shared_data}", str(shared_data()))
    return os.path.expanduser(value.replace("{repo}", str(REPO_ROOT)))


def results(*parts):
    """A path under the results folder (config `results`)."""
    return os.path.join(config["results"], *parts)


def logs(*parts):
    """A log path under RESULTS/logs."""
    return os.path.join(config["results"], "logs", *parts)


# -- regions ----------------------------------------------------------------------------------


def parse_region(text):
    """`CHROM`, `CHROM:START` or `CHROM:START-END` (1-based) -> (chrom, start0, end or None)."""
    match = _REGION.match(str(text).strip())
    if not match:
        raise ValueError(f"region {text!r}: expected CHROM, CHROM:START or CHROM:START-END")
    start = int(match["start"].replace(",", "")) if match["start"] else 1
    end = int(match["end"].replace(",", "")) if match["end"] else None
    if start < 1 or (end is not None and end < start):
        raise ValueError(f"region {text!r}: START must be >= 1 and END >= START (1-based)")
    return match["chrom"], start - 1, end


def format_region(chrom, start0, end):
    """(chrom, start0, end) -> `CHROM:START-END`, 1-based inclusive."""
    return f"{chrom}:{start0 + 1}-{end}"


@functools.cache
def fasta_lengths(path):
    """Record name -> length of a FASTA (plain, bgzip or gzip), in file order.

    genorrn.io.Genome reads the .fai index (building it beside the file, or in a cache folder
    when that folder is read-only); a plain-gzip FASTA is read once into memory (bgzip large
    genomes). Only input functions and helpers that need a length call this, so parsing the
    workflow stays cheap when every configured region has an end.
    """
    from genorrn.io import Genome

    genome = Genome(path)
    try:
        return dict(genome.lengths)
    finally:
        genome.close()


def resolve_regions(texts, fasta):
    """Config region strings -> [(chrom, start0, end)]. Open ends and bare chromosome names
    are completed from the FASTA (read only when needed)."""
    out = []
    for text in texts:
        chrom, start0, end = parse_region(text)
        if end is None:
            lengths = fasta_lengths(fasta)
            if chrom not in lengths:
                raise ValueError(f"region {text!r}: no record {chrom!r} in {fasta}")
            end = lengths[chrom]
        out.append((chrom, start0, end))
    return out


def split_evenly(regions, n):
    """Cut the concatenation of `regions` into `n` pieces of (nearly) equal length; piece i is
    a list of sub-regions (empty when there are fewer positions than pieces)."""
    total = sum(end - start for _, start, end in regions)
    bounds = [round(total * i / n) for i in range(n + 1)]
    pieces = []
    for lo, hi in zip(bounds, bounds[1:]):
        piece, offset = [], 0
        for chrom, start, end in regions:
            size = end - start
            a, b = max(lo, offset), min(hi, offset + size)
            if a < b:
                piece.append((chrom, start + a - offset, start + b - offset))
            offset += size
        pieces.append(piece)
    return pieces


def chunk_regions(regions, size):
    """Cut each region into consecutive chunks of at most `size` positions."""
    return [
        (chrom, s, min(s + size, end))
        for chrom, start, end in regions
        for s in range(start, end, size)
    ]


def options(mapping, flags=()):
    """`--key value` for every non-null entry of a config section (`_` -> `-` in keys; lists
    comma-joined); keys in `flags` become bare switches when true; `extra` is appended
    verbatim; `gpus` and `threads` are scheduling settings, not options."""
    out = []
    for key, value in mapping.items():
        if value is None or key in flags or key in ("gpus", "threads", "extra"):
            continue
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        out.append(f"--{key.replace('_', '-')} {shlex.quote(str(value))}")
    out += [f"--{key.replace('_', '-')}" for key in flags if mapping.get(key)]
    if mapping.get("extra"):
        out.append(str(mapping["extra"]))
    return " ".join(out)


def chr_prefix_args(section):
    value = config[section].get("chr_prefix")
    return f"--chr-prefix {value}" if value else ""


# -- splice: preprocessing scatter ------------------------------------------------------------

SPLITS = ("train", "validation", "test")


def splice_genome():
    return data_path(config["splice"]["genome"])


def splice_annotation():
    return data_path(config["splice"]["annotation"])


def splice_split_regions():
    """Split name -> [(chrom, start0, end)] from config `splice.splits`."""
    return {
        name: resolve_regions(config["splice"]["splits"][name], splice_genome())
        for name in SPLITS
    }


def preprocess_parts():
    """Scatter parts of `genorrn data splice`, as lists of --only-region regions.

    Part i holds the i-th 1/N of *every* split (N = splice.preprocess.parts), so each part has
    train, validation and test windows (the CLI refuses a part with an empty split), and the
    parts together hold every window exactly once.
    """
    n = int(config["splice"]["preprocess"]["parts"])
    pieces = {name: split_evenly(regions, n) for name, regions in splice_split_regions().items()}
    return [
        [region for name in SPLITS for region in pieces[name][i]]
        for i in range(n)
        if all(pieces[name][i] for name in SPLITS)
    ]


def preprocess_part_names():
    return [f"part{i:03d}" for i in range(len(preprocess_parts()))]


def preprocess_part_args(wildcards):
    """The --only-region options of one scatter part."""
    index = int(wildcards.part.removeprefix("part"))
    return " ".join(
        f"--only-region {shlex.quote(format_region(*r))}" for r in preprocess_parts()[index]
    )


def split_args():
    """--train-region/--validation-region/--test-region of the configured split."""
    return " ".join(
        f"--{name}-region {shlex.quote(format_region(*r))}"
        for name, regions in splice_split_regions().items()
        for r in regions
    )


def shard_dirs(wildcards=None):
    return [results("splice", "shards", name) for name in preprocess_part_names()]


def shard_files(wildcards=None):
    return [
        os.path.join(d, f"{split}.npz") for d in shard_dirs() for split in ("train", "validation")
    ]


# -- splice: training -------------------------------------------------------------------------


def splice_train_args():
    return options(config["splice"]["train"], flags=("mixed_precision",))


def splice_train_dir():
    """Working folder of `genorrn train splice --resume` (last.keras, state.json).

    Keyed by a hash of everything that changes the training (data, split, preprocessing,
    training settings), so --resume never continues a run made with other data or settings.
    """
    key = json.dumps(
        {
            "genome": splice_genome(),
            "annotation": splice_annotation(),
            "chr_prefix": config["splice"].get("chr_prefix"),
            "splits": config["splice"]["splits"],
            "preprocess": config["splice"]["preprocess"],
            "train": {
                k: v for k, v in config["splice"]["train"].items() if k not in ("gpus", "threads")
            },
        },
        sort_keys=True,
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:10]
    return results("splice", "train", f"run-{digest}")


def splice_model():
    """--model of evaluate/predict: config `splice.model`, else the workflow-trained model."""
    return config["splice"].get("model") or results("splice", "model.keras")


def splice_model_input(wildcards=None):
    """The trained model as an input (nothing when a named or pretrained model is used)."""
    return [] if config["splice"].get("model") else [results("splice", "model.keras")]


# -- splice: evaluation and genome-wide prediction --------------------------------------------

#: File suffixes of one set of splice predictions (PREFIX.<suffix>).
SPLICE_OUTPUTS = [
    "acceptor.plus.bw",
    "acceptor.minus.bw",
    "donor.plus.bw",
    "donor.minus.bw",
    "sites.bed",
]


def splice_evaluate_args():
    regions = config["splice"]["evaluate"].get("regions") or config["splice"]["splits"]["test"]
    return " ".join(f"--region {shlex.quote(r)}" for r in regions)


def splice_predict_input():
    return data_path(config["splice"]["predict"].get("input")) or splice_genome()


def predict_chunks():
    """(chrom, start0, end) chunks of the genome-wide prediction scatter, in FASTA order."""
    cfg = config["splice"]["predict"]
    fasta = splice_predict_input()
    if cfg.get("regions"):
        regions = resolve_regions(cfg["regions"], fasta)
    else:
        regions = [(chrom, 0, length) for chrom, length in fasta_lengths(fasta).items()]
    return chunk_regions(regions, int(cfg["chunk_size"]))


def predict_part_prefixes(wildcards=None):
    return [
        results("splice", "predict", "parts", chrom, f"{start0 + 1}-{end}")
        for chrom, start0, end in predict_chunks()
    ]


def predict_part_files(wildcards=None):
    return [f"{p}.{suffix}" for p in predict_part_prefixes() for suffix in SPLICE_OUTPUTS]


def splice_prediction_prefix():
    return results("splice", "predictions", config["splice"]["predict"]["name"])


def splice_targets():
    prefix = splice_prediction_prefix()
    return [
        splice_model_input(),
        results("splice", "metrics.json"),
        [f"{prefix}.{suffix}" for suffix in SPLICE_OUTPUTS],
    ]


# -- structure --------------------------------------------------------------------------------


def structure_data_dir():
    return data_path(config["structure"]["data_dir"])


def structure_pool_args():
    """--pools and --max-chains: the same for the homology filter and training (training
    refuses a filter result made from other chains)."""
    cfg = config["structure"]
    return options({"pools": cfg["pools"], "max_chains": cfg.get("max_chains")})


def structure_train_args():
    return options(config["structure"]["train"], flags=("mixed_precision",))


def structure_homology_result():
    return results("structure", "homology", "homology.json")


def structure_train_dir():
    """Working folder of `genorrn train structure --resume` (last.keras, state.json), keyed
    by a hash of the data, pools, homology filter and training settings (as
    splice_train_dir), so --resume never continues a run made with other data or settings."""
    cfg = config["structure"]
    key = json.dumps(
        {
            "data_dir": structure_data_dir(),
            "pools": cfg["pools"],
            "homology": cfg["homology"],
            "max_chains": cfg.get("max_chains"),
            "train": {k: v for k, v in cfg["train"].items() if k not in ("gpus", "threads")},
        },
        sort_keys=True,
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:10]
    return results("structure", "train", f"run-{digest}")


def structure_evaluate_args():
    return options(config["structure"]["evaluate"])


def structure_model():
    return config["structure"].get("model") or results("structure", "model", "model.keras")


def structure_model_input(wildcards=None):
    if config["structure"].get("model"):
        return []
    return [results("structure", "model", "model.keras")]


def structure_suffix():
    return {"csv": ".csv", "ss2": ".ss2", "horiz": ".horiz"}[config["structure"]["predict"]["format"]]


def structure_prediction():
    """CSV file, or a folder of PSIPRED files (one per protein) for ss2/horiz."""
    name = config["structure"]["predict"]["name"]
    return results("structure", "predictions", f"{name}{structure_suffix()}")


def structure_output(path):
    """ss2/horiz outputs are folders (one PSIPRED file per protein); csv is one file."""
    return path if config["structure"]["predict"]["format"] == "csv" else directory(path)


def structure_shards():
    return int(config["structure"]["predict"]["shards"])


def structure_prediction_part(shard):
    """Output of `predict structure --shard K/N` (N in the name: changing it never mixes
    shards of two scatter widths)."""
    name = config["structure"]["predict"]["name"]
    part = f"shard{shard}-of-{structure_shards()}{structure_suffix()}"
    return results("structure", "predict", "parts", name, part)


def structure_prediction_parts(wildcards=None):
    """Every shard output, in shard order (the merge concatenates in this order)."""
    return [structure_prediction_part(k) for k in range(1, structure_shards() + 1)]


def structure_targets():
    return [
        structure_model_input(),
        results("structure", "metrics.json"),
        structure_prediction(),
    ]


# -- variants ---------------------------------------------------------------------------------


def variants_vcf():
    vcf = data_path(config["variants"].get("vcf"))
    if not vcf:
        raise ValueError("config variants.vcf: set the VCF to score (e.g. --config "
                         "variants='{vcf: my.vcf.gz}' or a --configfile)")
    return vcf


def variants_genome():
    return data_path(config["variants"].get("genome")) or splice_genome()


def variants_annotation():
    """`-A` file: config variants.annotation, else splice.annotation; `none` scores both
    strands without genes."""
    value = config["variants"].get("annotation")
    if value == "none":
        return []
    return [data_path(value) if value else splice_annotation()]


def variants_model():
    return config["variants"].get("model") or splice_model()


def variants_model_input(wildcards=None):
    return [] if config["variants"].get("model") else splice_model_input()


def variants_args():
    cfg = config["variants"]
    args = [f"-D {int(cfg['distance'])}", f"--info-id {shlex.quote(cfg['info_id'])}"]
    if cfg.get("mask"):
        args.append("-M")
    if cfg.get("chr_prefix"):
        args.append(f"--chr-prefix {cfg['chr_prefix']}")
    return " ".join(args + [cfg.get("extra", "")])


def variants_part_files(wildcards=None):
    n = int(config["variants"]["shards"])
    return [results("variants", "parts", f"{config['variants']['name']}.{k}-of-{n}.vcf")
            for k in range(1, n + 1)]


def variants_output():
    return results("variants", f"{config['variants']['name']}.vcf.gz")


def variants_targets():
    return [variants_output(), variants_output() + ".tbi"]
