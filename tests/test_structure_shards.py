"""Sharded structure prediction: ``predict structure --shard K/N`` + ``data merge-structure``
give exactly the unsharded output (byte for byte, on the fixed tiny structure_model_path); bad input is a
one-line error."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REPO, assert_one_line_error, cli, run_in_process

EXAMPLE = REPO / "reference_data" / "proteins" / "example.faa"  # 5 proteins


def _tree(path: Path) -> dict[str, bytes]:
    if path.is_file():
        return {"": path.read_bytes()}
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


@pytest.mark.parametrize(
    ("fmt", "shards"),
    [("csv", 3), ("ss2", 7), ("horiz", 2)],  # 7 shards of 5 records: two are empty
)
def test_merged_shards_equal_the_unsharded_output(structure_model_path, tmp_path, fmt, shards):
    common = ("--model", str(structure_model_path), "--format", fmt, "--batch-size", "4")
    whole = tmp_path / f"whole.{fmt}"
    assert cli("predict", "structure", str(EXAMPLE), "-o", str(whole), *common) == 0
    parts = []
    for k in range(1, shards + 1):
        part = tmp_path / f"part{k}.{fmt}"
        assert cli("predict", "structure", str(EXAMPLE), "-o", str(part), "--shard",
                   f"{k}/{shards}", *common) == 0  # fmt: skip
        parts.append(str(part))
    merged = tmp_path / f"merged.{fmt}"
    assert cli("data", "merge-structure", *parts, "-o", str(merged), "--format", fmt,
               "--fasta", str(EXAMPLE)) == 0  # fmt: skip
    assert _tree(merged) == _tree(whole)
    assert len(_tree(whole)) == (1 if fmt == "csv" else 5)
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary leftovers


def test_one_record_single_file_shards(structure_model_path, tmp_path):
    """A one-record FASTA: the ss2 output is one file; the empty shard writes an empty file
    and the merge is the shard that holds the record."""
    one = tmp_path / "one.faa"
    one.write_text(">p1\n" + "MKVLAAGHEE" * 7 + "\n")
    common = ("--model", str(structure_model_path), "--format", "ss2")
    assert cli("predict", "structure", str(one), "-o", str(tmp_path / "whole.ss2"), *common) == 0
    for k in (1, 2):
        assert cli("predict", "structure", str(one), "-o", str(tmp_path / f"s{k}.ss2"),
                   "--shard", f"{k}/2", *common) == 0  # fmt: skip
    assert (tmp_path / "s2.ss2").read_bytes() == b""  # the record starts in shard 1
    assert cli("data", "merge-structure", str(tmp_path / "s1.ss2"), str(tmp_path / "s2.ss2"),
               "-o", str(tmp_path / "merged.ss2"), "--format", "ss2") == 0  # fmt: skip
    assert (tmp_path / "merged.ss2").read_bytes() == (tmp_path / "whole.ss2").read_bytes()


@pytest.mark.parametrize("shard", ["0/3", "4/3", "3", "a/b", "1/0", "-1/2"])
def test_bad_shard_is_a_one_line_error(capsys, structure_model_path, tmp_path, shard):
    out = tmp_path / "out.csv"
    result = run_in_process(capsys, "predict", "structure", str(EXAMPLE), "-o", str(out),
                            "--model", str(structure_model_path), f"--shard={shard}")  # fmt: skip
    assert_one_line_error(result, "--shard", "1 <= K <= N")
    assert not out.exists()


def test_merge_errors_are_one_line(capsys, structure_model_path, tmp_path):
    part = tmp_path / "s1.csv"
    assert cli("predict", "structure", str(EXAMPLE), "-o", str(part), "--shard", "1/2",
               "--model", str(structure_model_path)) == 0  # fmt: skip
    merged = tmp_path / "merged.csv"
    missing = tmp_path / "s2.csv"
    result = run_in_process(capsys, "data", "merge-structure", str(part), str(missing),
                            "-o", str(merged))  # fmt: skip
    assert_one_line_error(result, str(missing), "shard output not found")
    assert not merged.exists()
    # not a structure CSV (e.g. a wrong --format or a stray file)
    stray = tmp_path / "stray.csv"
    stray.write_text("a,b\n1,2\n")
    result = run_in_process(capsys, "data", "merge-structure", str(part), str(stray),
                            "-o", str(merged))  # fmt: skip
    assert_one_line_error(result, str(stray), "not a 'genorrn predict structure' CSV")
    assert not merged.exists()
    # folders: a non-empty output folder is refused, files and folders do not mix
    folder = tmp_path / "ss2"
    assert cli("predict", "structure", str(EXAMPLE), "-o", str(folder), "--shard", "1/1",
               "--format", "ss2", "--model", str(structure_model_path)) == 0  # fmt: skip
    result = run_in_process(capsys, "data", "merge-structure", str(folder), "-o", str(folder),
                            "--format", "ss2")  # fmt: skip
    assert_one_line_error(result, "not an empty folder")
    result = run_in_process(capsys, "data", "merge-structure", str(folder), str(part),
                            "-o", str(tmp_path / "m"), "--format", "ss2")  # fmt: skip
    assert_one_line_error(result, "all files or all folders")
    result = run_in_process(capsys, "data", "merge-structure", str(folder),
                            "-o", str(tmp_path / "m"), "--format", "horiz")  # fmt: skip
    assert_one_line_error(result, "not a .horiz file")
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("fmt", ["csv", "ss2"])
def test_merge_with_fasta_refuses_missing_or_repeated_shards(capsys, structure_model_path, tmp_path, fmt):
    """--fasta: the merged records must be the FASTA's, each once, in order."""
    parts = []
    for k in (1, 2, 3):
        part = tmp_path / f"part{k}.{fmt}"
        assert cli("predict", "structure", str(EXAMPLE), "-o", str(part), "--shard", f"{k}/3",
                   "--format", fmt, "--model", str(structure_model_path)) == 0  # fmt: skip
        parts.append(str(part))
    merged = tmp_path / f"merged.{fmt}"
    repeated = "give every shard output once" if fmt == "csv" else "in two shard outputs"
    for wrong, problem in (([parts[0], parts[0], parts[2]], repeated),
                           ([parts[0], parts[2]], "give every shard output once, in shard order")):
        result = run_in_process(capsys, "data", "merge-structure", *wrong, "-o", str(merged),
                                "--format", fmt, "--fasta", str(EXAMPLE))  # fmt: skip
        assert_one_line_error(result, problem)
        assert not merged.exists()
    if fmt == "csv":  # folders have no order; csv rows do
        result = run_in_process(capsys, "data", "merge-structure", parts[1], parts[0], parts[2],
                                "-o", str(merged), "--fasta", str(EXAMPLE))  # fmt: skip
        assert_one_line_error(result, "record 1 is")


def test_shards_balance_residues_and_tile_the_records():
    """Blocks are contiguous, tile the records in order, and hold about equal residues."""
    import random

    from genorrn.cli.common import shard_bounds

    # one long protein among short ones: halves by record count would hold 9,900 and 5,000
    # residues; by residues 7,600 (the long one and 25 short) and 7,300
    sizes = [5000] + [100] * 99
    assert [shard_bounds(sizes, k, 2) for k in (1, 2)] == [(0, 26), (26, 100)]
    rng = random.Random(0)
    for _ in range(200):
        sizes = [rng.choice([0, 1, 50, 300, 4000]) for _ in range(rng.randint(0, 30))]
        n = rng.randint(1, 9)
        blocks = [shard_bounds(sizes, k, n) for k in range(1, n + 1)]
        assert blocks[0][0] == 0 and blocks[-1][1] == len(sizes)
        assert all(a[1] == b[0] and a[0] <= a[1] for a, b in zip(blocks, blocks[1:]))
        share = sum(sizes) / n
        for start, end in blocks:  # a block exceeds its share by less than one item
            assert sum(sizes[start:end]) <= share + max(sizes[start:end], default=0)
