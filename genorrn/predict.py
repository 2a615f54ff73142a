"""Genome-wide prediction through the streaming engine: both strands, regions, scores on disk.

* :func:`genome_stream` turns a chromosome strand into a :class:`~genorrn.streaming.Stream`
  whose ``fetch`` reads and one-hot encodes only the rows asked for (the minus strand is the
  reverse complement, so the model always reads 5'→3' on the strand it labels).
* :class:`ScoreFile` receives streamed chunks and writes them with ``os.pwrite`` at their
  forward-strand offsets into a temporary binary file (memory stays flat; the page cache is
  not counted as the process's memory); readers take it back in blocks.
* :func:`predict_genome` runs one :class:`~genorrn.streaming.StreamingPredictor` over every
  requested region and strand in one pass (lanes mix strands and chromosomes; whole records
  shorter than a chunk, as in fragmented assemblies or transcript FASTAs, run in the engine's
  length buckets instead of full windows).
* :func:`predict_sequences` streams many short sequences (proteins), one lane each, exact from
  the first residue; :func:`in_background` overlaps it with writing the outputs.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from genorrn.data.structure import encode_codes
from genorrn.encoding import PROTEIN_TABLE, encode_dna
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


def predict_sequences(
    predictor: StreamingPredictor,
    items: Iterable[tuple[object, str]],
    *,
    group: int = 2048,
    progress: Callable[[int], None] | None = None,
) -> Iterator[tuple[object, str, np.ndarray]]:
    """Yield ``(key, sequence, probs8)`` for each ``(key, sequence)`` in input order.

    Sequences are streamed ``group`` at a time through ``predictor`` (one lane per protein,
    ``split=False``: the forward state runs exactly from residue 1); ``progress(n)`` gets the
    number of proteins finished.
    """
    items = iter(items)
    while True:
        batch = []
        for item in items:
            batch.append(item)
            if len(batch) >= group:
                break
        if not batch:
            return
        outputs = [np.zeros((len(seq), predictor.num_classes), np.float32) for _, seq in batch]
        remaining = [len(seq) for _, seq in batch]
        tasks = []
        for index, (_key, seq) in enumerate(batch):
            codes = encode_codes(seq)

            def fetch(s, e, codes=codes):
                return PROTEIN_TABLE[codes[s:e]]

            tasks.append(Task(Stream(index, len(seq), fetch), 0, len(seq)))
        finished = [0]

        def sink(stream, start, probs):
            outputs[stream.name][start : start + len(probs)] = probs
            remaining[stream.name] -= len(probs)
            if remaining[stream.name] == 0:
                finished[0] += 1

        def step(_n):
            if progress is not None and finished[0]:
                progress(finished[0])
                finished[0] = 0

        # longest first: long proteins take many steps, short ones fill the lanes behind them
        order = sorted(range(len(tasks)), key=lambda i: -len(batch[i][1]))
        predictor.run([tasks[i] for i in order], sink, split=False, progress=step)
        if progress is not None and finished[0]:
            progress(finished[0])
        for (key, seq), probs in zip(batch, outputs):
            yield key, seq, probs


def in_background(items: Iterable, maxsize: int = 4096) -> Iterator:
    """Iterate ``items`` in a worker thread, ``maxsize`` ahead of the consumer, so that writing
    outputs overlaps with the next group's prediction (TensorFlow releases the GIL). An
    exception raised by ``items`` is raised again in the consumer."""
    import queue
    import threading

    done = object()
    channel: queue.Queue = queue.Queue(maxsize)
    stop = threading.Event()

    def work():
        try:
            for item in items:
                if stop.is_set():
                    return
                channel.put((True, item))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            channel.put((False, exc))
            return
        channel.put((True, done))

    thread = threading.Thread(target=work, name="genorrn-predict", daemon=True)
    thread.start()
    try:
        while True:
            ok, item = channel.get()
            if not ok:
                raise item
            if item is done:
                return
            yield item
    finally:
        stop.set()
