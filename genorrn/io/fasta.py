"""FASTA input: indexed random access for genomes, streaming iteration for protein sets.

* :class:`Genome` gives ``fetch(chrom, start, end, strand)`` in 0-based half-open coordinates
  through :class:`pysam.FastaFile` (plain or bgzip-compressed files). The ``.fai``/``.gzi``
  index is created beside the FASTA when that folder is writable, otherwise in a per-user cache
  folder (``$GENORRN_CACHE`` or ``~/.cache/genorrn/faidx``). ``$GENORRN_INDEX_DIR``, when set,
  is the folder for every new index (never beside the FASTA; the test suite sets it so that it
  never writes into the reference data). Plain gzip (not bgzip) files cannot be indexed; they
  are streamed once into memory, record by record, with a hint to ``bgzip``.
* :func:`iter_fasta` streams the records of a multi-record FASTA (plain, gzip or bgzip).

Every problem is raised as :class:`~genorrn.errors.InputError` naming the file and record.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from Bio.SeqIO.FastaIO import SimpleFastaParser

from genorrn.alphabets import invalid_dna_position, reverse_complement
from genorrn.errors import InputError
from genorrn.io.outputs import is_writable_dir

_GZIP_MAGIC = b"\x1f\x8b"


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
    """Open a plain or gzip/bgzip-compressed text file for reading."""
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


def _first_content_line(path: Path) -> str:
    try:
        with open_text(path) as handle:
            for line in handle:
                if line.strip():
                    return line
    except (OSError, EOFError) as exc:  # truncated or corrupt gzip
        raise InputError(f"{path}: cannot read compressed file ({exc})") from None
    return ""


def _check_fasta_start(path: Path) -> None:
    first = _first_content_line(path)
    if not first:
        raise InputError(f"{path}: FASTA file has no records (empty after decompression)")
    if not first.startswith(">"):
        shown = first.strip()[:40]
        raise InputError(f"{path}: not a FASTA file (first line {shown!r} does not start with '>')")


def iter_fasta(path: str | os.PathLike, *, allow_empty: bool = False) -> Iterator[FastaRecord]:
    """Stream the records of a FASTA file (plain, gzip or bgzip) without loading it whole.

    Raises :class:`InputError` for a missing/empty/non-FASTA file, a duplicated record ID, and
    (unless ``allow_empty``) a record with an empty sequence.
    """
    path = check_readable(path, "FASTA file")
    _check_fasta_start(path)
    seen: set[str] = set()
    with open_text(path) as handle:
        try:
            for title, seq in SimpleFastaParser(handle):
                words = title.split(None, 1)
                if not words:
                    raise InputError(f"{path}: a record has an empty header line ('>' alone)")
                rid = words[0]
                if rid in seen:
                    raise InputError(f"{path}: record {rid!r}: duplicate record ID")
                seen.add(rid)
                if not seq and not allow_empty:
                    raise InputError(f"{path}: record {rid!r}: empty sequence")
                yield FastaRecord(rid, words[1] if len(words) > 1 else "", seq)
        except (OSError, EOFError) as exc:
            raise InputError(f"{path}: cannot read compressed file ({exc})") from None


def _cache_dir() -> Path:
    root = os.environ.get("GENORRN_CACHE") or Path.home() / ".cache" / "genorrn"
    return Path(root) / "faidx"


def _index_dir() -> Path | None:
    """``$GENORRN_INDEX_DIR``: where every new index goes instead of beside the FASTA."""
    folder = os.environ.get("GENORRN_INDEX_DIR")
    return Path(folder) if folder else None


def _scan_headers(path: Path) -> None:
    """Check record IDs once, before indexing: pysam silently drops duplicated names."""
    seen: set[str] = set()
    with open_text(path) as handle:
        for line in handle:
            if line.startswith(">"):
                words = line[1:].split(None, 1)
                if not words:
                    raise InputError(f"{path}: a record has an empty header line ('>' alone)")
                if words[0] in seen:
                    raise InputError(f"{path}: record {words[0]!r}: duplicate record ID")
                seen.add(words[0])


class Genome:
    """Random access to a (possibly compressed) genome FASTA, 0-based half-open coordinates.

    >>> genome = Genome("genome.fna.gz")            # doctest: +SKIP
    >>> genome.fetch("NC_003070.9", 100, 110, "-")  # doctest: +SKIP

    Objects hold an open file handle that is created lazily, so they can be pickled and sent
    to worker processes (each opens its own handle).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = check_readable(path, "FASTA file")
        _check_fasta_start(self.path)
        self.compression = compression(self.path)
        self._handle = None
        self._memory: dict[str, str] | None = None
        if self.compression == "gzip":
            self._load_into_memory()
        else:
            self._fai, self._gzi = self._ensure_index()
        handle = self._open()
        if self._memory is None:
            self.names = list(handle.references)
            self.lengths = dict(zip(handle.references, handle.lengths))
        if not self.names:
            raise InputError(f"{self.path}: FASTA file has no records")
        self._check_looks_like_dna()

    # -- indexing ---------------------------------------------------------------------------
    def _ensure_index(self) -> tuple[str, str | None]:
        suffixes = [".fai"] + ([".gzi"] if self.compression == "bgzip" else [])
        beside = [str(self.path) + s for s in suffixes]
        if all(self._fresh(p) for p in beside):
            return beside[0], beside[1] if len(beside) > 1 else None
        forced = _index_dir()
        if forced is None and is_writable_dir(self.path.parent):
            targets = beside
        else:
            stat = self.path.stat()
            key = f"{self.path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
            root = forced if forced is not None else _cache_dir()
            folder = root / hashlib.sha256(key.encode()).hexdigest()[:16]
            folder.mkdir(parents=True, exist_ok=True)
            targets = [str(folder / (self.path.name + s)) for s in suffixes]
            if all(self._fresh(p) for p in targets):
                return targets[0], targets[1] if len(targets) > 1 else None
        _scan_headers(self.path)
        import pysam

        args = [str(self.path), "--fai-idx", targets[0]]
        if len(targets) > 1:
            args += ["--gzi-idx", targets[1]]
        try:
            pysam.faidx(*args)
        except pysam.utils.SamtoolsError as exc:
            detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else "indexing failed"
            raise InputError(f"{self.path}: cannot index FASTA ({detail})") from None
        return targets[0], targets[1] if len(targets) > 1 else None

    def _fresh(self, index: str) -> bool:
        """An index is usable if it exists and is not older than the FASTA (else rebuilt)."""
        return os.path.exists(index) and os.path.getmtime(index) >= self.path.stat().st_mtime

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
                raise InputError(f"{self.path}: cannot open FASTA ({exc})") from None
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
                f"{self.path}: record {name!r}: not DNA: character {head[bad]!r} at position"
                f" {bad + 1} (is this a protein FASTA? a genome FASTA is expected here)"
            )

    # -- access -----------------------------------------------------------------------------
    def __contains__(self, chrom: str) -> bool:
        return chrom in self.lengths

    def length(self, chrom: str) -> int:
        if chrom not in self.lengths:
            raise InputError(f"{self.path}: no record named {chrom!r}")
        return self.lengths[chrom]

    def fetch(self, chrom: str, start: int = 0, end: int | None = None, strand: str = "+") -> str:
        """Sequence of ``chrom[start:end]`` (0-based, half-open) as stored (case kept).

        ``strand="-"`` returns the reverse complement of that interval.
        """
        length = self.length(chrom)
        end = length if end is None else end
        if not 0 <= start <= end <= length:
            raise InputError(
                f"{self.path}: record {chrom!r}: interval {start}-{end} is outside the sequence"
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
