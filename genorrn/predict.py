"""Genome-wide prediction through the streaming engine: both strands, regions, scores on disk.

* :func:`genome_stream` turns a chromosome strand into a :class:`~genorrn.streaming.Stream`
  whose ``fetch`` reads and one-hot encodes only the rows asked for (the minus strand is the
  reverse complement, so the model always reads 5'→3' on the strand it labels).
* :class:`ScoreFile` receives streamed chunks and writes them with ``os.pwrite`` at their
  forward-strand offsets into a temporary binary file (memory stays flat; the page cache is
  not counted as the process's memory); readers take it back in blocks.
* :func:`predict_genome` runs one :class:`~genorrn.streaming.StreamingPredictor` over every
  requested region and strand in one pass (lanes mix strands and chromosomes).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from genorrn.encoding import encode_dna
from genorrn.io.fasta import Genome
from genorrn.regions import Region, check_region
from genorrn.streaming import Stream, StreamingPredictor, Task

STRAND_NAMES = {"+": "plus", "-": "minus"}


def genome_stream(genome: Genome, chrom: str, strand: str) -> Stream:
    """A stream over one strand of ``chrom``; minus-strand coordinates run 3'→5' of the plus strand."""
    length = genome.length(chrom)
    where = f"{genome.path}: record {chrom!r}: "

    if strand == "+":

        def fetch(start: int, end: int) -> np.ndarray:
            return encode_dna(genome.fetch(chrom, start, end), where=where)

    else:

        def fetch(start: int, end: int) -> np.ndarray:
            return encode_dna(genome.fetch(chrom, length - end, length - start, "-"), where=where)

    return Stream((chrom, strand), length, fetch)


def to_stream_interval(start: int, end: int, strand: str, length: int) -> tuple[int, int]:
    """Forward-strand ``[start, end)`` in the coordinates of the strand's stream."""
    return (start, end) if strand == "+" else (length - end, length - start)


def merge_regions(regions: Iterable[Region]) -> list[Region]:
    """Sort and merge overlapping or touching regions (per chromosome)."""
    merged: list[Region] = []
    for r in sorted(regions, key=lambda r: (r.chrom, r.start)):
        if merged and merged[-1].chrom == r.chrom and r.start <= merged[-1].end:
            last = merged.pop()
            r = Region(r.chrom, last.start, max(last.end, r.end))
        merged.append(r)
    return merged


def resolve_regions(genome: Genome, regions: Iterable[Region] | None) -> list[Region]:
    """Requested regions checked against the FASTA (default: every record, whole)."""
    if not regions:
        return [Region(name, 0, genome.lengths[name]) for name in genome.names]
    checked = [check_region(r, genome.lengths, str(genome.path)) for r in regions]
    order = {name: i for i, name in enumerate(genome.names)}
    return sorted(merge_regions(checked), key=lambda r: (order[r.chrom], r.start))


class ScoreFile:
    """A temporary on-disk float32 array ``(length, channels)`` written chunk by chunk."""

    def __init__(self, length: int, channels: int, folder: str | None = None):
        self.length, self.channels = length, channels
        fd, self.path = tempfile.mkstemp(prefix="genorrn-scores-", suffix=".f32", dir=folder)
        self.fd = fd
        os.ftruncate(fd, length * channels * 4)

    def write(self, start: int, values: np.ndarray) -> None:
        data = np.ascontiguousarray(values, dtype=np.float32)
        os.pwrite(self.fd, data.tobytes(), start * self.channels * 4)

    def read(self, start: int, end: int) -> np.ndarray:
        raw = os.pread(self.fd, (end - start) * self.channels * 4, start * self.channels * 4)
        return np.frombuffer(raw, np.float32).reshape(end - start, self.channels)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            os.unlink(self.path)
            self.fd = None


@dataclass
class StrandScores:
    """Scores of one chromosome strand in forward coordinates, with the regions predicted."""

    chrom: str
    strand: str
    stream: Stream
    regions: list[Region]
    scores: ScoreFile


def predict_genome(
    predictor: StreamingPredictor,
    genome: Genome,
    regions: list[Region],
    channels: list[int],
    strands: str = "+-",
    progress: Callable[[int], None] | None = None,
    tmpdir: str | None = None,
) -> list[StrandScores]:
    """Stream every region on every strand; keep ``channels`` of the output in score files.

    Returns one :class:`StrandScores` per (chromosome, strand), in FASTA order. The caller
    closes them (``.scores.close()``) when done.
    """
    by_key: dict[tuple[str, str], StrandScores] = {}
    tasks: list[Task] = []
    for region in regions:
        for strand in strands:
            key = (region.chrom, strand)
            if key not in by_key:
                stream = genome_stream(genome, region.chrom, strand)
                scores = ScoreFile(stream.length, len(channels), tmpdir)
                by_key[key] = StrandScores(region.chrom, strand, stream, [], scores)
            entry = by_key[key]
            entry.regions.append(region)
            lo, hi = to_stream_interval(region.start, region.end, strand, entry.stream.length)
            tasks.append(Task(entry.stream, lo, hi))

    def sink(stream: Stream, start: int, probs: np.ndarray) -> None:
        chrom, strand = stream.name
        out = by_key[chrom, strand].scores
        values = probs[:, channels]
        if strand == "-":  # stream position p is forward position length - 1 - p
            out.write(stream.length - start - len(values), values[::-1])
        else:
            out.write(start, values)

    try:
        predictor.run(tasks, sink, progress=progress)
    except BaseException:
        for entry in by_key.values():
            entry.scores.close()
        raise
    return list(by_key.values())
