"""Shared fixtures: the real data folder (skip with a reason when absent) and small FASTAs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("GENORRN_SHARED_DATA", REPO.parent / "shared" / "data"))


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
    """Run ``genorrn ARGS`` in this process; a CompletedProcess-like result (for
    :func:`assert_one_line_error`) with the exit code and the captured output."""
    from types import SimpleNamespace

    code = cli(*args)
    captured = capsys.readouterr()
    return SimpleNamespace(returncode=code, stdout=captured.out, stderr=captured.err)
