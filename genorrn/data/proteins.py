"""Users' protein FASTA files: the protein input policy of every command and of the Python API.

One trailing ``*`` (translation stop) is removed; lowercase is kept (encoded as uppercase);
other characters are checked against the protein alphabet (:mod:`genorrn.alphabets`).
"""

from __future__ import annotations

import os
from pathlib import Path

from genorrn.data.structure import check_protein
from genorrn.errors import InputError
from genorrn.io.fasta import check_readable

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


def _fasta_records(source: Path, name: str | None = None):
    """``(id, sequence)`` of a FASTA file (or a pipe, read once), line by line. Unlike
    Biopython's parser, a space or tab inside a sequence line is kept (and then rejected by
    :func:`clean_protein`), so no character is silently dropped; trailing whitespace at a line
    end is ignored. Messages name the input ``name`` (default: ``path``)."""
    from genorrn.io.fasta import open_text
    from genorrn.io.streams import READ_ERRORS, unreadable

    path = name or source
    seen: set[str] = set()
    rid, parts = None, []
    with open_text(source) as handle:
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
        except READ_ERRORS as exc:
            raise unreadable(path, exc) from None
    if rid is None:
        raise InputError(f"{path}: FASTA file has no records")
    yield rid, "".join(parts)


def read_proteins(path: str | os.PathLike, name: str | None = None):
    """Stream ``(id, sequence)`` of a protein FASTA (plain or gzip; a file, a pipe or ``-``,
    read once) after :func:`clean_protein`; messages name the input ``name`` (default: the
    path; ``standard input`` for ``-``), e.g. the pipe a temporary copy was made from.

    Duplicate IDs, empty records, a missing/empty/non-FASTA file are one-line errors.
    """
    from genorrn.io.streams import display_name, is_stream

    name = name or display_name(path)
    if not is_stream(path):
        path = check_readable(path, "FASTA file")
    for rid, seq in _fasta_records(path, name):
        yield rid, clean_protein(rid, seq, name)
