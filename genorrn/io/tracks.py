"""Writers for genome tracks: BED6 sites, bedGraph and bigWig per-base scores.

Writers take a final path and write atomically (temporary name, then rename).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from genorrn.io.outputs import atomic_output

if TYPE_CHECKING:
    import numpy as np


def write_bed6(
    path: str | os.PathLike,
    rows: Iterable[tuple[str, int, int, str, float | int, str]],
) -> int:
    """Write BED6 rows ``(chrom, start, end, name, score, strand)``; returns the row count."""
    n = 0
    with atomic_output(path) as tmp, open(tmp, "w") as out:
        for chrom, start, end, name, score, strand in rows:
            score_text = f"{score:.4f}" if isinstance(score, float) else str(score)
            out.write(f"{chrom}\t{start}\t{end}\t{name}\t{score_text}\t{strand}\n")
            n += 1
    return n


Block = tuple[str, int, "np.ndarray"]  # chrom, 0-based start, per-base values


def write_bigwig(
    path: str | os.PathLike,
    chrom_sizes: list[tuple[str, int]],
    blocks: Iterable[Block],
    zoom_levels: int = 0,
) -> None:
    """Per-base bigWig (pyBigWig) from blocks in chromosome (header) order, ascending starts.

    ``zoom_levels`` defaults to 0: libBigWig keeps zoom summaries of the whole file in memory
    (measured: 470 MB for 30 Mb of per-base values vs 100 MB without), so memory would grow with
    the genome. Files without zoom levels are valid; browsers summarise the base data instead,
    which is slow for whole-chromosome views: ask for zoom levels (e.g. 10, as UCSC's
    ``bedGraphToBigWig`` writes) where the memory is there, or add them to a merged file.
    """
    import numpy as np
    import pyBigWig

    with atomic_output(path) as tmp:
        bw = pyBigWig.open(str(tmp), "w")
        try:
            bw.addHeader(list(chrom_sizes), maxZooms=zoom_levels)
            for chrom, start, values in blocks:
                if len(values):
                    bw.addEntries(chrom, int(start), values=np.asarray(values, np.float64).tolist(),
                                  span=1, step=1)  # fmt: skip
        finally:
            bw.close()


def write_bedgraph(path: str | os.PathLike, blocks: Iterable[Block], digits: int = 4) -> None:
    """bedGraph with values rounded to ``digits`` decimals and equal neighbours merged."""
    import numpy as np

    with atomic_output(path) as tmp, open(tmp, "w") as out:
        for chrom, start, values in blocks:
            values = np.round(np.asarray(values, np.float64), digits)
            if not len(values):
                continue
            change = np.flatnonzero(np.diff(values)) + 1
            starts = np.concatenate([[0], change])
            ends = np.concatenate([change, [len(values)]])
            out.writelines(
                f"{chrom}\t{start + a}\t{start + b}\t{values[a]:.{digits}f}\n"
                for a, b in zip(starts.tolist(), ends.tolist())
            )
