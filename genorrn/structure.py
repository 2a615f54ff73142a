"""Protein secondary structure: the Q8 labeller, its masked loss, training, evaluation, prediction.

**Heads.** The model is a genorrn labeller (:func:`genorrn.models.build_labeller`: conv front
end → BiLSTM stack → float32 softmax) with one **Q8 head** over ``SS8_CLASSES`` (``HGIEBTSC``).
**Q3 is derived from Q8** by summing probabilities (H,G,I → H; E,B → E; T,S,C → C), so Q3 and
Q8 predictions never contradict each other's probabilities and the streaming engine (one
``head`` layer) runs the model unchanged.

**Loss.** Each residue has a target *code* (:mod:`genorrn.data.structure`): a Q8 class, a Q3
class only (NetSurfP-2.0 has Q3 labels), or masked (unresolved residue, padding). The loss is
``-log Σ p(q8)`` over the Q8 classes the code allows — ordinary cross-entropy for Q8 labels,
cross-entropy of the derived Q3 for Q3 labels — averaged over the unmasked residues.

**Training** runs a masked copy of the labeller graph (shared layers; the conv output is
zeroed outside the chain and the LSTMs get the padding mask, exactly as the streaming engine
does), so right padding never leaks into the backward LSTMs. Predictions for evaluation and
for users go through :class:`genorrn.streaming.StreamingPredictor`.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import numpy as np

from genorrn.alphabets import SS3_CLASSES, SS8_CLASSES
from genorrn.checkpoints import (
    CHECKPOINT_ERRORS,
    checkpoint_error,
    fingerprint,
    read_json,
    resumable,
    save_model,
    write_json,
)
from genorrn.data.structure import ALLOWED, IGNORE, Q8_TO_Q3, Chain, encode_codes, make_batches
from genorrn.encoding import PROTEIN_TABLE
from genorrn.errors import InputError
from genorrn.models.labeller import LabellerConfig, build_labeller
from genorrn.streaming import Stream, StreamingPredictor, Task

MODEL_NAME = "genorrn_structure"
#: Streaming defaults for proteins, from benchmarks/structure_throughput.py and
#: benchmarks/structure_accuracy.py: short sequences waste less padding in small chunks; a
#: protein up to 256 residues is predicted exactly (one chunk), longer ones carry the forward
#: state exactly and give the backward LSTMs a 32-residue lookahead: Q3/Q8 within 0.002 of
#: whole-protein prediction on CB513 and TS115 (chunk 512 + flank 64 matches whole-protein
#: prediction within 0.0002 at about 15 % less throughput).
DEFAULT_CHUNK_SIZE = 256
DEFAULT_FLANK = 32
DEFAULT_BATCH_SIZE = 128

#: (8, 3) matrix summing Q8 probabilities into Q3 (H, E, C).
Q8_TO_Q3_MATRIX = np.eye(len(SS3_CLASSES), dtype=np.float32)[Q8_TO_Q3]


def structure_config(
    units: Iterable[int] = (128, 128),
    conv_filters: int = 64,
    conv_kernel: int = 11,
    conv_layers: int = 2,
    dropout: float = 0.25,
) -> LabellerConfig:
    return LabellerConfig(
        alphabet_size=21, num_classes=len(SS8_CLASSES), lstm_units=list(units),
        bidirectional=True, conv_filters=conv_filters, conv_kernel=conv_kernel,
        conv_layers=conv_layers, dropout=dropout,
    )  # fmt: skip


def q3_from_q8(probs8: np.ndarray) -> np.ndarray:
    """``(..., 8)`` Q8 probabilities → ``(..., 3)`` Q3 probabilities in ``H E C`` order."""
    return np.asarray(probs8, np.float32) @ Q8_TO_Q3_MATRIX


# -- training graph and loss ----------------------------------------------------------------


def training_model(labeller: keras.Model, config: LabellerConfig) -> keras.Model:
    """A ``(onehot, mask) → probs`` model sharing ``labeller``'s layers, masking the padding."""
    layers = {layer.name: layer for layer in labeller.layers}
    x_in = keras.Input((None, config.alphabet_size), name="onehot")
    m_in = keras.Input((None,), dtype="bool", name="mask")
    inside = keras.ops.expand_dims(keras.ops.cast(m_in, "float32"), -1)
    x = x_in
    for i in range(config.conv_layers if config.conv_filters else 0):
        x = layers[f"conv_{i}"](x)
        x = x * keras.ops.cast(inside, x.dtype)
    for i in range(len(config.lstm_units)):
        if config.dropout:
            x = layers[f"dropout_{i}"](x)
        x = layers[f"bilstm_{i}" if config.bidirectional else f"lstm_{i}"](x, mask=m_in)
    probs = layers["head"](x)
    return keras.Model([x_in, m_in], probs, name=labeller.name + "_train")


@keras.saving.register_keras_serializable(package="genorrn")
class AllowedSetLoss(keras.losses.Loss):
    """``-log Σ_{c allowed by the target code} p(c)``, averaged over unmasked residues."""

    def __init__(self, name="allowed_set_crossentropy", **kwargs):
        kwargs.setdefault("reduction", "sum")
        super().__init__(name=name, **kwargs)

    def __call__(self, y_true, y_pred, sample_weight=None):
        # The masked training graph's output carries a Keras mask; Loss.__call__ would weight
        # this already-averaged scalar by it again. The masking is done in call().
        return self.call(y_true, y_pred)

    def call(self, y_true, y_pred):
        table = keras.ops.convert_to_tensor(ALLOWED)
        codes = keras.ops.reshape(keras.ops.cast(y_true, "int32"), keras.ops.shape(y_pred)[:-1])
        allowed = keras.ops.take(table, codes, axis=0)
        p = keras.ops.sum(keras.ops.cast(y_pred, "float32") * allowed, axis=-1)
        weight = keras.ops.cast(keras.ops.sum(allowed, axis=-1) > 0, "float32")
        nll = -keras.ops.log(keras.ops.clip(p, 1e-7, 1.0)) * weight
        return keras.ops.sum(nll) / keras.ops.maximum(keras.ops.sum(weight), 1.0)


# -- metrics --------------------------------------------------------------------------------


def confusion_matrix(truth: np.ndarray, pred: np.ndarray, k: int) -> np.ndarray:
    """``(k, k)`` counts, rows = true class, columns = predicted class."""
    return np.bincount(truth.astype(np.int64) * k + pred, minlength=k * k).reshape(k, k)


def class_report(matrix: np.ndarray, classes: str) -> dict:
    """Accuracy, per-class precision/recall/support and the confusion matrix."""
    total = matrix.sum()
    out = {"accuracy": round(float(np.trace(matrix) / total), 4) if total else None,
           "residues": int(total), "per_class": {}}  # fmt: skip
    for i, name in enumerate(classes):
        predicted, actual = matrix[:, i].sum(), matrix[i].sum()
        out["per_class"][name] = {
            "precision": round(float(matrix[i, i] / predicted), 4) if predicted else None,
            "recall": round(float(matrix[i, i] / actual), 4) if actual else None,
            "support": int(actual),
        }
    out["confusion"] = {"rows_true_cols_pred": classes, "matrix": matrix.tolist()}
    return out


def _segments(states: str, state: str) -> list[tuple[int, int]]:
    """``[start, end)`` runs of ``state`` in ``states``."""
    runs, start = [], None
    for i, s in enumerate(states + "\0"):
        if s == state and start is None:
            start = i
        elif s != state and start is not None:
            runs.append((start, i))
            start = None
    return runs


def sov99(observed: str, predicted: str, states: str = SS3_CLASSES) -> tuple[float, int]:
    """Segment overlap (SOV'99, Zemla et al. 1999) of one chain as ``(sum, N)``; the score is
    ``100 * sum / N``. Positions marked ``-`` in ``observed`` are not scored: they break
    segments, in the observed and the predicted string alike."""
    if len(observed) != len(predicted):
        raise ValueError("observed and predicted differ in length")
    predicted = "".join("-" if o == "-" else p for o, p in zip(observed, predicted))
    total, norm = 0.0, 0
    for state in states:
        predicted_runs = _segments(predicted, state)
        for a0, a1 in _segments(observed, state):
            len1 = a1 - a0
            overlapping = [(b0, b1) for b0, b1 in predicted_runs if b0 < a1 and a0 < b1]
            if not overlapping:
                norm += len1
                continue
            for b0, b1 in overlapping:
                len2 = b1 - b0
                minov = min(a1, b1) - max(a0, b0)
                maxov = max(a1, b1) - min(a0, b0)
                delta = min(maxov - minov, minov, len1 // 2, len2 // 2)
                total += (minov + delta) / maxov * len1
                norm += len1
    return total, norm


def score_chains(chains: Iterable[Chain], probs: Iterable[np.ndarray]) -> dict:
    """Q3 (and Q8 where Q8 labels exist) over the scored residues (label ``>= 0``), and the
    Q3 SOV'99 averaged over chains (``sov99_q3``, unscored residues break segments)."""
    m3 = np.zeros((3, 3), np.int64)
    m8 = np.zeros((8, 8), np.int64)
    sovs = []
    for chain, p8 in zip(chains, probs):
        p8 = np.asarray(p8)
        keep3 = chain.q3 >= 0
        if keep3.any():
            pred3 = q3_from_q8(p8).argmax(-1)
            m3 += confusion_matrix(chain.q3[keep3], pred3[keep3], 3)
            observed = "".join(SS3_CLASSES[k] if k >= 0 else "-" for k in chain.q3)
            total, norm = sov99(observed, "".join(SS3_CLASSES[k] for k in pred3))
            if norm:
                sovs.append(100.0 * total / norm)
        keep8 = chain.q8 >= 0
        if keep8.any():
            m8 += confusion_matrix(chain.q8[keep8], p8[keep8].argmax(-1), 8)
    report = {"q3": class_report(m3, SS3_CLASSES)}
    report["q3"]["sov99_mean_per_chain"] = round(float(np.mean(sovs)), 2) if sovs else None
    if m8.sum():
        report["q8"] = class_report(m8, SS8_CLASSES)
    return report


# -- prediction -----------------------------------------------------------------------------


def make_predictor(
    model: keras.Model,
    chunk_size: int | None = None,
    flank: int | None = None,
    batch_size: int | None = None,
    card: dict | None = None,
) -> StreamingPredictor:
    defaults = (card or {}).get("streaming", {})
    return StreamingPredictor(
        model,
        chunk_size=chunk_size or defaults.get("chunk_size", DEFAULT_CHUNK_SIZE),
        flank=defaults.get("flank", DEFAULT_FLANK) if flank is None else flank,
        batch_size=batch_size or defaults.get("batch_size", DEFAULT_BATCH_SIZE),
    )


def predict_sequences(
    predictor: StreamingPredictor,
    items: Iterable[tuple[object, str]],
    *,
    group: int = 2048,
    progress: Callable[[int], None] | None = None,
) -> Iterator[tuple[object, str, np.ndarray]]:
    """Yield ``(key, sequence, probs8)`` for each ``(key, sequence)`` in input order.

    Sequences are streamed ``group`` at a time through ``predictor`` (one lane per protein,
    ``split=False``: the forward state runs exactly from residue 1); ``progress(n)`` gets the
    number of proteins finished.
    """
    items = iter(items)
    while True:
        batch = []
        for item in items:
            batch.append(item)
            if len(batch) >= group:
                break
        if not batch:
            return
        outputs = [np.zeros((len(seq), predictor.num_classes), np.float32) for _, seq in batch]
        remaining = [len(seq) for _, seq in batch]
        tasks = []
        for index, (_key, seq) in enumerate(batch):
            codes = encode_codes(seq)

            def fetch(s, e, codes=codes):
                return PROTEIN_TABLE[codes[s:e]]

            tasks.append(Task(Stream(index, len(seq), fetch), 0, len(seq)))
        finished = [0]

        def sink(stream, start, probs):
            outputs[stream.name][start : start + len(probs)] = probs
            remaining[stream.name] -= len(probs)
            if remaining[stream.name] == 0:
                finished[0] += 1

        def step(_n):
            if progress is not None and finished[0]:
                progress(finished[0])
                finished[0] = 0

        # longest first: long proteins take many steps, short ones fill the lanes behind them
        order = sorted(range(len(tasks)), key=lambda i: -len(batch[i][1]))
        predictor.run([tasks[i] for i in order], sink, split=False, progress=step)
        if progress is not None and finished[0]:
            progress(finished[0])
        for (key, seq), probs in zip(batch, outputs):
            yield key, seq, probs


def in_background(items: Iterable, maxsize: int = 4096) -> Iterator:
    """Iterate ``items`` in a worker thread, ``maxsize`` ahead of the consumer, so that writing
    outputs overlaps with the next group's prediction (TensorFlow releases the GIL). An
    exception raised by ``items`` is raised again in the consumer."""
    import queue
    import threading

    done = object()
    channel: queue.Queue = queue.Queue(maxsize)
    stop = threading.Event()

    def work():
        try:
            for item in items:
                if stop.is_set():
                    return
                channel.put((True, item))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            channel.put((False, exc))
            return
        channel.put((True, done))

    thread = threading.Thread(target=work, name="genorrn-predict", daemon=True)
    thread.start()
    try:
        while True:
            ok, item = channel.get()
            if not ok:
                raise item
            if item is done:
                return
            yield item
    finally:
        stop.set()


def predict_chains(predictor: StreamingPredictor, chains: list[Chain]) -> list[np.ndarray]:
    return [p for _, _, p in predict_sequences(predictor, ((c.id, c.seq) for c in chains))]


def evaluate(predictor: StreamingPredictor, chains: list[Chain]) -> dict:
    """Q3/Q8 report of a model (through the streaming engine) on labelled chains."""
    start = time.time()
    probs = predict_chains(predictor, chains)
    report = score_chains(chains, probs)
    report["chains"] = len(chains)
    report["seconds"] = round(time.time() - start, 1)
    return report


def load_structure_model(name_or_path: str | os.PathLike) -> tuple[keras.Model, dict]:
    """``(keras model, card)`` of a structure model by name (``models/``) or ``.keras`` path."""
    from genorrn.pretrained import load_model

    loaded = load_model(name_or_path)
    model, card, weights = loaded.keras, loaded.card, loaded.path
    shape = model.output_shape
    if model.input_shape[-1] != 21 or shape[-1] != len(SS8_CLASSES):
        raise InputError(
            f"{weights}: not a protein secondary-structure model (input {model.input_shape[-1]}"
            f" channels, {shape[-1]} classes; expected 21 and 8)"
        )
    return model, card


# -- training -------------------------------------------------------------------------------


@dataclass
class StructureTrainConfig:
    model: LabellerConfig = field(default_factory=structure_config)
    epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 2e-3
    patience: int = 4
    max_len: int = 1024
    steps_per_epoch: int | None = None  # None: one pass over the training chains
    seed: int = 0
    mixed_precision: bool = False
    #: "plateau": halve the rate after an epoch without validation gain; "cosine": decay from
    #: ``learning_rate`` to 0 over ``epochs`` (a function of the epoch only)
    lr_schedule: str = "plateau"


def _validation_q3(model: keras.Model, batches) -> tuple[float, float | None]:
    """Q3 (and Q8 where Q8 labels exist) of the masked training model on validation batches."""
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
    return right3 / max(total3, 1), (right8 / total8 if total8 else None)


def _resume(out: Path, model: keras.Model, cfg: StructureTrainConfig, log) -> dict:
    """Restore weights, optimizer state and learning rate from ``OUT/last.keras`` and the
    epoch, best score and history from ``OUT/state.json``."""
    model.optimizer.build(model.trainable_variables)
    try:
        model.load_weights(out / "last.keras")
    except CHECKPOINT_ERRORS as exc:
        raise checkpoint_error(out / "last.keras", exc) from None
    state = read_json(out / "state.json")
    history = state.get("history") or [{}]
    rate = state.get("lr", history[-1].get("lr", cfg.learning_rate))
    model.optimizer.learning_rate.assign(rate)
    log(f"resuming after epoch {state['epoch']} (best validation Q3 {state['best']:.4f} at "
        f"epoch {state['best_epoch']}), learning rate {rate:g}")  # fmt: skip
    return state


def train_structure(
    train_chains: list[Chain],
    validation_chains: list[Chain],
    out: str | os.PathLike,
    cfg: StructureTrainConfig,
    log: Callable[[str], None] = print,
    extra: dict | None = None,
    resume: bool = False,
    init: keras.Model | None = None,
) -> dict:
    """Train a Q8 structure labeller; select on validation Q3; write ``OUT/model.keras``.

    ``OUT/state.json`` holds the epoch, the best score, the current learning rate and the
    history (loss, validation Q3/Q8, seconds per epoch); ``OUT/last.keras`` the latest epoch's
    training model with its optimizer state; ``OUT/train_config.json`` the configuration
    (plus ``extra``). The learning rate follows ``cfg.lr_schedule`` (by default it halves
    after an epoch without validation gain); training stops after ``patience`` epochs without
    gain. ``resume``: continue from ``last.keras`` and ``state.json`` when both exist (a
    different architecture is refused). ``init``: a labeller of architecture ``cfg.model``
    whose weights are the starting point (ignored on a resume).
    """
    from genorrn.training import float32_copy, scheduled_rate, set_precision

    if cfg.lr_schedule not in ("plateau", "cosine"):
        raise ValueError(f"unknown learning-rate schedule {cfg.lr_schedule!r}")

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(cfg.seed)
    mixed = set_precision(cfg.mixed_precision)
    labeller = build_labeller(cfg.model, name=MODEL_NAME)
    if init is not None:
        labeller.set_weights(init.get_weights())
    model = training_model(labeller, cfg.model)
    model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate, clipnorm=1.0),
                  loss=AllowedSetLoss())  # fmt: skip
    optimizer = model.optimizer
    state = {"epoch": 0, "best": -1.0, "best_epoch": 0, "wait": 0, "lr": cfg.learning_rate,
             "history": []}  # fmt: skip
    data_sha256 = fingerprint(*(
        f"{split}\t{c.id}\t{c.seq}".encode() + c.codes().tobytes()
        for split, chains in (("train", train_chains), ("validation", validation_chains))
        for c in chains
    ))  # fmt: skip
    if resume and resumable(out, cfg.model, data_sha256):
        state = _resume(out, model, cfg, log)
    write_json(out / "train_config.json",
               asdict(cfg) | {"mixed_precision_used": mixed, "train_chains": len(train_chains),
                              "validation_chains": len(validation_chains),
                              "data_sha256": data_sha256} | (extra or {}))  # fmt: skip
    if state["wait"] >= cfg.patience or state["epoch"] >= cfg.epochs:
        log("training already finished")
        return state
    # a resumed run shuffles with another seed (as genorrn.training does)
    train_batches = make_batches(train_chains, cfg.batch_size, max_len=cfg.max_len,
                                 shuffle=True, seed=cfg.seed + state["epoch"])  # fmt: skip
    val_batches = make_batches(validation_chains, cfg.batch_size, max_len=100_000, shuffle=False)
    steps = cfg.steps_per_epoch or len(train_batches)
    started, before = time.time(), state.get("train_seconds", 0.0)
    for epoch in range(state["epoch"], cfg.epochs):
        t0 = time.time()
        if cfg.lr_schedule == "cosine":
            optimizer.learning_rate.assign(scheduled_rate(cfg, epoch))
        losses = []
        for step in range(steps):
            index = (epoch * steps + step) % len(train_batches)
            if index == 0 and (epoch or step):
                train_batches.on_epoch_end()
            (x, mask), codes = train_batches[index]
            losses.append(float(model.train_on_batch([x, mask], codes)))
        q3, q8 = _validation_q3(model, val_batches)
        entry = {"epoch": epoch + 1, "loss": round(float(np.mean(losses)), 4),
                 "val_q3": round(q3, 4), "val_q8": None if q8 is None else round(q8, 4),
                 "lr": float(keras.ops.convert_to_numpy(optimizer.learning_rate)),
                 "seconds": round(time.time() - t0, 1)}  # fmt: skip
        state["history"].append(entry)
        log(json.dumps(entry))
        if q3 > state["best"]:
            state.update(best=q3, best_epoch=epoch + 1, wait=0)
            save_model(float32_copy(labeller, cfg.model, MODEL_NAME), out / "model.keras")
        else:
            state["wait"] += 1
            if cfg.lr_schedule == "plateau":
                optimizer.learning_rate.assign(float(entry["lr"]) * 0.5)
        state["epoch"] = epoch + 1
        state["lr"] = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        state["train_seconds"] = round(before + time.time() - started, 1)
        save_model(model, out / "last.keras")
        write_json(out / "state.json", state)
        if state["wait"] >= cfg.patience:
            log(f"early stop: no validation Q3 gain for {cfg.patience} epochs")
            break
    if not (out / "model.keras").exists():
        raise InputError(f"{out}: training produced no model")
    return state


def log_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def plot_profile(rid: str, seq: str, probs8: np.ndarray, path: str | os.PathLike) -> None:
    """Per-residue Q3 probability profile of one protein (PNG or SVG by suffix), with the
    predicted Q3 string as a colour strip on top. Written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from genorrn.io.outputs import atomic_output

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
    suffix = Path(path).suffix.lower().lstrip(".")
    try:
        with atomic_output(path) as tmp:
            fig.savefig(tmp, format=suffix, dpi=120)
    finally:
        plt.close(fig)
