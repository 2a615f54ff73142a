"""The streaming engine's memory model and budget (no TensorFlow import: the CLI parses
``--max-memory`` with it).

A chunk step of ``B`` lanes over windows of ``W = conv_context + chunk + flank`` positions
holds about ``B × W × bytes_per_position(model)`` bytes on top of what the process already
holds (TensorFlow and the model: about 0.7 GB with the shipped splice models). The engine
(:class:`genorrn.streaming.StreamingPredictor`) checks that against its budget before anything
is allocated and shrinks the batch to fit.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence

from genorrn.errors import InputError

#: share of the available memory a run may plan to use when no ``max_memory`` is given
SAFE_SHARE = 0.75
#: room kept above the estimate for what a run adds besides its step tensors (tracing a step
#: model, TensorFlow's thread pools, output writers); measured 49-114 MB
#: (benchmarks/streaming_memory.py --parts fit: overhead_mb_at_small_batch)
RUN_OVERHEAD = 192 * 2**20
_UNITS = {"": 1, "B": 1, "K": 2**10, "KB": 2**10, "KIB": 2**10, "M": 2**20, "MB": 2**20,
          "MIB": 2**20, "G": 2**30, "GB": 2**30, "GIB": 2**30, "T": 2**40, "TB": 2**40,
          "TIB": 2**40}  # fmt: skip


class MemoryBudgetError(InputError):
    """A streaming setting that cannot fit the memory budget even at batch 1."""


def parse_size(text: str | int | float) -> int:
    """Bytes of a size such as ``2G``, ``1500M``, ``512MiB``, ``1.5GB`` or ``2000000000``
    (binary units: 1G = 1024**3 bytes). ``ValueError`` (one line) if it is not one."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z]*)\s*", str(text))
        if not match or match[2].upper() not in _UNITS:
            raise ValueError(f"{text!r} is not a memory size (e.g. 2G, 1500M, 512MiB)")
        value = float(match[1]) * _UNITS[match[2].upper()]
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{text!r}: a memory size must be > 0")
    return int(value)


def format_size(n: float) -> str:
    """``1.5 GB``-style text (binary units) for messages."""
    for unit, scale in (("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if abs(n) >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} B"


def current_rss() -> int:
    """Resident memory of this process now (bytes)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # not Linux: the peak so far (an upper bound)
        import resource
        import sys

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


def trim_memory() -> None:
    """Hand memory freed by earlier runs back to the system (glibc ``malloc_trim``), so that
    :func:`current_rss` counts what the process holds, not what its allocator kept."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _read_int(path: str) -> int | None:
    try:
        with open(path) as fh:
            text = fh.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # "max" (no limit) -> None


def _cgroup_room(cgroup_file: str = "/proc/self/cgroup", root: str = "/sys/fs/cgroup") -> int | None:
    """Bytes the process's cgroup may still allocate (limit - usage), or None (no limit)."""
    rooms = []
    try:
        with open(cgroup_file) as fh:
            lines = fh.read().splitlines()
    except OSError:
        lines = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hierarchy, controllers, path = parts
        if hierarchy == "0" and controllers == "":  # cgroup v2
            for folder in dict.fromkeys([(root + path).rstrip("/"), root]):
                limit = _read_int(f"{folder}/memory.max")
                usage = _read_int(f"{folder}/memory.current")
                if limit is not None and usage is not None:
                    rooms.append(limit - usage)
                    break
        elif "memory" in controllers.split(","):  # cgroup v1
            for folder in dict.fromkeys([f"{root}/memory{path}".rstrip("/"), f"{root}/memory"]):
                limit = _read_int(f"{folder}/memory.limit_in_bytes")
                usage = _read_int(f"{folder}/memory.usage_in_bytes")
                if limit is not None and usage is not None and limit < 2**60:
                    rooms.append(limit - usage)
                    break
    return min(rooms) if rooms else None


def memory_available() -> int:
    """Bytes this process may grow to: what it holds now plus what it may still allocate,
    the smaller of the machine's available memory (``MemAvailable``) and its cgroup's room."""
    rooms = []
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    rooms.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError):
        pass
    cgroup = _cgroup_room()
    if cgroup is not None:
        rooms.append(cgroup)
    if not rooms:  # not Linux: physical memory
        try:
            rooms.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
        except (ValueError, OSError, AttributeError):
            rooms.append(8 * 2**30)
    return current_rss() + max(min(rooms), 0)


def default_budget() -> int:
    """The memory budget of a run with no ``max_memory``: :data:`SAFE_SHARE` of
    :func:`memory_available` (so other processes and the page cache keep the rest)."""
    return int(SAFE_SHARE * memory_available())


#: loop iterations TensorFlow may run ahead in a step's LSTM loops (``parallel_iterations``)
LOOP_AHEAD = 32


#: Keras' LSTM layers (transposed, reversed and flipped copies) over the time-major step
KERAS_LSTM_FACTOR = 1.6


def memory_model(configs, keras_lstm: bool = False) -> tuple[int, int]:
    """``(bytes per lane-position, bytes per lane)`` of a chunk step: one lane of ``W``
    window positions adds about ``W × per_position + per_lane`` bytes to the call's peak.

    Per position, 4-byte floats of the widest stage: the conv front end (a conv output, its
    masked copy, the next layer's: 3 × filters) or an LSTM layer (its input and, per
    direction, its outputs collected, stacked and concatenated: ``input + 3 × directions ×
    units``), plus the one-hot input (3 copies), mask and probabilities (3 copies) on the host.
    Per lane, the steps the LSTM loops run ahead (:data:`LOOP_AHEAD` × 12 × units per
    direction). Members of an ensemble add up (one call holds them all; the input is shared).
    ``keras_lstm``: the step uses Keras' LSTM layers (on a GPU), whose copies hold
    :data:`KERAS_LSTM_FACTOR` times as much (the CPU step before #18; on a GPU most of it is in
    the GPU's memory, so the estimate is then an upper bound).
    Measured by ``benchmarks/streaming_memory.py --parts fit`` (the slope of the peak between
    two batch sizes, fresh processes) against this estimate: splice-athaliana-v3 2,603 / 3,180
    bytes per lane-position (chunk 10000 + flank 3000), v1 1,545 / 2,166 (5000 + 1000),
    structure-q8-v1 4,864 / 5,765 (256 + 32, the per-lane part included), a 3 × v1 ensemble
    4,360 / 6,328, v3 with Keras' LSTM layers 4,506 / 5,023."""
    if not isinstance(configs, Sequence):  # one LabellerConfig
        configs = [configs]
    per_position, per_lane = 0, 0
    for cfg in configs:
        dirs = 2 if cfg.bidirectional else 1
        width, floats = cfg.alphabet_size, 0
        if cfg.conv_filters:
            floats, width = 3 * cfg.conv_filters, cfg.conv_filters
        for units in cfg.lstm_units:
            floats = max(floats, width + 3 * dirs * units)
            width = dirs * units
        per_position += round(4 * floats * (KERAS_LSTM_FACTOR if keras_lstm else 1.0))
        per_lane += 4 * LOOP_AHEAD * dirs * 12 * max(cfg.lstm_units)
    alphabet = max(c.alphabet_size for c in configs)
    classes = max(c.num_classes for c in configs)
    per_position += 4 * (3 * alphabet + 3 * classes) + 1
    return per_position, per_lane


def bytes_per_position(configs, window: int | None = None, keras_lstm: bool = False) -> int:
    """Bytes per lane-position of :func:`memory_model`, with the per-lane part spread over
    ``window`` positions when given."""
    per_position, per_lane = memory_model(configs, keras_lstm)
    return per_position + (math.ceil(per_lane / window) if window else 0)
