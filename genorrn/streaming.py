"""Chromosome-scale inference: fixed-size chunks with carried LSTM states, bounded memory.

How a labeller (:func:`genorrn.models.build_labeller`) runs over a sequence of any length:

* The sequence is cut into **chunks** of ``chunk_size`` positions. Each chunk is fed as a
  window ``[start - conv_context, start + chunk_size + flank)``: the left context feeds the
  convolutional front end, the right **flank** is lookahead for the backward LSTMs.
* **Forward LSTMs carry their state exactly** from chunk to chunk (``initial_state`` in, state
  out; never ``stateful=True``, whose ``Bidirectional`` carries the backward state in the wrong
  direction). Each layer runs its core and then its flank, so the state handed on is the one at
  the end of the core.
* **Backward LSTMs** start from a zero state at the end of the flank and run right to left over
  flank + core. The flank's length bounds the error: an LSTM's dependence on its initial state
  decays with distance; ``benchmarks/streaming_exactness.py`` measures error against flank.
* **Lanes.** To keep a batch full, every interval to predict is split into segments of whole
  chunks, and up to ``batch_size`` lanes run segments side by side, one chunk per lane per
  call. A segment that does not start at position 0 first runs one **warm-up chunk** (the
  chunk before it, outputs discarded) so its forward state is the one carried over
  ``chunk_size`` positions (exact up to that decay; ``split=False`` makes every interval one
  lane, exact from 0).
* **Memory is bounded by design.** Before anything is allocated, a run estimates its peak
  resident memory (what the process holds now + lanes × the bytes of a lane of its window,
  :func:`~genorrn.memory.memory_model`) and fits the batch to ``max_memory`` (default: a safe
  share of the memory available to the process, cgroup limits included,
  :func:`~genorrn.memory.default_budget`): the batch shrinks to the lanes that exist and to
  the budget; a setting that cannot fit at batch 1 is refused with one line
  (:class:`~genorrn.memory.MemoryBudgetError`). On CPU the LSTMs run time-major, both
  directions of a layer in one loop that reads its input in place
  (:class:`StreamingLSTMStack`): about 60% of the memory of Keras' ``LSTM``/``flip``/
  ``concatenate`` layers, faster, and the same numbers bit for bit; on a GPU the Keras layers
  (cuDNN) are kept.
* **Short records** (whole sequences shorter than a chunk: transcripts, contigs, proteins,
  windows) are not padded to a full window: they run in a few fixed **length buckets** (the
  powers of two below the chunk, one step model each, no flank needed since the record ends
  inside the window), many lanes per call, with the same numbers as the full-window call (float32
  rounding: ≤ 7.7e-7 measured, benchmarks/short_records.py).
* **Shapes**: the window length of each step model is fixed, so a model is traced for one
  window; the batch dimension is free (a run's batch is fitted to its lanes and budget), so a
  step model traces at most twice (Keras' ``reduce_retracing``: the second batch size makes
  the trace batch-generic). The sequence end is handled with a right-padded mask (the backward
  LSTM skips the padding, as it never sees it in a whole-sequence call).
* **Assembly gaps** (with a :class:`GapRule`, as every DNA model loaded by name or card has:
  runs of at least 1,000 N) are sequence boundaries: tasks are cut there, each stretch between
  gaps runs as a sequence of its own (a sub-stream: the backward LSTMs start at its end, the
  forward ones at its start), and the gap's positions get the rule's fill without a model call.
  Otherwise the LSTMs' state drifts over the gap, and a score beside it would depend on how much
  of the gap the flank covers. The gaps are found with one extra read of each task's sequence.
* Results are handed to a **sink** chunk by chunk (``sink(stream, start, probs)``), so nothing
  holds a whole chromosome's one-hot input or output.
* **Ensembles**: given a list of labellers, one step model runs them all on the same window
  and returns the mean of their probabilities (:mod:`genorrn.models.ensemble`): the input is
  read once, and each chunk is still one call.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import keras
import numpy as np

from genorrn.memory import (
    RUN_OVERHEAD,
    MemoryBudgetError,
    current_rss,
    default_budget,
    format_size,
    memory_model,
    parse_size,
    trim_memory,
)
from genorrn.models.ensemble import combine_steps, ensemble_config
from genorrn.models.labeller import config_of


# -- planning ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Stream:
    """One sequence to stream: ``fetch(start, end)`` returns its one-hot rows ``[start, end)``.

    A stretch cut out of a longer stream (:meth:`stretch`) names that ``parent`` and its
    ``offset`` in it; the engine reports results on the stretches it cuts at assembly gaps on
    the stream it was given.
    """

    name: object
    length: int
    fetch: Callable[[int, int], np.ndarray]
    parent: "Stream | None" = None
    offset: int = 0

    def stretch(self, start: int, end: int) -> "Stream":
        """Rows ``[start, end)`` of this stream as a stream of its own (it ends where they do)."""

        def fetch(s: int, e: int) -> np.ndarray:
            return self.fetch(start + s, start + e)

        return Stream(self.name, end - start, fetch, parent=self, offset=start)


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


# -- assembly gaps ----------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class GapRule:
    """Long runs of unknown sequence (assembly gaps) are sequence boundaries.

    A run of at least ``min_length`` rows equal to ``row`` (DNA: the N row) ends the sequence
    on both sides: each stretch between gaps is predicted as a record of its own (as if the
    sequence ended at the gap), and the gap's positions are not run through the model — they
    get the probabilities ``fill`` (splice: the background class). Why: over a long run of no
    sequence a recurrent network's state keeps drifting, so without the rule a score beside a
    gap depends on how much of the gap the backward LSTMs' lookahead covers, i.e. on where the
    chunks fall and on the flank (``benchmarks/streaming_genome_error.py``).
    """

    row: np.ndarray
    min_length: int
    fill: np.ndarray


def find_gaps(stream: Stream, start: int, end: int, rule: GapRule,
              block: int = 1 << 20) -> list[tuple[int, int]]:  # fmt: skip
    """The runs of ``rule.row`` of at least ``rule.min_length`` rows in ``[start, end)`` of
    ``stream`` (runs cut by the ends of the range are measured inside it). Reads ``block``
    rows at a time and keeps only run boundaries, so memory does not grow with the range."""
    runs: list[tuple[int, int]] = []
    open_at = None  # start of a run still open at the end of the previous block
    for lo in range(start, end, block):
        hi = min(lo + block, end)
        is_gap = (stream.fetch(lo, hi) == rule.row).all(axis=1)
        before = np.concatenate([[open_at is not None], is_gap[:-1]])
        edges = (np.flatnonzero(is_gap != before) + lo).tolist()  # alternately opens, closes
        if open_at is not None:
            edges.insert(0, open_at)  # its first edge closes the open run
        open_at = edges.pop() if len(edges) % 2 else None
        runs += zip(edges[::2], edges[1::2])
    if open_at is not None:
        runs.append((open_at, end))
    return [(int(a), int(b)) for a, b in runs if b - a >= rule.min_length]


def split_at_gaps(tasks: Iterable[Task], rule: GapRule, before: int, after: int):
    """Cut tasks at assembly gaps (:class:`GapRule`).

    ``before``/``after``: how far outside a task the engine reads (warm-up + conv context,
    lookahead); gaps are searched that far and ``rule.min_length`` more on each side. Returns
    the tasks on the stretches between gaps (each on a :meth:`Stream.stretch`, so the engine
    sees the sequence end at the gap) and the gap intervals ``(stream, start, end)`` inside the
    tasks.
    """
    kept: list[Task] = []
    gaps: list[tuple[Stream, int, int]] = []
    stretches: dict[tuple[int, int, int], Stream] = {}  # one per stretch, however many tasks
    for task in tasks:
        stream = task.stream
        lo = max(0, task.start - before - rule.min_length)
        hi = min(stream.length, task.end + after + rule.min_length)
        runs = find_gaps(stream, lo, hi, rule)
        if not runs:
            kept.append(task)
            continue
        bounds = [0] + [x for run in runs for x in run] + [stream.length]
        for k in range(0, len(bounds), 2):  # stretch [bounds[k], bounds[k + 1]), then a gap
            p0, p1 = bounds[k], bounds[k + 1]
            a, b = max(task.start, p0), min(task.end, p1)
            if a < b:
                key = (id(stream), p0, p1)
                if key not in stretches:
                    stretches[key] = stream.stretch(p0, p1)
                kept.append(Task(stretches[key], a - p0, b - p0))
            if k + 2 < len(bounds):
                g0, g1 = max(task.start, p1), min(task.end, bounds[k + 2])
                if g0 < g1:
                    gaps.append((stream, g0, g1))
    return kept, gaps


#: shortest length bucket for whole short records
MIN_BUCKET = 32
#: a bucket's step model is built only when it saves at least this many padded lane-positions
#: in one run (building and tracing one costs about as much as this much prediction)
BUCKET_MIN_SAVING = 1_000_000


def bucket_lengths(chunk_size: int) -> list[int]:
    """Window cores for whole records shorter than a chunk: the powers of two from
    :data:`MIN_BUCKET` below ``chunk_size`` (longer records use full windows)."""
    lengths, n = [], MIN_BUCKET
    while n < chunk_size:
        lengths.append(n)
        n *= 2
    return lengths


# -- step models ------------------------------------------------------------------------------
def _lstm_from(layer: keras.layers.LSTM, name: str, **overrides) -> keras.layers.LSTM:
    config = layer.get_config() | overrides | {"name": name}
    return keras.layers.LSTM.from_config(config)


def _cell_copy(trained: keras.layers.LSTM, input_dim: int) -> keras.layers.LSTMCell:
    cell = keras.layers.LSTMCell.from_config(trained.cell.get_config())
    cell.build((None, input_dim))
    cell.set_weights(trained.cell.get_weights())
    return cell


def scan_lstms() -> bool:
    """Whether step models use :class:`StreamingLSTMStack` (CPU) rather than Keras' LSTM
    layers (kept on a GPU, where they run as cuDNN kernels). ``GENORRN_STREAMING_LSTM=keras``
    or ``=scan`` chooses."""
    choice = os.environ.get("GENORRN_STREAMING_LSTM", "").strip().lower()
    if choice in ("keras", "scan"):
        return choice == "scan"
    import tensorflow as tf

    return not tf.config.list_physical_devices("GPU")


class StreamingLSTMStack(keras.layers.Layer):
    """Every LSTM layer of a labeller for one chunk step, run time-major.

    Inputs: the conv features of the window ``(B, ctx + core + flank, width)``, its mask and
    the forward states ``[h_0, c_0, h_1, …]``; outputs: the features of the core
    ``(B, core, last width)`` for the head, then the forward states at the end of the core.
    Each layer is one ``while_loop`` per stretch in which both directions step together (the
    forward one over the core, then both over the flank … see :meth:`_layer`), reading its
    input in place (time-major slices alias) and writing outputs at their own positions (no
    reversed copies). Masked steps keep the state and repeat the last output, exactly as Keras'
    masked LSTMs; the cells are copies of the trained ones, so the numbers are the same as the
    Keras layers' (checked bit for bit by tests/test_streaming.py).
    """

    def __init__(self, cells, core: int, flank: int, ctx: int, **kwargs):
        super().__init__(**kwargs)
        #: per layer: (forward cell, backward cell or None)
        self.cells = cells
        self.core, self.flank, self.ctx = core, flank, ctx

    def compute_output_spec(self, x, mask, states):
        batch = x.shape[0]
        fwd, bwd = self.cells[-1]
        width = fwd.units * (2 if bwd is not None else 1)
        out = [keras.KerasTensor((batch, self.core, width), dtype=x.dtype)]
        for fwd, _ in self.cells:
            out += [keras.KerasTensor((batch, fwd.units), dtype=x.dtype) for _ in "hc"]
        return out

    def call(self, x, mask, states):
        import tensorflow as tf

        # time-major; slicing off the conv context along axis 0 aliases
        x = tf.transpose(x, (1, 0, 2))[self.ctx :]
        mask = tf.transpose(mask)[self.ctx :]
        outs = []
        for i, (fwd, bwd) in enumerate(self.cells):
            x, h, c = self._layer(x, mask, fwd, bwd, states[2 * i], states[2 * i + 1],
                                  last=i == len(self.cells) - 1)  # fmt: skip
            outs += [h, c]
        return [tf.transpose(x, (1, 0, 2)), *outs]

    def _layer(self, x, mask, fwd, bwd, h0, c0, last: bool):
        import tensorflow as tf

        C, F = self.core, self.flank
        zero = tf.zeros_like(h0)

        def ta(size, cell):
            return tf.TensorArray(x.dtype, size=size, element_shape=tf.TensorShape([None, cell.units]))

        f = {"cell": fwd, "h": h0, "c": c0, "prev": zero, "t": 0, "step": 1, "ta": ta(C, fwd)}
        if bwd is None:  # forward only: the next layer and the head read the core only
            self._scan(x, mask, C, [f])
            return f["ta"].stack(), f["h"], f["c"]
        if last:  # backward over the flank (state only), then both over the core
            b = {"cell": bwd, "h": zero, "c": zero, "prev": zero, "t": C + F - 1, "step": -1,
                 "ta": None}  # fmt: skip
            self._scan(x, mask, F, [b])
            b["ta"] = ta(C, bwd)
            self._scan(x, mask, C, [f, b])
            h, c = f["h"], f["c"]
        else:  # both over the core (backward: its last C positions), then both over the rest
            f["ta"] = ta(C + F, fwd)
            b = {"cell": bwd, "h": zero, "c": zero, "prev": zero, "t": C + F - 1, "step": -1,
                 "ta": ta(C + F, bwd)}  # fmt: skip
            self._scan(x, mask, C, [f, b])
            h, c = f["h"], f["c"]
            f["prev"] = zero  # the flank is a separate masked call in a Keras step
            self._scan(x, mask, F, [f, b])
        return tf.concat([f["ta"].stack(), b["ta"].stack()], axis=-1), h, c

    @staticmethod
    def _scan(x, mask, n: int, dirs: list[dict]) -> None:
        """``n`` steps of every direction in ``dirs`` in one loop (updates their dicts)."""
        import tensorflow as tf

        if n <= 0:
            return

        def body(i, *carried):
            new = []
            for k, d in enumerate(dirs):
                h, c, prev, out = carried[4 * k : 4 * k + 4]
                t = d["t"] + d["step"] * i
                y, (h_new, c_new) = d["cell"](x[t], [h, c])
                m = tf.expand_dims(mask[t], -1)
                y = tf.where(m, y, prev)
                h, c = tf.where(m, h_new, h), tf.where(m, c_new, c)
                if d["ta"] is not None:
                    out = out.write(t, y)
                new += [h, c, y, out]
            return (i + 1, *new)

        start = []
        for d in dirs:
            start += [d["h"], d["c"], d["prev"], d["ta"] if d["ta"] is not None else tf.constant(0)]
        result = tf.while_loop(lambda i, *_: i < n, body, (tf.constant(0), *start),
                               maximum_iterations=n, parallel_iterations=32)  # fmt: skip
        for k, d in enumerate(dirs):
            d["h"], d["c"], d["prev"] = result[1 + 4 * k : 4 + 4 * k]
            if d["ta"] is not None:
                d["ta"] = result[4 + 4 * k]
            d["t"] = d["t"] + d["step"] * n


def build_step_model(
    model: keras.Model, chunk_size: int, flank: int, batch_size: int | None = None,
    name: str = "streaming_step", scan: bool | None = None,
) -> tuple[keras.Model, list[int]]:  # fmt: skip
    """A fixed-window Keras model doing one chunk step for a batch of lanes.

    Inputs: window one-hot ``(B, conv_context + chunk + flank, A)``, its mask (True inside the
    sequence) ``(B, conv_context + chunk + flank)``,
    then ``h, c`` of every forward LSTM. Outputs: probabilities of the chunk ``(B, chunk, K)``,
    then the new ``h, c`` of every forward LSTM. Weights are copied from ``model``.
    ``batch_size`` None: any batch. ``scan``: :class:`StreamingLSTMStack` (default on CPU,
    see :func:`scan_lstms`) or Keras' LSTM layers (False).
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
    trained = [(layers[f"bilstm_{i}"].forward_layer, layers[f"bilstm_{i}"].backward_layer)
               if cfg.bidirectional else (layers[f"lstm_{i}"], None)
               for i in range(len(cfg.lstm_units))]  # fmt: skip
    if scan if scan is not None else scan_lstms():
        cells, width = [], x.shape[-1]
        for trained_fwd, trained_bwd in trained:
            fwd = _cell_copy(trained_fwd, width)
            bwd = _cell_copy(trained_bwd, width) if trained_bwd is not None else None
            cells.append((fwd, bwd))
            width = trained_fwd.units * (2 if bwd is not None else 1)
        x, *state_outs = StreamingLSTMStack(cells, core, flank, ctx, name="lstm_stack")(
            x, m_in, state_ins
        )
        probs = layers["head"](x)
        step = keras.Model([x_in, m_in, *state_ins], [probs, *state_outs], name=name)
        return step, list(cfg.lstm_units)
    x = x[:, ctx:, :]
    m_seq = m_in[:, ctx:]
    mask_core, mask_flank = m_seq[:, :core], m_seq[:, core:]
    state_outs, copies = [], []
    last = len(cfg.lstm_units) - 1
    for i, (trained_fwd, trained_bwd) in enumerate(trained):
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
    for new, trained_layer in copies:
        new.set_weights(trained_layer.get_weights())
    return step, list(cfg.lstm_units)


# -- the engine -------------------------------------------------------------------------------
class StreamingPredictor:
    """Run a labeller, or the mean of several (an ensemble: a list of labellers with one
    alphabet and one set of classes), over streams of any length in fixed-size chunks (see
    the module doc). ``config``: the model's :class:`~genorrn.models.LabellerConfig`, or for
    an ensemble an :class:`~genorrn.models.ensemble.EnsembleConfig` (``alphabet_size``,
    ``num_classes``, ``conv_context``: the members' largest).

    ``batch_size`` is the most lanes per call; a run uses fewer when it has fewer lanes or when
    ``max_memory`` (bytes, or a size such as ``"2G"``; default :func:`default_budget` at the
    time of the run) holds fewer (:meth:`fit_batch`).
    """

    def __init__(
        self,
        model: keras.Model | Sequence[keras.Model],
        chunk_size: int,
        flank: int,
        batch_size: int,
        max_memory: int | str | None = None,
        gaps: GapRule | None = None,
    ):
        if chunk_size < 1 or flank < 0 or batch_size < 1:
            raise ValueError("chunk_size and batch_size must be >= 1 and flank >= 0")
        self.chunk_size, self.flank, self.batch_size = chunk_size, flank, batch_size
        self.max_memory = None if max_memory is None else parse_size(max_memory)
        #: assembly gaps as sequence boundaries (None: every position runs through the model)
        self.gaps = gaps
        self.members = list(model) if isinstance(model, (list, tuple)) else [model]
        if not self.members:
            raise ValueError("no model to stream")
        members = self.members
        self.config = config_of(members[0]) if len(members) == 1 else ensemble_config(members)
        if self.config.conv_context > flank:
            raise ValueError(f"flank must be >= the conv context ({self.config.conv_context})")
        self.member_configs = [config_of(m) for m in members]
        self.units = [u for c in self.member_configs for u in c.lstm_units]
        #: the step's LSTMs: StreamingLSTMStack (CPU) or Keras' layers (GPU), see scan_lstms
        self.scan = scan_lstms()
        #: (bytes per lane-position, bytes per lane) of a step call (:func:`memory_model`)
        self.memory_model = memory_model(self.member_configs, keras_lstm=not self.scan)
        self.step = self._build(chunk_size, flank)
        self._buckets: dict[int, keras.Model] = {}
        #: applied to every chunk of probabilities before the sink (e.g. calibration)
        self.transform: Callable[[np.ndarray], np.ndarray] | None = None
        #: what the last :meth:`run` did: lanes, batch, budget and estimated peak per shape
        self.last_run: dict = {}

    def _build(self, chunk: int, flank: int) -> keras.Model:
        """A step model of every member for windows of ``chunk`` + ``flank`` (any batch)."""
        if len(self.members) == 1:
            return build_step_model(self.members[0], chunk, flank, None, scan=self.scan)[0]
        built = [build_step_model(m, chunk, flank, None, name=f"member_{k}", scan=self.scan)
                 for k, m in enumerate(self.members)]  # fmt: skip
        contexts = [c.conv_context for c in self.member_configs]
        return combine_steps([s for s, _ in built], contexts, [u for _, u in built], None)

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

    # -- memory --------------------------------------------------------------------------------
    def window(self, chunk: int | None = None, flank: int | None = None) -> int:
        chunk = self.chunk_size if chunk is None else chunk
        flank = self.flank if flank is None else flank
        return self.config.conv_context + chunk + flank

    def budget(self) -> int:
        """The memory budget of a run starting now (bytes)."""
        return self.max_memory if self.max_memory is not None else default_budget()

    def estimate_peak(self, batch: int, window: int | None = None, base: int | None = None) -> int:
        """Estimated peak resident bytes of a call of ``batch`` lanes × ``window`` positions:
        the process's memory now (``base``), :data:`RUN_OVERHEAD` and the call's tensors."""
        window = self.window() if window is None else window
        base = current_rss() if base is None else base
        return base + RUN_OVERHEAD + batch * self.lane_bytes(window)

    def lane_bytes(self, window: int | None = None) -> int:
        """Estimated bytes one lane of ``window`` positions adds to a call."""
        per_position, per_lane = self.memory_model
        return (self.window() if window is None else window) * per_position + per_lane

    def fit_batch(self, lanes: int, window: int | None = None, most: int | None = None,
                  budget: int | None = None, base: int | None = None) -> int:  # fmt: skip
        """Lanes per call for ``lanes`` lanes of ``window`` positions: at most ``most``
        (default ``batch_size``), the lanes that exist and what the budget holds.
        :class:`MemoryBudgetError` (one line naming the options) if not even one fits."""
        window = self.window() if window is None else window
        most = self.batch_size if most is None else most
        budget = self.budget() if budget is None else budget
        base = current_rss() if base is None else base
        room = budget - base - RUN_OVERHEAD
        fits = room // self.lane_bytes(window) if room > 0 else 0
        if fits < 1:
            need = self.estimate_peak(1, window, base)
            raise MemoryBudgetError(
                f"memory budget {format_size(budget)} is too small for chunk {self.chunk_size} "
                f"+ flank {self.flank}: one lane needs about {format_size(need)} (this process "
                f"holds {format_size(base)}, a lane of {window} positions "
                f"{format_size(self.lane_bytes(window))}); lower --chunk-size or --flank, or "
                "raise --max-memory"
            )
        return int(max(1, min(most, lanes, fits)))

    # -- running -------------------------------------------------------------------------------
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
        ``progress(n)`` is called with the number of positions done after each step.
        Whole records shorter than a chunk run in length buckets (see the module doc)."""
        intervals = [t for t in intervals if t.end > t.start]
        if self.gaps is not None:
            intervals, sink = self._cut_at_gaps(intervals, sink, progress)
        trim_memory()
        budget, base = self.budget(), current_rss()
        long, short = self._bucketed(intervals)
        self.last_run = {"budget": budget, "base": base, "calls": []}
        if long:
            # planned for batch_size lanes whatever the budget, so that the numbers do not
            # depend on the memory available (segments and their warm-ups are the same)
            tasks = plan_tasks(long, self.batch_size, self.chunk_size, split)
            batch = self.fit_batch(len(tasks), budget=budget, base=base)
            self._record(len(tasks), batch, self.window(), base)
            self._run_lanes(self.step, tasks, batch, self.chunk_size, self.flank, split, sink,
                            progress)  # fmt: skip
        for core, tasks in short.items():
            window = self.window(core, 0)
            # as many lane-positions per call as a full batch of full windows, within budget
            most = max(1, self.batch_size * self.window() // window)
            batch = self.fit_batch(len(tasks), window, most=most, budget=budget, base=base)
            self._record(len(tasks), batch, window, base)
            self._run_lanes(self._bucket(core), tasks, batch, core, 0, False, sink, progress)

    def _cut_at_gaps(self, intervals: list[Task], sink, progress):
        """Tasks cut at assembly gaps (:func:`split_at_gaps`); the gaps' fill goes to ``sink``
        now, and the returned sink maps results on sub-streams back to their streams."""
        # how far outside a task a lane reads: a warm-up chunk and the conv context before it;
        # after it, up to a chunk (the last chunk starts before the end) and the flank
        before = self.chunk_size + self.config.conv_context
        after = self.chunk_size + self.flank
        given = {id(task.stream): task.stream for task in intervals}  # (held: ids stay valid)
        kept, gaps = split_at_gaps(intervals, self.gaps, before, after)
        fill = np.asarray(self.gaps.fill, np.float32)
        for stream, start, end in gaps:
            for lo in range(start, end, self.chunk_size):
                hi = min(lo + self.chunk_size, end)
                sink(stream, lo, np.broadcast_to(fill, (hi - lo, len(fill))))
                if progress is not None:
                    progress(hi - lo)

        def mapped(stream: Stream, start: int, probs: np.ndarray) -> None:
            if id(stream) not in given:  # a stretch cut here: report it on the caller's stream
                start, stream = stream.offset + start, stream.parent
            sink(stream, start, probs)

        return kept, mapped

    def _record(self, lanes: int, batch: int, window: int, base: int) -> None:
        self.last_run["calls"].append({"lanes": lanes, "batch": batch, "window": window,
                                       "estimated_peak": self.estimate_peak(batch, window, base)})  # fmt: skip

    def _bucketed(self, intervals: list[Task]) -> tuple[list[Task], dict[int, list[Task]]]:
        """Split ``intervals`` into those streamed in full chunks and whole short records by
        length bucket (buckets whose step model exists or would save enough padding)."""
        lengths = bucket_lengths(self.chunk_size)
        if not lengths:
            return intervals, {}
        full = self.window()
        long, short = [], {}
        for task in intervals:
            whole = task.start == 0 and task.end == task.stream.length
            if whole and task.end <= lengths[-1]:
                core = next(n for n in lengths if n >= task.end)
                short.setdefault(core, []).append(task)
            else:
                long.append(task)
        kept = {}
        for core, tasks in sorted(short.items(), reverse=True):
            saving = len(tasks) * (full - self.window(core, 0))
            if core in self._buckets or saving >= BUCKET_MIN_SAVING:
                kept[core] = tasks
            else:
                long.extend(tasks)
        return long, kept

    def _bucket(self, core: int) -> keras.Model:
        if core not in self._buckets:
            self._buckets[core] = self._build(core, 0)
        return self._buckets[core]

    def _run_lanes(self, step, tasks, B, C, F, split, sink, progress) -> None:
        ctx = self.config.conv_context
        tasks = iter(tasks)
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
            outputs = step.predict_on_batch([x, mask, *states])
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
