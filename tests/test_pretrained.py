"""The shipped splice models: cards, checksums, loading by name, and the README's main command
(with the default model)."""

import json
import re

import numpy as np
import pytest

from conftest import REPO, run_cli, run_in_process
from genorrn.pretrained import DEFAULT_SPLICE_MODEL as NAME  # noqa: E402

CARDS = sorted((REPO / "models").glob("*.card.json"))
EXAMPLE_FA = REPO / "reference_data" / "athaliana_chr1_test_slice.fa"
EXAMPLE_GFF = REPO / "reference_data" / "athaliana_chr1_test_slice.gff3"
RECORD = "NC_003070.9_25000001-25100000"


def test_the_default_model_is_shipped():
    assert (REPO / "models" / f"{NAME}.card.json") in CARDS


@pytest.mark.parametrize("card_path", CARDS, ids=lambda p: p.name)
def test_card_is_complete_and_checksum_matches(card_path):
    from genorrn.cards import SCHEMA, ModelCard, read_card
    from genorrn.models import LabellerConfig
    from genorrn.pretrained import sha256
    from genorrn.recipes import recipe

    raw = json.loads(card_path.read_text())
    assert raw["schema"] == SCHEMA  # shipped cards are written in the schema, not migrated
    card = read_card(card_path)
    assert ModelCard.from_dict(card.to_dict()) == card and card.to_dict() == raw
    if card.members:  # an ensemble: no weights of its own, members checked by sha256
        _check_ensemble_card(card, card_path)
        return
    for key in ("name", "task", "description", "genorrn_version", "weights", "alphabet", "input",
                "classes", "architecture", "streaming", "data", "training", "metrics",
                "metrics_summary", "licence"):  # fmt: skip
        assert getattr(card, key), key
    r = recipe(card.task)
    assert card.alphabet == r.alphabet and tuple(card.classes) == r.classes
    assert len(card.input["channels"]) == r.architecture["alphabet_size"] and card.input["policy"]
    config = LabellerConfig(**card.architecture["config"])  # a complete architecture
    assert config.num_classes == len(card.classes)
    assert set(card.streaming) == {"chunk_size", "flank", "batch_size"}
    assert f"genorrn train {card.task}" in card.training["command"]
    assert sha256(REPO / "models" / card.weights["file"]) == card.weights["sha256"]
    if card.task == "splice":
        assert card.data["genome"]["sha256"] and card.data["annotation"]["sha256"]
        assert {s["split"] for s in card.data["splits"]} == {"train", "validation", "test"}


def _check_ensemble_card(card, card_path):
    """A shipped ensemble: its members are shipped models of its task (files and sha256 as
    listed), it is calibrated for exactly those members, and it records test metrics and how
    the members were chosen (validation only)."""
    from genorrn.cards import members_sha256, read_card
    from genorrn.pretrained import sha256
    from genorrn.recipes import recipe

    for key in ("name", "task", "description", "genorrn_version", "alphabet", "classes",
                "streaming", "training", "metrics", "metrics_summary", "calibration"):  # fmt: skip
        assert getattr(card, key), key
    r = recipe(card.task)
    assert card.alphabet == r.alphabet and tuple(card.classes) == r.classes
    assert len(card.members) >= 2 and not card.weights
    for member in card.members:
        path = card_path.parent / member["file"]
        assert sha256(path) == member["sha256"], member["name"]
        member_card = read_card(path.with_name(path.name.removesuffix(".keras") + ".card.json"))
        assert member_card.task == card.task and member_card.weights["sha256"] == member["sha256"]
    assert card.calibration["weights_sha256"] == members_sha256(card.members)
    chosen_on = card.training["selection"]["validation"]  # the validation data, never a test set
    if card.task == "splice":
        from genorrn.data.splice import SPLIT_PRESETS

        assert SPLIT_PRESETS["athaliana-chr1"]["validation"][0] in chosen_on
    else:
        assert "validation" in chosen_on.lower()
    assert set(card.training["members"]) == {m["name"] for m in card.members}


def test_models_list_shows_it(capsys):
    result = run_in_process(capsys, "models", "list")
    assert result.returncode == 0 and NAME in result.stdout


def test_models_list_has_a_header_marks_the_defaults_and_aligns_decimals(capsys):
    """Issue #18: the listing had no header, did not say which model a command uses without
    --model, and showed metrics with 3 or 4 decimals (0.785 next to 0.8106)."""
    from genorrn.recipes import RECIPES

    result = run_in_process(capsys, "models", "list")
    assert result.returncode == 0, result.stderr
    header, *rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert header == ["name", "task", "default", "description", "test metrics"]
    assert rows and all(len(row) == len(header) for row in rows)
    defaults = [(row[1], row[0]) for row in rows if row[2] == "yes"]
    assert sorted(defaults) == sorted((t, r.default_model) for t, r in RECIPES.items())
    assert {row[2] for row in rows} <= {"yes", "-"}
    places = {len(digits) for row in rows for digits in re.findall(r"\b0\.(\d+)", row[4])}
    assert places == {3}, [row[4] for row in rows]


def test_fixed_decimals_leaves_other_numbers_alone():
    from genorrn.cli.models import fixed_decimals

    assert fixed_decimals("top-k 0.785 PR-AUC 0.8106 all 1.0 SOV 67.3 n 9408 v1.2") == (
        "top-k 0.785 PR-AUC 0.811 all 1.000 SOV 67.3 n 9408 v1.2"
    )


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory):
    """The README's main command, run once as a user would (a separate process, in an empty
    folder); the shipped-model test below reads its bigWigs instead of predicting again."""
    folder = tmp_path_factory.mktemp("readme")
    result = run_cli("predict", "splice", str(EXAMPLE_FA), "-o", "example", cwd=folder)
    return result, folder


@pytest.mark.slow
def test_readme_main_command(readme_run):
    """`genorrn predict splice reference_data/athaliana_chr1_test_slice.fa -o example`."""
    readme = (REPO / "README.md").read_text()
    assert "genorrn predict splice reference_data/athaliana_chr1_test_slice.fa -o example" in readme
    result, folder = readme_run
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"example.{s}.{d}.bw" for s in ("acceptor", "donor") for d in ("plus", "minus")]
        + ["example.sites.bed"]
    )
    assert (folder / "example.sites.bed").read_text().strip()


@pytest.mark.slow
def test_shipped_model_finds_the_annotated_sites(readme_run):
    """On the bundled test-region slice (never trained on), the highest-scoring positions are
    mostly the annotated sites: top-k accuracy far above chance (~1e-3). Scores: the bigWigs
    of the README command (chromosome coordinates, each strand read on itself)."""
    import pyBigWig

    from genorrn.data.sites import annotated_sites
    from genorrn.io import read_annotation

    result, folder = readme_run
    assert result.returncode == 0, result.stderr
    sites = annotated_sites(read_annotation(EXAMPLE_GFF))
    for kind in ("acceptor", "donor"):
        truth = np.zeros(2 * 100_000, bool)
        for s in sites:
            if s.kind == kind:
                truth[s.pos + (0 if s.strand == "+" else 100_000)] = True
        tracks = [pyBigWig.open(str(folder / f"example.{kind}.{strand}.bw"))
                  for strand in ("plus", "minus")]  # fmt: skip
        scores = np.concatenate([t.values(RECORD, 0, 100_000, numpy=True) for t in tracks])
        assert np.isfinite(scores).all()
        k = int(truth.sum())
        top = np.argsort(-scores)[:k]
        # measured with splice-athaliana-v3: acceptor 0.899, donor 0.917 (k = 109 each)
        assert truth[top].mean() >= 0.85, (kind, truth[top].mean())
