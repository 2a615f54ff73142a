"""Shared helpers: paths, regions, scatter arithmetic, command-line options, run folders.

Regions in config and on the genorrn command line are 1-based inclusive, samtools style
(``CHROM:START-END``), parsed by :func:`genorrn.regions.parse_region` exactly as the CLI
parses them; inside these helpers they are :class:`genorrn.regions.Region` objects (0-based
half-open, ``str()`` gives the 1-based form back).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shlex
from pathlib import Path

from genorrn.regions import Region, check_region, parse_region

#: Config keys that were renamed: (section path) -> new name. Checked before the schema so
#: an old config gets a message that says what to write instead.
RENAMED_KEYS = {
    ("splice", "predict", "chunk_size"): (
        "scatter_size",
        "positions per prediction job; genorrn's own streaming --chunk-size is another "
        "setting, passed with splice.predict.extra",
    ),
}

#: Keys of a train section that are scheduling settings or verbatim text, not options.
SCHEDULING_KEYS = ("gpus", "threads", "extra")

#: Train-section key -> field name in the task's recipe, where the two differ.
RECIPE_FIELDS = {"units": "lstm_units"}


def check_renamed_keys(config: dict) -> None:
    """Raise ValueError naming the new key when ``config`` still uses a renamed one."""
    for (*path, old), (new, why) in RENAMED_KEYS.items():
        section = config
        for key in path:
            section = section.get(key) if isinstance(section, dict) else None
        if isinstance(section, dict) and old in section:
            where = ".".join(path)
            raise ValueError(
                f"config {where}.{old} was renamed to {where}.{new} ({why}): "
                f"write `{new}: {section[old]}` instead"
            )


# -- regions and scatter arithmetic -----------------------------------------------------------


@functools.cache
def fasta_lengths(path: str) -> dict[str, int]:
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


def resolve_regions(texts: list[str], fasta: str) -> list[Region]:
    """Config region strings -> closed :class:`Region` objects. Open ends and bare chromosome
    names are completed (and checked) from the FASTA, which is read only when needed."""
    out = []
    for text in texts:
        region = parse_region(str(text))
        if region.end is None:
            region = check_region(region, fasta_lengths(fasta), fasta)
        out.append(region)
    return out


def split_evenly(regions: list[Region], n: int) -> list[list[Region]]:
    """Cut the concatenation of ``regions`` into ``n`` pieces of (nearly) equal length; piece
    i is a list of sub-regions (empty when there are fewer positions than pieces)."""
    total = sum(r.end - r.start for r in regions)
    bounds = [round(total * i / n) for i in range(n + 1)]
    pieces = []
    for lo, hi in zip(bounds, bounds[1:]):
        piece, offset = [], 0
        for r in regions:
            size = r.end - r.start
            a, b = max(lo, offset), min(hi, offset + size)
            if a < b:
                piece.append(Region(r.chrom, r.start + a - offset, r.start + b - offset))
            offset += size
        pieces.append(piece)
    return pieces


def chunk_regions(regions: list[Region], size: int) -> list[Region]:
    """Cut each region into consecutive chunks of at most ``size`` positions."""
    return [
        Region(r.chrom, s, min(s + size, r.end))
        for r in regions
        for s in range(r.start, r.end, size)
    ]


# -- command-line options ---------------------------------------------------------------------


def options(mapping: dict, flags: tuple[str, ...] = ()) -> str:
    """``--key value`` for every non-null entry of a config section (``_`` -> ``-`` in keys;
    lists comma-joined); keys in ``flags`` become bare switches when true; ``extra`` is
    appended verbatim; ``gpus`` and ``threads`` are scheduling settings, not options."""
    out = []
    for key, value in mapping.items():
        if value is None or key in flags or key in SCHEDULING_KEYS:
            continue
        if isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value)
        out.append(f"--{key.replace('_', '-')} {shlex.quote(str(value))}")
    out += [f"--{key.replace('_', '-')}" for key in flags if mapping.get(key)]
    if mapping.get("extra"):
        out.append(str(mapping["extra"]))
    return " ".join(out)


def train_options(section: dict, recipe) -> dict:
    """A ``*.train`` config section with every null filled from the task's recipe
    (:mod:`genorrn.recipes`: ``recipe.architecture`` and ``recipe.training``; config ``units``
    is the recipe's ``lstm_units``), in config order. A null the recipe has no default for
    (``steps_per_epoch``, ``max_windows``) stays null: :func:`options` leaves it out and the
    command line's own default applies. Keys absent from the section stay absent."""
    defaults = {**recipe.architecture, **recipe.training}
    filled = {}
    for key, value in section.items():
        if value is None and key not in SCHEDULING_KEYS:
            value = defaults.get(RECIPE_FIELDS.get(key, key))
            if isinstance(value, float) and value.is_integer():
                # written as a YAML file writes it (`--site-weight 10`, not 10.0): the same
                # command line, and so the same run folder, as the value written out
                value = int(value)
        filled[key] = list(value) if isinstance(value, (list, tuple)) else value
    return filled


def run_digest(key: dict) -> str:
    """A short hash of everything that changes a training run (JSON, sorted keys): the
    name of its ``--resume`` working folder."""
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:10]


# -- paths ------------------------------------------------------------------------------------


class Base:
    """Paths of one configuration. ``config`` is Snakemake's dict, read lazily; ``basedir``
    is the folder of the Snakefile (``workflows/``), whose parent is the repository root."""

    def __init__(self, config: dict, basedir: str | Path):
        self.config = config
        #: the repository root (the parent of workflows/)
        self.repo = Path(basedir).resolve().parent

    def shared_data(self) -> Path:
        """The shared data folder (config ``shared_data``; a relative path is resolved against
        the repository root)."""
        path = Path(os.path.expanduser(str(self.config["shared_data"])))
        return Path(os.path.normpath(path if path.is_absolute() else self.repo / path))

    def data_path(self, value) -> str | None:
        """An input path from config. ``{shared_data}`` and ``{repo}`` (the repository root)
        are substituted; other relative paths stay relative to the working directory."""
        if value is None:
            return None
        value = str(value)
        if "{shared_data}" in value:
            value = value.replace("{shared_data}", str(self.shared_data()))
        return os.path.expanduser(value.replace("{repo}", str(self.repo)))

    def results(self, *parts: str) -> str:
        """A path under the results folder (config ``results``)."""
        return os.path.join(self.config["results"], *parts)

    def logs(self, *parts: str) -> str:
        """A log path under RESULTS/logs."""
        return os.path.join(self.config["results"], "logs", *parts)

    def run_dir(self, task: str, key: dict) -> str:
        """RESULTS/TASK/train/run-HASH: the working folder of ``genorrn train TASK --resume``,
        keyed by a hash of ``key`` (everything that changes the training), so --resume never
        continues a run made with other data or settings."""
        return self.results(task, "train", f"run-{run_digest(key)}")

    def chr_prefix_args(self, section: str) -> str:
        value = self.config[section].get("chr_prefix")
        return f"--chr-prefix {value}" if value else ""
