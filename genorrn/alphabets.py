"""Alphabet constants shared by every layer (the bottom of the import graph).

DNA channels are ``A C G T``; protein channels are the 20 canonical amino acids plus ``X``.
The N/IUPAC and nonstandard-residue policies are spelled out here and stored in model cards.
"""

from __future__ import annotations

import re

DNA_ALPHABET = "ACGT"

#: IUPAC nucleotide codes and the bases each stands for (U is RNA's T).
DNA_IUPAC = {
    "A": "A", "C": "C", "G": "G", "T": "T", "U": "T",
    "R": "AG", "Y": "CT", "S": "CG", "W": "AT", "K": "GT", "M": "AC",
    "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT",
}  # fmt: skip

#: a run of at least this many N is an assembly gap: in prediction, a sequence boundary
#: (:class:`genorrn.streaming.GapRule`)
ASSEMBLY_GAP_MIN = 1000

DNA_POLICY = (
    "iupac-fractional: A C G T one-hot (lowercase = uppercase, U = T); each IUPAC ambiguity "
    "code is the uniform distribution over the bases it stands for (R = A/G 0.5 each, N = 0.25 "
    "each); positions beyond a sequence end are all-zero padding; any other character "
    "(digits, '-', '.', protein letters) is an error. In prediction, a run of at least "
    f"{ASSEMBLY_GAP_MIN:,} N is an assembly gap: each side is predicted as if the sequence "
    "ended there, and the gap's positions are not run through the model (background class = 1)"
)

PROTEIN_ALPHABET = "ACDEFGHIKLMNPQRSTVWYX"

#: Non-canonical protein letters: ambiguity codes become fractions, the rest the X channel.
PROTEIN_AMBIGUOUS = {"B": "DN", "Z": "EQ", "J": "IL"}
PROTEIN_AS_X = "XUO*"

PROTEIN_POLICY = (
    "protein-21: 20 canonical amino acids + X one-hot (lowercase = uppercase); B = D/N, "
    "Z = E/Q, J = I/L as 0.5/0.5 fractions; U (selenocysteine), O (pyrrolysine), X and '*' "
    "(nonstandard residue) use the X channel; one trailing '*' (translation stop) is removed by "
    "the protein readers before encoding; any other character (digits, '-', '.') is an error"
)

_COMPLEMENT = str.maketrans(
    "ACGTURYSWKMBDHVNacgturyswkmbdhvn",
    "TGCAAYRSWMKVHDBNtgcaayrswmkvhdbn",
)


def reverse_complement(seq: str) -> str:
    """Reverse complement of a DNA string; IUPAC codes map to their complements, case is kept.

    U complements to A (the result is DNA). Characters outside the IUPAC alphabet are left
    in place; :func:`genorrn.encoding.encode_dna` rejects them.
    """
    return seq.translate(_COMPLEMENT)[::-1]


SPLICE_CLASSES = ("neither", "acceptor", "donor")
SS3_CLASSES = "HEC"
SS8_CLASSES = "HGIEBTSC"
#: DSSP 8 → 3 state reduction (H,G,I → H; E,B → E; rest → C).
SS8_TO_SS3 = {"H": "H", "G": "H", "I": "H", "E": "E", "B": "E", "T": "C", "S": "C", "C": "C"}


_NOT_DNA = re.compile("[^" + "".join(DNA_IUPAC) + "".join(DNA_IUPAC).lower() + "]")


def invalid_dna_position(seq: str) -> int:
    """0-based index of the first character that is not an IUPAC nucleotide code, or -1."""
    match = _NOT_DNA.search(seq)
    return match.start() if match else -1
