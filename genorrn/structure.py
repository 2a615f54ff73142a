"""Protein secondary structure at task level: training parts, evaluation sets and reports,
prediction files. The pieces live where their kind lives — the masked graph and loss in
:mod:`genorrn.models.masked`, Q3/Q8/SOV metrics in :mod:`genorrn.metrics`, protein streaming in
:mod:`genorrn.predict`, the profile plot in :mod:`genorrn.plots`, defaults in
:data:`genorrn.recipes.STRUCTURE`; this module puts them together, as :mod:`genorrn.splice`
does for splice sites.

**Heads.** The model is a genorrn labeller (:func:`genorrn.models.build_labeller`: conv front
end → BiLSTM stack → float32 softmax) with one **Q8 head** over ``SS8_CLASSES`` (``HGIEBTSC``).
**Q3 is derived from Q8** by summing probabilities (:func:`genorrn.encoding.q3_from_q8`), so Q3
and Q8 never contradict each other and the streaming engine runs the model unchanged.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genorrn.checkpoints import fingerprint
from genorrn.data.structure import IGNORE, Q8_TO_Q3, Chain
from genorrn.encoding import q3_from_q8
from genorrn.errors import InputError
from genorrn.metrics import score_chains
from genorrn.predict import predict_sequences
from genorrn.streaming import StreamingPredictor

MODEL_NAME = "genorrn_structure"


# -- training -------------------------------------------------------------------------------


def validation_scores(model, batches) -> dict:
    """Q3 (and Q8 where Q8 labels exist) of the masked training graph on validation batches."""
    right3 = total3 = right8 = total8 = 0
    for i in range(len(batches)):
        (x, mask), codes = batches[i]
        probs = np.asarray(model.predict_on_batch([x, mask]))
        keep = codes != IGNORE
        codes, probs = codes[keep], probs[keep]
        pred8 = probs.argmax(-1)
        pred3 = q3_from_q8(probs).argmax(-1)
        true3 = np.where(codes < 8, Q8_TO_Q3[np.minimum(codes, 7)], codes.astype(np.int64) - 8)
        right3 += int((pred3 == true3).sum())
        total3 += len(codes)
        q8 = codes < 8
        right8 += int((pred8[q8] == codes[q8]).sum())
        total8 += int(q8.sum())
    return {"val_q3": right3 / max(total3, 1), "val_q8": right8 / total8 if total8 else None}


def training_task(train_chains: list[Chain], validation_chains: list[Chain], batch_size: int,
                  max_len: int, teacher: Teacher | None = None):  # fmt: skip
    """The structure parts of :func:`genorrn.training.train`: length-bucketed chain batches,
    the allowed-set loss on the masked graph (with a ``teacher``: the distillation loss),
    selection on validation Q3."""
    from genorrn.data.protein_batches import make_batches
    from genorrn.models.masked import AllowedSetLoss, DistillationLoss, masked_graph
    from genorrn.training import TrainingTask

    validation = make_batches(validation_chains, batch_size, max_len=100_000, shuffle=False)
    data_sha256 = fingerprint(*(
        f"{split}\t{c.id}\t{c.seq}".encode() + c.codes().tobytes()
        for split, chains in (("train", train_chains), ("validation", validation_chains))
        for c in chains
    ), *([f"teacher\t{teacher.sha256}\t{teacher.weight}".encode()] if teacher else []))  # fmt: skip
    soft = teacher.probs if teacher else None
    facts = {"train_chains": len(train_chains), "validation_chains": len(validation_chains)}
    if teacher:
        facts["teacher"] = teacher.facts()
    return TrainingTask(
        name=MODEL_NAME, selection="val_q3",
        loss=DistillationLoss(teacher.weight) if teacher else AllowedSetLoss(),
        batches=lambda seed: make_batches(train_chains, batch_size, max_len=max_len,
                                          shuffle=True, seed=seed, soft=soft),
        validate=lambda model: validation_scores(model, validation),
        data_sha256=data_sha256, graph=masked_graph, facts=facts,
    )  # fmt: skip


def train_structure(train_chains: list[Chain], validation_chains: list[Chain], out, cfg,
                    teacher: Teacher | None = None, **options) -> dict:  # fmt: skip
    """Train a structure labeller with :func:`genorrn.training.train` (``cfg``: a
    ``TrainConfig.for_task("structure", …)``; ``teacher``: distil its probabilities, see
    :class:`Teacher`; ``options``: ``resume``, ``init``, ``log``, ``extra`` as there);
    returns the final state."""
    from genorrn.training import train

    task = training_task(train_chains, validation_chains, cfg.batch_size, cfg.options["max_len"],
                         teacher)  # fmt: skip
    return train(task, out, cfg, **options)


# -- distillation -----------------------------------------------------------------------------


@dataclass
class Teacher:
    """A teacher's raw (uncalibrated) Q8 probabilities of every training chain, for knowledge
    distillation: the student is trained on ``(1 − weight)`` × the labels' loss + ``weight`` ×
    the cross-entropy to these (:class:`~genorrn.models.masked.DistillationLoss`). A typical
    teacher is an ensemble, distilled into one model of a single member's speed."""

    name: str
    sha256: str  # the teacher's weights (an ensemble: its members' fingerprint)
    weight: float
    probs: list[np.ndarray]  # per training chain, (L, 8) float16

    def facts(self) -> dict:
        return {"model": self.name, "sha256": self.sha256, "weight": self.weight}


def teacher_probabilities(loaded, chains: list[Chain], weight: float, cache: Path | None = None,
                          log=print) -> Teacher:  # fmt: skip
    """A :class:`Teacher` from a loaded structure model (``genorrn.load_model``) predicting
    ``chains`` through the streaming engine at its card's settings, raw probabilities (the
    ensemble mean). ``cache``: an ``.npz`` reused when it was made by the same teacher for the
    same chains (a resumed run does not predict again), else (re)written."""
    sha = loaded.weights_sha256
    key = fingerprint(sha.encode(), *(f"{c.id}\t{c.seq}".encode() for c in chains))
    if cache is not None and cache.exists():
        with np.load(cache) as saved:
            if str(saved["key"]) == key:
                log(f"teacher probabilities: {cache} (cached)")
                return Teacher(str(loaded.path), sha, weight,
                               np.split(saved["probs"], saved["offsets"][1:-1]))  # fmt: skip
    start = time.time()
    predictor = loaded.predictor(calibrated=False)
    probs = [p.astype(np.float16) for _, _, p in
             predict_sequences(predictor, ((c.id, c.seq) for c in chains))]  # fmt: skip
    log(f"teacher probabilities of {len(chains)} chains from {loaded.path} "
        f"({time.time() - start:.0f} s)")  # fmt: skip
    if cache is not None:
        from genorrn.io.outputs import atomic_output

        offsets = np.cumsum([0, *(len(p) for p in probs)])
        with atomic_output(cache) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, key=key, probs=np.concatenate(probs), offsets=offsets)
    return Teacher(str(loaded.path), sha, weight, probs)


def prepare_training_sets(data_dir, pools, homology, cache_dir, max_chains=None, log=print,
                          result_file=None):  # fmt: skip
    """Load the pools, apply the homology filter (run here, or read from ``result_file``, a
    'genorrn data homology-filter' result), deduplicate; return ``(train chains, validation
    chains, summary dict for the model card, removed IDs per pool)``."""
    from genorrn.data.structure_sets import (
        filter_candidates,
        load_candidates,
        read_result,
        training_sets,
    )

    sets, candidates = load_candidates(data_dir, pools, max_chains)
    if result_file:
        result = read_result(result_file, sets, candidates)
        log(f"homology filter: {result_file} ({result['detail']['tool']})")
    else:
        result = filter_candidates(sets, candidates, homology, cache_dir, os.cpu_count(), log)
    return training_sets(data_dir, sets, candidates, result, pools, max_chains, log)


# -- evaluation -----------------------------------------------------------------------------


def load_evaluation_sets(data_dir, names, extra_csvs=(), max_chains=None) -> dict:
    """``{name: ChainSet}`` of the named test sets (cb513, ts115, netsurfp2_test), of the
    validation set (``netsurfp2_validation``: all 1,080 chains, for choosing models or
    ensemble members, never reported as a test) and of CSVs in the ps4-dataset layout, each cut
    to ``max_chains`` when given."""
    from genorrn.data.structure import load_netsurfp, load_test_csv
    from genorrn.data.structure_sets import EVALUATION_SETS, VALIDATION

    data_dir = Path(data_dir)
    sets = {}
    for name in names:
        if name in ("cb513", "ts115"):
            sets[name] = load_test_csv(data_dir / f"{name}.csv.gz", name)
        elif name in ("netsurfp2_test", VALIDATION):
            sets[name] = load_netsurfp(data_dir / "netsurfp2")[name.removeprefix("netsurfp2_")]
        else:
            raise InputError(f"--sets: unknown set {name!r}; choose from "
                             f"{', '.join((*EVALUATION_SETS, VALIDATION))}")  # fmt: skip
    for path in extra_csvs:
        s = load_test_csv(path)
        sets[s.name] = s
    if max_chains:
        sets = {n: s.head(max_chains) for n, s in sets.items()}
    return sets


def evaluate(predictor: StreamingPredictor, chains: list[Chain]) -> dict:
    """Q3/Q8 report of a model (through the streaming engine) on labelled chains."""
    start = time.time()
    probs = [p for _, _, p in predict_sequences(predictor, ((c.id, c.seq) for c in chains))]
    report = score_chains(chains, probs)
    report["chains"] = len(chains)
    report["seconds"] = round(time.time() - start, 1)
    return report


def chain_scores(predictor: StreamingPredictor, chains: list[Chain]):
    """``(allowed, probabilities)`` of every scored residue of ``chains``: ``allowed`` marks
    the Q8 classes a residue's label allows (one for a Q8 label, a Q3 group for a Q3 label),
    as the training loss does; for calibration on the validation set."""
    from genorrn.data.structure import ALLOWED

    allowed, probs = [], []
    for chain, (_, _, p8) in zip(chains, predict_sequences(predictor, ((c.id, c.seq)
                                                                       for c in chains))):  # fmt: skip
        codes = chain.codes()
        keep = codes != IGNORE
        allowed.append(ALLOWED[codes[keep]])
        probs.append(p8[keep])
    return np.concatenate(allowed), np.concatenate(probs)


# -- prediction files -----------------------------------------------------------------------


def write_predictions(results: Iterable[tuple[str, str, np.ndarray]], out: str | os.PathLike,
                      fmt: str, folder: bool, source: str | os.PathLike = "",
                      keep: str | None = None):  # fmt: skip
    """Write ``(id, sequence, Q8 probabilities)`` results as NetSurfP-2.0-style CSV (one file)
    or PSIPRED ss2 / horiz (one file, or with ``folder`` one ``ID.ss2`` per record), under
    temporary names (a folder's files in a temporary folder), then renamed: a failure part way
    leaves no partial output. Returns the result whose id is ``keep`` (to plot it), else None.
    Two records whose IDs map to one file name are an error naming ``source``."""
    from genorrn.io import structure_formats as formats
    from genorrn.io.outputs import atomic_files_in, atomic_output

    out, kept = Path(out), None
    if fmt == "csv":
        with atomic_output(out) as tmp, open(tmp, "w", newline="") as handle:
            handle.write(formats.CSV_HEADER + "\n")
            for rid, seq, p8 in results:
                handle.write(formats.csv_rows(rid, seq, q3_from_q8(p8), p8))
                kept = (rid, seq, p8) if rid == keep else kept
        return kept
    writer = formats.ss2_text if fmt == "ss2" else formats.horiz_text
    if not folder:
        for rid, seq, p8 in results:
            with atomic_output(out) as tmp:
                Path(tmp).write_text(writer(seq, q3_from_q8(p8)))
            kept = (rid, seq, p8) if rid == keep else kept
        return kept
    written: dict[str, str] = {}
    with atomic_files_in(out) as tmp:
        for rid, seq, p8 in results:
            name = formats.safe_filename(rid) + "." + fmt
            if name in written:
                raise InputError(f"{source}: records {written[name]!r} and {rid!r} map to the "
                                 f"same output file name {name!r}")  # fmt: skip
            written[name] = rid
            (tmp / name).write_text(writer(seq, q3_from_q8(p8)))
            kept = (rid, seq, p8) if rid == keep else kept
    return kept
