"""Writers for genome tracks: BED6 sites, bedGraph and bigWig per-base scores.

Writers take a final path and write atomically (temporary name, then rename).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from genorrn.io.outputs import atomic_output


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
