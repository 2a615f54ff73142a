"""Training loop shared by the genorrn tasks: Keras ``fit`` with class weights, validation PR-AUC
model selection, early stopping, checkpoints, resume, seeds and optional mixed precision.

Output folder layout (``OUT``)::

    OUT/model.keras          best model by validation PR-AUC, saved in float32
    OUT/last.keras           latest epoch (with optimizer state), for --resume
    OUT/state.json           epoch, best score, epochs without improvement, history
    OUT/train_config.json    everything needed to reproduce the run
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import numpy as np

from genorrn.checkpoints import (
    CHECKPOINT_ERRORS,
    checkpoint_error,
    fingerprint,
    read_json,
    resumable,
    save_model,
    write_json,
)
from genorrn.encoding import DNA_TABLE
from genorrn.errors import InputError
from genorrn.metrics import average_precision
from genorrn.models.labeller import LabellerConfig, build_labeller, float32_labeller


@dataclass
class TrainConfig:
    model: LabellerConfig = field(default_factory=LabellerConfig)
    epochs: int = 10
    batch_size: int = 16
    learning_rate: float = 2e-3
    site_weight: float = 10.0  # loss weight of a site position relative to a "neither" one
    patience: int = 3
    steps_per_epoch: int | None = None  # None: one pass over the training windows
    seed: int = 0
    mixed_precision: bool = False
    lr_schedule: str = "constant"  # "constant", or "cosine": decay to 0 over `epochs`
    keep_checkpoints: bool = False  # also save every epoch's model as OUT/epoch_NNN.keras


def scheduled_rate(cfg: TrainConfig, epoch: int) -> float:
    """Learning rate of 0-based ``epoch`` (a function of the epoch only, so resumes agree)."""
    if cfg.lr_schedule == "constant":
        return cfg.learning_rate
    if cfg.lr_schedule == "cosine":
        return cfg.learning_rate * 0.5 * (1.0 + np.cos(np.pi * epoch / max(cfg.epochs, 1)))
    raise ValueError(f"unknown learning-rate schedule {cfg.lr_schedule!r}")


class WindowBatches(keras.utils.PyDataset):
    """Batches of one-hot windows from shard arrays (encoded on the fly by table lookup)."""

    def __init__(self, arrays, batch_size, class_weights, shuffle, seed=0, steps=None, **kwargs):
        super().__init__(**kwargs)
        self.seq, self.label, self.weight = arrays["seq"], arrays["label"], arrays["weight"]
        self.batch_size, self.class_weights = batch_size, np.asarray(class_weights, np.float32)
        self.shuffle, self.rng = shuffle, np.random.default_rng(seed)
        self.steps = steps or int(np.ceil(len(self.seq) / batch_size))
        self.order = np.arange(len(self.seq))
        self.on_epoch_end()

    def __len__(self):
        return self.steps

    def on_epoch_end(self):
        if self.shuffle:
            self.order = self.rng.permutation(len(self.seq))

    def __getitem__(self, index):
        idx = self.order[np.arange(index * self.batch_size, (index + 1) * self.batch_size) % len(self.order)]
        label = self.label[idx]
        sample_weight = self.weight[idx] * self.class_weights[label]
        return DNA_TABLE[self.seq[idx]], label.astype(np.int32), sample_weight


def site_pr_auc(model: keras.Model, arrays, batch_size: int, classes: dict[int, str]) -> dict:
    """Average precision per site class over the weighted positions of windows."""
    scores = {c: [] for c in classes}
    truths = []
    for i in range(0, len(arrays["seq"]), batch_size):
        probs = np.asarray(model.predict_on_batch(DNA_TABLE[arrays["seq"][i : i + batch_size]]))
        keep = arrays["weight"][i : i + batch_size].astype(bool)
        truths.append(arrays["label"][i : i + batch_size][keep])
        for c in classes:
            scores[c].append(probs[..., c][keep])
    truth = np.concatenate(truths)
    return {
        name: average_precision(truth == c, np.concatenate(scores[c])) for c, name in classes.items()
    }


def gpu_available() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def set_precision(mixed: bool) -> bool:
    """Switch mixed_float16 on when asked and a GPU exists; on CPU warn and stay in float32."""
    if mixed and not gpu_available():
        print(
            "genorrn: warning: --mixed-precision ignored: no GPU found, and float16 LSTMs are "
            "slower than float32 on CPU; training in float32",
            file=sys.stderr,
        )
        mixed = False
    keras.config.set_dtype_policy("mixed_float16" if mixed else "float32")
    return mixed


def float32_copy(model: keras.Model, config: LabellerConfig, name: str) -> keras.Model:
    """The same weights in a float32 model (inference files are saved in float32)."""
    return float32_labeller(config, model.get_weights(), name)


class Selection(keras.callbacks.Callback):
    """Validation PR-AUC after each epoch; keeps the best model, the last checkpoint, the state
    file, and stops after ``patience`` epochs without improvement."""

    def __init__(self, out: Path, validation, cfg: TrainConfig, classes, name, state, log):
        super().__init__()
        self.out, self.validation, self.cfg, self.classes = out, validation, cfg, classes
        self.name, self.state, self.log = name, state, log
        self.t0 = time.time()

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.time()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.time() - self.t0
        per_class = site_pr_auc(self.model, self.validation, self.cfg.batch_size, self.classes)
        score = float(np.nanmean(list(per_class.values())))
        width = self.validation["seq"].shape[1]
        positions = (self.cfg.steps_per_epoch or 0) * self.cfg.batch_size * width
        entry = {
            "epoch": epoch + 1,
            "loss": float(logs.get("loss", float("nan"))),
            "lr": float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)),
            "val_pr_auc": round(score, 4),
            **{f"val_pr_auc_{k}": round(v, 4) for k, v in per_class.items()},
            "seconds": round(seconds, 1),
            "train_nt_per_s": round(positions / seconds) if positions else None,
        }
        self.state["history"].append(entry)
        self.log(json.dumps(entry))
        improved = score > self.state["best"]
        if improved or self.cfg.keep_checkpoints:
            clean = float32_copy(self.model, self.cfg.model, self.name)
        if improved:
            self.state["best"], self.state["wait"], self.state["best_epoch"] = score, 0, epoch + 1
            save_model(clean, self.out / "model.keras")
        else:
            self.state["wait"] += 1
        if self.cfg.keep_checkpoints:  # e.g. for 'genorrn models average'
            save_model(clean, self.out / f"epoch_{epoch + 1:03d}.keras")
        self.state["epoch"] = epoch + 1
        save_model(self.model, self.out / "last.keras")
        write_json(self.out / "state.json", self.state)
        if self.state["wait"] >= self.cfg.patience:
            self.log(f"early stop: no validation PR-AUC gain for {self.cfg.patience} epochs")
            self.model.stop_training = True


def train(
    train_arrays,
    validation_arrays,
    out: str | os.PathLike,
    cfg: TrainConfig,
    classes: dict[int, str],
    name: str,
    resume: bool = False,
    log=print,
    init_weights: keras.Model | None = None,
    extra: dict | None = None,
) -> dict:
    """Train a labeller; returns the final state (history, best score and epoch).

    ``init_weights``: a model of the same architecture whose weights are the starting point.
    ``extra``: more facts for ``OUT/train_config.json`` (e.g. the model training started from).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(cfg.seed)
    mixed = set_precision(cfg.mixed_precision)
    width = train_arrays["seq"].shape[1]
    cfg.steps_per_epoch = cfg.steps_per_epoch or int(np.ceil(len(train_arrays["seq"]) / cfg.batch_size))
    state = {"epoch": 0, "best": -1.0, "wait": 0, "best_epoch": 0, "history": []}
    data_sha256 = fingerprint(
        *(np.ascontiguousarray(arrays[key]) for arrays in (train_arrays, validation_arrays)
          for key in ("seq", "label", "weight"))
    )  # fmt: skip
    if resume and resumable(out, cfg.model, data_sha256):
        state = read_json(out / "state.json")
        try:
            model = keras.saving.load_model(out / "last.keras")
        except CHECKPOINT_ERRORS as exc:
            raise checkpoint_error(out / "last.keras", exc) from None
        model.optimizer.learning_rate.assign(cfg.learning_rate)  # may be lowered on resume
        log(f"resuming after epoch {state['epoch']} (best val PR-AUC {state['best']:.4f}), "
            f"learning rate {cfg.learning_rate}")
    else:
        model = build_labeller(cfg.model, name=name)
        if init_weights is not None:
            model.set_weights(init_weights.get_weights())
        model.compile(
            optimizer=keras.optimizers.Adam(cfg.learning_rate, clipnorm=1.0),
            loss=keras.losses.SparseCategoricalCrossentropy(),
        )
    write_json(out / "train_config.json", asdict(cfg) | {
        "window": width, "mixed_precision_used": mixed, "data_sha256": data_sha256,
    } | (extra or {}))  # fmt: skip
    if state["wait"] >= cfg.patience or state["epoch"] >= cfg.epochs:
        log("training already finished")
        return state
    weights = [1.0] + [cfg.site_weight] * (cfg.model.num_classes - 1)
    batches = WindowBatches(
        train_arrays, cfg.batch_size, weights, shuffle=True,
        seed=cfg.seed + state["epoch"], steps=cfg.steps_per_epoch,
    )  # fmt: skip
    selection = Selection(out, validation_arrays, cfg, classes, name, state, log)
    schedule = keras.callbacks.LearningRateScheduler(lambda epoch: scheduled_rate(cfg, epoch))
    model.fit(
        batches,
        epochs=cfg.epochs,
        initial_epoch=state["epoch"],
        callbacks=[schedule, selection],
        verbose=2 if sys.stderr.isatty() else 0,
    )
    if not (out / "model.keras").exists():
        raise InputError(f"{out}: training produced no model")
    return state
