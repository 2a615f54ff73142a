"""Helper logic of the genorrn Snakemake workflows: plain Python, importable without Snakemake.

The rule files (``workflows/rules/*.smk``) hold rules only; ``rules/common.smk`` puts this
folder on ``sys.path``, checks for renamed config keys and builds one :class:`Workflow` from
Snakemake's ``config``. Tests import the package directly (``tests/test_workflows.py``)::

    import sys; sys.path.insert(0, "workflows")
    from helpers import Workflow
    wf = Workflow(config, "workflows")
    wf.splice.predict_chunks()

Modules: :mod:`helpers.common` (paths, regions, scatter arithmetic, command-line options, run
folders, defaults from :mod:`genorrn.recipes`), one module per task beside its rules:
:mod:`helpers.splice` (``splice_*.smk``), :mod:`helpers.structure` (``structure.smk``),
:mod:`helpers.variants` (``variants.smk``), and :mod:`helpers.slurm` (the SLURM settings
checked before a run submits anything: placeholders, partitions, GPUs).
"""

from __future__ import annotations

from pathlib import Path

from . import slurm
from .common import (
    RENAMED_KEYS,
    Base,
    check_renamed_keys,
    chunk_regions,
    fasta_lengths,
    options,
    resolve_regions,
    run_digest,
    split_evenly,
    train_options,
)
from .splice import Splice
from .structure import Structure
from .variants import Variants

__all__ = [
    "RENAMED_KEYS",
    "Base",
    "Splice",
    "Structure",
    "Variants",
    "Workflow",
    "check_renamed_keys",
    "chunk_regions",
    "fasta_lengths",
    "options",
    "resolve_regions",
    "run_digest",
    "slurm",
    "split_evenly",
    "train_options",
]


class Workflow(Base):
    """Every helper of one configuration: paths (``results``, ``logs``, ``data_path``) and
    one object per task (``splice``, ``structure``, ``variants``). All read ``config``
    lazily, so a partial config is enough for the helpers a test calls."""

    def __init__(self, config: dict, basedir: str | Path):
        super().__init__(config, basedir)
        self.splice = Splice(config, basedir)
        self.structure = Structure(config, basedir)
        self.variants = Variants(config, basedir, splice=self.splice)
