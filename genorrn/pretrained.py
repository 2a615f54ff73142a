"""Pretrained models: find them by name, read their model cards, load them.

A pretrained model is a pair of files in a models folder: ``NAME.keras`` (the weights and
architecture) and ``NAME.card.json`` (the model card: task, data and checksums, splits,
alphabet and N policy, window/flank, classes, training command, metrics, genorrn version,
sha256 of the weights). ``NAME.md`` beside them is the human-readable card.

Models folders searched, in order: ``$GENORRN_MODELS`` (``:``-separated), the ``models/``
folder of a source checkout, and the copy installed with the package (``genorrn/_models``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from genorrn.errors import InputError, exception_line
from genorrn.io.checksums import sha256  # noqa: F401  (re-exported for the CLI and benchmarks)

CARD_SUFFIX = ".card.json"

#: the shipped models used when no --model is given
DEFAULT_SPLICE_MODEL = "splice-athaliana-v3"
DEFAULT_STRUCTURE_MODEL = "structure-q8-v1"


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



def _task_of(keras_model, card: dict | None) -> str:
    if card and card.get("task"):
        return card["task"]
    return keras_model.name.removeprefix("genorrn_")


class LoadedModel:
    """A Keras labeller with its model card, ready to predict through the streaming engine.

    >>> model = genorrn.load_model("splice-athaliana-v1")          # doctest: +SKIP
    >>> probs = model.predict("ACGT...")     # (L, 3): neither, acceptor, donor
    """

    def __init__(self, keras_model, card: dict, path: Path):
        self.keras = keras_model
        self.card = card
        self.path = path
        self.task = _task_of(keras_model, card)
        self._predictors: dict = {}

    @property
    def classes(self) -> list[str]:
        return list(self.card.get("classes", []))

    def predictor(self, chunk_size: int | None = None, flank: int | None = None,
                  batch_size: int | None = None):  # fmt: skip
        """A cached :class:`~genorrn.streaming.StreamingPredictor` (card defaults when None)."""
        from genorrn import streaming

        defaults = self.card.get("streaming", {})
        key = (
            chunk_size or defaults.get("chunk_size", streaming.DEFAULT_CHUNK_SIZE),
            defaults.get("flank", streaming.DEFAULT_FLANK) if flank is None else flank,
            batch_size or defaults.get("batch_size", streaming.DEFAULT_BATCH_SIZE),
        )
        if key not in self._predictors:
            self._predictors[key] = streaming.StreamingPredictor(self.keras, *key)
        return self._predictors[key]

    def predict(self, sequence: str, strand: str = "+", **streaming_options) -> np.ndarray:
        """Per-position probabilities ``(len(sequence), classes)`` of a DNA or protein string.

        For DNA, ``strand="-"`` labels the reverse strand (sites of minus-strand genes), with
        rows still in the string's (forward) order.
        """
        from genorrn.encoding import encode_dna, encode_protein, reverse_complement_onehot

        predictor = self.predictor(**streaming_options)
        if self.card.get("alphabet", "dna") == "protein":
            return predictor.predict_array(encode_protein(sequence))
        onehot = encode_dna(sequence)
        if strand == "-":
            return predictor.predict_array(reverse_complement_onehot(onehot).copy())[::-1].copy()
        return predictor.predict_array(onehot)

    def predict_region(self, fasta: str | os.PathLike, region: str, strand: str = "+",
                       **streaming_options) -> np.ndarray:  # fmt: skip
        """Probabilities ``(L, classes)`` for a FASTA region (``chr:start-end``, 1-based), with
        the genome around it as context, rows in forward-strand order."""
        from genorrn.io.fasta import Genome
        from genorrn.predict import predict_genome, resolve_regions
        from genorrn.regions import parse_region

        genome = Genome(fasta)
        (reg,) = resolve_regions(genome, [parse_region(region)])
        channels = list(range(self.keras.output_shape[-1]))
        (entry,) = predict_genome(self.predictor(**streaming_options), genome, [reg], channels,
                                  strands=strand)  # fmt: skip
        try:
            return entry.scores.read(reg.start, reg.end).copy()
        finally:
            entry.scores.close()


def load_model(name_or_path: str | os.PathLike, task: str | None = None) -> LoadedModel:
    """Load a pretrained model by name (``genorrn models list``) or a ``.keras`` path.

    Raises :class:`InputError` for a missing, truncated or corrupt file, and when ``task`` is
    given and the model was trained for another task.
    """
    weights, card_path = resolve(name_or_path)
    card = json.loads(card_path.read_text()) if card_path else {}
    import zipfile

    import keras

    if not zipfile.is_zipfile(weights):
        raise InputError(f"{weights}: not a valid .keras model file (truncated or corrupt?)")
    try:
        keras_model = keras.saving.load_model(weights, compile=False)
    except Exception as exc:  # noqa: BLE001 - any failure here means an unusable file
        detail = exception_line(exc)[:120]
        raise InputError(f"{weights}: cannot load model ({detail})") from None
    found = _task_of(keras_model, card)
    if task and found != task:
        raise InputError(f"{weights}: model is for task {found!r}, not {task!r}")
    return LoadedModel(keras_model, card, weights)
