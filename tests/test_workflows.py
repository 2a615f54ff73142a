"""The Snakemake workflows in workflows/: dry runs, lint, the SLURM profile, tiny real runs.

Snakemake runs as a separate process (``python -m snakemake``) with this interpreter's
``bin/`` first on PATH, so the jobs call the same installed ``genorrn``. Each test works in
its own temporary folder (``--directory``); the shared data path comes from conftest
(``GENORRN_SHARED_DATA`` or ``../shared/data``). The helper logic of the rules is the plain
Python package ``workflows/helpers/``, imported here directly (no Snakemake needed).

The end-to-end tests (real Snakemake runs that train and predict) are marked ``slow``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import REPO, SHARED_DATA, run_cli, shared_path

if importlib.util.find_spec("snakemake") is None:
    pytest.skip("snakemake is not installed (pip install 'snakemake>=8')", allow_module_level=True)

WORKFLOWS = REPO / "workflows"
SNAKEFILE = WORKFLOWS / "Snakefile"
TEST_CONFIG = WORKFLOWS / ".test" / "config.yaml"  # the 2-minute check: shipped models
TRAIN_CONFIG = WORKFLOWS / ".test" / "train.yaml"  # ... and tiny training jobs, merged over it
LOCAL = WORKFLOWS / "profiles" / "local"
SLURM = WORKFLOWS / "profiles" / "slurm"
CONFIG = WORKFLOWS / "config" / "config.yaml"
SCHEMA = WORKFLOWS / "config" / "schema.yaml"

sys.path.insert(0, str(WORKFLOWS))
import helpers  # noqa: E402  (workflows/helpers/, as rules/common.smk imports it)

#: The only lint left, explained in workflows/README.md ("Lint"): genorrn is not packaged for
#: conda or as a container, so rules run in the environment that runs Snakemake.
EXPECTED_LINTS = {"Specify a conda environment or container for each rule."}

ATHALIANA_CHR1 = "NC_003070.9"
DMEL_CHR4 = {"NC_004353.4": 1_348_131}
SPLICE_TRACKS = ["acceptor.plus", "acceptor.minus", "donor.plus", "donor.minus"]


def snakemake(*args: str, workdir: Path, check: bool = True, timeout: int = 900) -> str:
    """Run Snakemake on workflows/Snakefile in ``workdir``; return stdout + stderr."""
    bindir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    cmd = [
        sys.executable, "-m", "snakemake", *args,
        "--snakefile", str(SNAKEFILE), "--directory", str(workdir),
        "--config", f"shared_data={SHARED_DATA}",
    ]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    output = result.stdout + result.stderr
    if check:
        assert result.returncode == 0, f"{' '.join(cmd)}\n{output[-6000:]}"
    return output


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table of a (dry) run: rule -> number of jobs."""
    match = re.search(r"Job stats:\n.*?\n-+\s+-+\n(.*?)\ntotal\s+\d+", output, re.S)
    assert match, output[-3000:]
    return {name: int(n) for name, n in re.findall(r"^(\S+)\s+(\d+)\s*$", match.group(1), re.M)}


def job_resources(output: str) -> dict[str, dict[str, str]]:
    """Rule -> the `resources:` of its (first) job in a dry run's job listing."""
    found: dict[str, dict[str, str]] = {}
    for block in re.split(r"\n(?=(?:local)?rule \S+:\n)", output):
        head = re.match(r"(?:local)?rule (\S+):\n", block)
        res = re.search(r"^\s+resources: (.*)$", block, re.M)
        if head and res and head.group(1) not in found:
            items = (item.split("=", 1) for item in res.group(1).split(", "))
            found[head.group(1)] = {k.strip(): v.strip() for k, v in items}
    return found


# -- dry runs ---------------------------------------------------------------------------------

SHIPPED_SPLICE = {
    "splice_preprocess": 8,  # config splice.preprocess.parts
    "splice_train": 1,
    "splice_evaluate": 1,
    "splice_predict_chunk": 7,  # 30,427,671 bp in 5 Mb chunks
    "splice_merge_predictions": 1,
    "splice_all": 1,
}
TEST_SPLICE = {  # .test/config.yaml: the shipped model, no training
    "splice_evaluate": 1,
    "splice_predict_chunk": 3,  # D. melanogaster chr4:1-300000 in 100 kb chunks
    "splice_merge_predictions": 1,
    "splice_all": 1,
}
TRAIN_SPLICE = {**TEST_SPLICE, "splice_preprocess": 2, "splice_train": 1}  # + .test/train.yaml
SHIPPED_STRUCTURE = {
    "structure_homology_filter": 1,
    "structure_train": 1,
    "structure_evaluate": 1,
    "structure_predict_shard": 4,  # config structure.predict.shards
    "structure_merge_predictions": 1,
    "structure_all": 1,
}
TRAIN_STRUCTURE = {**SHIPPED_STRUCTURE, "structure_predict_shard": 2}  # .test: 2 shards
TEST_STRUCTURE = {k: n for k, n in TRAIN_STRUCTURE.items()
                  if k not in ("structure_homology_filter", "structure_train")}  # fmt: skip


@pytest.mark.shared_data
@pytest.mark.parametrize(
    "configfiles,target,expected",
    [
        ((), "splice_all", SHIPPED_SPLICE),
        ((), "structure_all", SHIPPED_STRUCTURE),
        ((TEST_CONFIG,), "splice_all", TEST_SPLICE),
        ((TEST_CONFIG,), "structure_all", TEST_STRUCTURE),
        ((TEST_CONFIG, TRAIN_CONFIG), "splice_all", TRAIN_SPLICE),
        ((TEST_CONFIG, TRAIN_CONFIG), "structure_all", TRAIN_STRUCTURE),
    ],
    ids=["shipped-splice", "shipped-structure", "test-splice", "test-structure",
         "train-splice", "train-structure"],
)  # fmt: skip
def test_dry_run(tmp_path, configfiles, target, expected):
    shared_path("splice", "athaliana_chr1")
    shared_path("splice", "dmel_chr4")
    shared_path("structure")
    extra = ["--configfile", *map(str, configfiles)] if configfiles else []
    output = snakemake(target, "-n", "--cores", "1", *extra, workdir=tmp_path)
    assert job_counts(output) == expected


@pytest.mark.shared_data
def test_default_target_follows_config_targets(tmp_path):
    shared_path("splice", "athaliana_chr1")
    shared_path("structure")
    both = job_counts(snakemake("-n", "--cores", "1", workdir=tmp_path))
    assert both["structure_train"] == 1 and both["splice_train"] == 1
    splice_only = tmp_path / "splice_only.yaml"
    splice_only.write_text("targets: [splice]\n")
    only = job_counts(snakemake("-n", "--cores", "1", "--configfile", str(splice_only),
                                workdir=tmp_path))  # fmt: skip
    assert "splice_train" in only and "structure_train" not in only
    quick = job_counts(snakemake("-n", "--cores", "1", "--configfile", str(TEST_CONFIG),
                                 workdir=tmp_path))  # fmt: skip
    jobs = {**TEST_SPLICE, **TEST_STRUCTURE}
    assert quick == {k: n for k, n in jobs.items() if not k.endswith("_all")} | {"all": 1}


def test_invalid_config_is_refused(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("splice:\n  preprocess:\n    parts: 0\n")
    output = snakemake("-n", "--configfile", str(bad), workdir=tmp_path, check=False)
    assert "Error validating config file" in output
    assert "parts" in output


# -- SLURM profile ----------------------------------------------------------------------------


@pytest.mark.shared_data
def test_slurm_profile_dry_run_requests_a_gpu_for_training(tmp_path):
    pytest.importorskip("snakemake_executor_plugin_slurm", reason="pip install '.[slurm]'")
    shared_path("splice", "athaliana_chr1")
    shared_path("structure")
    output = snakemake("-n", "--profile", str(SLURM), workdir=tmp_path)  # jobs: set by profile
    assert "executor: slurm" in (SLURM / "config.yaml").read_text()
    # the placeholders are reported (a real run stops on them: tests/test_slurm.py)
    assert "SLURM profile placeholders not filled in" in output
    assert "set-resources: splice_train: slurm_partition is still 'CHANGE-ME-gpu-partition'" in output
    resources = job_resources(output)
    for rule in ("splice_train", "structure_train"):
        res = resources[rule]
        assert res["gpu"] == "1", res
        assert res["slurm_partition"] == "CHANGE-ME-gpu-partition", res
        assert res["slurm_account"] == "CHANGE-ME-account", res
        assert int(res["mem_mb"]) >= 16000 and int(res["runtime"]) >= 240, res
    for rule in ("splice_preprocess", "splice_predict_chunk", "splice_merge_predictions",
                 "structure_homology_filter", "structure_predict_shard",
                 "structure_merge_predictions"):  # fmt: skip
        res = resources[rule]
        assert "gpu" not in res, res
        assert res["slurm_partition"] == "CHANGE-ME-cpu-partition", res
        assert {"mem_mb", "runtime", "slurm_account"} <= set(res), res

    # what the executor plugin makes of the training job's resources: sbatch --gpus=1
    from snakemake_executor_plugin_slurm.utils import set_gres_string

    class Resources(dict):
        __getattr__ = dict.__getitem__

    job = type("Job", (), {})()
    job.resources = Resources(
        {k: int(v) if v.isdigit() else v for k, v in resources["splice_train"].items()}
    )
    assert set_gres_string(job).strip() == "--gpus=1"


# -- lint -------------------------------------------------------------------------------------


def test_lint_only_documented_findings(tmp_path):
    output = snakemake("--lint", workdir=tmp_path, check=False)
    titles = set(re.findall(r"^    \* (.+?):?$", output, re.M))
    assert titles == EXPECTED_LINTS, output[-4000:]
    readme = (WORKFLOWS / "README.md").read_text()
    for title in titles:
        assert title in readme  # each remaining lint is explained


# -- helpers (workflows/helpers/) -------------------------------------------------------------


def workflow_helpers(config: dict) -> helpers.Workflow:
    """The rules' helpers for a given (partial) config, as rules/common.smk builds them."""
    return helpers.Workflow(config, WORKFLOWS)


def shipped_config() -> dict:
    return yaml.safe_load(CONFIG.read_text())


def covered(regions) -> set[tuple[str, int]]:
    return {(r.chrom, p) for r in regions for p in range(r.start, r.end)}


@pytest.mark.parametrize("parts", [1, 3, 8])
def test_preprocess_parts_cover_every_split_once(parts):
    splits = {
        "train": ["c1:1-1000", "c2:1-333"],
        "validation": ["c1:1001-1500"],
        "test": ["c1:1501-2000", "c3:11-60"],
    }
    splice = workflow_helpers({"splice": {"splits": splits, "genome": "unused.fa",
                                          "preprocess": {"parts": parts}}}).splice  # fmt: skip
    part_regions = splice.preprocess_parts()
    assert len(part_regions) == parts
    for name, texts in splits.items():
        whole = covered(helpers.resolve_regions(texts, "unused.fa"))
        seen: set[tuple[str, int]] = set()
        for regions in part_regions:
            mine = covered(r for r in regions if covered([r]) <= whole)
            assert mine, f"a part without {name} windows"
            assert not mine & seen, "parts overlap"
            seen |= mine
        assert seen == whole


def test_prediction_chunks_tile_the_regions():
    from genorrn.regions import Region

    splice = workflow_helpers({"results": "out", "splice": {"genome": "unused.fa", "predict": {
        "input": None, "regions": ["c1:1-12", "c2:5-5"], "scatter_size": 5}}}).splice  # fmt: skip
    assert splice.predict_chunks() == [
        Region("c1", 0, 5), Region("c1", 5, 10), Region("c1", 10, 12), Region("c2", 4, 5)
    ]  # fmt: skip
    assert splice.predict_part_prefixes()[0] == os.path.join(
        "out", "splice", "predict", "parts", "c1", "1-5"
    )
    assert str(Region("c1", 0, 5)) == "c1:1-5"  # --region / --only-region form


@pytest.mark.parametrize(
    "text",
    ["c1:1-12", "chr2:1,001-2,000", "NC_003070.9:23000001-30427671", "c1:7-7",
     "c1:0-5", "c1:10-5", "c1:1:1-5", "c1 :1-5", "c1:1-"],
)  # fmt: skip
def test_regions_are_parsed_as_the_command_line_parses_them(text):
    """One parser (genorrn.regions) for the workflow and the CLI: same regions, same errors."""
    from genorrn.errors import InputError
    from genorrn.regions import parse_region

    try:
        expected = [parse_region(text)]
    except InputError as exc:
        with pytest.raises(InputError) as raised:
            helpers.resolve_regions([text], "unused.fa")
        assert str(raised.value) == str(exc)
    else:
        assert helpers.resolve_regions([text], "unused.fa") == expected
    # the schema's region pattern accepts what the parser's grammar accepts
    import jsonschema

    pattern = yaml.safe_load(SCHEMA.read_text())["definitions"]["region"]
    grammar_ok = re.match(r"^[^:\s]+(:[\d,]+(-[\d,]+)?)?$", text) is not None
    assert jsonschema.Draft202012Validator(pattern).is_valid(text) == grammar_ok


def test_open_regions_are_completed_and_checked_from_the_fasta(tmp_path):
    from genorrn.errors import InputError
    from genorrn.regions import Region

    fasta = tmp_path / "tiny.fa"
    fasta.write_text(">c1\n" + "ACGT" * 5 + "\n>c2\nACGTA\n")
    assert helpers.resolve_regions(["c1:11", "c2"], str(fasta)) == [
        Region("c1", 10, 20), Region("c2", 0, 5)
    ]  # fmt: skip
    with pytest.raises(InputError, match="no record named 'c3'"):
        helpers.resolve_regions(["c3"], str(fasta))
    with pytest.raises(InputError, match="outside the sequence"):
        helpers.resolve_regions(["c2:6"], str(fasta))


# -- defaults from genorrn.recipes ------------------------------------------------------------


def cli_options(*command: str) -> set[str]:
    """Option names (argparse ``dest``) of ``genorrn COMMAND…``."""
    import argparse

    from genorrn.cli import build_parser

    parser = build_parser()
    for name in command:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return {a.dest for a in parser._actions if a.option_strings}


@pytest.mark.parametrize("task", ["splice", "structure"])
def test_train_keys_are_command_line_options(task):
    """Every key of a train section (config and schema) is a `genorrn train TASK` option, a
    scheduling setting (gpus, threads) or `extra`; every null is a recipe default or an
    option the command line leaves unset."""
    from genorrn.recipes import recipe

    known = cli_options("train", task)
    section = shipped_config()[task]["train"]
    schema = yaml.safe_load(SCHEMA.read_text())["properties"][task]["properties"]["train"]
    for key in set(section) | set(schema["properties"]):
        assert key in helpers.common.SCHEDULING_KEYS or key in known, (task, key)
    defaults = {**recipe(task).architecture, **recipe(task).training}
    for key, value in section.items():
        if value is None:
            field = helpers.common.RECIPE_FIELDS.get(key, key)
            assert field in defaults or key in ("steps_per_epoch", "max_windows"), (task, key)


@pytest.mark.parametrize("task", ["splice", "structure"])
def test_null_train_settings_come_from_the_recipe(task):
    """The shipped config repeats no recipe default: its nulls are filled from
    genorrn.recipes, and what it sets explicitly differs from the recipe (or is not in it)."""
    from genorrn.recipes import recipe

    config = {**shipped_config(), "shared_data": str(SHARED_DATA)}
    task_helpers = getattr(workflow_helpers(config), task)
    defaults = {**recipe(task).architecture, **recipe(task).training}
    section = config[task]["train"]
    filled = task_helpers.train_options()
    assert list(filled) == list(section)  # same options, same order
    for key, value in section.items():
        field = helpers.common.RECIPE_FIELDS.get(key, key)
        if value is None and field in defaults:
            assert filled[key] == defaults[field], key
        elif value is not None:
            assert defaults.get(field) != value, f"{task}.train.{key} repeats the recipe default"
    args = task_helpers.train_args()
    units = ",".join(str(u) for u in recipe(task).architecture["lstm_units"])
    assert f"--units {units} " in args and args.endswith("--mixed-precision")
    assert f"--epochs {recipe(task).training['epochs']} " in args
    if task == "splice":  # a deliberate workflow choice, kept explicit
        assert "--lr-schedule cosine" in args


def test_run_folder_hash_covers_the_filled_defaults(monkeypatch):
    """One hash (helpers.run_digest) names both run folders. A null and the recipe's value
    give the same folder; another value, or another recipe default, another folder."""
    from genorrn.recipes import SPLICE, STRUCTURE

    base = {**shipped_config(), "shared_data": "/data"}
    wf = workflow_helpers(base)
    for task, recipe in (("splice", SPLICE), ("structure", STRUCTURE)):
        before = getattr(wf, task).train_dir()
        assert re.fullmatch(r"run-[0-9a-f]{10}", os.path.basename(before))
        assert os.path.dirname(before) == os.path.join("results", task, "train")
        explicit = json.loads(json.dumps(base))
        explicit[task]["train"]["units"] = list(recipe.architecture["lstm_units"])
        explicit[task]["train"]["threads"] = 99  # scheduling only
        assert getattr(workflow_helpers(explicit), task).train_dir() == before
        explicit[task]["train"]["units"] = [3]
        assert getattr(workflow_helpers(explicit), task).train_dir() != before
        monkeypatch.setitem(recipe.training, "epochs", 1000)  # a changed genorrn default
        assert getattr(wf, task).train_dir() != before


@pytest.mark.shared_data
def test_shipped_splits_are_the_package_preset():
    """config splice.splits holds the regions of genorrn's fixed split
    (genorrn.data.splice.SPLIT_PRESETS["athaliana-chr1"], an open test end), region for region."""
    from genorrn.data.splice import SPLIT_PRESETS
    from genorrn.recipes import SPLICE

    shared_path("splice", "athaliana_chr1")
    config = {**shipped_config(), "shared_data": str(SHARED_DATA)}
    splice = workflow_helpers(config).splice
    preset = SPLIT_PRESETS[SPLICE.splits]
    assert set(preset) == set(config["splice"]["splits"])
    assert splice.split_regions() == {
        name: helpers.resolve_regions(preset[name], splice.genome()) for name in preset
    }


# -- renamed key: splice.predict.chunk_size -> scatter_size -----------------------------------


def test_renamed_chunk_size_is_refused_with_the_new_name(tmp_path):
    old = {"splice": {"predict": {"chunk_size": 1_000_000}}}
    with pytest.raises(ValueError, match=r"splice\.predict\.chunk_size was renamed to "
                                         r"splice\.predict\.scatter_size"):  # fmt: skip
        helpers.check_renamed_keys(old)
    helpers.check_renamed_keys(shipped_config())  # the shipped config uses the new name
    # and in a run: the message, not the schema's generic "additional property"
    bad = tmp_path / "old.yaml"
    bad.write_text(yaml.safe_dump(old))
    output = snakemake("-n", "--configfile", str(bad), workdir=tmp_path, check=False)
    assert "splice.predict.chunk_size was renamed to splice.predict.scatter_size" in output
    assert "write `scatter_size: 1000000` instead" in output


def test_schema_scatter_size():
    import jsonschema

    schema = yaml.safe_load(SCHEMA.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    config = shipped_config()
    assert validator.is_valid(config)
    predict = config["splice"]["predict"]
    for value, ok in ((1, True), (5_000_000, True), (0, False), (2.5, False), (None, False)):
        predict["scatter_size"] = value
        assert validator.is_valid(config) == ok, value
    predict["scatter_size"] = 5_000_000
    predict["chunk_size"] = 5_000_000  # the old key: refused by the schema too
    assert not validator.is_valid(config)


# -- tiny real runs ---------------------------------------------------------------------------


def _check_splice_tracks(prefix: Path) -> None:
    """Merged predictions: one bigWig per class and strand over the predicted region
    (NC_004353.4:1-300000), probabilities in [0, 1]; a BED6 of sites."""
    import pyBigWig

    for track in SPLICE_TRACKS:
        bw = pyBigWig.open(f"{prefix}.{track}.bw")
        assert bw is not None, track
        try:
            assert bw.chroms() == DMEL_CHR4
            assert bw.header()["nBasesCovered"] == QUICK_REGION
            low, high = (
                bw.stats("NC_004353.4", 0, QUICK_REGION, type="min")[0],
                bw.stats("NC_004353.4", 0, QUICK_REGION, type="max")[0],
            )
            assert 0.0 <= low <= high <= 1.0
        finally:
            bw.close()
    for line in Path(f"{prefix}.sites.bed").read_text().splitlines():
        assert len(line.split("\t")) == 6 and line.split("\t")[5] in "+-"


#: .test/config.yaml: predicted positions of D. melanogaster chr4 and the evaluation region
QUICK_REGION = 300_000
QUICK_EVALUATION = [f"{ATHALIANA_CHR1}:23000001-23200000"]


@pytest.mark.slow
@pytest.mark.shared_data
def test_quick_check_gives_real_predictions(tmp_path):
    """The 2-minute check (.test/config.yaml): both workflows with the shipped models, and
    outputs that mean something: sites called, accurate metrics."""
    shared_path("splice", "dmel_chr4")
    shared_path("structure", "cb513.csv.gz")
    start = time.perf_counter()
    output = snakemake("--profile", str(LOCAL), "--configfile", str(TEST_CONFIG), workdir=tmp_path)
    print(f"2-minute check: {time.perf_counter() - start:.0f} s")
    jobs = {**TEST_SPLICE, **TEST_STRUCTURE}
    assert job_counts(output) == {k: n for k, n in jobs.items() if not k.endswith("_all")} | {"all": 1}
    out = tmp_path / ".test" / "results"
    _check_splice_tracks(out / "splice" / "predictions" / "dmel_chr4")
    sites = (out / "splice" / "predictions" / "dmel_chr4.sites.bed").read_text().splitlines()
    assert len(sites) >= 20, sites  # D. melanogaster splice sites, by a model of A. thaliana
    metrics = json.loads((out / "splice" / "metrics.json").read_text())
    assert metrics["regions"] == QUICK_EVALUATION  # held out from the shipped model
    for name, m in metrics["metrics"].items():  # measured: top-k 0.85, PR-AUC 0.91 (acceptor)
        assert m["top_k"] > 0.7 and m["pr_auc"] > 0.7, (name, m)
    structure = json.loads((out / "structure" / "metrics.json").read_text())["sets"]
    for name in ("cb513", "ts115"):  # measured: Q3 0.72 on CB513's first 20 chains
        assert structure[name]["q3"]["accuracy"] > 0.65, (name, structure[name]["q3"])
    rows = (out / "structure" / "predictions" / "example.csv").read_text().splitlines()
    assert rows[0].startswith("id,seq,n,q3,") and len(rows) > 100


@pytest.mark.slow
@pytest.mark.shared_data
def test_tiny_splice_workflow_end_to_end(tmp_path):
    """The whole splice workflow with training (.test/config.yaml + .test/train.yaml) on CPU:
    scattered preprocessing, training, evaluation, scattered genome-wide prediction, merge;
    then a re-run only redoes what was removed."""
    athaliana = shared_path("splice", "athaliana_chr1")
    shared_path("splice", "dmel_chr4")
    configs = ("--configfile", str(TEST_CONFIG), str(TRAIN_CONFIG))
    start = time.perf_counter()
    output = snakemake("splice_all", "--profile", str(LOCAL), *configs, workdir=tmp_path)
    seconds = time.perf_counter() - start
    print(f"tiny end-to-end splice run: {seconds:.0f} s")
    assert job_counts(output) == TRAIN_SPLICE
    out = tmp_path / ".test" / "results" / "splice"
    _check_splice_tracks(out / "predictions" / "dmel_chr4")

    # evaluation on the configured region only
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["regions"] == QUICK_EVALUATION
    assert set(metrics["metrics"]) == {"acceptor", "donor"}
    assert all("pr_auc" in m and "top_k" in m for m in metrics["metrics"].values())
    assert (out / "model.keras").stat().st_size > 0

    # the scatter parts hold exactly the windows of one unscattered build
    parts = [json.loads(p.read_text()) for p in sorted(out.glob("shards/part*/manifest.json"))]
    assert len(parts) == 2
    whole = tmp_path / "whole"
    result = run_cli(
        "data", "splice", str(athaliana / "genome.fna.gz"), str(athaliana / "annotation.gtf.gz"),
        "-o", str(whole), "--train-region", f"{ATHALIANA_CHR1}:1-400000",
        "--validation-region", f"{ATHALIANA_CHR1}:400001-600000",
        "--test-region", f"{ATHALIANA_CHR1}:600001-800000",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    expected = json.loads((whole / "manifest.json").read_text())["splits"]
    for i, split in enumerate(expected):
        for key in ("windows", "positions", "acceptors", "donors"):
            assert sum(p["splits"][i][key] for p in parts) == split[key], (split["split"], key)

    # restartable: nothing left to do; as after a run killed during the prediction scatter
    # (one chunk and the merge missing), only that chunk and the merge run again
    assert "Nothing to be done" in snakemake("splice_all", "-n", *configs, workdir=tmp_path)
    for path in [*out.glob("predict/parts/NC_004353.4/100001-200000.*"),
                 *out.glob("predictions/dmel_chr4.*")]:  # fmt: skip
        path.unlink()
    rerun = job_counts(snakemake("splice_all", "-n", *configs, workdir=tmp_path))
    assert rerun == {"splice_predict_chunk": 1, "splice_merge_predictions": 1, "splice_all": 1}

    # a lost model is recovered from the training folder by `train splice --resume`
    (out / "model.keras").unlink()
    snakemake("--profile", str(LOCAL), "--until", "splice_train", *configs, workdir=tmp_path)
    assert "training already finished" in (out.parent / "logs" / "splice" / "train.log").read_text()
    assert (out / "model.keras").exists()


@pytest.mark.slow
@pytest.mark.shared_data
def test_tiny_structure_workflow_end_to_end(tmp_path):
    """Homology filter -> training -> evaluation -> prediction in 2 shards, merged; the merge
    equals one unsharded prediction; a lost model is recovered by `train structure --resume`."""
    shared_path("structure", "cb513.csv.gz")
    configs = ("--configfile", str(TEST_CONFIG), str(TRAIN_CONFIG))
    output = snakemake("structure_all", "--profile", str(LOCAL), *configs, workdir=tmp_path)
    assert job_counts(output) == TRAIN_STRUCTURE
    out = tmp_path / ".test" / "results" / "structure"
    filtered = json.loads((out / "homology" / "homology.json").read_text())
    assert filtered["method"] == "kmer" and "netsurfp2_train" in filtered["pools"]
    homology = json.loads((out / "model" / "homology.json").read_text())
    assert "removed_per_pool" in homology["summary"]["homology_filter"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"cb513", "ts115"} <= set(metrics["sets"])
    merged = out / "predictions" / "example.csv"
    rows = merged.read_text().splitlines()
    assert rows[0].startswith("id,seq,n,q3,p[q3_H],p[q3_E],p[q3_C],q8")
    assert len(rows) > 100
    whole = tmp_path / "whole.csv"
    result = run_cli("predict", "structure", str(REPO / "reference_data" / "proteins" / "example.faa"),
                     "-o", str(whole), "--model", str(out / "model" / "model.keras"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert merged.read_bytes() == whole.read_bytes()

    # restartable: training works in structure/train/run-HASH with --resume
    (out / "model" / "model.keras").unlink()
    rerun = snakemake("structure_all", "--profile", str(LOCAL), *configs, workdir=tmp_path)
    assert "structure_homology_filter" not in job_counts(rerun)
    log = (out.parent / "logs" / "structure" / "train.log").read_text()
    assert "resuming after epoch 1" in log and "training already finished" in log
    assert (out / "model" / "model.keras").exists()


def _variants_config(tmp_path: Path, shards: int) -> Path:
    """A config scoring the bundled example VCF on the bundled slice with the shipped model."""
    reference = REPO / "reference_data"
    config = tmp_path / "variants.yaml"
    config.write_text(
        "targets: [variants]\n"
        "results: results\n"
        "variants:\n"
        f"  vcf: {reference / 'athaliana_chr1_test_slice.vcf'}\n"
        "  name: example\n"
        f"  genome: {tmp_path / 'slice.fa'}\n"
        f"  annotation: {reference / 'athaliana_chr1_test_slice.gff3'}\n"
        "  model: splice-athaliana-v3\n"
        f"  shards: {shards}\n"
        "  threads: 2\n"
    )
    (tmp_path / "slice.fa").write_bytes((reference / "athaliana_chr1_test_slice.fa").read_bytes())
    return config


def test_variants_workflow_dry_run_and_missing_vcf(tmp_path):
    config = _variants_config(tmp_path, 8)
    counts = job_counts(snakemake("-n", "--configfile", str(config), workdir=tmp_path))
    assert counts == {"variants_score_shard": 8, "variants_merge": 1, "all": 1}
    # the splice targets never need a VCF; the variants target says what to set
    snakemake("-n", "splice_all", workdir=tmp_path)
    output = snakemake("-n", "variants_all", workdir=tmp_path, check=False)
    assert "config variants.vcf: set the VCF to score" in output


@pytest.mark.slow
def test_variants_workflow_end_to_end(tmp_path):
    """Scattered scoring of the bundled example (3 jobs) joined into one indexed VCF that
    equals one unsharded `genorrn predict variants` run."""
    import gzip

    config = _variants_config(tmp_path, 3)
    snakemake("--profile", str(LOCAL), "--configfile", str(config), workdir=tmp_path)
    merged = tmp_path / "results" / "variants" / "example.vcf.gz"
    assert Path(f"{merged}.tbi").exists()
    whole = tmp_path / "whole.vcf"
    result = run_cli("predict", "variants", str(REPO / "reference_data" / "athaliana_chr1_test_slice.vcf"),
                     "-R", str(tmp_path / "slice.fa"), "-A",
                     str(REPO / "reference_data" / "athaliana_chr1_test_slice.gff3"), "-o", str(whole))  # fmt: skip
    assert result.returncode == 0, result.stderr
    with gzip.open(merged, "rt") as handle:
        assert handle.read() == whole.read_text()
