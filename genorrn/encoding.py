"""Strings → arrays and back: one-hot DNA and protein, reverse complement, label alphabets.

Encoding is a lookup table over the ASCII bytes (no per-character Python loop), following
the policies declared in :mod:`genorrn.alphabets` (``DNA_POLICY``, ``PROTEIN_POLICY``).
"""

from __future__ import annotations

import numpy as np

from genorrn.alphabets import (
    DNA_ALPHABET,
    DNA_IUPAC,
    PROTEIN_ALPHABET,
    PROTEIN_AMBIGUOUS,
    PROTEIN_AS_X,
    SS3_CLASSES,
    SS8_CLASSES,
    SS8_TO_SS3,
    reverse_complement,
)
from genorrn.errors import InputError

__all__ = [
    "encode_dna",
    "encode_protein",
    "decode_dna",
    "reverse_complement",
    "reverse_complement_onehot",
    "q3_from_q8",
]

#: Q8 class index → Q3 class index (H,G,I → H; E,B → E; rest → C).
Q8_TO_Q3 = np.array([SS3_CLASSES.index(SS8_TO_SS3[c]) for c in SS8_CLASSES], np.int64)
#: (8, 3) matrix summing Q8 probabilities into Q3 (H, E, C).
Q8_TO_Q3_MATRIX = np.eye(len(SS3_CLASSES), dtype=np.float32)[Q8_TO_Q3]


def q3_from_q8(probs8: np.ndarray) -> np.ndarray:
    """``(..., 8)`` Q8 probabilities → ``(..., 3)`` Q3 probabilities in ``H E C`` order (the
    model's Q3 is derived from its Q8 head, so the two never contradict each other)."""
    return np.asarray(probs8, np.float32) @ Q8_TO_Q3_MATRIX


def _table(alphabet: str, codes: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    table = np.zeros((256, len(alphabet)), dtype=np.float32)
    valid = np.zeros(256, dtype=bool)
    for letter, meaning in codes.items():
        row = np.zeros(len(alphabet), dtype=np.float32)
        for base in meaning:
            row[alphabet.index(base)] = 1.0 / len(meaning)
        for case in {letter.upper(), letter.lower()}:
            table[ord(case)] = row
            valid[ord(case)] = True
    return table, valid


DNA_TABLE, DNA_VALID = _table(DNA_ALPHABET, DNA_IUPAC)
PROTEIN_TABLE, PROTEIN_VALID = _table(
    PROTEIN_ALPHABET,
    {a: a for a in PROTEIN_ALPHABET} | PROTEIN_AMBIGUOUS | {x: "X" for x in PROTEIN_AS_X},
)
_PROTEIN_ONLY = set("EFIJLOPQZX*") - set(DNA_IUPAC)


def _as_bytes(seq: str | bytes) -> np.ndarray:
    if isinstance(seq, str):
        try:
            seq = seq.encode("ascii")
        except UnicodeEncodeError:
            seq = seq.encode("ascii", errors="replace")  # '?' is then reported as invalid
    return np.frombuffer(seq, dtype=np.uint8)


def _raise_invalid(codes: np.ndarray, bad: int, kind: str, where: str) -> None:
    letter = chr(codes[bad])
    hint = ""
    if kind == "DNA" and letter.upper() in _PROTEIN_ONLY:
        hint = " (is this a protein sequence?)"
    raise InputError(f"{where}invalid {kind} character {letter!r} at position {bad + 1}{hint}")


def encode_dna(seq: str | bytes, *, where: str = "") -> np.ndarray:
    """One-hot encode DNA as a float32 ``(len(seq), 4)`` array over ``A C G T``.

    Lowercase (soft-masked) equals uppercase, U equals T, IUPAC ambiguity codes become
    fractions (N = 0.25 each). Any other character raises :class:`InputError`; ``where``
    (e.g. ``"genome.fa: record 'chr1': "``) prefixes the message. Positions are 1-based in it.
    """
    codes = _as_bytes(seq)
    valid = DNA_VALID[codes]
    if not valid.all():
        _raise_invalid(codes, int(np.flatnonzero(~valid)[0]), "DNA", where)
    return DNA_TABLE[codes]


def encode_protein(seq: str | bytes, *, where: str = "") -> np.ndarray:
    """One-hot encode a protein as a float32 ``(len(seq), 21)`` array (20 canonical + X).

    B, Z, J become 0.5/0.5 fractions; U, O, X and ``*`` use the X channel. Digits, gaps and
    other characters raise :class:`InputError`.
    """
    codes = _as_bytes(seq)
    valid = PROTEIN_VALID[codes]
    if not valid.all():
        _raise_invalid(codes, int(np.flatnonzero(~valid)[0]), "protein", where)
    return PROTEIN_TABLE[codes]


def decode_dna(onehot: np.ndarray) -> str:
    """Inverse of :func:`encode_dna` for unambiguous rows (argmax; all-zero rows become N)."""
    onehot = np.asarray(onehot)
    letters = np.frombuffer(DNA_ALPHABET.encode(), dtype=np.uint8)[onehot.argmax(axis=-1)]
    letters = np.where(onehot.max(axis=-1) >= 0.5, letters, ord("N"))
    return letters.astype(np.uint8).tobytes().decode("ascii")


def reverse_complement_onehot(onehot: np.ndarray) -> np.ndarray:
    """Reverse complement of a one-hot ``(L, 4)`` ACGT array: reverse positions and channels."""
    return onehot[::-1, ::-1]
