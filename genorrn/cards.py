"""Model cards: one schema (:class:`ModelCard`), one reader, one writer, for every task.

A card is ``NAME.card.json`` beside ``NAME.keras`` (``NAME.md`` is its human-readable text).
An **ensemble** is a card with ``members`` and no ``NAME.keras`` (and empty ``weights``): its
prediction is the mean of its members' probabilities. Fields (``schema`` = :data:`SCHEMA`):

=================  ===========================================================================
name, task         model name; ``splice`` or ``structure`` (:mod:`genorrn.recipes`)
description        one line
genorrn_version    the version that trained it; ``created``: ISO date; ``licence``
weights            ``{"file": "NAME.keras", "sha256": …}``
alphabet           ``dna`` or ``protein``
input              ``{"channels": [...], "policy": the N/IUPAC or protein policy,
                   "description": how sequences are read}``
classes            output classes in channel order
architecture       ``{"factory": …, "config": LabellerConfig fields, "summary": …}``
streaming          ``{"chunk_size", "flank", "batch_size"}``: the model's prediction defaults
data, training     data files + checksums + splits; command, configuration, history, hardware
metrics            per test set; ``metrics_summary``: one line for ``genorrn models list``
calibration        ``{"method": "temperature", "temperatures": [one per class],
                   "weights_sha256": the weights it was fitted for, "fitted_on": …, …}``
                   (empty: uncalibrated); applied by default (:mod:`genorrn.calibration`);
                   an ensemble's ``weights_sha256`` is :func:`members_sha256` of its members
members            ensembles only: ``[{"name": …, "file": "NAME.keras", "sha256": …}, …]``;
                   ``file`` is relative to the card's folder, where it is looked up first,
                   then ``name`` in the models folders; its sha256 must match (empty: a
                   single model)
extra              task-specific facts (speed, throughput, Q3 derivation, targets, …)
=================  ===========================================================================

Cards written before the schema (no ``schema`` key) are read too: their fields are mapped on
the way in (``alphabet_policy`` → ``input.policy``, a text ``input`` → ``input.description``,
a flat ``architecture`` → ``architecture.config``, other keys → ``extra``).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from genorrn.errors import InputError

SCHEMA = "genorrn-card/1"
SUFFIX = ".card.json"


@dataclass
class ModelCard:
    name: str = ""
    task: str = ""
    description: str = ""
    genorrn_version: str = ""
    created: str = ""
    licence: str = ""
    weights: dict = field(default_factory=dict)
    alphabet: str = ""
    input: dict = field(default_factory=dict)
    classes: list = field(default_factory=list)
    architecture: dict = field(default_factory=dict)
    streaming: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    metrics_summary: str = ""
    calibration: dict = field(default_factory=dict)
    members: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    schema: str = SCHEMA

    @classmethod
    def from_dict(cls, data: dict) -> ModelCard:
        """A card from its JSON object (older layouts mapped, see the module docstring)."""
        data = dict(data)
        if data.get("schema") not in (None, SCHEMA):
            raise ValueError(f"unknown card schema {data['schema']!r} (this genorrn reads {SCHEMA})")
        if "schema" not in data:
            data = _migrate(data)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown card fields {unknown} (task-specific facts go in 'extra')")
        return cls(**{k: v for k, v in data.items() if v is not None})  # null: the default

    def to_dict(self) -> dict:
        """The JSON object; ``members`` (ensembles) and ``calibration`` only when set, so the
        cards of uncalibrated single models keep their layout."""
        data = {k: v for k, v in asdict(self).items() if k != "schema"}
        for optional in ("members", "calibration"):
            if not data[optional]:
                del data[optional]
        return {"schema": self.schema} | data


def _migrate(old: dict) -> dict:
    """Map a card written before the schema onto it."""
    new = {k: old[k] for k in ("name", "task", "description", "genorrn_version", "created",
                               "licence", "weights", "alphabet", "classes", "streaming", "data",
                               "training", "metrics", "metrics_summary") if k in old}  # fmt: skip
    described = old.get("input")
    new["input"] = dict(described) if isinstance(described, dict) else (
        {"description": described} if described else {})  # fmt: skip
    if old.get("alphabet_policy"):
        new["input"].setdefault("policy", old["alphabet_policy"])
    architecture = old.get("architecture") or {}
    new["architecture"] = architecture if "config" in architecture else (
        {"config": architecture} if architecture else {})  # fmt: skip
    done = set(new) | {"alphabet_policy", "sha256"}  # sha256 repeated weights.sha256
    extra = {k: v for k, v in old.items() if k not in done}
    if extra:
        new["extra"] = extra
    return new


def members_sha256(members: list[dict]) -> str:
    """The fingerprint of an ensemble's weights: the sha256 of its members' sha256s (one per
    line, in card order). What an ensemble's calibration records as ``weights_sha256``."""
    import hashlib

    text = "".join(f"{m.get('sha256', '')}\n" for m in members)
    return hashlib.sha256(text.encode()).hexdigest()


def card_path(weights: str | os.PathLike) -> Path:
    """``NAME.card.json`` beside ``NAME.keras``."""
    weights = Path(weights)
    return weights.with_name(weights.name.removesuffix(".keras") + SUFFIX)


def read_card(path: str | os.PathLike) -> ModelCard:
    """The card at ``path``, or a one-line error naming the file."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise InputError(f"{path}: cannot read model card ({exc.strerror or exc})") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: model card is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: model card is not a JSON object")
    try:
        return ModelCard.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{path}: {exc}") from None


def write_card(card: ModelCard, path: str | os.PathLike) -> None:
    """Write ``card`` as indented JSON (temporary name, then rename)."""
    from genorrn.io.outputs import atomic_output

    with atomic_output(path) as tmp:
        Path(tmp).write_text(json.dumps(card.to_dict(), indent=2) + "\n")
