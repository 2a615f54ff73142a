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
classes) trains the Q8 head from Q8 and Q3 labels alike. Pure numpy + Keras's ``PyDataset``.
"""

from __future__ import annotations

import csv
import gzip
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genorrn.alphabets import SS3_CLASSES, SS8_CLASSES, SS8_TO_SS3
from genorrn.encoding import PROTEIN_TABLE, PROTEIN_VALID
from genorrn.errors import InputError
from genorrn.io.fasta import check_readable, iter_fasta

IGNORE = 255
NUM_CODES = len(SS8_CLASSES) + len(SS3_CLASSES)

#: Q8 class index → Q3 class index (H,G,I → H; E,B → E; rest → C).
Q8_TO_Q3 = np.array([SS3_CLASSES.index(SS8_TO_SS3[c]) for c in SS8_CLASSES], np.int64)

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

    def subset(self, keep: Iterable[str], name: str | None = None) -> ChainSet:
        keep = set(keep)
        return ChainSet(name or self.name, [c for c in self.chains if c.id in keep], self.source)

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


def _open_csv(path: Path):
    return gzip.open(path, "rt", newline="") if path.suffix == ".gz" else open(path, newline="")


def load_pisces(path: str | os.PathLike) -> ChainSet:
    """PISCES-2018 chains with Q8 and Q3 labels (IDs ``PDBID-CHAIN``)."""
    path = check_readable(path, "PISCES CSV")
    chains, seen = [], set()
    with _open_csv(path) as handle:
        reader = csv.DictReader(handle)
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
    with _open_csv(path) as handle:
        reader = csv.reader(handle, skipinitialspace=True)
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


# -- batching -------------------------------------------------------------------------------


def _keras_pydataset():
    import keras

    return keras.utils.PyDataset


def make_batches(
    chains: Sequence[Chain],
    batch_size: int,
    *,
    max_len: int = 1024,
    bucket: int = 64,
    shuffle: bool = True,
    seed: int = 0,
):
    """A ``keras.utils.PyDataset`` of length-bucketed batches (see :class:`ProteinBatches`)."""
    return __getattr__("ProteinBatches")(
        chains, batch_size, max_len=max_len, bucket=bucket, shuffle=shuffle, seed=seed
    )


class _Batches:
    """Length-bucketed protein batches: ``((onehot, mask), codes)``.

    Chains are sorted by length and cut into batches of neighbours, so little padding is
    needed; the padded length is rounded up to a multiple of ``bucket`` (few distinct shapes,
    few retraces). Chains longer than ``max_len`` are cut into a random ``max_len`` window each
    epoch. ``onehot`` is ``(B, T, 21)`` float32, ``mask`` ``(B, T)`` bool (True inside a chain),
    ``codes`` ``(B, T)`` uint8 targets (:data:`IGNORE` on padding and unscored residues).
    """

    def _setup(self, chains, batch_size, max_len, bucket, shuffle, seed):
        self.chains = list(chains)
        if not self.chains:
            raise InputError("no training chains")
        self.batch_size, self.max_len, self.bucket = batch_size, max_len, bucket
        self.shuffle, self.rng = shuffle, np.random.default_rng(seed)
        self.codes = [encode_codes(c.seq) for c in self.chains]
        self.targets = [c.codes() for c in self.chains]
        self.lengths = np.array([min(len(c.seq), max_len) for c in self.chains])
        self._plan()

    def _plan(self):
        jitter = self.rng.random(len(self.lengths)) if self.shuffle else np.zeros(len(self.lengths))
        order = np.lexsort((jitter, self.lengths))
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        if self.shuffle:
            self.rng.shuffle(batches)
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def on_epoch_end(self):
        if self.shuffle:
            self._plan()

    def __getitem__(self, index):
        idx = self.batches[index]
        width = int(np.ceil(self.lengths[idx].max() / self.bucket) * self.bucket)
        codes = np.zeros((len(idx), width), np.uint8)  # byte 0 → all-zero one-hot row
        targets = np.full((len(idx), width), IGNORE, np.uint8)
        mask = np.zeros((len(idx), width), bool)
        for row, i in enumerate(idx):
            seq, target = self.codes[i], self.targets[i]
            start = 0
            if len(seq) > self.max_len:
                start = int(self.rng.integers(0, len(seq) - self.max_len + 1)) if self.shuffle else 0
            n = min(len(seq), self.max_len)
            codes[row, :n] = seq[start : start + n]
            targets[row, :n] = target[start : start + n]
            mask[row, :n] = True
        return (PROTEIN_TABLE[codes], mask), targets


def _make_class():
    base = _keras_pydataset()

    class ProteinBatches(_Batches, base):
        __doc__ = _Batches.__doc__

        def __init__(self, chains, batch_size, *, max_len=1024, bucket=64, shuffle=True, seed=0,
                     **kwargs):  # fmt: skip
            base.__init__(self, **kwargs)
            self._setup(chains, batch_size, max_len, bucket, shuffle, seed)

    return ProteinBatches


def __getattr__(name):  # lazy: Keras is imported only when batches are wanted
    if name == "ProteinBatches":
        if "ProteinBatches" in globals():
            return globals()["ProteinBatches"]
        cls = _make_class()
        globals()["ProteinBatches"] = cls
        return cls
    raise AttributeError(name)


# -- user protein FASTA ---------------------------------------------------------------------

_DNA_LETTERS = set("ACGTUN")
DNA_LIKE_MIN_LENGTH = 20


def clean_protein(rid: str, seq: str, path: str | os.PathLike) -> str:
    """Apply the protein input policy to one FASTA record; return the sequence to encode.

    One trailing ``*`` (translation stop) is removed; lowercase is kept (encoded as uppercase);
    digits, gaps and other characters, an empty sequence, and a record that looks like DNA
    (only A/C/G/T/U/N letters, longer than 20) raise a one-line :class:`InputError` naming the
    file, the record and the 1-based position. Nothing else changes, so residue numbers in
    every output are the input's.
    """
    where = f"{path}: record {rid!r}: "
    if seq.endswith("*"):
        seq = seq[:-1]
    if not seq:
        raise InputError(f"{where}empty sequence (nothing to predict; remove the record)")
    check_protein(seq, where)
    if len(seq) > DNA_LIKE_MIN_LENGTH and set(seq.upper()) <= _DNA_LETTERS:
        raise InputError(
            f"{where}looks like DNA (only A/C/G/T/N letters in {len(seq)} residues); a protein"
            " FASTA is expected here (translate it first)"
        )
    return seq


def _fasta_records(path: Path):
    """``(id, sequence)`` of a FASTA file, line by line. Unlike Biopython's parser, a space or
    tab inside a sequence line is kept (and then rejected by :func:`clean_protein`), so no
    character is silently dropped; trailing whitespace at a line end is ignored."""
    from genorrn.io.fasta import open_text

    seen: set[str] = set()
    rid, parts = None, []
    with open_text(path) as handle:
        try:
            for number, line in enumerate(handle, start=1):
                line = line.rstrip()
                if line.startswith(">"):
                    if rid is not None:
                        yield rid, "".join(parts)
                    words = line[1:].split(None, 1)
                    if not words:
                        raise InputError(f"{path}: line {number}: empty header line ('>' alone)")
                    rid, parts = words[0], []
                    if rid in seen:
                        raise InputError(f"{path}: record {rid!r}: duplicate record ID")
                    seen.add(rid)
                elif rid is None:
                    if line:
                        raise InputError(
                            f"{path}: not a FASTA file (line {number} {line[:40]!r} comes"
                            " before any '>' header)"
                        )
                else:
                    parts.append(line)
        except (OSError, EOFError) as exc:
            raise InputError(f"{path}: cannot read compressed file ({exc})") from None
    if rid is None:
        raise InputError(f"{path}: FASTA file has no records")
    yield rid, "".join(parts)


def read_proteins(path: str | os.PathLike):
    """Stream ``(id, sequence)`` of a protein FASTA (plain or gzip) after :func:`clean_protein`.

    Duplicate IDs, empty records, a missing/empty/non-FASTA file are one-line errors.
    """
    path = check_readable(path, "FASTA file")
    for rid, seq in _fasta_records(path):
        yield rid, clean_protein(rid, seq, path)
