"""The workflows through a real SLURM: submission, the GPU request, resources, a failing job,
a killed and resumed run, and the checks of the profile's settings.

The cluster (``tests/slurm_cluster.py``) is one node started from Debian's ``slurm-wlm`` and
``munge`` for the session: partitions ``cpu`` (default) and ``gpu`` on this machine, one GPU
declared as a generic resource, and ``nogpu`` (a partition without GPUs that never runs a
job). Without SLURM (or not root) these tests skip with the reason; with ``CI`` set they fail.

Snakemake runs as a user runs it, with a copy of the shipped profile
(``workflows/profiles/slurm``) whose placeholders are filled in for this cluster
(:func:`test_profile`): account and partitions, memory scaled down to fit the machine, and
the settings a cluster without an accounting database needs (``slurm-status-command:
squeue``; see workflows/README.md, "Running on a SLURM cluster"). Workflows: the 2-minute
check with its training jobs (``.test/config.yaml`` + ``.test/train.yaml``).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from slurm_cluster import PARTITIONS, SlurmCluster, SlurmUnavailable, munge_version, slurm_version
from test_workflows import SLURM, SNAKEFILE, SPLICE_TRACKS, TEST_CONFIG, helpers, job_counts

from conftest import SHARED_DATA, run_cli, shared_path

TRAIN_CONFIG = TEST_CONFIG.parent / "train.yaml"
ACCOUNT = "genorrn-tests"

#: settings of the test profile that are not in the shipped one (why: see each comment)
TEST_SETTINGS = {
    # no slurmdbd here, so sacct cannot answer; squeue is reliable for MinJobAge (3600 s)
    "slurm-status-command": "squeue",
    # tiny jobs: first status check after 2 s instead of 40 s
    "slurm-init-seconds-before-status-checks": 2,
    # keep every job's SLURM log (the tests read them); by default only failed jobs' stay
    "slurm-keep-successful-logs": True,
    "latency-wait": 10,  # one machine, no shared file system to wait for
}


TRAIN_RULES = ("splice_train", "structure_train")


def test_profile(path: Path, **set_resources) -> Path:
    """A copy of the shipped SLURM profile filled in for the test cluster: account and
    partitions (``cpu``, and ``gpu`` for the training rules), every ``mem_mb`` divided by 16
    (the shipped 32 GB for training would not fit on this machine), one thread for every rule
    but training (so two jobs share the 2-CPU node; training keeps the config's 2) and
    :data:`TEST_SETTINGS`. ``set_resources``: more per-rule resources, e.g.
    ``splice_train={"slurm_partition": …}``."""
    profile = yaml.safe_load((SLURM / "config.yaml").read_text())
    default = profile["default-resources"]
    default.update(slurm_account=ACCOUNT, slurm_partition="cpu", mem_mb=default["mem_mb"] // 16)
    for rule, res in profile["set-resources"].items():
        if "slurm_partition" in res:
            res["slurm_partition"] = "gpu"
        res["mem_mb"] //= 16
    profile["set-threads"] = {rule: 1 for rule in profile["set-resources"] if rule not in TRAIN_RULES}
    for rule, res in set_resources.items():
        profile["set-resources"].setdefault(rule, {}).update(res)
    profile.update(TEST_SETTINGS)
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return path


test_profile.__test__ = False  # a helper, not a test


# -- the cluster ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    """The single-node cluster, started once for the session and stopped at its end."""
    try:
        SlurmCluster.check_available()
        running = SlurmCluster(tmp_path_factory.mktemp("slurm")).start()
    except SlurmUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"SLURM test cluster: {exc} (.ci/run must install it)", pytrace=False)
        pytest.skip(f"SLURM test cluster: {exc}")
    print(f"\n{slurm_version()}, {munge_version()}: node {running.node}, {running.cpus} CPUs, "
          f"{running.memory_mb} MB, partitions {', '.join(PARTITIONS)}")  # fmt: skip
    yield running
    running.stop()


def snakemake_command(*args: str, workdir: Path, configs=(TEST_CONFIG, TRAIN_CONFIG)) -> list[str]:
    """``python -m snakemake ARGS`` on workflows/Snakefile in ``workdir`` with ``configs``
    (targets and options in ``args`` come before ``--configfile``, which takes several)."""
    configfile = ["--configfile", *map(str, configs)] if configs else []
    return [sys.executable, "-m", "snakemake", *args, "--snakefile", str(SNAKEFILE),
            "--directory", str(workdir), *configfile,
            "--config", f"shared_data={SHARED_DATA}"]  # fmt: skip


def environment(cluster: SlurmCluster) -> dict[str, str]:
    """The cluster's environment with this interpreter's bin/ on PATH (after the srun shim),
    so the jobs (sbatch --export=ALL) run the same installed genorrn and Snakemake."""
    env = cluster.env
    shim, rest = env["PATH"].split(os.pathsep, 1)
    bindir = str(Path(sys.executable).parent)
    return {**env, "PATH": os.pathsep.join([shim, bindir, rest]), "TF_CPP_MIN_LOG_LEVEL": "3"}


def snakemake(cluster, *args, workdir, configs=(TEST_CONFIG, TRAIN_CONFIG), fails=False,
              timeout=1200) -> str:  # fmt: skip
    """Run Snakemake against the cluster; its output. It must succeed (``fails``: fail)."""
    cmd = snakemake_command(*args, workdir=workdir, configs=configs)
    result = subprocess.run(cmd, capture_output=True, text=True, env=environment(cluster),
                            timeout=timeout)  # fmt: skip
    output = result.stdout + result.stderr
    if fails:
        assert result.returncode != 0, f"{' '.join(cmd)} succeeded\n{output[-4000:]}"
    else:
        assert result.returncode == 0, f"{' '.join(cmd)}\n{output[-8000:]}"
    return output


SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+) \(log: (\S+)\)\.")


def submissions(output: str) -> dict[str, Path]:
    """SLURM job ID -> its SLURM log, from the driver's output."""
    return {slurm_id: Path(log) for _, slurm_id, log in SUBMITTED.findall(output)}


def minutes(limit: str) -> int:
    """A SLURM time limit (``[D-]HH:MM:SS``) in minutes."""
    days, _, clock = limit.rpartition("-")
    h, m, s = (int(x) for x in clock.split(":"))
    return (int(days or 0) * 24 + h) * 60 + m + (s > 0)


def rule_of(job: dict[str, str]) -> str:
    """The rule of a job from the comment the executor gives it (rule_NAME[_wildcards_…])."""
    return job["Comment"].removeprefix("rule_").split("_wildcards_")[0]


# -- helpers.slurm without a cluster ----------------------------------------------------------


def test_placeholders_are_named_by_setting():
    resources = {
        "splice_preprocess": {"slurm_account": "CHANGE-ME-account",
                              "slurm_partition": "CHANGE-ME-cpu-partition", "mem_mb": 6000},
        "splice_train": {"slurm_account": "CHANGE-ME-account",
                         "slurm_partition": "CHANGE-ME-gpu-partition", "gpu": 1},
    }  # fmt: skip
    overrides = {"splice_train": {"slurm_partition": "x", "mem_mb": 1}}
    problems = helpers.slurm.placeholder_problems(resources, overrides)
    assert len(problems) == 3, problems  # the account once: one setting
    assert problems[0].startswith("default-resources: slurm_account is still 'CHANGE-ME-account'")
    assert "sacctmgr show assoc" in problems[0]
    assert problems[1].startswith("default-resources: slurm_partition is still")
    assert problems[2].startswith("set-resources: splice_train: slurm_partition is still "
                                  "'CHANGE-ME-gpu-partition': set a partition with GPUs")  # fmt: skip
    assert helpers.slurm.placeholder_problems({"r": {"slurm_account": "lab"}}, {}) == []


def test_partitions_are_checked_against_sinfo():
    sinfo = "cpu*|(null)\ngpu|gpu:a100:4(S:0-1)\ngpu|(null)\nbig|gpu:2\n"
    partitions, default = helpers.slurm.parse_sinfo(sinfo)
    assert partitions == {"cpu": False, "gpu": True, "big": True} and default == "cpu"
    overrides = {"splice_train": {"slurm_partition": "cpu"}, "structure_train": {"x": 1}}
    jobs = {
        "splice_train": {"slurm_partition": "cpu", "gpu": 1},  # no GPUs there
        "structure_train": {"gpu": 1},  # no partition: the default, no GPUs either
        "splice_preprocess": {"slurm_partition": "cpux"},  # unknown
        "splice_evaluate": {"slurm_partition": "cpux"},  # the same setting: once
        "structure_evaluate": {"slurm_partition": "big", "gres": "gpu:1"},  # fine
    }
    problems = helpers.slurm.partition_problems(jobs, overrides, partitions, default)
    assert len(problems) == 3, problems
    assert problems[0] == (
        "set-resources: splice_train: slurm_partition is 'cpu', a partition without GPUs, but "
        "splice_train requests gpu=1 (config splice.train.gpus): set a partition with GPUs "
        "(big, gpu)"
    )
    assert problems[1].startswith("the default partition (no slurm_partition for "
                                  "structure_train) is 'cpu', a partition without GPUs")  # fmt: skip
    assert problems[2] == ("default-resources: slurm_partition is 'cpux': no such partition on "
                           "this cluster (sinfo lists: big, cpu, gpu)")  # fmt: skip
    assert helpers.slurm.partition_problems(
        {"splice_train": {"slurm_partition": "gpu", "gpu": 1}}, {}, partitions, default) == []
    message = helpers.slurm.report(problems)
    assert "Running on a SLURM cluster" in message and "cp -r profiles/slurm" in message


# -- end to end through SLURM -----------------------------------------------------------------


@pytest.fixture(scope="module")
def slurm_run(cluster, tmp_path_factory):
    """The 2-minute check with training, through SLURM with the test profile, uninterrupted:
    (working folder, profile, driver output, seconds)."""
    shared_path("splice", "athaliana_chr1")
    shared_path("splice", "dmel_chr4")
    shared_path("structure", "cb513.csv.gz")
    root = tmp_path_factory.mktemp("slurm_run")
    profile = test_profile(root / "profile")
    start = time.perf_counter()
    output = snakemake(cluster, "--profile", str(profile), workdir=root / "work")
    seconds = time.perf_counter() - start
    print(f"2-minute check with training through SLURM: {seconds:.0f} s")
    return root / "work", profile, output, seconds


@pytest.mark.slow
@pytest.mark.shared_data
def test_workflows_run_through_slurm(cluster, slurm_run):
    """Every job of both workflows went through SLURM and completed there; training went to
    the GPU partition with the GPU request; each rule's memory and time limit reached SLURM;
    the outputs are complete."""
    import pyBigWig

    workdir, profile, output, _ = slurm_run
    counts = job_counts(output)
    submitted = submissions(output)
    expected = {rule: n for rule, n in counts.items() if rule != "all"}  # `all` runs locally
    assert len(submitted) == sum(expected.values()), output[-4000:]

    settings = yaml.safe_load((profile / "config.yaml").read_text())
    seen: dict[str, int] = {}
    for slurm_id, log in submitted.items():
        job = cluster.job(slurm_id)
        rule = rule_of(job)
        seen[rule] = seen.get(rule, 0) + 1
        assert job["JobState"] == "COMPLETED" and job["ExitCode"] == "0:0", job
        assert job["WorkDir"] == str(workdir), job
        assert log.name == f"{slurm_id}.log" and log.stat().st_size > 0, log  # the job's own log
        assert slurm_id in cluster.finished_jobs()  # the controller's completion record
        res = {**settings["default-resources"], **settings["set-resources"].get(rule, {})}
        assert job["MinMemoryNode"] == f"{res['mem_mb']}M", (rule, job["MinMemoryNode"])
        assert minutes(job["TimeLimit"]) == res["runtime"], (rule, job["TimeLimit"])
        threads = settings["set-threads"].get(rule, 2)  # training: the config's 2 threads
        assert job["NumCPUs"] == str(threads), (rule, job["NumCPUs"])  # --cpus-per-task
        if rule in TRAIN_RULES:
            assert job["Partition"] == "gpu" and job.get("TresPerJob") == "gres:gpu:1", job
        else:
            assert job["Partition"] == "cpu" and "TresPerJob" not in job, job
    assert seen == expected

    # the outputs: both workflows complete (tiny models: no accuracy expected)
    out = workdir / ".test" / "results"
    for track in SPLICE_TRACKS:
        bw = pyBigWig.open(str(out / "splice" / "predictions" / f"dmel_chr4.{track}.bw"))
        try:
            assert bw.header()["nBasesCovered"] == 300_000
        finally:
            bw.close()
    assert json.loads((out / "splice" / "metrics.json").read_text())["metrics"]
    assert {"cb513", "ts115"} <= set(json.loads((out / "structure" / "metrics.json").read_text())["sets"])
    assert len((out / "structure" / "predictions" / "example.csv").read_text().splitlines()) > 100


def _track_values(prefix: Path, chrom: str, end: int):
    import numpy as np
    import pyBigWig

    values = {}
    for track in SPLICE_TRACKS:
        bw = pyBigWig.open(f"{prefix}.{track}.bw")
        try:
            values[track] = np.nan_to_num(np.array(bw.values(chrom, 0, end), dtype=np.float64))
        finally:
            bw.close()
    return values


def _npz_equal(a: Path, b: Path) -> bool:
    import numpy as np

    with np.load(a) as x, np.load(b) as y:
        return sorted(x.files) == sorted(y.files) and all(
            np.array_equal(x[k], y[k]) for k in x.files
        )


HISTORY_TIMING = ("seconds", "train_positions_per_s")


@pytest.mark.slow
@pytest.mark.shared_data
def test_killed_run_resumes_from_the_training_checkpoint(cluster, slurm_run, tmp_path):
    """Kill the Snakemake driver and cancel its jobs while training runs; the same command
    (after --unlock, as after any hard kill) completes, training continues from its last
    epoch, and the run matches the uninterrupted one as far as it is deterministic: the
    shards and the epochs before the kill are identical, and every output is exactly what
    one unscattered genorrn command gives with the run's model (workflows/README.md,
    "Restarting")."""
    reference, profile, _, _ = slurm_run
    workdir = tmp_path / "work"
    cmd = snakemake_command("splice_all", "--profile", str(profile), workdir=workdir)
    out = workdir / ".test" / "results" / "splice"
    with open(tmp_path / "first.log", "w") as log:
        driver = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                  env=environment(cluster))  # fmt: skip
        try:
            state_file = None
            deadline = time.monotonic() + 900
            while state_file is None:  # the first finished epoch: state.json of the run folder
                assert driver.poll() is None, (tmp_path / "first.log").read_text()[-4000:]
                assert time.monotonic() < deadline, "no training epoch finished in 900 s"
                state_file = next(out.glob("train/run-*/state.json"), None)
                time.sleep(0.2)
            driver.send_signal(signal.SIGKILL)  # the driver dies (a lost login session) ...
            driver.wait(timeout=30)
        finally:
            if driver.poll() is None:
                driver.kill()
    train_jobs = [i for i, log in submissions((tmp_path / "first.log").read_text()).items()
                  if "rule_splice_train" in str(log)]  # fmt: skip
    assert len(train_jobs) == 1
    cluster.run("scancel", *train_jobs)  # ... and the user cancels its jobs
    cluster.wait_jobs_ended(train_jobs)
    assert cluster.job(train_jobs[0])["JobState"] == "CANCELLED"
    killed = json.loads(state_file.read_text())
    epochs = yaml.safe_load(TRAIN_CONFIG.read_text())["splice"]["train"]["epochs"]
    assert 1 <= killed["epoch"] < epochs, f"training was not killed mid-run: {killed}"
    assert not (out / "model.keras").exists()

    # the documented restart: unlock (the driver left its lock), then the same command
    snakemake(cluster, "--unlock", workdir=workdir)
    output = snakemake(cluster, "splice_all", "--profile", str(profile), workdir=workdir)
    counts = job_counts(output)
    assert "splice_preprocess" not in counts and counts["splice_train"] == 1, counts
    log = (workdir / ".test" / "results" / "logs" / "splice" / "train.log").read_text()
    assert f"resuming after epoch {killed['epoch']}" in log, log[-2000:]

    # identical to the uninterrupted run: the shards, and the epochs finished before the kill
    ref = reference / ".test" / "results" / "splice"
    shards = sorted(p.relative_to(ref) for p in ref.glob("shards/part*/*.npz"))
    assert len(shards) == 6
    assert all(_npz_equal(ref / s, out / s) for s in shards)
    strip = lambda h: {k: v for k, v in h.items() if k not in HISTORY_TIMING}  # noqa: E731
    mine = json.loads((out / "train_state.json").read_text())["history"]
    theirs = json.loads((ref / "train_state.json").read_text())["history"]
    k = killed["epoch"]
    assert [strip(h) for h in mine[:k]] == [strip(h) for h in theirs[:k]]
    # ... the same epochs and learning rates after it (the weights differ: another shuffle)
    assert [(h["epoch"], h["lr"]) for h in mine] == [(h["epoch"], h["lr"]) for h in theirs]
    assert len(mine) == epochs

    # valid outputs: the merged scatter equals one unscattered prediction with this model
    import numpy as np

    whole = tmp_path / "whole"
    result = run_cli("predict", "splice", str(shared_path("splice", "dmel_chr4", "genome.fna.gz")),
                     "--region", "NC_004353.4:1-300000", "-o", str(whole),
                     "--model", str(out / "model.keras"), "--format", "bigwig")  # fmt: skip
    assert result.returncode == 0, result.stderr
    merged = _track_values(out / "predictions" / "dmel_chr4", "NC_004353.4", 300_000)
    single = _track_values(whole, "NC_004353.4", 300_000)
    for track in SPLICE_TRACKS:
        assert np.abs(merged[track] - single[track]).max() <= 1e-6, track
    assert (out / "predictions" / "dmel_chr4.sites.bed").read_text() == \
        Path(f"{whole}.sites.bed").read_text()  # fmt: skip
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["regions"] == json.loads((ref / "metrics.json").read_text())["regions"]


@pytest.mark.slow
@pytest.mark.shared_data
def test_failing_job_reports_rule_and_slurm_log_and_a_fixed_rerun_continues(cluster, tmp_path):
    """An evaluation whose data is missing fails inside its SLURM job: Snakemake names the
    rule, its log and the SLURM log; nothing of it remains; the other jobs finish
    (keep-going); the fixed re-run runs only the failed job."""
    shared_path("structure", "cb513.csv.gz")
    profile = test_profile(tmp_path / "profile")
    workdir = tmp_path / "work"
    (tmp_path / "empty").mkdir()
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump({"structure": {"data_dir": str(tmp_path / "empty")}}))
    output = snakemake(cluster, "structure_all", "--profile", str(profile), workdir=workdir,
                       configs=(TEST_CONFIG, broken), fails=True)  # fmt: skip
    assert "Traceback" not in output
    assert re.search(r"Error in rule structure_evaluate:\n\s+message: SLURM-job '\d+' failed",
                     output), output[-4000:]  # fmt: skip
    logs = re.findall(r"log: (\S+), (\S+/\.snakemake/slurm_logs/rule_structure_evaluate/\d+\.log)",
                      output)  # fmt: skip
    assert logs, output[-4000:]
    rule_log, slurm_log = logs[-1]
    assert "genorrn: error:" in (workdir / rule_log).read_text()
    assert Path(slurm_log).exists() and "Error in rule structure_evaluate" in Path(slurm_log).read_text()
    results = workdir / ".test" / "results" / "structure"
    assert not (results / "metrics.json").exists()
    assert (results / "predictions" / "example.csv").exists()  # keep-going: the rest finished
    assert not list((workdir / ".snakemake" / "incomplete").rglob("*"))  # no half-made output

    output = snakemake(cluster, "structure_all", "--profile", str(profile), workdir=workdir,
                       configs=(TEST_CONFIG,))  # fmt: skip
    assert job_counts(output) == {"structure_evaluate": 1, "structure_all": 1}
    assert {"cb513", "ts115"} <= set(json.loads((results / "metrics.json").read_text())["sets"])


# -- bad settings: one message naming each setting, before anything is submitted ---------------


def _submitted_nothing(cluster: SlurmCluster, before: set[str], output: str) -> None:
    assert "has been submitted" not in output and "Traceback" not in output, output[-3000:]
    assert set(cluster.finished_jobs()) | set(cluster.active_jobs()) <= before


@pytest.mark.shared_data
def test_shipped_profile_placeholders_stop_the_run(cluster, tmp_path):
    shared_path("splice", "athaliana_chr1")
    before = set(cluster.finished_jobs()) | set(cluster.active_jobs())
    output = snakemake(cluster, "--profile", str(SLURM), workdir=tmp_path, fails=True)
    assert "The SLURM settings need changing before any job is submitted" in output
    for line in (
        "default-resources: slurm_account is still 'CHANGE-ME-account': set your SLURM account",
        "default-resources: slurm_partition is still 'CHANGE-ME-cpu-partition'",
        "set-resources: splice_train: slurm_partition is still 'CHANGE-ME-gpu-partition': set "
        "a partition with GPUs",
        "set-resources: structure_train: slurm_partition is still 'CHANGE-ME-gpu-partition'",
    ):
        assert line in output, output[-3000:]
    _submitted_nothing(cluster, before, output)


@pytest.mark.shared_data
def test_unknown_partition_and_gpus_on_a_partition_without_gpus(cluster, tmp_path):
    shared_path("splice", "athaliana_chr1")
    before = set(cluster.finished_jobs()) | set(cluster.active_jobs())
    profile = test_profile(tmp_path / "profile", splice_train={"slurm_partition": "nogpu"},
                           structure_train={"slurm_partition": "gpux"})  # fmt: skip
    output = snakemake(cluster, "--profile", str(profile), workdir=tmp_path / "work",
                       fails=True)  # fmt: skip
    assert ("set-resources: splice_train: slurm_partition is 'nogpu', a partition without "
            "GPUs, but splice_train requests gpu=1 (config splice.train.gpus): set a partition "
            "with GPUs (cpu, gpu)") in output, output[-3000:]  # fmt: skip
    assert ("set-resources: structure_train: slurm_partition is 'gpux': no such partition on "
            "this cluster (sinfo lists: cpu, gpu, nogpu)") in output  # fmt: skip
    _submitted_nothing(cluster, before, output)
