"""The one training loop of genorrn: every task trains through :func:`train`.

A task hands in its parts as a :class:`TrainingTask` — its batches, its loss, the graph that
trains the labeller (the labeller itself, or a masked copy sharing its layers), its validation
metrics and the metric that selects the best epoch (``genorrn.splice.training_task``: PR-AUC;
``genorrn.structure.training_task``: Q3). The loop does the rest the same way for all tasks:
seeds, the learning-rate schedule, mixed precision, model selection, early stopping, checkpoints
and resuming.

Output folder layout (``OUT``)::

    OUT/model.keras          best labeller by the selection metric, saved in float32
    OUT/last.keras           latest epoch's training graph with its optimizer state
    OUT/epoch_NNN.keras      every epoch's labeller (float32), with keep_checkpoints
    OUT/state.json           epoch, best score and epoch, epochs without gain, learning-rate
                             halvings, history
    OUT/train_config.json    everything needed to reproduce the run

**Resume rule** (``resume=True`` and ``OUT/last.keras`` + ``OUT/state.json`` exist): the run
must have the same architecture and the same training/validation data (else a one-line error);
weights and optimizer state come from ``last.keras``, epoch, best score, history and the number
of plateau halvings from ``state.json``. The learning rate is always a function of the options
given now: ``--learning-rate`` × the schedule at the epoch (cosine), × 0.5 per halving so far
(plateau), or ``--learning-rate`` itself (constant) — so a lower ``--learning-rate`` on resume
takes effect, and an unchanged command continues exactly where the run stopped.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import numpy as np

from genorrn.checkpoints import (
    CHECKPOINT_ERRORS,
    checkpoint_error,
    read_json,
    resumable,
    save_model,
    write_json,
)
from genorrn.errors import InputError
from genorrn.models.labeller import LabellerConfig, build_labeller, float32_labeller
from genorrn.recipes import SCHEDULES, recipe

#: tests only: allow mixed_float16 without a GPU, so that path runs on CPU (slowly)
FORCE_MIXED_ENV = "GENORRN_FORCE_MIXED_PRECISION"


@dataclass
class TrainConfig:
    """Options of one training run (a task's defaults: :meth:`for_task`)."""

    model: LabellerConfig
    epochs: int
    batch_size: int
    learning_rate: float
    lr_schedule: str  # "constant", "cosine" (to 0 at `epochs`) or "plateau" (halve without gain)
    patience: int  # stop after this many epochs without a validation gain
    steps_per_epoch: int | None = None  # None: one pass over the training data
    seed: int = 0
    mixed_precision: bool = False
    keep_checkpoints: bool = False  # also save every epoch's model as OUT/epoch_NNN.keras
    #: the task's own options (splice: site_weight; structure: max_len)
    options: dict = field(default_factory=dict)

    @classmethod
    def for_task(cls, task: str, model: LabellerConfig | None = None, **overrides) -> TrainConfig:
        """The recipe's defaults of ``task``; ``overrides`` (``None`` values ignored) win."""
        r = recipe(task)
        given = {k: v for k, v in overrides.items() if v is not None}
        names = {f for f in cls.__dataclass_fields__ if f not in ("model", "options")}
        values = {k: v for k, v in r.training.items() if k in names} | {
            k: v for k, v in given.items() if k in names
        }
        options = {k: v for k, v in r.training.items() if k not in names}
        options |= {k: v for k, v in given.items() if k in options}
        unknown = set(given) - names - set(options)
        if unknown:
            raise TypeError(f"unknown {task} training options: {sorted(unknown)}")
        return cls(model=model or r.labeller_config(), options=options, **values)


def learning_rate(cfg: TrainConfig, epoch: int, halvings: int = 0) -> float:
    """Learning rate of 0-based ``epoch`` (see the resume rule in the module docstring)."""
    if cfg.lr_schedule == "constant":
        return cfg.learning_rate
    if cfg.lr_schedule == "cosine":
        return cfg.learning_rate * 0.5 * (1.0 + math.cos(math.pi * epoch / max(cfg.epochs, 1)))
    if cfg.lr_schedule == "plateau":
        return cfg.learning_rate * 0.5**halvings
    raise ValueError(f"unknown learning-rate schedule {cfg.lr_schedule!r}")


@dataclass
class TrainingTask:
    """What a task hands to :func:`train`."""

    name: str  # Keras model name, e.g. genorrn_splice
    selection: str  # key of validate()'s result that selects the best epoch (higher is better)
    loss: keras.losses.Loss
    #: seed → batches: ``len()`` batches per pass, ``batches[i]`` = ``(x, y)`` or
    #: ``(x, y, sample_weight)``, ``on_epoch_end()`` reshuffles
    batches: Callable[[int], object]
    validate: Callable[[keras.Model], dict]  # training graph → validation metrics
    data_sha256: str  # fingerprint of the training and validation data (resume check)
    #: (labeller, config) → the graph trained (shares the labeller's layers); None: the labeller
    graph: Callable[[keras.Model, LabellerConfig], keras.Model] | None = None
    facts: dict = field(default_factory=dict)  # for train_config.json (sizes, window, …)
    #: positions per batch, for the throughput in the history (None: not reported)
    positions_per_batch: int | None = None


def gpu_available() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def set_precision(mixed: bool) -> bool:
    """Switch mixed_float16 on when asked and a GPU exists (or ``GENORRN_FORCE_MIXED_PRECISION``
    is set, for tests); on CPU warn and stay in float32. Returns whether it is on."""
    if mixed and not gpu_available() and not os.environ.get(FORCE_MIXED_ENV):
        print(
            "genorrn: warning: --mixed-precision ignored: no GPU found, and float16 LSTMs are "
            "slower than float32 on CPU; training in float32",
            file=sys.stderr,
        )
        mixed = False
    keras.config.set_dtype_policy("mixed_float16" if mixed else "float32")
    return mixed


def _restore(out: Path, model: keras.Model, cfg: TrainConfig, log) -> dict:
    """Weights and optimizer state from ``OUT/last.keras``; the rest from ``OUT/state.json``."""
    model.optimizer.build(model.trainable_variables)
    try:
        model.load_weights(out / "last.keras")
    except CHECKPOINT_ERRORS as exc:
        raise checkpoint_error(out / "last.keras", exc) from None
    state = read_json(out / "state.json")
    if "halvings" not in state:  # runs written before the resume rule recorded it
        before = read_json(out / "train_config.json").get("learning_rate", cfg.learning_rate)
        last = state.get("lr", before)
        state["halvings"] = max(0, round(math.log2(before / last))) if last > 0 else 0
    state.setdefault("history", [])
    log(f"resuming after epoch {state['epoch']} (best validation {state['best']:.4f} at epoch "
        f"{state.get('best_epoch', '?')}), learning rate "
        f"{learning_rate(cfg, state['epoch'], state['halvings']):g}")  # fmt: skip
    return state


def train(
    task: TrainingTask,
    out: str | os.PathLike,
    cfg: TrainConfig,
    *,
    resume: bool = False,
    init: keras.Model | None = None,
    log: Callable[[str], None] = print,
    extra: dict | None = None,
) -> dict:
    """Train a labeller of architecture ``cfg.model`` on ``task``; returns the final state.

    ``init``: a labeller of the same architecture whose weights are the starting point (not
    used on a resume). ``extra``: more facts for ``OUT/train_config.json``.
    """
    if cfg.lr_schedule not in SCHEDULES:
        raise ValueError(f"unknown learning-rate schedule {cfg.lr_schedule!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(cfg.seed)
    policy = keras.config.dtype_policy()
    mixed = set_precision(cfg.mixed_precision)
    try:
        labeller = build_labeller(cfg.model, name=task.name)
        if init is not None:
            labeller.set_weights(init.get_weights())
        model = task.graph(labeller, cfg.model) if task.graph else labeller
        model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate, clipnorm=1.0),
                      loss=task.loss)  # fmt: skip
        state = {"epoch": 0, "best": -1.0, "best_epoch": 0, "wait": 0, "halvings": 0,
                 "history": []}  # fmt: skip
        if resume and resumable(out, cfg.model, task.data_sha256):
            state = _restore(out, model, cfg, log)
        write_json(out / "train_config.json", asdict(cfg) | {
            "task": task.name.removeprefix("genorrn_"), "selection": task.selection,
            "mixed_precision_used": mixed, "data_sha256": task.data_sha256,
        } | task.facts | (extra or {}))  # fmt: skip
        if state["wait"] >= cfg.patience or state["epoch"] >= cfg.epochs:
            log("training already finished")
            return state
        _epochs(task, out, cfg, labeller, model, state, log)
    finally:
        keras.config.set_dtype_policy(policy)
    if not (out / "model.keras").exists():
        raise InputError(f"{out}: training produced no model")
    return state


def _epochs(task, out, cfg, labeller, model, state, log) -> None:
    # a resumed run shuffles with another seed, so it does not replay the first epochs' order
    batches = task.batches(cfg.seed + state["epoch"])
    steps = cfg.steps_per_epoch or len(batches)
    started, before = time.time(), state.get("train_seconds", 0.0)
    for epoch in range(state["epoch"], cfg.epochs):
        t0 = time.time()
        rate = learning_rate(cfg, epoch, state["halvings"])
        model.optimizer.learning_rate.assign(rate)
        losses = []
        for step in range(steps):
            index = (epoch * steps + step) % len(batches)
            if index == 0 and (epoch or step):
                batches.on_epoch_end()
            losses.append(float(model.train_on_batch(*batches[index])))
        train_seconds = time.time() - t0
        metrics = task.validate(model)
        score = float(metrics[task.selection])
        entry = {"epoch": epoch + 1, "loss": round(float(np.mean(losses)), 4), "lr": rate,
                 **{k: (None if v is None else round(float(v), 4)) for k, v in metrics.items()},
                 "seconds": round(time.time() - t0, 1)}  # fmt: skip
        if task.positions_per_batch:
            entry["train_positions_per_s"] = round(steps * task.positions_per_batch / train_seconds)
        state["history"].append(entry)
        log(json.dumps(entry))
        improved = score > state["best"]
        if improved or cfg.keep_checkpoints:
            clean = float32_labeller(cfg.model, labeller.get_weights(), task.name)
        if improved:
            state.update(best=score, best_epoch=epoch + 1, wait=0)
            save_model(clean, out / "model.keras")
        else:
            state["wait"] += 1
            if cfg.lr_schedule == "plateau":
                state["halvings"] += 1
        if cfg.keep_checkpoints:  # e.g. for 'genorrn models average'
            save_model(clean, out / f"epoch_{epoch + 1:03d}.keras")
        state["epoch"] = epoch + 1
        state["lr"] = learning_rate(cfg, epoch + 1, state["halvings"])
        state["train_seconds"] = round(before + time.time() - started, 1)
        save_model(model, out / "last.keras")
        write_json(out / "state.json", state)
        if state["wait"] >= cfg.patience:
            log(f"early stop: no {task.selection} gain for {cfg.patience} epochs")
            break
