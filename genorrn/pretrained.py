"""Pretrained models: find them by name, read their model cards, load them.

A pretrained model is a pair of files in a models folder: ``NAME.keras`` (the weights and
architecture) and ``NAME.card.json`` (the model card: task, data and checksums, splits,
alphabet and N policy, window/flank, classes, training command, metrics, genorrn version,
sha256 of the weights). ``NAME.md`` beside them is the human-readable card.

Models folders searched, in order: ``$GENORRN_MODELS`` (``:``-separated), the ``models/``
folder of a source checkout, and the copy installed with the package (``genorrn/_models``).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from genorrn.errors import InputError

CARD_SUFFIX = ".card.json"


def model_dirs() -> list[Path]:
    dirs = [Path(p) for p in os.environ.get("GENORRN_MODELS", "").split(os.pathsep) if p]
    here = Path(__file__).resolve().parent
    dirs += [here.parent / "models", here / "_models"]
    return [d for d in dirs if d.is_dir()]


def available_models() -> dict[str, dict]:
    """``{name: card}`` of every pretrained model found (first folder wins on a name clash)."""
    found: dict[str, dict] = {}
    for folder in model_dirs():
        for card_path in sorted(folder.glob("*" + CARD_SUFFIX)):
            name = card_path.name[: -len(CARD_SUFFIX)]
            if name not in found and (folder / f"{name}.keras").exists():
                found[name] = json.loads(card_path.read_text())
    return found


def resolve(name_or_path: str | os.PathLike) -> tuple[Path, Path | None]:
    """``(weights, card or None)`` for a model name or a path to a ``.keras`` file."""
    path = Path(name_or_path)
    if path.suffix == ".keras" or path.exists():
        if not path.exists():
            raise InputError(f"{path}: model file not found")
        card = path.with_name(path.name.removesuffix(".keras") + CARD_SUFFIX)
        return path, card if card.exists() else None
    for folder in model_dirs():
        weights = folder / f"{name_or_path}.keras"
        if weights.exists():
            card = folder / f"{name_or_path}{CARD_SUFFIX}"
            return weights, card if card.exists() else None
    names = ", ".join(available_models()) or "none installed"
    raise InputError(f"{name_or_path}: no such model (available: {names})")


def read_card(name_or_path: str | os.PathLike) -> dict:
    weights, card = resolve(name_or_path)
    if card is None:
        raise InputError(f"{weights}: no model card ({weights.stem}{CARD_SUFFIX}) beside it")
    try:
        return json.loads(card.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"{card}: model card is not valid JSON ({exc})") from None


def sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
