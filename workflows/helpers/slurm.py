"""Checks of a SLURM run's settings before anything is submitted.

``Snakefile``'s ``onstart`` (a real run with ``--executor slurm``: the jobs are known, nothing
is submitted yet) calls :func:`check_run`; it stops the run with one message that names each
setting to change, instead of one ``sbatch`` error per job:

- a placeholder of the shipped profile (``CHANGE-ME-…``) still in a resource;
- a ``slurm_partition`` that ``sinfo`` does not list;
- a job that requests GPUs (``resources: gpu``) on a partition whose nodes have none.

When the Snakefile is parsed (dry runs too), :func:`placeholder_warning` gives the first kind
as a warning. The functions take plain dicts (rule -> resources), so tests call them
without Snakemake or a cluster.
"""

from __future__ import annotations

import shutil
import subprocess

#: What the shipped profile (profiles/slurm/config.yaml) writes where the user must fill in.
PLACEHOLDER = "CHANGE-ME"

#: Resource -> what to put there.
HINTS = {
    "slurm_account": "your SLURM account (sacctmgr show assoc user=$USER format=account)",
    "slurm_partition": "a partition of your cluster (sinfo -s; sinfo -o \"%P %G\" shows "
    "which have GPUs)",
}

GPU_PARTITION_HINT = "a partition with GPUs (sinfo -o \"%P %G\" lists each partition's GPUs)"

#: Rules whose ``gpu`` resource comes from the config: rule -> config key.
GPU_SETTINGS = {"splice_train": "splice.train.gpus", "structure_train": "structure.train.gpus"}

README = 'workflows/README.md, "Running on a SLURM cluster"'


def setting(rule: str, resource: str, overrides: dict) -> str:
    """Where a rule's resource is set: ``set-resources: RULE: NAME`` when the profile (or
    ``--set-resources``) sets it for the rule, else ``default-resources: NAME``."""
    if resource in (overrides.get(rule) or {}):
        return f"set-resources: {rule}: {resource}"
    return f"default-resources: {resource}"


def placeholder_problems(resources: dict[str, dict], overrides: dict) -> list[str]:
    """One line per setting that still holds a ``CHANGE-ME`` placeholder.

    ``resources``: rule -> {resource: value}; ``overrides``: the ``set-resources`` mapping
    (rule -> {resource: …}), to name where each value comes from."""
    found: dict[str, str] = {}
    for rule, res in resources.items():
        for name, value in res.items():
            if isinstance(value, str) and PLACEHOLDER in value:
                hint = HINTS.get(name, "a value for your cluster")
                if name == "slurm_partition" and gpus(res):
                    hint = GPU_PARTITION_HINT
                where = setting(rule, name, overrides)
                found.setdefault(where, f"{where} is still {value!r}: set {hint}")
    return list(found.values())


def parse_sinfo(text: str) -> tuple[dict[str, bool], str | None]:
    """``sinfo -h -o '%P|%G'`` -> ({partition: has a GPU}, the default partition or None).
    A partition with several kinds of nodes has several lines; one with a GPU is enough."""
    partitions: dict[str, bool] = {}
    default = None
    for line in text.splitlines():
        if "|" not in line:
            continue
        name, gres = (part.strip() for part in line.split("|", 1))
        if name.endswith("*"):
            name = name[:-1]
            default = name
        partitions[name] = partitions.get(name, False) or "gpu" in gres
    return partitions, default


def sinfo_partitions() -> tuple[dict[str, bool], str | None] | None:
    """The cluster's partitions from ``sinfo`` (None when sinfo is missing or fails: the
    partition checks are then left to sbatch)."""
    if shutil.which("sinfo") is None:
        return None
    try:
        result = subprocess.run(["sinfo", "-h", "-o", "%P|%G"], capture_output=True, text=True,
                                timeout=60)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    return parse_sinfo(result.stdout)


def gpus(res: dict) -> int:
    """GPUs a job requests (``gpu`` resource, or a ``gres`` such as ``gpu:2``)."""
    try:
        count = int(res.get("gpu") or 0)
    except (TypeError, ValueError):
        count = 1
    gres = str(res.get("gres") or "")
    if not count and gres.startswith("gpu"):
        tail = gres.rsplit(":", 1)[-1]
        count = int(tail) if tail.isdigit() else 1
    return count


def partition_problems(
    resources: dict[str, dict],
    overrides: dict,
    partitions: dict[str, bool],
    default: str | None,
) -> list[str]:
    """One line per partition setting that ``sinfo`` does not know, or that has no GPUs for
    a rule that requests them. ``resources``: rule -> {resource: value} of the jobs to run."""
    problems: dict[str, str] = {}
    known = ", ".join(sorted(partitions)) or "none"
    with_gpus = ", ".join(sorted(p for p, gpu in partitions.items() if gpu)) or "none"
    for rule, res in resources.items():
        partition = res.get("slurm_partition")
        where = setting(rule, "slurm_partition", overrides)
        if partition is None or partition == "":
            partition, where = default, f"the default partition (no slurm_partition for {rule})"
        if partition is None or PLACEHOLDER in str(partition):
            continue
        partition = str(partition)
        if partition not in partitions:
            problems.setdefault(where, f"{where} is {partition!r}: no such partition on this "
                                       f"cluster (sinfo lists: {known})")  # fmt: skip
        elif gpus(res) and not partitions[partition]:
            source = f" (config {GPU_SETTINGS[rule]})" if rule in GPU_SETTINGS else ""
            problems.setdefault(f"{where} gpu", (
                f"{where} is {partition!r}, a partition without GPUs, but {rule} requests "
                f"gpu={gpus(res)}{source}: set a partition with GPUs ({with_gpus})"
            ))  # fmt: skip
    return list(problems.values())


def report(problems: list[str]) -> str:
    """The message that stops the run."""
    lines = "\n".join(f"  - {p}" for p in problems)
    return (
        f"The SLURM settings need changing before any job is submitted ({README}):\n{lines}\n"
        "Edit the profile: profiles/slurm/config.yaml, or a copy of it (cp -r profiles/slurm "
        "profiles/mycluster; --profile profiles/mycluster). --default-resources or "
        "--set-resources on the command line replace the profile's whole list, memory and "
        "time limits included."
    )


# -- the Snakemake side -----------------------------------------------------------------------


def _raw(value):
    """A resource as the profile wrote it (Snakemake's Resource.raw)."""
    return getattr(value, "raw", value)


def rule_resources(workflow) -> dict[str, dict]:
    """Rule -> {resource: value as written} of every rule (parse time, dry runs too)."""
    return {
        rule.name: {name: _raw(value) for name, value in rule.resources.items()}
        for rule in workflow.rules
    }


def job_resources(workflow) -> dict[str, dict]:
    """Rule -> {resource: value} of the jobs this run submits (first job of each rule)."""
    found: dict[str, dict] = {}
    for job in workflow.dag.needrun_jobs():
        if job.is_local or job.rule.name in found:
            continue
        found[job.rule.name] = dict(job.resources)
    return found


def overrides(workflow) -> dict:
    return dict(workflow.resource_settings.overwrite_resources or {})


def placeholder_warning(workflow) -> str | None:
    """A warning when the profile still holds placeholders (given at parse time, so a dry run
    shows it too; a real run stops in :func:`check_run`)."""
    problems = placeholder_problems(rule_resources(workflow), overrides(workflow))
    if not problems:
        return None
    return ("SLURM profile placeholders not filled in; a run with this profile stops before "
            "submitting:\n" + "\n".join(f"  - {p}" for p in problems))  # fmt: skip


def check_run(workflow) -> str | None:
    """The message that stops a SLURM run, or None when its settings look right."""
    jobs = job_resources(workflow)
    over = overrides(workflow)
    problems = placeholder_problems(jobs, over)
    cluster = sinfo_partitions()
    if cluster is not None:
        problems += partition_problems(jobs, over, *cluster)
    return report(problems) if problems else None
