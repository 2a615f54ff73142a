"""Safe output writing: check the folder first, write to a temporary name, rename at the end.

A failed or interrupted command therefore never leaves a partial output file behind.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from genorrn.errors import OutputError


def is_writable_dir(folder: str | os.PathLike) -> bool:
    """True when ``folder`` may be written: permitted *and* not marked read-only.

    The mode bits are checked as well as :func:`os.access` because root may write anywhere;
    a folder with no write bit (such as the shared reference data) is left alone even then.
    """
    try:
        mode = os.stat(folder).st_mode
    except OSError:
        return False
    return os.access(folder, os.W_OK | os.X_OK) and bool(mode & 0o222)


def _check_parent(path: Path) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.exists():
        raise OutputError(f"{path}: output folder {str(folder)!r} does not exist")
    if not folder.is_dir():
        raise OutputError(f"{path}: {str(folder)!r} is not a folder")
    if not is_writable_dir(folder):
        raise OutputError(f"{path}: output folder {str(folder)!r} is not writable")


def check_output_path(path: str | os.PathLike) -> Path:
    """Fail with one line unless ``path``'s folder exists and is writable."""
    path = Path(path)
    _check_parent(path)
    if path.is_dir():
        raise OutputError(f"{path}: is a folder, expected a file name")
    return path


def check_output_folder(path: str | os.PathLike) -> Path:
    """Fail with one line unless ``path`` can be made a new folder: its parent exists and is
    writable, and ``path`` is missing or an empty folder."""
    path = Path(path)
    _check_parent(path)
    if path.exists() and not (path.is_dir() and not any(path.iterdir())):
        raise OutputError(f"{path}: exists and is not an empty folder; remove it or choose "
                          "another output")  # fmt: skip
    return path


@contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; rename it to ``path`` only on success (so a
    failed command leaves no partly filled folder). ``path`` must be missing or empty."""
    import shutil

    path = check_output_folder(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        os.replace(tmp, path)  # POSIX rename replaces an empty folder
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_files_folder(path: str | os.PathLike) -> Path:
    """Fail with one line unless files can be put in the folder ``path``: an existing writable
    folder, or a missing one whose parent exists and is writable."""
    path = Path(path)
    if path.is_dir():
        if not is_writable_dir(path):
            raise OutputError(f"{path}: output folder is not writable")
    elif path.exists():
        raise OutputError(f"{path}: exists and is not a folder (the output is a folder here)")
    else:
        _check_parent(path)
    return path


@contextmanager
def atomic_files_in(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder for files that belong in the folder ``path``; on success they
    appear there at the end, on failure ``path`` is left as it was (and the temporary folder is
    removed). A missing or empty ``path`` is replaced by the temporary folder (one rename, see
    :func:`atomic_folder`); into an existing folder with files, each new file is renamed (same
    names replaced, other files kept)."""
    import shutil

    path = check_files_folder(path)
    if not (path.is_dir() and any(path.iterdir())):
        with atomic_folder(path) as tmp:
            yield tmp
        return
    tmp = path / f".genorrn.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        for file in sorted(tmp.iterdir()):
            os.replace(file, path / file.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def atomic_outputs(paths: list[str | os.PathLike]) -> Iterator[list[Path]]:
    """Like :func:`atomic_output` for several files that appear together or not at all."""
    paths = [check_output_path(p) for p in paths]
    # hidden, beside the target, and with its suffix (writers such as Keras go by the suffix)
    tmps = [p.with_name(f".{p.stem}.tmp-{os.getpid()}{p.suffix}") for p in paths]
    try:
        yield tmps
        for tmp, path in zip(tmps, paths):
            os.replace(tmp, path)
    finally:
        for tmp in tmps:
            if tmp.exists():
                tmp.unlink()


@contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only on success."""
    with atomic_outputs([path]) as (tmp,):
        yield tmp
