"""Options and helpers shared by the prediction and evaluation commands."""

from __future__ import annotations

import re
import sys
import time


def int_list(text: str) -> list[int]:
    """argparse type for ``64,64``."""
    return [int(x) for x in text.split(",") if x]


def parse_shard(text: str) -> tuple[int, int]:
    """``K/N`` (the K-th of N shards, 1 <= K <= N) → ``(K, N)``; a one-line error otherwise."""
    from genorrn.errors import InputError

    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise InputError(f"--shard {text!r}: expected K/N with 1 <= K <= N (e.g. 2/8)")
    return int(match[1]), int(match[2])


def shard_bounds(count: int, k: int, n: int) -> tuple[int, int]:
    """``[start, end)`` of the K-th of N contiguous, nearly equal blocks of ``count`` items;
    blocks 1..N tile ``range(count)`` in order (some are empty when ``count < N``)."""
    return count * (k - 1) // n, count * k // n


def add_streaming_options(
    parser, unit: str = "positions", defaults: tuple[int, int, int] = (5000, 1000, 32)
) -> None:
    """``--chunk-size``, ``--flank``, ``--batch-size``: the streaming engine's knobs."""
    chunk, flank, batch = defaults
    parser.add_argument("--chunk-size", type=int, default=None, metavar="N",
                        help=f"{unit} per chunk (default: the model card's, else {chunk})")
    parser.add_argument("--flank", type=int, default=None, metavar="N",
                        help=f"lookahead {unit} for the backward LSTMs (default: the model "
                        f"card's, else {flank})")
    parser.add_argument("--batch-size", type=int, default=None, metavar="N",
                        help=f"chunks (lanes) per call (default: the model card's, else {batch})")


class Progress:
    """Counts positions and their rate; draws a tqdm bar on a terminal (silent in logs)."""

    def __init__(self, total: int | None, description: str):
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit="nt", unit_scale=True, desc=description,
                        file=sys.stderr, disable=None, smoothing=0.1)  # fmt: skip
        self.done = 0
        self.start = time.perf_counter()

    def update(self, n: int) -> None:
        self.done += n
        self.bar.update(n)

    @property
    def rate(self) -> float:
        return self.done / max(time.perf_counter() - self.start, 1e-9)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.bar.close()
