"""Shared fixtures: the real data folder (skip with a reason when absent) and small FASTAs.

The session never writes into the reference data: every FASTA index (``.fai``/``.gzi``) goes to
a temporary folder (``GENORRN_INDEX_DIR``, set here for this process and every command it
starts), and a listing of ``SHARED_DATA`` (and of the bundled ``reference_data/`` and
``models/``) taken at the start of the session is compared with one taken at the end: any file
created, removed or modified there fails the session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("GENORRN_SHARED_DATA", REPO.parent / "shared" / "data"))

#: FASTA indexes of this session (genorrn.io.fasta honours GENORRN_INDEX_DIR: never beside the
#: FASTA). Set at import, before any test or subprocess runs; removed at the end.
INDEX_DIR = Path(tempfile.mkdtemp(prefix="genorrn-test-faidx-"))
os.environ["GENORRN_INDEX_DIR"] = str(INDEX_DIR)
#: folders no test may write into
GUARDED = (SHARED_DATA, REPO / "reference_data", REPO / "models")
_SHARED_BEFORE = pytest.StashKey[dict]()
_SHARED_CHANGES = pytest.StashKey[list]()


def _listing(root: Path) -> dict[str, tuple[int, int]] | None:
    """``{relative path: (size, mtime_ns)}`` of everything under ``root`` (None if absent)."""
    if not root.is_dir():
        return None
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            info = path.lstat()
            found[str(path.relative_to(root))] = (info.st_size, info.st_mtime_ns)
    return found


def _changes(before: dict | None, after: dict | None) -> list[str]:
    before, after = before or {}, after or {}
    return sorted(
        [f"created: {p}" for p in after.keys() - before.keys()]
        + [f"removed: {p}" for p in before.keys() - after.keys()]
        + [f"modified: {p}" for p in before.keys() & after.keys() if before[p] != after[p]]
    )


def pytest_sessionstart(session):
    session.config.stash[_SHARED_BEFORE] = {str(root): _listing(root) for root in GUARDED}


def pytest_sessionfinish(session, exitstatus):
    before = session.config.stash.get(_SHARED_BEFORE, {})
    changes = [f"{root}: {change}" for root in GUARDED
               for change in _changes(before.get(str(root)), _listing(root))]  # fmt: skip
    session.config.stash[_SHARED_CHANGES] = changes
    if changes:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    shutil.rmtree(INDEX_DIR, ignore_errors=True)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    changes = config.stash.get(_SHARED_CHANGES, [])
    if changes:
        terminalreporter.section("tests wrote into the reference data", red=True)
        terminalreporter.write_line("FAILED: reference data changed during the session:", red=True)
        for line in changes[:50]:
            terminalreporter.write_line(f"  {line}")


def require_tool(name: str, install: str) -> str:
    """Path of the command ``name``. Missing: the test is skipped on a developer machine, but
    fails on CI (environment variable ``CI`` set), where ``.ci/run`` must have installed it."""
    path = shutil.which(name)
    if path is None:
        message = f"{name!r} not found on PATH ({install})"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: CI must install it", pytrace=False)
        pytest.skip(message)
    return path


def shared_path(*parts: str) -> Path:
    """Path inside ../shared/data; skips the calling test when it is not there."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path} (set GENORRN_SHARED_DATA)")
    return path


@pytest.fixture
def dmel_dir() -> Path:
    return shared_path("splice", "dmel_chr4")


@pytest.fixture
def athaliana_dir() -> Path:
    return shared_path("splice", "athaliana_chr1")


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the installed ``genorrn`` command line as a user would (a separate process)."""
    return subprocess.run(
        [sys.executable, "-m", "genorrn", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode != 0, result.stdout
    lines = [line for line in result.stderr.splitlines() if line.startswith("genorrn: error:")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def tiny_structure_model():
    """A fixed tiny structure model (weights from a seeded numpy generator, not from Keras
    initialisers): the expected outputs in tests/data/structure were written with it."""
    import keras
    import numpy as np

    from genorrn.models.labeller import build_labeller
    from genorrn.recipes import STRUCTURE

    keras.config.set_dtype_policy("float32")
    cfg = STRUCTURE.labeller_config(lstm_units=[8], conv_filters=6, conv_kernel=5, conv_layers=1,
                                    dropout=0.0)
    model = build_labeller(cfg, name="genorrn_structure")
    rng = np.random.default_rng(20240501)
    model.set_weights([rng.normal(0.0, 0.6, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


@pytest.fixture(scope="session")
def structure_model_path(tmp_path_factory) -> Path:
    """:func:`tiny_structure_model` saved as a .keras file."""
    path = tmp_path_factory.mktemp("structure_model") / "tiny.keras"
    tiny_structure_model().save(path)
    return path


def cli(*args: str) -> int:
    """Run ``genorrn ARGS`` in this process; its exit code."""
    from genorrn.cli import main

    return main(list(args))


def run_in_process(capsys, *args: str):
    """Run ``genorrn ARGS`` in this process (no interpreter start-up: seconds cheaper than
    :func:`run_cli`); a CompletedProcess-like result (for :func:`assert_one_line_error`) with
    the exit code — argparse's ``SystemExit`` too, as the shell would see it — and the output."""
    from types import SimpleNamespace

    capsys.readouterr()  # only this command's output
    try:
        code = cli(*args)
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return SimpleNamespace(returncode=code, stdout=captured.out, stderr=captured.err)
