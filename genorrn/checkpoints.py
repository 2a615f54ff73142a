"""Training-run folders of the training loop (:mod:`genorrn.training`): atomic checkpoint writes,
and the checks that decide whether ``--resume`` may continue the run found in a folder.

A run folder holds ``train_config.json`` (with ``model``: the architecture, and ``data_sha256``:
a fingerprint of the training and validation data), ``state.json`` and ``last.keras``.
``--resume`` continues it only with the same architecture and the same data; anything else is
a one-line error, so a model never silently mixes two datasets.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path
from zipfile import BadZipFile

import keras

from genorrn.errors import InputError, exception_line
from genorrn.io.outputs import atomic_output
from genorrn.models.labeller import LabellerConfig


def save_model(model: keras.Model, path: str | os.PathLike) -> None:
    """``model.save`` to a temporary name, then rename: never a half-written file."""
    with atomic_output(path) as tmp:
        model.save(tmp)


def write_json(path: str | os.PathLike, data: dict) -> None:
    """Write JSON to a temporary name, then rename."""
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2))


def read_json(path: str | os.PathLike) -> dict:
    """A run folder's JSON file, or a one-line error naming it."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read it to resume ({exc}); use another output folder") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a genorrn run file; use another output folder")
    return data


#: what reading a damaged or foreign ``.keras`` checkpoint raises
CHECKPOINT_ERRORS = (ValueError, OSError, KeyError, BadZipFile)


def checkpoint_error(path: str | os.PathLike, exc: Exception) -> InputError:
    """The one-line error for a checkpoint that cannot be resumed from."""
    reason = exception_line(exc)
    return InputError(f"{path}: cannot resume from it ({reason})")


def fingerprint(*parts) -> str:
    """sha256 over the given parts — strings, bytes or contiguous arrays, hashed in place —
    each length-prefixed, so boundaries count."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else memoryview(part).cast("B")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def resumable(out: str | os.PathLike, config: LabellerConfig, data_sha256: str | None = None) -> bool:
    """True when ``OUT`` holds a run to resume (``last.keras`` and ``state.json``); a one-line
    error when that run has another architecture than ``config`` or was trained on other data
    (``data_sha256``, when both runs recorded one)."""
    out = Path(out)
    if not ((out / "last.keras").exists() and (out / "state.json").exists()):
        return False
    read_json(out / "state.json")
    config_path = out / "train_config.json"
    previous = read_json(config_path) if config_path.exists() else {}
    before, now = previous.get("model"), asdict(config)
    if before and before != now:
        changed = "; ".join(f"{k}: {before.get(k)} there, {now[k]} now"
                            for k in now if before.get(k) != now[k])  # fmt: skip
        raise InputError(f"{out}: --resume with a different architecture than the run there "
                         f"({changed}); use another output folder or leave out --resume")  # fmt: skip
    recorded = previous.get("data_sha256")
    if recorded and data_sha256 and recorded != data_sha256:
        raise InputError(f"{out}: --resume with other training/validation data than the run there "
                         f"(data sha256 {recorded[:12]}… there, {data_sha256[:12]}… now); use "
                         "another output folder or leave out --resume")  # fmt: skip
    return True
