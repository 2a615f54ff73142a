"""Variant effects on splicing, the arithmetic: alleles, targets, SpliceAI-style delta scores.

Pure numpy, no model: :func:`aligned_alt` lines the mutated sequence's probabilities up with
the reference positions (indel rule below), :func:`delta_score` turns a reference and an aligned
ALT window into ``DS_AG/DS_AL/DS_DG/DS_DL`` and ``DP_*`` (SpliceAI's INFO layout
:data:`FIELDS`), :class:`GeneIndex` finds the genes (and strands) a variant is scored on.
:mod:`genorrn.variants` computes the probabilities with the streaming engine.

**Indel alignment** (SpliceAI's rule, generalised to any REF/ALT lengths): with
``n = min(len(REF), len(ALT))``, the first ``n - 1`` bases pair up one to one; at the ``n``-th
base an insertion's extra bases are pooled into one position (the maximum over the inserted
bases and that base, as SpliceAI does for insertions); reference bases that a deletion removes
get a mutated probability of 0 (so a deleted site shows as a loss); positions after the allele
are shifted by ``len(ALT) - len(REF)``. Positions beyond a chromosome end contribute nothing.

**Masking** (``mask=True``, needs an annotation): a gain at a position that is already an
annotated site of that class in that gene counts 0, and so does a loss at a position that is
not one. Masked positions count 0 before the maximum is taken (SpliceAI instead zeroes the
score only when its single best position is masked).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genorrn.io.annotation import Annotation

#: SpliceAI's INFO layout, kept exactly
FIELDS = "ALLELE|SYMBOL|DS_AG|DS_AL|DS_DG|DS_DL|DP_AG|DP_AL|DP_DG|DP_DL"
DEFAULT_DISTANCE = 50
MAX_DISTANCE = 10_000
DEFAULT_TILE = 4096
#: lanes are grouped into chunk lengths rounded up to this, so few shapes are traced
SHAPE_STEP = 128
#: reasons a record (or an allele) is not scored, as counted in the summary
REASONS = ("no_alt", "symbolic_alt", "non_acgt_alt", "ref_mismatch", "contig_not_in_fasta",
           "outside_genes")  # fmt: skip
_ACGT = frozenset("ACGTacgt")
_SYMBOL_BAD = str.maketrans({c: "_" for c in "|,;= \t"})


@dataclass(frozen=True)
class Variant:
    """One VCF record: ``pos`` is 0-based (VCF POS - 1); ``chrom`` is the FASTA's name."""

    chrom: str
    pos: int
    ref: str
    alts: tuple[str, ...]


@dataclass(frozen=True)
class Target:
    """Where an allele is scored: a gene symbol, its strand, and its annotated sites."""

    symbol: str
    strand: str
    acceptors: frozenset[int] = frozenset()
    donors: frozenset[int] = frozenset()


@dataclass(frozen=True)
class DeltaScore:
    """One ``ALLELE|SYMBOL|DS_AG|DS_AL|DS_DG|DS_DL|DP_AG|DP_AL|DP_DG|DP_DL`` entry (unrounded)."""

    allele: str
    symbol: str
    ds_ag: float
    ds_al: float
    ds_dg: float
    ds_dl: float
    dp_ag: int
    dp_al: int
    dp_dg: int
    dp_dl: int

    def format(self) -> str:
        """SpliceAI's text: delta scores rounded to 2 decimals."""
        return (f"{self.allele}|{self.symbol}|{self.ds_ag:.2f}|{self.ds_al:.2f}|{self.ds_dg:.2f}"
                f"|{self.ds_dl:.2f}|{self.dp_ag}|{self.dp_al}|{self.dp_dg}|{self.dp_dl}")  # fmt: skip

    @property
    def max_delta(self) -> float:
        return max(self.ds_ag, self.ds_al, self.ds_dg, self.ds_dl)


@dataclass
class Scored:
    """The result for one variant: its entries (ALT × target), or why it was not scored."""

    entries: list[DeltaScore]
    reason: str | None = None


# -- alignment and delta scores (pure numpy) ------------------------------------------------
def aligned_alt(alt_probs: np.ndarray, alt_start: int, pos: int, ref_len: int, alt_len: int,
                distance: int, mutated_length: int) -> np.ndarray:  # fmt: skip
    """Mutated-sequence probabilities placed on the reference positions ``pos ± distance``.

    ``alt_probs`` holds forward-strand rows for mutated positions ``[alt_start, …)``. Returns
    ``(2 * distance + 1, classes)`` following the indel rule of the module doc; positions with
    no mutated counterpart (deleted, or beyond a chromosome end) are 0.
    """
    delta = alt_len - ref_len
    n = min(ref_len, alt_len)
    ref_pos = np.arange(pos - distance, pos + distance + 1)
    mapped = np.where(ref_pos < pos + n, ref_pos, ref_pos + delta)
    valid = (ref_pos < pos + n) | (ref_pos >= pos + ref_len)  # not deleted
    valid &= (mapped >= 0) & (mapped < mutated_length) & (ref_pos >= 0)
    rows = mapped - alt_start
    valid &= (rows >= 0) & (rows < len(alt_probs))
    out = np.zeros((len(ref_pos), alt_probs.shape[1]), np.float32)
    out[valid] = alt_probs[rows[valid]]
    pooled = pos + n - 1 - (pos - distance)  # window index of the last paired base
    if delta > 0 and 0 <= pooled < len(out):
        lo, hi = pos + n - 1 - alt_start, pos + alt_len - alt_start
        out[pooled] = alt_probs[max(lo, 0) : hi].max(axis=0)
    return out


def delta_score(ref_window: np.ndarray, alt_window: np.ndarray, pos: int, distance: int,
                allele: str, target: Target, mask: bool = False,
                length: int | None = None) -> DeltaScore:  # fmt: skip
    """Gains and losses of acceptor (class 1) and donor (class 2) over the window; positions
    outside ``[0, length)`` (the chromosome) are never reported."""
    ref_pos = np.arange(pos - distance, pos + distance + 1)
    outside = (ref_pos < 0) | (ref_pos >= (length if length is not None else np.inf))
    values, places = [], []
    for column, sites in ((1, target.acceptors), (2, target.donors)):
        diff = alt_window[:, column] - ref_window[:, column]
        gain, loss = diff.copy(), -diff
        if mask:
            annotated = np.isin(ref_pos, np.fromiter(sites, int, len(sites)))
            gain[annotated] = 0.0
            loss[~annotated] = 0.0
        for scores in (gain, loss):
            scores[outside] = -np.inf
            i = int(np.argmax(scores))
            values.append(float(scores[i]) if scores[i] > 0 else 0.0)  # never -0.00
            places.append(i - distance)
    ag, al, dg, dl = values
    return DeltaScore(allele, target.symbol, ag, al, dg, dl, *places)


# -- annotation → targets -------------------------------------------------------------------
class GeneIndex:
    """Genes per chromosome for overlap queries, with each gene's annotated sites."""

    def __init__(self, annotation: Annotation):
        self.by_chrom: dict[str, list] = {}
        for gene in annotation.genes.values():
            if gene.strand in "+-":
                self.by_chrom.setdefault(gene.chrom, []).append(gene)
        self.starts: dict[str, np.ndarray] = {}
        self.longest: dict[str, int] = {}
        for chrom, genes in self.by_chrom.items():
            genes.sort(key=lambda g: (g.start, g.end, g.symbol))
            self.starts[chrom] = np.array([g.start for g in genes])
            self.longest[chrom] = max(g.end - g.start for g in genes)
        self._targets: dict[str, Target] = {}

    def targets(self, chrom: str, start: int, end: int) -> list[Target]:
        """Genes overlapping ``[start, end)`` (in start order)."""
        if chrom not in self.by_chrom:
            return []
        starts, genes = self.starts[chrom], self.by_chrom[chrom]
        lo = int(np.searchsorted(starts, start - self.longest[chrom], "left"))
        hi = int(np.searchsorted(starts, end, "left"))
        return [self._target(g) for g in genes[lo:hi] if g.end > start]

    def _target(self, gene) -> Target:
        if gene.id not in self._targets:
            acceptors, donors = set(), set()
            for tx in gene.transcripts:
                a, d = tx.splice_sites()
                acceptors.update(a)
                donors.update(d)
            symbol = gene.symbol.translate(_SYMBOL_BAD)
            self._targets[gene.id] = Target(symbol, gene.strand, frozenset(acceptors),
                                            frozenset(donors))  # fmt: skip
        return self._targets[gene.id]


UNANNOTATED = (Target(".:+", "+"), Target(".:-", "-"))


def allele_reason(alt: str) -> str | None:
    """Why an ALT allele cannot be scored (``None``: it can)."""
    if not alt or alt == "*" or alt.startswith("<") or "[" in alt or "]" in alt or alt == ".":
        return "symbolic_alt"
    if not set(alt) <= _ACGT:
        return "non_acgt_alt"
    return None
