"""Protein secondary-structure helpers (rules/structure.smk): training options and run
folder, the prediction scatter over blocks of records."""

from __future__ import annotations

import shlex

from genorrn.recipes import STRUCTURE

from .common import Base, options, train_options

#: Output suffix per prediction format.
SUFFIXES = {"csv": ".csv", "ss2": ".ss2", "horiz": ".horiz"}


class Structure(Base):
    """Helpers of config ``structure``. Methods taking ``wildcards`` are input functions."""

    @property
    def cfg(self) -> dict:
        return self.config["structure"]

    def data_dir(self) -> str:
        return self.data_path(self.cfg["data_dir"])

    def pool_args(self) -> str:
        """--pools and --max-chains: the same for the homology filter and training (training
        refuses a filter result made from other chains)."""
        return options({"pools": self.cfg["pools"], "max_chains": self.cfg.get("max_chains")})

    def homology_result(self) -> str:
        return self.results("structure", "homology", "homology.json")

    # -- training -----------------------------------------------------------------------------

    def train_options(self) -> dict:
        """Config ``structure.train`` with nulls filled from genorrn.recipes.STRUCTURE."""
        return train_options(self.cfg["train"], STRUCTURE)

    def train_args(self) -> str:
        return options(self.train_options(), flags=("mixed_precision",))

    def train_dir(self) -> str:
        """Working folder of ``genorrn train structure --resume`` (last.keras, state.json),
        keyed by the data, pools, homology filter and training options as passed (recipe
        defaults filled in), as Splice.train_dir."""
        train = {k: v for k, v in self.train_options().items() if k not in ("gpus", "threads")}
        return self.run_dir("structure", {
            "data_dir": self.data_dir(),
            "pools": self.cfg["pools"],
            "homology": self.cfg["homology"],
            "max_chains": self.cfg.get("max_chains"),
            "train": train,
        })  # fmt: skip

    def model(self) -> str:
        return self.cfg.get("model") or self.results("structure", "model", "model.keras")

    def model_input(self, wildcards=None) -> list[str]:
        if self.cfg.get("model"):
            return []
        return [self.results("structure", "model", "model.keras")]

    # -- evaluation and prediction ------------------------------------------------------------

    def evaluate_args(self) -> str:
        return options(self.cfg["evaluate"])

    def predict_input(self) -> str:
        return self.data_path(self.cfg["predict"]["input"])

    def format(self) -> str:
        return self.cfg["predict"]["format"]

    def suffix(self) -> str:
        return SUFFIXES[self.format()]

    def prediction(self) -> str:
        """CSV file, or a folder of PSIPRED files (one per protein) for ss2/horiz."""
        name = self.cfg["predict"]["name"]
        return self.results("structure", "predictions", f"{name}{self.suffix()}")

    def output(self, path: str):
        """ss2/horiz outputs are folders (one PSIPRED file per protein, Snakemake's
        ``directory()``); csv is one file."""
        if self.format() == "csv":
            return path
        from snakemake.io import directory

        return directory(path)

    def mkdir_args(self, path: str) -> str:
        """``mkdir -p PATH &&`` before predicting ss2/horiz (always a folder, the CLI's folder
        mode); nothing for csv."""
        return "" if self.format() == "csv" else f"mkdir -p {shlex.quote(path)} &&"

    def shards(self) -> int:
        return int(self.cfg["predict"]["shards"])

    def prediction_part(self, shard) -> str:
        """Output of ``predict structure --shard K/N`` (N in the name: changing it never mixes
        shards of two scatter widths)."""
        name = self.cfg["predict"]["name"]
        part = f"shard{shard}-of-{self.shards()}{self.suffix()}"
        return self.results("structure", "predict", "parts", name, part)

    def prediction_parts(self, wildcards=None) -> list[str]:
        """Every shard output, in shard order (the merge concatenates in this order)."""
        return [self.prediction_part(k) for k in range(1, self.shards() + 1)]

    def targets(self) -> list:
        return [
            self.model_input(),
            self.results("structure", "metrics.json"),
            self.prediction(),
        ]
