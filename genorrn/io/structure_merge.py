"""Join the outputs of ``genorrn predict structure --shard K/N`` (K = 1..N, in order) into the
output of one unsharded run, byte for byte; written atomically (temporary name + rename).

* ``csv``: one header, then the rows of every shard in the order given.
* ``ss2`` / ``horiz`` folders (several records): the union of the shards' per-protein files
  (a name in two shards is an error).
* ``ss2`` / ``horiz`` single files (a one-record input): the shard that holds the record; the
  other shards are empty files.
"""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from genorrn.errors import InputError
from genorrn.io.outputs import atomic_folder, atomic_output
from genorrn.io.structure_formats import (
    CSV_HEADER,
    FORMATS,
    HORIZ_HEADER,
    SS2_HEADER,
    safe_filename,
)

HEADERS = {"ss2": SS2_HEADER, "horiz": HORIZ_HEADER}


def merge_structure(parts: Sequence[str | os.PathLike], out: str | os.PathLike,
                    fmt: str = "csv", expected_ids: Sequence[str] | None = None) -> dict:  # fmt: skip
    """Merge shard outputs ``parts`` (in shard order) into ``out``; return a summary dict.

    ``expected_ids``: the record IDs of the predicted FASTA, in order; when given, the parts
    must hold exactly those records (no shard missing, repeated or out of order)."""
    if fmt not in FORMATS:
        raise InputError(f"--format {fmt!r}: choose from {', '.join(FORMATS)}")
    parts = [Path(p) for p in parts]
    if not parts:
        raise InputError("no shard outputs to merge")
    missing = [str(p) for p in parts if not p.exists()]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise InputError(f"{missing[0]}: shard output not found{more}")
    folders = [p for p in parts if p.is_dir()]
    if folders and len(folders) != len(parts):
        raise InputError(f"{folders[0]}: a folder, but other shard outputs are files; shards "
                         "of one run are all files or all folders")  # fmt: skip
    if folders:
        if fmt == "csv":
            raise InputError(f"{folders[0]}: a folder; csv shard outputs are files (--format?)")
        return _merge_folders(parts, Path(out), fmt, expected_ids)
    if fmt == "csv":
        return _merge_csv(parts, Path(out), expected_ids)
    return _merge_single(parts, Path(out), fmt)


def _check_records(found: list[str], expected: Sequence[str], what: str) -> None:
    """One-line error at the first record where the shard outputs and the FASTA disagree."""
    if list(found) == list(expected):
        return
    index = next((i for i, (a, b) in enumerate(zip(found, expected)) if a != b),
                 min(len(found), len(expected)))  # fmt: skip
    have = repr(found[index]) if index < len(found) else "nothing"
    want = repr(expected[index]) if index < len(expected) else "nothing"
    raise InputError(f"{what}: the shard outputs hold {len(found)} records, the FASTA "
                     f"{len(expected)}; record {index + 1} is {have}, the FASTA's is {want}: "
                     "give every shard output once, in shard order")  # fmt: skip


def _csv_records(part: Path) -> list[str]:
    """Record IDs of a structure CSV (one per run of rows), header already checked."""
    ids: list[str] = []
    with open(part, newline="") as handle:
        next(handle)
        for row in csv.reader(handle):
            if row and (not ids or ids[-1] != row[0]):
                ids.append(row[0])
    return ids


def _merge_csv(parts: list[Path], out: Path, expected_ids=None) -> dict:
    header = (CSV_HEADER + "\n").encode()
    for part in parts:  # check every part before writing anything
        with open(part, "rb") as handle:
            if handle.readline() != header:
                raise InputError(f"{part}: not a 'genorrn predict structure' CSV (first line "
                                 "is not its header; --format?)")  # fmt: skip
    if expected_ids is not None:
        found = [rid for part in parts for rid in _csv_records(part)]
        _check_records(found, expected_ids, str(parts[0].parent / "*"))
    with atomic_output(out) as tmp, open(tmp, "wb") as dst:
        dst.write(header)
        for part in parts:
            with open(part, "rb") as src:
                src.readline()
                shutil.copyfileobj(src, dst, 1 << 20)
    return {"format": "csv", "parts": len(parts), "output": str(out)}


def _merge_folders(parts: list[Path], out: Path, fmt: str, expected_ids=None) -> dict:
    sources: dict[str, Path] = {}
    for part in parts:
        for path in sorted(part.iterdir()):
            if path.name.startswith("."):  # temporary files of an interrupted run
                continue
            if not path.is_file() or path.suffix != f".{fmt}":
                raise InputError(f"{path}: not a .{fmt} file of a 'genorrn predict structure' "
                                 "shard (--format?)")  # fmt: skip
            if path.name in sources:
                raise InputError(f"{path.name}: in two shard outputs ({sources[path.name].parent}"
                                 f" and {part}); each record belongs to one shard")  # fmt: skip
            sources[path.name] = path
    if expected_ids is not None:
        wanted = sorted(f"{safe_filename(rid)}.{fmt}" for rid in expected_ids)
        _check_records(sorted(sources), wanted, str(parts[0].parent / "*"))
    with atomic_folder(out) as tmp:
        for name, path in sources.items():
            shutil.copyfile(path, tmp / name)
    return {"format": fmt, "parts": len(parts), "files": len(sources), "output": f"{out}/"}


def _merge_single(parts: list[Path], out: Path, fmt: str) -> dict:
    full = [p for p in parts if p.stat().st_size]
    if len(full) > 1:
        raise InputError(f"{full[1]}: a second non-empty {fmt} shard ({full[0]} is one); single "
                         f"{fmt} files hold one protein: predict several into folders")  # fmt: skip
    data = full[0].read_bytes() if full else b""
    if data and not data.startswith(HEADERS[fmt].encode()):
        raise InputError(f"{full[0]}: not a PSIPRED {fmt} file (--format?)")
    with atomic_output(out) as tmp:
        tmp.write_bytes(data)
    return {"format": fmt, "parts": len(parts), "output": str(out)}
