"""Inputs that can be read only once: ``-`` (standard input) and pipes (``<(zcat x.gz)``).

* :func:`is_stream` tells a pipe, a terminal or ``-`` from a regular file (process
  substitution gives a path such as ``/dev/fd/63`` that is a pipe: its size is 0 and a second
  read finds nothing).
* :func:`open_stream` opens one for reading as text, gzip/bgzip decompressed when its first
  bytes say so (peeked, not consumed).
* :func:`spool` copies one once, decompressed, into a temporary file (in ``$TMPDIR``) for
  commands that must read their input twice (check every record first, then predict) or
  index it.
* :func:`refuse_stream` is the one-line error where an input must be a real file.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import stat
import sys
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from genorrn.errors import InputError, OutputError

STDIN = "-"
_GZIP_MAGIC = b"\x1f\x8b"
#: errors of a truncated or corrupt gzip/bgzip stream
READ_ERRORS = (OSError, EOFError, zlib.error)


def unreadable(name, exc: BaseException) -> InputError:
    """The one-line error for a truncated or corrupt compressed input (one of
    :data:`READ_ERRORS`) named ``name``."""
    return InputError(f"{name}: cannot read the compressed file ({exc}): is it truncated?")


def is_stream(path: str | os.PathLike) -> bool:
    """True for ``-`` and for a pipe, socket or character device (not seekable, read once)."""
    if str(path) == STDIN:
        return True
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISSOCK(mode)


def display_name(path: str | os.PathLike) -> str:
    """How an input is named in messages: ``standard input`` for ``-``, else the path."""
    return "standard input" if str(path) == STDIN else str(path)


def refuse_stream(path: str | os.PathLike, what: str, why: str) -> None:
    """One-line error when ``path`` is a pipe or ``-`` where ``what`` must be a file."""
    if is_stream(path):
        raise InputError(f"{display_name(path)}: is a pipe or standard input, but the {what} "
                         f"must be a file here: {why}")  # fmt: skip


def _binary(path: str | os.PathLike):
    """A peekable binary reader and whether it is ours to close (standard input is not)."""
    if str(path) == STDIN:
        raw = sys.stdin.buffer
        return (raw if hasattr(raw, "peek") else io.BufferedReader(raw)), False
    return open(path, "rb"), True  # noqa: SIM115 - closed by open_stream


@contextmanager
def _decompressed(path: str | os.PathLike) -> Iterator[io.BufferedIOBase]:
    """The bytes of ``-`` or a pipe, gzip/bgzip decompressed when its first bytes (peeked, not
    consumed) say so. Standard input itself is left open afterwards."""
    raw, owned = _binary(path)
    # peek() returns what one read of the pipe gave (at least 1 byte unless it is empty):
    # writers send far more than 2 bytes at once
    gzipped = raw.peek(2)[:2] == _GZIP_MAGIC
    try:
        if not gzipped:
            yield raw
        else:
            with gzip.GzipFile(fileobj=raw, mode="rb") as binary:  # leaves ``raw`` open
                yield binary
    finally:
        if owned:
            raw.close()


@contextmanager
def open_stream(path: str | os.PathLike) -> Iterator[io.TextIOWrapper]:
    """A text handle on ``-`` or a pipe (see :func:`_decompressed`)."""
    with _decompressed(path) as binary:
        text = io.TextIOWrapper(binary, encoding="ascii", errors="replace")
        try:
            yield text
        finally:
            if not text.closed:
                text.detach()  # closing the wrapper would close standard input


def spool(path: str | os.PathLike, folder: str | os.PathLike | None = None,
          suffix: str = ".fa") -> Path:  # fmt: skip
    """Copy ``-`` or a pipe once, decompressed, into a new temporary file (in ``folder``, else
    ``$TMPDIR``) and return its path; the caller removes it. A truncated or corrupt compressed
    stream is a one-line error naming the input (and nothing is left behind)."""
    handle, tmp = tempfile.mkstemp(prefix="genorrn-pipe-", suffix=suffix, dir=folder)
    try:
        with os.fdopen(handle, "wb") as out, _decompressed(path) as source:
            shutil.copyfileobj(source, out, 1 << 20)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        os.unlink(tmp)
        raise InputError(f"{display_name(path)}: cannot read the input ({exc}); a truncated "
                         "or corrupt compressed stream?") from None  # fmt: skip
    except OSError as exc:  # e.g. no space left in $TMPDIR
        os.unlink(tmp)
        raise OutputError(f"{tmp}: cannot copy {display_name(path)} to a temporary file "
                          f"({exc.strerror or exc}); set TMPDIR to a folder with room") from None
    except BaseException:
        os.unlink(tmp)
        raise
    return Path(tmp)
