"""Chromosome-scale inference: fixed-size chunks with carried LSTM states, flat memory.

How a labeller (:func:`genorrn.models.build_labeller`) runs over a sequence of any length:

* The sequence is cut into **chunks** of ``chunk_size`` positions. Each chunk is fed as a
  window ``[start - conv_context, start + chunk_size + flank)``: the left context feeds the
  convolutional front end, the right **flank** is lookahead for the backward LSTMs.
* **Forward LSTMs carry their state exactly** from chunk to chunk (``initial_state`` in,
  ``return_state`` out; never ``stateful=True``, whose ``Bidirectional`` carries the backward
  state in the wrong direction). Each layer runs its core and its flank as two calls so the
  state handed on is the one at the end of the core.
* **Backward LSTMs** start from a zero state at the end of the flank and run right to left over
  flank + core. The flank's length bounds the error: an LSTM's dependence on its initial state
  decays with distance; ``benchmarks/streaming_exactness.py`` measures error against flank.
* **Lanes.** To keep a batch full, every interval to predict is split into segments of whole
  chunks, and ``batch_size`` lanes run segments side by side, one chunk per lane per call. A
  segment that does not start at position 0 first runs one **warm-up chunk** (the chunk before
  it, outputs discarded) so its forward state is the one carried over ``chunk_size`` positions
  (exact up to that decay; ``split=False`` makes every interval one lane, exact from 0).
* **Fixed shapes**: every call has the same ``(batch, window, alphabet)`` shape, so nothing
  retraces; the sequence end is handled with a right-padded mask (the backward LSTM skips the
  padding, as it never sees it in a whole-sequence call).
* Results are handed to a **sink** chunk by chunk (``sink(stream, start, probs)``), so nothing
  holds a whole chromosome's one-hot input or output.
* **Ensembles**: given a list of labellers, one step model runs them all on the same window
  and returns the mean of their probabilities (:mod:`genorrn.models.ensemble`): the input is
  read once, and each chunk is still one call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import keras
import numpy as np

from genorrn.models.ensemble import combine_steps, ensemble_config
from genorrn.models.labeller import config_of


@dataclass(frozen=True)
class Stream:
    """One sequence to stream: ``fetch(start, end)`` returns its one-hot rows ``[start, end)``."""

    name: object
    length: int
    fetch: Callable[[int, int], np.ndarray]


@dataclass(frozen=True)
class Task:
    """Predict positions ``[start, end)`` of ``stream`` (one lane, chunk after chunk)."""

    stream: Stream
    start: int
    end: int


def plan_tasks(
    intervals: Iterable[Task], batch_size: int, chunk_size: int, split: bool = True
) -> list[Task]:
    """Split intervals into segments of whole chunks so that about ``batch_size`` lanes are busy.

    Segments are at least 4 chunks long (one warm-up chunk per segment costs ≤ 25%).
    """
    intervals = list(intervals)
    if not split:
        return intervals
    total = sum(t.end - t.start for t in intervals)
    segment = max(4 * chunk_size, math.ceil(total / batch_size / chunk_size) * chunk_size)
    tasks = []
    for t in intervals:
        for start in range(t.start, t.end, segment):
            tasks.append(Task(t.stream, start, min(start + segment, t.end)))
    # longest first, so lanes finish together
    return sorted(tasks, key=lambda t: t.end - t.start, reverse=True)


def _lstm_from(layer: keras.layers.LSTM, name: str, **overrides) -> keras.layers.LSTM:
    config = layer.get_config() | overrides | {"name": name}
    return keras.layers.LSTM.from_config(config)


def build_step_model(
    model: keras.Model, chunk_size: int, flank: int, batch_size: int, name: str = "streaming_step"
) -> tuple[keras.Model, list[int]]:
    """A fixed-shape Keras model doing one chunk step for ``batch_size`` lanes.

    Inputs: window one-hot ``(B, conv_context + chunk + flank, A)``, its mask (True inside the
    sequence) ``(B, conv_context + chunk + flank)``,
    then ``h, c`` of every forward LSTM. Outputs: probabilities of the chunk ``(B, chunk, K)``,
    then the new ``h, c`` of every forward LSTM. Weights are copied from ``model``.
    """
    cfg = config_of(model)
    layers = {layer.name: layer for layer in model.layers}
    ctx, core = cfg.conv_context, chunk_size
    window = ctx + chunk_size + flank
    x_in = keras.Input((window, cfg.alphabet_size), batch_size=batch_size, name="window")
    m_in = keras.Input((window,), batch_size=batch_size, dtype="bool", name="mask")
    state_ins = []
    for i, units in enumerate(cfg.lstm_units):
        state_ins += [
            keras.Input((units,), batch_size=batch_size, name=f"h_{i}"),
            keras.Input((units,), batch_size=batch_size, name=f"c_{i}"),
        ]
    x = x_in
    inside = keras.ops.expand_dims(keras.ops.cast(m_in, x.dtype), -1)
    for i in range(cfg.conv_layers if cfg.conv_filters else 0):
        # shared with the trained model; zero outside the sequence as 'same' padding would be
        x = layers[f"conv_{i}"](x) * inside
    x = x[:, ctx:, :]
    m_seq = m_in[:, ctx:]
    mask_core, mask_flank = m_seq[:, :core], m_seq[:, core:]
    state_outs, copies = [], []
    last = len(cfg.lstm_units) - 1
    for i in range(len(cfg.lstm_units)):
        if cfg.bidirectional:
            wrapper = layers[f"bilstm_{i}"]
            trained_fwd, trained_bwd = wrapper.forward_layer, wrapper.backward_layer
        else:
            trained_fwd, trained_bwd = layers[f"lstm_{i}"], None
        fwd = _lstm_from(trained_fwd, f"stream_fwd_{i}", return_state=True, go_backwards=False)
        h0, c0 = state_ins[2 * i], state_ins[2 * i + 1]
        y_core, h, c = fwd(x[:, :core], initial_state=[h0, c0], mask=mask_core)
        copies.append((fwd, trained_fwd))
        state_outs += [h, c]
        if i < last and flank:  # the next layer's backward pass needs this layer's flank outputs
            y_flank, _, _ = fwd(x[:, core:], initial_state=[h, c], mask=mask_flank)
            y_fwd = keras.ops.concatenate([y_core, y_flank], axis=1)
        else:
            y_fwd = y_core
        if trained_bwd is not None:
            bwd = _lstm_from(trained_bwd, f"stream_bwd_{i}", return_state=False, go_backwards=True)
            y_bwd = keras.ops.flip(bwd(x, mask=m_seq), axis=1)
            copies.append((bwd, trained_bwd))
            if i == last:
                y_bwd = y_bwd[:, :core]
            x = keras.ops.concatenate([y_fwd, y_bwd], axis=-1)
        else:
            x = y_fwd
    probs = layers["head"](x)
    step = keras.Model([x_in, m_in, *state_ins], [probs, *state_outs], name=name)
    for new, trained in copies:
        new.set_weights(trained.get_weights())
    return step, list(cfg.lstm_units)


class StreamingPredictor:
    """Run a labeller, or the mean of several (an ensemble: a list of labellers with one
    alphabet and one set of classes), over streams of any length in fixed-size chunks (see
    the module doc). ``config``: the model's :class:`~genorrn.models.LabellerConfig`, or for
    an ensemble an :class:`~genorrn.models.ensemble.EnsembleConfig` (``alphabet_size``,
    ``num_classes``, ``conv_context``: the members' largest)."""

    def __init__(
        self,
        model: keras.Model | Sequence[keras.Model],
        chunk_size: int,
        flank: int,
        batch_size: int,
    ):
        if chunk_size < 1 or flank < 0 or batch_size < 1:
            raise ValueError("chunk_size and batch_size must be >= 1 and flank >= 0")
        self.chunk_size, self.flank, self.batch_size = chunk_size, flank, batch_size
        members = list(model) if isinstance(model, (list, tuple)) else [model]
        if not members:
            raise ValueError("no model to stream")
        self.config = config_of(members[0]) if len(members) == 1 else ensemble_config(members)
        if self.config.conv_context > flank:
            raise ValueError(f"flank must be >= the conv context ({self.config.conv_context})")
        if len(members) == 1:
            self.step, self.units = build_step_model(members[0], chunk_size, flank, batch_size)
        else:
            built = [build_step_model(m, chunk_size, flank, batch_size, name=f"member_{k}")
                     for k, m in enumerate(members)]  # fmt: skip
            contexts = [c.conv_context for c in self.config.members]
            units = [u for _, u in built]
            self.step = combine_steps([s for s, _ in built], contexts, units, batch_size)
            self.units = [u for member_units in units for u in member_units]
        #: applied to every chunk of probabilities before the sink (e.g. calibration)
        self.transform: Callable[[np.ndarray], np.ndarray] | None = None

    def with_transform(self, transform: Callable[[np.ndarray], np.ndarray] | None):
        """A predictor sharing this one's compiled step model whose outputs pass through
        ``transform`` (``(n, classes)`` → ``(n, classes)``, row by row)."""
        import copy

        other = copy.copy(self)
        other.transform = transform
        return other

    @property
    def num_classes(self) -> int:
        return self.config.num_classes

    def run(
        self,
        intervals: Iterable[Task],
        sink: Callable[[Stream, int, np.ndarray], None],
        *,
        split: bool = True,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """Predict every interval; ``sink(stream, start, probs)`` receives each finished chunk
        (``probs`` is ``(n, classes)`` for positions ``[start, start + n)`` of ``stream``).
        ``progress(n)`` is called with the number of positions done after each step."""
        B, C, F = self.batch_size, self.chunk_size, self.flank
        ctx = self.config.conv_context
        tasks = iter(plan_tasks(intervals, B, C, split))
        lanes: list[list | None] = [None] * B  # [task, next core start, warming up]
        states = [np.zeros((B, u), np.float32) for u in self.units for _ in range(2)]
        x = np.zeros((B, ctx + C + F, self.config.alphabet_size), np.float32)
        mask = np.zeros((B, ctx + C + F), bool)
        while True:
            for b in range(B):
                if lanes[b] is None and (task := next(tasks, None)) is not None:
                    warm = task.start > 0 and split
                    lanes[b] = [task, task.start - C if warm else task.start, warm]
                    for s in states:
                        s[b] = 0.0
            if all(lane is None for lane in lanes):
                return
            x[:] = 0.0
            mask[:] = False
            for b, lane in enumerate(lanes):
                if lane is None:
                    continue
                stream, pos = lane[0].stream, lane[1]
                lo, hi = max(pos - ctx, 0), min(pos + C + F, stream.length)
                x[b, lo - (pos - ctx) : hi - (pos - ctx)] = stream.fetch(lo, hi)
                mask[b, lo - (pos - ctx) : hi - (pos - ctx)] = True
            outputs = self.step.predict_on_batch([x, mask, *states])
            probs, states = np.asarray(outputs[0]), [np.array(s) for s in outputs[1:]]
            done = 0
            for b, lane in enumerate(lanes):
                if lane is None:
                    continue
                task, pos, warm = lane
                if warm:
                    lane[1], lane[2] = task.start, False
                    continue
                n = min(C, task.end - pos)
                rows = probs[b, :n] if self.transform is None else self.transform(probs[b, :n])
                sink(task.stream, pos, rows)
                done += n
                lane[1] = pos + C
                if lane[1] >= task.end:
                    lanes[b] = None
            if progress is not None:
                progress(done)

    def predict_array(self, onehot: np.ndarray, *, split: bool = True) -> np.ndarray:
        """Streamed prediction of one in-memory one-hot sequence ``(L, A)`` → ``(L, classes)``."""
        out = np.zeros((len(onehot), self.num_classes), np.float32)
        stream = Stream("sequence", len(onehot), lambda s, e: onehot[s:e])

        def sink(_stream, start, probs):
            out[start : start + len(probs)] = probs

        self.run([Task(stream, 0, len(onehot))], sink, split=split)
        return out


def whole_sequence(model: keras.Model, onehot: np.ndarray) -> np.ndarray:
    """Reference: the model applied to the whole sequence in one call (memory grows with L)."""
    return np.asarray(model.predict_on_batch(onehot[None]))[0]
