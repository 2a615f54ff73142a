"""Variant-scoring helpers (rules/variants.smk): inputs (falling back to the splice
settings), options and the scatter over blocks of records."""

from __future__ import annotations

import shlex

from .common import Base
from .splice import Splice


class Variants(Base):
    """Helpers of config ``variants``; unset inputs fall back to ``splice``'s."""

    def __init__(self, config: dict, basedir, splice: Splice | None = None):
        super().__init__(config, basedir)
        self.splice = splice or Splice(config, basedir)

    @property
    def cfg(self) -> dict:
        return self.config["variants"]

    def vcf(self) -> str:
        vcf = self.data_path(self.cfg.get("vcf"))
        if not vcf:
            raise ValueError("config variants.vcf: set the VCF to score (e.g. --config "
                             "variants='{vcf: my.vcf.gz}' or a --configfile)")  # fmt: skip
        return vcf

    def genome(self) -> str:
        return self.data_path(self.cfg.get("genome")) or self.splice.genome()

    def annotation(self) -> list[str]:
        """``-A`` file: config variants.annotation, else splice.annotation; ``none`` scores
        both strands without genes."""
        value = self.cfg.get("annotation")
        if value == "none":
            return []
        return [self.data_path(value) if value else self.splice.annotation()]

    def annotation_args(self) -> str:
        return " ".join(f"-A {shlex.quote(path)}" for path in self.annotation())

    def model(self) -> str:
        return self.cfg.get("model") or self.splice.model()

    def model_input(self, wildcards=None) -> list[str]:
        return [] if self.cfg.get("model") else self.splice.model_input()

    def args(self) -> str:
        cfg = self.cfg
        args = [f"-D {int(cfg['distance'])}", f"--info-id {shlex.quote(cfg['info_id'])}"]
        if cfg.get("mask"):
            args.append("-M")
        if cfg.get("chr_prefix"):
            args.append(f"--chr-prefix {cfg['chr_prefix']}")
        return " ".join(args + [cfg.get("extra", "")])

    def part_files(self, wildcards=None) -> list[str]:
        n = int(self.cfg["shards"])
        name = self.cfg["name"]
        return [self.results("variants", "parts", f"{name}.{k}-of-{n}.vcf")
                for k in range(1, n + 1)]  # fmt: skip

    def output(self) -> str:
        return self.results("variants", f"{self.cfg['name']}.vcf.gz")

    def targets(self) -> list[str]:
        return [self.output(), self.output() + ".tbi"]
