"""Ensembles of models of one task: the card of a new one, and its members when loading it.

An ensemble is a model card alone, ``NAME.card.json``, whose ``members`` list models of one
task, alphabet and set of classes (they may differ in size) by name, file and sha256, and which
has no ``NAME.keras`` of its own. It predicts the mean of its members' probabilities in one
streamed pass (:mod:`genorrn.models.ensemble`), then applies its own card's calibration, if
any (``genorrn models calibrate`` fits it for the ensemble; the members' calibrations are not
used). Members are looked up by ``file`` relative to the card's folder, then by ``name`` in the
models folders (:func:`genorrn.pretrained.model_dirs`), and must match their sha256.
"""

from __future__ import annotations

import os
from pathlib import Path

from genorrn.cards import ModelCard
from genorrn.errors import InputError
from genorrn.io.checksums import sha256
from genorrn.recipes import RECIPES


def _member_file(member: dict, card_file: Path) -> Path | None:
    """A member's ``.keras``: ``file`` in the card's folder, else ``name`` in the models folders."""
    from genorrn.pretrained import model_dirs

    if member.get("file") and (card_file.parent / member["file"]).is_file():
        return card_file.parent / member["file"]
    for folder in model_dirs() if member.get("name") else []:
        if (folder / f"{member['name']}.keras").is_file():
            return folder / f"{member['name']}.keras"
    return None


def member_cards(card: ModelCard, card_file: Path) -> list[ModelCard]:
    """The cards of an ensemble's members that have one (``NAME.card.json`` beside the found
    ``.keras``); members without a card are left out."""
    from genorrn.cards import card_path, read_card

    found = [_member_file(member, card_file) for member in card.members]
    return [read_card(card_path(w)) for w in found if w is not None and card_path(w).is_file()]


def load_members(card: ModelCard, card_file: Path) -> list:
    """The Keras models of an ensemble card's members, each checked against its sha256; one
    task, alphabet and set of classes. One-line :class:`InputError` naming the card otherwise."""
    from genorrn.models.ensemble import ensemble_config
    from genorrn.pretrained import load_model

    if not card.members:
        raise InputError(f"{card_file}: no {card_file.name.removesuffix('.card.json')}.keras "
                         "beside it and no ensemble members in it")  # fmt: skip
    models, tasks = [], {card.task} - {""}
    for number, member in enumerate(card.members, 1):
        if not (isinstance(member, dict) and member.get("sha256")
                and (member.get("file") or member.get("name"))):  # fmt: skip
            raise InputError(f"{card_file}: member {number} needs 'sha256' and 'file' or 'name'")
        label = member.get("name") or member["file"]
        weights = _member_file(member, card_file)
        if weights is None:
            raise InputError(f"{card_file}: member {label!r} not found ({member.get('file')} is "
                             "not beside the card, nor the name in the models folders)")  # fmt: skip
        actual = sha256(weights)
        if actual != member["sha256"]:
            raise InputError(f"{card_file}: member {label!r} ({weights}) does not match the card "
                             f"(sha256 {actual[:12]}…, the card lists {member['sha256'][:12]}…): "
                             "altered or replaced?")  # fmt: skip
        loaded = load_model(weights, calibration=False)
        tasks.add(loaded.task)
        models.append(loaded.keras)
    if len(tasks) > 1:
        raise InputError(f"{card_file}: ensemble members of different tasks ({sorted(tasks)})")
    try:
        ensemble_config(models)
    except ValueError as exc:
        raise InputError(f"{card_file}: {exc}") from None
    return models


def _alphabet(model) -> str:
    return model.card.alphabet or (RECIPES[model.task].alphabet if model.task in RECIPES else "")


def _classes(model) -> list:
    return model.classes or (list(RECIPES[model.task].classes) if model.task in RECIPES else [])


def ensemble_card(members: list, card_file: Path, description: str = "") -> ModelCard:
    """The card of a new ensemble of ``members`` (:class:`~genorrn.pretrained.LoadedModel`),
    to be written at ``card_file``. Refused (one-line :class:`InputError`): fewer than two
    members, an ensemble as a member, the same weights twice, different tasks, alphabets
    (input channels) or classes.

    Streaming defaults: the largest of the members' flanks (each member's error bound holds,
    and it covers every conv context), the smallest chunk size and batch size (one step holds
    every member's activations, so memory stays near the largest member's alone).
    """
    from datetime import date

    from genorrn import __version__

    if len(members) < 2:
        raise InputError(f"{card_file}: an ensemble needs at least 2 members ({len(members)} "
                         "given)")  # fmt: skip
    seen: dict[str, Path] = {}
    for m in members:
        if m.is_ensemble:
            raise InputError(f"{m.path}: is an ensemble itself; list its members instead")
        if m.weights_sha256 in seen:
            raise InputError(f"{m.path}: given twice (the same weights as {seen[m.weights_sha256]})")
        seen[m.weights_sha256] = m.path
    facts = {
        "tasks": [m.task for m in members],
        "alphabets": [f"{_alphabet(m)} ({m.keras.input_shape[-1]} channels)" for m in members],
        "classes": [f"{','.join(_classes(m))} ({m.keras.output_shape[-1]})" for m in members],
    }
    for what, values in facts.items():
        if len(set(values)) > 1:
            found = ", ".join(f"{m.path}: {v}" for m, v in zip(members, values))
            raise InputError(f"{card_file}: ensemble members of different {what} ({found})")
    settings = [m.streaming_defaults() for m in members]
    streaming = {"chunk_size": min(s["chunk_size"] for s in settings),
                 "flank": max(max(s["flank"] for s in settings), max(m.conv_context for m in members)),
                 "batch_size": min(s["batch_size"] for s in settings)}  # fmt: skip
    entries = [{"name": m.card.name or m.name,
                "file": os.path.relpath(m.path, card_file.parent),
                "sha256": m.weights_sha256} for m in members]  # fmt: skip
    licences = {m.card.licence for m in members}
    first = members[0]
    return ModelCard(
        name=card_file.name.removesuffix(".card.json"),
        task=first.task,
        description=description or "mean of the probabilities of "
        + ", ".join(e["name"] for e in entries),
        genorrn_version=__version__,
        created=date.today().isoformat(),
        licence=licences.pop() if len(licences) == 1 else "",
        alphabet=_alphabet(first),
        input=dict(first.card.input),
        classes=_classes(first),
        streaming=streaming,
        members=entries,
    )
