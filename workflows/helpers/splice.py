"""Splice helpers (rules/splice_data.smk, splice_train.smk, splice_evaluate.smk,
splice_predict.smk): the preprocessing scatter, training options and run folder, the
genome-wide prediction scatter."""

from __future__ import annotations

import os
import shlex

from genorrn.recipes import SPLICE
from genorrn.regions import Region

from .common import (
    Base,
    chunk_regions,
    fasta_lengths,
    options,
    resolve_regions,
    split_evenly,
    train_options,
)

SPLITS = ("train", "validation", "test")

#: File suffixes of one set of splice predictions (PREFIX.<suffix>).
OUTPUTS = [
    "acceptor.plus.bw",
    "acceptor.minus.bw",
    "donor.plus.bw",
    "donor.minus.bw",
    "sites.bed",
]


class Splice(Base):
    """Helpers of config ``splice``. Methods taking ``wildcards`` are input functions."""

    @property
    def cfg(self) -> dict:
        return self.config["splice"]

    def genome(self) -> str:
        return self.data_path(self.cfg["genome"])

    def annotation(self) -> str:
        return self.data_path(self.cfg["annotation"])

    # -- preprocessing scatter ----------------------------------------------------------------

    def split_regions(self) -> dict[str, list[Region]]:
        """Split name -> regions, from config ``splice.splits``."""
        return {name: resolve_regions(self.cfg["splits"][name], self.genome()) for name in SPLITS}

    def preprocess_parts(self) -> list[list[Region]]:
        """Scatter parts of ``genorrn data splice``, as lists of --only-region regions.

        Part i holds the i-th 1/N of *every* split (N = splice.preprocess.parts), so each part
        has train, validation and test windows (the CLI refuses a part with an empty split),
        and the parts together hold every window exactly once.
        """
        n = int(self.cfg["preprocess"]["parts"])
        pieces = {name: split_evenly(regions, n) for name, regions in self.split_regions().items()}
        return [
            [region for name in SPLITS for region in pieces[name][i]]
            for i in range(n)
            if all(pieces[name][i] for name in SPLITS)
        ]

    def part_names(self) -> list[str]:
        return [f"part{i:03d}" for i in range(len(self.preprocess_parts()))]

    def part_args(self, wildcards) -> str:
        """The --only-region options of one scatter part (wildcard ``part``)."""
        index = int(wildcards.part.removeprefix("part"))
        return " ".join(
            f"--only-region {shlex.quote(str(r))}" for r in self.preprocess_parts()[index]
        )

    def split_args(self) -> str:
        """--train-region/--validation-region/--test-region of the configured split."""
        return " ".join(
            f"--{name}-region {shlex.quote(str(r))}"
            for name, regions in self.split_regions().items()
            for r in regions
        )

    def shard_dirs(self, wildcards=None) -> list[str]:
        return [self.results("splice", "shards", name) for name in self.part_names()]

    def shard_files(self, wildcards=None) -> list[str]:
        return [
            os.path.join(d, f"{split}.npz")
            for d in self.shard_dirs()
            for split in ("train", "validation")
        ]

    # -- training -----------------------------------------------------------------------------

    def train_options(self) -> dict:
        """Config ``splice.train`` with nulls filled from genorrn.recipes.SPLICE."""
        return train_options(self.cfg["train"], SPLICE)

    def train_args(self) -> str:
        return options(self.train_options(), flags=("mixed_precision",))

    def train_dir(self) -> str:
        """Working folder of ``genorrn train splice --resume`` (last.keras, state.json), keyed
        by everything that changes the training: data, split, preprocessing and the training
        options as passed (recipe defaults filled in)."""
        train = {k: v for k, v in self.train_options().items() if k not in ("gpus", "threads")}
        return self.run_dir("splice", {
            "genome": self.genome(),
            "annotation": self.annotation(),
            "chr_prefix": self.cfg.get("chr_prefix"),
            "splits": self.cfg["splits"],
            "preprocess": self.cfg["preprocess"],
            "train": train,
        })  # fmt: skip

    def model(self) -> str:
        """--model of evaluate/predict: config ``splice.model``, else the trained model."""
        return self.cfg.get("model") or self.results("splice", "model.keras")

    def model_input(self, wildcards=None) -> list[str]:
        """The trained model as an input (nothing when a named or pretrained model is used)."""
        return [] if self.cfg.get("model") else [self.results("splice", "model.keras")]

    # -- evaluation and genome-wide prediction ------------------------------------------------

    def evaluate_args(self) -> str:
        regions = self.cfg["evaluate"].get("regions") or self.cfg["splits"]["test"]
        return " ".join(f"--region {shlex.quote(r)}" for r in regions)

    def predict_input(self) -> str:
        return self.data_path(self.cfg["predict"].get("input")) or self.genome()

    def predict_chunks(self) -> list[Region]:
        """Chunks of the genome-wide prediction scatter (config ``splice.predict.scatter_size``
        positions each), in FASTA order."""
        cfg = self.cfg["predict"]
        fasta = self.predict_input()
        if cfg.get("regions"):
            regions = resolve_regions(cfg["regions"], fasta)
        else:
            regions = [Region(chrom, 0, length) for chrom, length in fasta_lengths(fasta).items()]
        return chunk_regions(regions, int(cfg["scatter_size"]))

    def predict_part_prefixes(self, wildcards=None) -> list[str]:
        return [
            self.results("splice", "predict", "parts", r.chrom, f"{r.start + 1}-{r.end}")
            for r in self.predict_chunks()
        ]

    def predict_part_files(self, wildcards=None) -> list[str]:
        return [f"{p}.{suffix}" for p in self.predict_part_prefixes() for suffix in OUTPUTS]

    def prediction_prefix(self) -> str:
        return self.results("splice", "predictions", self.cfg["predict"]["name"])

    def targets(self) -> list:
        prefix = self.prediction_prefix()
        return [
            self.model_input(),
            self.results("splice", "metrics.json"),
            [f"{prefix}.{suffix}" for suffix in OUTPUTS],
        ]
