"""Splice-site prediction and evaluation on genomes (task level, over the streaming engine).

Outputs of :func:`predict_to_files` for ``PREFIX`` (forward-strand chromosome coordinates):
``PREFIX.{acceptor,donor}.{plus,minus}.bw`` (or ``.bedgraph``) per-base probabilities, and
``PREFIX.sites.bed``: BED6 of positions whose probability is ≥ the threshold (name
acceptor/donor, score = round(1000 × probability) as BED requires 0-1000, strand).

:func:`training_task` gives :func:`genorrn.training.train` the splice parts: shard windows,
class-weighted cross-entropy, selection on validation PR-AUC.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from genorrn.alphabets import SPLICE_CLASSES
from genorrn.checkpoints import fingerprint
from genorrn.data.splice import mask_intervals, strand_labels, window_batches
from genorrn.io.annotation import Annotation
from genorrn.io.fasta import Genome
from genorrn.io.outputs import atomic_outputs, check_output_path
from genorrn.io.tracks import write_bed6, write_bedgraph, write_bigwig
from genorrn.metrics import average_precision, site_metrics
from genorrn.predict import STRAND_NAMES, StrandScores, predict_genome
from genorrn.regions import Region
from genorrn.streaming import StreamingPredictor

MODEL_NAME = "genorrn_splice"
SITE_CHANNELS = {"acceptor": 1, "donor": 2}
BLOCK = 1_000_000  # positions read back from the score files at a time


def output_paths(prefix: str | os.PathLike, fmt: str) -> dict[tuple[str, str], Path]:
    """``{(site, strand): path}`` plus ``("sites", "")`` for the BED file."""
    ext = {"bigwig": "bw", "bedgraph": "bedgraph"}[fmt]
    paths = {
        (site, strand): Path(f"{prefix}.{site}.{STRAND_NAMES[strand]}.{ext}")
        for site in SITE_CHANNELS
        for strand in "+-"
    }
    paths["sites", ""] = Path(f"{prefix}.sites.bed")
    return paths


def _blocks(entry: StrandScores, column: int) -> Iterator[tuple[str, int, np.ndarray]]:
    for region in entry.regions:
        for start in range(region.start, region.end, BLOCK):
            end = min(start + BLOCK, region.end)
            yield entry.chrom, start, entry.scores.read(start, end)[:, column]


def _sites(entries: list[StrandScores], threshold: float) -> list[tuple]:
    rows = []
    for entry in entries:
        for region in entry.regions:
            for start in range(region.start, region.end, BLOCK):
                block = entry.scores.read(start, min(start + BLOCK, region.end))
                for column, site in enumerate(SITE_CHANNELS):
                    for i in np.flatnonzero(block[:, column] >= threshold).tolist():
                        p = float(block[i, column])
                        rows.append((entry.chrom, start + i, site, int(round(1000 * p)), entry.strand))
    order = {}
    for entry in entries:
        order.setdefault(entry.chrom, len(order))
    rows.sort(key=lambda r: (order[r[0]], r[1], r[4], r[2]))
    return [(c, p, p + 1, site, score, strand) for c, p, site, score, strand in rows]


def predict_to_files(
    predictor: StreamingPredictor,
    genome: Genome,
    regions: list[Region],
    prefix: str | os.PathLike,
    fmt: str = "bigwig",
    threshold: float = 0.5,
    progress: Callable[[int], None] | None = None,
    zoom_levels: int = 0,
) -> dict[str, int]:
    """Predict both strands of ``regions`` and write the tracks and the sites BED.

    All files appear together at the end (temporary names, then renames) or not at all.
    ``zoom_levels``: bigWig zoom summaries (see ``write_bigwig``; 0 = none). Returns
    ``{"sites": rows in the BED, "bases": the regions' length, "positions_both_strands": 2 x
    bases}`` (every base is predicted once per strand).
    """
    paths = output_paths(prefix, fmt)
    for path in paths.values():
        check_output_path(path)
    entries = predict_genome(
        predictor, genome, regions, list(SITE_CHANNELS.values()), progress=progress,
        tmpdir=str(Path(prefix).parent) if str(Path(prefix).parent) else None,
    )  # fmt: skip
    try:
        sizes = []
        for region in regions:
            if region.chrom not in dict(sizes):
                sizes.append((region.chrom, genome.lengths[region.chrom]))
        keys = list(paths)
        with atomic_outputs([paths[k] for k in keys]) as tmps:
            tmp = dict(zip(keys, tmps))
            for (site, strand), path in tmp.items():
                if site == "sites":
                    continue
                column = list(SITE_CHANNELS).index(site)
                blocks = (b for e in entries if e.strand == strand for b in _blocks(e, column))
                if fmt == "bigwig":
                    write_bigwig(path, sizes, blocks, zoom_levels)
                else:
                    write_bedgraph(path, blocks)
            rows = _sites(entries, threshold)
            write_bed6(tmp["sites", ""], rows)
    finally:
        for entry in entries:
            entry.scores.close()
    bases = sum(r.end - r.start for r in regions)
    return {"sites": len(rows), "bases": bases, "positions_both_strands": 2 * bases}


def gene_body_scores(
    predictor: StreamingPredictor,
    genome: Genome,
    annotation: Annotation,
    regions: list[Region],
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, probabilities)`` of every gene-body position inside ``regions``, both
    strands, each gene on its own strand (genes crossing a region boundary are skipped).

    Whole regions are streamed (one contiguous pass per strand, cheaper than one task per
    gene), then the gene-body positions are read back.
    """
    labels, scores = [], []
    entries = predict_genome(predictor, genome, regions, [0, 1, 2], progress=progress)
    try:
        for entry in entries:
            length = genome.lengths[entry.chrom]
            for region in entry.regions:
                lab = strand_labels(annotation, entry.chrom, entry.strand, length, [region])
                for a, b in mask_intervals(lab.in_gene[region.start : region.end]):
                    a, b = a + region.start, b + region.start
                    labels.append(lab.label[a:b])
                    scores.append(entry.scores.read(a, b).copy())
    finally:
        for entry in entries:
            entry.scores.close()
    if not labels:
        from genorrn.errors import InputError

        raise InputError(f"{annotation.path}: no gene lies wholly inside the evaluated regions")
    return np.concatenate(labels), np.concatenate(scores)


def evaluate(
    predictor: StreamingPredictor,
    genome: Genome,
    annotation: Annotation,
    regions: list[Region],
    progress: Callable[[int], None] | None = None,
    threshold: float = 0.5,
) -> dict:
    """SpliceAI metrics (top-k, PR-AUC per class) over every gene body inside ``regions``
    (:func:`gene_body_scores`), precision/recall of the sites called at ``threshold``, and
    calibration (ECE over positions with probability >= 0.01, Brier score, reliability)."""
    label, prob = gene_body_scores(predictor, genome, annotation, regions, progress)
    classes = {i: name for i, name in enumerate(SPLICE_CLASSES) if i}
    return {
        "regions": [str(r) for r in regions],
        "evaluated_positions": int(len(label)),
        "metrics": site_metrics(label, prob, classes, threshold),
    }


def merge_parts(
    part_prefixes: list[str], prefix: str | os.PathLike, fmt: str = "bigwig", zoom_levels: int = 0
) -> dict:
    """Merge the outputs of several ``predict splice --region`` runs (e.g. scattered over
    chromosome chunks) into one file per class and strand plus one sites BED.

    Parts must cover disjoint regions of the same FASTA; chromosome order and lengths come
    from the parts' bigWig headers. Tracks are merged block by block (memory does not grow
    with the genome); writes atomically; returns counts.
    """
    import pyBigWig

    from genorrn.errors import InputError

    src = {p: output_paths(p, "bigwig") for p in part_prefixes}
    for paths in src.values():
        for path in paths.values():
            if not path.exists():
                raise InputError(f"{path}: prediction part not found")
    sizes: dict[str, int] = {}
    for paths in src.values():
        bw = pyBigWig.open(str(paths["acceptor", "+"]))
        if bw is None:
            raise InputError(f"{paths['acceptor', '+']}: not a bigWig file")
        for chrom, length in bw.chroms().items():
            if sizes.setdefault(chrom, length) != length:
                raise InputError(f"{paths['acceptor', '+']}: {chrom} length differs between parts")
        bw.close()

    def blocks(key):
        handles = [pyBigWig.open(str(paths[key])) for paths in src.values()]
        try:
            for chrom, length in sizes.items():
                for start in range(0, length, BLOCK):
                    end = min(start + BLOCK, length)
                    merged = np.full(end - start, np.nan, np.float32)
                    for bw in handles:
                        if chrom in bw.chroms():
                            values = bw.values(chrom, start, end, numpy=True)
                            merged = np.where(np.isnan(values), merged, values)
                    for a, b in mask_intervals(~np.isnan(merged)):
                        yield chrom, start + a, merged[a:b]
        finally:
            for bw in handles:
                bw.close()

    dest = output_paths(prefix, fmt)
    keys = list(dest)
    rows = []
    with atomic_outputs([dest[k] for k in keys]) as tmps:
        for key, path in zip(keys, tmps):
            if key == ("sites", ""):
                continue
            if fmt == "bigwig":
                write_bigwig(path, list(sizes.items()), blocks(key), zoom_levels)
            else:
                write_bedgraph(path, blocks(key))
        order = {chrom: i for i, chrom in enumerate(sizes)}
        for paths in src.values():
            for line in paths["sites", ""].read_text().splitlines():
                c, s, e, name, score, strand = line.split("\t")
                rows.append((order[c], int(s), strand, name, c, int(e), int(score)))
        rows.sort()
        write_bed6(tmps[keys.index(("sites", ""))],
                   [(c, s, e, n, sc, st) for _, s, st, n, c, e, sc in rows])  # fmt: skip
    return {"parts": len(part_prefixes), "chromosomes": len(sizes), "sites": len(rows)}


def site_pr_auc(model, arrays: dict[str, np.ndarray], batch_size: int) -> dict:
    """Validation PR-AUC: average precision per site class over the weighted positions of
    windows (``val_pr_auc_acceptor``, ``val_pr_auc_donor``) and their mean (``val_pr_auc``)."""
    from genorrn.encoding import DNA_TABLE

    scores = {c: [] for c in SITE_CHANNELS.values()}
    truths = []
    for i in range(0, len(arrays["seq"]), batch_size):
        probs = np.asarray(model.predict_on_batch(DNA_TABLE[arrays["seq"][i : i + batch_size]]))
        keep = arrays["weight"][i : i + batch_size].astype(bool)
        truths.append(arrays["label"][i : i + batch_size][keep])
        for c in scores:
            scores[c].append(probs[..., c][keep])
    truth = np.concatenate(truths)
    per_class = {f"val_pr_auc_{site}": average_precision(truth == c, np.concatenate(scores[c]))
                 for site, c in SITE_CHANNELS.items()}  # fmt: skip
    return {"val_pr_auc": float(np.nanmean(list(per_class.values())))} | per_class


def training_task(train_arrays: dict, validation_arrays: dict, batch_size: int,
                  site_weight: float):  # fmt: skip
    """The splice parts of :func:`genorrn.training.train`: shard windows weighted by
    ``site_weight`` at sites, cross-entropy, selection on mean validation PR-AUC."""
    import keras

    from genorrn.training import TrainingTask

    data_sha256 = fingerprint(
        *(np.ascontiguousarray(arrays[key]) for arrays in (train_arrays, validation_arrays)
          for key in ("seq", "label", "weight"))
    )  # fmt: skip
    return TrainingTask(
        name=MODEL_NAME, selection="val_pr_auc",
        loss=keras.losses.SparseCategoricalCrossentropy(),
        batches=lambda seed: window_batches(train_arrays, batch_size, site_weight, seed=seed),
        validate=lambda model: site_pr_auc(model, validation_arrays, batch_size),
        data_sha256=data_sha256,
        facts={"window": int(train_arrays["seq"].shape[1]),
               "train_windows": len(train_arrays["seq"])},
        positions_per_batch=batch_size * int(train_arrays["seq"].shape[1]),
    )  # fmt: skip


def train_splice(train_arrays: dict, validation_arrays: dict, out, cfg, **options) -> dict:
    """Train a splice labeller with :func:`genorrn.training.train` (``cfg``: a
    ``TrainConfig.for_task("splice", …)``; ``options``: ``resume``, ``init``, ``log``,
    ``extra`` as there); returns the final state."""
    from genorrn.training import train

    task = training_task(train_arrays, validation_arrays, cfg.batch_size,
                         cfg.options["site_weight"])  # fmt: skip
    return train(task, out, cfg, **options)


__all__ = ["evaluate", "merge_parts", "output_paths", "predict_to_files", "train_splice",
           "training_task"]
