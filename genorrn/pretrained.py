"""Pretrained models: find them by name, read their model cards, load them.

A pretrained model is a pair of files in a models folder: ``NAME.keras`` (the weights and
architecture) and ``NAME.card.json`` (the model card: task, data and checksums, splits,
alphabet and N policy, window/flank, classes, training command, metrics, genorrn version,
sha256 of the weights). ``NAME.md`` beside them is the human-readable card.

Models folders searched, in order: ``$GENORRN_MODELS`` (``:``-separated), the ``models/``
folder of a source checkout, and the copy installed with the package (``genorrn/_models``).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from genorrn.cards import SUFFIX as CARD_SUFFIX
from genorrn.cards import ModelCard, card_path, read_card
from genorrn.errors import InputError, exception_line
from genorrn.io.checksums import sha256  # noqa: F401  (re-exported for the CLI and benchmarks)
from genorrn.recipes import RECIPES, SPLICE, STRUCTURE

#: the shipped models used when no --model is given
DEFAULT_SPLICE_MODEL = SPLICE.default_model
DEFAULT_STRUCTURE_MODEL = STRUCTURE.default_model


def model_dirs() -> list[Path]:
    dirs = [Path(p) for p in os.environ.get("GENORRN_MODELS", "").split(os.pathsep) if p]
    here = Path(__file__).resolve().parent
    dirs += [here.parent / "models", here / "_models"]
    return [d for d in dirs if d.is_dir()]


def available_models() -> dict[str, ModelCard]:
    """``{name: card}`` of every pretrained model found (first folder wins on a name clash)."""
    found: dict[str, ModelCard] = {}
    for folder in model_dirs():
        for path in sorted(folder.glob("*" + CARD_SUFFIX)):
            name = path.name[: -len(CARD_SUFFIX)]
            if name not in found and (folder / f"{name}.keras").exists():
                found[name] = read_card(path)
    return found


def resolve(name_or_path: str | os.PathLike) -> tuple[Path, Path | None]:
    """``(weights, card or None)`` for a model name or a path to a ``.keras`` file."""
    path = Path(name_or_path)
    if path.suffix == ".keras" or path.exists():
        if not path.exists():
            raise InputError(f"{path}: model file not found")
        card = card_path(path)
        return path, card if card.exists() else None
    for folder in model_dirs():
        weights = folder / f"{name_or_path}.keras"
        if weights.exists():
            card = folder / f"{name_or_path}{CARD_SUFFIX}"
            return weights, card if card.exists() else None
    names = ", ".join(available_models()) or "none installed"
    raise InputError(f"{name_or_path}: no such model (available: {names})")


def model_card(name_or_path: str | os.PathLike) -> ModelCard:
    """The card of a model name or ``.keras`` path (an error when there is none)."""
    weights, card = resolve(name_or_path)
    if card is None:
        raise InputError(f"{weights}: no model card ({weights.stem}{CARD_SUFFIX}) beside it")
    return read_card(card)


def _task_of(keras_model, card: ModelCard) -> str:
    """The card's task, else the model's name (``genorrn_TASK``), else its input width."""
    if card.task:
        return card.task
    named = keras_model.name.removeprefix("genorrn_")
    if named in RECIPES:
        return named
    widths = {r.architecture["alphabet_size"]: t for t, r in RECIPES.items()}
    return widths.get(keras_model.input_shape[-1], named)


class LoadedModel:
    """A Keras labeller with its model card, ready to predict through the streaming engine.

    >>> model = genorrn.load_model("splice-athaliana-v3")          # doctest: +SKIP
    >>> probs = model.predict("ACGT...")     # (L, 3): neither, acceptor, donor
    """

    def __init__(self, keras_model, card: ModelCard, path: Path):
        self.keras = keras_model
        self.card = card
        self.path = path
        self.task = _task_of(keras_model, card)
        self.temperatures = _temperatures(card, path, keras_model.output_shape[-1])
        self._predictors: dict = {}

    @property
    def classes(self) -> list[str]:
        return list(self.card.classes)

    def streaming_defaults(self) -> dict:
        """``chunk_size``, ``flank``, ``batch_size``: the card's, else the task recipe's. The
        one place where streaming defaults are resolved, for every command and task."""
        recipe = RECIPES.get(self.task, SPLICE)
        return recipe.streaming | {k: v for k, v in self.card.streaming.items()
                                   if k in recipe.streaming}  # fmt: skip

    def predictor(self, chunk_size: int | None = None, flank: int | None = None,
                  batch_size: int | None = None, calibrated: bool = True):  # fmt: skip
        """A cached :class:`~genorrn.streaming.StreamingPredictor`; ``None`` options take
        :meth:`streaming_defaults`. Its probabilities are calibrated with the card's
        temperatures when there are any, unless ``calibrated=False`` (raw model outputs)."""
        from genorrn.streaming import StreamingPredictor

        given = {"chunk_size": chunk_size, "flank": flank, "batch_size": batch_size}
        settings = self.streaming_defaults() | {k: v for k, v in given.items() if v is not None}
        key = (settings["chunk_size"], settings["flank"], settings["batch_size"])
        if key not in self._predictors:
            self._predictors[key] = StreamingPredictor(self.keras, *key)
        return self._predictors[key].with_transform(self.calibration(calibrated))

    def calibration(self, calibrated: bool = True):
        """The function that calibrates a chunk of probabilities, or None (no calibration in
        the card, or ``calibrated=False``)."""
        if not calibrated or self.temperatures is None:
            return None
        from functools import partial

        from genorrn.calibration import apply_temperatures

        return partial(apply_temperatures, temperatures=self.temperatures)

    def predict(self, sequence: str, strand: str = "+", calibrated: bool = True,
                **streaming_options) -> np.ndarray:  # fmt: skip
        """Per-position probabilities ``(len(sequence), classes)`` of a DNA or protein string.

        For DNA, ``strand="-"`` labels the reverse strand (sites of minus-strand genes), with
        rows still in the string's (forward) order. A protein follows the same input policy
        and streaming as ``genorrn predict structure`` (one trailing ``*`` removed, one lane
        from the first residue), so both give the same numbers. ``calibrated=False``: raw
        model outputs.
        """
        from genorrn.encoding import encode_dna, reverse_complement_onehot

        predictor = self.predictor(**streaming_options, calibrated=calibrated)
        if self.card.alphabet == "protein" or self.task == "structure":
            from genorrn.data.proteins import clean_protein
            from genorrn.predict import predict_sequences

            seq = clean_protein("sequence", sequence, "predict()")
            ((_, _, probs),) = predict_sequences(predictor, [("sequence", seq)])
            return probs
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


def _temperatures(card: ModelCard, weights: Path, classes: int) -> np.ndarray | None:
    """The card's calibration temperatures, checked against the weights and the classes."""
    calibration = card.calibration
    if not calibration:
        return None
    where = card_path(weights)
    if calibration.get("method") != "temperature":
        raise InputError(f"{where}: unknown calibration method {calibration.get('method')!r}")
    fitted_for, actual = calibration.get("weights_sha256", ""), sha256(weights)
    if fitted_for != actual:
        raise InputError(f"{where}: the calibration was fitted for other weights (sha256 "
                         f"{fitted_for[:12]}…, these are {actual[:12]}…); refit it with "
                         "'genorrn models calibrate'")  # fmt: skip
    temperatures = np.asarray(calibration.get("temperatures", []), np.float64)
    if temperatures.shape != (classes,) or not np.all(temperatures > 0):
        raise InputError(f"{where}: calibration needs {classes} positive temperatures, one per "
                         f"class (found {calibration.get('temperatures')})")  # fmt: skip
    return temperatures


def load_model(name_or_path: str | os.PathLike, task: str | None = None,
               calibration: bool = True) -> LoadedModel:  # fmt: skip
    """Load a model by name (``genorrn models list``) or ``.keras`` path, with its card.

    The one model loader of every task and command. Raises :class:`InputError` for a missing,
    truncated or corrupt file, and, when ``task`` is given, for a model of another task or one
    whose input channels or classes are not the task's (:mod:`genorrn.recipes`), and for a
    card calibration that does not fit these weights. ``calibration=False`` ignores the card's
    calibration (to fit a new one).
    """
    import zipfile

    import keras

    weights, card_file = resolve(name_or_path)
    card = read_card(card_file) if card_file else ModelCard()
    if not zipfile.is_zipfile(weights):
        raise InputError(f"{weights}: not a valid .keras model file (truncated or corrupt?)")
    try:
        keras_model = keras.saving.load_model(weights, compile=False)
    except Exception as exc:  # noqa: BLE001 - any failure here means an unusable file
        detail = exception_line(exc)[:120]
        raise InputError(f"{weights}: cannot load model ({detail})") from None
    if not calibration:
        card = replace(card, calibration={})
    loaded = LoadedModel(keras_model, card, weights)
    if task:
        if loaded.task != task:
            raise InputError(f"{weights}: model is for task {loaded.task!r}, not {task!r}")
        expected = RECIPES[task].architecture
        shape = (keras_model.input_shape[-1], keras_model.output_shape[-1])
        if shape != (expected["alphabet_size"], expected["num_classes"]):
            raise InputError(
                f"{weights}: not a {task} model (input {shape[0]} channels, {shape[1]} classes; "
                f"expected {expected['alphabet_size']} and {expected['num_classes']})"
            )
    return loaded
