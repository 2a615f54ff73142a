"""Figures (matplotlib, Agg backend): splice-site scores of a region above its annotation, and
the per-residue secondary-structure profile of a protein."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from genorrn.alphabets import SS3_CLASSES
from genorrn.encoding import q3_from_q8
from genorrn.io.annotation import Annotation, Transcript
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


#: transcript colours of the exon track, by strand
STRAND_COLOURS = {"+": "tab:green", "-": "tab:purple"}
#: score colours, by class channel
SITE_COLOURS = {1: ("acceptor", "tab:blue"), 2: ("donor", "tab:red")}
_LABEL_SIZE = 6  # points


def transcripts_in(annotation: Annotation, region: Region) -> list[Transcript]:
    """The transcripts overlapping ``region``, by start (then ID)."""
    return sorted((t for t in annotation.transcripts.values()
                   if t.chrom == region.chrom and t.start < region.end and t.end > region.start),
                  key=lambda t: (t.start, t.id))  # fmt: skip


def transcript_label(annotation: Annotation, tx: Transcript) -> str:
    """``GENE (TRANSCRIPT)`` when the parent gene has a name (GFF3 ``Name``/``gene``, GTF
    ``gene_name``/``gene``), else the transcript ID."""
    gene = annotation.genes.get(tx.gene_id)
    return f"{gene.name} ({tx.id})" if gene is not None and gene.name else tx.id


def stack_rows(spans: list[tuple[float, float]]) -> list[int]:
    """The row of each ``(start, end)`` span (given by start): the first row whose spans all
    end before it starts, so that nothing on a row overlaps (greedy interval packing)."""
    ends: list[float] = []
    rows = []
    for start, end in spans:
        row = next((r for r, last in enumerate(ends) if last < start), len(ends))
        if row == len(ends):
            ends.append(end)
        ends[row] = end
        rows.append(row)
    return rows


def transcript_track(annotation: Annotation, region: Region, bp_per_point: float):
    """``[(transcript, label, label start, row)]`` for the exon track (0-based coordinates):
    each transcript on the first row where neither its drawn extent nor its label
    (``_LABEL_SIZE`` points, ``bp_per_point`` bases per point of axis width; starting above
    the transcript, moved left to end inside the region) overlaps another."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    measure, font = TextToPath(), FontProperties(size=_LABEL_SIZE)
    transcripts = transcripts_in(annotation, region)
    labels = [transcript_label(annotation, tx) for tx in transcripts]
    starts, spans = [], []
    for tx, label in zip(transcripts, labels):
        width = 1.1 * measure.get_text_width_height_descent(label, font, ismath=False)[0]
        start, end = max(tx.start, region.start), min(tx.end, region.end)
        text_at = max(min(start, region.end - width * bp_per_point), region.start)
        starts.append(text_at)
        spans.append((min(start, text_at), max(end, text_at + width * bp_per_point)))
    order = sorted(range(len(spans)), key=lambda i: spans[i])
    rows = dict(zip(order, stack_rows([spans[i] for i in order])))
    return [(tx, label, at, rows[i])
            for i, (tx, label, at) in enumerate(zip(transcripts, labels, starts))]  # fmt: skip


def annotated_sites(transcripts: list[Transcript], region: Region) -> dict:
    """``{(strand, "acceptor"|"donor"): sorted 0-based positions in region}`` of the
    transcripts' splice sites (the definition of :meth:`Transcript.splice_sites`)."""
    sites: dict[tuple[str, str], set[int]] = {}
    for tx in transcripts:
        for kind, positions in zip(("acceptor", "donor"), tx.splice_sites()):
            sites.setdefault((tx.strand, kind), set()).update(
                p for p in positions if region.start <= p < region.end)
    return {key: sorted(found) for key, found in sites.items()}


def plot_splice_region(
    path: str | os.PathLike,
    region: Region,
    plus: np.ndarray,
    minus: np.ndarray,
    annotation: Annotation | None = None,
    title: str | None = None,
) -> None:
    """:func:`splice_region_figure` written to ``path`` (format by suffix: ``.png``, ``.svg``,
    ``.pdf``), atomically."""
    save(splice_region_figure(region, plus, minus, annotation, title), path, dpi=150)


def splice_region_figure(region: Region, plus: np.ndarray, minus: np.ndarray,
                         annotation: Annotation | None = None, title: str | None = None):  # fmt: skip
    """Acceptor/donor probabilities (plus strand up, minus strand down), the annotated splice
    sites marked above (+) and below (−) them, and the transcripts below, coloured by strand,
    labelled by gene name and stacked on rows so that labels do not overlap. ``plus``/``minus``
    are ``(L, 3)`` arrays for the region. Returns the figure (two axes: scores, transcripts)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    from matplotlib.ticker import StrMethodFormatter

    width = 12.0  # inches; the axes get at least the default subplot fraction of it
    params = matplotlib.rcParams
    axis_points = width * 72 * (params["figure.subplot.right"] - params["figure.subplot.left"])
    track = [] if annotation is None else transcript_track(
        annotation, region, (region.end - region.start) / axis_points)  # fmt: skip
    rows = max((row for *_, row in track), default=-1) + 1
    fig, (top, bottom) = plt.subplots(
        2, 1, sharex=True, figsize=(width, 4 + 0.3 * rows),
        gridspec_kw={"height_ratios": [3, max(1, 0.4 * rows)]},
    )  # fmt: skip
    x = np.arange(region.start, region.end) + 1  # 1-based axis, as genome browsers show
    for channel, (name, colour) in SITE_COLOURS.items():
        top.plot(x, plus[:, channel], color=colour, lw=0.8, label=f"{name} (+)")
        top.plot(x, -minus[:, channel], color=colour, lw=0.8, ls="--", label=f"{name} (−)")
    if annotation is not None:  # annotated sites: ▼ above the + scores, ▲ below the − ones
        sites = annotated_sites([tx for tx, *_ in track], region)
        for name, colour in SITE_COLOURS.values():
            for strand, y, marker in (("+", 1.1, "v"), ("-", -1.1, "^")):
                found = np.asarray(sites.get((strand, name), []), dtype=float) + 1
                top.plot(found, np.full(len(found), y), ls="none", marker=marker, ms=4,
                         color=colour, label=f"annotated {name}" if strand == "+" else None)  # fmt: skip
    top.axhline(0, color="black", lw=0.5)
    top.set_ylim(-1.2, 1.2)
    top.set_ylabel("probability\n(+ up, − down)")
    top.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=7, frameon=False)
    top.set_title(title or f"{region}")
    for tx, label, text_at, row in track:
        y = -row
        bottom.plot([max(tx.start, region.start) + 1, min(tx.end, region.end)], [y, y],
                    color="grey", lw=0.8)  # fmt: skip
        for start, end in tx.exons:
            bottom.add_patch(plt.Rectangle((start + 1, y - 0.3), end - start, 0.6,
                                           color=STRAND_COLOURS[tx.strand]))  # fmt: skip
        bottom.text(text_at + 1, y + 0.35, label, fontsize=_LABEL_SIZE)
    if track:
        bottom.legend(handles=[Patch(color=c, label=f"{s.replace('-', '−')} strand transcript")
                               for s, c in STRAND_COLOURS.items()], loc="upper left",
                      bbox_to_anchor=(1.005, 1.0), fontsize=7, frameon=False)  # fmt: skip
    bottom.set_ylim(-max(rows, 1) + 0.4, 1)
    bottom.set_yticks([])
    bottom.set_xlim(region.start + 1, region.end)
    bottom.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))  # no 1e7 offset
    bottom.set_xlabel(f"{region.chrom} position (1-based)")
    fig.tight_layout()
    return fig


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
