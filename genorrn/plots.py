"""Figures (matplotlib, Agg backend): splice-site scores of a region above its annotation, and
the per-residue secondary-structure profile of a protein."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from genorrn.alphabets import SS3_CLASSES
from genorrn.encoding import q3_from_q8
from genorrn.io.annotation import Annotation
from genorrn.io.outputs import atomic_output
from genorrn.regions import Region


def save(fig, path: str | os.PathLike, dpi: int = 120) -> None:
    """Write a figure in the format its suffix names (png, svg, pdf) under a temporary name,
    then rename; the figure is closed either way."""
    import matplotlib.pyplot as plt

    suffix = Path(path).suffix.lower().lstrip(".") or "png"
    try:
        with atomic_output(path) as tmp:
            fig.savefig(tmp, format=suffix, dpi=dpi)
    finally:
        plt.close(fig)


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
    save(fig, path, dpi=150)


def plot_profile(rid: str, seq: str, probs8: np.ndarray, path: str | os.PathLike) -> None:
    """Per-residue Q3 probability profile of one protein (PNG or SVG by suffix), with the
    predicted Q3 string as a colour strip on top. Written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    probs3 = q3_from_q8(probs8)
    n = np.arange(1, len(seq) + 1)
    colours = {"H": "#d62728", "E": "#1f77b4", "C": "#7f7f7f"}
    width = min(max(6.0, len(seq) / 40), 40.0)
    fig, (strip, ax) = plt.subplots(
        2, 1, figsize=(width, 3.2), sharex=True, gridspec_kw={"height_ratios": [1, 6]}
    )
    pred = probs3.argmax(-1)
    for k, name in enumerate(SS3_CLASSES):
        ax.plot(n, probs3[:, k], lw=1.0, color=colours[name], label=f"P({name})")
        strip.bar(n[pred == k], 1.0, width=1.0, color=colours[name], linewidth=0)
    strip.set_yticks([])
    strip.set_ylabel("Q3", rotation=0, ha="right", va="center")
    ax.set_ylim(0, 1)
    ax.set_xlim(0.5, len(seq) + 0.5)
    ax.set_xlabel("residue")
    ax.set_ylabel("probability")
    ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize="small", frameon=False)
    strip.set_title(f"{rid}: secondary structure profile ({len(seq)} residues)", fontsize="medium")
    fig.tight_layout()
    save(fig, path)


def plot_reliability(curves: dict[str, list[dict]], path: str | os.PathLike, title: str) -> None:
    """Reliability diagram: per class, the fraction of true positions against the mean
    probability in each bin (``genorrn.calibration.reliability`` rows), the diagonal being
    perfect calibration; bin sizes in a lower panel. PNG/SVG/PDF by suffix, written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, counts) = plt.subplots(2, 1, figsize=(5.5, 6.5), sharex=True,
                                     gridspec_kw={"height_ratios": [3, 1]})  # fmt: skip
    ax.plot([0, 1], [0, 1], color="#999999", lw=1, ls="--", label="perfect")
    for name, rows in curves.items():
        x = [r["mean_prob"] for r in rows]
        ax.plot(x, [r["fraction_true"] for r in rows], marker="o", ms=3, lw=1.2, label=name)
        counts.plot(x, [r["n"] for r in rows], marker="o", ms=2, lw=1)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_ylabel("fraction true")
    ax.set_title(title, fontsize="medium")
    ax.legend(fontsize="small", frameon=False)
    counts.set_yscale("log")
    counts.set_xlabel("predicted probability (bin mean)")
    counts.set_ylabel("positions")
    fig.tight_layout()
    save(fig, path)
