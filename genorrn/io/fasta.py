"""FASTA input: indexed random access for genomes, streaming iteration for protein sets.

* :class:`Genome` gives ``fetch(chrom, start, end, strand)`` in 0-based half-open coordinates
  through :class:`pysam.FastaFile` (plain or bgzip-compressed files). Its ``.fai``/``.gzi``
  index is checked against the FASTA, or built, by :mod:`genorrn.io.faidx` (beside the FASTA,
  in a per-user cache folder, or in ``$GENORRN_INDEX_DIR``). Plain gzip (not bgzip) files
  cannot be indexed; they are streamed once into memory, record by record, with a hint to
  ``bgzip``. A pipe or ``-`` is refused unless ``Genome(path, stream=True)``: then it is
  copied once, decompressed, to a temporary file that is indexed (see
  :mod:`genorrn.io.streams`).
* :func:`iter_fasta` streams the records of a multi-record FASTA (plain, gzip or bgzip; a file,
  a pipe or ``-``), reading it once.

Every problem is raised as :class:`~genorrn.errors.InputError` naming the file and record.
"""

from __future__ import annotations

import gzip
import os
import shutil
import sys
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

from Bio.SeqIO.FastaIO import SimpleFastaParser

from genorrn.alphabets import invalid_dna_position, reverse_complement
from genorrn.errors import InputError
from genorrn.io.faidx import BGZF_EOF, ensure_index
from genorrn.io.streams import (
    READ_ERRORS,
    display_name,
    is_stream,
    open_stream,
    spool,
    unreadable,
)
from genorrn.regions import names_hint

_GZIP_MAGIC = b"\x1f\x8b"
#: why a genome must be a file unless a command says otherwise
RANDOM_ACCESS = ("its sequence is read at many places (random access through a .fai index); "
                 "give a plain or bgzip FASTA file")  # fmt: skip


@dataclass(frozen=True)
class FastaRecord:
    """One FASTA record: ``id`` is the first word of the header line."""

    id: str
    description: str
    sequence: str


def compression(path: str | os.PathLike) -> str:
    """Return ``"none"``, ``"bgzip"`` or ``"gzip"`` by reading the file's first bytes."""
    with open(path, "rb") as handle:
        head = handle.read(18)
    if not head.startswith(_GZIP_MAGIC):
        return "none"
    # BGZF: gzip with the FEXTRA flag and a "BC" extra subfield (SAM spec, section 4.1).
    if len(head) >= 14 and head[3] & 4 and head[12:14] == b"BC":
        return "bgzip"
    return "gzip"


def open_text(path: str | os.PathLike):
    """Open a plain or gzip/bgzip-compressed text file, a pipe or ``-`` for reading (use it
    in a ``with`` statement)."""
    if is_stream(path):
        return open_stream(path)
    path = Path(path)
    if compression(path) == "none":
        return open(path, encoding="ascii", errors="replace")
    return gzip.open(path, "rt", encoding="ascii", errors="replace")


def check_readable(path: str | os.PathLike, what: str = "file") -> Path:
    """Fail with one clear line if ``path`` is missing, a folder, unreadable or empty."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: {what} not found")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected a {what}")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: {what} is not readable (permission denied)")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: {what} is empty")
    return path


def check_bgzip_complete(path: Path, name: str | None = None) -> None:
    """A bgzip file ends with the BGZF end-of-file block; without it the file is truncated (an
    interrupted download or copy), and reading would stop early or fail."""
    with open(path, "rb") as handle:
        handle.seek(max(0, path.stat().st_size - len(BGZF_EOF)))
        tail = handle.read()
    if tail != BGZF_EOF:
        raise InputError(f"{name or path}: truncated bgzip file (it does not end with the BGZF "
                         "end-of-file block): download or copy it again, or recompress it with "
                         "bgzip")  # fmt: skip


def _fasta_lines(handle, name: str) -> Iterator[str]:
    """The lines of a FASTA from its first header on; one-line errors for an empty input or
    text before the first header. Reads only what it returns (a pipe is read once)."""
    for line in handle:
        if line.strip():
            if not line.startswith(">"):
                shown = line.strip()[:40]
                raise InputError(f"{name}: not a FASTA file (first line {shown!r} does not start "
                                 "with '>')")  # fmt: skip
            return chain([line], handle)
    raise InputError(f"{name}: FASTA file has no records (empty after decompression)")


def _check_fasta_start(path: Path, name: str) -> None:
    try:
        with open_text(path) as handle:
            _fasta_lines(handle, name)
    except READ_ERRORS as exc:
        raise unreadable(name, exc) from None


def iter_fasta(path: str | os.PathLike, *, allow_empty: bool = False) -> Iterator[FastaRecord]:
    """Stream the records of a FASTA (plain, gzip or bgzip; a file, a pipe or ``-``) without
    loading it whole, reading it once.

    Raises :class:`InputError` for a missing/empty/non-FASTA file, a truncated compressed file,
    a duplicated record ID, and (unless ``allow_empty``) a record with an empty sequence.
    """
    name = display_name(path)
    if not is_stream(path):
        path = check_readable(path, "FASTA file")
    seen: set[str] = set()
    try:
        with open_text(path) as handle:
            for title, seq in SimpleFastaParser(_fasta_lines(handle, name)):
                words = title.split(None, 1)
                if not words:
                    raise InputError(f"{name}: a record has an empty header line ('>' alone)")
                rid = words[0]
                if rid in seen:
                    raise InputError(f"{name}: record {rid!r}: duplicate record ID")
                seen.add(rid)
                if not seq and not allow_empty:
                    raise InputError(f"{name}: record {rid!r}: empty sequence")
                yield FastaRecord(rid, words[1] if len(words) > 1 else "", seq)
    except READ_ERRORS as exc:
        raise unreadable(name, exc) from None


class Genome:
    """Random access to a (possibly compressed) genome FASTA, 0-based half-open coordinates.

    >>> genome = Genome("genome.fna.gz")            # doctest: +SKIP
    >>> genome.fetch("NC_003070.9", 100, 110, "-")  # doctest: +SKIP

    Objects hold an open file handle that is created lazily, so they can be pickled and sent
    to worker processes (each opens its own handle).
    """

    def __init__(self, path: str | os.PathLike, *, stream: bool = False, why: str = RANDOM_ACCESS):
        """``stream``: accept a pipe or ``-`` (copied once to a temporary file and indexed
        there); otherwise it is refused with ``why`` (the reason a file is needed)."""
        self.name = display_name(path)
        self._handle = None
        self._memory: dict[str, str] | None = None
        folder = None
        if is_stream(path):
            if not stream:
                raise InputError(f"{self.name}: a pipe or standard input cannot be read here: "
                                 f"{why}")  # fmt: skip
            folder = self._spool(path)
        else:
            self.path = check_readable(path, "FASTA file")
        _check_fasta_start(self.path, self.name)
        self.compression = compression(self.path)
        if self.compression == "gzip":
            self._load_into_memory()
        else:
            if self.compression == "bgzip":
                check_bgzip_complete(self.path, self.name)
            self._fai, self._gzi = ensure_index(self.path, self.compression, self.name, folder,
                                                check_dna=folder is not None)  # fmt: skip
        handle = self._open()
        if self._memory is None:
            self.names = list(handle.references)
            self.lengths = dict(zip(handle.references, handle.lengths))
        if not self.names:
            raise InputError(f"{self.name}: FASTA file has no records")
        empty = [n for n in self.names if self.lengths[n] == 0]
        if empty:
            raise InputError(f"{self.name}: record {empty[0]!r}: empty sequence (a header line "
                             "without sequence lines; remove the record)")  # fmt: skip
        self._check_looks_like_dna()

    def _spool(self, path) -> Path:
        """Copy a pipe once into a temporary folder (removed with this object or at exit)."""
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="genorrn-genome-"))
        weakref.finalize(self, shutil.rmtree, folder, True)
        self.path = spool(path, folder)
        return folder

    def _load_into_memory(self) -> None:
        print(
            f"genorrn: {self.path} is plain gzip, which cannot be indexed; reading it into memory."
            f" For random access run: zcat {self.path} | bgzip > {self.path.with_suffix('')}.bgz",
            file=sys.stderr,
        )
        self._memory = {rec.id: rec.sequence for rec in iter_fasta(self.path)}
        self.names = list(self._memory)
        self.lengths = {name: len(seq) for name, seq in self._memory.items()}

    def _open(self):
        if self._memory is not None:
            return None
        if self._handle is None:
            import pysam

            try:
                self._handle = pysam.FastaFile(
                    str(self.path),
                    filepath_index=self._fai,
                    filepath_index_compressed=self._gzi,
                )
            except (OSError, ValueError) as exc:
                raise InputError(f"{self.name}: cannot open FASTA ({exc})") from None
        return self._handle

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_handle"] = None
        return state

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _check_looks_like_dna(self, probe: int = 10_000) -> None:
        """Refuse a protein FASTA early: look at the start of the first record."""
        name = self.names[0]
        head = self.fetch(name, 0, min(probe, self.lengths[name]))
        bad = invalid_dna_position(head)
        if bad >= 0:
            raise InputError(
                f"{self.name}: record {name!r}: not DNA: character {head[bad]!r} at position"
                f" {bad + 1} (is this a protein FASTA? a genome FASTA is expected here)"
            )

    # -- access -----------------------------------------------------------------------------
    def __contains__(self, chrom: str) -> bool:
        return chrom in self.lengths

    def length(self, chrom: str) -> int:
        if chrom not in self.lengths:
            raise InputError(f"{self.name}: no record named {chrom!r} (records: "
                             f"{names_hint(self.names)})")  # fmt: skip
        return self.lengths[chrom]

    def fetch(self, chrom: str, start: int = 0, end: int | None = None, strand: str = "+") -> str:
        """Sequence of ``chrom[start:end]`` (0-based, half-open) as stored (case kept).

        ``strand="-"`` returns the reverse complement of that interval.
        """
        length = self.length(chrom)
        end = length if end is None else end
        if not 0 <= start <= end <= length:
            raise InputError(
                f"{self.name}: record {chrom!r}: interval {start}-{end} is outside the sequence"
                f" (length {length})"
            )
        if self._memory is not None:
            seq = self._memory[chrom][start:end]
        else:
            seq = self._open().fetch(chrom, start, end)
        if strand == "-":
            seq = reverse_complement(seq)
        elif strand != "+":
            raise ValueError(f"strand must be '+' or '-', got {strand!r}")
        return seq
