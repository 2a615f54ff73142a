"""Pretrained models: find them by name, read their model cards, load them.

A pretrained model is a pair of files in a models folder: ``NAME.keras`` (the weights and
architecture) and ``NAME.card.json`` (the model card: task, data and checksums, splits,
alphabet and N policy, window/flank, classes, training command, metrics, genorrn version,
sha256 of the weights). ``NAME.md`` beside them is the human-readable card. An **ensemble** is a
card alone, ``NAME.card.json`` listing its members (``genorrn models ensemble``): it predicts
the mean of their probabilities, and loading it checks every member's sha256.

Models folders searched, in order: ``$GENORRN_MODELS`` (``:``-separated), the ``models/``
folder of a source checkout, and the copy installed with the package (``genorrn/_models``).
"""

from __future__ import annotations

import functools
import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from genorrn.cards import SUFFIX as CARD_SUFFIX
from genorrn.cards import ModelCard, card_path, members_sha256, read_card
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
    """``{name: card}`` of every pretrained model and ensemble found (first folder wins on a
    name clash)."""
    found: dict[str, ModelCard] = {}
    for folder in model_dirs():
        for path in sorted(folder.glob("*" + CARD_SUFFIX)):
            name = path.name[: -len(CARD_SUFFIX)]
            if name in found:
                continue
            if (folder / f"{name}.keras").exists() or _is_ensemble(path, strict=False):
                found[name] = read_card(path)
    return found


def _is_ensemble(card: Path, strict: bool = True) -> bool:
    """A card with members and no ``.keras`` of its own (an unreadable card: an error, or
    False when not ``strict``)."""
    weights = card.with_name(card.name[: -len(CARD_SUFFIX)] + ".keras")
    if weights.exists():
        return False
    try:
        return bool(read_card(card).members)
    except InputError:
        if strict:
            raise
        return False


def resolve(name_or_path: str | os.PathLike) -> tuple[Path, Path | None]:
    """``(weights, card or None)`` for a model name, a path to a ``.keras`` file or a path to a
    ``NAME.card.json``. For an ensemble (a card with members, no ``.keras``) both are its card."""
    path = Path(name_or_path)
    if path.name.endswith(CARD_SUFFIX):
        if not path.is_file():
            raise InputError(f"{path}: model card not found")
        weights = path.with_name(path.name[: -len(CARD_SUFFIX)] + ".keras")
        return (weights, path) if weights.exists() else (path, path)
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
        card = folder / f"{name_or_path}{CARD_SUFFIX}"
        if card.exists() and _is_ensemble(card):
            return card, card
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
    """A Keras labeller with its model card, ready to predict through the streaming engine; or
    an ensemble (``members``: every member's labeller; predictions: the mean of theirs).

    >>> model = genorrn.load_model("splice-athaliana-v3")          # doctest: +SKIP
    >>> probs = model.predict("ACGT...")     # (L, 3): neither, acceptor, donor
    """

    def __init__(self, keras_model, card: ModelCard, path: Path):
        #: the Keras labeller; for an ensemble (``keras_model`` a list) every member's
        self.members = list(keras_model) if isinstance(keras_model, list) else [keras_model]
        #: the labeller (an ensemble's first member: what every member shares, e.g. shapes)
        self.keras = self.members[0]
        self.card = card
        #: the ``.keras`` file; an ensemble's card
        self.path = path
        self.task = _task_of(self.keras, card)
        self.calibrator = _calibrator(self, self.keras.output_shape[-1])
        self._predictors: dict = {}

    @property
    def classes(self) -> list[str]:
        return list(self.card.classes)

    @property
    def is_ensemble(self) -> bool:
        return bool(self.card.members)

    @property
    def name(self) -> str:
        """The file name without ``.keras`` (an ensemble's: without ``.card.json``)."""
        return self.path.name.removesuffix(CARD_SUFFIX).removesuffix(".keras")

    @property
    def card_file(self) -> Path:
        """Where the card is (or would be): ``NAME.card.json`` beside ``NAME.keras``."""
        return self.path if self.path.name.endswith(CARD_SUFFIX) else card_path(self.path)

    @functools.cached_property
    def weights_sha256(self) -> str:
        """sha256 of the weights file; an ensemble's: :func:`~genorrn.cards.members_sha256`
        of its members (what a calibration is fitted for, and reports record)."""
        return members_sha256(self.card.members) if self.is_ensemble else sha256(self.path)

    @property
    def conv_context(self) -> int:
        """Input positions each side a position's conv features read (an ensemble: the most)."""
        from genorrn.models.labeller import config_of

        return max(config_of(m).conv_context for m in self.members)

    def streaming_defaults(self) -> dict:
        """``chunk_size``, ``flank``, ``batch_size``: the card's, else the task recipe's. The
        one place where streaming defaults are resolved, for every command and task."""
        recipe = RECIPES.get(self.task, SPLICE)
        return recipe.streaming | {k: v for k, v in self.card.streaming.items()
                                   if k in recipe.streaming}  # fmt: skip

    def predictor(self, chunk_size: int | None = None, flank: int | None = None,
                  batch_size: int | None = None, calibrated: bool = True,
                  max_memory: int | str | None = None,
                  min_gap: int | None = None):  # fmt: skip
        """A cached :class:`~genorrn.streaming.StreamingPredictor`; ``None`` options take
        :meth:`streaming_defaults`. Its probabilities are calibrated with the card's
        calibration when there is one, unless ``calibrated=False`` (raw model outputs).
        ``max_memory``: the engine's memory budget (bytes or ``"2G"``; default: a safe share
        of the memory available, see :func:`genorrn.memory.default_budget`). ``min_gap``:
        see :meth:`gap_rule`."""
        from genorrn.memory import parse_size
        from genorrn.streaming import StreamingPredictor

        given = {"chunk_size": chunk_size, "flank": flank, "batch_size": batch_size}
        settings = self.streaming_defaults() | {k: v for k, v in given.items() if v is not None}
        key = (settings["chunk_size"], settings["flank"], settings["batch_size"])
        if key not in self._predictors:
            self._predictors[key] = StreamingPredictor(self.members, *key)
        # a copy sharing the compiled steps, with its own calibration and gap rule
        predictor = self._predictors[key].with_transform(self.calibration(calibrated))
        predictor.gaps = self.gap_rule(min_gap)
        if max_memory is not None:  # the same compiled steps under another budget
            predictor.max_memory = parse_size(max_memory)
        return predictor

    def gap_rule(self, min_gap: int | None = None):
        """Assembly gaps as sequence boundaries (:class:`~genorrn.streaming.GapRule`): runs of
        at least ``min_gap`` N (default: the recipe's, 1,000; 0: no rule, every N is read
        through) for DNA tasks; their positions get the background class. None for proteins."""
        from genorrn.encoding import encode_dna
        from genorrn.streaming import GapRule

        recipe = RECIPES.get(self.task, SPLICE)
        if recipe.background is None or self.card.alphabet == "protein":
            return None
        if min_gap is None:
            min_gap = recipe.min_gap
        if min_gap is not None and min_gap < 0:
            raise ValueError(f"min_gap {min_gap}: must be >= 0")
        if not min_gap:
            return None
        fill = np.zeros(len(recipe.classes), np.float32)
        fill[recipe.classes.index(recipe.background)] = 1.0
        return GapRule(row=encode_dna("N")[0], min_length=int(min_gap), fill=fill)

    def calibration(self, calibrated: bool = True):
        """The function that calibrates a chunk of probabilities, or None (no calibration in
        the card, or ``calibrated=False``)."""
        return self.calibrator if calibrated else None

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


def _calibrator(model: LoadedModel, classes: int):
    """The function applying the card's calibration (None without one), checked against the
    weights and the classes."""
    from genorrn.calibration import calibrator

    calibration = model.card.calibration
    if not calibration:
        return None
    where = model.card_file
    method = calibration.get("method")
    if method not in ("temperature", "isotonic", "group-temperature"):
        raise InputError(f"{where}: unknown calibration method {method!r}")
    fitted_for, actual = calibration.get("weights_sha256", ""), model.weights_sha256
    if fitted_for != actual:
        raise InputError(f"{where}: the calibration was fitted for other weights (sha256 "
                         f"{fitted_for[:12]}…, these are {actual[:12]}…); refit it with "
                         "'genorrn models calibrate'")  # fmt: skip
    if method in ("temperature", "group-temperature"):
        groups = calibration.get("groups") if method == "group-temperature" else None
        wanted = classes if groups is None else len(groups)
        temperatures = np.asarray(calibration.get("temperatures", []), np.float64)
        covered = groups is None or sorted(c for g in groups for c in g) == list(range(classes))
        if temperatures.shape != (wanted,) or not np.all(temperatures > 0) or not covered:
            raise InputError(f"{where}: calibration needs {wanted} positive temperatures, one "
                             f"per {'class' if groups is None else 'group of a partition of the classes'}"
                             f" (found {calibration.get('temperatures')})")  # fmt: skip
    else:
        maps = calibration.get("maps") or []
        remainder = calibration.get("remainder")
        good = len(maps) == classes and all(
            len(m.get("x", [])) == len(m.get("y", [])) > 0 and np.all(np.diff(m["x"]) >= 0)
            for m in maps
        ) and (remainder is None or remainder in range(classes))
        if not good:
            raise InputError(f"{where}: isotonic calibration needs {classes} maps, one per class, "
                             "each with increasing x and as many y values, and a remainder "
                             "class, if any, among the classes")  # fmt: skip
    return calibrator(calibration)


def load_model(name_or_path: str | os.PathLike, task: str | None = None,
               calibration: bool = True) -> LoadedModel:  # fmt: skip
    """Load a model by name (``genorrn models list``), ``.keras`` path or ``.card.json`` path
    (an ensemble's too), with its card.

    The one model loader of every task and command. Raises :class:`InputError` for a missing,
    truncated or corrupt file, and, when ``task`` is given, for a model of another task or one
    whose input channels or classes are not the task's (:mod:`genorrn.recipes`), and for a
    card calibration that does not fit these weights. An ensemble's members must be found,
    match their sha256 in the card and share one task, alphabet and classes.
    ``calibration=False`` ignores the card's calibration (to fit a new one).
    """
    weights, card_file = resolve(name_or_path)
    card = read_card(card_file) if card_file else ModelCard()
    if weights == card_file:
        from genorrn.ensembles import load_members

        keras_model = load_members(card, card_file)
    elif card.members:
        raise InputError(f"{card_file}: lists ensemble members, but {weights.name} is beside it "
                         "(an ensemble's card has no weights of its own)")  # fmt: skip
    else:
        keras_model = _load_keras(weights)
    if not calibration:
        card = replace(card, calibration={})
    loaded = LoadedModel(keras_model, card, weights)
    if task:
        if loaded.task != task:
            raise InputError(f"{weights}: model is for task {loaded.task!r}, not {task!r}")
        expected = RECIPES[task].architecture
        shape = (loaded.keras.input_shape[-1], loaded.keras.output_shape[-1])
        if shape != (expected["alphabet_size"], expected["num_classes"]):
            raise InputError(
                f"{weights}: not a {task} model (input {shape[0]} channels, {shape[1]} classes; "
                f"expected {expected['alphabet_size']} and {expected['num_classes']})"
            )
    return loaded


def _load_keras(weights: Path):
    """The Keras model in ``weights``, or a one-line error naming the file."""
    import zipfile

    import keras

    if not zipfile.is_zipfile(weights):
        raise InputError(f"{weights}: not a valid .keras model file (truncated or corrupt?)")
    try:
        return keras.saving.load_model(weights, compile=False)
    except Exception as exc:  # noqa: BLE001 - any failure here means an unusable file
        detail = exception_line(exc)[:120]
        raise InputError(f"{weights}: cannot load model ({detail})") from None

