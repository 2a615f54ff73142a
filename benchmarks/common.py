"""Helpers for benchmarks: machine description, shared-data paths, JSON results."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("GENORRN_SHARED_DATA", REPO.parent / "shared" / "data"))
RESULTS = Path(__file__).resolve().parent / "results"


def data_path(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        sys.exit(f"benchmark needs {path} (set GENORRN_SHARED_DATA)")
    return path


def machine() -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    try:
        import keras
        import tensorflow as tf

        info |= {
            "keras": keras.__version__,
            "tensorflow": tf.__version__,
            "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
        }
    except ImportError:
        pass
    from genorrn import __version__

    info["genorrn"] = __version__
    return info


def report(name: str, result: dict, command: str | None = None) -> dict:
    """Print ``result`` as JSON with machine and date, and save it to results/NAME.json."""
    full = {
        "benchmark": name,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": command or "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "machine": machine(),
    } | result
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(full, indent=2) + "\n")
    print(json.dumps(full, indent=2))
    return full


def peak_rss_mb(command: list[str]) -> tuple[float, float]:
    """Run ``command``; its peak resident set size (MB, from ``os.wait4``) and wall seconds."""
    import subprocess
    import time

    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})  # fmt: skip
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        sys.exit(f"failed: {' '.join(command)}\n{proc.stderr.read().decode()}")
    return usage.ru_maxrss / 1024, seconds  # ru_maxrss is in KiB on Linux


def model_sha256(name_or_path: str) -> str:
    """sha256 of a model's weights file (a shipped name or a path), to tie results to weights;
    for an ensemble, the fingerprint of its members' sha256 (what its calibration records)."""
    from genorrn.cards import members_sha256, read_card
    from genorrn.pretrained import resolve, sha256

    weights, card = resolve(name_or_path)
    if weights == card:  # an ensemble: a card with members and no weights of its own
        return members_sha256(read_card(card).members)
    return sha256(weights)


def calibration_sha256(record: dict) -> str:
    """Fingerprint of a card's calibration entry (its maps or temperatures and validation
    record): ties test metrics measured with it to one fit (``ensemble_card.py`` checks it)."""
    import hashlib

    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()
