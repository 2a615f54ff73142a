"""Protein secondary-structure data: loaders, per-residue targets, length-bucketed batches.

Data sets (``../shared/data/structure``, see its README for the scoring rules):

* **NetSurfP-2.0** (``netsurfp2/``): ``sequences.fasta.gz`` + ``labels_q3.fasta.gz`` (header
  ``>ID SET=train|test VALIDATION=True|False``) + ``resolved_mask.fasta.gz`` (1 = resolved).
  Splits: ``train`` (SET=train, VALIDATION=False), ``validation`` (SET=train,
  VALIDATION=True), ``test`` (SET=test, a random in-distribution sample). Q3 labels only.
* **PISCES-2018** (``pisces2018/pdb_intersect_pisces_2018-06-06.csv.gz``): Q8 (``sst8``) and Q3
  (``sst3``) labels; ``*`` in ``seq`` is a nonstandard residue (X channel, never removed: the
  residue numbering must not shift).
* **CB513 / TS115** (``cb513.csv.gz``, ``ts115.csv.gz``): space-separated tokens per residue;
  scored residues have ``disorder == 1.0`` and, for CB513, ``cb513_mask == 1.0``.

Every chain is a :class:`Chain` with per-residue ``q8`` and ``q3`` class indices (``-1`` where a
label is unknown or the residue is not scored). Training targets are one *code* per residue:
``0..7`` a Q8 class (``SS8_CLASSES`` order), ``8..10`` a Q3 class only (``SS3_CLASSES`` order,
for Q3-only data such as NetSurfP-2.0), :data:`IGNORE` = masked. :data:`ALLOWED` maps a code to
the Q8 classes it allows, so one loss (``-log`` of the summed probability of the allowed Q8
classes) trains the Q8 head from Q8 and Q3 labels alike. Pure numpy. Batches for training:
:mod:`genorrn.data.protein_batches`; users' protein FASTA files: :mod:`genorrn.data.proteins`.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genorrn.alphabets import SS3_CLASSES, SS8_CLASSES
from genorrn.encoding import PROTEIN_VALID, Q8_TO_Q3
from genorrn.errors import InputError
from genorrn.io.fasta import check_readable, iter_fasta

IGNORE = 255

#: target code → multi-hot over the 8 Q8 classes (rows 0..7 Q8, 8..10 Q3 groups).
ALLOWED = np.zeros((256, len(SS8_CLASSES)), np.float32)
for _i in range(len(SS8_CLASSES)):
    ALLOWED[_i, _i] = 1.0
for _j in range(len(SS3_CLASSES)):
    ALLOWED[len(SS8_CLASSES) + _j, Q8_TO_Q3 == _j] = 1.0

NETSURFP_FILES = ("sequences.fasta.gz", "labels_q3.fasta.gz", "resolved_mask.fasta.gz")
PISCES_FILE = "pdb_intersect_pisces_2018-06-06.csv.gz"


@dataclass
class Chain:
    """One protein chain: sequence and per-residue labels (``-1`` = unknown / not scored)."""

    id: str
    seq: str
    q8: np.ndarray  # int8 (L,)
    q3: np.ndarray  # int8 (L,)

    def codes(self) -> np.ndarray:
        """Training target codes (Q8 where known, else Q3 + 8, else :data:`IGNORE`)."""
        codes = np.full(len(self.seq), IGNORE, np.uint8)
        q3 = self.q3 >= 0
        codes[q3] = self.q3[q3] + len(SS8_CLASSES)
        q8 = self.q8 >= 0
        codes[q8] = self.q8[q8]
        return codes


@dataclass
class ChainSet:
    """A named list of chains (``source`` records the files it came from)."""

    name: str
    chains: list[Chain]
    source: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.chains)

    @property
    def residues(self) -> int:
        return sum(len(c.seq) for c in self.chains)

    @property
    def has_q8(self) -> bool:
        return any((c.q8 >= 0).any() for c in self.chains)

    def without(self, drop: Iterable[str], name: str | None = None) -> ChainSet:
        drop = set(drop)
        return ChainSet(name or self.name, [c for c in self.chains if c.id not in drop], self.source)

    def head(self, n: int) -> ChainSet:
        return ChainSet(self.name, self.chains[:n], self.source)


def _indices(labels: str, alphabet: str, where: str) -> np.ndarray:
    table = np.full(256, -1, np.int8)
    for i, letter in enumerate(alphabet):
        table[ord(letter)] = i
    codes = np.frombuffer(labels.encode("ascii", errors="replace"), np.uint8)
    out = table[codes]
    if (out < 0).any():
        bad = int(np.flatnonzero(out < 0)[0])
        raise InputError(f"{where}unknown label {labels[bad]!r} at position {bad + 1}")
    return out


def check_protein(seq: str, where: str) -> None:
    """Raise :class:`InputError` naming the position of the first non-protein character."""
    codes = np.frombuffer(seq.encode("ascii", errors="replace"), np.uint8)
    valid = PROTEIN_VALID[codes]
    if not valid.all():
        bad = int(np.flatnonzero(~valid)[0])
        raise InputError(f"{where}invalid protein character {seq[bad]!r} at position {bad + 1}")


def _header_fields(description: str) -> dict[str, str]:
    return dict(word.split("=", 1) for word in description.split() if "=" in word)


def load_netsurfp(folder: str | os.PathLike) -> dict[str, ChainSet]:
    """``{"train", "validation", "test"}`` → :class:`ChainSet` of NetSurfP-2.0 (Q3 labels;
    unresolved residues have ``q3 = -1``)."""
    folder = Path(folder)
    paths = [check_readable(folder / f, "NetSurfP-2.0 file") for f in NETSURFP_FILES]
    seqs = {r.id: r.sequence for r in iter_fasta(paths[0])}
    masks = {r.id: r.sequence for r in iter_fasta(paths[2])}
    splits: dict[str, list[Chain]] = {"train": [], "validation": [], "test": []}
    for rec in iter_fasta(paths[1]):
        where = f"{paths[1]}: record {rec.id!r}: "
        if rec.id not in seqs or rec.id not in masks:
            raise InputError(f"{where}no matching record in {paths[0].name} / {paths[2].name}")
        seq, mask = seqs[rec.id], masks[rec.id]
        if not len(seq) == len(mask) == len(rec.sequence):
            raise InputError(
                f"{where}lengths differ (sequence {len(seq)}, labels {len(rec.sequence)},"
                f" mask {len(mask)})"
            )
        check_protein(seq, f"{paths[0]}: record {rec.id!r}: ")
        fields = _header_fields(rec.description)
        if fields.get("SET") not in ("train", "test"):
            raise InputError(f"{where}header lacks SET=train|test")
        split = fields["SET"]
        if split == "train" and fields.get("VALIDATION") == "True":
            split = "validation"
        q3 = _indices(rec.sequence, SS3_CLASSES, where)
        resolved = _indices(mask, "01", f"{paths[2]}: record {rec.id!r}: ") == 1
        q3[~resolved] = -1
        splits[split].append(Chain(rec.id, seq, np.full(len(seq), -1, np.int8), q3))
    return {
        name: ChainSet(f"netsurfp2_{name}", chains, [str(p) for p in paths])
        for name, chains in splits.items()
    }


def _csv_lines(path: Path) -> Iterator[str]:
    """The lines of a CSV, plain or gzip; a truncated or corrupt gzip file is a one-line error
    naming it (was an EOFError traceback)."""
    from genorrn.io.fasta import open_text
    from genorrn.io.streams import READ_ERRORS, unreadable

    try:
        with open_text(path) as handle:
            yield from handle
    except READ_ERRORS as exc:
        raise unreadable(path, exc) from None


def load_pisces(path: str | os.PathLike) -> ChainSet:
    """PISCES-2018 chains with Q8 and Q3 labels (IDs ``PDBID-CHAIN``)."""
    path = check_readable(path, "PISCES CSV")
    chains, seen = [], set()
    reader = csv.DictReader(_csv_lines(path))
    need = {"pdb_id", "chain_code", "seq", "sst8", "sst3"}
    if not need <= set(reader.fieldnames or ()):
        raise InputError(f"{path}: not a PISCES CSV (columns {sorted(need)} expected)")
    for row in reader:
        cid = f"{row['pdb_id']}-{row['chain_code']}"
        where = f"{path}: chain {cid!r}: "
        if cid in seen:
            raise InputError(f"{where}duplicate chain")
        seen.add(cid)
        seq = row["seq"]
        if not len(seq) == len(row["sst8"]) == len(row["sst3"]):
            raise InputError(f"{where}sequence and label lengths differ")
        check_protein(seq, where)
        q8 = _indices(row["sst8"], SS8_CLASSES, where)
        chains.append(Chain(cid, seq, q8, Q8_TO_Q3[q8].astype(np.int8)))
    return ChainSet("pisces2018", chains, [str(path)])


def load_test_csv(path: str | os.PathLike, name: str | None = None) -> ChainSet:
    """CB513 / TS115 (ps4-dataset CSV). Residues not scored (``disorder != 1.0``, or
    ``cb513_mask != 1.0``) get label ``-1``. Q3 truth is ``dssp3``, Q8 truth ``dssp8``."""
    path = check_readable(path, "test-set CSV")
    name = name or path.name.split(".")[0]
    chains = []
    reader = csv.reader(_csv_lines(path), skipinitialspace=True)
    header = [h.strip() for h in next(reader, [])]
    if header[:4] != ["input", "dssp3", "dssp8", "disorder"]:
        raise InputError(f"{path}: not a ps4-dataset CSV (header {header!r})")
    for number, row in enumerate(reader, start=1):
        cid = f"{name}_{number}"
        where = f"{path}: row {number + 1}: "
        tokens = [field.split() for field in row]
        if len({len(t) for t in tokens}) != 1:
            raise InputError(f"{where}fields have different numbers of residues")
        seq = "".join(tokens[0])
        check_protein(seq, where)
        scored = np.asarray(tokens[3], np.float64) == 1.0
        if len(tokens) > 4:
            scored &= np.asarray(tokens[4], np.float64) == 1.0
        q3 = _indices("".join(tokens[1]), SS3_CLASSES, where)
        q8 = _indices("".join(tokens[2]), SS8_CLASSES, where)
        q3[~scored], q8[~scored] = -1, -1
        chains.append(Chain(cid, seq, q8, q3))
    return ChainSet(name, chains, [str(path)])


def load_all(data_dir: str | os.PathLike) -> dict[str, ChainSet]:
    """Every structure set of ``../shared/data/structure`` by name."""
    data_dir = Path(data_dir)
    nsp = load_netsurfp(data_dir / "netsurfp2")
    return {
        "netsurfp2_train": nsp["train"],
        "netsurfp2_validation": nsp["validation"],
        "netsurfp2_test": nsp["test"],
        "pisces2018": load_pisces(data_dir / "pisces2018" / PISCES_FILE),
        "cb513": load_test_csv(data_dir / "cb513.csv.gz", "cb513"),
        "ts115": load_test_csv(data_dir / "ts115.csv.gz", "ts115"),
    }


def encode_codes(seq: str) -> np.ndarray:
    """ASCII codes of a protein (index into :data:`genorrn.encoding.PROTEIN_TABLE`)."""
    return np.frombuffer(seq.encode("ascii"), np.uint8)
