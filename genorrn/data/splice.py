"""Splice-site datasets: genome + annotation → labelled windows on both strands, fixed splits.

Labels (``shared/data/README.md``): 0 neither, 1 acceptor, 2 donor, per nucleotide, on the
strand of the transcript. Evaluated positions are the nucleotides of gene bodies on the gene's
strand. Splits are genomic regions; a gene belongs to a split only if it lies entirely inside
one of its regions (a gene that spans a boundary belongs to neither side and is weighted 0).

Windows are written in **transcript orientation** (minus-strand windows are reverse
complemented, labels reversed): ``core`` positions tile the gene bodies of one strand, with
``context`` positions of real sequence on each side (zero padding beyond the split region, so
no sequence of another split leaks in). ``offset`` shifts the tiling: each gene body is tiled
from ``offset`` positions before its start (clipped to the split region), so a second shard set
built with e.g. ``offset = core // 2`` puts every site at another place in its window and gives
the LSTMs other contexts (training-set augmentation; the labels are the same).

Arrays in a shard (``.npz``):

* ``seq``     uint8 ``(n, core + 2*context)`` ASCII letters, 0 = padding;
* ``label``   uint8, classes above;
* ``weight``  uint8, 1 where the position counts for loss/metrics (core, inside the split,
  not in an excluded gene), else 0;
* ``chrom``, ``start``, ``strand``: the window's forward-strand origin (start of its core).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genorrn.alphabets import reverse_complement
from genorrn.errors import InputError, OutputError, exception_line
from genorrn.io.annotation import Annotation
from genorrn.io.fasta import Genome
from genorrn.io.outputs import atomic_output, atomic_outputs, check_output_path
from genorrn.regions import Region, check_region, parse_region

ACCEPTOR, DONOR = 1, 2

#: The fixed A. thaliana chr1 split of shared/data/README.md (0-based half-open).
SPLIT_PRESETS: dict[str, dict[str, list[str]]] = {
    "athaliana-chr1": {
        "train": ["NC_003070.9:1-20000000"],
        "validation": ["NC_003070.9:20000001-23000000"],
        "test": ["NC_003070.9:23000001"],
    },
}


def split_regions(preset: str | None = None, **regions: list[str] | None) -> dict[str, list[Region]]:
    """Split name → regions, from a preset and/or explicit region strings (which win)."""
    spec: dict[str, list[str]] = {}
    if preset:
        if preset not in SPLIT_PRESETS:
            raise InputError(f"unknown split preset {preset!r} (known: {', '.join(SPLIT_PRESETS)})")
        spec.update(SPLIT_PRESETS[preset])
    spec.update({k: v for k, v in regions.items() if v})
    return {name: [parse_region(r) for r in texts] for name, texts in spec.items()}


@dataclass
class StrandLabels:
    """Labels and evaluation weights of one chromosome strand, forward coordinates."""

    label: np.ndarray  # uint8 (L,)
    in_gene: np.ndarray  # bool (L,): inside a gene body of this strand assigned to the split
    excluded: np.ndarray  # bool (L,): inside a gene that spans a split boundary


def strand_labels(
    annotation: Annotation, chrom: str, strand: str, length: int, split: list[Region],
    all_splits: dict[str, list[Region]] | None = None,
) -> StrandLabels:  # fmt: skip
    """Per-position labels of ``chrom``/``strand`` and which positions belong to ``split``."""
    label = np.zeros(length, np.uint8)
    in_gene = np.zeros(length, bool)
    excluded = np.zeros(length, bool)
    boundaries = [r.clip(length) for regions in (all_splits or {"": split}).values() for r in regions]
    for gene in annotation.genes.values():
        if gene.chrom != chrom or gene.strand != strand:
            continue
        inside = any(r.contains(chrom, gene.start, gene.end) for r in split)
        elsewhere = any(r.contains(chrom, gene.start, gene.end) for r in boundaries)
        if inside:
            in_gene[gene.start : gene.end] = True
        elif not elsewhere and any(
            r.chrom == chrom and r.start < gene.end and gene.start < r.end for r in boundaries
        ):
            excluded[gene.start : gene.end] = True  # spans a boundary: neither side
        for tx in gene.transcripts:
            acceptors, donors = tx.splice_sites()
            label[acceptors] = ACCEPTOR
            label[donors] = DONOR
    return StrandLabels(label, in_gene & ~excluded, excluded)


def mask_intervals(mask: np.ndarray) -> list[tuple[int, int]]:
    """Runs of True in a boolean array as half-open intervals."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def check_offset(offset: int, core: int) -> None:
    """A tiling offset is in ``[0, core)``; a one-line error otherwise."""
    if not 0 <= offset < core:
        raise InputError(f"--offset {offset} must be in [0, --core={core})")


def iter_windows(
    genome: Genome,
    annotation: Annotation,
    split: list[Region],
    all_splits: dict[str, list[Region]],
    core: int,
    context: int,
    only: list[Region] | None = None,
    offset: int = 0,
) -> Iterator[tuple[str, int, str, np.ndarray, np.ndarray, np.ndarray]]:
    """Yield ``(chrom, core_start, strand, seq, label, weight)`` windows of one split."""
    check_offset(offset, core)
    width = core + 2 * context
    for region in split:
        region = check_region(region, genome.lengths, str(genome.path))
        chrom, length = region.chrom, genome.lengths[region.chrom]
        for strand in "+-":
            lab = strand_labels(annotation, chrom, strand, length, split, all_splits)
            for lo, hi in mask_intervals(lab.in_gene[region.start : region.end]):
                lo, hi = lo + region.start, hi + region.start
                for start in range(max(lo - offset, region.start), hi, core):
                    if only and not any(
                        o.chrom == chrom and o.start <= start < (o.end or length) for o in only
                    ):
                        continue
                    a, b = max(start - context, region.start), min(start + core + context, region.end)
                    seq = np.zeros(width, np.uint8)
                    label = np.zeros(width, np.uint8)
                    weight = np.zeros(width, np.uint8)
                    off = a - (start - context)
                    text = genome.fetch(chrom, a, b).upper()
                    seq[off : off + b - a] = np.frombuffer(text.encode("ascii"), np.uint8)
                    label[off : off + b - a] = lab.label[a:b]
                    c_end = min(start + core, region.end)
                    weight[context : context + c_end - start] = ~lab.excluded[start:c_end]
                    if strand == "-":
                        seq = np.frombuffer(
                            reverse_complement(seq.tobytes().decode("latin-1")).encode("latin-1"),
                            np.uint8,
                        ).copy()
                        label, weight = label[::-1].copy(), weight[::-1].copy()
                    yield chrom, start, strand, seq, label, weight


def collect_windows(
    genome: Genome,
    annotation: Annotation,
    split_name: str,
    splits: dict[str, list[Region]],
    core: int = 1500,
    context: int = 200,
    only: list[Region] | None = None,
    offset: int = 0,
) -> dict[str, np.ndarray]:
    """All windows of one split as shard arrays (empty arrays when the split has no genes);
    ``arrays["summary"]`` is a JSON string with counts."""
    rows = list(
        iter_windows(genome, annotation, splits[split_name], splits, core, context, only, offset)
    )
    width = core + 2 * context
    if rows:
        chroms, starts, strands, seqs, labels, weights = zip(*rows)
    else:  # an empty shard (e.g. a scatter part without genes of this split) is valid
        chroms, starts, strands = (), (), ()
        seqs = labels = weights = [np.zeros((0, width), np.uint8)]
    stack = np.stack if rows else np.concatenate
    label, weight = stack(labels), stack(weights)
    counted = weight.astype(bool)
    summary = {
        "split": split_name,
        "regions": [str(r) for r in splits[split_name]],
        "windows": len(rows),
        "core": core,
        "context": context,
        "offset": offset,
        "positions": int(counted.sum()),
        "acceptors": int((label[counted] == ACCEPTOR).sum()),
        "donors": int((label[counted] == DONOR).sum()),
    }
    return {
        "seq": stack(seqs),
        "label": label,
        "weight": weight,
        "chrom": np.array(chroms, dtype=str),
        "start": np.array(starts, np.int64),
        "strand": np.array(strands, dtype=str),
        "summary": np.array(json.dumps(summary)),
    }


def write_shard(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    """Write shard arrays as a compressed ``.npz`` (to a temporary name, then renamed)."""
    with atomic_output(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **arrays)


def write_shards(outdir: str | os.PathLike, shards: dict[str, dict[str, np.ndarray]],
                 manifest: dict) -> None:  # fmt: skip
    """Write ``OUTDIR/NAME.npz`` for every shard and ``OUTDIR/manifest.json`` together: each
    under a temporary name, all renamed only once every one is complete. A missing ``outdir``
    is made here and removed again if writing fails, so a failed run leaves nothing."""
    outdir = Path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise OutputError(f"{outdir}: exists and is not a folder (-o is the output folder)")
    made = not outdir.exists()
    check_output_path(outdir / "manifest.json" if not made else outdir)
    outdir.mkdir(exist_ok=True)
    names = list(shards)
    try:
        with atomic_outputs([outdir / f"{n}.npz" for n in names] + [outdir / "manifest.json"]
                            ) as tmps:  # fmt: skip
            for tmp, name in zip(tmps, names):
                with open(tmp, "wb") as handle:
                    np.savez_compressed(handle, **shards[name])
            tmps[-1].write_text(json.dumps(manifest, indent=2))
    except BaseException:
        if made:
            import shutil

            shutil.rmtree(outdir, ignore_errors=True)
        raise


def load_shards(paths: list[str | os.PathLike]) -> dict[str, np.ndarray]:
    """Concatenate the arrays of several shards (clear errors for missing/corrupt files)."""
    parts: dict[str, list[np.ndarray]] = {"seq": [], "label": [], "weight": []}
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise InputError(f"{path}: shard not found")
        try:
            with np.load(path) as data:
                for key in parts:
                    parts[key].append(data[key])
        except Exception as exc:  # noqa: BLE001 - any failure to read a user's file (truncated
            # zip: BadZipFile, zlib.error, EOFError; corrupt array header: ValueError, …)
            raise InputError(f"{path}: not a genorrn splice shard, or a truncated one "
                             f"({exception_line(exc)})") from None  # fmt: skip
    if not parts["seq"]:
        raise InputError("no shards given")
    widths = {a.shape[1] for a in parts["seq"]}
    if len(widths) > 1:
        raise InputError(f"shards have different window widths {sorted(widths)}: rebuild them alike")
    return {k: np.concatenate(v) for k, v in parts.items()}


def window_batches(arrays: dict[str, np.ndarray], batch_size: int, site_weight: float,
                   shuffle: bool = True, seed: int = 0):  # fmt: skip
    """Training batches ``(onehot, label, sample_weight)`` of shard arrays, one pass per epoch,
    reshuffled by ``on_epoch_end()`` (a ``keras.utils.PyDataset``). A position's sample weight
    is its shard weight times ``site_weight`` for acceptor/donor positions (1 for 'neither')."""
    import keras

    from genorrn.encoding import DNA_TABLE

    class WindowBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.rng = np.random.default_rng(seed)
            self.order = np.arange(len(arrays["seq"]))
            self.class_weights = np.array([1.0, site_weight, site_weight], np.float32)
            self.on_epoch_end()

        def __len__(self):
            return int(np.ceil(len(arrays["seq"]) / batch_size))

        def on_epoch_end(self):
            if shuffle:
                self.order = self.rng.permutation(len(arrays["seq"]))

        def __getitem__(self, index):
            idx = self.order[index * batch_size : (index + 1) * batch_size]
            label = arrays["label"][idx]
            weight = arrays["weight"][idx] * self.class_weights[label]
            return DNA_TABLE[arrays["seq"][idx]], label.astype(np.int32), weight

    return WindowBatches()
