"""Variant effect scoring: SpliceAI-style delta scores through the streaming engine.

For a variant at 0-based position ``p`` (first REF base), each ALT allele and each target
(an annotated gene overlapping the variant, on that gene's strand; or both strands without an
annotation), genorrn compares the acceptor and donor probabilities of the reference and the
mutated sequence over the reference positions ``p - D … p + D`` (``D`` = ``distance``) and
reports, as SpliceAI does,

* ``DS_AG``/``DS_DG`` — the largest increase (gain) of the acceptor/donor probability,
* ``DS_AL``/``DS_DL`` — the largest decrease (loss),
* ``DP_*`` — where it happens, relative to ``p`` on the forward strand (negative = upstream
  in chromosome coordinates).

Indel alignment, masking and the score arithmetic: :mod:`genorrn.delta`.

**How the probabilities are computed.** Every prediction is a *lane* of the streaming engine
(:class:`genorrn.streaming.StreamingPredictor`, many lanes per model call): the positions
wanted, plus ``context`` positions before them (the forward LSTMs start from a zero state
there) and ``context`` after them (lookahead for the backward LSTMs), read on the target
strand. The reference is predicted in fixed tiles of ``tile`` positions shared by every
variant that needs them; each ALT allele gets a lane of its own around the variant. A lane's
result depends only on its sequence, so scores do not depend on batch size, on which
variants are scored together or on their order. With ``context`` = the model card's streaming
flank, the difference to predicting the whole reference and the whole mutated chromosome is of
the size of the engine's own streaming error (``benchmarks/variant_exactness.py``).

(About 350 lines: :class:`VariantScorer`'s lane planning, tile cache and engine calls share
their state and read best together; the arithmetic lives in :mod:`genorrn.delta`.)
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from genorrn.alphabets import reverse_complement
from genorrn.delta import (
    DEFAULT_DISTANCE,
    DEFAULT_TILE,
    MAX_DISTANCE,
    SHAPE_STEP,
    UNANNOTATED,
    DeltaScore,
    GeneIndex,
    Scored,
    Target,
    Variant,
    aligned_alt,
    allele_reason,
    delta_score,
)
from genorrn.encoding import encode_dna
from genorrn.errors import InputError
from genorrn.io.annotation import Annotation
from genorrn.io.fasta import Genome
from genorrn.streaming import Stream, StreamingPredictor, Task


# -- lanes ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Lane:
    """Predict forward positions ``[lo, hi)`` of a (possibly mutated) chromosome strand."""

    chrom: str
    strand: str
    lo: int
    hi: int
    pos: int = -1  # allele: replaces genome[pos : pos + ref_len] by alt (pos < 0: reference)
    ref_len: int = 0
    alt: str = ""


class VariantScorer:
    """Score variants against a genome with a splice model (see the module doc).

    ``context`` positions are predicted before and after every lane (default: the model's
    streaming flank); ``tile`` is the reference tile length; ``batch_size`` lanes share a call;
    ``min_gap``: the shortest run of N that is an assembly gap (see ``LoadedModel.gap_rule``).
    """

    def __init__(self, model, genome: Genome, annotation: Annotation | None = None, *,
                 distance: int = DEFAULT_DISTANCE, mask: bool = False,
                 context: int | None = None, tile: int = DEFAULT_TILE,
                 batch_size: int | None = None, block: int = 1024,
                 calibrated: bool = True, min_gap: int | None = None):  # fmt: skip
        if not 0 <= distance <= MAX_DISTANCE:
            raise InputError(f"--distance {distance}: must be between 0 and {MAX_DISTANCE}")
        if mask and annotation is None:
            raise InputError("--mask needs an annotation (-A GTF|GFF3): masking refers to "
                             "annotated splice sites")  # fmt: skip
        if tile < 1 or block < 1:
            raise InputError("--chunk-size (the reference tile) must be >= 1")
        streaming = model.streaming_defaults()
        self.model, self.genome, self.distance, self.mask = model, genome, distance, mask
        self.context = int(streaming["flank"] if context is None else context)
        if self.context < 0:
            raise InputError(f"--flank {self.context}: must be >= 0")
        self.batch_size = batch_size or int(streaming["batch_size"])
        if self.batch_size < 1:
            raise InputError(f"--batch-size {self.batch_size}: must be >= 1")
        if min_gap is not None and min_gap < 0:
            raise InputError(f"--min-gap {min_gap}: must be >= 0")
        self.tile, self.block, self.min_gap = tile, block, min_gap
        self.gaps = model.gap_rule(min_gap)  # None: every N is read through
        self.transform = model.calibration(calibrated)  # delta scores of calibrated probabilities
        self.genes = GeneIndex(annotation) if annotation is not None else None
        self.ctx = model.conv_context  # an ensemble's: its members' largest
        if self.context < self.ctx:
            raise InputError(f"--flank {self.context}: must be >= the model's convolution "
                             f"context ({self.ctx})")  # fmt: skip
        self._predictors: dict[int, StreamingPredictor] = {}
        self._tiles: OrderedDict[tuple, np.ndarray] = OrderedDict()
        # tiles kept between blocks (a sorted VCF reuses the last ones): 256 x 4096 x 3 floats
        self._max_tiles = 256

    # -- checks -----------------------------------------------------------------------------
    def check(self, variant: Variant) -> str | None:
        """Why the whole record cannot be scored (``None``: it can)."""
        if variant.chrom not in self.genome.lengths:
            return "contig_not_in_fasta"
        length = self.genome.lengths[variant.chrom]
        end = variant.pos + len(variant.ref)
        if variant.pos < 0 or end > length or not variant.ref:
            return "ref_mismatch"
        if self.genome.fetch(variant.chrom, variant.pos, end).upper() != variant.ref.upper():
            return "ref_mismatch"
        if not variant.alts:
            return "no_alt"
        if not any(allele_reason(a) is None for a in variant.alts):
            return allele_reason(variant.alts[0])
        if self.genes is not None and not self.targets(variant):
            return "outside_genes"
        return None

    def targets(self, variant: Variant) -> list[Target]:
        if self.genes is None:
            return list(UNANNOTATED)
        return self.genes.targets(variant.chrom, variant.pos, variant.pos + len(variant.ref))

    # -- scoring ----------------------------------------------------------------------------
    def score(self, variants: Iterable[Variant]) -> Iterator[Scored]:
        """Results in input order; work in blocks of ``block`` variants (flat memory)."""
        batch: list[Variant] = []
        for variant in variants:
            batch.append(variant)
            if len(batch) >= self.block:
                yield from self._score_block(batch)
                batch = []
        if batch:
            yield from self._score_block(batch)

    def _score_block(self, variants: list[Variant]) -> list[Scored]:
        D = self.distance
        plans: list[tuple[Variant, list] | str] = []
        alt_lanes: dict[_Lane, None] = {}
        tiles: dict[tuple, None] = {}
        for variant in variants:
            reason = self.check(variant)
            if reason is not None:
                plans.append(reason)
                continue
            length = self.genome.lengths[variant.chrom]
            jobs = []
            for alt in variant.alts:
                if allele_reason(alt) is not None:
                    continue
                for target in self.targets(variant):
                    lane = self._alt_lane(variant, alt, target.strand, length)
                    alt_lanes[lane] = None
                    for k in range(max(variant.pos - D, 0) // self.tile,
                                   min(variant.pos + D, length - 1) // self.tile + 1):  # fmt: skip
                        tiles[variant.chrom, target.strand, k] = None
                    jobs.append((alt, target, lane))
            plans.append((variant, jobs))
        missing = [key for key in tiles if key not in self._tiles]
        lanes = list(alt_lanes) + [self._tile_lane(*key) for key in missing]
        results = self._run(lanes)
        for key in missing:
            self._remember_tile(key, results[self._tile_lane(*key)])
        out = []
        for plan in plans:
            if isinstance(plan, str):
                out.append(Scored([], plan))
                continue
            variant, jobs = plan
            entries = []
            for alt, target, lane in jobs:
                ref_window = self._reference(variant.chrom, target.strand, variant.pos)
                mutated_length = self.genome.lengths[variant.chrom] + len(alt) - len(variant.ref)
                alt_window = aligned_alt(results[lane], lane.lo, variant.pos, len(variant.ref),
                                         len(alt), D, mutated_length)  # fmt: skip
                entries.append(delta_score(ref_window, alt_window, variant.pos, D, alt, target,
                                           self.mask, self.genome.lengths[variant.chrom]))  # fmt: skip
            out.append(Scored(entries))
        while len(self._tiles) > self._max_tiles:  # keep the cache bounded (oldest out)
            self._tiles.popitem(last=False)
        return out

    def _alt_lane(self, variant: Variant, alt: str, strand: str, length: int) -> _Lane:
        p, D, ref_len, alt_len = variant.pos, self.distance, len(variant.ref), len(alt)
        mutated_length = length + alt_len - ref_len
        lo = max(p - D, 0)
        hi = min(max(p + D + 1 + alt_len - ref_len, p + alt_len), mutated_length)
        return _Lane(variant.chrom, strand, lo, hi, p, ref_len, alt.upper())

    def _tile_lane(self, chrom: str, strand: str, k: int) -> _Lane:
        length = self.genome.lengths[chrom]
        return _Lane(chrom, strand, k * self.tile, min((k + 1) * self.tile, length))

    def _remember_tile(self, key: tuple, probs: np.ndarray) -> None:
        self._tiles[key] = probs
        self._tiles.move_to_end(key)

    def _reference(self, chrom: str, strand: str, pos: int) -> np.ndarray:
        """Reference probabilities for positions ``pos ± distance`` (0 beyond the ends)."""
        D, T = self.distance, self.tile
        length = self.genome.lengths[chrom]
        out = np.zeros((2 * D + 1, 3), np.float32)
        for k in range(max(pos - D, 0) // T, min(pos + D, length - 1) // T + 1):
            probs = self._tiles[chrom, strand, k]
            self._tiles.move_to_end((chrom, strand, k))
            a, b = max(k * T, pos - D), min(k * T + len(probs), pos + D + 1)
            out[a - (pos - D) : b - (pos - D)] = probs[a - k * T : b - k * T]
        return out

    # -- the engine ---------------------------------------------------------------------------
    def _fetch_forward(self, lane: _Lane, start: int, end: int) -> str:
        """Forward-strand sequence ``[start, end)`` of the lane's (mutated) chromosome."""
        g, chrom = self.genome, lane.chrom
        if lane.pos < 0:
            return g.fetch(chrom, start, end)
        p, alt, shift = lane.pos, lane.alt, len(lane.alt) - lane.ref_len
        parts = []
        if start < p:
            parts.append(g.fetch(chrom, start, min(end, p)))
        a, b = max(start, p) - p, min(end, p + len(alt)) - p
        if b > a:
            parts.append(alt[a:b])
        if end > p + len(alt):
            parts.append(g.fetch(chrom, max(start, p + len(alt)) - shift, end - shift))
        return "".join(parts)

    def _stream_task(self, lane: _Lane) -> tuple[Task, int, int]:
        """The engine task of a lane, the chunk length it needs, and where its output starts."""
        length = self.genome.lengths[lane.chrom]
        if lane.pos >= 0:
            length += len(lane.alt) - lane.ref_len
        if lane.strand == "+":
            lo, hi = lane.lo, lane.hi
        else:
            lo, hi = length - lane.hi, length - lane.lo
        first = max(0, lo - self.context)  # the forward LSTMs start from zero here
        s0, s1 = max(0, first - self.ctx), min(length, hi + self.context)
        # read up to a gap's length more on each side: a gap that crosses an end of the window
        # is taken in whole, so the engine cuts there as it does genome-wide
        m = self.gaps.min_length if self.gaps is not None else 0
        e0, e1 = max(0, s0 - m), min(length, s1 + m)
        if lane.strand == "+":
            seq = self._fetch_forward(lane, e0, e1)
        else:
            seq = reverse_complement(self._fetch_forward(lane, length - e1, length - e0))
        if m:
            a, b = _take_in_gaps(seq, s0 - e0, s1 - e0, m)
            s0, s1 = e0 + a, e0 + b
        seq = seq[s0 - e0 : s1 - e0]
        where = f"{self.genome.path}: record {lane.chrom!r}: "

        def fetch(a: int, b: int, seq=seq) -> np.ndarray:
            return encode_dna(seq[a:b], where=where)

        stream = Stream(lane, s1 - s0, fetch)
        chunk = math.ceil((hi - first) / SHAPE_STEP) * SHAPE_STEP
        return Task(stream, first - s0, hi - s0), chunk, lo - first

    def _predictor(self, chunk: int) -> StreamingPredictor:
        # the model's own cache of compiled steps (kept across scorers of one loaded model)
        if chunk not in self._predictors:
            self._predictors[chunk] = self.model.predictor(
                chunk, self.context, self.batch_size, calibrated=self.transform is not None,
                min_gap=self.min_gap,
            )
        return self._predictors[chunk]

    def _run(self, lanes: list[_Lane]) -> dict[_Lane, np.ndarray]:
        """Forward-strand probabilities ``(hi - lo, classes)`` of every lane."""
        groups: dict[int, list[Task]] = {}
        skip: dict[_Lane, int] = {}
        for lane in lanes:
            task, chunk, offset = self._stream_task(lane)
            groups.setdefault(chunk, []).append(task)
            skip[lane] = task.start + offset  # the stream position of the lane's first row
        results: dict[_Lane, np.ndarray] = {}

        def sink(stream: Stream, start: int, probs: np.ndarray) -> None:
            # one call per lane, or several where an assembly gap cuts the lane's window
            lane = stream.name
            n = lane.hi - lane.lo
            if lane not in results:
                results[lane] = np.zeros((n, probs.shape[1]), np.float32)
            a = start - skip[lane]  # row of the lane's output this call starts at
            lo, hi = max(a, 0), min(a + len(probs), n)
            if lo < hi:
                results[lane][lo:hi] = probs[lo - a : hi - a]

        for chunk, tasks in sorted(groups.items()):
            self._predictor(chunk).run(tasks, sink, split=False)
        for lane, rows in results.items():
            if lane.strand == "-":
                results[lane] = rows[::-1].copy()
        return results


def _take_in_gaps(seq: str, a: int, b: int, min_gap: int) -> tuple[int, int]:
    """``[a, b)`` grown over the rest of a run of at least ``min_gap`` N in ``seq`` that
    crosses ``a`` or ``b`` (as far as ``seq`` shows the run)."""

    def run_through(i: int) -> tuple[int, int]:  # N right before i, N from i on
        return i - len(seq[:i].rstrip("Nn")), len(seq[i:]) - len(seq[i:].lstrip("Nn"))

    left, right = run_through(a)
    if left and right and left + right >= min_gap:
        a -= left
    left, right = run_through(b)
    if left and right and left + right >= min_gap:
        b += right
    return a, b


def whole_region_delta(model, genome: Genome, variant: Variant, alt: str, target: Target,
                       distance: int = DEFAULT_DISTANCE, mask: bool = False,
                       margin: int = 15_000, min_gap: int | None = None) -> DeltaScore:  # fmt: skip
    """The slow reference: predict the whole region ``pos ± margin`` and the whole mutated
    region with the streaming engine at the model card's settings (one lane each, forward
    states carried from the region start), then score. :class:`VariantScorer` must agree
    with it within the engine's streaming error (``benchmarks/variant_exactness.py``)."""
    from genorrn.encoding import reverse_complement_onehot

    chrom, p = variant.chrom, variant.pos
    length = genome.lengths[chrom]
    lo, hi = max(0, p - margin), min(length, p + len(variant.ref) + margin)
    ref_seq = genome.fetch(chrom, lo, hi)
    alt_seq = ref_seq[: p - lo] + alt + ref_seq[p - lo + len(variant.ref) :]
    predictor = model.predictor(batch_size=1, min_gap=min_gap)

    def predict(seq: str) -> np.ndarray:
        onehot = encode_dna(seq)
        if target.strand == "-":
            rc = reverse_complement_onehot(onehot).copy()
            return predictor.predict_array(rc, split=False)[::-1]
        return predictor.predict_array(onehot, split=False)

    ref_probs, alt_probs = predict(ref_seq), predict(alt_seq)
    ref_window = np.zeros((2 * distance + 1, ref_probs.shape[1]), np.float32)
    where = np.arange(p - distance, p + distance + 1)
    inside = (where >= lo) & (where < hi)
    ref_window[inside] = ref_probs[where[inside] - lo]
    mutated_length = length + len(alt) - len(variant.ref)
    alt_window = aligned_alt(alt_probs, lo, p, len(variant.ref), len(alt), distance,
                             mutated_length)  # fmt: skip
    return delta_score(ref_window, alt_window, p, distance, alt, target, mask, length)


def score_variants(genome: str | Genome, variants: Iterable, model=None,
                   annotation=None, **options) -> list[list[DeltaScore] | str]:  # fmt: skip
    """Score ``(chrom, pos, ref, alt)`` tuples (``pos`` 1-based as in VCF) for notebooks.

    Returns, per variant, its :class:`DeltaScore` entries (one per target gene/strand) or the
    reason it was not scored. ``model``: a name, path or loaded model; ``annotation``: a
    GTF/GFF3 path or :class:`Annotation`; ``options``: ``distance``, ``mask``, ``context``,
    ``tile``, ``batch_size`` of :class:`VariantScorer`.

    >>> score_variants("genome.fa", [("chr1", 1001, "G", "T")])  # doctest: +SKIP
    """
    from genorrn.io.annotation import read_annotation
    from genorrn.pretrained import DEFAULT_SPLICE_MODEL, LoadedModel, load_model

    genome = genome if isinstance(genome, Genome) else Genome(genome)
    model = DEFAULT_SPLICE_MODEL if model is None else model
    if not isinstance(model, LoadedModel):
        model = load_model(model, task="splice")
    if annotation is not None and not isinstance(annotation, Annotation):
        annotation = read_annotation(annotation)
    scorer = VariantScorer(model, genome, annotation, **options)
    records = []
    for chrom, pos, ref, alt in variants:
        alts = (alt,) if isinstance(alt, str) else tuple(alt)
        records.append(Variant(str(chrom), int(pos) - 1, str(ref), alts))
    return [s.entries if s.reason is None else s.reason for s in scorer.score(records)]


__all__ = ["VariantScorer", "score_variants", "whole_region_delta"]
