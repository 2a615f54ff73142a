"""Figures (matplotlib, Agg backend): splice-site scores of a region above its annotation."""

from __future__ import annotations

import os

import numpy as np

from genorrn.io.annotation import Annotation
from genorrn.io.outputs import atomic_output
from genorrn.regions import Region


def plot_splice_region(
    path: str | os.PathLike,
    region: Region,
    plus: np.ndarray,
    minus: np.ndarray,
    annotation: Annotation | None = None,
    title: str | None = None,
) -> None:
    """Acceptor/donor probabilities (plus strand up, minus strand down) with exons below.

    ``plus``/``minus`` are ``(L, 3)`` arrays for the region; the format follows the suffix
    (``.png``, ``.svg``, ``.pdf``).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.arange(region.start, region.end) + 1  # 1-based axis, as genome browsers show
    transcripts = []
    if annotation is not None:
        transcripts = sorted(
            (t for t in annotation.transcripts.values()
             if t.chrom == region.chrom and t.start < region.end and t.end > region.start),
            key=lambda t: (t.start, t.id),
        )  # fmt: skip
    fig, (top, bottom) = plt.subplots(
        2, 1, sharex=True, figsize=(12, 4 + 0.18 * len(transcripts)),
        gridspec_kw={"height_ratios": [3, max(1, 0.25 * len(transcripts))]},
    )  # fmt: skip
    colours = {1: ("acceptor", "tab:blue"), 2: ("donor", "tab:red")}
    for channel, (name, colour) in colours.items():
        top.plot(x, plus[:, channel], color=colour, lw=0.8, label=f"{name} (+)")
        top.plot(x, -minus[:, channel], color=colour, lw=0.8, ls="--", label=f"{name} (−)")
    top.axhline(0, color="black", lw=0.5)
    top.set_ylim(-1.05, 1.05)
    top.set_ylabel("probability\n(+ up, − down)")
    top.legend(loc="upper right", fontsize=7, ncol=4)
    top.set_title(title or f"{region}")
    for row, tx in enumerate(transcripts):
        y = -row
        bottom.plot([max(tx.start, region.start) + 1, min(tx.end, region.end)], [y, y],
                    color="grey", lw=0.8)  # fmt: skip
        for start, end in tx.exons:
            bottom.add_patch(plt.Rectangle((start + 1, y - 0.3), end - start, 0.6,
                                           color="tab:green" if tx.strand == "+" else "tab:purple"))  # fmt: skip
        bottom.text(max(tx.start, region.start) + 1, y + 0.35, f"{tx.id} ({tx.strand})", fontsize=6)
    bottom.set_ylim(-max(len(transcripts), 1), 1)
    bottom.set_yticks([])
    bottom.set_xlim(region.start + 1, region.end)
    bottom.set_xlabel(f"{region.chrom} position (1-based)")
    fig.tight_layout()
    suffix = os.path.splitext(str(path))[1].lstrip(".") or "png"
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format=suffix, dpi=150)
    plt.close(fig)
