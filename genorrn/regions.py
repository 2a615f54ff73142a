"""Genomic intervals: samtools-style region strings ↔ 0-based half-open :class:`Region`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from genorrn.errors import InputError

_REGION = re.compile(r"^(?P<chrom>[^:\s]+)(?::(?P<start>[\d,]+)(?:-(?P<end>[\d,]+))?)?$")


@dataclass(frozen=True, order=True)
class Region:
    chrom: str
    start: int  # 0-based
    end: int | None  # exclusive; None = to the end of the sequence

    def __str__(self) -> str:  # samtools style, 1-based inclusive
        if self.end is None and self.start == 0:
            return self.chrom
        end = "" if self.end is None else f"-{self.end}"
        return f"{self.chrom}:{self.start + 1}{end}"

    def clip(self, length: int) -> Region:
        return Region(self.chrom, self.start, length if self.end is None else self.end)

    def contains(self, chrom: str, start: int, end: int) -> bool:
        return chrom == self.chrom and start >= self.start and (self.end is None or end <= self.end)

    def overlaps(self, other: Region) -> bool:
        """Whether the two share a position (an open end runs to the end of the sequence)."""
        return (self.chrom == other.chrom and (other.end is None or self.start < other.end)
                and (self.end is None or other.start < self.end))  # fmt: skip


def parse_region(text: str) -> Region:
    """``chr1``, ``chr1:1000`` or ``chr1:1,001-2,000`` (1-based inclusive, as samtools)."""
    match = _REGION.match(text.strip())
    if not match:
        raise InputError(f"region {text!r}: expected CHROM, CHROM:START or CHROM:START-END")
    start = int(match["start"].replace(",", "")) if match["start"] else 1
    end = int(match["end"].replace(",", "")) if match["end"] else None
    if start < 1 or (end is not None and end < start):
        raise InputError(f"region {text!r}: START must be >= 1 and END >= START (1-based)")
    return Region(match["chrom"], start - 1, end)


def names_hint(names: list[str], shown: int = 5) -> str:
    """``'a', 'b', 'c' … (12 in all)``: the first record names, for 'no record named' errors."""
    names = list(names)
    more = f" … ({len(names)} in all)" if len(names) > shown else ""
    return ", ".join(repr(n) for n in names[:shown]) + more


def check_region(region: Region, lengths: dict[str, int], source: str) -> Region:
    """Resolve an open end and fail clearly if the region is not inside the sequence (naming
    the first records that exist)."""
    if region.chrom not in lengths:
        raise InputError(f"{source}: region {region}: no record named {region.chrom!r} "
                         f"(records: {names_hint(lengths)})")  # fmt: skip
    length = lengths[region.chrom]
    region = region.clip(length)
    if region.end > length or region.start >= length:
        raise InputError(
            f"{source}: region {region}: outside the sequence {region.chrom!r} (length {length})"
        )
    return region
