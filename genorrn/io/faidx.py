"""FASTA indexes (``.fai``, plus ``.gzi`` for bgzip): where they go, whether one found there
belongs to its FASTA, and building one.

* Place: beside the FASTA when that folder is writable, else in a per-user cache folder
  (``$GENORRN_CACHE``, default ``~/.cache/genorrn``, under ``faidx/``); ``$GENORRN_INDEX_DIR``,
  when set, is the folder for every new index (the test suite sets it). An index beside the
  FASTA is used wherever it is, if it passes the checks below.
* Checks (cheap: a few reads, whatever the genome's size): not older than the FASTA; every
  line well-formed; for the first, the last and up to 14 records between them, the header line
  just before the record's offset names that record and the record's first and last bases lie
  where its length and line layout say; nothing but white space after the last record; for
  bgzip, the ``.gzi`` block offsets point at BGZF blocks of this file. An index that fails is
  built again (a note on stderr), or refused with one line when no writable place is left.
* Building: every record is scanned first (duplicate or empty IDs, empty records, truncated
  compression: one-line errors), then ``samtools faidx`` (pysam) writes under temporary names
  that are renamed, so an interrupted run leaves no broken index.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import zlib
from bisect import bisect_right
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from genorrn.alphabets import invalid_dna_position
from genorrn.errors import InputError
from genorrn.io.outputs import is_writable_dir
from genorrn.io.streams import READ_ERRORS, unreadable

#: the empty block that ends every complete BGZF file (SAM specification, section 4.1.2)
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
_WINDOW = 1 << 16  # bytes read before a record's offset to find its header line
_SAMPLES = 16  # records checked per index


@dataclass(frozen=True)
class FaiEntry:
    """One ``.fai`` line: offsets count uncompressed bytes."""

    name: str
    length: int
    offset: int
    line_bases: int
    line_width: int

    def base_offset(self, i: int) -> int:
        """File offset of the record's ``i``-th base (0-based)."""
        return self.offset + (i // self.line_bases) * self.line_width + i % self.line_bases


def read_fai(path: str | os.PathLike) -> list[FaiEntry]:
    """The entries of a ``.fai`` file; ``ValueError`` when a line is malformed."""
    entries = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 5:
                raise ValueError(f"malformed line {line[:40]!r}")
            length, offset, bases, width = (int(f) for f in fields[1:5])
            if min(length, offset) < 0 or (length and not 0 < bases <= width):
                raise ValueError(f"malformed line {line[:40]!r}")
            entries.append(FaiEntry(fields[0], length, offset, bases, width))
    if not entries:
        raise ValueError("no records")
    return entries


def read_gzi(path: str | os.PathLike) -> list[tuple[int, int]]:
    """``(compressed, uncompressed)`` offsets of the BGZF blocks listed in a ``.gzi`` file,
    the first block ``(0, 0)`` included."""
    data = Path(path).read_bytes()
    if len(data) < 8:
        raise ValueError("too short")
    count = int.from_bytes(data[:8], "little")
    if len(data) != 8 + 16 * count:
        raise ValueError("size does not match its entry count")
    pairs = [(0, 0)] + [(int.from_bytes(data[8 + 16 * i: 16 + 16 * i], "little"),
                         int.from_bytes(data[16 + 16 * i: 24 + 16 * i], "little"))
                        for i in range(count)]  # fmt: skip
    if any(b <= a for a, b in zip(pairs, pairs[1:])):
        raise ValueError("offsets not increasing")
    return pairs


class _Plain:
    def __init__(self, path: Path):
        self.path, self.size = path, path.stat().st_size

    def read(self, start: int, end: int) -> bytes:
        with open(self.path, "rb") as handle:
            handle.seek(start)
            return handle.read(max(0, end - start))


class _Bgzf:
    """Uncompressed byte ranges of a bgzip file through its ``.gzi`` block list."""

    def __init__(self, path: Path, blocks: list[tuple[int, int]]):
        self.path, self.blocks = path, blocks
        self.starts = [u for _, u in blocks]
        self.file_size = path.stat().st_size
        if blocks[-1][0] >= self.file_size:
            raise ValueError("a block offset lies past the end of the file")
        self.size = self._decompress(*blocks[-1], None)[0]

    def _decompress(self, coffset: int, uoffset: int, stop: int | None) -> tuple[int, bytes]:
        """Blocks from ``coffset`` (uncompressed ``uoffset``) until ``stop`` or the end:
        ``(uncompressed end, data)``."""
        out = bytearray()
        with open(self.path, "rb") as handle:
            while coffset < self.file_size and (stop is None or uoffset + len(out) < stop):
                handle.seek(coffset)
                head = handle.read(18)
                if len(head) < 18 or head[:4] != b"\x1f\x8b\x08\x04" or head[12:14] != b"BC":
                    raise ValueError(f"no BGZF block at compressed offset {coffset}")
                size = int.from_bytes(head[16:18], "little") + 1
                body = handle.read(size - 18)
                if len(body) != size - 18:
                    raise ValueError("truncated BGZF block")
                data = zlib.decompress(body[:-8], -15)
                if stop is not None:
                    out += data
                else:
                    uoffset += len(data)
                coffset += size
        return uoffset + len(out), bytes(out)

    def read(self, start: int, end: int) -> bytes:
        i = bisect_right(self.starts, start) - 1
        coffset, uoffset = self.blocks[i]
        _, data = self._decompress(coffset, uoffset, end)
        return data[start - uoffset: end - uoffset]


def _header_problem(reader, entry: FaiEntry, after: int) -> str | None:
    """The bytes from ``after`` (the end of the previous record, 0 for the first) to the
    record's offset are white space and one header line naming it (samtools leaves records
    without sequence out of an index, so a header line more is an unlisted record)."""
    start = max(after, entry.offset - _WINDOW)
    data = reader.read(start, entry.offset)
    if not data.endswith(b"\n"):
        return f"record {entry.name!r} does not start after a header line"
    before, _, header = data[:-1].rpartition(b"\n")
    if start > after and not before:
        return None  # a header line longer than the window: not checked
    words = header.rstrip(b"\r")[1:].split(None, 1)
    if not header.startswith(b">") or not words or words[0] != entry.name.encode():
        shown = header[:40].decode("ascii", "replace")
        return f"the line before record {entry.name!r} is {shown!r}"
    if start == after and before.strip():
        return f"the file holds more than the index lists before record {entry.name!r}"
    return None


def _line_problem(reader, at: int, count: int) -> bool:
    """Not ``count`` bases from ``at`` followed by a line end (or the end of the file)."""
    data = reader.read(at, at + count + 1)
    bases, after = data[:count], data[count:]
    return len(bases) < count or any(c in b"\r\n>" for c in bases) or after not in (b"", b"\n", b"\r")


def _layout_problem(reader, entry: FaiEntry) -> str | None:
    """The record's first line and last base are where its length and line layout put them."""
    if _line_problem(reader, entry.offset, min(entry.length, entry.line_bases)):
        return f"record {entry.name!r}: its first line differs from the index"
    if _line_problem(reader, entry.base_offset(entry.length - 1), 1):
        return f"record {entry.name!r}: its length differs from the index ({entry.length})"
    return None


def _end(entry: FaiEntry) -> int:
    """File offset just after the record's last base."""
    return entry.base_offset(entry.length - 1) + 1 if entry.length else entry.offset


def index_problem(fasta: Path, compression: str, fai: str, gzi: str | None = None) -> str | None:
    """None when the index describes ``fasta``; else what is wrong, in a few words."""
    try:
        entries = read_fai(fai)
        reader = _Bgzf(fasta, read_gzi(gzi)) if compression == "bgzip" else _Plain(fasta)
        step = max(1, (len(entries) - 1) // (_SAMPLES - 1))
        sample = sorted(set(range(0, len(entries), step)) | {len(entries) - 1})
        for i in sample:
            entry = entries[i]
            problem = _header_problem(reader, entry, _end(entries[i - 1]) if i else 0)
            if problem is None and entry.length:
                problem = _layout_problem(reader, entry)
            if problem:
                return problem
        last = entries[-1]
        end = _end(last)
        if reader.size < end:
            return f"the file ends before record {last.name!r} does"
        if reader.size - end > _WINDOW or reader.read(end, reader.size).strip():
            return f"the file continues after the last indexed record {last.name!r}"
    except (OSError, ValueError, zlib.error) as exc:
        return f"unreadable index ({exc})"
    return None


# -- where indexes go ------------------------------------------------------------------------
def _cache_dir() -> Path:
    root = os.environ.get("GENORRN_CACHE") or Path.home() / ".cache" / "genorrn"
    return Path(root) / "faidx"


def _index_dir() -> Path | None:
    """``$GENORRN_INDEX_DIR``: where every new index goes instead of beside the FASTA."""
    folder = os.environ.get("GENORRN_INDEX_DIR")
    return Path(folder) if folder else None


def _paths(folder: Path, fasta: Path, suffixes: list[str]) -> list[str]:
    return [str(folder / (fasta.name + s)) for s in suffixes]


def _fresh(index: str, fasta: Path) -> bool:
    """The index exists and is not older than the FASTA (else it is built again)."""
    return os.path.exists(index) and os.path.getmtime(index) >= fasta.stat().st_mtime


def ensure_index(fasta: Path, compression: str, name: str, folder: Path | None = None,
                 check_dna: bool = False) -> tuple[str, str | None]:  # fmt: skip
    """``(fai, gzi or None)`` of a plain or bgzip FASTA, checked or built (see module doc);
    ``folder``: build there (a spooled pipe's own temporary folder); ``name``: the FASTA as
    messages show it; ``check_dna``: also check every base while scanning (spooled pipes)."""
    suffixes = [".fai"] + ([".gzi"] if compression == "bgzip" else [])
    rejected = ""
    if folder is None:
        beside = _paths(fasta.parent, fasta, suffixes)
        if all(_fresh(p, fasta) for p in beside):
            problem = index_problem(fasta, compression, *beside)
            if problem is None:
                return beside[0], beside[1] if len(beside) > 1 else None
            rejected = f"the index {beside[0]} does not belong to it ({problem})"
        forced = _index_dir()
        if forced is None and is_writable_dir(fasta.parent):
            folder = fasta.parent
        else:
            stat = fasta.stat()
            key = f"{fasta.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
            folder = (forced or _cache_dir()) / hashlib.sha256(key.encode()).hexdigest()[:16]
            targets = _paths(folder, fasta, suffixes)
            if all(_fresh(p, fasta) for p in targets):
                problem = index_problem(fasta, compression, *targets)
                if problem is None:
                    return targets[0], targets[1] if len(targets) > 1 else None
                rejected = rejected or f"the index {targets[0]} does not belong to it ({problem})"
    targets = _paths(folder, fasta, suffixes)
    _check_index_folder(folder, name, rejected)
    if rejected:
        print(f"genorrn: {name}: {rejected}; indexing it again", file=sys.stderr)
    build_index(fasta, name, targets, check_dna)
    return targets[0], targets[1] if len(targets) > 1 else None


def _check_index_folder(folder: Path, name: str, rejected: str) -> None:
    why = f"{rejected}, and " if rejected else ""
    hint = ("set GENORRN_CACHE (or GENORRN_INDEX_DIR) to a writable folder, or index it with "
            f"'samtools faidx {name}' where you can write")  # fmt: skip
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not is_writable_dir(existing):  # checked by mode too: root could write there anyway
        raise InputError(f"{name}: {why}no index can be written: {existing} is not writable; "
                         f"{hint}")  # fmt: skip
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{name}: {why}no index can be written: cannot create the folder "
                         f"{folder} ({exc.strerror or exc}); {hint}") from None  # fmt: skip
    if not is_writable_dir(folder):
        raise InputError(f"{name}: {why}no index can be written: {folder} is not writable; "
                         f"{hint}")  # fmt: skip


# -- building ---------------------------------------------------------------------------------
def scan_fasta(path: Path, name: str, check_dna: bool = False) -> None:
    """Read every line once before indexing: samtools silently drops duplicated names, refuses
    an empty last record with a bare message and accepts other empty records."""
    from genorrn.io.fasta import open_text

    seen: set[str] = set()
    current, has_bases, position = None, True, 0
    try:
        with open_text(path) as handle:
            for number, line in enumerate(handle, 1):
                if line.startswith(">"):
                    if not has_bases:
                        raise InputError(f"{name}: record {current!r}: empty sequence (a header "
                                         "line without sequence lines; remove the record)")
                    words = line[1:].split(None, 1)
                    if not words:
                        raise InputError(f"{name}: line {number}: empty header line ('>' alone)")
                    if words[0] in seen:
                        raise InputError(f"{name}: record {words[0]!r}: duplicate record ID")
                    seen.add(words[0])
                    current, has_bases, position = words[0], False, 0
                elif line.strip():
                    bases = line.rstrip("\r\n")
                    bad = invalid_dna_position(bases) if check_dna else -1
                    if bad >= 0:
                        raise InputError(f"{name}: record {current!r}: not DNA: character "
                                         f"{bases[bad]!r} at position {position + bad + 1}")
                    has_bases, position = True, position + len(bases)
    except READ_ERRORS as exc:
        raise unreadable(name, exc) from None
    if not has_bases:
        raise InputError(f"{name}: record {current!r}: empty sequence (a header line without "
                         "sequence lines; remove the record)")


@contextmanager
def _captured_stderr():
    """htslib writes its reasons to the process's stderr (fd 2): keep them for the message."""
    saved = os.dup(2)
    with tempfile.TemporaryFile("w+") as capture:
        os.dup2(capture.fileno(), 2)
        lines: list[str] = []
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines.extend(line.strip() for line in capture if line.strip())


def build_index(fasta: Path, name: str, targets: list[str], check_dna: bool = False) -> None:
    """Scan ``fasta`` and write its ``.fai`` (and ``.gzi``) to ``targets`` under temporary
    names, renamed when complete."""
    import pysam

    scan_fasta(fasta, name, check_dna)
    tmps = [f"{t}.tmp-{os.getpid()}" for t in targets]
    args = [str(fasta), "--fai-idx", tmps[0]] + (["--gzi-idx", tmps[1]] if len(tmps) > 1 else [])
    try:
        with _captured_stderr() as said:
            pysam.faidx(*args)
        for tmp, target in zip(tmps[::-1], targets[::-1]):  # the .fai last: it marks completion
            os.replace(tmp, target)
    except pysam.utils.SamtoolsError:
        reasons = [line.split("] ", 1)[-1] for line in said if line.startswith("[E::")]
        detail = reasons[0] if reasons else "samtools faidx failed"
        hint = ""
        if "line length" in detail or "unexpected" in detail:
            hint = ("; every sequence line of a record but its last must have the same length "
                    "(re-wrap it, e.g. seqkit seq -w 60)")  # fmt: skip
        raise InputError(f"{name}: cannot index FASTA ({detail}){hint}") from None
    finally:
        for tmp in tmps:
            if os.path.exists(tmp):
                os.unlink(tmp)
